"""``gep uncertainty`` with input error fields and land-cover misclassification (seeded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import spearmanr

from data_catalog.catalog import load_catalog
from gep.analysis.commands import _restricted, run_uncertainty
from gep.analysis.confusion import load_confusion
from gep.analysis.input_errors import FieldError, build_input_errors
from gep.config import demo_config_path, load_run_config
from gep.errors import InputError
from gep.pipeline import unit_levels
from gep.uncertainty import build_gep_model, monte_carlo

CLASSES = list(range(1, 10))


@pytest.fixture(scope="module")
def water_run():
    run, _ = _restricted(load_run_config(demo_config_path()), ["water_conserved"])
    return run


@pytest.fixture(scope="module")
def district(water_run):
    cat = load_catalog(water_run.catalog_file())
    levels = {lv.level: lv for lv in unit_levels(cat, water_run)}
    return cat, levels["district"]


def _errors(district, quantities, **fields):
    cat, level = district
    return build_input_errors(
        cat,
        level,
        2020,
        cat.table("parameters"),
        {k: FieldError(**v) for k, v in fields.items()},
        quantities=quantities,
        seasonality=5.0,
    )


def test_zero_error_gives_zero_spread(water_run, district):
    """cv = 0: every multiplier is exactly 1, so GEP (linear water conserved) and the water
    yield (Budyko recomputed per pixel) do not move at all."""
    model = build_gep_model(
        water_run,
        year=2020,
        input_errors={"precipitation": FieldError(cv=0.0, correlation_length_km=50)},
    )
    result = monte_carlo(model, {}, 40, seed=1)
    assert np.array_equal(result.gep, np.tile(result.baseline, (40, 1)))
    wy = _errors(
        district,
        ["water_yield"],
        precipitation={"cv": 0.0, "spatial": "unit"},
        reference_evapotranspiration={"cv": 0.0, "spatial": "region"},
    )
    assert not np.any(wy.sample(5, seed=2)["water_yield"])


@pytest.mark.parametrize(
    "field",
    [
        {"cv": 0.15, "spatial": "region"},
        {"cv": 0.15, "spatial": "unit"},
        {"cv": 0.15, "spatial": "field", "correlation_length_km": 40, "block_km": 20},
    ],
)
def test_known_variance_propagates_to_a_linear_quantity(district, field):
    """Water conserved is linear in the P multiplier: Var(ΔQ_u) = sᵀ·Cov(m)·s with
    Cov(m_b, m_c) = exp(s²ρ_bc) − 1 (lognormal, mean 1, sd cv); in the region case that is
    S_u²·cv². 20 000 seeded samples reproduce it within 4 %."""
    errors = _errors(district, ["water_conserved"], precipitation=field)
    delta = errors.sample(20_000, seed=5)["water_conserved"]
    predicted = errors.predicted_variance("water_conserved")
    if field["spatial"] == "region":
        s = errors.linear["water_conserved"]["precipitation"][:, 0]
        np.testing.assert_allclose(predicted, s**2 * 0.15**2, rtol=1e-6)
    np.testing.assert_allclose(delta.var(axis=0), predicted, rtol=0.04)
    np.testing.assert_allclose(delta.mean(axis=0), 0.0, atol=4 * np.sqrt(predicted.max() / 2e4))


def test_precipitation_error_reaches_water_yield_in_the_right_direction(district):
    """More precipitation, more water yield: the change increases monotonically with the
    region multiplier (rank correlation 1); with ET₀ it decreases."""
    up = _errors(district, ["water_yield"], precipitation={"cv": 0.1, "spatial": "region"})
    total = up.sample(200, seed=3)["water_yield"].sum(axis=1)
    rng = np.random.default_rng(3)
    z = rng.standard_normal((200, 1))[:, 0]  # the same draws the field used
    assert spearmanr(total, z).statistic > 0.999
    et = _errors(
        district, ["water_yield"], reference_evapotranspiration={"cv": 0.1, "spatial": "region"}
    )
    total = et.sample(200, seed=3)["water_yield"].sum(axis=1)
    assert spearmanr(total, z).statistic < -0.999


def _matrix(tmp_path: Path, table: np.ndarray, name: str = "confusion.csv") -> Path:
    frame = pd.DataFrame(table, columns=[str(c) for c in CLASSES])
    frame.insert(0, "mapped", CLASSES)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_identity_confusion_changes_nothing(tmp_path, water_run):
    path = _matrix(tmp_path, np.eye(9) * 50)
    model = build_gep_model(water_run, year=2020, confusion=load_confusion(path, kind="counts"))
    result = monte_carlo(model, {}, 30, seed=4)
    assert np.array_equal(result.gep, np.tile(result.baseline, (30, 1)))


def test_misclassification_moves_gep_by_the_expected_amount(tmp_path, water_run):
    """Forest (2) truly grassland (4) in 30 % of its pixels: the mean change of each unit is
    0.3 × (its forest pixels' water conserved as grassland − as forest); fixed proportions."""
    table = np.eye(9)
    table[1] = 0.0
    table[1, 1], table[1, 3] = 0.7, 0.3
    path = _matrix(tmp_path, table)
    model = build_gep_model(
        water_run, year=2020, confusion=load_confusion(path, kind="proportions")
    )
    mis = model.perturbations[0]
    expected = 0.3 * mis.gains["water_conserved"][:, 1, 3]
    delta = mis.sample(2000, seed=6)["water_conserved"]
    scale = np.abs(expected).max()
    np.testing.assert_allclose(delta.mean(axis=0), expected, atol=0.02 * scale)
    assert np.abs(expected).max() > 0


@pytest.mark.parametrize(
    ("change", "kind", "message"),
    [
        (
            "row",
            "proportions",
            r"confusion\.csv: kind proportions, but the rows of mapped "
            r"classes \[3\] sum to \[0\.9\]",
        ),
        ("mapped", "counts", r"confusion\.csv: column 'mapped', row 4: 12 is not a land-cover"),
        ("column", "counts", r"confusion\.csv: reference column 12 is not a land-cover class"),
        ("negative", "counts", r"confusion\.csv: cells \(mapped, reference\) \[\(1, 2\)\]"),
        ("no_mapped", "counts", r"confusion\.csv: no column 'mapped'"),
    ],
)
def test_bad_confusion_matrices_are_refused_naming_file_and_field(tmp_path, change, kind, message):
    table = np.eye(9) if kind == "proportions" else np.eye(9) * 10
    path = _matrix(tmp_path, table)
    frame = pd.read_csv(path)
    if change == "row":
        frame.loc[2, "3"] = 0.9
    elif change == "mapped":
        frame.loc[2, "mapped"] = 12
    elif change == "column":
        frame = frame.rename(columns={"9": "12"})
    elif change == "negative":
        frame.loc[0, "2"] = -1
    else:
        frame = frame.drop(columns="mapped")
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=message):
        load_confusion(path, kind=kind)


