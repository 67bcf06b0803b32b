"""The breaker's state machine: closed -> open -> half_open -> closed, one step per round.

- `closed`: values that pass every check are allowed. A failed check opens the breaker and
  holds the value (the node keeps serving the last allowed value).
- `open`: held while checks fail. A move (deviation, volatility, rate) that the quorum-backed
  aggregate confirms over `confirm_rounds` consecutive rounds, each within `confirm_band` of
  the previous one, is followed (-> half_open). A round that passes every check again (the
  spike reverted, the venues agree again) -> half_open. A round with no value breaks the run
  of confirmations. Never frozen forever: after `max_hold_ms` open, the current quorum-backed
  value is followed (-> half_open), unlike a min/max clamp that would serve a dead price for
  as long as the market stays away.
- `half_open`: values are allowed; a failed check opens the breaker again; `cooldown_ms` of
  clean rounds close it.

An operator reset (`reset`) closes the breaker and accepts the next value as the new reference.
"""

from __future__ import annotations

from dataclasses import replace

from aggregator.types import Aggregate
from circuit_breakers.checks import Measures, measure, trips_of
from circuit_breakers.params import BreakerParams
from circuit_breakers.reasons import ReasonFacts, describe
from circuit_breakers.types import MOVE_TRIPS, BreakerState, BreakerStatus, Decision, Trip, Verdict

ALLOWING = frozenset(
    {
        Verdict.FIRST,
        Verdict.WITHIN,
        Verdict.RESET,
        Verdict.COOLING,
        Verdict.COOLED,
        Verdict.CLEARED,
        Verdict.CONFIRMED,
        Verdict.RELEASED,
    }
)


def evaluate(
    params: BreakerParams,
    state: BreakerState,
    aggregate: Aggregate,
    last_published: float | None,
    now_ms: int,
) -> tuple[Decision, BreakerState]:
    """May `aggregate` be published? Returns the decision and the breaker's next state.

    `last_published` is the value on chain (None when nothing is, or the feed is off chain:
    moves are then measured against the last value the breaker allowed).
    """
    m = measure(params, state, aggregate, last_published, now_ms)
    trips = trips_of(params, m, aggregate.value is not None)
    verdict, nxt = step(params, state, aggregate.value, trips, m, now_ms)
    facts = reason_facts(params, state, nxt, verdict, aggregate.error, now_ms)
    reason = describe(verdict, trips, m, params, facts)
    decision = Decision(
        verdict in ALLOWING, nxt.status, reason, tuple(str(t) for t in trips), str(verdict)
    )
    return decision, nxt


def reset(state: BreakerState) -> BreakerState:
    """An operator's reset: closed, and the next value is accepted as the new reference.

    The volatility estimate is kept (it describes the market, not the incident).
    """
    return BreakerState(
        reference=state.reference,
        reference_ms=state.reference_ms,
        variance=state.variance,
        samples=state.samples,
        rebase=True,
    )


def step(
    params: BreakerParams,
    state: BreakerState,
    value: float | None,
    trips: tuple[Trip, ...],
    m: Measures,
    now_ms: int,
) -> tuple[Verdict, BreakerState]:
    """The transition for one round."""
    if value is None:
        if state.status is BreakerStatus.OPEN:
            return Verdict.HOLDING, replace(state, candidate=None, confirmations=0)
        opened = replace(
            state,
            status=BreakerStatus.OPEN,
            since_ms=now_ms,
            candidate=None,
            confirmations=0,
            trip=str(Trip.QUORUM),
            half_open_ms=None,
        )
        return Verdict.TRIPPED, opened
    if not trips:
        return _clean(params, state, value, m, now_ms)
    confirmable = all(t in MOVE_TRIPS for t in trips)
    if state.status is not BreakerStatus.OPEN:
        opened = replace(
            state,
            status=BreakerStatus.OPEN,
            since_ms=now_ms,
            candidate=value,
            confirmations=1,
            trip=str(trips[0]),
            half_open_ms=None,
        )
        if confirmable and params.confirm_rounds <= 1:
            return Verdict.CONFIRMED, _half_open(params, opened, value, now_ms)
        return Verdict.TRIPPED, opened
    since = state.since_ms if state.since_ms is not None else now_ms
    candidate = state.candidate
    consistent = candidate is not None and abs(value - candidate) <= params.confirm_band * abs(
        candidate
    )
    confirmations = state.confirmations + 1 if consistent else 1
    held = replace(state, since_ms=since, candidate=value, confirmations=confirmations)
    if confirmable and confirmations >= params.confirm_rounds:
        return Verdict.CONFIRMED, _half_open(params, held, value, now_ms)
    if now_ms - since >= params.max_hold_ms:
        return Verdict.RELEASED, _half_open(params, held, value, now_ms)
    return Verdict.HOLDING, held


def reason_facts(
    params: BreakerParams,
    before: BreakerState,
    after: BreakerState,
    verdict: Verdict,
    error: str | None,
    now_ms: int,
) -> ReasonFacts:
    """The numbers the reason quotes, from the states around the step.

    A move is confirmed the round its count reaches `confirm_rounds` (the count grows by one
    per round), so that is the count a confirmed move quotes.
    """
    since = before.since_ms if before.since_ms is not None else now_ms
    half = before.half_open_ms if before.half_open_ms is not None else now_ms
    confirmations = after.confirmations
    if verdict is Verdict.CONFIRMED:
        confirmations = params.confirm_rounds
    return ReasonFacts(
        error=error,
        confirmations=confirmations,
        held_ms=now_ms - since,
        clean_ms=now_ms - half,
        trip=before.trip,
    )


def _clean(
    params: BreakerParams, state: BreakerState, value: float, m: Measures, now_ms: int
) -> tuple[Verdict, BreakerState]:
    if state.rebase:
        return Verdict.RESET, _accept(params, BreakerState(), state, value, now_ms)
    if state.status is BreakerStatus.OPEN:
        return Verdict.CLEARED, _half_open(params, state, value, now_ms)
    if state.status is BreakerStatus.HALF_OPEN:
        half = state.half_open_ms if state.half_open_ms is not None else now_ms
        if now_ms - half >= params.cooldown_ms:
            return Verdict.COOLED, _accept(params, BreakerState(), state, value, now_ms)
        return Verdict.COOLING, _accept(params, state, state, value, now_ms)
    verdict = Verdict.FIRST if m.move is None and state.reference is None else Verdict.WITHIN
    return verdict, _accept(params, BreakerState(), state, value, now_ms)


def _half_open(
    params: BreakerParams, state: BreakerState, value: float, now_ms: int
) -> BreakerState:
    half = replace(
        state,
        status=BreakerStatus.HALF_OPEN,
        since_ms=None,
        candidate=None,
        confirmations=0,
        half_open_ms=now_ms,
    )
    return _accept(params, half, state, value, now_ms)


def _accept(
    params: BreakerParams, into: BreakerState, memory: BreakerState, value: float, now_ms: int
) -> BreakerState:
    """`into`, remembering `value` as the allowed reference and updating the volatility EWMA.

    The move that an operator reset accepted is not a market move: it does not enter the EWMA.
    """
    variance, samples = memory.variance, memory.samples
    last = memory.reference
    if last is not None and last != 0 and not memory.rebase:
        r = (value - last) / abs(last)
        alpha = params.volatility_alpha
        variance = (1.0 - alpha) * variance + alpha * (r * r)
        samples = memory.samples + 1
    return replace(
        into,
        reference=value,
        reference_ms=now_ms,
        variance=variance,
        samples=samples,
        rebase=False,
    )
