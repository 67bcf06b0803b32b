"""A running simulator and fetchers pointed at it, closed after each test."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping

import aiohttp
import pytest

from feeds.fetcher import Fetcher
from feeds.venue import VenueSpec
from simulator.server import running_simulator
from simulator.venues import VENUES

FAST_RATE_LIMIT_MS = 5
"""The simulator needs no politeness; real venue rate limits would only slow the tests."""


class Simulator:
    """A simulator on loopback and a client for its `/_sim` controls."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.session = session

    def spec(self, venue: str) -> VenueSpec:
        return VenueSpec(venue, f"{self.base_url}/{venue}", rate_limit_ms=FAST_RATE_LIMIT_MS)

    async def set_fault(self, venue: str, fault: str | None) -> None:
        url = f"{self.base_url}/_sim/venues/{venue}"
        async with self.session.post(url, json={"fault": fault}) as response:
            response.raise_for_status()

    async def truth(self, at_ms: int) -> dict[str, float]:
        url = f"{self.base_url}/_sim/truth"
        async with self.session.get(url, params={"at_ms": str(at_ms)}) as response:
            prices: dict[str, float] = (await response.json())["prices"]
            return prices


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with running_simulator(seed=11) as base_url, aiohttp.ClientSession() as session:
        yield Simulator(base_url, session)


FetcherFactory = Callable[..., Fetcher]


@pytest.fixture
async def make_fetcher(simulator: Simulator) -> AsyncIterator[FetcherFactory]:
    """Builds fetchers on every simulated venue (or `venues`), closing them all afterwards."""
    made: list[Fetcher] = []

    def make(
        venues: Mapping[str, VenueSpec] | None = None, clock: Callable[[], int] = wall_clock_ms
    ) -> Fetcher:
        specs = venues if venues is not None else {v: simulator.spec(v) for v in VENUES}
        fetcher = Fetcher(specs, clock)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        await fetcher.close()