def test_mapped_classes_without_a_row_are_refused(tmp_path, water_run):
    frame = pd.DataFrame(np.eye(8) * 10, columns=[str(c) for c in CLASSES[:8]])
    frame.insert(0, "mapped", CLASSES[:8])
    path = tmp_path / "short.csv"
    frame.to_csv(path, index=False)
    cat = load_catalog(water_run.catalog_file())
    present = set(np.unique(cat.raster("landcover_2020").values).tolist())
    if 9 not in present:
        pytest.skip("the sample's 2020 land cover has no class 9")
    with pytest.raises(InputError, match=r"short\.csv: mapped classes \[9\] occur in"):
        build_gep_model(water_run, year=2020, confusion=load_confusion(path, kind="counts"))


def test_gep_uncertainty_with_error_fields_and_a_confusion_matrix(tmp_path):
    """The command: P error field and CLCD-like misclassification through to each unit's GEP
    and allocation; an unknown error variable is refused naming the file."""
    _matrix(tmp_path, np.eye(9) * 80 + 5)
    raw = {
        "name": "errors",
        "run_config": str(demo_config_path()),
        "level": "district",
        "year": 2020,
        "quantities": ["water_conserved"],
        "input_errors": {
            "precipitation": {"cv": 0.15, "spatial": "field", "correlation_length_km": 50}
        },
        "landcover_confusion": {"table": "confusion.csv", "kind": "counts"},
        "allocation_budget_cny": 1.0e9,
        "n_samples": 200,
        "seed": 2,
    }
    path = tmp_path / "analysis.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    out = run_uncertainty(path, tmp_path / "out")
    table = pd.read_csv(out["outputs"]["intervals"])
    assert (table["gep_p95_cny"] > table["gep_p5_cny"]).all()
    assert (table["allocation_p95_cny"] > table["allocation_p5_cny"]).any()
    assert out["input_errors"] == "precipitation (cv 0.15, field)"
    raw["input_errors"] = {"rainfall": {"cv": 0.1, "spatial": "region"}}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InputError, match=r"analysis\.yaml: input_errors \['rainfall'\]"):
        run_uncertainty(path, tmp_path / "out")
