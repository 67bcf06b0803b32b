"""Specification of the breaker over sequences of rounds: holds, follows, never freezes."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circuit_breakers import (
    BreakerParams,
    BreakerState,
    BreakerStatus,
    Decision,
    DeviationParams,
    evaluate,
    reset,
)
from tests.circuit_breakers.breaker_helpers import T, agg

P = BreakerParams(max_deviation=0.10, confirm_rounds=3, confirm_band=0.02, max_hold_ms=600_000)


def run(
    values: list[float | None],
    last: float = 100.0,
    params: BreakerParams = P,
    step_ms: int = 10_000,
    state: BreakerState | None = None,
) -> tuple[list[Decision], BreakerState]:
    """Rounds every `step_ms`; an allowed value becomes the last published one."""
    state = state or BreakerState()
    decisions = []
    for i, v in enumerate(values):
        now = T + i * step_ms
        decision, state = evaluate(params, state, agg(v, at=now), last, now)
        decisions.append(decision)
        if decision.allow and v is not None:
            last = v
    return decisions, state


def test_first_value_is_allowed() -> None:
    decision, _ = evaluate(P, BreakerState(), agg(100.0), None, T)
    assert decision.allow
    assert decision.status is BreakerStatus.CLOSED


def test_move_beyond_bound_is_held_with_its_reason() -> None:
    (decision,), state = run([111.0])
    assert not decision.allow
    assert decision.status is BreakerStatus.OPEN
    assert "+11.00%" in decision.reason
    assert decision.trips == ("deviation",)
    assert state.status is BreakerStatus.OPEN


def test_move_confirmed_over_consecutive_rounds_is_followed() -> None:
    decisions, _ = run([120.0, 121.0, 120.5])
    assert [d.allow for d in decisions] == [False, False, True]
    assert decisions[-1].status is BreakerStatus.HALF_OPEN
    assert "confirmed over 3" in decisions[-1].reason


def test_half_open_closes_after_the_cooldown_of_clean_rounds() -> None:
    params = BreakerParams(cooldown_ms=20_000)
    decisions, state = run([120.0, 121.0, 120.5, 120.7, 120.6, 120.4], params=params)
    assert [d.status for d in decisions[2:]] == ["half_open", "half_open", "closed", "closed"]
    assert all(d.allow for d in decisions[2:])
    assert state.status is BreakerStatus.CLOSED


def test_reverted_spike_is_never_published_and_the_breaker_half_opens() -> None:
    decisions, state = run([150.0, 100.5])
    assert [d.allow for d in decisions] == [False, True]
    assert state.status is BreakerStatus.HALF_OPEN
    assert "back within bounds after deviation" in decisions[1].reason


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
    params = BreakerParams(max_hold_ms=30_000)
    decisions, state = run(wild, params=params, step_ms=10_000)
    assert [d.allow for d in decisions] == [False, False, False, True]
    assert "held 30s" in decisions[3].reason
    assert state.status is BreakerStatus.HALF_OPEN


def test_a_sustained_crash_is_followed_and_not_clamped() -> None:
    crash = [100.0 * 0.7] * 6
    decisions, state = run(crash)
    assert [d.allow for d in decisions] == [False, False, True, True, True, True]
    assert state.reference == 70.0


def test_operator_reset_accepts_the_next_value_without_confirmation() -> None:
    _, held = run([150.0])
    decision, state = evaluate(P, reset(held), agg(150.0), 100.0, T + 10_000)
    assert decision.allow
    assert decision.status is BreakerStatus.CLOSED
    assert decision.reason == "operator reset: value accepted as the new reference"
    assert state.rebase is False


def test_breaker_state_survives_a_json_round_trip() -> None:
    _, state = run([120.0, 121.0])
    assert BreakerState(**json.loads(json.dumps(asdict(state)))) == state


def test_the_former_name_of_the_parameters_still_works() -> None:
    assert DeviationParams(max_deviation=0.2) == BreakerParams(max_deviation=0.2)


@given(st.floats(min_value=0.001, max_value=0.5), st.floats(min_value=1.0, max_value=1e6))
def test_deviation_trips_exactly_beyond_its_threshold(bound: float, last: float) -> None:
    params = BreakerParams(max_deviation=bound)
    at = last * (1 + bound)
    move = (at - last) / last
    decision, _ = evaluate(params, BreakerState(), agg(at), last, T)
    assert decision.allow == (abs(move) <= bound)
    assert ("deviation" in decision.trips) == (abs(move) > bound)
    beyond = last * (1 + bound * 1.001)
    decision, _ = evaluate(params, BreakerState(), agg(beyond), last, T)
    assert not decision.allow


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_deviation": 0},
        {"confirm_rounds": 0},
        {"max_hold_ms": 0},
        {"cooldown_ms": -1},
        {"max_dispersion": 0},
        {"volatility_k": -1.0},
        {"volatility_window": 0},
    ],
)
def test_nonsense_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        BreakerParams(**kwargs)  # type: ignore[arg-type]
