"""Venue metrics from a real fetcher polling the simulator: latency per poll, errors by kind,
rate-limit waits and skipped rounds."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from feeds.fetcher import Fetcher
from feeds.venue import VenueSpec
from node.metrics import NodeMetrics
from simulator.server import running_simulator

pytestmark = pytest.mark.timeout(60)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(metrics: NodeMetrics) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
async def sim_url() -> AsyncIterator[str]:
    async with running_simulator(seed=7) as url:
        yield url


async def test_each_poll_is_timed_and_each_failed_market_counted_by_kind(sim_url: str) -> None:
    metrics = NodeMetrics()
    specs = {v: VenueSpec(v, api_url=f"{sim_url}/{v}", rate_limit_ms=0) for v in ("kraken", "okx")}
    async with aiohttp.ClientSession() as http:
        await http.post(f"{sim_url}/_sim/venues/okx", json={"fault": "http_429"})
    async with Fetcher(specs, clock_ms, on_poll=metrics.observe_poll) as fetcher:
        metrics.watch_venues(fetcher.health)
        wanted = {"kraken": ["BTC/USD", "ETH/USD"], "okx": ["BTC/USDT", "ETH/USDT"]}
        await fetcher.fetch(wanted, deadline_s=3.0)
        await fetcher.fetch(wanted, deadline_s=3.0)  # okx is backing off: not polled
        got = samples(metrics)
        health = fetcher.health()
    kraken, okx = (("venue", "kraken"),), (("venue", "okx"),)
    assert got[("oracle_venue_fetch_seconds_count", kraken)] == health["kraken"].polls == 2
    assert got[("oracle_venue_fetch_seconds_count", okx)] == health["okx"].polls == 1
    assert got[("oracle_venue_fetch_errors_total", (("kind", "rate_limited"), *okx))] == 2
    assert ("oracle_venue_fetch_errors_total", (("kind", "rate_limited"), *kraken)) not in got
    assert got[("oracle_venue_skipped_rounds_total", okx)] == 1
    assert got[("oracle_venue_success_ratio", kraken)] == 1.0
    assert got[("oracle_venue_success_ratio", okx)] == 0.0


async def test_requests_queued_for_a_rate_limit_add_up_as_wait_time(sim_url: str) -> None:
    metrics = NodeMetrics()
    # gemini is read one market per request: three markets at 5 units x 40 ms queue ~0.4 s.
    specs = {"gemini": VenueSpec("gemini", api_url=f"{sim_url}/gemini", rate_limit_ms=40)}
    async with Fetcher(specs, clock_ms, on_poll=metrics.observe_poll) as fetcher:
        metrics.watch_venues(fetcher.health)
        await fetcher.prepare({"gemini": ["BTC/USD", "ETH/USD", "SOL/USD"]}, 10.0)
        await fetcher.fetch({"gemini": ["BTC/USD", "ETH/USD", "SOL/USD"]}, deadline_s=5.0)
        got = samples(metrics)
        health = fetcher.health()["gemini"]
    waited = got[("oracle_venue_rate_limit_wait_seconds_total", (("venue", "gemini"),))]
    assert waited == health.wait_s
    assert waited > 0.1
    assert got[("oracle_venue_requests_total", (("venue", "gemini"),))] == health.requests
