"""One round of quotes from many venues, concurrently, each venue bounded by a deadline.

`Fetcher.fetch` is the pipeline's only door to market data. It never raises for a venue's
sake: every requested (venue, symbol) comes back as a `Quote` or a `FetchFailure`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import aiohttp

from feeds.errors import classify, timeout_reason
from feeds.quote import FailureKind, FetchFailure, FetchResult
from feeds.tickers import quote_from_ticker
from feeds.venue import VenueSpec, build_exchange

Clock = Callable[[], int]
"""Unix time in milliseconds."""

# Venues whose ccxt `fetchTickers` is not a live top-of-book read, so each symbol is asked for
# on its own: coinbaseexchange's batch endpoint is `/products/spark-lines` (hourly candles,
# no bid or ask).
_NO_BATCH: Final = frozenset({"coinbaseexchange"})

_RETRY_PAUSE_S: Final = 0.05
"""Pause before the one retry of a TEMPORARY failure, when the deadline leaves room."""
_MIN_RETRY_ROOM_S: Final = 0.25

BACKOFF_FIRST_MS: Final = 10_000
BACKOFF_MAX_MS: Final = 300_000
"""After a venue rate-limits us, leave it alone this long, doubling per repeat, capped."""


@dataclass
class _Backoff:
    until_ms: int = 0
    next_ms: int = BACKOFF_FIRST_MS


class Fetcher:
    """Fetches quotes from ccxt venues. Owns its ccxt instances; `close()` (or `async with`).

    `venues` maps a venue name (the quote's `source`) to how to reach it. `clock` stamps
    `received_ts_ms` and paces rate-limit backoff. `session`, when given, is an aiohttp session
    shared by every venue (the caller closes it); `exchange_config` adds ccxt constructor
    settings per venue name (headers, proxies, options).
    """

    def __init__(
        self,
        venues: Mapping[str, VenueSpec],
        clock: Clock,
        *,
        session: aiohttp.ClientSession | None = None,
        exchange_config: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._venues = dict(venues)
        self._clock = clock
        self._session = session
        self._exchange_config = dict(exchange_config or {})
        self._exchanges: dict[str, Any] = {}
        self._backoff: dict[str, _Backoff] = {}
        self._markets_ready: set[str] = set()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every venue connection. The fetcher can be used again afterwards."""
        exchanges, self._exchanges = self._exchanges, {}
        self._markets_ready.clear()
        await asyncio.gather(*(exchange.close() for exchange in exchanges.values()))

    async def fetch(
        self, wanted: Mapping[str, Sequence[str]], deadline_s: float
    ) -> list[FetchResult]:
        """A result for each distinct requested (venue, symbol), in request order.

        `wanted` maps venue name -> ccxt symbols. Venues run concurrently; each gets
        `deadline_s` in total, including loading its markets on first use, so `fetch` returns
        in about `deadline_s` whatever the venues do. One batched ticker request per venue
        where ccxt supports it, else one request per symbol, concurrently.
        """
        if deadline_s <= 0:
            raise ValueError("deadline_s must be positive")
        jobs = [
            self._fetch_venue(venue, list(dict.fromkeys(symbols)), deadline_s)
            for venue, symbols in wanted.items()
            if symbols
        ]
        per_venue = await asyncio.gather(*jobs)
        return [result for results in per_venue for result in results]

    def _failures(self, venue: str, symbols: Sequence[str], kind: FailureKind,
                  reason: str) -> list[FetchResult]:  # fmt: skip
        now = self._clock()
        return [FetchFailure(venue, symbol, kind, reason, now) for symbol in symbols]

    async def _fetch_venue(
        self, venue: str, symbols: list[str], deadline_s: float
    ) -> list[FetchResult]:
        spec = self._venues.get(venue)
        if spec is None:
            return self._failures(venue, symbols, FailureKind.UNAVAILABLE, "venue not configured")
        backoff = self._backoff.get(venue)
        if backoff is not None and self._clock() < backoff.until_ms:
            reason = f"backing off after rate limit, {backoff.until_ms - self._clock()} ms left"
            return self._failures(venue, symbols, FailureKind.RATE_LIMITED, reason)
        exchange = self._exchange(venue, spec, deadline_s)
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + deadline_s
        try:
            async with asyncio.timeout_at(give_up_at):
                results = await self._with_retry(
                    lambda: self._fetch_listed(venue, spec, exchange, symbols),
                    give_up_at,
                )
        except TimeoutError:
            results = self._failures(
                venue, symbols, FailureKind.TEMPORARY, timeout_reason(deadline_s)
            )
        except Exception as error:  # the boundary: every venue failure becomes a value
            results = self._failures(venue, symbols, *classify(error, deadline_s))
        self._note_rate_limit(venue, results)
        return results

    async def _with_retry(
        self, attempt: Callable[[], Awaitable[list[FetchResult]]], give_up_at: float
    ) -> list[FetchResult]:
        """Run `attempt`; retry once after a TEMPORARY error if the deadline leaves room."""
        loop = asyncio.get_running_loop()
        try:
            return await attempt()
        except Exception as error:
            kind, _ = classify(error, 0.0)
            if kind is not FailureKind.TEMPORARY or isinstance(error, TimeoutError):
                raise
            if give_up_at - loop.time() < _MIN_RETRY_ROOM_S:
                raise
        await asyncio.sleep(_RETRY_PAUSE_S)
        return await attempt()

    def _note_rate_limit(self, venue: str, results: Sequence[FetchResult]) -> None:
        limited = any(
            isinstance(result, FetchFailure) and result.kind is FailureKind.RATE_LIMITED
            for result in results
        )
        backoff = self._backoff.get(venue)
        if not limited:
            if backoff is not None and self._clock() >= backoff.until_ms:
                del self._backoff[venue]
            return
        if backoff is None:
            backoff = self._backoff[venue] = _Backoff()
        elif self._clock() < backoff.until_ms:
            return  # already backing off: this failure was the backoff itself
        backoff.until_ms = self._clock() + backoff.next_ms
        backoff.next_ms = min(backoff.next_ms * 2, BACKOFF_MAX_MS)

    def _exchange(self, venue: str, spec: VenueSpec, deadline_s: float) -> Any:
        exchange = self._exchanges.get(venue)
        if exchange is None:
            extra: dict[str, Any] = dict(self._exchange_config.get(venue, {}))
            if self._session is not None:
                extra["session"] = self._session
            exchange = build_exchange(spec, _timeout_ms(deadline_s), extra)
            self._exchanges[venue] = exchange
        # ccxt's own per-request timeout matches the round's deadline; the asyncio timeout
        # above is the hard bound that also covers rate-limit waits and market loading.
        exchange.timeout = _timeout_ms(deadline_s)
        return exchange

    async def _fetch_listed(
        self, venue: str, spec: VenueSpec, exchange: Any, symbols: list[str]
    ) -> list[FetchResult]:
        # ccxt caches whatever its first load produced, an empty market list included (an
        # unparseable markets reply gives one): reload until a load has listed something.
        await exchange.load_markets(reload=venue not in self._markets_ready)
        markets: Mapping[str, Any] = exchange.markets or {}
        if not markets:
            # Calling every symbol unlisted would send the operator to the wrong place.
            return self._failures(venue, symbols, FailureKind.BAD_DATA, "venue listed no markets")
        self._markets_ready.add(venue)
        unlisted = {s: "symbol not listed on venue" for s in symbols if s not in markets}
        halted = {
            s: "market not active on venue"
            for s in symbols
            if s in markets and markets[s].get("active") is False
        }
        tradable = [s for s in symbols if s not in unlisted and s not in halted]
        tickers = await self._tickers(venue, exchange, tradable)
        now = self._clock()
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
                results.append(quote_from_ticker(venue, symbol, ticker, spec.price, now))
        return results

    async def _tickers(self, venue: str, exchange: Any, symbols: list[str]) -> dict[str, Any]:
        """symbol -> ccxt ticker (or the exception its own request raised)."""
        if not symbols:
            return {}
        if exchange.has.get("fetchTickers") is True and venue_batches(exchange.id):
            batch = await exchange.fetch_tickers(symbols)
            return dict(batch) if isinstance(batch, Mapping) else {}
        singles = await asyncio.gather(
            *(exchange.fetch_ticker(symbol) for symbol in symbols), return_exceptions=True
        )
        if len(symbols) > 0 and all(isinstance(item, BaseException) for item in singles):
            # Every request failed: report the venue-level failure once, as a batch would.
            raise singles[0]
        return dict(zip(symbols, singles, strict=True))


def venue_batches(exchange_id: str) -> bool:
    """Whether the fetcher reads this ccxt venue with one `fetch_tickers` call per round."""
    return exchange_id not in _NO_BATCH


def _timeout_ms(deadline_s: float) -> int:
    return max(1, round(deadline_s * 1000))
