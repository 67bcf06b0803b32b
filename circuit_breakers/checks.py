"""The breaker's checks: the round's measures, and which bounds they cross. Pure arithmetic.

Each check compares one measure with its bound using `>`: a value exactly at a bound passes.
The vectorized path (`circuit_breakers.vector`) repeats these exact operations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from aggregator.types import Aggregate
from circuit_breakers.params import BreakerParams
from circuit_breakers.types import BreakerState, Trip, quick_init


@quick_init
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
    stamps = [s.ts_ms for s in aggregate.used] if params.max_quote_age_ms is not None else ()
    return measure_values(
        params, state, aggregate.value, aggregate.dispersion, stamps, last_published, now_ms
    )


def measure_values(
    params: BreakerParams,
    state: BreakerState,
    value: float | None,
    dispersion: float | None,
    used_ts_ms: Sequence[int],
    last_published: float | None,
    now_ms: int,
) -> Measures:
    """`measure` on an aggregate's fields; `used_ts_ms` (the used quotes' stamps) is read
    only when the staleness check is on."""
    if value is None:
        return _NOTHING
    move = None
    reference = reference_value(state, last_published)
    if reference is not None and not state.rebase:
        move = (value - reference) / abs(reference)
    vol_bound = None
    if params.volatility_k is not None and state.samples >= params.volatility_window:
        vol_bound = max(params.volatility_k * math.sqrt(state.variance), params.volatility_floor)
    age = None
    if params.max_quote_age_ms is not None and used_ts_ms:
        stamps = sorted(used_ts_ms)
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
    return Measures(
        move, vol_bound, dispersion if params.max_dispersion is not None else None, age, rate
    )


_NOTHING = Measures(None, None, None, None, None)
_QUORUM = (Trip.QUORUM,)


def trips_of(params: BreakerParams, m: Measures, has_value: bool) -> tuple[Trip, ...]:
    """Every bound the measures cross, in the fixed order of `Trip`."""
    if not has_value:
        return _QUORUM
    # Each test is `measure > bound` where both exist, written out: this runs for every feed of
    # every round.
    crossed = []
    dispersion, bound = m.dispersion, params.max_dispersion
    if dispersion is not None and bound is not None and dispersion > bound:
        crossed.append(Trip.DISPERSION)
    age, age_bound = m.quote_age_ms, params.max_quote_age_ms
    if age is not None and age_bound is not None and age > age_bound:
        crossed.append(Trip.STALENESS)
    if m.move is not None:
        move = abs(m.move)
        if move > params.max_deviation:
            crossed.append(Trip.DEVIATION)
        if m.volatility_bound is not None and move > m.volatility_bound:
            crossed.append(Trip.VOLATILITY)
    rate, rate_bound = m.rate_per_min, params.max_rate_per_min
    if rate is not None and rate_bound is not None and rate > rate_bound:
        crossed.append(Trip.RATE)
    return tuple(crossed) if crossed else ()
