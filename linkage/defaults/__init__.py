"""Default parameters with their sources (``beijing.yaml``), loaded once.

Only values stated in a cited source live here; everything else is a policy input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["SourcedValue", "class_limits_mg_per_l", "load_defaults", "sourced"]


@dataclass(frozen=True)
class SourcedValue:
    """A default value with its unit, price year and source.

    Parameters
    ----------
    value : float
        The value, in ``unit``.
    unit : str
        Unit of the value.
    price_year : int or None
        Price year for money values (``None`` for non-money values).
    source : str
        Document that states the value.
    """

    value: float
    unit: str
    price_year: int | None
    source: str


@cache
def load_defaults() -> dict[str, Any]:
    """Return the parsed ``beijing.yaml`` defaults (cached).

    Returns
    -------
    dict
        The YAML document as nested dicts.
    """
    text = resources.files(__package__).joinpath("beijing.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def sourced(section: str, key: str) -> SourcedValue:
    """Return one default with its provenance.

    Parameters
    ----------
    section : str
        Top-level section (``water_two_way``, ``forest``).
    key : str
        Parameter name inside the section.

    Returns
    -------
    SourcedValue
        The value, unit, price year and source.
    """
    entry = load_defaults()[section][key]
    return SourcedValue(
        value=float(entry["value"]),
        unit=str(entry["unit"]),
        price_year=entry["price_year"],
        source=" ".join(str(entry["source"]).split()),
    )


def class_limits_mg_per_l(water_body: str) -> dict[str, tuple[float, ...]]:
    """Return the GB 3838-2002 upper limits of classes I..V per pollutant.

    Parameters
    ----------
    water_body : {"river", "lake"}
        Rivers and lakes/reservoirs differ for total phosphorus.

    Returns
    -------
    dict of str to tuple of float
        Pollutant code to the five class limits in mg L-1.

    Examples
    --------
    >>> class_limits_mg_per_l("river")["nh3_n"]
    (0.15, 0.5, 1.0, 1.5, 2.0)
    """
    table = load_defaults()["surface_water_class_limits_mg_per_l"][water_body]
    return {code: tuple(float(v) for v in limits) for code, limits in table.items()}
