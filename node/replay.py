"""Replay: re-run the live round plan on journaled quotes, exactly, or as a what-if.

`replay_records` is pure over journal records. It evolves each feed's memory the way the live
node did: a `session` record (a node start) resets breakers and sets the on-chain values the
node read; a `round` record is re-planned as the live node plans, under the config snapshot the
round recorded: its aggregates (computed many rounds at a time by `node.replay_aggregates`,
equal to both of the live node's aggregation paths), then `node.pipeline.plan_feed` per feed,
the live node's own breaker and publish step; an `outcome` record that says a
transaction landed moves the published value, as the chain did; a `breaker_reset` record
applies the operator's reset where the node applied it, and a `feed_paused` record pauses or
resumes a feed's publication there (a pause outlives a session, as it does in the node).

Exact replay compares every re-planned feed with what the round recorded (aggregate, breaker,
answer, publish decision) and reports each difference by round id. It reads a clean row (a
value, every source used) from the round's arrays (`node.replay_rows`) and compares the record
field by field with the replayed values (`node.replay_exact.same_plan`); the `Aggregate`, the
`FeedPlan` and its JSON are built only for the other rows and for a feed that differs, whose
differences the full comparison then names. A what-if replays under
another config: its own publications are assumed to land, and the report counts how values,
publications, breaker holds and estimated gas differ from what happened.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from audit.canonical import canonical_json
from audit.journal import JournalRecord
from circuit_breakers import reset
from node.pipeline import (
    FeedMemory,
    FeedPlan,
    FeedRule,
    FeedStep,
    RoundRules,
    plan_feed,
    plan_feeds,
)
from node.records import plan_json
from node.records import result_from_json as result_from_json  # re-exported
from node.replay_aggregates import RoundAggregates
from node.replay_columns import LANDED, Progress
from node.replay_exact import LazyPlans, same_plan
from node.replay_proof import prove_exact
from node.replay_report import FeedTally as FeedTally  # re-exported: the report types
from node.replay_report import Mismatch as Mismatch
from node.replay_report import ReplayReport as ReplayReport
from node.replay_report import held
from node.replay_rows import RoundRows
from publisher.policy import LastPublished

RoundHook = Callable[[JournalRecord, Mapping[str, FeedPlan]], None]
"""Called with each compared round record and its re-planned feeds."""

RulesFor = Callable[[str], RoundRules]
"""config hash -> the rules that config gives (the what-if passes one constant set of rules)."""


def replay_records(
    records: Iterable[JournalRecord],
    rules_for: RulesFor,
    *,
    what_if: bool = False,
    feed: str | None = None,
    from_ms: int | None = None,
    to_ms: int | None = None,
    on_round: RoundHook | None = None,
    reference: bool = False,
    progress: Progress | None = None,
    columns: bool = True,
) -> ReplayReport:
    """Replay every round; compare (exact) or tally differences (what-if) inside the window.

    The whole journal is replayed so that memory at the window's start is what the live node
    had; only rounds inside [from_ms, to_ms] and of `feed` are compared and counted, and
    passed to `on_round` (for reports and progress) with their re-planned feeds.

    `reference` takes every feed of an exact replay through the object path (`plan_feeds`
    on `Aggregate`s, each plan shaped as JSON and compared in full): the same report, the
    reference the fast path is tested and benchmarked against.

    An exact replay without `on_round` is first checked on the journal's packed columns, all
    rounds at once (`node.replay_proof.prove_exact`); only when that cannot prove every
    round equal (a difference to name, a journal without columns) does it run round by round.
    `columns=False` skips that check (tests and the benchmark measure both). `progress` is
    called with the number of round records replayed so far.
    """
    everything = list(records)
    if columns and not what_if and not reference and on_round is None:
        proven = prove_exact(
            everything,
            rules_for,
            result_from_json,
            feed=feed,
            from_ms=from_ms,
            to_ms=to_ms,
            progress=progress,
        )
        if proven is not None:
            return proven
    aggregates = RoundAggregates(
        everything, lambda rec: rules_for(rec.body["config_hash"]), result_from_json
    )
    replay = _Replay(rules_for, what_if, feed, on_round, aggregates)
    replay.fast = not what_if and not reference
    done = 0
    for rec in everything:
        inside = (from_ms is None or rec.ts_ms >= from_ms) and (to_ms is None or rec.ts_ms <= to_ms)
        if rec.kind == "round":
            replay.round(rec, inside)
            done += 1
            if progress is not None:
                progress(done)
        else:
            replay.event(rec, inside)
    return replay.report


class _Replay:
    def __init__(
        self,
        rules_for: RulesFor,
        what_if: bool,
        feed: str | None,
        on_round: RoundHook | None,
        aggregates: RoundAggregates,
    ) -> None:
        self.aggregates = aggregates
        self.on_round = on_round
        self.rules_for = rules_for
        self.what_if = what_if
        self.feed = feed
        self.memory: dict[str, FeedMemory] = {}
        self.report = ReplayReport(what_if=what_if)
        self._feeds: dict[int, tuple[RoundRules, list[str], list[tuple[str, FeedRule, bool]]]] = {}
        self.fast = not what_if

    def event(self, rec: JournalRecord, inside: bool) -> None:
        """What a record other than a round changes in the feeds' memory."""
        if rec.kind == "session":
            paused = {name for name, mem in self.memory.items() if mem.paused}
            self.memory = _session_memory(rec)
            for name in paused:
                self.memory[name] = replace(self.memory.get(name, FeedMemory()), paused=True)
        elif rec.kind == "outcome" and rec.feed is not None and rec.body.get("status") in LANDED:
            self.landed(rec, inside)
        elif rec.kind == "chain_update" and rec.feed is not None and not self.what_if:
            # A quorum node began this round from what another relay had put on chain.
            onchain = LastPublished(int(rec.body["answer"]), int(rec.body["updated_at"]))
            mem = self.memory.get(rec.feed, FeedMemory())
            self.memory[rec.feed] = replace(mem, published=onchain)
        elif rec.kind == "breaker_reset" and rec.feed is not None:
            # The live node applied the operator's reset just before this round id's plan.
            mem = self.memory.get(rec.feed, FeedMemory())
            self.memory[rec.feed] = replace(mem, breaker=reset(mem.breaker))
        elif rec.kind == "feed_paused" and rec.feed is not None:
            mem = self.memory.get(rec.feed, FeedMemory())
            self.memory[rec.feed] = replace(mem, paused=bool(rec.body["paused"]))

    def landed(self, rec: JournalRecord, inside: bool) -> None:
        assert rec.feed is not None
        if not self.what_if:
            published = LastPublished(int(rec.body["answer"]), int(rec.body["timestamp"]))
            mem = self.memory.get(rec.feed, _FRESH)
            self.memory[rec.feed] = FeedMemory(mem.breaker, published, mem.paused)
        if inside and (self.feed is None or rec.feed == self.feed):
            tally = self.report.feeds.setdefault(rec.feed, FeedTally())
            tally.gas_used += int(rec.body.get("gas_used", 0))

    def round(self, rec: JournalRecord, inside: bool) -> None:
        if self.fast:
            self.exact_round(rec, inside)
            return
        rules = self.rules_for(rec.body["config_hash"])
        plans = plan_feeds(rules, self.aggregates.of(rec), rec.ts_ms, self.memory)
        memory = self.memory
        for name, plan in plans.items():
            # FeedMemory(...) rather than `replace`: this runs for every feed of every round.
            known = memory.get(name)
            published, paused = (None, False) if known is None else (known.published, known.paused)
            if self.what_if and plan.publish is not None and plan.answer is not None:
                published = LastPublished(plan.answer, rec.ts_ms // 1000)
            memory[name] = FeedMemory(plan.breaker, published, paused)
        if inside:
            _compare_round(self.report, rec, plans, self.feed)
            if self.on_round is not None:
                self.on_round(rec, plans)

    def feeds_of(self, rules: RoundRules) -> tuple[list[str], list[tuple[str, FeedRule, bool]]]:
        """The rules' feed names, and per feed (name, rule, whether staleness is checked)."""
        known = self._feeds.get(id(rules))
        if known is None or known[0] is not rules:
            names = [rule.spec.feed for rule in rules.feeds]
            feeds = [
                (rule.spec.feed, rule, rule.breaker.max_quote_age_ms is not None)
                for rule in rules.feeds
            ]
            # The rules are kept with their lists, so their id is not reused meanwhile.
            known = self._feeds[id(rules)] = (rules, names, feeds)
        return known[1], known[2]

    def exact_round(self, rec: JournalRecord, inside: bool) -> None:
        """`round` of an exact replay: each feed planned by `plan_feed` on values read from
        the round's arrays, and compared with its record by `same_plan` first; only a feed
        that is not a clean row or not found equal is built as a `FeedPlan` and compared in
        full (`_compare_feed`), exactly as the what-if path would."""
        rules = self.rules_for(rec.body["config_hash"])
        rows = self.aggregates.rows(rec)
        names, feeds = self.feeds_of(rules)
        steps = self.plan_rows(feeds, rows, rec.ts_ms)
        if not inside:
            return
        self.report.rounds += 1
        recorded_feeds: Mapping[str, Any] = rec.body["feeds"]
        slow = _count_equal(self.report, recorded_feeds, names, rows, steps, self.feed)
        plans = LazyPlans(names, rows, steps)
        if len(recorded_feeds) != len(names) or not all(n in recorded_feeds for n in names):
            slow += [n for n in recorded_feeds if n not in plans and self.feed in (None, n)]
        for name in sorted(slow):
            _compare_feed(self.report, rec, name, plans.get(name))
        if self.on_round is not None:
            self.on_round(rec, plans)

    def plan_rows(
        self, feeds: list[tuple[str, FeedRule, bool]], rows: RoundRows, ts_ms: int
    ) -> list[FeedStep]:
        """Every feed's `plan_feed` step on the round's rows; the feeds' memory moves on."""
        memory = self.memory
        clean_rows, values, dispersion = rows.clean, rows.values, rows.dispersion
        steps: list[FeedStep] = []
        for i, (name, rule, staleness) in enumerate(feeds):
            mem = memory.get(name, _FRESH)
            if clean_rows[i]:
                stamps = rows.used_ts_ms(i) if staleness else ()
                step = plan_feed(rule, mem, values[i], dispersion[i], None, stamps, ts_ms)
            else:
                agg = rows.aggregate(i)
                stamps = [s.ts_ms for s in agg.used]
                step = plan_feed(rule, mem, agg.value, agg.dispersion, agg.error, stamps, ts_ms)
            steps.append(step)
            memory[name] = FeedMemory(step[1], mem.published, mem.paused)
        return steps


def _count_equal(
    report: ReplayReport,
    recorded_feeds: Mapping[str, Any],
    names: list[str],
    rows: RoundRows,
    steps: list[FeedStep],
    only: str | None,
) -> list[str]:
    """Count the feeds `same_plan` finds equal to their record; return the others' names."""
    slow: list[str] = []
    tallies, clean, equal = report.feeds, rows.clean, 0
    for i, name in enumerate(names):
        if only is not None and name != only:
            continue
        step = steps[i]
        if not (clean[i] and same_plan(recorded_feeds.get(name), rows, i, step)):
            slow.append(name)
            continue
        equal += 1
        tally = tallies.get(name) or tallies.setdefault(name, FeedTally())
        tally.rounds += 1
        if step[3] is not None:
            tally.publications += 1
            tally.replay_publications += 1
        if not step[0].allow:
            tally.holds += 1
            tally.replay_holds += 1
    report.feed_rounds += equal
    return slow


_FRESH = FeedMemory()


def _session_memory(rec: JournalRecord) -> dict[str, FeedMemory]:
    memory = {}
    for name, info in rec.body.get("feeds", {}).items():
        published = info.get("published")
        memory[name] = FeedMemory(
            published=None
            if published is None
            else LastPublished(int(published["answer"]), int(published["updated_at"]))
        )
    return memory


def _compare_round(
    report: ReplayReport, rec: JournalRecord, plans: Mapping[str, FeedPlan], only: str | None
) -> None:
    report.rounds += 1
    for name in sorted(set(rec.body["feeds"]) | set(plans)):
        if only is not None and name != only:
            continue
        _compare_feed(report, rec, name, plans.get(name))


def _compare_feed(
    report: ReplayReport, rec: JournalRecord, name: str, plan: FeedPlan | None
) -> None:
    """Count feed `name` of round `rec` and, in an exact replay, report how it differs."""
    report.feed_rounds += 1
    tally = report.feeds.setdefault(name, FeedTally())
    tally.rounds += 1
    recorded = dict(rec.body["feeds"].get(name, {}))
    recorded.pop("observation", None)
    replayed = plan_json(plan, None) if plan is not None else {}
    replayed.pop("observation", None)
    _tally(tally, recorded, replayed)
    # `==` is a fast pre-check: values equal as Python objects are taken as identical
    # (only an int standing for an equal float, or -0.0 for 0.0, could pass it and
    # differ in canonical JSON; the journal is written from the very same shapes).
    # Anything else, NaN included, is compared as canonical JSON, bit for bit.
    if (
        not report.what_if
        and recorded != replayed
        and canonical_json(recorded) != canonical_json(replayed)
    ):
        report.mismatches += _differences(rec.round_id, name, recorded, replayed)


def _tally(tally: FeedTally, recorded: Mapping[str, Any], replayed: Mapping[str, Any]) -> None:
    tally.publications += recorded.get("publish") is not None
    tally.replay_publications += replayed.get("publish") is not None
    tally.holds += held(recorded)
    tally.replay_holds += held(replayed)
    a = recorded.get("aggregate", {}).get("value")
    b = replayed.get("aggregate", {}).get("value")
    if a != b:
        tally.value_differs += 1
        if (
            isinstance(a, float)
            and isinstance(b, float)
            and a
            and math.isfinite(a)
            and math.isfinite(b)
        ):
            tally.max_value_diff = max(tally.max_value_diff, abs(b - a) / abs(a))


def _differences(
    round_id: int, feed: str, recorded: Any, replayed: Any, path: str = ""
) -> list[Mismatch]:
    """Leaf-level differences of two JSON values, compared as canonical JSON (bit-exact floats)."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        out: list[Mismatch] = []
        for key in sorted(set(recorded) | set(replayed)):
            out += _differences(
                round_id,
                feed,
                recorded.get(key),
                replayed.get(key),
                f"{path}.{key}" if path else key,
            )
        return out
    if canonical_json(recorded) != canonical_json(replayed):
        return [Mismatch(round_id, feed, path, recorded, replayed)]
    return []


def rules_from_snapshots(
    snapshots: Mapping[str, Mapping[str, Any]], build: Callable[[Mapping[str, Any]], RoundRules]
) -> RulesFor:
    """Rules per recorded config hash, built once each."""
    cache: dict[str, RoundRules] = {}

    def rules_for(config_hash: str) -> RoundRules:
        if config_hash not in cache:
            if config_hash not in snapshots:
                raise KeyError(f"the journal has no config snapshot {config_hash}")
            cache[config_hash] = build(snapshots[config_hash])
        return cache[config_hash]

    return rules_for


def config_hashes(records: Sequence[JournalRecord]) -> list[str]:
    """The config hashes the records' rounds used, in first-use order."""
    seen: dict[str, None] = {}
    for rec in records:
        if rec.kind == "round":
            seen.setdefault(rec.body["config_hash"], None)
    return list(seen)
