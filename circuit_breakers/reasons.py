"""A decision's reason, in words an operator acts on, from the round's verdict and measures.

One formatter for both the scalar and the vectorized path, so both say exactly the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from circuit_breakers.checks import Measures
from circuit_breakers.params import BreakerParams
from circuit_breakers.types import MOVE_TRIPS, Trip, Verdict, quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class ReasonFacts:
    """The numbers a reason quotes beyond the measures."""

    error: str | None
    confirmations: int
    held_ms: int
    clean_ms: int
    trip: str | None


FACTLESS = frozenset({Verdict.FIRST, Verdict.RESET, Verdict.WITHIN})
"""Verdicts whose reason (`describe`) quotes no `ReasonFacts`: `NO_FACTS` serves for them."""
NO_FACTS = ReasonFacts(None, 0, 0, 0, None)


def trip_detail(trip: Trip, m: Measures, params: BreakerParams, error: str | None) -> str:
    if trip is Trip.QUORUM:
        return f"no value: {error}"
    if trip is Trip.DISPERSION:
        return f"sources disagree: dispersion {m.dispersion:.2%} above {params.max_dispersion:.2%}"
    if trip is Trip.STALENESS:
        assert m.quote_age_ms is not None
        assert params.max_quote_age_ms is not None
        return (
            f"quotes {m.quote_age_ms / 1000:.1f}s old at the median "
            f"(max {params.max_quote_age_ms / 1000:g}s)"
        )
    if trip is Trip.DEVIATION:
        return f"move {m.move:+.2%} beyond ±{params.max_deviation:.0%} of last published"
    if trip is Trip.VOLATILITY:
        return (
            f"move {m.move:+.2%} beyond ±{m.volatility_bound:.2%} "
            f"({params.volatility_k:g}σ of recent moves)"
        )
    return (
        f"moving {m.rate_per_min:.2%}/min since the last allowed value "
        f"(max {params.max_rate_per_min:.2%}/min)"
    )


def describe(
    verdict: Verdict,
    trips: Sequence[Trip],
    m: Measures,
    params: BreakerParams,
    facts: ReasonFacts,
) -> str:
    """The reason of a decision; every trip of the round is named."""
    if verdict is Verdict.WITHIN:  # first: most rounds' verdict
        return within(m.move, params.max_deviation)
    if verdict in (Verdict.TRIPPED, Verdict.HOLDING, Verdict.CONFIRMED, Verdict.RELEASED):
        return _tripped(verdict, trips, m, params, facts)
    if verdict is Verdict.FIRST:
        return "first value: nothing published yet"
    if verdict is Verdict.RESET:
        return "operator reset: value accepted as the new reference"
    if verdict is Verdict.CLEARED:
        return f"back within bounds after {facts.trip}: half-open"
    if verdict is Verdict.COOLING:
        return (
            f"half-open after {facts.trip}: clean for {facts.clean_ms / 1000:.0f}s of the "
            f"{params.cooldown_ms / 1000:g}s cooldown"
        )
    # Verdict.COOLED, the one left.
    return f"closed: clean for the {params.cooldown_ms / 1000:g}s cooldown after {facts.trip}"


_MOVE = "move {:+.2%} {}"


def within(move: float | None, max_deviation: float) -> str:
    """The reason of a `Verdict.WITHIN` round (most rounds): the move against the bound."""
    if move is None:
        return "within every bound"
    return _MOVE.format(move, _within(max_deviation))


def within_moves(moves: Sequence[float], max_deviation: float) -> list[str]:
    """`within(move, max_deviation)` of every move, formatted in one call (exact replay
    checks the reasons of thousands of rounds at once)."""
    if not moves:
        return []
    template = (
        _MOVE.replace("{}", _within(max_deviation).replace("{", "{{").replace("}", "}}")) + "\0"
    )
    return (template * len(moves)).format(*moves).split("\0")[:-1]


@cache
def _within(max_deviation: float) -> str:
    """The fixed end of most rounds' reason, formatted once per bound."""
    return f"within ±{max_deviation:.0%} of last published"


def _tripped(
    verdict: Verdict,
    trips: Sequence[Trip],
    m: Measures,
    params: BreakerParams,
    facts: ReasonFacts,
) -> str:
    details = "; ".join(trip_detail(t, m, params, facts.error) for t in trips)
    if verdict is Verdict.CONFIRMED:
        return f"{details}: confirmed over {facts.confirmations} consecutive rounds, following it"
    if verdict is Verdict.RELEASED:
        return f"{details}: held {facts.held_ms / 1000:.0f}s, the limit: following the value"
    if tuple(trips) == (Trip.QUORUM,):
        return f"{details}: holding the last value until enough venues return"
    if not all(t in MOVE_TRIPS for t in trips):
        return f"{details}: holding the last value (at most {params.max_hold_ms / 1000:g}s)"
    return (
        f"{details}: holding the last value until confirmed over {params.confirm_rounds} "
        f"consecutive rounds ({facts.confirmations} so far)"
    )
