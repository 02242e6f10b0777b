"""Base classes of the policy configuration: frozen models that forbid unknown keys."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Rule", "_Model"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Model):
    """A rule: anything with an id that appears in the audit trail."""

    id: str = Field(min_length=1)


#: Relative tolerance between the weights' sum and their declared ``weights_sum``.
WEIGHTS_SUM_TOLERANCE = 1e-9


def normalise_declared_weights(data: Any) -> Any:
    """Divide weights by their declared sum, so percent weights mean what they say.

    ``weights: {a: 40, b: 60}`` with ``weights_sum: 100`` becomes ``{a: 0.4, b: 0.6}`` with
    ``weights_sum: 1`` (``declared_weights_sum`` keeps the 100 for the audit). Weights that do
    not add up to the declared sum are left as written: validation refuses them with a message.

    Examples
    --------
    >>> normalise_declared_weights({"weights_sum": 100, "weights": {"a": 40, "b": 60}})
    {'weights_sum': 1.0, 'weights': {'a': 0.4, 'b': 0.6}, 'declared_weights_sum': 100}
    >>> normalise_declared_weights({"weights_sum": 100, "weights": {"a": 0.4, "b": 0.6}})
    {'weights_sum': 100, 'weights': {'a': 0.4, 'b': 0.6}}
    """
    if not isinstance(data, dict):
        return data
    weights, declared = data.get("weights"), data.get("weights_sum")
    if not isinstance(weights, dict) or not isinstance(declared, int | float):
        return data
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in weights.values())
    if not numbers or declared <= 0 or declared == 1:
        return data
    total = sum(float(v) for v in weights.values())
    if abs(total - declared) > WEIGHTS_SUM_TOLERANCE * abs(declared):
        return data
    return {
        **data,
        "weights_sum": 1.0,
        "weights": {k: float(v) / declared for k, v in weights.items()},
        "declared_weights_sum": declared,
    }
