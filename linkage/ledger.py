"""De-duplication ledger: one benefit on one area in one year is paid by one programme only.

The Beijing 2022 implementation opinions §(七) ask to avoid duplicate compensation across
programmes (避免重复补偿). Claims are keyed by ``(unit_id, area_id, service, year)``; when
several programmes claim the same key, the one listed first in ``programme_priority`` is paid
and the others are rejected with the ledger's rule id and the winning programme named.
"""

from __future__ import annotations

import pandas as pd

from linkage.config import LedgerConfig
from linkage.errors import Problem

__all__ = ["LEDGER_KEY", "check_ledger", "deduplicate"]

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
        The claims with ``status`` (``accepted``/``rejected``), ``paid_by`` (the winning
        programme), ``rule_id`` and ``paid_fen`` (0 when rejected), sorted by key.

    Examples
    --------
    >>> claims = pd.DataFrame({"unit_id": ["t1", "t1"], "area_id": ["p1", "p1"],
    ...     "service": ["forest", "forest"], "year": [2024, 2024],
    ...     "programme": ["city", "national"], "amount_fen": [700, 500]})
    >>> ledger = LedgerConfig(id="LG", programme_priority=["national", "city"])
    >>> deduplicate(claims, ledger)[["programme", "status", "paid_fen"]].values.tolist()
    [['national', 'accepted', 500], ['city', 'rejected', 0]]
    """
    rank = {programme: i for i, programme in enumerate(ledger.programme_priority)}
    out = claims.assign(_rank=claims["programme"].map(rank))
    out = out.sort_values([*LEDGER_KEY, "_rank"], ignore_index=True)
    winner = out.groupby(LEDGER_KEY, sort=False)["programme"].transform("first")
    out["paid_by"] = winner
    out["status"] = (out["programme"] == winner).map({True: "accepted", False: "rejected"})
    out["rule_id"] = ledger.id
    out["paid_fen"] = out["amount_fen"].where(out["status"] == "accepted", 0).astype("int64")
    return out.drop(columns="_rank")


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
