"""A running simulator and fetchers pointed at it, closed after each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

import aiohttp
import pytest
from feeds_harness import FetcherFactory, Simulator, wall_clock_ms

from feeds.fetcher import Fetcher
from feeds.venue import VenueSpec
from simulator.server import running_simulator
from simulator.venues import VENUES


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with running_simulator(seed=11) as base_url, aiohttp.ClientSession() as session:
        yield Simulator(base_url, session)


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
