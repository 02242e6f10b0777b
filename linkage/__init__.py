"""linkage: GEP-to-compensation policy layer (pure pandas/numpy).

From an accounts table (constant-price GEP per unit and year) and policy indicator tables to
compensation coefficients and a fund allocation that adds up to the budget in whole fen, with
an audit line for every rule; plus two-way water compensation between districts, horizontal
upstream–downstream agreements, the forest standard and a de-duplication ledger.

Imports nothing geospatial and nothing from ``gep`` or ``data_catalog``.

Entry points: :func:`linkage.run.compute_link` (an in-memory configuration and tables) and
:func:`linkage.run.run_link` (``gep link CONFIG``: read, compute, write).
"""

from linkage.errors import (
    ConfigError,
    InfeasibleAllocationError,
    InputTableError,
    LinkageError,
    Problem,
)
from linkage.result import LinkResult
from linkage.run import compute_link, read_link, run_link, summary_rows

__all__ = [
    "ConfigError",
    "InfeasibleAllocationError",
    "InputTableError",
    "LinkResult",
    "LinkageError",
    "Problem",
    "compute_link",
    "read_link",
    "run_link",
    "summary_rows",
]
