"""Canonical unit strings and the few conversions the engine needs.

Units are UDUNITS-style strings kept in ``DataArray.attrs["units"]``. Services declare the
canonical unit of each input; :func:`conversion_factor` gives the multiplier from a known alias
to it, and raises :class:`~gep.errors.UnitError` listing the accepted units otherwise.
"""

from __future__ import annotations

from typing import Final

from data_catalog import units as catalog_units
from gep.errors import UnitError

#: Molar-mass ratio CO2/C: 1 t C = 44/12 t CO2 (IPCC 2006 Vol. 4, ch. 1; 44.01/12.011 ≈ 44/12).
C_TO_CO2: Final = 44.0 / 12.0
#: Carbon share of dry matter as cellulose C6H10O5: 6·12/162 = 72/162 (MEE 2020 GEP guide).
DRY_MATTER_TO_C: Final = 72.0 / 162.0
#: Metres per millimetre: 1 mm of water over 1 m2 is 0.001 m3.
MM_TO_M: Final = 1e-3
#: Square metres per hectare.
M2_PER_HA: Final = 1e4

# Canonical unit strings used by the services.
MM_PER_YR: Final = "mm yr-1"
MM: Final = "mm"
M3_PER_YR: Final = "m3 yr-1"
DIMENSIONLESS: Final = "1"
T_C: Final = "t C"
T_CO2: Final = "t CO2"
T_C_PER_HA: Final = "t C ha-1"
T_C_PER_YR: Final = "t C yr-1"
T_CO2_PER_YR: Final = "t CO2 yr-1"
T_C_PER_HA_PER_YR: Final = "t C ha-1 yr-1"
T_PER_HA_PER_YR: Final = "t ha-1 yr-1"
T_PER_YR: Final = "t yr-1"
EROSIVITY: Final = "MJ mm ha-1 h-1 yr-1"
ERODIBILITY: Final = "t ha h ha-1 MJ-1 mm-1"
METRE: Final = "m"

# Units the engine needs beyond the data catalog's registry: canonical unit -> {alias: factor}.
_ENGINE_ALIASES: Final[dict[str, dict[str, float]]] = {
    # 1 g m-2 = 1e-6 t / 1e-4 ha = 0.01 t ha-1; 1 kg m-2 = 10 t ha-1.
    T_C_PER_HA: {"t C ha-1": 1.0, "Mg C ha-1": 1.0, "kg C m-2": 10.0, "g C m-2": 0.01},
    T_C_PER_HA_PER_YR: {"t C ha-1 yr-1": 1.0, "Mg C ha-1 yr-1": 1.0},
    DIMENSIONLESS: {"1": 1.0, "%": 0.01},
    M3_PER_YR: {"m3 yr-1": 1.0},
}


def conversion_factor(from_units: str | None, to_units: str, *, name: str = "value") -> float:
    """Multiplier that converts values in ``from_units`` to ``to_units``.

    Units known to the data catalog (:mod:`data_catalog.units`) convert through its registry;
    a few engine units (carbon densities) are added here.

    Parameters
    ----------
    from_units : str or None
        Units the data are in (``attrs["units"]``).
    to_units : str
        Canonical units required by the service.
    name : str
        Dataset name used in the error message.

    Returns
    -------
    float
        Factor ``f`` such that ``value_in_to_units = f * value_in_from_units``.

    Raises
    ------
    UnitError
        When ``from_units`` is missing or not convertible; the message lists the accepted units.

    Examples
    --------
    >>> conversion_factor("g C m-2 yr-1", "t C ha-1 yr-1")
    0.01
    >>> conversion_factor("m yr-1", "mm yr-1")
    1000.0
    """
    if from_units is not None:
        key = " ".join(str(from_units).split())
        if key == to_units:
            return 1.0
        if key in catalog_units.UNITS and to_units in catalog_units.UNITS:
            try:
                return catalog_units.conversion_factor(key, to_units)
            except UnitError:
                pass
        engine = _ENGINE_ALIASES.get(to_units, {})
        if key in engine:
            return engine[key]
    found = "has no units" if from_units is None else f"is in {from_units!r}"
    raise UnitError(
        f"'{name}' {found} but {to_units!r} is required; accepted: "
        f"{_accepted(to_units)}; convert the data or declare the right `units:` for it"
    )


def _accepted(to_units: str) -> list[str]:
    names = set(_ENGINE_ALIASES.get(to_units, {to_units: 1.0}))
    if to_units in catalog_units.UNITS:
        dim = catalog_units.UNITS[to_units].dimension
        names |= {u for u, d in catalog_units.UNITS.items() if d.dimension == dim}
    return sorted(names)


def t_c_to_t_co2(t_c: float) -> float:
    """Convert tonnes of carbon to tonnes of CO2 (× 44/12).

    Examples
    --------
    >>> round(t_c_to_t_co2(12.0), 12)
    44.0
    """
    return t_c * C_TO_CO2
