"""Exact replay's columnar check of one chunk: rounds under one config, all feeds at once.

`Checker.check(chunk)` re-runs the live node's round on the chunk's packed columns
(`node.replay_columns` explains why each feed-round may start from its recorded predecessor):
- aggregation: the rounds' quotes as one tall grid (`aggregator.vector.aggregate_batch`);
- breakers: one `circuit_breakers.vector.step_batch` over every feed-round, from the recorded
  states before them;
- answers and publish decisions: `node.replay_decisions` (a bound that proves `to_answer`'s
  answer, `decide_publish`'s rule in int64 where it cannot overflow; the functions
  themselves for the other rows).

Every recorded field of a regular row is compared with the replayed one, floats bit for bit.
A row that is not regular on either side (a rejected source, no value, a breaker that did not
just pass its round) goes through the live node's `plan_feed` and the full JSON comparison,
one by one. The check answers only yes or no: any difference sends the whole replay to the
sequential path, which names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from aggregator.batch import QuoteBatch
from aggregator.layout import USED
from aggregator.vector import VectorRound, aggregate_batch
from audit.canonical import canonical_json
from audit.journal import JournalRecord
from audit.packed import (
    NULL_CANDIDATE,
    NULL_HALF_OPEN,
    NULL_REFERENCE,
    NULL_REFERENCE_MS,
    NULL_SINCE,
    NULL_VARIANCE,
)
from circuit_breakers.arrays import NONE, STATUSES, TRIPS, BreakerArrays
from circuit_breakers.reasons import within, within_moves
from circuit_breakers.types import Verdict
from circuit_breakers.vector import VERDICTS, BatchStep, step_batch
from feeds.quote import FailureKind
from node.pipeline import FeedMemory, FeedPlan, RoundRules, plan_feed
from node.records import plan_json
from node.replay_aggregates import LazyResults, ResultReader, batch_view
from node.replay_columns import (
    Bools,
    Ints,
    JournalColumns,
    Progress,
    RoundInputs,
    Scan,
)
from node.replay_config import ChunkConfig, Tiles, lookup, stacked_quotes
from node.replay_decisions import Inputs, publish_ids, same_answers
from node.replay_report import FeedTally, ReplayReport, held
from publisher.policy import LastPublished, PublishReason

Floats = NDArray[np.float64]


def _same(a: Floats, b: Floats) -> Bools:
    """Bit-for-bit equality of two float arrays (NaN equals NaN of the same bits)."""
    return np.asarray(a.view(np.int64) == b.view(np.int64))


def prove_exact(
    records: Sequence[JournalRecord],
    rules_for: Callable[[str], RoundRules],
    read: ResultReader,
    *,
    feed: str | None = None,
    from_ms: int | None = None,
    to_ms: int | None = None,
    progress: Progress | None = None,
) -> ReplayReport | None:
    """The exact replay's report when every round checks against its recorded predecessor;
    None when the sequential replay must run (see the module's docstring)."""
    scan = Scan(rules_for, feed)
    try:
        for rec in records:
            inside = (from_ms is None or rec.ts_ms >= from_ms) and (
                to_ms is None or rec.ts_ms <= to_ms
            )
            if not scan.record(rec, inside):
                return None
        if not scan.rounds:
            return scan.report
        checker = Checker(scan.columns(), scan.report, read, feed)
        done = 0
        for chunk in scan.chunks():
            if not checker.check(chunk):
                return None
            done += len(chunk)
            if progress is not None:
                progress(done)
    except _NOT_PROVEN:
        # Whatever the columns cannot be read or checked for, the round-by-round replay
        # decides (and raises itself for what it cannot replay either).
        return None
    return scan.report


_NOT_PROVEN = (KeyError, TypeError, ValueError, ArithmeticError, IndexError)
"""Errors a journal's records or columns can raise in the check (`PackedFormatError` is a
`ValueError`)."""


class Checker:
    """Checks chunks of a journal's rounds against its packed columns, tallying the report."""

    def __init__(
        self, columns: JournalColumns, report: ReplayReport, read: ResultReader, only: str | None
    ) -> None:
        self.c = columns
        self.report = report
        self.read = read
        self.only = only
        strings = columns.strings
        size = len(strings.ids)
        self.status_gid = np.array([strings.id(str(s)) for s in STATUSES], dtype=np.int64)
        self.verdict_gid = np.array([strings.id(str(v)) for v in VERDICTS], dtype=np.int64)
        self.publish_gid = {r: strings.id(str(r)) for r in PublishReason}
        # Per failure kind's string id: 1 for bad data, 0 for the others, -2 for no kind.
        kinds = list(FailureKind)
        self.kind_code = lookup(size, np.array([strings.id(str(k)) for k in kinds]))
        self.kind_code = np.where(self.kind_code >= 0, 0, self.kind_code)
        self.kind_code[strings.id(str(FailureKind.BAD_DATA))] = 1
        self.status_code = lookup(size, self.status_gid)
        self.trip_code = lookup(size, np.array([strings.id(str(t)) for t in TRIPS]))
        self.within = VERDICTS.index(Verdict.WITHIN)
        self._configs: dict[int, ChunkConfig] = {}

    def config(self, rules: RoundRules) -> ChunkConfig:
        known = self._configs.get(id(rules))
        if known is None or known.rules is not rules:
            known = self._configs[id(rules)] = ChunkConfig(rules, self.c.strings)
        return known

    def check(self, chunk: Sequence[RoundInputs]) -> bool:
        """Does every feed-round of `chunk` reproduce its record? Tallies it when so."""
        cfg = self.config(chunk[0].rules)
        if not cfg.supported:
            return False
        t = cfg.tiles(len(chunk))
        f = self.c.feeds
        idx = (np.array([x.row0 for x in chunk])[:, None] + cfg.rank[None, :]).ravel()
        if not np.array_equal(f["feed"][idx], t.feed_gid):
            return False  # the round recorded other feeds than its config has
        times = np.array([x.rec.ts_ms for x in chunk], dtype=np.int64)
        row_ts = np.repeat(times, cfg.feeds)
        tall = stacked_quotes(self.c.results, chunk, cfg, self.kind_code)
        if tall is None:
            return False
        whole = aggregate_batch(t.layout, tall, int(times[0]), row_ts)
        inputs = Inputs(self.c, chunk)
        before = self.states(inputs.prior, inputs.reset)
        if before is None:
            return False
        scale = 10.0**t.decimals
        last = np.where(inputs.has_pub, inputs.pub_answer.astype(np.float64) / scale, np.nan)
        median = whole.median_used_ts_ms() if cfg.staleness else np.full(len(idx), np.nan)
        step = step_batch(t.params, before, whole.value, whole.dispersion, median, last, row_ts)
        used = (whole.code == USED) & t.layout.slot_valid
        clean = ~np.isnan(whole.value) & (used.sum(axis=1) == t.widths)
        vec = clean & f["regular"][idx] & (step.verdict == self.within)
        ok = self.same_aggregates(idx, whole, tall, t, vec)
        ok &= self.same_breakers(idx, step, t)
        answer = f["answer"][idx]
        ok &= same_answers(whole.value, answer, t.decimals, vec)
        published = publish_ids(step.allow, answer, inputs, row_ts, t, self.publish_gid)
        ok &= f["publish"][idx] == published
        if not (ok | ~vec).all():
            return False
        publishes = f["publish"][idx] != -1
        holds = ~f["allow"][idx]
        for i in np.flatnonzero(~vec).tolist():
            row = self.scalar_row(chunk, cfg, whole, tall, before, inputs, i)
            if row is None:
                return False
            publishes[i], holds[i] = row
        self.tally(chunk, cfg, publishes, holds)
        return True

    def states(self, prior: Ints, reset: Bools) -> BreakerArrays | None:
        """The breaker states the chunk's feed-rounds start from: the recorded state of each
        feed's previous round, a closed breaker after a node start, an operator's reset
        applied; None when a recorded state is not one the breaker machine writes."""
        fresh = prior < 0
        recorded, good = self.recorded(np.where(fresh, 0, prior))
        if (~good & ~fresh).any():
            return None
        states = recorded.where(fresh, lambda: BreakerArrays.closed(len(prior)))
        return states.where(reset, states.reset)

    def recorded(self, rows: Ints) -> tuple[BreakerArrays, Bools]:
        """The breaker states recorded in feed rows `rows`, as the machine's arrays (None as
        NaN / `NONE`), and which rows hold a state the machine writes: a known status and
        trip, a variance, no time equal to the `NONE` sentinel."""
        f = self.c.feeds
        nulls = f["state_nulls"][rows]
        status = self.status_code[f["state_status"][rows]]
        raw_trip = f["state_trip"][rows]
        trip = np.where(raw_trip >= 0, self.trip_code[np.maximum(raw_trip, 0)], -1)
        good = (status >= 0) & (trip >= -1) & ((nulls & NULL_VARIANCE) == 0)

        def ms(name: str, null: int) -> Ints:
            nonlocal good
            value = f[name][rows]
            good = good & ((nulls & null > 0) | (value != NONE))
            return np.where(nulls & null, NONE, value)

        def fl(name: str, null: int) -> Floats:
            return np.where(nulls & null, np.nan, f[name][rows])

        states = BreakerArrays(
            status,
            ms("state_since_ms", NULL_SINCE),
            fl("state_candidate", NULL_CANDIDATE),
            f["state_confirmations"][rows].astype(np.int64),
            trip,
            ms("state_half_open_ms", NULL_HALF_OPEN),
            fl("state_reference", NULL_REFERENCE),
            ms("state_reference_ms", NULL_REFERENCE_MS),
            f["state_variance"][rows].astype(np.float64),
            f["state_samples"][rows].astype(np.int64),
            f["state_rebase"][rows].astype(bool),
        )
        return states, np.asarray(good, dtype=bool)

    def same_aggregates(
        self, idx: Ints, whole: VectorRound, tall: QuoteBatch, t: Tiles, vec: Bools
    ) -> Bools:
        f, u = self.c.feeds, self.c.used
        ok: Bools = (
            _same(f["value"][idx], whole.value)
            & _same(f["dispersion"][idx], whole.dispersion)
            & _same(f["band_low"][idx], whole.band_low)
            & _same(f["band_high"][idx], whole.band_high)
            & (f["estimator"][idx] == t.estimator)
            & (f["used_count"][idx] == t.widths)
        )
        if not vec.any():
            return ok
        total = len(u["used_source"])
        if total == 0:
            return np.zeros(len(idx), dtype=bool)
        valid = t.valid & ok[:, None]
        at = np.where(valid, f["used_first"][idx][:, None] + np.arange(t.valid.shape[1]), 0)
        at = np.minimum(at, total - 1)
        same = (
            (u["used_source"][at] == t.venue)
            & (u["used_symbol"][at] == t.symbol)
            & _same(u["used_price"][at], np.take_along_axis(whole.price, t.slot, axis=1))
            & _same(u["used_raw"][at], tall.price[t.market])
            & (u["used_ts_ms"][at] == tall.ts_ms[t.market])
            & _same(u["used_weight"][at], np.take_along_axis(whole.weight, t.slot, axis=1))
        )
        return np.asarray(ok & (same | ~valid).all(axis=1), dtype=bool)

    def same_breakers(self, idx: Ints, step: BatchStep, t: Tiles) -> Bools:
        f = self.c.feeds
        after = step.after
        recorded, good = self.recorded(idx)
        ok: Bools = (
            good
            & (f["verdict"][idx] == self.verdict_gid[step.verdict])
            & (f["allow"][idx] == step.allow)
            & (f["status"][idx] == self.status_gid[after.status])
            & (f["trips"][idx] == step.trips)
            & (recorded.status == after.status)
            & (recorded.since_ms == after.since_ms)
            & _same(recorded.candidate, after.candidate)
            & (recorded.confirmations == after.confirmations)
            & (recorded.trip == after.trip)
            & (recorded.half_open_ms == after.half_open_ms)
            & _same(recorded.reference, after.reference)
            & (recorded.reference_ms == after.reference_ms)
            & _same(recorded.variance, after.variance)
            & (recorded.samples == after.samples)
            & (recorded.rebase == after.rebase)
        )
        # The reason of a WITHIN round, formatted by the breaker's own `within_moves`.
        rows = np.flatnonzero(step.verdict == self.within)
        move = step.move[rows]
        expected = np.full(len(rows), self.c.strings.ids.get(within(None, 0.0), -2))
        ids = self.c.strings.ids.get
        bounds = t.params.max_deviation[rows]
        for bound in t.bounds:
            some = (bounds == bound) & ~np.isnan(move)
            texts = within_moves(move[some].tolist(), bound)
            expected[some] = [ids(text, -2) for text in texts]
        ok[rows] &= f["reason"][idx][rows] == expected
        return ok

    def scalar_row(
        self,
        chunk: Sequence[RoundInputs],
        cfg: ChunkConfig,
        whole: VectorRound,
        tall: QuoteBatch,
        before: BreakerArrays,
        inputs: Inputs,
        i: int,
    ) -> tuple[bool, bool] | None:
        """Row i through `plan_feed` and the full comparison: (publishes, holds) as recorded,
        or None when it differs from its record."""
        r, feed = divmod(i, cfg.feeds)
        x = chunk[r]
        name, rule = cfg.names[feed], x.rules.feeds[feed]
        m = cfg.markets
        view = batch_view(
            tall, slice(r * m, (r + 1) * m), LazyResults(x.rec.body["results"], self.read)
        )
        rows = whole.section(r * cfg.feeds, (r + 1) * cfg.feeds, cfg.layout, view, x.rec.ts_ms)
        agg = rows.aggregate_row(feed)
        published = (
            LastPublished(int(inputs.pub_answer[i]), int(inputs.pub_at[i]))
            if inputs.has_pub[i]
            else None
        )
        memory = FeedMemory(before.state(i), published, bool(inputs.paused[i]))
        stamps = [s.ts_ms for s in agg.used] if rule.breaker.max_quote_age_ms is not None else ()
        step = plan_feed(rule, memory, agg.value, agg.dispersion, agg.error, stamps, x.rec.ts_ms)
        recorded = x.rec.body["feeds"].get(name)
        if not isinstance(recorded, dict):
            return None
        recorded = {k: v for k, v in recorded.items() if k != "observation"}
        replayed = plan_json(FeedPlan(name, agg, *step), None)
        replayed.pop("observation", None)
        # Canonical JSON, not `==`: the next round starts from this recorded state, so it
        # must be the replayed one bit for bit (`==` takes -0.0 for 0.0).
        if canonical_json(recorded) != canonical_json(replayed):
            return None
        return recorded.get("publish") is not None, held(recorded)

    def tally(
        self, chunk: Sequence[RoundInputs], cfg: ChunkConfig, publishes: Bools, holds: Bools
    ) -> None:
        inside = np.array([x.inside for x in chunk], dtype=bool)
        self.report.rounds += int(inside.sum())
        counted = inside[:, None] & cfg.counted(self.only)[None, :]
        rounds = counted.sum(axis=0)
        pubs = (publishes.reshape(counted.shape) & counted).sum(axis=0)
        held = (holds.reshape(counted.shape) & counted).sum(axis=0)
        self.report.feed_rounds += int(rounds.sum())
        for f in np.flatnonzero(rounds).tolist():
            tally = self.report.feeds.setdefault(cfg.names[f], FeedTally())
            tally.rounds += int(rounds[f])
            tally.publications += int(pubs[f])
            tally.replay_publications += int(pubs[f])
            tally.holds += int(held[f])
            tally.replay_holds += int(held[f])
