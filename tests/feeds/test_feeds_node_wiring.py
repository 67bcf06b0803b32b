"""The node's view of the venues: per-source price fields and streams from the config, cross
and stablecoin conversions end to end against the simulator, and venue health over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from feeds_harness import Simulator, wall_clock_ms

from aggregator import aggregate_round, evaluation_order
from audit.journal import Journal
from feeds.fetcher import Fetcher
from node.app import venue_markets, venue_specs
from node.config import NodeConfig
from node.http_api import create_app
from tests.node.fakes import FakeClock, FixedQuotes, RecordingChain, make_node

pytestmark = pytest.mark.timeout(30)

USD = ("kraken", "bitstamp", "coinbaseexchange", "gemini")


def config(base_url: str = "http://127.0.0.1:1", **venue_extra: Any) -> NodeConfig:
    venues: dict[str, Any] = {
        v: {"api_url": f"{base_url}/{v}", "rate_limit_ms": 0}
        for v in (*USD, "binance", "okx", "bybit")
    }
    for venue, extra in venue_extra.items():
        venues[venue] = {**venues[venue], **extra}
    return NodeConfig(
        venues=venues,
        feeds=[
            {"id": "USDT/USD", "sources": [f"{v}:USDT/USD" for v in USD]},
            {"id": "BTC/USD", "sources": [f"{v}:BTC/USD" for v in USD] + ["binance:BTC/USDT"]},
            {
                "id": "ETH/USD",
                # A cross through BTC/USD and stablecoin markets through USDT/USD.
                "sources": [
                    "kraken:ETH/BTC",
                    "bitstamp:ETH/BTC",
                    "gemini:ETH/BTC",
                    "binance:ETH/USDT",
                    "okx:ETH/USDT",
                    "bybit:ETH/USDT",
                ],
            },
        ],
    )


def test_a_venue_config_carries_its_price_fields_rate_limit_and_stream() -> None:
    node_config = config(
        kraken={"price": "last", "prices": {"BTC/USD": "bid"}},
        okx={"stream": True, "stall_timeout_s": 2.5, "rate_limit_ms": 250},
    )
    specs = venue_specs(node_config)
    assert specs["kraken"].price_for("BTC/USD") == "bid"
    assert specs["kraken"].price_for("ETH/BTC") == "last"
    assert (specs["okx"].stream, specs["okx"].stall_timeout_s) == (True, 2.5)
    assert specs["okx"].rate_limit_ms == 250


def test_a_price_override_must_name_a_market() -> None:
    with pytest.raises(ValueError, match="must be a market"):
        config(kraken={"prices": {"BTCUSD": "last"}})


async def test_conversions_reach_the_truth_end_to_end(simulator: Simulator) -> None:
    node_config = config(simulator.base_url)
    ordered = evaluation_order(node_config.feed_specs())
    assert [spec.feed for spec in ordered].index("ETH/USD") > 1  # after both feeds it uses
    async with Fetcher(venue_specs(node_config), wall_clock_ms) as fetcher:
        results = await fetcher.fetch(venue_markets(node_config), deadline_s=3.0)
    round_ms = wall_clock_ms()
    aggregates = aggregate_round(ordered, results, round_ms)
    truth = await simulator.truth(round_ms)
    eth = aggregates["ETH/USD"]
    assert eth.value == pytest.approx(truth["ETH/USD"], rel=0.005)
    assert eth.rejected == ()
    cross = next(used for used in eth.used if used.symbol == "ETH/BTC")
    btc = aggregates["BTC/USD"].value
    assert btc is not None
    assert cross.price == pytest.approx(cross.raw_price * btc)
    assert aggregates["USDT/USD"].value == pytest.approx(truth["USDT/USD"], rel=0.005)


async def test_venue_health_is_served_over_http(simulator: Simulator, tmp_path: Path) -> None:
    node_config = config(simulator.base_url)
    clock = FakeClock()
    journal = await Journal.open(tmp_path / "j.db")
    node = make_node(journal, clock, FixedQuotes(clock, 60_000.0), RecordingChain(journal))
    fetcher = Fetcher(venue_specs(node_config), wall_clock_ms)
    await simulator.set_fault("okx", "http_500")
    await fetcher.fetch(venue_markets(node_config), deadline_s=2.0)
    app = create_app(node, clock, 10.0, venue_health=fetcher.health)
    try:
        async with TestClient(TestServer(app)) as client:
            venues = (await (await client.get("/v1/venues")).json())["venues"]
            health = await (await client.get("/health")).json()
    finally:
        await fetcher.close()
        await journal.close()
    by_name = {venue["venue"]: venue for venue in venues}
    assert set(by_name) == set(node_config.venues)
    assert by_name["kraken"]["status"] == "ok"
    assert by_name["kraken"]["success_rate"] == 1.0
    assert by_name["kraken"]["last_quote_at_ms"] is not None
    assert by_name["okx"]["status"] == "down"
    assert by_name["okx"]["last_error"]["kind"] == "unavailable"
    assert "500" in by_name["okx"]["last_error"]["reason"]
    assert health["venues"] == {"down": 1, "ok": len(node_config.venues) - 1}
