"""Allocations recomputed per sample of GEP: a GEP-share split and the linkage policy's own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from data_catalog.errors import InputError

__all__ = ["Allocate", "gep_share_allocation", "policy_allocation"]

Allocate = Callable[[np.ndarray], np.ndarray]


def gep_share_allocation(budget_cny: float) -> Allocate:
    """Allocation of a fund in proportion to GEP, ``budget · GEP_u / Σ GEP`` (negatives as 0).

    This is the GEP component of the linkage formula family (METHODS.md §4: a fund split by
    constant-price GEP); a full policy allocation adds scores, floors and caps
    (:mod:`linkage`).
    """

    def allocate(gep: np.ndarray) -> np.ndarray:
        positive = np.clip(gep, 0.0, None)
        total = positive.sum(axis=1, keepdims=True)
        return budget_cny * positive / np.where(total > 0, total, 1.0)

    return allocate


def policy_allocation(
    policy: Path, unit_ids: Sequence[str], *, level: str = "district"
) -> Allocate:
    """The linkage policy's own allocation, recomputed for each sample of GEP per unit.

    The policy and its tables are validated once (:func:`linkage.run.validate_all`); for each
    sample the accounts rows of each unit at ``level`` in the policy year are scaled so that the
    unit's constant-price GEP equals the sampled value (the composition of its services is
    kept), and the whole allocation (scores, GEP tilt, deductions, bounds, budget closure to the
    fen) is recomputed in memory with :func:`linkage.run.allocation_with_accounts`.

    Parameters
    ----------
    policy : pathlib.Path
        A concrete policy file (e.g. written by :func:`gep.linkage_inputs.prepare_linkage`).
    unit_ids : sequence of str
        Units in the column order of the GEP matrix.
    level : str
        Level of those units.
    """
    from linkage.run import allocation_with_accounts, validate_all

    config, inputs, previous = validate_all(Path(policy))
    accounts = inputs.table("accounts")
    rows = (accounts["level"] == level) & (accounts["year"] == config.policy.year)
    ids = [str(u) for u in unit_ids]
    base = accounts[rows].groupby("unit_id")["value_constant_cny"].sum().reindex(ids)
    if base.isna().any() or (base == 0).any():
        missing = base.index[base.isna() | (base == 0)].tolist()
        raise InputError(f"policy allocation: no constant-price GEP in the accounts for {missing}")

    def allocate(gep: np.ndarray) -> np.ndarray:
        out = np.empty_like(gep, dtype=np.float64)
        for i, sample in enumerate(np.atleast_2d(gep)):
            ratio = pd.Series(sample / base.to_numpy(), index=ids)
            scaled = accounts.copy()
            factor = scaled.loc[rows, "unit_id"].map(ratio).to_numpy()
            scaled.loc[rows, "value_constant_cny"] = scaled.loc[rows, "value_constant_cny"] * factor
            table = allocation_with_accounts(config, inputs, previous, scaled)
            amounts = table[table["level"] == level].set_index("unit_id")["amount_cny"]
            out[i] = amounts.reindex(ids).to_numpy(dtype=np.float64)
        return out

    return allocate
