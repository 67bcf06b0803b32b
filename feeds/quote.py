"""The one value that crosses from I/O into the pure pipeline: a venue's quote, or why there is none.

A fetch never raises into the round: every venue yields either a `Quote` or a `FetchFailure`
carrying a machine-readable kind and a human-readable reason. Prices are floats (IEEE-754
doubles): replay and backtest feed the very same floats through the very same code, so results
are bit-for-bit reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    """Why a venue produced no usable quote. Each kind says who acts."""

    TEMPORARY = "temporary"
    """A network hiccup or timeout: retried within the round's deadline, nobody acts."""
    RATE_LIMITED = "rate_limited"
    """The venue asked us to slow down (HTTP 429/418): the fetcher backs off by itself."""
    UNAVAILABLE = "unavailable"
    """The venue or market is down, delisted or halted: the operator checks the venue."""
    BAD_DATA = "bad_data"
    """The venue answered with something we cannot trust: the operator reviews the source."""


@dataclass(frozen=True, slots=True)
class Quote:
    """One price observation from one venue for one market.

    `symbol` is the venue market in ccxt notation (`BTC/USDT`); `price` is in the market's quote
    currency. `exchange_ts_ms` is the venue's own timestamp when it gives one, `received_ts_ms`
    the local time the reply arrived; both are unix milliseconds.
    """

    source: str
    symbol: str
    price: float
    received_ts_ms: int
    exchange_ts_ms: int | None = None
    bid: float | None = None
    ask: float | None = None
    volume: float | None = None

    @property
    def ts_ms(self) -> int:
        """The time the price is valid at: the venue's own stamp when it has one."""
        return self.exchange_ts_ms if self.exchange_ts_ms is not None else self.received_ts_ms


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """A venue gave no quote for `symbol` this round, and why."""

    source: str
    symbol: str
    kind: FailureKind
    reason: str
    at_ms: int


FetchResult = Quote | FetchFailure
