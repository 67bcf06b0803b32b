"""The breakers of many feeds at once with numpy, with `circuit_breakers.machine`'s exact results.

State lives in `BreakerArrays` (`circuit_breakers.arrays`: one array per `BreakerState`
field, NaN / flags for None); `step_batch` runs every feed's checks and transition for one
round with array operations that repeat the scalar path's float operations one for one.
`BatchStep.decision(i, ...)` and `BatchStep.state(i)` materialize the scalar path's
`Decision` and `BreakerState` for feed i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from circuit_breakers.arrays import (
    CLOSED,
    HALF,
    NONE,
    OPEN,
    STATUSES,
    TRIPS,
    Bools,
    BreakerArrays,
    Floats,
    Ints,
    ParamArrays,
)
from circuit_breakers.checks import Measures
from circuit_breakers.machine import ALLOWING
from circuit_breakers.params import BreakerParams
from circuit_breakers.reasons import ReasonFacts, describe
from circuit_breakers.types import MOVE_TRIPS, BreakerState, Decision, Verdict

MOVE_MASK = sum(1 << i for i, t in enumerate(TRIPS) if t in MOVE_TRIPS)
VERDICTS = tuple(Verdict)
_V = {v: i for i, v in enumerate(VERDICTS)}
_ALLOWING = np.array([v in ALLOWING for v in VERDICTS])

__all__ = ["BatchStep", "BreakerArrays", "ParamArrays", "step_batch"]


@dataclass(frozen=True)
class BatchStep:
    """One round of every feed's breaker: verdicts, trip masks, measures, next states."""

    before: BreakerArrays
    after: BreakerArrays
    verdict: Ints
    trips: Ints
    move: Floats
    volatility_bound: Floats
    dispersion: Floats
    quote_age_ms: Floats
    rate_per_min: Floats
    now_ms: int | Ints
    """The round's time, or one per row (rows of many rounds: exact replay's columns)."""

    @property
    def allow(self) -> Bools:
        return _ALLOWING[self.verdict]

    def state(self, i: int) -> BreakerState:
        return self.after.state(i)

    def decision(self, i: int, params: BreakerParams, error: str | None) -> Decision:
        """Feed i's `Decision`, reason included, as `circuit_breakers.evaluate` gives it."""
        verdict = VERDICTS[int(self.verdict[i])]
        trips = tuple(t for b, t in enumerate(TRIPS) if int(self.trips[i]) >> b & 1)

        def opt(a: Floats) -> float | None:
            return None if math.isnan(a[i]) else float(a[i])

        m = Measures(
            opt(self.move),
            opt(self.volatility_bound),
            opt(self.dispersion),
            opt(self.quote_age_ms),
            opt(self.rate_per_min),
        )
        before = self.before.state(i)
        now_ms = self.now_ms if isinstance(self.now_ms, int) else int(self.now_ms[i])
        since = before.since_ms if before.since_ms is not None else now_ms
        half = before.half_open_ms if before.half_open_ms is not None else now_ms
        confirmations = int(self.after.confirmations[i])
        if verdict is Verdict.CONFIRMED:
            confirmations = params.confirm_rounds
        facts = ReasonFacts(error, confirmations, now_ms - since, now_ms - half, before.trip)
        reason = describe(verdict, trips, m, params, facts)
        status = STATUSES[int(self.after.status[i])]
        return Decision(verdict in ALLOWING, status, reason, tuple(str(t) for t in trips), verdict)


