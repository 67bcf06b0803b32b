"""Publish on the first value, on a deviation >= threshold, or when the heartbeat is due."""

from __future__ import annotations

import pytest

from publisher.policy import LastPublished, PublishPolicy, PublishReason, decide_publish

POLICY = PublishPolicy(deviation=0.005, heartbeat_s=3600)
LAST = LastPublished(answer=100_000, updated_at=1_000)


@pytest.mark.parametrize(
    ("last", "answer", "now_s", "expected"),
    [
        pytest.param(None, 100_000, 1_000, PublishReason.FIRST, id="nothing-published-yet"),
        pytest.param(LAST, 100_000, 1_001, None, id="unchanged-and-fresh"),
        pytest.param(LAST, 100_499, 1_001, None, id="just-below-deviation-up"),
        pytest.param(LAST, 100_500, 1_001, PublishReason.DEVIATION, id="exactly-deviation-up"),
        pytest.param(LAST, 99_501, 1_001, None, id="just-below-deviation-down"),
        pytest.param(LAST, 99_500, 1_001, PublishReason.DEVIATION, id="exactly-deviation-down"),
        pytest.param(LAST, 150_000, 1_001, PublishReason.DEVIATION, id="big-move"),
        pytest.param(LAST, 100_000, 4_599, None, id="one-second-before-heartbeat"),
        pytest.param(LAST, 100_000, 4_600, PublishReason.HEARTBEAT, id="exactly-heartbeat"),
        pytest.param(LAST, 100_000, 9_999, PublishReason.HEARTBEAT, id="long-overdue"),
        pytest.param(LAST, 200_000, 9_999, PublishReason.DEVIATION, id="deviation-wins-ties"),
        pytest.param(
            LastPublished(0, 1_000), 1, 1_001, PublishReason.DEVIATION, id="any-move-from-zero"
        ),
        pytest.param(LastPublished(0, 1_000), 0, 1_001, None, id="zero-stays-zero"),
        pytest.param(
            LastPublished(-1_000, 1_000), -1_005, 1_001, PublishReason.DEVIATION, id="negative"
        ),
    ],
)
def test_decide_publish(
    last: LastPublished | None, answer: int, now_s: int, expected: PublishReason | None
) -> None:
    assert decide_publish(POLICY, last, answer, now_s) == expected


def test_threshold_is_compared_exactly_not_in_binary_floating_point() -> None:
    # 0.1 + 0.2 style trap: 0.07 * 100 is 7.000000000000001 in floats
    policy = PublishPolicy(deviation=0.07)

    assert decide_publish(policy, LastPublished(100, 0), 107, 1) == PublishReason.DEVIATION


@pytest.mark.parametrize(("deviation", "heartbeat_s"), [(0.0, 3600), (-0.1, 3600), (0.005, 0)])
def test_policy_refuses_meaningless_settings(deviation: float, heartbeat_s: int) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        PublishPolicy(deviation=deviation, heartbeat_s=heartbeat_s)
