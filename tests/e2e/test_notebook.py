"""The planner notebook runs top to bottom on the sample region."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "planner_walkthrough.ipynb"


def test_planner_walkthrough_executes(tmp_path, monkeypatch):
    # the notebook's work folder (tempfile.mkdtemp in the kernel) goes under tmp_path, not /tmp
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    )
    assert "difference 0 fen" in outputs
    assert "coefficients.csv" in outputs
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    assert list(tmp_path.glob("gep-planner-*")), "the notebook's folder is under TMPDIR"
