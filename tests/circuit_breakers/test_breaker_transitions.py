"""The breaker's transition table: one row per (state, round) -> (decision, next status)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from aggregator import Aggregate
from circuit_breakers import BreakerParams, BreakerState, BreakerStatus, evaluate, reset
from tests.circuit_breakers.breaker_helpers import T, agg

CLOSED, OPEN, HALF = BreakerStatus.CLOSED, BreakerStatus.OPEN, BreakerStatus.HALF_OPEN
REF = {"reference": 100.0, "reference_ms": T - 10_000}
OPEN_DEV = BreakerState(
    OPEN, since_ms=T - 20_000, candidate=120.0, confirmations=2, trip="deviation", **REF
)
OPEN_DISP = BreakerState(
    OPEN, since_ms=T - 20_000, candidate=100.0, confirmations=5, trip="dispersion", **REF
)
HALF_RECENT = BreakerState(HALF, half_open_ms=T - 10_000, trip="deviation", **REF)
HALF_COOLED = BreakerState(HALF, half_open_ms=T - 30_000, trip="deviation", **REF)
CALM = BreakerState(variance=0.0001, samples=30, **REF)


@dataclass(frozen=True)
class Row:
    state: BreakerState
    aggregate: Aggregate
    allow: bool
    status: BreakerStatus
    verdict: str
    trips: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    published: float | None = 100.0


ROWS = {
    "closed-first-value": Row(BreakerState(), agg(100.0), True, CLOSED, "first", published=None),
    "closed-within-bound": Row(BreakerState(**REF), agg(109.0), True, CLOSED, "within"),
    "closed-deviation-opens": Row(
        BreakerState(), agg(111.0), False, OPEN, "tripped", ("deviation",)
    ),
    "closed-deviation-down-opens": Row(
        BreakerState(), agg(89.0), False, OPEN, "tripped", ("deviation",)
    ),
    "closed-quorum-lost-opens": Row(BreakerState(), agg(None), False, OPEN, "tripped", ("quorum",)),
    "closed-dispersion-opens": Row(
        BreakerState(), agg(100.0, dispersion=0.03), False, OPEN, "tripped", ("dispersion",)
    ),
    "closed-dispersion-off": Row(
        BreakerState(),
        agg(100.0, dispersion=0.03),
        True,
        CLOSED,
        "within",
        params={"max_dispersion": None},
    ),
    "closed-staleness-opens": Row(
        BreakerState(),
        agg(100.0, age_ms=40_000),
        False,
        OPEN,
        "tripped",
        ("staleness",),
        params={"max_quote_age_ms": 30_000},
    ),
    "closed-fresh-quotes-pass": Row(
        BreakerState(),
        agg(100.0, age_ms=20_000),
        True,
        CLOSED,
        "within",
        params={"max_quote_age_ms": 30_000},
    ),
    "closed-rate-opens": Row(
        BreakerState(**REF),
        agg(103.0),
        False,
        OPEN,
        "tripped",
        ("rate",),
        params={"max_rate_per_min": 0.1},
    ),
    "closed-volatility-opens": Row(
        CALM, agg(106.0), False, OPEN, "tripped", ("volatility",), params={"volatility_k": 5.0}
    ),
    "closed-volatility-warming-up": Row(
        BreakerState(variance=0.0001, samples=3, **REF),
        agg(106.0),
        True,
        CLOSED,
        "within",
        params={"volatility_k": 5.0},
    ),
    "closed-volatility-within": Row(
        CALM, agg(104.0), True, CLOSED, "within", params={"volatility_k": 5.0}
    ),
    "closed-two-trips-named": Row(
        BreakerState(),
        agg(120.0, dispersion=0.05),
        False,
        OPEN,
        "tripped",
        ("dispersion", "deviation"),
    ),
    "open-consistent-move-confirms": Row(
        OPEN_DEV, agg(121.0), True, HALF, "confirmed", ("deviation",)
    ),
    "open-inconsistent-move-holds": Row(
        OPEN_DEV, agg(140.0), False, OPEN, "holding", ("deviation",)
    ),
    "open-back-within-clears": Row(OPEN_DEV, agg(100.5), True, HALF, "cleared"),
    "open-no-value-holds": Row(OPEN_DEV, agg(None), False, OPEN, "holding", ("quorum",)),
    "open-dispersion-is-not-confirmable": Row(
        OPEN_DISP, agg(100.0, dispersion=0.05), False, OPEN, "holding", ("dispersion",)
    ),
    "open-past-max-hold-releases": Row(
        OPEN_DEV, agg(140.0), True, HALF, "released", ("deviation",), params={"max_hold_ms": 20_000}
    ),
    "open-dispersion-past-max-hold-releases": Row(
        OPEN_DISP,
        agg(100.0, dispersion=0.05),
        True,
        HALF,
        "released",
        ("dispersion",),
        params={"max_hold_ms": 20_000},
    ),
    "half-open-clean-cools": Row(HALF_RECENT, agg(100.2), True, HALF, "cooling"),
    "half-open-after-cooldown-closes": Row(HALF_COOLED, agg(100.2), True, CLOSED, "cooled"),
    "half-open-trip-reopens": Row(HALF_RECENT, agg(130.0), False, OPEN, "tripped", ("deviation",)),
    "half-open-quorum-lost-reopens": Row(
        HALF_RECENT, agg(None), False, OPEN, "tripped", ("quorum",)
    ),
    "reset-accepts-a-big-move": Row(reset(OPEN_DEV), agg(150.0), True, CLOSED, "reset"),
    "reset-still-checks-dispersion": Row(
        reset(OPEN_DEV), agg(150.0, dispersion=0.05), False, OPEN, "tripped", ("dispersion",)
    ),
    "one-round-confirmation-follows-at-once": Row(
        BreakerState(),
        agg(130.0),
        True,
        HALF,
        "confirmed",
        ("deviation",),
        params={"confirm_rounds": 1},
    ),
}


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_transition(row: Row) -> None:
    params = BreakerParams(**row.params)
    decision, state = evaluate(params, row.state, row.aggregate, row.published, T)
    assert (decision.allow, decision.status, decision.verdict, decision.trips) == (
        row.allow,
        row.status,
        row.verdict,
        row.trips,
    )
    assert state.status is row.status
    assert decision.reason


def test_an_open_breaker_keeps_when_it_opened_while_it_holds() -> None:
    _, state = evaluate(BreakerParams(), OPEN_DEV, agg(140.0), 100.0, T)
    assert state.since_ms == OPEN_DEV.since_ms


def test_allowed_values_feed_the_volatility_estimate() -> None:
    _, state = evaluate(BreakerParams(), BreakerState(**REF), agg(101.0), 100.0, T)
    assert state.samples == 1
    assert state.variance == pytest.approx(2 / 31 * 0.01**2)
    assert (state.reference, state.reference_ms) == (101.0, T)
