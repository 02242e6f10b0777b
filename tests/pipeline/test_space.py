"""A run that the disks cannot take stops before any work, saying what it needs and where."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gep.cli import app
from gep.errors import InputError
from gep.pipeline import space
from gep.pipeline.space import SpaceNeeded, check_space, space_needed

DEMO = Path(__file__).resolve().parents[2] / "gep" / "configs" / "demo.yaml"
GIB = 2**30


def _free(monkeypatch, by_path):
    """Make ``shutil.disk_usage`` report ``by_path(path)`` bytes free."""
    monkeypatch.setattr(space, "_free_bytes", lambda p: by_path(Path(p)))


def test_the_need_grows_with_pixels_rasters_and_routing():
    small = space_needed(1_000_000, quantities=16, years=2, routed=True)
    assert small.scratch_bytes == 1_000_000 * space.SCRATCH_BYTES_PER_PIXEL
    # 16 quantities x 2 years and half as many value rasters, at 0.6 B/px
    assert small.output_bytes == int(48 * 0.6 * 1_000_000)
    assert space_needed(1_000_000, quantities=16, years=2, routed=False).scratch_bytes == 0
    assert space_needed(1_000_000, quantities=8, years=2, routed=True).output_bytes == int(
        24 * 0.6 * 1_000_000
    )


def test_the_10m_sample_needs_less_than_was_measured():
    """A lower bound: the 10 m run used 29.4 GiB of scratch and published 9.6 GiB."""
    need = space_needed(18090 * 17970, quantities=16, years=2, routed=True)
    assert 25 * GIB < need.scratch_bytes < 29.4 * GIB
    assert 7 * GIB < need.output_bytes < 9.6 * GIB


def test_one_disk_must_hold_the_larger_need(monkeypatch, tmp_path):
    need = SpaceNeeded(scratch_bytes=6 * GIB, output_bytes=5 * GIB)
    _free(monkeypatch, lambda p: 5.5 * GIB)  # enough for the outputs, not for the scratch
    with pytest.raises(InputError) as caught:
        check_space(need, tmp_path / "out", what="test grid")
    text = str(caught.value)
    assert "test grid" in text and "5.5 GiB free" in text and "6.0 GiB of scratch" in text
    assert "TMPDIR" in text and "--out" in text
    _free(monkeypatch, lambda p: 6 * GIB)
    check_space(need, tmp_path / "out", what="test grid")  # exactly enough: passes


def test_separate_disks_are_checked_each_for_its_own(monkeypatch, tmp_path):
    need = SpaceNeeded(scratch_bytes=6 * GIB, output_bytes=5 * GIB)
    scratch_disk = tmp_path / "tmp"
    scratch_disk.mkdir()
    monkeypatch.setattr(space.tempfile, "gettempdir", lambda: str(scratch_disk))
    monkeypatch.setattr(
        space, "_device", lambda p: 1 if Path(p).resolve() == scratch_disk.resolve() else 2
    )
    _free(monkeypatch, lambda p: 7 * GIB if p.resolve() == scratch_disk.resolve() else 4 * GIB)
    with pytest.raises(InputError) as caught:
        check_space(need, tmp_path / "out" / "run", what="grid")
    text = str(caught.value)
    assert "output folder" in text and "5.0 GiB" in text and "scratch" not in text
    _free(monkeypatch, lambda p: 5 * GIB if p.resolve() == scratch_disk.resolve() else 9 * GIB)
    with pytest.raises(InputError, match="for soil retention's flow routing"):
        check_space(need, tmp_path / "out" / "run", what="grid")


def test_gep_run_stops_with_status_2_before_writing_anything(monkeypatch, tmp_path):
    _free(monkeypatch, lambda p: 1024)  # 1 KiB free everywhere
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(DEMO), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "not enough disk space" in text and "0.0 GiB free" in text
    assert not out.exists() and list(tmp_path.iterdir()) == []
