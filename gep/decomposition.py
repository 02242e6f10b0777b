"""ΔGEP between years split into a volume effect and a price effect, exactly.

For a unit with components *c*, quantities ``q`` and current unit prices ``p`` in years 0 and 1
(METHODS.md §3; SEEA EA 2021 §9 on volume and price measures):

* volume effect (Laspeyres, at year-0 prices): ``ΔV_q = Σ_c p0_c·(q1_c − q0_c)``
* price effect (Paasche, at year-1 quantities): ``ΔV_p = Σ_c q1_c·(p1_c − p0_c)``
* ``ΔV = Σ p1·q1 − Σ p0·q0 = ΔV_q + ΔV_p`` exactly;
* volume index ``Σ p0·q1 / Σ p0·q0``; price index ``Σ p1·q1 / Σ p0·q1``; their product is the
  value index.

For more than two years the links are chained year to year: the cumulative indices are products
of the links and the cumulative effects are sums of the links' effects, so they still add up to
the total change exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["unit_id", "service", "component"]


def decompose(valued: pd.DataFrame) -> pd.DataFrame:
    """Volume and price effects per unit for each pair of consecutive years.

    Parameters
    ----------
    valued : DataFrame
        Columns ``unit_id, year, service, component, quantity, price_current_cny`` (the output
        of :func:`gep.valuation.value_quantities` or the accounts). ``quantity`` is the valued
        quantity and ``price_current_cny`` the current price per unit of it, so that
        ``value = quantity × factor × price``; a ``factor`` column is used when present.

    Returns
    -------
    DataFrame
        One row per unit and link ``(year_from, year_to)``: ``value_from_cny, value_to_cny,
        change_cny, volume_effect_cny, price_effect_cny, volume_index, price_index``, plus the
        chained ``volume_index_chained`` and ``price_index_chained`` since the first year.
    """
    df = valued.copy()
    if "factor" not in df.columns:
        raise ValueError("decompose: the table needs the `factor` column of its components")
    factor = df["factor"]
    df["q"] = df["quantity"] * factor
    df["p"] = df["price_current_cny"]
    years = sorted(df["year"].unique())
    links = [_link(df, y0, y1) for y0, y1 in zip(years[:-1], years[1:], strict=True)]
    if not links:
        return pd.DataFrame(columns=_COLUMNS)
    out = pd.concat(links, ignore_index=True).sort_values(["unit_id", "year_to"])
    grouped = out.groupby("unit_id", sort=False)
    out["volume_index_chained"] = grouped["volume_index"].cumprod()
    out["price_index_chained"] = grouped["price_index"].cumprod()
    return out[_COLUMNS].reset_index(drop=True)


_COLUMNS = [
    "unit_id",
    "year_from",
    "year_to",
    "value_from_cny",
    "value_to_cny",
    "change_cny",
    "volume_effect_cny",
    "price_effect_cny",
    "volume_index",
    "price_index",
    "volume_index_chained",
    "price_index_chained",
]


def _link(df: pd.DataFrame, y0: int, y1: int) -> pd.DataFrame:
    a = df[df["year"] == y0][[*KEYS, "q", "p"]]
    b = df[df["year"] == y1][[*KEYS, "q", "p"]]
    m = a.merge(b, on=KEYS, how="outer", suffixes=("0", "1")).fillna({"q0": 0.0, "q1": 0.0})
    # A component present in one year only: its price in the other year is taken as equal
    # (no price effect can be measured for it); its quantity counts as zero.
    m["p0"] = m["p0"].fillna(m["p1"])
    m["p1"] = m["p1"].fillna(m["p0"])
    m = m.assign(
        v0=m["p0"] * m["q0"],
        v1=m["p1"] * m["q1"],
        p0q1=m["p0"] * m["q1"],
        vol=m["p0"] * (m["q1"] - m["q0"]),
        pri=m["q1"] * (m["p1"] - m["p0"]),
    )
    s = m.groupby("unit_id", as_index=False)[["v0", "v1", "p0q1", "vol", "pri"]].sum()
    return pd.DataFrame(
        {
            "unit_id": s["unit_id"],
            "year_from": y0,
            "year_to": y1,
            "value_from_cny": s["v0"],
            "value_to_cny": s["v1"],
            # the change is reported as the sum of its two effects, so that they add up to it
            # exactly in the table; it equals value_to − value_from up to rounding
            "change_cny": s["vol"] + s["pri"],
            "volume_effect_cny": s["vol"],
            "price_effect_cny": s["pri"],
            "volume_index": _ratio(s["p0q1"], s["v0"]),
            "price_index": _ratio(s["v1"], s["p0q1"]),
        }
    )


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(
            np.where(den != 0, num / den.where(den != 0, 1.0), np.nan), index=num.index
        )
