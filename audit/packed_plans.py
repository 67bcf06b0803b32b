"""The feed columns of a packed round: each feed's breaker state and, for a plan of the common
shape (`PackedRound`'s docstring), its aggregate, used sources, answer and decision."""

from __future__ import annotations

from itertools import accumulate
from operator import itemgetter
from typing import Any

from audit.packed_layout import (
    NULL_CANDIDATE,
    NULL_HALF_OPEN,
    NULL_REFERENCE,
    NULL_REFERENCE_MS,
    NULL_SINCE,
    NULL_VARIANCE,
)
from audit.packed_values import (
    INT64_MAX,
    INT64_MIN,
    Column,
    Fields,
    NotPackableError,
    Strings,
    columns,
    floats,
    ints,
    nullable,
    only,
)
from circuit_breakers.types import Trip

_STATE = Fields(
    *("status", "since_ms", "candidate", "confirmations", "trip", "half_open_ms"),
    *("reference", "reference_ms", "variance", "samples", "rebase"),
)
_USED = Fields("source", "symbol", "price", "raw_price", "ts_ms", "weight")
_AGGREGATE = itemgetter(
    "value", "dispersion", "band", "estimator", "error", "sources_used", "sources_rejected"
)
_DECISION = itemgetter("allow", "status", "reason", "verdict", "trips")
_PLAN_KEYS = frozenset(("aggregate", "answer", "breaker", "publish"))
_PLAN_KEYS_OBSERVED = _PLAN_KEYS | {"observation"}
_AGGREGATE_KEYS = frozenset(
    ("value", "dispersion", "band", "estimator", "error", "sources_used", "sources_rejected")
)
_BAND_KEYS = frozenset(("low", "high"))
_DECISION_KEYS = frozenset(("allow", "status", "reason", "trips", "verdict", "state"))
_TRIP_BITS = {str(trip): 1 << i for i, trip in enumerate(Trip)}

Regular = tuple[Any, ...]
"""A regular plan's values, checked; its strings are not interned yet."""


def pack_feeds(feeds: dict[str, Any], strings: Strings) -> dict[str, Column]:
    """The feed and used-source columns, feeds in sorted name order."""
    names = sorted(feeds)
    plans = [feeds[name] for name in names]
    cols: dict[str, Column] = {"feed": strings.column(names)}
    cols |= _state_columns([_state(plan) for plan in plans], strings)
    cols |= _plan_columns([_regular(plan) for plan in plans], strings)
    return cols


def _state(plan: Any) -> Any:
    """A feed's next breaker state: every row carries one, so without it nothing is packed."""
    breaker = plan.get("breaker") if type(plan) is dict else None
    if type(breaker) is not dict:
        raise NotPackableError
    return breaker.get("state")


def _state_columns(states: list[Any], strings: Strings) -> dict[str, Column]:
    candidate, confirmations, half_open, rebase, reference, reference_ms = (
        cols := columns(states, _STATE)
    )[:6]
    samples, since, status, trip, variance = cols[6:]
    nulls = [0] * len(states)
    since, nulls = nullable(since, NULL_SINCE, ints, nulls)
    candidate, nulls = nullable(candidate, NULL_CANDIDATE, floats, nulls)
    half_open, nulls = nullable(half_open, NULL_HALF_OPEN, ints, nulls)
    reference, nulls = nullable(reference, NULL_REFERENCE, floats, nulls)
    reference_ms, nulls = nullable(reference_ms, NULL_REFERENCE_MS, ints, nulls)
    variance, nulls = nullable(variance, NULL_VARIANCE, floats, nulls)
    return {
        "state_status": strings.column(status),
        "state_since_ms": since,
        "state_candidate": candidate,
        "state_confirmations": ints(confirmations),
        "state_trip": strings.nullable(trip),
        "state_half_open_ms": half_open,
        "state_reference": reference,
        "state_reference_ms": reference_ms,
        "state_variance": variance,
        "state_samples": ints(samples),
        "state_rebase": only(rebase, bool),
        "state_nulls": nulls,
    }


