"""De-duplication ledger: one benefit on one area in one year is paid once.

The Beijing 2022 implementation opinions §(七) ask to avoid duplicate compensation across
programmes (避免重复补偿) and to allocate the funds of several sources together (统筹分配).
Claims are keyed by ``(unit_id, area_id, service, year)``; when several programmes claim the
same key, they are taken in the order of ``programme_priority``:

- priority: the first is paid in full (``accepted``), the others are ``rejected`` with the
  ledger's rule id and the first programme named;
- top-up: a later programme listed in ``top_up`` pays ``max(0, own amount - paid before)``
  (``topped_up``; ``rejected`` when nothing is left), so the unit receives the highest
  standard once, e.g. Beijing's forest standard on top of the central payment.
"""

from __future__ import annotations

import pandas as pd

from linkage.config import LedgerConfig
from linkage.errors import LinkageError, Problem

__all__ = ["LEDGER_KEY", "check_ledger", "deduplicate", "settle_claims"]

LEDGER_KEY = ["unit_id", "area_id", "service", "year"]


def deduplicate(claims: pd.DataFrame, ledger: LedgerConfig) -> pd.DataFrame:
    """Mark each claim accepted or rejected.

    Parameters
    ----------
    claims : pandas.DataFrame
        ``unit_id, area_id, service, year, programme, amount_fen``.
    ledger : LedgerConfig
        Programme priority (first is paid).

    Returns
    -------
    pandas.DataFrame
        The claims with ``status`` (``accepted``/``topped_up``/``rejected``), ``paid_by``
        (the first programme), ``rule_id`` and ``paid_fen`` (0 when rejected; the difference
        when topped up), sorted by key and priority.

    Examples
    --------
    >>> claims = pd.DataFrame({"unit_id": ["t1", "t1"], "area_id": ["p1", "p1"],
    ...     "service": ["forest", "forest"], "year": [2024, 2024],
    ...     "programme": ["city", "national"], "amount_fen": [700, 500]})
    >>> ledger = LedgerConfig(id="LG", programme_priority=["national", "city"])
    >>> deduplicate(claims, ledger)[["programme", "status", "paid_fen"]].values.tolist()
    [['national', 'accepted', 500], ['city', 'rejected', 0]]

    With the city topping up the national payment, it pays 700 - 500 = 200:

    >>> ledger = LedgerConfig(id="LG", programme_priority=["national", "city"], top_up=["city"])
    >>> deduplicate(claims, ledger)[["programme", "status", "paid_fen"]].values.tolist()
    [['national', 'accepted', 500], ['city', 'topped_up', 200]]
    """
    rank = {programme: i for i, programme in enumerate(ledger.programme_priority)}
    out = claims.assign(_rank=claims["programme"].map(rank))
    out = out.sort_values([*LEDGER_KEY, "_rank"], ignore_index=True)
    winner = out.groupby(LEDGER_KEY, sort=False)["programme"].transform("first")
    out["paid_by"] = winner
    out["status"] = (out["programme"] == winner).map({True: "accepted", False: "rejected"})
    out["rule_id"] = ledger.id
    out["paid_fen"] = out["amount_fen"].where(out["status"] == "accepted", 0).astype("int64")
    if ledger.top_up:
        _top_up(out, set(ledger.top_up))
    return out.drop(columns="_rank")


def _top_up(out: pd.DataFrame, top_up: set[str]) -> None:
    """Later claims of ``top_up`` programmes pay the difference to what was paid before."""
    keys = list(out[LEDGER_KEY].itertuples(index=False, name=None))
    amounts = out["amount_fen"].astype("int64").tolist()
    programmes = out["programme"].astype(str).tolist()
    status = out["status"].tolist()
    paid = out["paid_fen"].astype("int64").tolist()
    before, key = 0, None
    for i, row_key in enumerate(keys):
        if row_key != key:
            key, before = row_key, 0
        if status[i] == "rejected" and programmes[i] in top_up:
            paid[i] = max(0, amounts[i] - before)
            status[i] = "topped_up" if paid[i] > 0 else "rejected"
        before += paid[i]
    out["status"] = status
    out["paid_fen"] = pd.array(paid, dtype="int64")


def settle_claims(claims: pd.DataFrame, ledger: LedgerConfig | None) -> pd.DataFrame:
    """The ledger of every claim of a run; without a ledger configuration, keys must be unique.

    Parameters
    ----------
    claims : pandas.DataFrame
        ``unit_id, area_id, service, year, programme, amount_fen`` of every programme.
    ledger : LedgerConfig or None
        Programme priority; ``None`` when the configuration has no ledger.

    Returns
    -------
    pandas.DataFrame
        As :func:`deduplicate`; without a ledger every claim is accepted.

    Raises
    ------
    LinkageError
        Without a ledger, if two programmes claim the same benefit on the same area and year
        (the run cannot decide which one pays).

    Examples
    --------
    >>> claims = pd.DataFrame({"unit_id": ["t1"], "area_id": ["cropland"],
    ...     "service": ["cropland_protection"], "year": [2024], "programme": ["city"],
    ...     "amount_fen": [700]})
    >>> settle_claims(claims, None)[["status", "paid_fen"]].values.tolist()
    [['accepted', 700]]
    """
    if ledger is not None:
        return deduplicate(claims, ledger)
    repeated = claims[claims.duplicated(LEDGER_KEY, keep=False)]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise LinkageError(
            f"[ledger] programmes {sorted(set(repeated['programme']))} claim the same benefit "
            f"({first['service']} on {first['unit_id']}/{first['area_id']} in {first['year']}); "
            "add a `ledger` with programme_priority to decide which one pays"
        )
    out = claims.sort_values([*LEDGER_KEY, "programme"], ignore_index=True)
    return out.assign(
        paid_by=out["programme"],
        status="accepted",
        rule_id="",
        paid_fen=out["amount_fen"].astype("int64"),
    )


def check_ledger(claims: pd.DataFrame, ledger: LedgerConfig) -> list[Problem]:
    """Every claimed programme must have a priority.

    Parameters
    ----------
    claims : pandas.DataFrame
        The claims table.
    ledger : LedgerConfig
        Ledger configuration.

    Returns
    -------
    list of Problem
        Programmes without priority.
    """
    unknown = sorted(set(claims["programme"]) - set(ledger.programme_priority))
    if unknown:
        return [
            Problem(
                ledger.id,
                "ledger_claims.programme",
                f"programmes {unknown} have no priority",
                "add them to ledger.programme_priority",
            )
        ]
    return []
