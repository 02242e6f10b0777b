"""The GEP product catalogue: every item of the accounting standards, its category and status.

The item list follows the product catalogue of DB11/T 2059—2022 《生态产品总值核算技术规范》
(Beijing) as summarised in the project's methods notes, which agree with 发改基础〔2022〕481号,
GB/T 46869—2025 and the MEE (2020) GEP guide: provisioning, regulating and cultural services.
GEP = provisioning + regulating + cultural value (Ouyang et al. 2020, PNAS 117(25):14593);
**GEP-R** is the regulating part that Beijing's compensation is reported to use. The list was
not checked against the standard's annex text line by line; an item marked ``optional`` does
not make an account partial when it is left out (sand fixation is marginal in Beijing; oxygen
release is a switch that most accounts exclude as double counting with carbon; landscape value
needs a hedonic study).

``service`` is the name valuation components carry (``Component.service``), so the accounts'
rows map to items through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["provisioning", "regulating", "cultural"]
CATEGORIES: tuple[Category, ...] = ("provisioning", "regulating", "cultural")


@dataclass(frozen=True)
class Item:
    """One product of the catalogue.

    Parameters
    ----------
    service : str
        Name used by valuation components and in the accounts.
    zh : str
        Chinese name in the standards.
    category : {"provisioning", "regulating", "cultural"}
        GEP category.
    method : str
        Accounting method of the standards (physical quantity and valuation).
    inputs : str
        Data the method needs.
    price : str
        Price basis.
    module : str or None
        gep module that computes it (None: not implemented).
    optional : bool
        Leaving it out does not make the account partial.
    """

    service: str
    zh: str
    category: Category
    method: str
    inputs: str
    price: str
    module: str | None = None
    optional: bool = False


CATALOGUE: tuple[Item, ...] = (
    Item(
        "agricultural_products",
        "农业产品",
        "provisioning",
        "output × price",
        "statistical yearbook output per unit",
        "producer price",
    ),
    Item(
        "forestry_products",
        "林业产品",
        "provisioning",
        "output × price",
        "statistical yearbook output per unit",
        "producer price",
    ),
    Item(
        "livestock_products",
        "畜牧业产品",
        "provisioning",
        "output × price",
        "statistical yearbook output per unit",
        "producer price",
    ),
    Item(
        "fishery_products",
        "渔业产品",
        "provisioning",
        "output × price",
        "statistical yearbook output per unit",
        "producer price",
    ),
    Item(
        "water_supply",
        "水资源",
        "provisioning",
        "water used × price (local water only)",
        "water resources bulletin",
        "water resource fee/tax or tariff",
    ),
    Item(
        "ecological_energy",
        "生态能源",
        "provisioning",
        "hydropower etc. × price",
        "energy statistics",
        "on-grid tariff",
    ),
    Item(
        "water_conservation",
        "水源涵养",
        "regulating",
        "water balance (P − R − ET)·A",
        "precipitation, ET, land cover, runoff coefficient α",
        "reservoir construction cost",
        "gep.services.water_conservation",
    ),
    Item(
        "soil_retention",
        "土壤保持",
        "regulating",
        "RUSLE potential − actual; sediment (λ/ρ) and N, P kept out of water",
        "DEM, R, K, land cover, C, P",
        "dredging cost; N, P at Beijing environmental "
        "protection tax equivalents (or treatment cost)",
        "gep.services.soil_retention",
    ),
    Item(
        "flood_regulation",
        "洪水调蓄",
        "regulating",
        "storm storage of vegetation, lakes, reservoirs, marshes",
        "storm rainfall, runoff, reservoir capacity",
        "reservoir construction cost",
    ),
    Item(
        "sand_fixation",
        "防风固沙",
        "regulating",
        "RWEQ potential − actual wind erosion",
        "daily wind, soil, vegetation cover",
        "dredging/land cost",
        optional=True,
    ),
    Item(
        "carbon_sequestration",
        "固碳",
        "regulating",
        "NEP·44/12 (or four-pool stock change)",
        "NPP (and Rh) or carbon pools and two land-cover maps",
        "carbon market annual mean (national ETS or Beijing pilot); "
        "afforestation cost as alternative",
        "gep.services.carbon",
    ),
    Item(
        "oxygen_release",
        "释氧",
        "regulating",
        "NEP·32/12 (32/44 of CO2 fixed)",
        "NPP (and Rh)",
        "industrial oxygen price",
        "gep.services.oxygen",
        optional=True,
    ),
    Item(
        "air_purification",
        "空气净化",
        "regulating",
        "min(capacity per ecosystem type · area, emissions) for SO2, NOx, dust",
        "emissions per unit, land cover",
        "environmental protection tax equivalents",
    ),
    Item(
        "water_purification",
        "水质净化",
        "regulating",
        "min(capacity per ecosystem type · area, loads) for COD, NH3-N, TP",
        "pollutant loads per unit, land cover",
        "environmental protection tax equivalents",
    ),
    Item(
        "climate_regulation",
        "气候调节",
        "regulating",
        "latent heat of ET on days above 26 °C / EER (+ humidification below 45 % RH)",
        "ET on hot days, land cover, EER",
        "electricity price",
        "gep.services.climate_regulation",
    ),
    Item(
        "recreation",
        "休闲旅游",
        "cultural",
        "visitors × spending (or travel cost)",
        "visitor statistics of natural sites",
        "spending per visit",
    ),
    Item(
        "landscape_value",
        "景观价值",
        "cultural",
        "hedonic premium on property values",
        "property prices and areas near green/blue space",
        "hedonic premium",
        optional=True,
    ),
)

BY_SERVICE = {item.service: item for item in CATALOGUE}


def category_of(service: str) -> Category:
    """GEP category of a valued service.

    Raises
    ------
    KeyError
        If ``service`` is not an item of the catalogue (name its category in the component).

    Examples
    --------
    >>> category_of("climate_regulation")
    'regulating'
    """
    if service not in BY_SERVICE:
        raise KeyError(
            f"service '{service}' is not in the GEP catalogue "
            f"({', '.join(BY_SERVICE)}); set `category:` on its valuation component"
        )
    return BY_SERVICE[service].category


def category_or_unclassified(service: str) -> str:
    """Category of ``service``, or ``"unclassified"`` for a name outside the catalogue.

    Examples
    --------
    >>> category_or_unclassified("recreation"), category_or_unclassified("other")
    ('cultural', 'unclassified')
    """
    item = BY_SERVICE.get(service)
    return "unclassified" if item is None else item.category


def missing_items(valued: set[str] | list[str]) -> list[Item]:
    """Catalogue items (not optional) that a run did not value: its GEP is partial if any.

    Examples
    --------
    >>> [i.service for i in missing_items(BY_SERVICE)]
    []
    >>> "recreation" in [i.service for i in missing_items({"water_conservation"})]
    True
    """
    have = set(valued)
    return [i for i in CATALOGUE if not i.optional and i.service not in have]
