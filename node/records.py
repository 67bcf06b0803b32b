"""JSON shapes of a round's values: what the journal stores and the HTTP API serves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from operator import attrgetter, itemgetter
from typing import Any

from aggregator import Aggregate
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from node.pipeline import FeedPlan
from publisher.eip712 import SignedObservation


def _flat(obj: Any) -> dict[str, Any]:
    """`asdict` for a dataclass whose fields are all plain values (no nested containers).

    The same dict as `asdict` gives, without its recursive deep copy: replay shapes every
    re-planned feed this way, and `asdict` was most of its cost.
    """
    known = _FIELDS.get(type(obj))
    if known is None:
        names = tuple(f.name for f in fields(obj))
        known = _FIELDS[type(obj)] = (names, attrgetter(*names) if len(names) > 1 else None)
    names, values = known
    if values is None:
        return {name: getattr(obj, name) for name in names}
    return dict(zip(names, values(obj), strict=True))


_FIELDS: dict[type, tuple[tuple[str, ...], attrgetter[Any] | None]] = {}
"""Per dataclass: its field names, and a getter of all their values at once (2+ fields)."""


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


_QUOTE_FIELDS = tuple(f.name for f in fields(Quote))
_FLOAT_FIELDS = frozenset({"price", "bid", "ask", "volume"})
_QUOTE_ITEMS = itemgetter(*_QUOTE_FIELDS)
_FLOAT_ITEMS = itemgetter(*(i for i, name in enumerate(_QUOTE_FIELDS) if name in _FLOAT_FIELDS))


def result_from_json(item: Mapping[str, Any]) -> FetchResult:
    """Rebuild a journaled fetch result, floats bit for bit (non-finite ones from their names)."""
    if item["type"] == "failure":
        return FetchFailure(
            item["source"], item["symbol"], FailureKind(item["kind"]), item["reason"], item["at_ms"]
        )
    try:
        every = _QUOTE_ITEMS(item)
    except KeyError:  # a record written before a field existed: that field's default
        pass
    else:
        if str not in map(type, _FLOAT_ITEMS(every)):
            return Quote(*every)
    values: dict[str, Any] = {k: item[k] for k in _QUOTE_FIELDS if k in item}
    for name in _FLOAT_FIELDS & values.keys():
        if isinstance(values[name], str):
            values[name] = float(values[name])
    return Quote(**values)
