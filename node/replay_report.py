"""What a replay reports: its differences by round id, and per feed what happened and what
the replay did (`node.replay.replay_records` fills it in)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Mismatch:
    round_id: int
    feed: str
    field: str
    recorded: Any
    replayed: Any


@dataclass(slots=True)
class FeedTally:
    """Per feed, over the replayed window: what happened and what the replay did."""

    rounds: int = 0
    publications: int = 0
    holds: int = 0
    replay_publications: int = 0
    replay_holds: int = 0
    value_differs: int = 0
    max_value_diff: float = 0.0
    gas_used: int = 0


@dataclass(slots=True)
class ReplayReport:
    rounds: int = 0
    feed_rounds: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    feeds: dict[str, FeedTally] = field(default_factory=dict)
    what_if: bool = False
    checked_on: str = "rounds"
    """How the exact replay was checked: "columns" (the packed columns, every round at once:
    `node.replay_columns`) or "rounds" (the JSON, round by round)."""

    def gas_estimate(self, feed: str) -> tuple[int, int]:
        """(gas spent, gas the replay would spend) at the recorded mean gas per publication."""
        t = self.feeds[feed]
        per = t.gas_used // t.publications if t.publications else 0
        return t.gas_used, per * t.replay_publications

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": "what-if" if self.what_if else "exact",
            "rounds": self.rounds,
            "feed_rounds": self.feed_rounds,
            "mismatches": [
                {
                    "round_id": m.round_id,
                    "feed": m.feed,
                    "field": m.field,
                    "recorded": m.recorded,
                    "replayed": m.replayed,
                }
                for m in self.mismatches
            ],
            "feeds": {
                f: {
                    "rounds": t.rounds,
                    "publications": t.publications,
                    "replay_publications": t.replay_publications,
                    "breaker_holds": t.holds,
                    "replay_breaker_holds": t.replay_holds,
                    "rounds_value_differs": t.value_differs,
                    "max_value_diff": t.max_value_diff,
                    "gas_spent": self.gas_estimate(f)[0],
                    "replay_gas_estimate": self.gas_estimate(f)[1],
                }
                for f, t in sorted(self.feeds.items())
            },
        }


def held(plan: Mapping[str, Any]) -> bool:
    """Did a journaled plan (its JSON) hold a value back: a value its breaker did not allow."""
    breaker = plan.get("breaker") or {}
    return breaker.get("allow") is False and (plan.get("aggregate") or {}).get("value") is not None
