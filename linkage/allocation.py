"""Budget closure in integer fen: clamped proportional shares and largest-remainder rounding.

A budget ``B`` (fen) is split in proportion to weights ``w_u``, with each unit held between
its floor ``l_u`` and cap ``c_u`` (fen): ``q_u = clamp(lambda w_u, l_u, c_u)`` with the single
``lambda`` for which ``sum q_u = B``. That is what iterative redistribution (fix units at their
bound, share the rest among the free units, repeat) converges to; here ``lambda`` is found
directly on the breakpoints, in exact rational arithmetic (:class:`fractions.Fraction`), so the
result does not depend on the row order or on floating-point round-off. The quotas ``q_u`` are
then rounded to whole fen by the largest-remainder (Hamilton) method with ties broken by unit id.

Properties (checked by hypothesis in ``tests/linkage``):

- the amounts sum exactly to ``B`` and stay within ``[l_u, c_u]``, hence are never negative;
- monotonicity: if unit ``u``'s weight rises and every other weight stays the same (which the
  fixed-reference scores of :mod:`linkage.normalize` guarantee), ``u``'s amount in fen does not
  fall. Proof: were ``lambda`` to rise, every quota ``clamp(lambda w, l, c)`` would rise or stay,
  and as they sum to ``B`` all would stay; so no other quota rises and ``q_u`` does not fall.
  If ``floor(q_u)`` rises, so does ``u``'s amount. Otherwise, for ``u`` to lose its extra
  fen some unit ``j`` must gain one; ``j``'s quota did not rise, so it gains only with an
  unchanged floor and a remainder that did not rise but now ranks above ``u``'s (which did not
  fall), although it ranked below before: impossible with a fixed tie-break.

References
----------
Balinski, M. L. & Young, H. P. (2001). *Fair Representation*, 2nd ed., Brookings
(Hamilton's method of largest remainders and its paradoxes). Dantzig-type water filling: Boyd & Vandenberghe
(2004), *Convex Optimization*, §5.5.3 (clamped proportional solution of a bounded share problem).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from math import floor

import pandas as pd

from linkage.errors import InfeasibleAllocationError

__all__ = ["FenAllocation", "allocate_fen", "largest_remainder"]


@dataclass(frozen=True)
class FenAllocation:
    """Result of :func:`allocate_fen` for one group of units.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by unit id (sorted): ``proportional_fen`` (``B w/sum w``, float),
        ``bounded_fen`` (clamped quota, float), ``amount_fen`` (int64), ``bound``
        (``"floor"``, ``"cap"`` or ``""``).
    multiplier : fractions.Fraction
        ``lambda`` in fen per unit of weight.
    """

    table: pd.DataFrame
    multiplier: Fraction


def largest_remainder(quotas: Mapping[str, Fraction], total: int) -> dict[str, int]:
    """Round exact quotas to integers that sum to ``total`` (Hamilton's method).

    Each unit gets ``floor(q)``; the ``total - sum floor(q)`` units with the largest
    fractional parts get one more (ties: smaller unit id first).

    Parameters
    ----------
    quotas : mapping of str to Fraction
        Exact quotas, summing to ``total``.
    total : int
        The integer total.

    Returns
    -------
    dict of str to int
        Rounded amounts.

    Examples
    --------
    >>> largest_remainder({"a": Fraction(7, 2), "b": Fraction(5, 2), "c": Fraction(4)}, 10)
    {'a': 4, 'b': 2, 'c': 4}
    """
    amounts = {unit: floor(q) for unit, q in quotas.items()}
    left = total - sum(amounts.values())
    order = sorted(quotas, key=lambda unit: (-(quotas[unit] - amounts[unit]), unit))
    for unit in order[:left]:
        amounts[unit] += 1
    return amounts


def _clamp(x: Fraction, low: Fraction, high: Fraction | None) -> Fraction:
    x = max(x, low)
    return x if high is None else min(x, high)


def _status(x: Fraction, low: Fraction, high: Fraction | None, opening: bool) -> str:
    """Bound that holds ``x`` (``"floor"``, ``"cap"`` or ``""`` when free).

    With ``opening`` the question is whether ``x`` is free just to the right of this point
    (``low <= x < high``), as needed for the slope of the filled amount.
    """
    if x < low:
        return "floor"
    if high is not None and (x >= high if opening else x > high):
        return "cap"
    return ""


def _filled(
    lam: Fraction, w: dict[str, Fraction], lo: dict[str, Fraction], hi: dict[str, Fraction | None]
) -> Fraction:
    return sum((_clamp(lam * w[u], lo[u], hi[u]) for u in w), Fraction(0))


def _multiplier(
    budget: Fraction,
    w: dict[str, Fraction],
    lo: dict[str, Fraction],
    hi: dict[str, Fraction | None],
) -> Fraction:
    """Solve ``sum clamp(lambda w, lo, hi) = budget`` for the smallest such ``lambda``."""
    points = {Fraction(0)}
    for unit, weight in w.items():
        if weight > 0:
            points.add(lo[unit] / weight)
            cap = hi[unit]
            if cap is not None:
                points.add(cap / weight)
    ordered = sorted(points)
    low, high = 0, len(ordered) - 1
    while low < high:  # last breakpoint with f(b) <= budget
        mid = (low + high + 1) // 2
        if _filled(ordered[mid], w, lo, hi) <= budget:
            low = mid
        else:
            high = mid - 1
    start = ordered[low]
    gap = budget - _filled(start, w, lo, hi)
    if gap == 0:
        return start
    slope = sum(
        (wt for u, wt in w.items() if wt > 0 and _status(start * wt, lo[u], hi[u], True) == ""),
        Fraction(0),
    )
    return start + gap / slope


def _check_feasible(
    budget_fen: int,
    w: dict[str, Fraction],
    lo: dict[str, Fraction],
    hi: dict[str, Fraction | None],
    rule_id: str,
) -> None:
    floors = sum(lo.values(), Fraction(0))
    if floors > budget_fen:
        raise InfeasibleAllocationError(
            rule_id,
            f"floors add up to {floors / 100} CNY, more than the budget "
            f"{Fraction(budget_fen, 100)} CNY; lower the floor ratio or raise the budget",
        )
    if not any(weight > 0 for weight in w.values()) and floors < budget_fen:
        raise InfeasibleAllocationError(
            rule_id,
            "every unit has weight zero, so the budget cannot be shared; check the "
            "base factors and the tilts",
        )
    ceiling = [hi[u] if w[u] > 0 else lo[u] for u in w]
    if all(c is not None for c in ceiling):
        most = sum((c for c in ceiling if c is not None), Fraction(0))
        if most < budget_fen:
            raise InfeasibleAllocationError(
                rule_id,
                f"caps add up to {most / 100} CNY, less than the budget "
                f"{Fraction(budget_fen, 100)} CNY; raise the cap ratio or lower the budget",
            )


def allocate_fen(
    weights: pd.Series,
    budget_fen: int,
    *,
    floor_fen: pd.Series | None = None,
    cap_fen: pd.Series | None = None,
    rule_id: str = "allocation",
) -> FenAllocation:
    """Split ``budget_fen`` in proportion to ``weights`` within floors and caps, in whole fen.

    Parameters
    ----------
    weights : pandas.Series
        Non-negative weights indexed by unit id.
    budget_fen : int
        Budget in fen (1 CNY = 100 fen), >= 0.
    floor_fen, cap_fen : pandas.Series, optional
        Integer lower and upper bounds in fen per unit (missing: 0 and no cap).
    rule_id : str
        Rule id reported if the bounds cannot hold.

    Returns
    -------
    FenAllocation
        Quotas, amounts and bound status per unit.

    Raises
    ------
    InfeasibleAllocationError
        If the floors exceed the budget, the caps fall short of it, or all weights are zero.

    Examples
    --------
    100 fen over weights 1:2:3 gives quotas 16.67, 33.33, 50 and, rounded, 17, 33, 50:

    >>> allocate_fen(pd.Series({"a": 1.0, "b": 2.0, "c": 3.0}), 100).table["amount_fen"].tolist()
    [17, 33, 50]
    """
    units = sorted(str(u) for u in weights.index)
    w = {u: Fraction(float(weights[u])) for u in units}
    lo = {u: Fraction(int(floor_fen[u])) if floor_fen is not None else Fraction(0) for u in units}
    hi: dict[str, Fraction | None] = {
        u: Fraction(int(cap_fen[u])) if cap_fen is not None else None for u in units
    }
    _check_feasible(budget_fen, w, lo, hi, rule_id)
    budget = Fraction(budget_fen)
    lam = _multiplier(budget, w, lo, hi)
    bounded = {u: _clamp(lam * w[u], lo[u], hi[u]) for u in units}
    amounts = largest_remainder(bounded, budget_fen)
    total_w = sum(w.values(), Fraction(0))
    status = {u: _status(lam * w[u], lo[u], hi[u], False) for u in units}
    table = pd.DataFrame(
        {
            "proportional_fen": [float(budget * w[u] / total_w) if total_w else 0.0 for u in units],
            "bounded_fen": [float(bounded[u]) for u in units],
            "amount_fen": pd.array([amounts[u] for u in units], dtype="int64"),
            "bound": [status[u] for u in units],
        },
        index=pd.Index(units, name="unit_id"),
    )
    return FenAllocation(table=table, multiplier=lam)
