"""Streaming venues: ccxt.pro `watch_tickers` against the simulator's Binance and OKX
websockets; quotes come from the stream without REST requests, and a stalled stream falls
back to REST within its stall timeout."""

from __future__ import annotations

import asyncio
import time

import pytest
from feeds_harness import FetcherFactory, Simulator, wall_clock_ms

from feeds.fetcher import Fetcher
from feeds.quote import Quote
from feeds.venue import STREAMING_VENUES, VenueSpec

pytestmark = pytest.mark.timeout(30)

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
STALL_S = 1.0


def streaming(simulator: Simulator, venue: str) -> VenueSpec:
    return VenueSpec(
        venue, f"{simulator.base_url}/{venue}", rate_limit_ms=0, stream=True,
        stall_timeout_s=STALL_S,
    )  # fmt: skip


async def venue_counts(simulator: Simulator, venue: str) -> tuple[int, int]:
    async with simulator.session.get(f"{simulator.base_url}/_sim/venues") as response:
        state = (await response.json())[venue]
        return state["requests"], state["stream_messages"]


async def until_live(fetcher: Fetcher, venue: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if fetcher.health()[venue].stream == "live":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{venue} stream never went live")


@pytest.mark.parametrize("venue", sorted(STREAMING_VENUES))
async def test_a_live_stream_serves_quotes_without_rest_requests(
    simulator: Simulator, make_fetcher: FetcherFactory, venue: str
) -> None:
    fetcher = make_fetcher({venue: streaming(simulator, venue)})
    assert await fetcher.prepare({venue: SYMBOLS}, timeout_s=5.0) == {}
    await until_live(fetcher, venue)
    requests_before, _ = await venue_counts(simulator, venue)
    results = await fetcher.fetch({venue: SYMBOLS}, deadline_s=1.0)
    requests_after, pushed = await venue_counts(simulator, venue)
    assert requests_after == requests_before
    assert pushed > 0
    for result in results:
        assert isinstance(result, Quote), result
        truth = (await simulator.truth(result.received_ts_ms))[result.symbol]
        assert result.price == pytest.approx(truth, rel=0.002)
        assert result.bid is not None
        assert result.ask is not None


@pytest.mark.parametrize("venue", sorted(STREAMING_VENUES))
async def test_a_stalled_stream_falls_back_to_rest(
    simulator: Simulator, make_fetcher: FetcherFactory, venue: str
) -> None:
    fetcher = make_fetcher({venue: streaming(simulator, venue)})
    await fetcher.prepare({venue: SYMBOLS}, timeout_s=5.0)
    await until_live(fetcher, venue)
    async with simulator.session.post(
        f"{simulator.base_url}/_sim/venues/{venue}", json={"fault": "stream_stall"}
    ) as response:
        assert response.status == 200
    await asyncio.sleep(STALL_S + 0.3)
    requests_before, _ = await venue_counts(simulator, venue)
    started, round_ms = time.monotonic(), wall_clock_ms()
    results = await fetcher.fetch({venue: SYMBOLS}, deadline_s=1.0)
    assert time.monotonic() - started < 1.5
    requests_after, _ = await venue_counts(simulator, venue)
    assert requests_after > requests_before  # REST answered for the silent stream
    assert all(isinstance(r, Quote) and r.received_ts_ms >= round_ms for r in results), results
    assert fetcher.health()[venue].stream == "stalled"


async def test_streaming_is_refused_for_a_venue_without_a_stream_reader() -> None:
    with pytest.raises(ValueError, match="streaming is supported for"):
        VenueSpec("kraken", stream=True)
