"""One REST poll of one venue: its markets, then its tickers, as quotes or failures.

`poll` raises for a venue-wide failure (the caller turns it into failures for every market)
and returns a result per market otherwise; a market the venue does not list, or lists as
halted, is a failure of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from feeds.errors import classify
from feeds.quote import FailureKind, FetchFailure, FetchResult
from feeds.tickers import quote_from_ticker
from feeds.venue import VenueSpec

# Venues whose ccxt `fetchTickers` is not a live top-of-book read, so each symbol is asked for
# on its own: coinbaseexchange's batch endpoint is `/products/spark-lines` (hourly candles,
# no bid or ask), coinbase's is the product list (a price, no book), gemini's `/v1/pricefeed`
# (a price and a 24 h change only).
_NO_BATCH: Final = frozenset({"coinbaseexchange", "coinbase", "gemini"})
# Venues whose batch request takes no list of symbols (cryptocom's `get-tickers` takes one
# instrument or none): the fetcher asks for every ticker and keeps the ones it wants.
_BATCH_ALL: Final = frozenset({"cryptocom"})


def venue_batches(exchange_id: str) -> bool:
    """Whether the fetcher reads this ccxt venue with one `fetch_tickers` call per poll."""
    return exchange_id not in _NO_BATCH


class MarketsCache:
    """When each venue's markets were last loaded (unix ms), to reload them now and then.

    ccxt caches whatever its first load produced, an empty market list included (an
    unparseable markets reply gives one): a venue is reloaded until a load lists something,
    then every `refresh_ms` (listings and halts change).
    """

    def __init__(self, refresh_ms: int) -> None:
        self.refresh_ms = refresh_ms
        self._loaded_at: dict[str, int] = {}

    def due(self, venue: str, now_ms: int) -> bool:
        loaded = self._loaded_at.get(venue)
        return loaded is None or now_ms - loaded >= self.refresh_ms

    def loaded(self, venue: str, now_ms: int) -> None:
        self._loaded_at[venue] = now_ms

    def ready(self, venue: str) -> bool:
        return venue in self._loaded_at

    def forget(self, venue: str | None = None) -> None:
        if venue is None:
            self._loaded_at.clear()
        else:
            self._loaded_at.pop(venue, None)


async def load_markets(
    venue: str, exchange: Any, markets: MarketsCache, now_ms: int
) -> Mapping[str, Any]:
    """The venue's markets, reloaded when `markets` says they are due; {} when none listed."""
    await exchange.load_markets(reload=markets.due(venue, now_ms))
    listed: Mapping[str, Any] = exchange.markets or {}
    if listed and markets.due(venue, now_ms):
        markets.loaded(venue, now_ms)
    return listed


async def poll(
    venue: str,
    spec: VenueSpec,
    exchange: Any,
    symbols: Sequence[str],
    markets: MarketsCache,
    clock: Callable[[], int],
) -> list[FetchResult]:
    """A result per symbol, in order, from one poll of `venue` (markets first when due)."""
    listed = await load_markets(venue, exchange, markets, clock())
    if not listed:
        # Calling every symbol unlisted would send the operator to the wrong place.
        now = clock()
        return [FetchFailure(venue, s, FailureKind.BAD_DATA, "venue listed no markets", now)
                for s in symbols]  # fmt: skip
    unlisted = {s: "symbol not listed on venue" for s in symbols if s not in listed}
    halted = {
        s: "market not active on venue"
        for s in symbols
        if s in listed and listed[s].get("active") is False
    }
    tradable = [s for s in symbols if s not in unlisted and s not in halted]
    tickers = await _tickers(exchange, tradable)
    now = clock()
    results: list[FetchResult] = []
    for symbol in symbols:
        reason = unlisted.get(symbol) or halted.get(symbol)
        if reason is not None:
            results.append(FetchFailure(venue, symbol, FailureKind.UNAVAILABLE, reason, now))
            continue
        ticker = tickers.get(symbol)
        if isinstance(ticker, BaseException):
            kind, why = classify(ticker, exchange.timeout / 1000.0)
            results.append(FetchFailure(venue, symbol, kind, why, now))
        else:
            results.append(quote_from_ticker(venue, symbol, ticker, spec.price_for(symbol), now))
    return results


async def _tickers(exchange: Any, symbols: list[str]) -> dict[str, Any]:
    """symbol -> ccxt ticker (or the exception its own request raised)."""
    if not symbols:
        return {}
    if exchange.has.get("fetchTickers") is True and venue_batches(exchange.id):
        batch = await exchange.fetch_tickers(None if exchange.id in _BATCH_ALL else symbols)
        if not isinstance(batch, Mapping):
            return {}
        return {symbol: batch[symbol] for symbol in symbols if symbol in batch}
    singles = await asyncio.gather(
        *(exchange.fetch_ticker(symbol) for symbol in symbols), return_exceptions=True
    )
    if all(isinstance(item, BaseException) for item in singles):
        # Every request failed: report the venue-level failure once, as a batch would.
        raise singles[0]
    return dict(zip(symbols, singles, strict=True))
