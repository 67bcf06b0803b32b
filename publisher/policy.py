"""When to push a new answer on chain: deviation OR heartbeat. Pure: no I/O, no clock.

The comparison is exact (integer cross-multiplication against the threshold read as the
decimal it was written as), so a move of exactly the deviation threshold publishes, whatever
the float rounding of the threshold would say.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from functools import cache


class PublishReason(StrEnum):
    """Why a round's answer goes on chain."""

    FIRST = "first"
    """Nothing was published yet."""
    DEVIATION = "deviation"
    """The answer moved by at least the deviation threshold from the last published one."""
    HEARTBEAT = "heartbeat"
    """The last published answer is at least `heartbeat_s` old."""


@dataclass(frozen=True, slots=True)
class PublishPolicy:
    """deviation: relative move that triggers a publish (0.005 = 0.5%); heartbeat_s: max age
    in seconds of the on-chain answer."""

    deviation: float = 0.005
    heartbeat_s: int = 3600

    def __post_init__(self) -> None:
        if not self.deviation > 0:
            raise ValueError(f"deviation must be > 0, got {self.deviation}")
        if self.heartbeat_s <= 0:
            raise ValueError(f"heartbeat_s must be > 0, got {self.heartbeat_s}")


@dataclass(frozen=True, slots=True)
class LastPublished:
    """The answer currently on chain and its updatedAt (unix seconds)."""

    answer: int
    updated_at: int


def decide_publish(
    policy: PublishPolicy, last: LastPublished | None, answer: int, now_s: int
) -> PublishReason | None:
    """The reason to publish `answer` at `now_s`, or None to stay silent.

    Deviation is checked before heartbeat, so a big move is reported as such even when the
    heartbeat is also due. A last answer of 0 counts any non-zero answer as a deviation.
    """
    if last is None:
        return PublishReason.FIRST
    if _deviates(policy.deviation, last.answer, answer):
        return PublishReason.DEVIATION
    if now_s - last.updated_at >= policy.heartbeat_s:
        return PublishReason.HEARTBEAT
    return None


def _deviates(threshold: float, last: int, answer: int) -> bool:
    """|answer - last| / |last| >= threshold, exactly: with threshold = n/d (d > 0),
    |answer - last| * d >= n * |last| in integers (no rational built per check)."""
    if last == 0:
        return answer != 0
    numerator, denominator = threshold_ratio(threshold)
    return abs(answer - last) * denominator >= numerator * abs(last)


@cache
def threshold_ratio(threshold: float) -> tuple[int, int]:
    """The threshold as the exact ratio of the decimal it was written as, in lowest terms.

    Fraction(repr(...)) reads 0.005 as exactly 1/200, not its binary approximation. A node
    has a handful of distinct thresholds, so the cache stays small.
    """
    exact = Fraction(repr(threshold))
    return exact.numerator, exact.denominator
