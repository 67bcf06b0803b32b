"""A venue's request allowance, and the one door every request to the venue goes through.

ccxt describes each venue's limit as "one unit of request cost per `rateLimit` ms", with a
cost per endpoint (Binance's all-symbols ticker costs 80 units, a single ticker 2). The
`RequestBudget` is that allowance as a leaky bucket that credits idle time (up to one unit,
so nothing bursts past the venue's pace): a request may start while the balance is not
negative and then overdraws it by its cost; the next one waits until the debt is repaid.

The fetcher installs the budget as the ccxt instance's `throttle`, so every request ccxt makes
(tickers, markets) is paid for here, and asks the budget before a round whether the venue can
be polled at all: a venue still in debt is not polled, and its last quotes age honestly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

MonotonicClock = Callable[[], float]
"""Seconds from an arbitrary origin, never going back (`time.monotonic`)."""

BURST_UNITS: Final = 1.0
"""Idle time credited, in cost units: ccxt's own capacity. No burst beyond the venue's pace."""


class RequestBudget:
    """One cost unit per `interval_ms`; `spend` waits while the balance is negative.

    `requests` and `units` count what was spent (for the venue's health and the benchmark),
    `waited_s` the time requests queued for the balance (the rate limit's cost in latency).
    """

    def __init__(self, interval_ms: float, clock: MonotonicClock = time.monotonic) -> None:
        if interval_ms < 0:
            raise ValueError("interval_ms must not be negative")
        self.interval_ms = interval_ms
        self._clock = clock
        self._balance = BURST_UNITS
        self._at = clock()
        self.requests = 0
        self.units = 0.0
        self.waited_s = 0.0
        self._turn = asyncio.Lock()

    @property
    def units_per_s(self) -> float:
        """The venue's allowance in cost units per second (infinite when unpaced)."""
        return float("inf") if self.interval_ms == 0 else 1000.0 / self.interval_ms

    def balance(self) -> float:
        """Cost units available now; negative while an earlier request is being paid off."""
        now = self._clock()
        if self.interval_ms == 0:
            self._balance = BURST_UNITS
        else:
            earned = (now - self._at) * 1000.0 / self.interval_ms
            self._balance = min(BURST_UNITS, self._balance + earned)
        self._at = now
        return self._balance

    def ready(self) -> bool:
        """Whether a request could start now without waiting."""
        return self.balance() >= 0

    def affordable(self, cost: float, within_s: float) -> int:
        """How many requests of `cost` units can start within `within_s` seconds from now."""
        if cost <= 0 or self.interval_ms == 0:
            return 1 << 30
        balance = self.balance() + within_s * 1000.0 / self.interval_ms
        return 0 if balance < 0 else int(balance // cost) + 1

    def wait_s(self) -> float:
        """Seconds until a request could start (0 when it can now)."""
        balance = self.balance()
        return 0.0 if balance >= 0 else -balance * self.interval_ms / 1000.0

    async def spend(self, cost: float | None = None) -> None:
        """Wait until the balance is not negative, then take `cost` units (ccxt's default 1).

        This is ccxt's `throttle(cost)` contract: awaited before each request goes out.
        """
        # One at a time: concurrent requests (one per market) queue and go out at the pace.
        async with self._turn:
            delay = self.wait_s()
            if delay > 0:
                self.waited_s += delay
                await asyncio.sleep(delay)
            self.balance()
            units = 1.0 if cost is None else float(cost)
            self._balance -= units
            self.requests += 1
            self.units += units
