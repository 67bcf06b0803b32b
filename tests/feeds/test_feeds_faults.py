"""Every injected fault, end to end: the real fetcher against the simulator, then the real
(pure) aggregator. For each kind: the round completes within its deadline, the faulty venue
is left out with the reason the fault deserves, and the value stays within 0.5% of the
simulator's truth while a quorum of honest venues remains.

The simulator and the fetcher share a clock that the test can move forward, so a frozen
venue's quotes age by a minute in no time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from aggregator import (
    Aggregate,
    AggregationParams,
    FeedSpec,
    RejectReason,
    SourceSpec,
    aggregate_round,
    evaluation_order,
)
from feeds.fetcher import Fetcher
from feeds.venue import VenueSpec
from simulator.server import running_simulator

pytestmark = pytest.mark.timeout(60)

DEADLINE_S = 1.0
SLACK_S = 0.5
TRUTH_TOLERANCE = 0.005
FAULTY = "okx"
"""Quotes BTC/USDT with its own timestamps, so stale and frozen bodies show their age."""

USD_VENUES = ("kraken", "bitstamp", "coinbaseexchange", "gemini", "cryptocom")
USDT_VENUES = ("binance", "okx", "bybit", "kucoin", "gate", "htx")
FEEDS = evaluation_order(
    [
        FeedSpec(
            "USDT/USD",
            tuple(SourceSpec(v, "USDT/USD") for v in USD_VENUES),
            AggregationParams(quorum=3),
        ),
        FeedSpec(
            "BTC/USD",
            tuple(SourceSpec(v, "BTC/USD") for v in USD_VENUES)
            + tuple(SourceSpec(v, "BTC/USDT") for v in USDT_VENUES),
            AggregationParams(quorum=5),
        ),
    ]
)
WANTED: dict[str, list[str]] = {}
for _spec in FEEDS:
    for _source in _spec.sources:
        WANTED.setdefault(_source.venue, []).append(_source.symbol)


class ShiftedClock:
    """Wall time plus an offset the test moves: the simulator's and the fetcher's clock."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def seconds(self) -> float:
        return time.time() + self.offset_s

    def ms(self) -> int:
        return int(self.seconds() * 1000)


@dataclass
class Rig:
    base_url: str
    session: aiohttp.ClientSession
    fetcher: Fetcher
    clock: ShiftedClock

    async def fault(self, venue: str, kind: str | None, **params: Any) -> None:
        url = f"{self.base_url}/_sim/venues/{venue}"
        async with self.session.post(url, json={"fault": kind, **params}) as response:
            assert response.status == 200, await response.text()

    async def round(self) -> tuple[dict[str, Aggregate], float, dict[str, float]]:
        """One round: aggregates, the fetch's duration in seconds, the truth at round time."""
        started = time.monotonic()
        results = await self.fetcher.fetch(WANTED, DEADLINE_S)
        took = time.monotonic() - started
        round_ms = self.clock.ms()
        url = f"{self.base_url}/_sim/truth"
        async with self.session.get(url, params={"at_ms": str(round_ms)}) as response:
            truth: dict[str, float] = (await response.json())["prices"]
        return aggregate_round(FEEDS, results, round_ms), took, truth


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = ShiftedClock()
    async with (
        running_simulator(seed=5, clock=clock.seconds) as base_url,
        aiohttp.ClientSession() as session,
    ):
        venues = {v: VenueSpec(v, f"{base_url}/{v}", rate_limit_ms=0) for v in WANTED}
        fetcher = Fetcher(venues, clock.ms)
        try:
            await fetcher.prepare(WANTED, timeout_s=5.0)
            yield Rig(base_url, session, fetcher, clock)
        finally:
            await fetcher.close()


def rejection_of(aggregate: Aggregate, venue: str) -> tuple[RejectReason, str] | None:
    found = [r for r in aggregate.rejected if r.source == venue]
    return (found[0].reason, found[0].detail) if found else None


