"""`oracle-node backtest`: historical quotes through the live round plan, on a virtual clock.

Every round calls `node.pipeline.plan_round`, the very function the live node runs, with the
quotes each source had last published at that round's time (the file's quotes up to then)
and the feed memory (breakers, last published value) carried from round to round. A round is
"published" when the publish policy would push it on chain (every feed is treated as having
a contract). The outputs are `rounds.csv` (one row per feed per round) and `report.html`;
they are written to a temporary folder and moved into place only when everything succeeded.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from aggregator import FeedSpec, SourceSpec
from audit.history import History
from audit.report import FeedTrace, format_time, rounds_report
from feeds.quote import Quote
from node.feed_config import AggregationConfig, BreakerConfig, PublishConfig
from node.pipeline import FeedMemory, FeedPlan, FeedRule, RoundRules, plan_round
from publisher.policy import LastPublished

ROUNDS_HEADER = (
    "timestamp",
    "feed",
    "value",
    "published",
    "breaker",
    "sources_used",
    "sources_rejected",
)
DEFAULT_INTERVAL_S = 10.0


class BacktestError(ValueError):
    """The backtest cannot run with these inputs (e.g. no quote matches any feed). User fixes."""


@dataclass(frozen=True, slots=True)
class BacktestSummary:
    rounds: int
    feeds: int
    published: int
    held: int
    out: str


def default_rules(history: History) -> RoundRules:
    """Every distinct symbol is a feed; its sources are the distinct sources quoting it.

    The node's default aggregation, breaker and publish settings; 8 decimals.
    """
    aggregation = AggregationConfig().params()
    breaker = BreakerConfig().params()
    policy = PublishConfig().policy()
    return RoundRules.build(
        FeedRule(
            FeedSpec(symbol, tuple(SourceSpec(s, symbol) for s in sources), aggregation),
            breaker,
            policy,
            8,
            True,
        )
        for symbol, sources in history.markets().items()
    )


def round_times(start_ms: int, end_ms: int, interval_ms: int) -> range:
    """Round times from the first quote to the last, every `interval_ms`."""
    if interval_ms <= 0:
        raise BacktestError("the interval must be positive")
    return range(start_ms, end_ms + 1, interval_ms)


def replay_rounds(
    history: History, rules: RoundRules, times: range
) -> Iterator[tuple[int, dict[str, FeedPlan]]]:
    """Each round time and its plans; each source's latest quote at that time is its result."""
    latest: dict[tuple[str, str], Quote] = {}
    memory: dict[str, FeedMemory] = {}
    quotes = history.quotes
    i = 0
    for now_ms in times:
        while i < len(quotes) and quotes[i].ts_ms <= now_ms:
            latest[(quotes[i].source, quotes[i].symbol)] = quotes[i]
            i += 1
        results = [latest[k] for k in sorted(latest)]
        plans = plan_round(rules, results, now_ms, memory)
        for feed, plan in plans.items():
            mem = replace(memory.get(feed, FeedMemory()), breaker=plan.breaker)
            if plan.publish is not None and plan.answer is not None:
                mem = replace(mem, published=LastPublished(plan.answer, now_ms // 1000))
            memory[feed] = mem
        yield now_ms, plans


def round_row(now_ms: int, plan: FeedPlan) -> list[str]:
    """One `rounds.csv` row: sources as `;`-separated names, rejections as `source:reason`."""
    value = plan.aggregate.value
    return [
        str(now_ms),
        plan.feed,
        "" if value is None else repr(value),
        "true" if plan.publish is not None else "false",
        str(plan.decision.status),
        ";".join(s.source for s in plan.aggregate.used),
        ";".join(f"{r.source}:{r.reason}" for r in plan.aggregate.rejected),
    ]


@dataclass
class Progress:
    """A one-line progress bar on `stream`, redrawn about 200 times over the run."""

    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    width: int = 30
    label: str = "backtest"
    _step: int = 1

    def __post_init__(self) -> None:
        self._step = max(1, self.total // 200)

    def update(self, done: int) -> None:
        if done % self._step and done != self.total:
            return
        frac = done / self.total if self.total else 1.0
        bar = "#" * round(frac * self.width)
        self.stream.write(
            f"\r{self.label} [{bar:<{self.width}}] {frac:4.0%} {done}/{self.total} rounds"
        )
        if done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def run_backtest(
    history: History,
    rules: RoundRules,
    interval_ms: int,
    out: Path,
    progress: Callable[[int], Progress] | None = None,
) -> BacktestSummary:
    """Run every round, write `rounds.csv` and `report.html` into `out` (all or nothing)."""
    fed = {(s.venue, s.symbol) for r in rules.feeds for s in r.spec.sources}
    if not any((q.source, q.symbol) in fed for q in history.quotes):
        raise BacktestError("no quote in the file is from a source of a configured feed")
    times = round_times(history.start_ms, history.end_ms, interval_ms)
    bar = progress(len(times)) if progress is not None else None
    traces = source_traces(history, rules)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".backtest-", dir=out.parent))
    try:
        with (staging / "rounds.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(ROUNDS_HEADER)
            for n, (now_ms, plans) in enumerate(replay_rounds(history, rules, times), 1):
                for rule in rules.feeds:
                    plan = plans[rule.spec.feed]
                    writer.writerow(round_row(now_ms, plan))
                    traces[plan.feed].add(
                        now_ms,
                        plan.aggregate.value,
                        plan.publish is not None,
                        str(plan.decision.status),
                        plan.decision.trips,
                    )
                if bar is not None:
                    bar.update(n)
        intro = [
            f"{len(history.quotes)} quotes from {format_time(history.start_ms)} to "
            f"{format_time(history.end_ms)} UTC; {len(times)} rounds every "
            f"{interval_ms / 1000:g}s through the node's round plan (aggregation, circuit "
            "breakers, publish policy), every feed treated as on chain.",
            "Dots: each source's quotes as it quoted them (markets in another quote asset are "
            "shown unconverted). Line: the aggregate. Red dots: the rounds that would have been "
            "published. Shaded: rounds with the breaker open (red) or half-open (amber).",
        ]
        report = rounds_report("Backtest", intro, list(traces.values()), interval_ms)
        html = report.render()
        (staging / "report.html").write_text(html, encoding="utf-8")
        _move_into(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BacktestSummary(
        rounds=len(times),
        feeds=len(rules.feeds),
        published=sum(t.published_count for t in traces.values()),
        held=sum(t.held_count for t in traces.values()),
        out=str(out),
    )


def source_traces(history: History, rules: RoundRules) -> dict[str, FeedTrace]:
    """An empty trace per feed holding its sources' own quotes from the file."""
    traces = {r.spec.feed: FeedTrace(r.spec.feed) for r in rules.feeds}
    feeds_of: dict[tuple[str, str], list[str]] = {}
    for rule in rules.feeds:
        for s in rule.spec.sources:
            feeds_of.setdefault((s.venue, s.symbol), []).append(rule.spec.feed)
    for q in history.quotes:
        for feed in feeds_of.get((q.source, q.symbol), ()):
            label = q.source if q.symbol == feed else f"{q.source} {q.symbol}"
            traces[feed].sources.setdefault(label, []).append((q.ts_ms, q.price))
    return traces


def _move_into(staging: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("rounds.csv", "report.html"):
        os.replace(staging / name, out / name)
