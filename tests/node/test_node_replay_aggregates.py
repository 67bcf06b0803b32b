"""Replay aggregates the journal's rounds in chunks, each round exactly as the live node did."""

from __future__ import annotations

from pathlib import Path

from aggregator import AggregationParams, FeedSpec, SourceSpec, aggregate_round
from audit.journal import Journal, JournalRecord
from circuit_breakers import DeviationParams
from node.pipeline import FeedRule, RoundRules
from node.replay import result_from_json
from node.replay_aggregates import RoundAggregates
from publisher.policy import PublishPolicy
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node

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
