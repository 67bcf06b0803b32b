"""Helpers the feeds tests share: a client for the simulator's controls, a fetcher factory type.

Kept out of conftest.py so test modules can import it by a name no other test folder uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp

from feeds.fetcher import Fetcher
from feeds.venue import VenueSpec

FAST_RATE_LIMIT_MS = 0
"""Unpaced: the simulator needs no politeness (pacing has its own specs)."""


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


FetcherFactory = Callable[..., Fetcher]
