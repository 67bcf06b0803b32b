"""Exact replay checked on the journal's packed columns, every round at once.

Exact replay asks of every feed of every round: does the live node's plan (aggregation, breaker,
answer, publish decision), run on the round's recorded quotes from the memory the feed had,
give exactly what the round recorded? The memory is the feed's breaker state after its
previous round, the answer on chain and the operator's pause. The sequential replay
(`node.replay`) carries the *replayed* state from round to round. Here each round starts from
the *recorded* state of the feed's previous round instead (a closed breaker after a node
start, the operator's reset applied where one was journaled), and the published answer and
pause are read from the journal's outcome, session, chain and pause records, as the
sequential replay reads them.

If every feed-round, started from its recorded predecessor, reproduces its own record, then
the sequential replay reproduces every record too: by induction over each feed's rounds, its
replayed state is the recorded one at every step. So the rounds no longer depend on each other
and are checked as columns, many rounds at a time (`node.replay_proof.Checker`): one tall
aggregation grid, one `step_batch` of the breakers, and array comparisons of every recorded
field (the packed columns of `audit.packed`, read many rounds at once by
`audit.packed_batch`). Rows the columns do not carry (a rejected source, a breaker that
tripped) are checked one by one with the live node's own `plan_feed` and the full JSON
comparison.

This module holds the pass over the records (`Scan`): what each round starts from, and the
journal's columns end to end with journal-wide string ids.

`node.replay_proof.prove_exact` returns the report when every row checks. It returns None
(and the caller runs the sequential replay, which names each difference) on the first row
that differs, a round without packed columns or with bytes that are not packed columns, or
anything else the columns do not carry. It never reports a mismatch itself. It reads the
columns as stored: that they hash to what their record names and say exactly what its JSON
says is `audit verify`'s check, as the hash chain is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, count
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from audit.journal import JournalRecord
from audit.packed_batch import unpack_rounds
from audit.packed_layout import FEEDS, REGIONS, RESULTS, USED
from node.pipeline import RoundRules
from node.replay_aggregates import CHUNK
from node.replay_report import FeedTally, ReplayReport

LANDED = frozenset({"confirmed", "reconciled_landed"})
"""Outcome statuses of a transaction that landed: the answer it carried is on chain."""
_INT53 = 2**53

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Progress = Callable[[int], None]
"""Called with the number of round records checked so far."""

_GROUP = {name: kind for columns, _, _ in REGIONS for name, kind in columns}
"""Which rows each packed column has: one per result, per feed or per used source (the used
offsets become `used_first` and `used_count`, one per feed)."""
_ID_FIELDS = frozenset(name for name, _ in REGIONS[2][0])
"""The int32 columns: string ids."""
_INPUTS: dict[str, int | bool] = {
    "prior": -1,
    "reset": False,
    "has_published": False,
    "published_answer": 0,
    "published_at": 0,
    "paused": False,
}
"""What each feed-round starts from (`JournalColumns.inputs`), and its value for a feed not
seen yet: the feed row holding its prior breaker state (-1: a closed breaker), whether an
operator's reset applies to it first, the answer on chain (and when it was updated), and the
operator's pause."""


class Strings:
    """One numbering of the strings of every round's table."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self._map: list[int] = []

    def id(self, text: str) -> int:
        return self.ids.setdefault(text, len(self.ids))

    def add_tables(self, tables: Sequence[Sequence[str]]) -> Ints:
        """Number rounds' tables; returns per table the base its local ids are offset by."""
        sizes = np.array([len(t) for t in tables], dtype=np.int64)
        bases = len(self._map) + np.cumsum(sizes) - sizes
        every = list(chain.from_iterable(tables))
        ids = self.ids
        ids.update(zip(set(every).difference(ids), count(len(ids))))  # the new ones, any order
        self._map += map(ids.__getitem__, every)
        return bases

    def mapping(self) -> Ints:
        return np.asarray(self._map, dtype=np.int64)


