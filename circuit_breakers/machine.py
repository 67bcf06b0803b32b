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

from collections.abc import Sequence
from enum import StrEnum

from aggregator.types import Aggregate
from circuit_breakers.checks import Measures, measure_values, trips_of
from circuit_breakers.params import BreakerParams
from circuit_breakers.reasons import FACTLESS, NO_FACTS, ReasonFacts, describe
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
    # Only the staleness check reads the stamps of the used quotes.
    stamps = [s.ts_ms for s in aggregate.used] if params.max_quote_age_ms is not None else ()
    return evaluate_values(
        params,
        state,
        aggregate.value,
        aggregate.dispersion,
        aggregate.error,
        stamps,
        last_published,
        now_ms,
    )


def evaluate_values(
    params: BreakerParams,
    state: BreakerState,
    value: float | None,
    dispersion: float | None,
    error: str | None,
    used_ts_ms: Sequence[int],
    last_published: float | None,
    now_ms: int,
) -> tuple[Decision, BreakerState]:
    """`evaluate` on an aggregate's fields: the one implementation of the round's step.

    `used_ts_ms` are the stamps of the quotes behind `value`, read only when the staleness
    check is on (`params.max_quote_age_ms`); replay passes them from its arrays without
    building the `Aggregate`.
    """
    m = measure_values(params, state, value, dispersion, used_ts_ms, last_published, now_ms)
    trips = trips_of(params, m, value is not None)
    verdict, nxt = step(params, state, value, trips, m, now_ms)
    if verdict in FACTLESS:  # most rounds: their reason quotes no facts, so none are built
        facts = NO_FACTS
    else:
        facts = reason_facts(params, state, nxt, verdict, error, now_ms)
    reason = describe(verdict, trips, m, params, facts)
    names = tuple([_NAMES[t] for t in trips]) if trips else ()
    decision = Decision(verdict in ALLOWING, nxt.status, reason, names, _NAMES[verdict])
    return decision, nxt


_NAMES: dict[StrEnum, str] = {member: str(member) for member in (*Trip, *Verdict)}
"""A trip's or verdict's string, without `StrEnum.__str__` per round."""


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
    """The transition for one round.

    States are built field by field (not with `dataclasses.replace`, several times slower):
    this runs for every feed of every round, live and in replay.
    """
    if value is None:
        if state.status is BreakerStatus.OPEN:
            return Verdict.HOLDING, _held(state, state.since_ms, None, 0)
        return Verdict.TRIPPED, _opened(state, now_ms, None, 0, _NAMES[Trip.QUORUM])
    if not trips:
        return _clean(params, state, value, m, now_ms)
    confirmable = all(t in MOVE_TRIPS for t in trips)
    if state.status is not BreakerStatus.OPEN:
        opened = _opened(state, now_ms, value, 1, _NAMES[trips[0]])
        if confirmable and params.confirm_rounds <= 1:
            return Verdict.CONFIRMED, _half_open(params, opened, value, now_ms)
        return Verdict.TRIPPED, opened
    since = state.since_ms if state.since_ms is not None else now_ms
    candidate = state.candidate
    consistent = candidate is not None and abs(value - candidate) <= params.confirm_band * abs(
        candidate
    )
    confirmations = state.confirmations + 1 if consistent else 1
    held = _held(state, since, value, confirmations)
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
        return Verdict.RESET, _closed(params, state, value, now_ms)
    if state.status is BreakerStatus.OPEN:
        return Verdict.CLEARED, _half_open(params, state, value, now_ms)
    if state.status is BreakerStatus.HALF_OPEN:
        half = state.half_open_ms if state.half_open_ms is not None else now_ms
        if now_ms - half >= params.cooldown_ms:
            return Verdict.COOLED, _closed(params, state, value, now_ms)
        variance, samples = _volatility(params, state, value)
        cooling = BreakerState(
            status=state.status,
            since_ms=state.since_ms,
            candidate=state.candidate,
            confirmations=state.confirmations,
            trip=state.trip,
            half_open_ms=state.half_open_ms,
            reference=value,
            reference_ms=now_ms,
            variance=variance,
            samples=samples,
        )
        return Verdict.COOLING, cooling
    verdict = Verdict.FIRST if m.move is None and state.reference is None else Verdict.WITHIN
    return verdict, _closed(params, state, value, now_ms)


def _opened(
    state: BreakerState, now_ms: int, candidate: float | None, confirmations: int, trip: str
) -> BreakerState:
    """Open from now on, `trip` the cause; what it remembers of allowed values is kept."""
    return BreakerState(
        status=BreakerStatus.OPEN,
        since_ms=now_ms,
        candidate=candidate,
        confirmations=confirmations,
        trip=trip,
        half_open_ms=None,
        reference=state.reference,
        reference_ms=state.reference_ms,
        variance=state.variance,
        samples=state.samples,
        rebase=state.rebase,
    )


def _held(
    state: BreakerState, since_ms: int | None, candidate: float | None, confirmations: int
) -> BreakerState:
    """Still open: the move being confirmed is `candidate`, seen `confirmations` times."""
    return BreakerState(
        status=state.status,
        since_ms=since_ms,
        candidate=candidate,
        confirmations=confirmations,
        trip=state.trip,
        half_open_ms=state.half_open_ms,
        reference=state.reference,
        reference_ms=state.reference_ms,
        variance=state.variance,
        samples=state.samples,
        rebase=state.rebase,
    )


def _half_open(
    params: BreakerParams, state: BreakerState, value: float, now_ms: int
) -> BreakerState:
    """Half-open from now on after `state.trip`, `value` accepted."""
    variance, samples = _volatility(params, state, value)
    return BreakerState(
        status=BreakerStatus.HALF_OPEN,
        trip=state.trip,
        half_open_ms=now_ms,
        reference=value,
        reference_ms=now_ms,
        variance=variance,
        samples=samples,
    )


def _closed(params: BreakerParams, memory: BreakerState, value: float, now_ms: int) -> BreakerState:
    """A closed breaker that accepted `value`."""
    variance, samples = _volatility(params, memory, value)
    return BreakerState(reference=value, reference_ms=now_ms, variance=variance, samples=samples)


def _volatility(params: BreakerParams, memory: BreakerState, value: float) -> tuple[float, int]:
    """The volatility EWMA and its sample count once `value` is accepted after `memory`.

    The move that an operator reset accepted is not a market move: it does not enter the EWMA.
    """
    variance, samples = memory.variance, memory.samples
    last = memory.reference
    if last is not None and last != 0 and not memory.rebase:
        r = (value - last) / abs(last)
        alpha = params.volatility_alpha
        variance = (1.0 - alpha) * variance + alpha * (r * r)
        samples = memory.samples + 1
    return variance, samples
