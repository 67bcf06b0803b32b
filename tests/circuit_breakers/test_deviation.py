"""Specification of the deviation breaker's state machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator import Aggregate
from circuit_breakers import BreakerState, BreakerStatus, DeviationParams, evaluate

T = 1_700_000_000_000
P = DeviationParams(max_deviation=0.10, confirm_rounds=3, confirm_band=0.02, max_hold_ms=600_000)


def agg(value: float | None) -> Aggregate:
    return Aggregate("BTC/USD", T, value, 0.0, (), (), None if value is not None else "quorum lost")


def run(
    values: list[float | None],
    last: float = 100.0,
    params: DeviationParams = P,
    step_ms: int = 10_000,
):  # type: ignore[no-untyped-def]
    state = BreakerState()
    decisions = []
    for i, v in enumerate(values):
        decision, state = evaluate(params, state, agg(v), last, T + i * step_ms)
        decisions.append(decision)
        if decision.allow and v is not None:
            last = v
    return decisions, state


def test_first_value_is_allowed() -> None:
    decision, _ = evaluate(P, BreakerState(), agg(100.0), None, T)
    assert decision.allow
    assert decision.status is BreakerStatus.CLOSED


def test_move_within_bound_is_allowed_and_stays_closed() -> None:
    (decision,), state = run([109.0])
    assert decision.allow
    assert state.status is BreakerStatus.CLOSED


def test_move_beyond_bound_is_held_with_its_reason() -> None:
    (decision,), state = run([111.0])
    assert not decision.allow
    assert decision.status is BreakerStatus.OPEN
    assert "+11.00%" in decision.reason
    assert state.status is BreakerStatus.OPEN


def test_move_confirmed_over_consecutive_rounds_is_followed() -> None:
    decisions, _ = run([120.0, 121.0, 120.5])
    assert [d.allow for d in decisions] == [False, False, True]
    assert decisions[-1].status is BreakerStatus.HALF_OPEN
    assert "confirmed over 3" in decisions[-1].reason


def test_half_open_closes_on_the_next_round_within_bound_of_the_new_value() -> None:
    decisions, state = run([120.0, 121.0, 120.5, 120.7])
    assert decisions[-1].allow
    assert state.status is BreakerStatus.CLOSED


def test_reverted_spike_closes_the_breaker_without_publishing_the_spike() -> None:
    decisions, state = run([150.0, 100.5])
    assert [d.allow for d in decisions] == [False, True]
    assert state.status is BreakerStatus.CLOSED


def test_inconsistent_jumps_restart_the_confirmation_count() -> None:
    decisions, state = run([120.0, 121.0, 140.0])
    assert [d.allow for d in decisions] == [False, False, False]
    assert state.confirmations == 1


def test_round_without_value_breaks_the_run_of_confirmations() -> None:
    decisions, state = run([120.0, 121.0, None, 121.0])
    assert [d.allow for d in decisions] == [False, False, False, False]
    assert state.confirmations == 1


def test_never_frozen_forever_a_long_hold_is_released() -> None:
    wild = [120.0, 130.0, 145.0, 125.0]
    params = DeviationParams(max_hold_ms=30_000)
    decisions, state = run(wild, params=params, step_ms=10_000)
    assert [d.allow for d in decisions] == [False, False, False, True]
    assert "held 30s" in decisions[3].reason
    assert state.status is BreakerStatus.HALF_OPEN


@given(st.floats(min_value=0.001, max_value=0.5), st.floats(min_value=1.0, max_value=1e6))
def test_trips_exactly_beyond_its_threshold(bound: float, last: float) -> None:
    params = DeviationParams(max_deviation=bound)
    at = last * (1 + bound)
    move = (at - last) / last
    decision, _ = evaluate(params, BreakerState(), agg(at), last, T)
    assert decision.allow == (abs(move) <= bound)
    beyond = last * (1 + bound * 1.001)
    decision, _ = evaluate(params, BreakerState(), agg(beyond), last, T)
    assert not decision.allow


@pytest.mark.parametrize(
    "kwargs", [{"max_deviation": 0}, {"confirm_rounds": 0}, {"max_hold_ms": 0}]
)
def test_nonsense_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        DeviationParams(**kwargs)  # type: ignore[arg-type]
