"""The publish decision's integer arithmetic gives the rational reference's answers."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from publisher.policy import LastPublished, PublishPolicy, PublishReason, decide_publish

ANSWERS = st.integers(min_value=-(2**191), max_value=2**191 - 1)
THRESHOLDS = st.one_of(
    st.floats(min_value=1e-12, max_value=10.0, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.005, 0.07, 0.1, 0.3, 1e-9, 0.0025, 1.0]),
)


def reference(
    policy: PublishPolicy, last: LastPublished | None, answer: int, now_s: int
) -> PublishReason | None:
    """The decision as rational arithmetic states it: |answer - last| / |last| >= threshold."""
    if last is None:
        return PublishReason.FIRST
    if last.answer == 0:
        moved = answer != 0
    else:
        moved = Fraction(abs(answer - last.answer), abs(last.answer)) >= Fraction(
            repr(policy.deviation)
        )
    if moved:
        return PublishReason.DEVIATION
    if now_s - last.updated_at >= policy.heartbeat_s:
        return PublishReason.HEARTBEAT
    return None


@given(
    threshold=THRESHOLDS,
    last=ANSWERS,
    answer=ANSWERS,
    heartbeat_s=st.integers(min_value=1, max_value=10**6),
    age_s=st.integers(min_value=-10, max_value=2 * 10**6),
)
def test_decision_equals_the_rational_reference(
    threshold: float, last: int, answer: int, heartbeat_s: int, age_s: int
) -> None:
    policy = PublishPolicy(deviation=threshold, heartbeat_s=heartbeat_s)
    published = LastPublished(last, 1_000_000)
    now_s = 1_000_000 + age_s

    assert decide_publish(policy, published, answer, now_s) == reference(
        policy, published, answer, now_s
    )


@given(
    threshold=THRESHOLDS,
    last=st.integers(min_value=-(10**18), max_value=10**18).filter(bool),
    step=st.integers(min_value=-2, max_value=2),
    sign=st.sampled_from([-1, 1]),
)
def test_moves_at_the_threshold_edge_equal_the_rational_reference(
    threshold: float, last: int, step: int, sign: int
) -> None:
    # Answers within a unit of exactly `threshold` away: where float rounding would err.
    edge = Fraction(repr(threshold)) * abs(last)
    answer = last + sign * (int(edge) + step)
    policy = PublishPolicy(deviation=threshold, heartbeat_s=3600)
    published = LastPublished(last, 0)

    assert decide_publish(policy, published, answer, 1) == reference(policy, published, answer, 1)