def step_batch(
    p: ParamArrays,
    s: BreakerArrays,
    value: Floats,
    dispersion: Floats,
    median_ts_ms: Floats,
    last_published: Floats,
    now_ms: int | Ints,
) -> BatchStep:
    """Every feed's checks and transition (`circuit_breakers.machine.evaluate`, per feed).

    `value` and `dispersion` are NaN without a value; `median_ts_ms` is the median stamp of
    the quotes used (NaN when none); `last_published` NaN when nothing is published.
    `now_ms` is the round's time, or one time per row when the rows are of several rounds.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _step(p, s, value, dispersion, median_ts_ms, last_published, now_ms)


def _step(
    p: ParamArrays,
    s: BreakerArrays,
    value: Floats,
    dispersion: Floats,
    median_ts_ms: Floats,
    last_published: Floats,
    now_ms: int | Ints,
) -> BatchStep:
    has = ~np.isnan(value)
    has_ref = ~np.isnan(s.reference) & (s.reference != 0)
    pub = ~np.isnan(last_published) & (last_published != 0)
    ref = np.where(pub, last_published, np.where(has_ref, s.reference, np.nan))
    move = np.where(has & ~np.isnan(ref) & ~s.rebase, (value - ref) / np.abs(ref), np.nan)
    vol_on = has & ~np.isnan(p.volatility_k) & (s.samples >= p.volatility_window)
    vol = np.where(
        vol_on, np.maximum(p.volatility_k * np.sqrt(s.variance), p.volatility_floor), np.nan
    )
    age_on = has & ~np.isnan(p.max_quote_age_ms) & ~np.isnan(median_ts_ms)
    age = np.where(age_on, now_ms - median_ts_ms, np.nan)
    rate_on = (
        has
        & ~np.isnan(p.max_rate_per_min)
        & ~s.rebase
        & has_ref
        & (s.reference_ms != NONE)
        & (now_ms > s.reference_ms)
    )
    dt = np.where(rate_on, now_ms - s.reference_ms, 1)
    rate = np.where(
        rate_on, np.abs(value - s.reference) / np.abs(s.reference) * 60_000.0 / dt, np.nan
    )
    disp = np.where(has & ~np.isnan(p.max_dispersion), dispersion, np.nan)
    crossed = (
        ~has,
        disp > p.max_dispersion,
        age > p.max_quote_age_ms,
        np.abs(move) > p.max_deviation,
        np.abs(move) > vol,
        rate > p.max_rate_per_min,
    )
    mask = np.zeros(value.shape, dtype=np.int64)
    for bit, hit in enumerate(crossed):
        mask |= np.where(hit, 1 << bit, 0)
    after, verdict = _transition(p, s, value, mask, move, now_ms)
    return BatchStep(s, after, verdict, mask, move, vol, disp, age, rate, now_ms)


def _transition(
    p: ParamArrays,
    s: BreakerArrays,
    value: Floats,
    mask: Ints,
    move: Floats,
    now_ms: int | Ints,
) -> tuple[BreakerArrays, Ints]:
    n = value.shape[0]
    has = ~np.isnan(value)
    is_open = s.status == OPEN
    first = np.where(mask == 0, -1, _lowest_bit(mask))
    confirmable = (mask & ~MOVE_MASK) == 0
    now = np.full(n, now_ms, dtype=np.int64)

    @cache
    def opened() -> BreakerArrays:
        """Opening from closed / half-open (a value or a quorum loss)."""
        return replace(
            s,
            status=np.full(n, OPEN),
            since_ms=now,
            candidate=np.where(has, value, np.nan),
            confirmations=np.where(has, 1, 0),
            trip=first,
            half_open_ms=np.full(n, NONE),
        )

    # Holding while open.
    since = np.where(s.since_ms != NONE, s.since_ms, now)
    consistent = ~np.isnan(s.candidate) & (
        np.abs(value - s.candidate) <= p.confirm_band * np.abs(s.candidate)
    )
    held = replace(
        s,
        since_ms=np.where(has, since, s.since_ms),
        candidate=np.where(has, value, np.nan),
        confirmations=np.where(has, np.where(consistent, s.confirmations + 1, 1), 0),
    )

    verdict = np.full(n, _V[Verdict.HOLDING])
    out = held
    # No value.
    no_value_closed = ~has & ~is_open
    out = out.where(no_value_closed, opened)
    verdict = np.where(no_value_closed, _V[Verdict.TRIPPED], verdict)
    # Clean rounds.
    clean = has & (mask == 0)
    half_ms = np.where(s.half_open_ms != NONE, s.half_open_ms, now)
    cooled = now - half_ms >= p.cooldown_ms
    c_reset = clean & s.rebase
    c_cleared = clean & ~s.rebase & is_open
    c_half = clean & ~s.rebase & (s.status == HALF)
    c_closed = clean & ~s.rebase & (s.status == CLOSED)
    first_value = np.isnan(move) & np.isnan(s.reference)
    verdict = np.where(c_reset, _V[Verdict.RESET], verdict)
    verdict = np.where(c_cleared, _V[Verdict.CLEARED], verdict)
    verdict = np.where(c_half & cooled, _V[Verdict.COOLED], verdict)
    verdict = np.where(c_half & ~cooled, _V[Verdict.COOLING], verdict)
    verdict = np.where(c_closed & first_value, _V[Verdict.FIRST], verdict)
    verdict = np.where(c_closed & ~first_value, _V[Verdict.WITHIN], verdict)
    out = out.where(c_reset | (c_half & cooled) | c_closed, lambda: BreakerArrays.closed(n))
    out = out.where(c_half & ~cooled, s)
    out = out.where(c_cleared, lambda: _half_open(s, now))
    # Tripped with a value.
    tripped = has & (mask != 0)
    t_open = tripped & ~is_open
    t_confirm_at_once = t_open & confirmable & (p.confirm_rounds <= 1)
    verdict = np.where(t_open, _V[Verdict.TRIPPED], verdict)
    out = out.where(t_open, opened)
    verdict = np.where(t_confirm_at_once, _V[Verdict.CONFIRMED], verdict)
    out = out.where(t_confirm_at_once, lambda: _half_open(opened(), now))
    t_held = tripped & is_open
    confirmed = t_held & confirmable & (held.confirmations >= p.confirm_rounds)
    released = t_held & ~confirmed & (now - since >= p.max_hold_ms)
    verdict = np.where(confirmed, _V[Verdict.CONFIRMED], verdict)
    verdict = np.where(released, _V[Verdict.RELEASED], verdict)
    out = out.where(confirmed | released, lambda: _half_open(held, now))
    # Every allowed round remembers the value and feeds the volatility estimate.
    allowed = _ALLOWING[verdict]
    before_accept = out
    out = out.where(allowed, lambda: _accept(p, before_accept, s, value, now))
    return out, verdict


def _half_open(x: BreakerArrays, now: Ints) -> BreakerArrays:
    return replace(
        x,
        status=np.full(now.shape, HALF),
        since_ms=np.full(now.shape, NONE),
        candidate=np.full(now.shape, np.nan),
        confirmations=np.zeros(now.shape, dtype=np.int64),
        half_open_ms=now,
    )


def _accept(
    p: ParamArrays, into: BreakerArrays, memory: BreakerArrays, value: Floats, now: Ints
) -> BreakerArrays:
    last = memory.reference
    update = ~np.isnan(last) & (last != 0) & ~memory.rebase
    r = (value - last) / np.abs(last)
    ewma = (1.0 - p.alpha) * memory.variance + p.alpha * (r * r)
    return replace(
        into,
        variance=np.where(update, ewma, memory.variance),
        samples=np.where(update, memory.samples + 1, memory.samples),
        reference=value,
        reference_ms=now,
        rebase=np.zeros(now.shape, dtype=bool),
    )


def _lowest_bit(mask: Ints) -> Ints:
    low = mask & -mask
    return np.where(low > 0, np.log2(np.maximum(low, 1)).astype(np.int64), -1)
