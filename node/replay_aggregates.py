"""Replay's aggregation: the journal's rounds aggregated many at a time on the vectorized path.

Aggregation depends on a round's quotes, config and time only, never on what came before
(breakers and publication do, and replay runs them round by round with `plan_feeds`). So the
rounds ahead that share a config are decoded and aggregated together, `CHUNK` at a time, as
one tall grid (`aggregator.rounds`), and each round's aggregates are handed out when replay
reaches it. They equal `aggregate_round`'s (property tests), which the live node runs for
small configs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aggregator import Aggregate
from aggregator.batch import quote_batch
from aggregator.rounds import aggregate_rounds
from aggregator.vector import RoundLayout, VectorRound
from audit.journal import JournalRecord
from feeds.quote import FetchResult
from node.pipeline import RoundRules

CHUNK = 256
"""Rounds aggregated per tall grid: large enough to amortize numpy's per-call cost, small
enough that a long journal never holds more than this many rounds of arrays."""

ResultReader = Callable[[Mapping[str, Any]], FetchResult]


class RoundAggregates:
    """Aggregates of the round records in `records`, computed ahead in chunks.

    `rules_for` maps a round to its rules (by the config hash it recorded); `read` rebuilds
    a journaled fetch result.
    """

    def __init__(
        self,
        records: Sequence[JournalRecord],
        rules_for: Callable[[JournalRecord], RoundRules],
        read: ResultReader,
        chunk: int = CHUNK,
    ) -> None:
        self._chunk = chunk
        self._rounds = [r for r in records if r.kind == "round"]
        self._position = {r.seq: i for i, r in enumerate(self._rounds)}
        self._rules_for = rules_for
        self._read = read
        self._ready: dict[int, VectorRound] = {}
        self._layouts: dict[int, tuple[RoundRules, RoundLayout]] = {}

    def of(self, rec: JournalRecord) -> dict[str, Aggregate]:
        """The aggregates of round record `rec` (its arrays are freed once handed out; asking
        again computes them again)."""
        ready = self._ready.pop(rec.seq, None)
        if ready is None:
            self._compute_from(rec)
            ready = self._ready.pop(rec.seq)
        return ready.aggregates()

    def _compute_from(self, first: JournalRecord) -> None:
        rules = self._rules_for(first)
        start = self._position[first.seq]
        chunk = [first]
        for rec in self._rounds[start + 1 : start + self._chunk]:
            if self._rules_for(rec) is not rules:
                break
            chunk.append(rec)
        layout = self._layout(rules)
        batches = [
            quote_batch(layout, [self._read(item) for item in rec.body["results"]]) for rec in chunk
        ]
        computed = aggregate_rounds(layout, batches, [rec.ts_ms for rec in chunk])
        self._ready.update(zip((rec.seq for rec in chunk), computed, strict=True))

    def _layout(self, rules: RoundRules) -> RoundLayout:
        if rules.layout is not None:
            return rules.layout
        known = self._layouts.get(id(rules))
        if known is None:
            # The rules are kept with their layout, so their id is not reused meanwhile.
            known = self._layouts[id(rules)] = (
                rules,
                RoundLayout.build([r.spec for r in rules.feeds]),
            )
        return known[1]
