"""Specification of the node's metrics over GET /metrics, with the fake quote source and chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from audit.journal import Journal
from node.http_api import create_app
from node.metrics import NodeMetrics
from node.service import OracleNode
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


class Harness:
    def __init__(self, node: OracleNode, quotes: FixedQuotes, clock: FakeClock) -> None:
        self.node = node
        self.quotes = quotes
        self.clock = clock

    async def scrape(self) -> Samples:
        async with TestClient(TestServer(create_app(self.node, self.clock, 10.0))) as client:
            response = await client.get("/metrics")
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            return parse(await response.text())


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    journal = await Journal.open(tmp_path / "j.db")
    clock = FakeClock()
    quotes = FixedQuotes(clock, 60_000.0)
    node = make_node(journal, clock, quotes, RecordingChain(journal))
    node.metrics.watch_journal(tmp_path / "j.db")
    await node.start()
    yield Harness(node, quotes, clock)
    await journal.close()


async def test_each_node_has_its_own_registry() -> None:
    first, second = NodeMetrics(), NodeMetrics()
    first.rounds.inc()
    assert b"oracle_rounds_total 1.0" in first.render()
    assert b"oracle_rounds_total 0.0" in second.render()


async def test_a_feed_shows_its_value_quorum_and_closed_breaker_after_a_round(
    harness: Harness,
) -> None:
    await harness.node.run_round()
    samples = await harness.scrape()
    assert sample(samples, "oracle_feed_value", feed="BTC/USD") == 60_000.0
    assert sample(samples, "oracle_feed_quorum_size", feed="BTC/USD") == 3
    assert sample(samples, "oracle_feed_quorum_required", feed="BTC/USD") == 3
    assert sample(samples, "oracle_feed_breaker_state", feed="BTC/USD") == 0
    assert sample(samples, "oracle_feed_breaker", feed="BTC/USD", state="closed") == 1
    assert sample(samples, "oracle_feed_breaker", feed="BTC/USD", state="open") == 0
    assert sample(samples, "oracle_rounds_total") == 1
    assert sample(samples, "oracle_round_seconds_count") == 1


async def test_deviation_is_the_move_from_the_published_value(harness: Harness) -> None:
    await harness.node.run_round()
    harness.clock.advance(10)
    harness.quotes.price = 60_000.0 * 1.003  # below the 0.5% deviation: not published
    await harness.node.run_round()
    samples = await harness.scrape()
    assert sample(samples, "oracle_feed_onchain_value", feed="BTC/USD") == 60_000.0
    assert sample(samples, "oracle_feed_deviation_ratio", feed="BTC/USD") == pytest.approx(0.003)


async def test_breaker_gauge_flips_to_open_when_a_move_trips_it(harness: Harness) -> None:
    await harness.node.run_round()
    harness.clock.advance(10)
    harness.quotes.price = 60_000.0 * 1.5
    await harness.node.run_round()
    samples = await harness.scrape()
    assert sample(samples, "oracle_feed_breaker_state", feed="BTC/USD") == 2
    assert sample(samples, "oracle_feed_breaker", feed="BTC/USD", state="open") == 1
    assert sample(samples, "oracle_feed_breaker", feed="BTC/USD", state="closed") == 0
    assert sample(samples, "oracle_feed_value", feed="BTC/USD") == 60_000.0  # held


async def test_publication_latency_and_gas_are_counted_per_feed(harness: Harness) -> None:
    await harness.node.run_round()
    samples = await harness.scrape()
    assert sample(samples, "oracle_publish_seconds_count", feed="BTC/USD") == 1
    assert sample(samples, "oracle_publish_gas_used_total", feed="BTC/USD") == 50_000
    assert sample(samples, "oracle_publications_in_flight") == 0


async def test_a_failed_publication_is_counted_by_error_class(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    clock = FakeClock()
    node = make_node(journal, clock, FixedQuotes(clock, 60_000.0), RecordingChain(journal, True))
    await node.start()
    await node.run_round()
    await journal.close()
    samples = parse(node.metrics.render().decode())
    failures = ("oracle_publish_failures_total", (("error", "InsufficientFundsError"),
                                                  ("feed", "BTC/USD")))  # fmt: skip
    assert samples[failures] == 1
    assert ("oracle_publish_seconds_count", (("feed", "BTC/USD"),)) not in samples


async def test_journal_size_is_the_size_of_the_file_on_disk(
    harness: Harness, tmp_path: Path
) -> None:
    await harness.node.run_round()
    samples = await harness.scrape()
    assert sample(samples, "oracle_journal_bytes", file="db") == (tmp_path / "j.db").stat().st_size
    wal = tmp_path / "j.db-wal"
    assert sample(samples, "oracle_journal_bytes", file="wal") == wal.stat().st_size
