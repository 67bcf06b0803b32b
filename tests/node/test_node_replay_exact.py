"""Exact replay's fast reading and comparison agree with the objects and JSON they stand for."""

from __future__ import annotations

import asyncio
import copy
import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import AggregationParams, FeedSpec, SourceSpec, evaluation_order
from aggregator.layout import RoundLayout
from aggregator.vector import aggregate_vector
from audit.canonical import canonical_json
from audit.journal import Journal, JournalRecord
from circuit_breakers import BreakerParams
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from node.pipeline import FeedMemory, FeedPlan, FeedRule, RoundRules, plan_feed
from node.records import plan_json
from node.replay import replay_records
from node.replay_exact import same_plan
from node.replay_rows import RowColumns
from node.service import OracleNode
from publisher.policy import PublishPolicy
from tests.aggregator.vector_strategies import T, rounds
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node, one_feed_rules


@settings(max_examples=200, deadline=None)
@given(rounds())
def test_clean_rows_read_as_the_aggregates_fields(
    drawn: tuple[list[FeedSpec], list[FetchResult]],
) -> None:
    specs, results = drawn
    layout = RoundLayout.build(evaluation_order(specs))
    round_ = aggregate_vector(layout, results, T)
    rows = RowColumns(layout).rows(round_)
    for i, spec in enumerate(layout.specs):
        agg = round_.aggregate_row(i)
        clean = agg.value is not None and len(agg.used) == len(spec.sources)
        assert rows.clean[i] == clean
        if not clean:
            continue
        assert not agg.rejected
        assert rows.values[i] == agg.value
        assert rows.dispersion[i] == agg.dispersion
        assert (rows.band_low[i], rows.band_high[i]) == (agg.band_low, agg.band_high)
        assert rows.columns.estimators[i] == agg.estimator
        assert rows.used(i) == [
            (s.source, s.symbol, s.price, s.raw_price, s.ts_ms, s.weight) for s in agg.used
        ]
        assert rows.used_ts_ms(i) == [s.ts_ms for s in agg.used]


def recorded_feeds(drawn: tuple[list[FeedSpec], list[FetchResult]]) -> Iterator[Any]:
    """(rows, i, step, the feed as the journal holds it) for every clean row of a round."""
    specs, results = drawn
    layout = RoundLayout.build(evaluation_order(specs))
    round_ = aggregate_vector(layout, results, T)
    rows = RowColumns(layout).rows(round_)
    for i, spec in enumerate(layout.specs):
        if not rows.clean[i]:
            continue
        rule = FeedRule(spec, BreakerParams(), PublishPolicy(), 8, True)
        agg = rows.aggregate(i)
        step = plan_feed(rule, FeedMemory(), agg.value, agg.dispersion, None, (), T)
        journaled = json.loads(canonical_json(plan_json(FeedPlan(spec.feed, agg, *step), None)))
        yield rows, i, step, journaled


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path


