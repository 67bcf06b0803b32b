"""Replay aggregates the journal's rounds in chunks, each round exactly as the live node did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import AggregationParams, FeedSpec, SourceSpec, aggregate_round
from aggregator.batch import quote_batch
from aggregator.layout import RoundLayout
from audit.canonical import canonical_json
from audit.journal import Journal, JournalRecord
from circuit_breakers import DeviationParams
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from node.pipeline import FeedRule, RoundRules
from node.records import result_json
from node.replay import result_from_json
from node.replay_aggregates import RoundAggregates, stacked_batches
from publisher.policy import PublishPolicy
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node

T0 = 1_700_000_000_000
PRICES = [60_000.0, 60_100.0, 60_500.0, 75_000.0, 75_100.0, 120_000.0, 75_400.0]


async def journal_records(path: Path) -> list[JournalRecord]:
    clock = FakeClock()
    quotes = FixedQuotes(clock, PRICES[0])
    journal = await Journal.open(path)
    node = make_node(journal, clock, quotes, RecordingChain(journal))
    await node.start()
    for price in PRICES:
        quotes.price = price
        await node.run_round()
        clock.advance(10)
    records = await journal.records()
    await journal.close()
    return records


def rules_with_quorum(quorum: int, sources: tuple[SourceSpec, ...]) -> RoundRules:
    spec = FeedSpec("BTC/USD", sources, AggregationParams(quorum=quorum))
    return RoundRules.build([FeedRule(spec, DeviationParams(), PublishPolicy(), 8, True)])


async def test_chunks_split_at_config_changes_and_match_round_by_round(tmp_path: Path) -> None:
    records = await journal_records(tmp_path / "j.db")
    rounds = [r for r in records if r.kind == "round"]
    sources = tuple(
        SourceSpec(item["source"], item["symbol"]) for item in rounds[0].body["results"]
    )
    # Rounds from the fourth on "recorded" another config: a quorum no round can meet.
    before, after = rules_with_quorum(1, sources), rules_with_quorum(len(sources) + 1, sources)

    def rules_for(rec: JournalRecord) -> RoundRules:
        return before if rec.round_id < rounds[3].round_id else after

    aggregates = RoundAggregates(records, rules_for, result_from_json, chunk=2)

    for rec in rounds:
        rules = rules_for(rec)
        results = [result_from_json(item) for item in rec.body["results"]]
        expected = aggregate_round([r.spec for r in rules.feeds], results, rec.ts_ms)
        assert aggregates.of(rec) == expected
    assert aggregates.of(rounds[0])["BTC/USD"].value is not None
    assert aggregates.of(rounds[-1])["BTC/USD"].value is None


VENUES = ("a", "b", "c", "d")
SYMBOLS = ("BTC/USD", "ETH/USD")
LAYOUT = RoundLayout.build(
    [FeedSpec(s, tuple(SourceSpec(v, s) for v in VENUES[:3]), AggregationParams()) for s in SYMBOLS]
)
maybe_float = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(1, 10**6)
)


@st.composite
def journaled_round(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One round's results as the journal stores them: every market at most once."""
    markets = draw(
        st.lists(st.tuples(st.sampled_from(VENUES), st.sampled_from(SYMBOLS)), unique=True)
    )
    out: list[FetchResult] = []
    for venue, symbol in markets:
        if draw(st.booleans()):
            kind = draw(st.sampled_from(list(FailureKind)))
            out.append(FetchFailure(venue, symbol, kind, "boom", T0))
        else:
            price = draw(st.floats(allow_nan=True, allow_infinity=True))
            exchange = draw(st.one_of(st.none(), st.integers(T0 - 10**6, T0)))
            bid, ask, volume = draw(maybe_float), draw(maybe_float), draw(maybe_float)
            out.append(Quote(venue, symbol, price, T0, exchange, bid, ask, volume))
    # Through the journal's own JSON shape and text, as replay reads it back.
    return [json.loads(canonical_json(result_json(r))) for r in out]


@settings(max_examples=150, deadline=None)
@given(st.lists(journaled_round(), min_size=1, max_size=4))
def test_batches_read_from_json_columns_equal_the_batches_of_the_rebuilt_objects(
    rounds: list[list[dict[str, Any]]],
) -> None:
    chunk = [_round_record(i, items) for i, items in enumerate(rounds)]

    stacked = stacked_batches(LAYOUT, chunk, result_from_json)

    assert stacked is not None
    _, views = stacked
    for view, items in zip(views, rounds, strict=True):
        expected = quote_batch(LAYOUT, [result_from_json(item) for item in items])
        for name in ("status", "price", "bid", "ask", "has_book", "ts_ms", "volume"):
            np.testing.assert_array_equal(getattr(view, name), getattr(expected, name))
        assert [canonical_json(result_json(r)) for r in view.results] == [
            canonical_json(result_json(r)) for r in expected.results
        ]


def test_a_market_answered_twice_in_a_round_takes_the_object_path() -> None:
    quote = json.loads(canonical_json(result_json(Quote("a", "BTC/USD", 1.0, T0))))

    assert stacked_batches(LAYOUT, [_round_record(0, [quote, quote])], result_from_json) is None


def _round_record(i: int, items: list[dict[str, Any]]) -> JournalRecord:
    body = {"results": items}
    return JournalRecord(i + 1, "round", i + 1, None, T0, body, "0" * 64, f"{i:064x}")
