"""Run the installed ``gep`` console script as a user's shell, scheduler or CI would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GEP = Path(sys.executable).with_name("gep")


def run_gep(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``gep ARGS`` as a subprocess (stdout and stderr captured, not a terminal)."""
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    return subprocess.run(
        [str(GEP), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def gep_script() -> Path:
    assert GEP.is_file(), f"the console script {GEP} is not installed (pip install -e .)"
    return GEP