@dataclass
class RoundInputs:
    """One round record, where its rows are in the journal's columns, and its rules."""

    rec: JournalRecord
    rules: RoundRules
    inside: bool
    row0: int
    """The round's first feed row: in the packed columns its feeds are in sorted name order,
    in `JournalColumns.inputs` in the rules' order."""
    feeds: int
    res0: int = 0
    res1: int = 0
    """The round's rows in the journal's result columns: res0 .. res1 - 1."""


@dataclass
class JournalColumns:
    """Every round's packed columns end to end, string fields as journal-wide ids, and what
    every feed-round starts from (`inputs`, one array per name of `_INPUTS`)."""

    strings: Strings
    results: dict[str, Any]
    feeds: dict[str, Any]
    used: dict[str, Any]
    inputs: dict[str, Any]


class Scan:
    """One pass over the records: every round's inputs, the packed columns, the gas tally.

    Per feed (by id), in plain lists: the row of its last recorded state, a pending reset,
    the answer on chain and the pause. Each round appends them, in its rules' feed order, to
    the `inputs` lists.
    """

    def __init__(self, rules_for: Callable[[str], RoundRules], only: str | None) -> None:
        self.rules_for = rules_for
        self.only = only
        self.report = ReplayReport(checked_on="columns")
        self.strings = Strings()
        self.rounds: list[RoundInputs] = []
        self.blobs: list[bytes] = []
        self.fid: dict[str, int] = {}
        self.names: dict[int, tuple[RoundRules, list[int], list[int], Any, slice | None]] = {}
        """Per rules (by id, kept with them): what `_feed_ids` returns."""
        self.state: dict[str, list[Any]] = {name: [] for name in _INPUTS}
        self.inputs: dict[str, list[Any]] = {name: [] for name in _INPUTS}
        self.rows = 0

    def feed_id(self, name: str) -> int:
        fid = self.fid.get(name)
        if fid is None:
            fid = self.fid[name] = len(self.fid)
            for key, blank in _INPUTS.items():
                self.state[key].append(blank)
        return fid

    def publish(self, name: str, answer: int, at: int) -> None:
        if not (-_INT53 <= answer <= _INT53 and -(2**62) <= at < 2**62):
            raise OverflowError("a published answer the columns do not carry")
        fid = self.feed_id(name)
        self.state["has_published"][fid] = True
        self.state["published_answer"][fid] = answer
        self.state["published_at"][fid] = at

    def record(self, rec: JournalRecord, inside: bool) -> bool:
        """Take one record in; False when the columns cannot prove this journal."""
        kind, name, body = rec.kind, rec.feed, rec.body
        if kind == "round":
            return self.round(rec, inside)
        if kind == "session":
            self.session(body)
        elif name is None:
            return True
        elif kind == "outcome" and body.get("status") in LANDED:
            self.publish(name, int(body["answer"]), int(body["timestamp"]))
            if inside and self.only in (None, name):
                tally = self.report.feeds.setdefault(name, FeedTally())
                tally.gas_used += int(body.get("gas_used", 0))
        elif kind == "chain_update":
            self.publish(name, int(body["answer"]), int(body["updated_at"]))
        elif kind == "breaker_reset":
            self.state["reset"][self.feed_id(name)] = True
        elif kind == "feed_paused":
            self.state["paused"][self.feed_id(name)] = bool(body["paused"])
        return True

    def session(self, body: Mapping[str, Any]) -> None:
        """A node start: closed breakers, the answers it read on chain; pauses outlive it."""
        n = len(self.fid)
        self.state["prior"][:] = [-1] * n
        self.state["reset"][:] = [False] * n
        self.state["has_published"][:] = [False] * n
        for feed, info in body.get("feeds", {}).items():
            published = info.get("published")
            if published is not None:
                self.publish(feed, int(published["answer"]), int(published["updated_at"]))

    def round(self, rec: JournalRecord, inside: bool) -> bool:
        if rec.packed is None:
            return False
        rules = self.rules_for(rec.body["config_hash"])
        fids, rank, get, run = self._feed_ids(rules)
        state, inputs = self.state, self.inputs
        for key in _INPUTS:
            inputs[key] += get(state[key])
        prior, reset, rows = state["prior"], state["reset"], self.rows
        if run is not None:
            prior[run] = map(rows.__add__, rank)
            reset[run] = [False] * len(fids)
        else:
            for f, r in zip(fids, rank, strict=True):
                prior[f] = rows + r
                reset[f] = False
        self.blobs.append(rec.packed)
        self.rounds.append(RoundInputs(rec, rules, inside, rows, len(fids)))
        self.rows += len(fids)
        return True

    def _feed_ids(
        self, rules: RoundRules
    ) -> tuple[list[int], list[int], Callable[[list[Any]], Any], slice | None]:
        """The rules' feed ids, sorted ranks, a getter of their values from the per-feed
        lists, and the slice of those lists they are when their ids run in order."""
        known = self.names.get(id(rules))
        if known is None or known[0] is not rules:
            fids = [self.feed_id(r.spec.feed) for r in rules.feeds]
            get = itemgetter(*fids) if len(fids) > 1 else (lambda values: [values[fids[0]]])
            span = run_of(fids)
            run = slice(*span) if fids == list(range(*span)) else None
            # The rules are kept with their ids, so their id is not reused meanwhile.
            known = self.names[id(rules)] = (rules, fids, sorted_rank(rules).tolist(), get, run)
        return known[1], known[2], known[3], known[4]

    def columns(self) -> JournalColumns:
        """Every round's columns end to end, string ids numbered journal-wide."""
        packed = unpack_rounds(self.blobs)
        if not np.array_equal(packed.feeds, [x.feeds for x in self.rounds]):
            raise ValueError("a round's packed columns hold other feeds than its config")
        ends = np.cumsum(packed.results).tolist()
        for x, end, size in zip(self.rounds, ends, packed.results.tolist(), strict=True):
            x.res0, x.res1 = end - size, end
        bases = self.strings.add_tables(packed.strings)
        mapping = self.strings.mapping()
        base = {
            RESULTS: np.repeat(bases, packed.results),
            FEEDS: np.repeat(bases, packed.feeds),
            USED: np.repeat(bases, packed.used),
        }
        groups: dict[str, dict[str, Any]] = {RESULTS: {}, FEEDS: {}, USED: {}}
        for name, column in packed.columns.items():
            group = _GROUP.get(name, FEEDS)
            if name in _ID_FIELDS:
                local = column.astype(np.int64)
                column = np.where(local >= 0, mapping[np.maximum(local, 0) + base[group]], -1)
            groups[group][name] = column
        inputs = {
            key: np.array(values, dtype=bool if key in _FLAGS else np.int64)
            for key, values in self.inputs.items()
        }
        return JournalColumns(self.strings, groups[RESULTS], groups[FEEDS], groups[USED], inputs)

    def chunks(self) -> Iterator[list[RoundInputs]]:
        """Runs of consecutive rounds under the same rules, at most `CHUNK` long."""
        chunk: list[RoundInputs] = []
        for inputs in self.rounds:
            if chunk and (inputs.rules is not chunk[0].rules or len(chunk) >= CHUNK):
                yield chunk
                chunk = []
            chunk.append(inputs)
        if chunk:
            yield chunk


_FLAGS = frozenset(key for key, blank in _INPUTS.items() if isinstance(blank, bool))


def run_of(ids: list[int]) -> tuple[int, int]:
    """The range ids would span if they ran in order from the first."""
    first = ids[0] if ids else 0
    return first, first + len(ids)


def sorted_rank(rules: RoundRules) -> Ints:
    """Per feed in the rules' order, its position in sorted name order (the packed order)."""
    names = [r.spec.feed for r in rules.feeds]
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank
