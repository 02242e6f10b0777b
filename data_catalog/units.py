"""Canonical units of catalog variables and the few conversions the catalog performs.

Units are UDUNITS-style strings (``"mm yr-1"``). Each variable has a canonical unit the
engine computes in; a catalog entry may declare another unit of the same dimension and is
converted on load. A declared unit of another dimension is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from data_catalog.errors import UnitError


@dataclass(frozen=True)
class UnitDef:
    """A unit: its dimension and the factor that converts it to the dimension's canonical unit."""

    dimension: str
    factor: float


#: unit string → definition; the canonical unit of each dimension has factor 1.
UNITS: dict[str, UnitDef] = {
    # depth per year (precipitation, evapotranspiration, runoff)
    "mm yr-1": UnitDef("depth_rate", 1.0),
    "cm yr-1": UnitDef("depth_rate", 10.0),
    "m yr-1": UnitDef("depth_rate", 1000.0),
    "in yr-1": UnitDef("depth_rate", 25.4),
    # depth (soil, roots)
    "mm": UnitDef("depth", 1.0),
    "cm": UnitDef("depth", 10.0),
    "m depth": UnitDef("depth", 1000.0),
    # elevation
    "m": UnitDef("elevation", 1.0),
    "ft": UnitDef("elevation", 0.3048),
    # dimensionless fractions
    "1": UnitDef("fraction", 1.0),
    "%": UnitDef("fraction", 0.01),
    # RUSLE factors (SI units as InVEST documents them)
    "MJ mm ha-1 h-1 yr-1": UnitDef("erosivity", 1.0),
    # US customary R (hundreds of ft·tonf·in/(ac·h·yr)) → SI: × 17.02 (Renard et al. 1997, App. B)
    "hundreds ft tonf in ac-1 h-1 yr-1": UnitDef("erosivity", 17.02),
    "t ha h ha-1 MJ-1 mm-1": UnitDef("erodibility", 1.0),
    # US customary K (ton·ac·h/(hundreds ac·ft·tonf·in)) → SI: × 0.1317 (Renard et al. 1997)
    "ton ac h hundreds-1 ac-1 ft-1 tonf-1 in-1": UnitDef("erodibility", 0.1317),
    # net primary production
    "g C m-2 yr-1": UnitDef("carbon_flux_density", 1.0),
    "t C ha-1 yr-1": UnitDef("carbon_flux_density", 100.0),
    "kg C m-2 yr-1": UnitDef("carbon_flux_density", 1000.0),
    # land-cover classes and other codes
    "class": UnitDef("class", 1.0),
}

#: variable → canonical unit.
CANONICAL: dict[str, str] = {
    "precipitation": "mm yr-1",
    "evapotranspiration": "mm yr-1",
    "reference_evapotranspiration": "mm yr-1",
    "elevation": "m",
    "root_restricting_depth": "mm",
    "plant_available_water": "1",
    "erosivity": "MJ mm ha-1 h-1 yr-1",
    "erodibility": "t ha h ha-1 MJ-1 mm-1",
    "net_primary_production": "g C m-2 yr-1",
    "landcover": "class",
}


def conversion_factor(units: str, to: str) -> float:
    """Factor that converts values in ``units`` to ``to``.

    Examples
    --------
    >>> conversion_factor("m yr-1", "mm yr-1")
    1000.0
    """
    try:
        src, dst = UNITS[units], UNITS[to]
    except KeyError as exc:
        known = ", ".join(sorted(UNITS))
        raise UnitError(f"unknown unit {exc.args[0]!r}; known units: {known}") from None
    if src.dimension != dst.dimension:
        raise UnitError(f"cannot convert {units!r} ({src.dimension}) to {to!r} ({dst.dimension})")
    return src.factor / dst.factor


def canonical_unit(variable: str) -> str | None:
    """Canonical unit of a catalog variable, or None for variables without one."""
    return CANONICAL.get(variable)
