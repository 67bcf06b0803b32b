"""Breaker states and decisions. A decision always carries its reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BreakerStatus(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerState:
    """What a breaker remembers between rounds. The default is a closed breaker."""

    status: BreakerStatus = BreakerStatus.CLOSED
    since_ms: int | None = None
    candidate: float | None = None
    confirmations: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """May this round's value be published, the breaker's status after the round, and why."""

    allow: bool
    status: BreakerStatus
    reason: str