def changed(value: Any) -> Any:
    """Another JSON value of the same kind, as close as it gets."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, float):
        return math.nextafter(value, math.inf) if math.isfinite(value) else 0.0
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + " "
    if isinstance(value, list):
        return [*value, 0]
    return 0


@settings(max_examples=60, deadline=None)
@given(rounds())
def test_a_journaled_feed_is_found_equal_and_any_changed_leaf_is_not(
    drawn: tuple[list[FeedSpec], list[FetchResult]],
) -> None:
    for rows, i, step, journaled in recorded_feeds(drawn):
        assert same_plan(journaled, rows, i, step)
        for path in leaves(journaled):
            if path[0] == "observation":
                continue  # replay does not compare the signature of the round
            tampered = copy.deepcopy(journaled)
            *parents, last = path
            holder = tampered
            for key in parents:
                holder = holder[key]
            holder[last] = changed(holder[last])
            assert not same_plan(tampered, rows, i, step), path


@settings(max_examples=20, deadline=None)
@given(rounds())
def test_a_missing_or_extra_field_is_not_equal(
    drawn: tuple[list[FeedSpec], list[FetchResult]],
) -> None:
    for rows, i, step, journaled in recorded_feeds(drawn):
        for section in ("aggregate", "breaker"):
            for key in list(journaled[section]):
                missing = copy.deepcopy(journaled)
                del missing[section][key]
                assert not same_plan(missing, rows, i, step)
            extra = copy.deepcopy(journaled)
            extra[section]["note"] = None
            assert not same_plan(extra, rows, i, step)
        extra_used = copy.deepcopy(journaled)
        extra_used["aggregate"]["sources_used"][0]["note"] = None
        assert not same_plan(extra_used, rows, i, step)
        assert not same_plan({**journaled, "note": None}, rows, i, step)
        assert not same_plan(None, rows, i, step)


async def journal(path: Path, prices: list[float]) -> list[JournalRecord]:
    clock = FakeClock()
    quotes = FixedQuotes(clock, prices[0])
    store = await Journal.open(path)
    node = make_node(store, clock, quotes, RecordingChain(store))
    await node.start()
    for price in prices:
        quotes.price = price
        await node.run_round()
        clock.advance(10)
    await store.close()
    store = await Journal.open(path)
    records = await store.records()
    await store.close()
    return records


@pytest.mark.parametrize(
    ("section", "key", "field"),
    [
        ("aggregate", "sources_used", "aggregate.sources_used"),
        ("aggregate", "band", "aggregate.band.high"),
        ("breaker", "state", "breaker.state.reference"),
        ("breaker", "reason", "breaker.reason"),
    ],
)
async def test_a_tampered_round_is_reported_by_round_id_and_field(
    tmp_path: Path, section: str, key: str, field: str
) -> None:
    records = await journal(tmp_path / "j.db", [60_000.0, 60_100.0, 60_200.0, 60_300.0])
    round_record = [r for r in records if r.kind == "round"][2]
    recorded = round_record.body["feeds"]["BTC/USD"][section]
    if key == "sources_used":
        recorded[key][0]["raw_price"] += 0.5
    elif key == "band":
        recorded[key]["high"] = math.nextafter(recorded[key]["high"], math.inf)
    elif key == "state":
        recorded[key]["reference"] = math.nextafter(recorded[key]["reference"], 0.0)
    else:
        recorded[key] += "!"

    # The body is edited in memory, its packed columns are not: the JSON path is under test.
    mismatches = replay_records(records, lambda _: one_feed_rules(), columns=False).mismatches

    assert [(m.round_id, m.feed, m.field) for m in mismatches] == [
        (round_record.round_id, "BTC/USD", field)
    ]


JUMPY = [60_000.0, 60_100.0, 60_500.0, 75_000.0, 75_100.0, 75_200.0, 75_300.0, 120_000.0, 75_400.0]


@pytest.fixture(scope="module")
def jumpy_records(tmp_path_factory: pytest.TempPathFactory) -> list[JournalRecord]:
    return asyncio.run(journal(tmp_path_factory.mktemp("jumpy") / "j.db", JUMPY))


def feed_leaves(records: list[JournalRecord]) -> list[tuple[int, tuple[Any, ...]]]:
    return [
        (n, ("feeds", *path))
        for n, rec in enumerate(records)
        if rec.kind == "round"
        for path in leaves(rec.body["feeds"])
        if "observation" not in path  # not compared: the signature of the round
    ]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_the_fast_path_reports_what_the_object_path_reports(
    jumpy_records: list[JournalRecord], data: st.DataObject
) -> None:
    records = copy.deepcopy(jumpy_records)
    candidates = feed_leaves(records)
    tampered = data.draw(st.lists(st.sampled_from(candidates), max_size=4, unique=True))
    for n, path in tampered:
        *parents, last = path
        holder: Any = records[n].body
        for key in parents:
            holder = holder[key]
        holder[last] = changed(holder[last])

    fast = replay_records(records, lambda _: one_feed_rules(), columns=False)
    reference = replay_records(records, lambda _: one_feed_rules(), reference=True)

    assert fast.mismatches == reference.mismatches
    assert bool(fast.mismatches) == bool(tampered)
    assert fast.as_json() == reference.as_json()


class RoughQuotes:
    """Seeded walks where venues sometimes fail, lag, or quote far off the others."""

    def __init__(self, clock: FakeClock, feeds: int, seed: int) -> None:
        self.clock = clock
        self.rnd = random.Random(seed)
        self.prices = [self.rnd.uniform(10, 1000) for _ in range(feeds)]

    async def fetch(
        self, wanted: Mapping[str, Sequence[str]], deadline_s: float
    ) -> list[FetchResult]:
        rnd, now = self.rnd, self.clock()
        self.prices = [p * (1 + rnd.gauss(0, 0.02)) for p in self.prices]
        out: list[FetchResult] = []
        for venue, symbols in wanted.items():
            for symbol in symbols:
                roll = rnd.random()
                if roll < 0.08:
                    out.append(FetchFailure(venue, symbol, FailureKind.TEMPORARY, "timeout", now))
                    continue
                price = self.prices[int(symbol[1])] * (1 + rnd.gauss(0, 0.001))
                if roll > 0.93:
                    price *= 1.3  # an outlier
                stamp = now - (20_000 if 0.5 < roll < 0.6 else 100)
                out.append(Quote(venue, symbol, price, now, stamp, price * 0.999, price * 1.001))
        return out


def rough_rules() -> RoundRules:
    return RoundRules.build(
        FeedRule(
            FeedSpec(
                f"F{f}/USD",
                tuple(SourceSpec(f"v{s}", f"F{f}/USD") for s in range(4 + f % 2)),
                AggregationParams(quorum=3),
            ),
            BreakerParams(max_quote_age_ms=10_000 if f % 2 else None, confirm_rounds=2),
            PublishPolicy(0.01, 60),
            8,
            True,
        )
        for f in range(3)
    )


@pytest.fixture(scope="module")
def rough_records(tmp_path_factory: pytest.TempPathFactory) -> list[JournalRecord]:
    async def run(path: Path) -> list[JournalRecord]:
        clock = FakeClock()
        store = await Journal.open(path)
        rules = rough_rules()
        node = OracleNode(
            rules,
            {f"v{s}": [f"F{f}/USD" for f in range(3)] for s in range(5)},
            RoughQuotes(clock, 3, seed=11),
            store,
            RecordingChain(store),
            clock,
            3.0,
            "rough",
        )
        await node.start()
        for _ in range(40):
            await node.run_round()
            clock.advance(10)
        await store.close()
        store = await Journal.open(path)
        records = await store.records()
        await store.close()
        return records

    return asyncio.run(run(tmp_path_factory.mktemp("rough") / "j.db"))


def test_rough_rounds_have_rows_the_fast_path_does_not_read(
    rough_records: list[JournalRecord],
) -> None:
    feeds = [f for r in rough_records if r.kind == "round" for f in r.body["feeds"].values()]
    assert any(f["aggregate"]["sources_rejected"] for f in feeds)
    assert any(f["aggregate"]["value"] is None for f in feeds)
    assert any("staleness" in f["breaker"]["trips"] for f in feeds)
    assert replay_records(rough_records, lambda _: rough_rules()).mismatches == []


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_on_rough_rounds_the_fast_path_reports_what_the_object_path_reports(
    rough_records: list[JournalRecord], data: st.DataObject
) -> None:
    records = copy.deepcopy(rough_records)
    tampered = data.draw(st.lists(st.sampled_from(feed_leaves(records)), max_size=3, unique=True))
    for n, path in tampered:
        *parents, last = path
        holder: Any = records[n].body
        for key in parents:
            holder = holder[key]
        holder[last] = changed(holder[last])
    feed = data.draw(st.sampled_from([None, "F1/USD"]))

    fast = replay_records(records, lambda _: rough_rules(), feed=feed, columns=False)
    reference = replay_records(records, lambda _: rough_rules(), feed=feed, reference=True)

    assert fast.mismatches == reference.mismatches
    assert fast.as_json() == reference.as_json()
