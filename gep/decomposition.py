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

The volume effect is split further with the weather-neutral accounts ``q1'`` (year 1's
ecosystem condition under year 0's weather, :func:`gep.pipeline.weather_neutral_quantities`):

* condition effect ``ΔV_c = Σ_c p0_c·(q1'_c − q0_c)``: what changed in the ecosystems (land
  cover, vegetation) with the weather held at year 0's;
* weather effect ``ΔV_w = ΔV_q − ΔV_c = Σ_c p0_c·(q1_c − q1'_c)``: what the weather of year 1
  changed; both at year-0 prices, so ``ΔV_c + ΔV_w = ΔV_q`` exactly (the weather effect is
  computed as that difference). The counterfactual design follows the attribution of
  ecosystem-service change to land-use versus climate drivers (e.g. Bai et al. 2019,
  *Sci. Total Environ.* 656:1156, for water yield and soil retention).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["unit_id", "service", "component"]


def decompose(valued: pd.DataFrame, neutral: pd.DataFrame | None = None) -> pd.DataFrame:
    """Volume and price effects per unit for each pair of consecutive years.

    Parameters
    ----------
    valued : DataFrame
        Columns ``unit_id, year, service, component, quantity, price_current_cny`` (the output
        of :func:`gep.valuation.value_quantities` or the accounts). ``quantity`` is the valued
        quantity and ``price_current_cny`` the current price per unit of it, so that
        ``value = quantity × factor × price``; a ``factor`` column is used when present.
    neutral : DataFrame, optional
        The same columns for each ``year_to`` under the weather of ``year_from`` (with a
        ``weather_year`` column): adds ``condition_effect_cny`` and ``weather_effect_cny``.

    Returns
    -------
    DataFrame
        One row per unit and link ``(year_from, year_to)``: ``value_from_cny, value_to_cny,
        change_cny, volume_effect_cny, price_effect_cny, volume_index, price_index``, the
        chained ``volume_index_chained`` and ``price_index_chained`` since the first year, and
        ``condition_effect_cny``, ``weather_effect_cny`` (NaN without ``neutral``).

    Examples
    --------
    One unit, one component priced 2 in 2015; 10 units in 2015, 16 in 2020 of which 13 with
    2015's weather: volume effect 12 = condition 6 + weather 6.

    >>> rows = pd.DataFrame({"unit_id": "u", "service": "s", "component": "c",
    ...     "year": [2015, 2020], "quantity": [10.0, 16.0], "factor": 1.0,
    ...     "price_current_cny": [2.0, 2.5]})
    >>> neutral = rows.iloc[[1]].assign(quantity=13.0, weather_year=2015)
    >>> d = decompose(rows, neutral).iloc[0]
    >>> float(d.volume_effect_cny), float(d.condition_effect_cny), float(d.weather_effect_cny)
    (12.0, 6.0, 6.0)
    """
    df = valued.copy()
    if "factor" not in df.columns:
        raise ValueError("decompose: the table needs the `factor` column of its components")
    factor = df["factor"]
    df["q"] = df["quantity"] * factor
    df["p"] = df["price_current_cny"]
    years = sorted(df["year"].unique())
    neutral_q = None
    if neutral is not None:
        neutral_q = neutral.assign(q=neutral["quantity"] * neutral["factor"])
    links = [
        _split_volume(_link(df, y0, y1), df, neutral_q, y0, y1)
        for y0, y1 in zip(years[:-1], years[1:], strict=True)
    ]
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
    "condition_effect_cny",
    "weather_effect_cny",
]


def _split_volume(
    link: pd.DataFrame, df: pd.DataFrame, neutral: pd.DataFrame | None, y0: int, y1: int
) -> pd.DataFrame:
    """Add the condition and weather effects of one link (NaN without neutral accounts)."""
    link = link.assign(condition_effect_cny=np.nan, weather_effect_cny=np.nan)
    if neutral is None:
        return link
    rows = neutral[(neutral["year"] == y1) & (neutral["weather_year"] == y0)]
    if rows.empty:
        return link
    a = df[df["year"] == y0][[*KEYS, "q", "p"]]
    b = rows[[*KEYS, "q"]].rename(columns={"q": "qn"})
    m = a.merge(b, on=KEYS, how="outer").fillna({"q": 0.0, "qn": 0.0})
    # a component absent in year 0 is priced at year 1's price, as in the volume effect
    later = df[df["year"] == y1][[*KEYS, "p"]].rename(columns={"p": "p1"})
    m = m.merge(later, on=KEYS, how="left")
    m["p"] = m["p"].fillna(m["p1"])
    m["cond"] = m["p"] * (m["qn"] - m["q"])
    cond = m.groupby("unit_id")["cond"].sum()
    link["condition_effect_cny"] = link["unit_id"].map(cond).fillna(0.0).to_numpy()
    link["weather_effect_cny"] = link["volume_effect_cny"] - link["condition_effect_cny"]
    return link


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
