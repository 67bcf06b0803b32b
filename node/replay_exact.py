"""Exact replay's comparison of a re-planned feed with the one its round recorded, fast.

`same_plan` answers whether the recorded feed equals, as Python values, the JSON the live node
would have journaled for the re-planned feed (`node.records.plan_json`, observation aside),
reading every recorded field and comparing it with the replayed value directly: the replayed
JSON is not built. It is the `recorded == replayed` pre-check of the comparison, leaf for
leaf; anything it does not find equal goes through the full comparison (canonical JSON,
differences by field), so it decides only which feeds need that, never what differs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields
from operator import attrgetter, itemgetter
from typing import Any

from circuit_breakers import BreakerState, Decision
from node.pipeline import FeedPlan, FeedStep
from node.replay_rows import RoundRows

_STATE_NAMES = tuple(f.name for f in fields(BreakerState))
_STATE_OF = attrgetter(*_STATE_NAMES)
_RECORDED_STATE = itemgetter(*_STATE_NAMES)
_USED = itemgetter("source", "symbol", "price", "raw_price", "ts_ms", "weight")
_SIX = {6}


def same_plan(recorded: Any, rows: RoundRows, i: int, step: FeedStep) -> bool:
    """Does `recorded` (a round's journaled feed) equal clean row `i`'s re-planned feed?"""
    if not isinstance(recorded, dict):
        return False
    decision, state, answer, publish = step
    try:
        return (
            len(recorded) == 4 + ("observation" in recorded)
            and recorded["answer"] == (None if answer is None else str(answer))
            and recorded["publish"] == publish
            and _same_breaker(recorded["breaker"], decision, state)
            and _same_aggregate(recorded["aggregate"], rows, i)
        )
    except (KeyError, TypeError):  # a field missing, or not of its shape
        return False


def _same_breaker(recorded: Any, decision: Decision, state: BreakerState) -> bool:
    state_json = recorded["state"]
    return bool(
        len(recorded) == 6
        and recorded["allow"] == decision.allow
        and recorded["status"] == decision.status
        and recorded["reason"] == decision.reason
        and recorded["trips"] == list(decision.trips)
        and recorded["verdict"] == decision.verdict
        and len(state_json) == len(_STATE_NAMES)
        and _RECORDED_STATE(state_json) == _STATE_OF(state)
    )


def _same_aggregate(recorded: Any, rows: RoundRows, i: int) -> bool:
    used = recorded["sources_used"]
    return bool(
        len(recorded) == 7
        and recorded["value"] == rows.values[i]
        and recorded["dispersion"] == rows.dispersion[i]
        and recorded["band"] == {"low": rows.band_low[i], "high": rows.band_high[i]}
        and recorded["estimator"] == rows.columns.estimators[i]
        and recorded["error"] is None
        and recorded["sources_rejected"] == []
        and list(map(_USED, used)) == rows.used(i)
        and {*map(len, used)} == _SIX
    )


class LazyPlans(Mapping[str, FeedPlan]):
    """A replayed round's `FeedPlan`s, each built (its `Aggregate` included) on first read."""

    def __init__(self, names: list[str], rows: RoundRows, steps: list[FeedStep]) -> None:
        self._index = {name: i for i, name in enumerate(names)}
        self._rows = rows
        self._steps = steps
        self._built: dict[str, FeedPlan] = {}

    def __getitem__(self, name: str) -> FeedPlan:
        plan = self._built.get(name)
        if plan is None:
            i = self._index[name]
            plan = self._built[name] = FeedPlan(name, self._rows.aggregate(i), *self._steps[i])
        return plan

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)
