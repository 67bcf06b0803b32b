"""JSON shapes of a round's values: what the journal stores and the HTTP API serves."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from aggregator import Aggregate
from feeds.quote import FetchResult, Quote
from node.pipeline import FeedPlan
from publisher.eip712 import SignedObservation


def _flat(obj: Any) -> dict[str, Any]:
    """`asdict` for a dataclass whose fields are all plain values (no nested containers).

    The same dict as `asdict` gives, without its recursive deep copy: replay shapes every
    re-planned feed this way, and `asdict` was most of its cost.
    """
    names = _FIELD_NAMES.get(type(obj))
    if names is None:
        names = _FIELD_NAMES[type(obj)] = tuple(f.name for f in fields(obj))
    return {name: getattr(obj, name) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def result_json(result: FetchResult) -> dict[str, Any]:
    body = asdict(result)
    body["type"] = "quote" if isinstance(result, Quote) else "failure"
    return body


def aggregate_json(agg: Aggregate) -> dict[str, Any]:
    return {
        "value": agg.value,
        "dispersion": agg.dispersion,
        "band": None
        if agg.band_low is None or agg.band_high is None
        else {"low": agg.band_low, "high": agg.band_high},
        "estimator": agg.estimator,
        "error": agg.error,
        "sources_used": [_flat(s) for s in agg.used],
        "sources_rejected": [
            {"source": r.source, "symbol": r.symbol, "reason": str(r.reason), "detail": r.detail}
            for r in agg.rejected
        ],
    }


def observation_json(obs: SignedObservation) -> dict[str, Any]:
    return {
        "value": str(obs.value),
        "timestamp": obs.timestamp,
        "signer": obs.signer,
        "signature": "0x" + obs.signature.hex(),
    }


def plan_json(plan: FeedPlan, observation: SignedObservation | None) -> dict[str, Any]:
    return {
        "aggregate": aggregate_json(plan.aggregate),
        "breaker": {
            "allow": plan.decision.allow,
            "status": str(plan.decision.status),
            "reason": plan.decision.reason,
            "trips": list(plan.decision.trips),
            "verdict": plan.decision.verdict,
            "state": _flat(plan.breaker),
        },
        "answer": None if plan.answer is None else str(plan.answer),
        "publish": None if plan.publish is None else str(plan.publish),
        "observation": None if observation is None else observation_json(observation),
    }
