"""Unit prices by year: current prices and constant (base-year) prices through a deflator.

A price row has a value, a unit (``CNY m-3``), a price year, a deflator series and a source.
For accounting year *t* the current price is the row of year *t* when the table has one;
otherwise the latest earlier row (or, failing that, the earliest later row) brought to year *t*
with the deflator::

    p_t = p_y · D(t) / D(y),      D(t) / D(y) = Π_{k = y+1..t} I_k / 100

where ``I_k`` is the index of year *k* with the previous year = 100 (the NBS convention). The
constant price of year *t* at base year *b* deflates the current price to *b*::

    p_t^const = p_t · D(b) / D(t)

(METHODS.md §3; NDRC & NBS 《生态产品总值核算规范》 on constant-price accounting). Every
price keeps its source, the year it was observed and the deflator used, for the accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_catalog.errors import InputError

PRICE_COLUMNS = ("item", "value", "unit", "price_year", "source", "confidence")
INDEX_COLUMNS = ("year", "index", "value")


@dataclass(frozen=True)
class Price:
    """A unit price in one accounting year, with where it came from.

    Parameters
    ----------
    item : str
        Price item (``reservoir_construction_cost``).
    year : int
        Accounting year the price applies to.
    current_cny : float
        Price at the prices of ``year`` (CNY per ``unit``'s denominator).
    constant_cny : float
        The same price at base-year prices.
    unit : str
        ``"CNY m-3"``, ``"CNY t-1"``, ``"CNY t-1 CO2"``...
    price_year : int
        Year of the observed price the value was derived from.
    base_year : int
        Base year of the constant price.
    deflator : str
        Index series used to move between years (``"none"`` if not needed).
    source, confidence : str
        Source and confidence mark of the observed price.
    """

    item: str
    year: int
    current_cny: float
    constant_cny: float
    unit: str
    price_year: int
    base_year: int
    deflator: str
    source: str
    confidence: str


def index_ratio(indices: pd.DataFrame, series: str, from_year: int, to_year: int) -> float:
    """Price level of ``to_year`` relative to ``from_year``: ``D(to) / D(from)``.

    Parameters
    ----------
    indices : DataFrame
        Columns ``year, index, value`` with ``value`` = index of that year, previous year = 100.
    series : str
        Which index (``"cpi"``, ``"investment"``, or a user series name).

    Raises
    ------
    InputError
        If a year needed for the chain is missing from the series.

    Examples
    --------
    >>> idx = pd.DataFrame({"year": [2011, 2012], "index": "cpi", "value": [105.4, 102.6]})
    >>> round(index_ratio(idx, "cpi", 2010, 2012), 6)  # 1.054 × 1.026
    1.081404
    """
    if from_year == to_year:
        return 1.0
    lo, hi = sorted((from_year, to_year))
    rows = indices[indices["index"] == series].set_index("year")["value"]
    needed = range(lo + 1, hi + 1)
    missing = [y for y in needed if y not in rows.index]
    if missing:
        known = sorted(rows.index) if len(rows) else "none"
        raise InputError(
            f"price index '{series}': no value for year(s) {missing}, needed to move prices "
            f"between {from_year} and {to_year} (years known: {known}). Add the index for those "
            "years to the price-index table, choose another deflator for the item, or give a "
            "price observed in the accounting year"
        )
    ratio = 1.0
    for year in needed:
        ratio *= float(rows[year]) / 100.0
    return ratio if to_year > from_year else 1.0 / ratio


def price_for_year(
    prices: pd.DataFrame,
    indices: pd.DataFrame,
    item: str,
    year: int,
    *,
    base_year: int,
    deflator: str | None = None,
    price_year: int | None = None,
) -> Price:
    """Current and constant price of ``item`` for accounting ``year``.

    Parameters
    ----------
    prices : DataFrame
        Price table (``item, value, unit, price_year, source, confidence`` and optionally
        ``deflator``).
    indices : DataFrame
        Price-index table (``year, index, value``).
    item : str
        Price item.
    year : int
        Accounting year.
    base_year : int
        Base year of constant prices.
    deflator : str, optional
        Overrides the table's ``deflator`` column for this item.
    price_year : int, optional
        Use the row observed in this year (otherwise the rule in the module docstring).

    Raises
    ------
    InputError
        Unknown item, no usable row, or a deflator year missing.
    """
    row = _select_row(prices, item, year, price_year)
    observed_year = int(row["price_year"])
    series = deflator or str(row.get("deflator", "") or "")
    needs_index = observed_year != year or base_year != year
    if needs_index and not series:
        raise InputError(
            f"price '{item}': observed in {observed_year} but needed for {year} at {base_year} "
            "prices, and no deflator is given; set `deflator` (cpi, investment or a user series)"
        )
    value = float(row["value"])
    current = value * index_ratio(indices, series, observed_year, year) if series else value
    constant = current * index_ratio(indices, series, year, base_year) if series else current
    return Price(
        item=item,
        year=year,
        current_cny=current,
        constant_cny=constant,
        unit=str(row["unit"]),
        price_year=observed_year,
        base_year=base_year,
        deflator=series or "none",
        source=str(row["source"]),
        confidence=str(row["confidence"]),
    )


def _select_row(prices: pd.DataFrame, item: str, year: int, price_year: int | None) -> pd.Series:
    rows = prices[prices["item"] == item]
    if rows.empty:
        items = sorted(set(prices["item"]))
        raise InputError(f"price '{item}' is not in the price table; items are {items}")
    rows = rows[rows["value"].notna()]
    if price_year is not None:
        rows = rows[rows["price_year"].astype(int) == price_year]
        if rows.empty:
            raise InputError(f"price '{item}': no row with price_year {price_year}")
        return rows.iloc[-1]
    years = rows["price_year"].astype(int)
    if (years == year).any():
        return rows[years == year].iloc[-1]
    earlier = rows[years < year]
    if not earlier.empty:
        return earlier.iloc[int(np.argmax(earlier["price_year"].astype(int).to_numpy()))]
    return rows.iloc[int(np.argmin(years.to_numpy()))]


#: carbon markets whose annual means become price items ``carbon_price_<market>``
CARBON_MARKETS = ("national_ets", "beijing_pilot")


def carbon_market_series(market_prices: pd.DataFrame) -> pd.DataFrame:
    """Annual-mean carbon market prices as unit-price rows ``carbon_price_<market>``.

    Only rows flagged ``annual_series = true`` are used (annual means; single trading days,
    first trades and auction prices are kept in the table for reference but are not a year's
    price). Each row keeps its price year, source and confidence; rows back-calculated from a
    stated percentage change carry ``derived from stated %``. Years between or beyond the
    observed ones are moved with the CPI like any other price (module docstring), so an
    accounting year before the first market year (e.g. 2020 for the national ETS, opened
    2021-07-16) uses the first annual mean deflated back, as the accounts' ``price_year`` shows.

    Parameters
    ----------
    market_prices : DataFrame
        :func:`data_catalog.tables.load_carbon_market_prices`: ``market, value, unit,
        price_year, kind, source, confidence, annual_series``.

    Returns
    -------
    DataFrame
        Rows ``item, service, value, unit, price_year, deflator, source, confidence, note``.

    Raises
    ------
    InputError
        If a market has no annual-mean row or a row is not quoted in ``CNY t-1 CO2``.

    Examples
    --------
    >>> t = pd.DataFrame({"market": ["national_ets"], "value": [46.6],
    ...     "unit": ["CNY t-1 CO2"], "price_year": [2021], "kind": ["annual average"],
    ...     "source": ["ICCWTE"], "confidence": ["derived from stated %"],
    ...     "annual_series": [True]})
    >>> carbon_market_series(t)[["item", "value", "price_year"]].to_numpy().tolist()
    [['carbon_price_national_ets', 46.6, 2021]]
    """
    flag = market_prices["annual_series"].astype(str).str.strip().str.lower() == "true"
    rows = market_prices[flag]
    bad = rows[rows["unit"] != "CNY t-1 CO2"]
    if not bad.empty:
        raise InputError(
            f"carbon market prices: unit {sorted(set(bad['unit']))} where 'CNY t-1 CO2' is "
            "expected (prices per tonne of CO2); convert per-t-C prices with × 12/44"
        )
    for market in sorted(set(market_prices["market"])):
        if rows[rows["market"] == market].empty:
            raise InputError(
                f"carbon market prices: market '{market}' has no row with annual_series = true; "
                "flag its annual means (not single days) or remove the market"
            )
    return pd.DataFrame(
        {
            "item": "carbon_price_" + rows["market"].astype(str),
            "service": "carbon_sequestration",
            "value": rows["value"].astype(float),
            "unit": rows["unit"],
            "price_year": rows["price_year"].astype(int),
            "deflator": "cpi",
            "source": rows["source"] + " (" + rows["kind"] + ")",
            "confidence": rows["confidence"],
            "note": "carbon market annual mean",
        }
    ).reset_index(drop=True)
