"""The breaker's checks: the round's measures, and which bounds they cross. Pure arithmetic.

Each check compares one measure with its bound using `>`: a value exactly at a bound passes.
The vectorized path (`circuit_breakers.vector`) repeats these exact operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aggregator.types import Aggregate
from circuit_breakers.params import BreakerParams
from circuit_breakers.types import BreakerState, Trip


@dataclass(frozen=True, slots=True)
class Measures:
    """What the checks look at this round; None where a check does not apply or is off."""

    move: float | None
    """(value - reference) / |reference|; reference = last published, else last allowed."""
    volatility_bound: float | None
    dispersion: float | None
    quote_age_ms: float | None
    rate_per_min: float | None


def reference_value(state: BreakerState, last_published: float | None) -> float | None:
    """What a move is measured against: the last published value, else the last allowed one."""
    if last_published is not None and last_published != 0:
        return last_published
    if state.reference is not None and state.reference != 0:
        return state.reference
    return None


def measure(
    params: BreakerParams,
    state: BreakerState,
    aggregate: Aggregate,
    last_published: float | None,
    now_ms: int,
) -> Measures:
    """The round's measures. Move-based measures are skipped while an operator reset is pending."""
    value = aggregate.value
    if value is None:
        return Measures(None, None, None, None, None)
    move = None
    reference = reference_value(state, last_published)
    if reference is not None and not state.rebase:
        move = (value - reference) / abs(reference)
    vol_bound = None
    if params.volatility_k is not None and state.samples >= params.volatility_window:
        vol_bound = max(params.volatility_k * math.sqrt(state.variance), params.volatility_floor)
    age = None
    if params.max_quote_age_ms is not None and aggregate.used:
        stamps = sorted(s.ts_ms for s in aggregate.used)
        mid = len(stamps) // 2
        median_ts = stamps[mid] if len(stamps) % 2 else (stamps[mid - 1] + stamps[mid]) / 2
        age = now_ms - median_ts
    rate = None
    last, last_ms = state.reference, state.reference_ms
    if (
        params.max_rate_per_min is not None
        and not state.rebase
        and last is not None
        and last != 0
        and last_ms is not None
        and now_ms > last_ms
    ):
        rate = abs(value - last) / abs(last) * 60_000.0 / (now_ms - last_ms)
    dispersion = aggregate.dispersion if params.max_dispersion is not None else None
    return Measures(move, vol_bound, dispersion, age, rate)


def trips_of(params: BreakerParams, m: Measures, has_value: bool) -> tuple[Trip, ...]:
    """Every bound the measures cross, in the fixed order of `Trip`."""
    if not has_value:
        return (Trip.QUORUM,)
    move = None if m.move is None else abs(m.move)
    crossed = (
        (Trip.DISPERSION, _above(m.dispersion, params.max_dispersion)),
        (Trip.STALENESS, _above(m.quote_age_ms, params.max_quote_age_ms)),
        (Trip.DEVIATION, _above(move, params.max_deviation)),
        (Trip.VOLATILITY, _above(move, m.volatility_bound)),
        (Trip.RATE, _above(m.rate_per_min, params.max_rate_per_min)),
    )
    return tuple(trip for trip, above in crossed if above)


def _above(measure: float | None, bound: float | None) -> bool:
    return measure is not None and bound is not None and measure > bound
