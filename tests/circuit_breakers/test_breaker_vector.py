"""The vectorized breakers give exactly the scalar breakers' decisions and states."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import Aggregate, SourcePrice
from circuit_breakers import BreakerParams, BreakerState, evaluate, reset
from circuit_breakers.vector import BreakerArrays, ParamArrays, step_batch

T = 1_700_000_000_000

params_strategy = st.builds(
    BreakerParams,
    max_deviation=st.sampled_from([0.02, 0.1]),
    confirm_rounds=st.integers(1, 3),
    confirm_band=st.sampled_from([0.01, 0.05]),
    max_hold_ms=st.sampled_from([20_000, 60_000]),
    cooldown_ms=st.sampled_from([0, 10_000, 30_000]),
    volatility_k=st.sampled_from([None, 3.0]),
    volatility_floor=st.sampled_from([0.0, 0.005]),
    volatility_window=st.integers(1, 3),
    max_dispersion=st.sampled_from([None, 0.01]),
    max_quote_age_ms=st.sampled_from([None, 5_000]),
    max_rate_per_min=st.sampled_from([None, 0.05]),
)

round_strategy = st.tuples(
    st.one_of(st.none(), st.floats(50.0, 150.0)),  # value
    st.floats(0.0, 0.02),  # dispersion
    st.sampled_from([0, 2_000, 9_000]),  # quote age
    st.booleans(),  # published this round if allowed
    st.integers(0, 30),  # operator reset when 0
)


def aggregate(value: float | None, dispersion: float, age: int, now: int) -> Aggregate:
    if value is None:
        return Aggregate("X/Y", now, None, None, (), (), "quorum lost: 1 of 3 required")
    used = tuple(SourcePrice(v, "X/Y", value, value, now - age - k) for k, v in enumerate("abc"))
    return Aggregate("X/Y", now, value, dispersion, used, ())


def median_ts(agg: Aggregate) -> float:
    stamps = sorted(s.ts_ms for s in agg.used)
    if not stamps:
        return math.nan
    mid = len(stamps) // 2
    return float(stamps[mid]) if len(stamps) % 2 else (stamps[mid - 1] + stamps[mid]) / 2


@settings(max_examples=150, deadline=None)
@given(
    st.lists(params_strategy, min_size=1, max_size=5),
    st.lists(st.lists(round_strategy, min_size=5, max_size=5), min_size=1, max_size=12),
)
def test_vector_and_scalar_breakers_agree_round_after_round(
    params: list[BreakerParams], rounds: list[list[tuple[float | None, float, int, bool, int]]]
) -> None:
    n = len(params)
    p = ParamArrays.build(params)
    states = [BreakerState() for _ in range(n)]
    published: list[float | None] = [None] * n
    for r, feeds in enumerate(rounds):
        now = T + r * 10_000
        feeds = feeds[:n]
        states = [reset(s) if f[4] == 0 else s for s, f in zip(states, feeds, strict=True)]
        aggs = [aggregate(v, d, a, now) for v, d, a, _, _ in feeds]
        arrays = BreakerArrays.from_states(states)
        step = step_batch(
            p,
            arrays,
            np.array([math.nan if g.value is None else g.value for g in aggs]),
            np.array([math.nan if g.dispersion is None else g.dispersion for g in aggs]),
            np.array([median_ts(g) for g in aggs]),
            np.array([math.nan if v is None else v for v in published]),
            now,
        )
        for i in range(n):
            decision, state = evaluate(params[i], states[i], aggs[i], published[i], now)
            assert step.decision(i, params[i], aggs[i].error) == decision
            assert step.state(i) == state
            assert bool(step.allow[i]) == decision.allow
            states[i] = state
            if decision.allow and feeds[i][3] and aggs[i].value is not None:
                published[i] = aggs[i].value


def test_states_round_trip_through_arrays() -> None:
    states = [
        BreakerState(),
        BreakerState(status="open", since_ms=T, candidate=1.5, confirmations=2, trip="rate"),  # type: ignore[arg-type]
        reset(BreakerState(reference=2.0, reference_ms=T, variance=0.1, samples=4)),
    ]
    arrays = BreakerArrays.from_states(states)
    assert [arrays.state(i) for i in range(3)] == states
