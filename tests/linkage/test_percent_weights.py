"""Weights written in percent mean what they say: divided by their declared sum, or refused."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import yaml

from linkage.coefficients import tilt_ranges
from linkage.config import LevelRule
from linkage.errors import ConfigError
from linkage.run import run_link

EXAMPLE = Path(str(resources.files("linkage").joinpath("examples", "policy.yaml")))


def _policy(folder: Path, level_weights: dict[str, float], weights_sum: float) -> Path:
    for table in EXAMPLE.parent.glob("*.csv"):
        (folder / table.name).write_bytes(table.read_bytes())
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    raw["districts"]["level"]["weights"] = level_weights
    raw["districts"]["level"]["weights_sum"] = weights_sum
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _allocation(path: Path, out: Path) -> pd.DataFrame:
    run_link(path, out)
    return pd.read_csv(out / "allocation.csv", dtype=str)


def _example_level_weights() -> dict[str, float]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["districts"]["level"]["weights"]


def test_percent_weights_give_the_allocation_of_fractions(tmp_path):
    fractions = _example_level_weights()
    percent = {k: round(v * 100) for k, v in fractions.items()}
    assert sum(percent.values()) == 100
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _allocation(_policy(tmp_path / "a", fractions, 1.0), tmp_path / "a" / "out")
    b = _allocation(_policy(tmp_path / "b", percent, 100), tmp_path / "b" / "out")
    pd.testing.assert_frame_equal(a, b)  # every amount to the fen


def test_weights_that_do_not_add_up_to_the_declared_sum_are_refused(tmp_path):
    wrong = {k: round(v * 100) for k, v in _example_level_weights().items()}
    wrong[next(iter(wrong))] -= 10  # 90, declared 100
    with pytest.raises(ConfigError, match="weights_sum declares 100"):
        run_link(_policy(tmp_path, wrong, 100), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_level_tilt_stays_in_its_documented_range_for_percent_weights():
    rule = LevelRule(
        id="L",
        beta=0.6,
        reference_score=0.5,
        weights_sum=100,
        weights={"a": 40, "b": 20, "c": 20, "d": 20},
    )
    assert rule.weights == {"a": 0.4, "b": 0.2, "c": 0.2, "d": 0.2}
    assert rule.declared_weights_sum == 100
    from linkage.config import BaseFactorRule, StageConfig

    stage = StageConfig(
        id="s",
        base_factors=BaseFactorRule(id="f", weights_sum=1, weights={"area_km2": 1}),
        level=rule,
    )
    assert tilt_ranges(stage) == {"level_tilt": (0.7, 1.3)}
