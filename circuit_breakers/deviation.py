"""The deviation breaker: hold a large move against the last published value until it is confirmed.

States:
- `closed`: values within `max_deviation` of the last published value may be published.
- `open`: a move beyond the bound was seen; publication is held while the node keeps serving
  the last published value. Each following round whose aggregate (already quorum-backed)
  stays beyond the bound and within `confirm_band` of the previous round's value confirms the
  move; `confirm_rounds` consecutive confirmations move the breaker to `half_open`. A round
  back within the bound closes it again (the spike reverted). A round with no aggregate
  breaks the run of confirmations.
- `half_open`: the confirmed move may be published; the next round within the bound of the
  newly published value closes the breaker, a further jump opens it again.

Never frozen forever: after `max_hold_ms` open, the current quorum-backed value is let
through (`half_open`) even when the market kept moving too fast to confirm in a band, unlike
a min/max clamp that would serve a dead price for as long as the market stays away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aggregator.types import Aggregate
from circuit_breakers.types import BreakerState, BreakerStatus, Decision


@dataclass(frozen=True, slots=True)
class DeviationParams:
    max_deviation: float = 0.10
    confirm_rounds: int = 3
    confirm_band: float = 0.02
    max_hold_ms: int = 600_000

    def __post_init__(self) -> None:
        if self.max_deviation <= 0 or self.confirm_band <= 0:
            raise ValueError("max_deviation and confirm_band must be positive")
        if self.confirm_rounds < 1 or self.max_hold_ms <= 0:
            raise ValueError("confirm_rounds must be >= 1 and max_hold_ms positive")


def evaluate(
    params: DeviationParams,
    state: BreakerState,
    aggregate: Aggregate,
    last_published: float | None,
    now_ms: int,
) -> tuple[Decision, BreakerState]:
    """May `aggregate` be published? Returns the decision and the breaker's next state."""
    value = aggregate.value
    if value is None:
        held = replace(state, confirmations=0, candidate=None)
        return Decision(False, state.status, f"no value: {aggregate.error}"), held
    if last_published is None or last_published == 0:
        return _close(state, "first value: nothing published yet")
    move = (value - last_published) / abs(last_published)
    if abs(move) <= params.max_deviation:
        return _close(
            state, f"move {move:+.2%} within ±{params.max_deviation:.0%} of last published"
        )
    if state.status is BreakerStatus.OPEN:
        return _while_open(params, state, value, move, now_ms)
    return _open(params, state, value, move, now_ms)


def _close(state: BreakerState, reason: str) -> tuple[Decision, BreakerState]:
    was = "" if state.status is BreakerStatus.CLOSED else f" (was {state.status})"
    return Decision(True, BreakerStatus.CLOSED, reason + was), BreakerState()


def _open(
    params: DeviationParams, state: BreakerState, value: float, move: float, now_ms: int
) -> tuple[Decision, BreakerState]:
    opened = BreakerState(
        status=BreakerStatus.OPEN, since_ms=now_ms, candidate=value, confirmations=1
    )
    if params.confirm_rounds <= 1:
        return _half_open(opened, f"move {move:+.2%} confirmed (1 round required)")
    reason = (
        f"move {move:+.2%} beyond ±{params.max_deviation:.0%} of last published: holding until "
        f"confirmed over {params.confirm_rounds} consecutive rounds (1 so far)"
    )
    return Decision(False, BreakerStatus.OPEN, reason), opened


def _while_open(
    params: DeviationParams, state: BreakerState, value: float, move: float, now_ms: int
) -> tuple[Decision, BreakerState]:
    since = state.since_ms if state.since_ms is not None else now_ms
    candidate = state.candidate
    consistent = candidate is not None and abs(value - candidate) <= params.confirm_band * abs(
        candidate
    )
    confirmations = state.confirmations + 1 if consistent else 1
    nxt = replace(state, since_ms=since, candidate=value, confirmations=confirmations)
    if confirmations >= params.confirm_rounds:
        return _half_open(
            nxt, f"move {move:+.2%} confirmed over {confirmations} consecutive rounds"
        )
    if now_ms - since >= params.max_hold_ms:
        return _half_open(
            nxt, f"move {move:+.2%} held {(now_ms - since) / 1000:.0f}s, the limit: following it"
        )
    reason = (
        f"move {move:+.2%} beyond ±{params.max_deviation:.0%} of last published: holding, "
        f"{confirmations} of {params.confirm_rounds} confirming rounds"
    )
    return Decision(False, BreakerStatus.OPEN, reason), nxt


def _half_open(state: BreakerState, reason: str) -> tuple[Decision, BreakerState]:
    nxt = replace(state, status=BreakerStatus.HALF_OPEN, candidate=None, confirmations=0)
    return Decision(True, BreakerStatus.HALF_OPEN, reason), nxt
