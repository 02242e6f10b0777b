"""The main job's I/O floor reads every input the run's catalog lists and writes every raster
the run published, and the benchmark page shows it beside the run's time."""

from __future__ import annotations

import sys
from pathlib import Path

import rasterio

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
DEMO = Path(__file__).resolve().parents[2] / "gep" / "configs" / "demo.yaml"


def _modules():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import main_job
        import main_job_floor
    finally:
        sys.path.remove(str(BENCHMARKS))
    return main_job, main_job_floor


def test_the_floor_decodes_the_inputs_and_encodes_the_published_rasters(demo_run):
    main_job, floor = _modules()
    inputs = floor.catalog_rasters(DEMO)
    cells = 0
    for path in inputs:
        with rasterio.open(path) as src:
            cells += src.width * src.height
    published = sorted((demo_run.out / "rasters").glob("*.tif"))
    result = floor.io_floor(DEMO, demo_run.out)
    assert result["inputs"] == len(inputs) > 10
    assert result["input_cells"] == cells
    assert result["outputs"] == len(published) > 20
    assert 0 < result["decode_s"] < result["seconds"]
    assert not list(demo_run.out.parent.glob("gep-bench-floor-*"))  # its copies are removed

    row = {"resolution_m": 300.0, "exit_status": 0, "wall_s": 2 * result["seconds"]}
    row |= {"cpu_s": 1.0, "peak_mib": 1.0, "stages_s": {"services": 1.0}, "io_floor": result}
    page = main_job.markdown({"date": "today", "machine": "m", "runs": [row]})
    assert "| I/O floor s | wall / floor |" in page and "| 2.00 |" in page