def assert_honest_value(aggregates: Mapping[str, Aggregate], truth: Mapping[str, float]) -> None:
    btc = aggregates["BTC/USD"]
    assert btc.value is not None, btc.error
    assert len(btc.used) >= 5
    assert btc.value == pytest.approx(truth["BTC/USD"], rel=TRUTH_TOLERANCE)
    assert aggregates["USDT/USD"].value == pytest.approx(truth["USDT/USD"], rel=TRUTH_TOLERANCE)


async def test_an_honest_round_uses_every_venue(rig: Rig) -> None:
    aggregates, took, truth = await rig.round()
    assert took < DEADLINE_S + SLACK_S
    assert aggregates["BTC/USD"].rejected == ()
    assert len(aggregates["BTC/USD"].used) == len(USD_VENUES) + len(USDT_VENUES)
    assert_honest_value(aggregates, truth)


# kind, its parameters, the reason the faulty venue is rejected with, a word of the detail.
EXCLUDING_FAULTS = [
    ("timeout", {}, RejectReason.UNAVAILABLE, "timeout"),
    ("latency", {"latency_s": 3.0}, RejectReason.UNAVAILABLE, "timeout"),
    ("http_429", {}, RejectReason.UNAVAILABLE, "rate_limited"),
    ("http_5xx", {"status": 502}, RejectReason.UNAVAILABLE, "502"),
    ("malformed", {}, RejectReason.INVALID, "unparseable"),
    ("gone", {}, RejectReason.UNAVAILABLE, "unavailable"),
    ("halted", {}, RejectReason.UNAVAILABLE, "halted"),
    ("stale", {"lag_s": 120}, RejectReason.STALE, "old"),
    ("manipulation", {"factor": 1.05}, RejectReason.OUTLIER, ""),
]


@pytest.mark.parametrize(("kind", "params", "reason", "detail"), EXCLUDING_FAULTS)
async def test_a_faulty_venue_is_excluded_with_its_reason_and_the_value_holds(
    rig: Rig, kind: str, params: dict[str, Any], reason: RejectReason, detail: str
) -> None:
    await rig.fault(FAULTY, kind, **params)
    aggregates, took, truth = await rig.round()
    assert took < DEADLINE_S + SLACK_S
    rejected = rejection_of(aggregates["BTC/USD"], FAULTY)
    assert rejected is not None, aggregates["BTC/USD"]
    assert rejected[0] is reason, rejected
    assert detail in rejected[1]
    assert_honest_value(aggregates, truth)


async def test_a_frozen_venue_goes_stale_as_time_passes(rig: Rig) -> None:
    await rig.fault(FAULTY, "frozen")
    rig.clock.offset_s += 90.0
    aggregates, took, truth = await rig.round()
    assert took < DEADLINE_S + SLACK_S
    rejected = rejection_of(aggregates["BTC/USD"], FAULTY)
    assert rejected is not None
    assert rejected[0] is RejectReason.STALE
    assert "old" in rejected[1]
    assert_honest_value(aggregates, truth)


async def test_a_flash_crash_at_its_bottom_is_an_outlier(rig: Rig) -> None:
    await rig.fault(FAULTY, "flash_crash", depth=0.3, duration_s=20.0)
    rig.clock.offset_s += 10.0  # the bottom of the V
    aggregates, took, truth = await rig.round()
    assert took < DEADLINE_S + SLACK_S
    rejected = rejection_of(aggregates["BTC/USD"], FAULTY)
    assert rejected is not None
    assert rejected[0] is RejectReason.OUTLIER
    assert_honest_value(aggregates, truth)


async def test_a_slow_venue_within_the_deadline_still_counts(rig: Rig) -> None:
    await rig.fault(FAULTY, "latency", latency_s=0.3)
    aggregates, took, truth = await rig.round()
    assert 0.3 <= took < DEADLINE_S + SLACK_S
    assert FAULTY in {used.source for used in aggregates["BTC/USD"].used}
    assert_honest_value(aggregates, truth)


async def test_quorum_is_lost_when_too_few_honest_venues_remain(rig: Rig) -> None:
    for venue in (*USDT_VENUES, "kraken", "bitstamp"):
        await rig.fault(venue, "down")
    aggregates, took, _ = await rig.round()
    assert took < DEADLINE_S + SLACK_S
    btc = aggregates["BTC/USD"]
    assert btc.value is None
    assert btc.error is not None
