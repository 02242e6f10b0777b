"""ΔGEP's volume effect split into an ecosystem-condition effect and a weather effect.

The weather-neutral accounts recompute each later year's weather-driven services with the
previous year's weather (:func:`gep.pipeline.weather_neutral_quantities`). With the land cover
and vegetation fixed and only the weather changed, nothing changed in the ecosystems: the
condition effect must be zero and the weather effect the whole volume effect; with the
weather fixed, the reverse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from data_catalog.sample import catalog_path
from gep.config import demo_config_path, load_run_config
from gep.decomposition import decompose
from gep.errors import InputError
from gep.linkage_inputs import check_condition_change_years, condition_change_table
from gep.pipeline import WEATHER_VARIABLES, restrict_services, run_accounts

#: services that read weather (and one that does not), soil retention's routing included
SERVICES = ("water_conservation", "soil_retention", "climate_regulation", "carbon_nep")


def _catalog(folder: Path, *, same: set[str]) -> Path:
    """The sample catalog with the 2020 entries of the ``same`` variables read from 2015."""
    raw = yaml.safe_load(catalog_path().read_text(encoding="utf-8"))
    base = catalog_path().parent
    for entry in raw["entries"].values():
        entry["path"] = str(base / entry["path"])
    for entry in raw["entries"].values():
        if entry.get("variable") in same and entry.get("year") == 2020:
            twin = next(
                e
                for e in raw["entries"].values()
                if e.get("variable") == entry["variable"] and e.get("year") == 2015
            )
            entry["path"] = twin["path"]
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _decomposition(folder: Path, same: set[str]) -> pd.DataFrame:
    config = restrict_services(load_run_config(demo_config_path()), SERVICES)
    config = config.model_copy(update={"catalog": str(_catalog(folder, same=same))})
    _, acc = run_accounts(config)
    return acc.decomposition


def test_weather_changed_land_cover_fixed_gives_no_condition_effect(tmp_path):
    d = _decomposition(tmp_path, same={"landcover", "net_primary_production"})
    assert (d["condition_effect_cny"] == 0.0).all(), d["condition_effect_cny"].abs().max()
    np.testing.assert_array_equal(d["weather_effect_cny"], d["volume_effect_cny"])
    assert (d["volume_effect_cny"].abs() > 0).any()  # the weather did change GEP


def test_land_cover_changed_weather_fixed_gives_no_weather_effect(tmp_path):
    d = _decomposition(tmp_path, same=set(WEATHER_VARIABLES))
    scale = d["volume_effect_cny"].abs().max()
    assert scale > 0
    assert d["weather_effect_cny"].abs().max() <= 1e-12 * scale
    np.testing.assert_allclose(d["condition_effect_cny"], d["volume_effect_cny"], rtol=1e-12)


def test_the_two_effects_add_up_to_the_volume_effect_by_hand():
    # component a: 10 → 16 (13 under 2015 weather) at 2015 price 2; component b appears in
    # 2020 only (price 3, quantity 4; 5 under 2015 weather): volume 2·6 + 3·4 = 24,
    # condition 2·3 + 3·5 = 21, weather 3
    rows = pd.DataFrame(
        {
            "unit_id": "u",
            "service": "s",
            "component": ["a", "a", "b"],
            "year": [2015, 2020, 2020],
            "quantity": [10.0, 16.0, 4.0],
            "factor": 1.0,
            "price_current_cny": [2.0, 2.5, 3.0],
        }
    )
    neutral = rows.iloc[[1, 2]].assign(quantity=[13.0, 5.0], weather_year=2015)
    d = decompose(rows, neutral).iloc[0]
    assert (d.volume_effect_cny, d.condition_effect_cny, d.weather_effect_cny) == (24.0, 21.0, 3.0)
    assert np.isnan(decompose(rows).iloc[0].condition_effect_cny)


POLICY = {
    "policy": {"year": 2020, "base_year": 2015},
    "gep_indicators": {"services": None},
    "indicators": [{"id": "gep_change", "kind": "gep_condition_change"}],
}


def test_condition_change_indicator_by_hand():
    accounts = pd.DataFrame(
        {"unit_id": ["u", "v"], "year": 2015, "service": "s", "value_constant_cny": [100.0, 50.0]}
    )
    neutral = pd.DataFrame(
        {
            "unit_id": ["u", "v"],
            "year": 2020,
            "weather_year": 2015,
            "service": "s",
            "value_constant_cny": [110.0, 40.0],
        }
    )
    table = condition_change_table(POLICY, accounts, neutral).set_index("unit_id")
    assert table.loc["u", "value"] == pytest.approx(0.10)
    assert table.loc["v", "value"] == pytest.approx(-0.20)
    assert set(table["indicator"]) == {"gep_change"}
    with pytest.raises(InputError, match="under the weather of 2015"):
        condition_change_table(POLICY, accounts, neutral.assign(weather_year=2010))


def test_a_policy_comparing_non_consecutive_years_is_refused_before_work(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY), encoding="utf-8")
    check_condition_change_years(policy, [2015, 2020])
    with pytest.raises(InputError, match="no such consecutive pair"):
        check_condition_change_years(policy, [2015, 2018, 2020])