def _regular(plan: dict[str, Any]) -> Regular | None:
    """The values of a plan of the common shape; None for any other plan (not an error)."""
    try:
        keys = plan.keys()
        if keys != _PLAN_KEYS and keys != _PLAN_KEYS_OBSERVED:
            return None
        agg, decision = plan["aggregate"], plan["breaker"]
        if type(agg) is not dict or agg.keys() != _AGGREGATE_KEYS:
            return None
        value, dispersion, band, estimator, error, used, rejected = _AGGREGATE(agg)
        if error is not None or rejected != [] or type(band) is not dict:
            return None
        if band.keys() != _BAND_KEYS or type(estimator) is not str:
            return None
        numbers = floats((value, dispersion, band["low"], band["high"]))
        publish = plan["publish"]
        if publish is not None and type(publish) is not str:
            return None
        return (*numbers, estimator, _answer(plan["answer"]), *_decision(decision), publish, used)
    except NotPackableError:
        return None


def _answer(answer: Any) -> int:
    """A decimal int string in its canonical form, so that the column says it exactly."""
    if type(answer) is not str:
        raise NotPackableError
    try:
        value = int(answer)
    except ValueError:
        raise NotPackableError from None
    if str(value) != answer or not INT64_MIN <= value <= INT64_MAX:
        raise NotPackableError
    return value


def _decision(decision: dict[str, Any]) -> tuple[Any, ...]:
    if decision.keys() != _DECISION_KEYS:
        raise NotPackableError
    allow, status, reason, verdict, trips = _DECISION(decision)
    if type(allow) is not bool or type(trips) is not list:
        raise NotPackableError
    only((status, reason, verdict), str)
    bits, last = 0, 0
    for name in trips:
        bit = _TRIP_BITS.get(name) if type(name) is str else None
        if bit is None or bit <= last:  # unknown, repeated or out of `Trip` order
            raise NotPackableError
        bits, last = bits | bit, bit
    return allow, status, reason, verdict, bits


def _used(used: Any) -> list[Column]:
    """Used sources, column-wise; `NotPackableError` when one is of another shape."""
    price, raw, source, symbol, ts_ms, weight = columns(used, _USED)
    only(source, str), only(symbol, str), floats(price), floats(raw), floats(weight)
    return [source, symbol, price, raw, ints(ts_ms), weight]


def _all_used(plans: list[Regular | None]) -> list[Column]:
    return _used([u for r in plans if r is not None for u in _listed(r[-1])])


def _listed(used: Any) -> list[Any]:
    if type(used) is not list:
        raise NotPackableError
    return used


def _used_fits(used: Any) -> bool:
    try:
        _used(used)
    except NotPackableError:
        return False
    return True


def _plan_columns(plans: list[Regular | None], strings: Strings) -> dict[str, Column]:
    try:  # the used sources of every plan checked at once: one pass in the common case
        used = _all_used(plans)
    except NotPackableError:
        plans = [r if r is not None and _used_fits(r[-1]) else None for r in plans]
        used = _all_used(plans)
    regular = [r is not None for r in plans]
    rows = [r[:-1] for r in plans if r is not None]
    value, dispersion, low, high, estimator, answer, allow, status, reason, verdict, trips = (
        cols := list(zip(*rows, strict=True)) or [()] * 12
    )[:11]

    def spread(column: Column) -> Column:
        """A column of the regular rows, with zeros in the others."""
        if all(regular):
            return column
        values = iter(column)
        return [next(values) if r else 0 for r in regular]

    return {
        "regular": regular,
        "value": spread(value),
        "dispersion": spread(dispersion),
        "band_low": spread(low),
        "band_high": spread(high),
        "estimator": spread(strings.column(estimator)),
        "answer": spread(answer),
        "allow": spread(allow),
        "status": spread(strings.column(status)),
        "reason": spread(strings.column(reason)),
        "verdict": spread(strings.column(verdict)),
        "trips": spread(trips),
        "publish": spread(strings.nullable(cols[11])),
        "used_start": [0, *accumulate(0 if r is None else len(r[-1]) for r in plans)],
        "used_source": strings.column(used[0]),
        "used_symbol": strings.column(used[1]),
        "used_price": used[2],
        "used_raw": used[3],
        "used_ts_ms": used[4],
        "used_weight": used[5],
    }
