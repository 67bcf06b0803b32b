"""What every simulated venue is made of: its listings, its routes, and how it prints numbers.

A venue module builds response bodies only; faults, clocks and HTTP live in `simulator.app`.
A handler sees the venue through a `Board`, which knows the time and the venue's quotes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from simulator.market import STABLE_ASSETS, START_USD, VOLATILE_ASSETS, VenueQuote


@dataclass(frozen=True, slots=True)
class Listing:
    """One market a venue lists: the ccxt symbol, the venue's own id, its price tick."""

    symbol: str
    venue_id: str
    tick: str
    """Price increment as the venue writes it, e.g. `"0.01"`."""

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.split("/")[1]


@dataclass(frozen=True, slots=True)
class Book:
    """A venue quote rounded to the listing's tick, as the venue would print it."""

    bid: Decimal
    ask: Decimal
    last: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    base_volume: Decimal
    quote_volume: Decimal

    @classmethod
    def from_quote(cls, quote: VenueQuote, tick: str, *, halted: bool = False) -> Book:
        """The book as printed; a `halted` market has an empty book (bid and ask 0)."""
        book = cls._printed(quote, tick)
        if not halted:
            return book
        zero = Decimal(0).quantize(Decimal(tick))
        return replace(book, bid=zero, ask=zero)

    @classmethod
    def _printed(cls, quote: VenueQuote, tick: str) -> Book:
        step = Decimal(tick)
        bid = _on_tick(quote.bid, step, math.floor)
        ask = max(_on_tick(quote.ask, step, math.ceil), bid + step)
        last = min(max(_on_tick(quote.last, step, round), bid), ask)
        open_ = _on_tick(quote.open_24h, step, round)
        base_volume = Decimal(f"{quote.base_volume:.8f}")
        return cls(
            bid=bid,
            ask=ask,
            last=last,
            open=open_,
            high=(max(open_, ask) * Decimal("1.01")).quantize(step),
            low=(min(open_, bid) * Decimal("0.99")).quantize(step),
            base_volume=base_volume,
            quote_volume=(base_volume * last).quantize(Decimal("0.00000001")),
        )


def _on_tick(value: float, step: Decimal, rounding: Callable[[float], int]) -> Decimal:
    return step * rounding(value / float(step))


class Board(Protocol):
    """The venue's view of the simulated market at the moment of one request."""

    @property
    def now_ms(self) -> int:
        """The venue's clock in unix milliseconds."""
        ...

    def book(self, listing: Listing) -> Book:
        """The venue's current book for `listing`."""
        ...


@dataclass(frozen=True, slots=True)
class Reply:
    """A response body (JSON-serialisable) and its HTTP status."""

    body: Any
    status: int = 200


Query = Mapping[str, str]
Handler = Callable[[Board, Query, Mapping[str, str]], Reply]
"""(board, query string, path parameters) -> reply."""


@dataclass(frozen=True, slots=True)
class Route:
    """A GET endpoint, path relative to the venue's API root (aiohttp path syntax)."""

    path: str
    handler: Handler


@dataclass(frozen=True)
class Venue:
    """A simulated venue: ccxt id, what it lists, the endpoints ccxt calls on it."""

    name: str
    listings: tuple[Listing, ...]
    routes: tuple[Route, ...]

    def by_id(self, venue_id: str) -> Listing | None:
        return next((item for item in self.listings if item.venue_id == venue_id), None)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(item.symbol for item in self.listings)


def fixed(value: Decimal, places: int) -> str:
    """`value` with exactly `places` decimals, as Binance and Kraken print prices."""
    return f"{value:.{places}f}"


def plain(value: Decimal) -> str:
    """`value` without trailing zeros or exponent, as OKX and Bitstamp print prices."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def places(tick: str) -> int:
    """Decimals of a tick such as `"0.01"` (2) or `"1"` (0)."""
    return len(tick.split(".")[1]) if "." in tick else 0


def iso8601_micro(ms: int) -> str:
    """`2024-03-13T11:10:41.270000Z`, Coinbase's timestamp format."""
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_tick(symbol: str) -> str:
    """A price increment of about five significant digits, never coarser than 0.01."""
    base, quote = symbol.split("/")
    price = _usd(base) / _usd(quote)
    exponent = min(-2, math.floor(math.log10(price)) - 5)
    return f"{Decimal(1).scaleb(exponent):f}"


def _usd(asset: str) -> float:
    return START_USD.get(asset, 1.0)


USDT_MARKETS: tuple[str, ...] = (
    *(f"{asset}/USDT" for asset in VOLATILE_ASSETS),
    "USDC/USDT",
    "ETH/BTC",
)
"""What every simulated venue lists: each volatile asset against USDT, USDC/USDT, ETH/BTC."""
USD_MARKETS: tuple[str, ...] = (
    *(f"{asset}/USD" for asset in VOLATILE_ASSETS),
    *(f"{asset}/USD" for asset in STABLE_ASSETS),
)
"""What the venues with US-dollar books list besides `USDT_MARKETS`."""


def listings(
    symbols: tuple[str, ...],
    venue_id: Callable[[str, str], str],
    ticks: Mapping[str, str] | None = None,
) -> tuple[Listing, ...]:
    """A venue's listings: `venue_id(base, quote)` names a market, `ticks` overrides increments."""
    chosen = ticks or {}
    return tuple(
        Listing(symbol, venue_id(*symbol.split("/")), chosen.get(symbol) or default_tick(symbol))
        for symbol in symbols
    )
