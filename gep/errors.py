"""Errors of the engine: the data layer's hierarchy plus the engine's own.

Every error we raise on purpose derives from :class:`GEPError`; messages say what went wrong,
where (dataset, file, column), what was expected and how to fix it.
"""

from __future__ import annotations

from data_catalog.errors import (
    CatalogError,
    CRSError,
    GEPError,
    GridMismatchError,
    InputError,
    Problem,
    UnitError,
)

__all__ = [
    "CRSError",
    "CatalogError",
    "GEPError",
    "GridMismatchError",
    "InputError",
    "MissingClassError",
    "ParameterError",
    "Problem",
    "ServiceSpecError",
    "TableError",
    "UnitError",
]


class TableError(InputError):
    """A parameter table (e.g. an InVEST biophysical table) is malformed."""


class MissingClassError(TableError):
    """Class codes found in a categorical raster are missing from a table.

    Parameters
    ----------
    table : str
        Name (or path) of the table.
    raster : str
        Name of the categorical raster.
    missing : sequence of int
        The class codes present in the raster but absent from the table.
    column : str
        Index column of the table.
    """

    def __init__(self, table: str, raster: str, missing: list[int], column: str = "lucode"):
        self.table = table
        self.raster = raster
        self.missing = list(missing)
        shown = ", ".join(str(c) for c in self.missing[:50])
        more = f" (and {len(self.missing) - 50} more)" if len(self.missing) > 50 else ""
        super().__init__(
            f"{table}: class codes {shown}{more} occur in '{raster}' but are missing from the "
            f"'{column}' column; add a row for each of them (or set those pixels to the "
            "raster's nodata value)"
        )


class ParameterError(InputError):
    """A scalar parameter is missing, of the wrong type or out of range."""


class ServiceSpecError(GEPError):
    """A service's spec, inputs or outputs break the service contract."""
