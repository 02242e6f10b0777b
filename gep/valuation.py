"""Valuation: physical quantities × unit prices, at current and constant prices.

Components follow the Chinese GEP standards (DB11/T 2059—2022; NDRC & NBS 《生态产品总值核算规范》;
MEE 2020 guide; METHODS.md §2):

* water conservation × reservoir construction cost (shadow project), CNY m⁻³;
* soil retention as reduced sediment deposition ``λ·Q_sr/ρ·c`` (λ the share of eroded soil
  reaching reservoirs and rivers, ρ bulk density in t m⁻³, c dredging cost in CNY m⁻³) or, where
  SDR was computed, the avoided export ``Q_ae/ρ·c`` (λ is then not used);
* soil retention as reduced nutrient loss ``Q_sr·C_n·p_n`` for N and P (content as a mass
  fraction, price in CNY per t of nutrient);
* carbon sequestration (t CO₂) × carbon price (CNY per t CO₂): by default the annual mean of a
  carbon market (``carbon_price_national_ets`` or ``carbon_price_beijing_pilot``,
  :func:`gep.prices.carbon_market_series`); the afforestation cost
  (``carbon_afforestation_cost_co2``) is the documented alternative;
* N and P kept out of water at Beijing's environmental protection tax equivalents
  (``total_nitrogen_env_tax_beijing``, ``total_phosphorus_env_tax_beijing``: 14 CNY per
  water-pollutant equivalent ÷ 1.5 kg TN or 0.25 kg TP) or at a treatment cost, as the
  component's ``price_item`` chooses;
* oxygen release (t O₂) × industrial oxygen price; climate regulation (kWh) × electricity price.

Every valued row carries its GEP category (provisioning, regulating, cultural;
:mod:`gep.services.catalogue`), so that the accounts give GEP by category and GEP-R.

A component multiplies a quantity (in ``quantity_unit``) by a physical ``factor`` into the
``valued_unit`` the price is quoted in. The configuration refuses to count the same benefit
twice: soil-nutrient loss with water purification of the same N/P, oxygen release with carbon.
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_catalog.errors import InputError
from gep.prices import Price, price_for_year
from gep.services.catalogue import Category, category_of

#: Pairs of (service, component-prefix) that measure the same benefit; never both.
DOUBLE_COUNTING = (
    (
        ("soil_retention", "nitrogen"),
        ("water_purification", "nitrogen"),
        "soil nitrogen retained and water purification of nitrogen are the same nitrogen kept "
        "out of water bodies",
    ),
    (
        ("soil_retention", "phosphorus"),
        ("water_purification", "phosphorus"),
        "soil phosphorus retained and water purification of phosphorus are the same phosphorus "
        "kept out of water bodies",
    ),
    (
        ("oxygen_release", ""),
        ("carbon_sequestration", ""),
        "oxygen release is computed from the same photosynthesis as carbon fixation (32/44 of "
        "the CO2 fixed); most accounts value only one of them",
    ),
)


#: Quantities that measure the same benefit by different methods; never value two of a group.
SAME_QUANTITY = (
    (
        {"co2_sequestration", "co2_sequestration_stock_change"},
        "the NEP method and the stock-change method both measure the carbon sequestered; "
        "choose one",
    ),
    (
        {"water_conserved", "water_yield"},
        "water yield and water conservation overlap (conservation is the retained part of "
        "the yield)",
    ),
)


class Component(BaseModel):
    """One valued component of a service.

    Parameters
    ----------
    service, component : str
        Names in the accounts (``soil_retention`` / ``sediment_reduction``).
    quantity : str
        Name of the physical quantity (a service output) that is valued.
    quantity_unit : str
        Its unit, per year (``"t yr-1"``, ``"m3 yr-1"``, ``"t CO2 yr-1"``).
    factor : float
        Physical conversion from the quantity to the valued unit (e.g. λ/ρ m³ t⁻¹).
    factor_note : str
        How the factor was built, with sources, for the report.
    valued_unit : str
        Unit the price is quoted per (``"m3"``, ``"t"``, ``"t CO2"``).
    price_item : str
        Row ``item`` in the price table.
    deflator : str, optional
        Index series overriding the price table's ``deflator`` column.
    price_year : int, optional
        Pin the observed price of this year.
    enabled : bool
        Switch the component off without deleting it.
    category : {"provisioning", "regulating", "cultural"}, optional
        GEP category; by default the catalogue's category of ``service``.
    per_unit : bool
        The quantity is measured per accounting unit, not per pixel (statistics such as
        provisioning output and visits, or purification capped by the loads of each unit).
        Tools that work on pixels alone (the footprint occupation) leave such components
        out; the accounts require them (:func:`gep.pipeline.build_accounts`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str
    component: str
    quantity: str
    quantity_unit: str
    factor: float = Field(default=1.0, ge=0.0)
    factor_note: str = ""
    valued_unit: str
    price_item: str
    deflator: str | None = None
    price_year: int | None = None
    enabled: bool = True
    category: Category | None = None
    per_unit: bool = False

    @model_validator(mode="after")
    def _known_category(self) -> Component:
        if self.category is None:
            try:
                object.__setattr__(self, "category", category_of(self.service))
            except KeyError as exc:
                raise ValueError(str(exc.args[0])) from exc
        return self

    def price_unit(self) -> str:
        """The price unit this component needs, e.g. ``"CNY m-3"`` for ``valued_unit = "m3"``."""
        return "CNY " + per_unit(self.valued_unit)


class ValuationConfig(BaseModel):
    """Valuation settings: base year of constant prices and the components to value."""

    model_config = ConfigDict(extra="forbid")

    base_year: int = Field(ge=1990, le=2100)
    components: list[Component]
    allow_double_counting: bool = False

    @model_validator(mode="after")
    def _no_double_counting(self) -> ValuationConfig:
        if not self.allow_double_counting:
            check_double_counting(self.components)
        return self

    def enabled(self) -> list[Component]:
        """Components that are switched on."""
        return [c for c in self.components if c.enabled]


def per_unit(unit: str) -> str:
    """``"m3"`` → ``"m-3"``; ``"t CO2"`` → ``"t-1 CO2"``; ``"kWh"`` → ``"kWh-1"``.

    Examples
    --------
    >>> per_unit("t CO2")
    't-1 CO2'
    """
    head, *rest = unit.split()
    digits = "".join(ch for ch in head if ch.isdigit())
    base = head.rstrip("0123456789")
    inverse = f"{base}-{digits or 1}"
    return " ".join([inverse, *rest])


def check_double_counting(components: list[Component]) -> None:
    """Refuse a set of enabled components that values one benefit twice."""
    on = [(c.service, c.component) for c in components if c.enabled]

    def has(service: str, prefix: str) -> bool:
        return any(s == service and comp.startswith(prefix) for s, comp in on)

    quantities = {c.quantity for c in components if c.enabled}
    for group, reason in SAME_QUANTITY:
        both = sorted(group & quantities)
        if len(both) > 1:
            raise ValueError(
                f"double counting: the quantities {both} are all valued, but {reason}. "
                "Disable all but one (enabled: false), or set allow_double_counting: true "
                "and say why in the report"
            )
    for (s1, p1), (s2, p2), why in DOUBLE_COUNTING:
        if has(s1, p1) and has(s2, p2):
            raise ValueError(
                f"double counting: {s1} ({p1 or 'all'}) and {s2} ({p2 or 'all'}) are both "
                f"enabled, but {why}. Disable one of them (enabled: false), or set "
                "allow_double_counting: true and say why in the report"
            )


def value_quantities(
    quantities: pd.DataFrame,
    config: ValuationConfig,
    prices: pd.DataFrame,
    indices: pd.DataFrame,
) -> pd.DataFrame:
    """Value a tidy table of physical quantities.

    Parameters
    ----------
    quantities : DataFrame
        Columns ``unit_id, year, quantity_name, quantity, quantity_unit`` (one row per unit,
        year and physical quantity; other columns are kept).
    config : ValuationConfig
        Components to value and the base year.
    prices, indices : DataFrame
        Price table and price-index table (see :mod:`gep.prices`).

    Returns
    -------
    DataFrame
        One row per unit, year and enabled component, with ``service, component, quantity,
        quantity_unit, price_current_cny, price_constant_cny, price_unit, price_year,
        value_current_cny, value_constant_cny`` (quantity is the valued quantity before the
        physical factor, so that accounts show what was measured).

    Raises
    ------
    InputError
        Missing quantity, unit mismatch, missing price or price-index year; raised before any
        value is computed.
    """
    years = sorted(int(y) for y in quantities["year"].unique())
    table = _price_table(config, prices, indices, years)
    frames = []
    for comp in config.enabled():
        rows = quantities[quantities["quantity_name"] == comp.quantity]
        if rows.empty and comp.per_unit:
            continue  # measured per unit: not in a table of pixel quantities
        _check_quantity(comp, rows)
        priced = rows.merge(table[table["component_key"] == _key(comp)], on="year", how="left")
        priced = priced.assign(
            service=comp.service, component=comp.component, category=comp.category
        )
        valued = priced["quantity"] * comp.factor
        priced["value_current_cny"] = valued * priced["price_current_cny"]
        priced["value_constant_cny"] = valued * priced["price_constant_cny"]
        frames.append(priced.drop(columns=["component_key", "quantity_name"]))
    if not frames:
        raise InputError("valuation: every component is disabled; enable at least one")
    return pd.concat(frames, ignore_index=True)


def _key(comp: Component) -> str:
    return f"{comp.service}/{comp.component}"


def _check_quantity(comp: Component, rows: pd.DataFrame) -> None:
    if rows.empty:
        raise InputError(
            f"valuation {_key(comp)}: no quantity named '{comp.quantity}' in the accounts; "
            "run the service that produces it or disable the component"
        )
    units = set(rows["quantity_unit"])
    if units != {comp.quantity_unit}:
        raise InputError(
            f"valuation {_key(comp)}: quantity '{comp.quantity}' is in {sorted(units)} but the "
            f"component expects '{comp.quantity_unit}'; fix quantity_unit or convert"
        )


def _price_table(
    config: ValuationConfig, prices: pd.DataFrame, indices: pd.DataFrame, years: list[int]
) -> pd.DataFrame:
    """Every (component, year) price, checked before anything is valued."""
    rows = []
    for comp in config.enabled():
        for year in years:
            price = price_for_year(
                prices,
                indices,
                comp.price_item,
                year,
                base_year=config.base_year,
                deflator=comp.deflator,
                price_year=comp.price_year,
            )
            _check_price_unit(comp, price)
            rows.append(_price_row(comp, price))
    return pd.DataFrame(rows)


def _check_price_unit(comp: Component, price: Price) -> None:
    if price.unit != comp.price_unit():
        raise InputError(
            f"valuation {_key(comp)}: price '{price.item}' is quoted in '{price.unit}' but the "
            f"component values '{comp.valued_unit}' and needs '{comp.price_unit()}'"
        )


def _price_row(comp: Component, price: Price) -> dict[str, object]:
    return {
        "component_key": _key(comp),
        "year": price.year,
        "price_item": price.item,
        "price_current_cny": price.current_cny,
        "price_constant_cny": price.constant_cny,
        "price_unit": price.unit,
        "price_year": price.price_year,
        "base_year": price.base_year,
        "deflator": price.deflator,
        "price_source": price.source,
        "price_confidence": price.confidence,
        "factor": comp.factor,
        "factor_note": comp.factor_note,
    }


def sediment_factor_m3_per_t(*, bulk_density_t_m3: float, share: float = 0.24) -> float:
    """Volume of deposited sediment per tonne of retained soil: ``λ/ρ`` (m³ t⁻¹).

    Parameters
    ----------
    bulk_density_t_m3 : float
        Soil bulk density ρ (t m⁻³).
    share : float
        λ, share of eroded soil that reaches reservoirs and rivers (0.24, Ouyang et al. 1999,
        生态学报 19(5):607). Use 1.0 when the quantity is SDR's delivered (avoided) export.

    Examples
    --------
    >>> round(sediment_factor_m3_per_t(bulk_density_t_m3=1.2), 4)
    0.2
    """
    if bulk_density_t_m3 <= 0:
        raise InputError(f"soil bulk density must be > 0 t m-3, got {bulk_density_t_m3}")
    if not 0 <= share <= 1:
        raise InputError(f"sediment share λ must be in [0, 1], got {share}")
    return share / bulk_density_t_m3
