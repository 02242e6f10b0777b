"""The researcher notebook runs top to bottom on the sample region (kept under a minute).

Executed with nbclient when a ``python3`` kernelspec is installed (jupyter_client then runs it
with this interpreter); otherwise its code cells are run with ``exec`` in one fresh namespace,
so that a fresh clone with only ``pip install -e .[test]`` still tests it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "researcher_calibration.ipynb"


def _has_python3_kernel() -> bool:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        return "python3" in KernelSpecManager().find_kernel_specs()
    except Exception:  # noqa: BLE001 - no jupyter installation at all
        return False


def test_notebook_is_stripped():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def _outputs_text(nb) -> str:
    return "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    )


def test_researcher_notebook_executes(tmp_path, monkeypatch):
    # the notebook's report folder (tempfile.mkdtemp) goes under tmp_path, not /tmp: the
    # kernel reads TMPDIR, the in-process fallback tempfile.tempdir
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    if _has_python3_kernel():
        from nbclient import NotebookClient

        NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
        text = _outputs_text(nb)
        assert "least_squares" in text
        assert "not identifiable" in text and "FAILED nse_not_negative" in text
        assert not any(
            o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", [])
        )
        return
    namespace: dict = {"__name__": "__notebook__"}
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(NOTEBOOK), "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
    assert namespace["z_fit"].statistics["nse"] > 0.9
    assert len(namespace["mc"].gep) == 5000
    assert namespace["toy_fit"].identifiability.non_identifiable == ("a", "b")
    assert not namespace["alpha_fit"].passed
    assert namespace["validation"].validation.statistics["n_observations"] == 4
    assert (namespace["posterior"].intervals()["r_hat"] < 1.2).all()


@pytest.mark.parametrize(
    "name", ["z_fit", "mc", "toy_fit", "alpha_fit", "validation", "posterior", "timings"]
)
def test_notebook_names_the_objects_the_fallback_checks(name):
    source = "".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    assert f"{name} =" in source
