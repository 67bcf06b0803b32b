"""One round of quotes from many venues, concurrently, each venue bounded by a deadline.

`Fetcher.fetch` is the pipeline's only door to market data. It never raises for a venue's
sake: every requested (venue, symbol) comes back as a `Quote` or a `FetchFailure`.

Per venue and round, in order:
1. a streaming venue answers from its websocket for every market heard from within the stall
   timeout;
2. a venue backing off after a rate limit (HTTP 429/418) is left alone;
3. the rest is polled over REST as far as the venue's request budget allows: all markets in
   one batched request where the venue has one, else one request per market, the markets
   polled longest ago first. A market not polled this round is served its last result as
   it was (a quote keeps its own timestamps, so it ages, and the aggregator's max age
   judges it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import aiohttp

from feeds.errors import classify, timeout_reason
from feeds.health import HealthRecord, VenueHealth
from feeds.pacing import RequestBudget
from feeds.polling import MarketsCache, load_markets, poll, venue_batches
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from feeds.stream import TickerStream
from feeds.tickers import quote_from_ticker
from feeds.venue import VenueSpec, build_exchange

Clock = Callable[[], int]
"""Unix time in milliseconds."""

PollListener = Callable[[str, float, Sequence[FetchResult]], None]
"""Told of each REST poll of a venue: its name, the poll's duration in seconds, its results."""

_RETRY_PAUSE_S: Final = 0.05
"""Pause before the one retry of a TEMPORARY failure, when the deadline leaves room."""
_MIN_RETRY_ROOM_S: Final = 0.25

BACKOFF_FIRST_MS: Final = 10_000
BACKOFF_MAX_MS: Final = 300_000
"""After a venue rate-limits us, leave it alone this long, doubling per repeat, capped."""

MARKETS_REFRESH_MS: Final = 900_000
"""Markets (listings, halts) are reloaded this often: one request per venue per 15 min."""

_START_WITHIN: Final = 0.5
"""Per-market requests of a poll must all be able to start within this share of the deadline."""

NOT_POLLED_YET: Final = "not polled yet: waiting for the venue's request budget"


@dataclass
class _Backoff:
    until_ms: int = 0
    next_ms: int = BACKOFF_FIRST_MS


class Fetcher:
    """Fetches quotes from ccxt venues. Owns its ccxt instances; `close()` (or `async with`).

    `venues` maps a venue name (the quote's `source`) to how to reach it. `clock` stamps
    `received_ts_ms` and paces rate-limit backoff. `session`, when given, is an aiohttp session
    shared by every venue (the caller closes it); `exchange_config` adds ccxt constructor
    settings per venue name (headers, proxies, options). `monotonic` paces request budgets.
    `on_poll(venue, latency_s, results)`, when given, is told of every REST poll as it ends
    (the node's metrics); it must not raise or block.
    """

    def __init__(
        self,
        venues: Mapping[str, VenueSpec],
        clock: Clock,
        *,
        session: aiohttp.ClientSession | None = None,
        exchange_config: Mapping[str, Mapping[str, Any]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        markets_refresh_ms: int = MARKETS_REFRESH_MS,
        on_poll: PollListener | None = None,
    ) -> None:
        self._venues = dict(venues)
        self._on_poll = on_poll
        self._clock = clock
        self._monotonic = monotonic
        self._session = session
        self._exchange_config = dict(exchange_config or {})
        self._exchanges: dict[str, Any] = {}
        self._budgets: dict[str, RequestBudget] = {}
        self._cost: dict[str, float] = {}
        """Cost units of one request of the venue's last poll (ccxt's per-endpoint cost)."""
        self._backoff: dict[str, _Backoff] = {}
        self._markets = MarketsCache(markets_refresh_ms)
        self._last: dict[tuple[str, str], FetchResult] = {}
        self._polled_at: dict[tuple[str, str], int] = {}
        self._health = {venue: HealthRecord(venue) for venue in self._venues}
        self._streams: dict[str, TickerStream] = {}

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
        """Close every venue connection and stream. The fetcher can be used again afterwards."""
        exchanges, self._exchanges = self._exchanges, {}
        streams, self._streams = self._streams, {}
        self._markets.forget()
        await asyncio.gather(*(stream.close() for stream in streams.values()))
        await asyncio.gather(*(exchange.close() for exchange in exchanges.values()))

    def health(self) -> dict[str, VenueHealth]:
        """Every configured venue's health now (see `VenueHealth`)."""
        now = self._clock()
        out: dict[str, VenueHealth] = {}
        for venue, record in self._health.items():
            stream = self._streams.get(venue)
            if stream is not None:
                record.stream = stream.state(now)
            budget = self._budgets.get(venue)
            out[venue] = record.snapshot(
                requests=0 if budget is None else budget.requests,
                units=0.0 if budget is None else budget.units,
                limit_units_per_s=None if budget is None or budget.interval_ms == 0
                else budget.units_per_s,
                wait_s=0.0 if budget is None else budget.waited_s,
            )  # fmt: skip
        return out

    async def prepare(
        self, wanted: Mapping[str, Sequence[str]], timeout_s: float
    ) -> dict[str, str]:
        """Load every venue's markets (and start its stream) before the first round.

        Returns venue -> why it could not be prepared; those venues are retried by the rounds.
        """

        async def one(venue: str, symbols: Sequence[str]) -> tuple[str, str | None]:
            spec = self._venues.get(venue)
            if spec is None:
                return venue, "venue not configured"
            exchange = self._exchange(venue, spec, timeout_s)
            try:
                async with asyncio.timeout(timeout_s):
                    await load_markets(venue, exchange, self._markets, self._clock())
            except Exception as error:  # the boundary: reported, retried by the rounds
                return venue, classify(error, timeout_s)[1]
            self._ensure_stream(venue, spec, symbols)
            return venue, None

        done = await asyncio.gather(*(one(v, list(s)) for v, s in wanted.items() if s))
        return {venue: reason for venue, reason in done if reason is not None}

    async def fetch(
        self, wanted: Mapping[str, Sequence[str]], deadline_s: float
    ) -> list[FetchResult]:
        """A result for each distinct requested (venue, symbol), in request order.

        `wanted` maps venue name -> ccxt symbols. Venues run concurrently; each gets
        `deadline_s` in total, including loading its markets on first use, so `fetch` returns
        in about `deadline_s` whatever the venues do.
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
        record = self._health[venue]
        served = self._from_stream(venue, spec, symbols)
        rest = [s for s in symbols if s not in served]
        if rest:
            served.update(await self._from_rest(venue, spec, rest, deadline_s, record))
        return [served[symbol] for symbol in symbols]

    def _from_stream(
        self, venue: str, spec: VenueSpec, symbols: list[str]
    ) -> dict[str, FetchResult]:
        stream = self._ensure_stream(venue, spec, symbols)
        if stream is None:
            return {}
        now = self._clock()
        served: dict[str, FetchResult] = {}
        for symbol in symbols:
            fresh = stream.fresh(symbol, now)
            if fresh is not None:
                ticker, arrived_ms = fresh
                served[symbol] = quote_from_ticker(
                    venue, symbol, ticker, spec.price_for(symbol), arrived_ms
                )
        self._health[venue].streamed(q for q in served.values() if isinstance(q, Quote))
        return served

    async def _from_rest(
        self, venue: str, spec: VenueSpec, symbols: list[str], deadline_s: float,
        record: HealthRecord,
    ) -> dict[str, FetchResult]:  # fmt: skip
        backoff = self._backoff.get(venue)
        if backoff is not None and self._clock() < backoff.until_ms:
            record.skipped()
            reason = f"backing off after rate limit, {backoff.until_ms - self._clock()} ms left"
            return dict(zip(symbols, self._failures(venue, symbols, FailureKind.RATE_LIMITED,
                                                    reason), strict=True))  # fmt: skip
        exchange = self._exchange(venue, spec, deadline_s)
        chosen = self._affordable(venue, exchange, symbols, deadline_s)
        results: dict[str, FetchResult] = {}
        if chosen:
            budget = self._budgets[venue]
            started, units, requests = self._monotonic(), budget.units, budget.requests
            polled = await self._poll(venue, spec, exchange, chosen, deadline_s)
            if budget.requests > requests:
                self._cost[venue] = (budget.units - units) / (budget.requests - requests)
            latency_s = self._monotonic() - started
            record.polled(polled, latency_s * 1000.0)
            if self._on_poll is not None:
                self._on_poll(venue, latency_s, polled)
            self._note_rate_limit(venue, polled)
            now = self._clock()
            for result in polled:
                results[result.symbol] = result
                self._last[(venue, result.symbol)] = result
                self._polled_at[(venue, result.symbol)] = now
        else:
            record.skipped()
        for symbol in symbols:
            if symbol not in results:
                results[symbol] = self._last.get((venue, symbol)) or FetchFailure(
                    venue, symbol, FailureKind.TEMPORARY, NOT_POLLED_YET, self._clock()
                )
        return results

    def _affordable(
        self, venue: str, exchange: Any, symbols: list[str], deadline_s: float
    ) -> list[str]:
        """The markets this round's poll asks for, within the venue's request budget."""
        budget = self._budgets[venue]
        if venue_batches(exchange.id) or not self._markets.ready(venue):
            return symbols if budget.ready() else []
        # Before a poll has priced a ticker request, the markets request is the best guess.
        cost = self._cost.get(venue) or (budget.units / budget.requests if budget.requests else 1.0)
        count = min(len(symbols), budget.affordable(cost, deadline_s * _START_WITHIN))
        stalest = sorted(symbols, key=lambda s: self._polled_at.get((venue, s), -1))
        chosen = set(stalest[:count])
        return [s for s in symbols if s in chosen]

    async def _poll(
        self, venue: str, spec: VenueSpec, exchange: Any, symbols: list[str], deadline_s: float
    ) -> list[FetchResult]:
        give_up_at = asyncio.get_running_loop().time() + deadline_s
        try:
            async with asyncio.timeout_at(give_up_at):
                return await self._with_retry(
                    lambda: poll(venue, spec, exchange, symbols, self._markets, self._clock),
                    give_up_at,
                )
        except TimeoutError:
            return self._failures(venue, symbols, FailureKind.TEMPORARY, timeout_reason(deadline_s))
        except Exception as error:  # the boundary: every venue failure becomes a value
            return self._failures(venue, symbols, *classify(error, deadline_s))

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
            budget = self._budgets.get(venue)
            if budget is None:
                interval = (
                    spec.rate_limit_ms if spec.rate_limit_ms is not None else exchange.rateLimit
                )
                budget = self._budgets[venue] = RequestBudget(float(interval), self._monotonic)
            # Every request ccxt sends to the venue is paid for by the venue's budget.
            exchange.throttle = budget.spend
            self._exchanges[venue] = exchange
        # ccxt's own per-request timeout matches the round's deadline; the asyncio timeout
        # in `_poll` is the hard bound that also covers budget waits and market loading.
        exchange.timeout = _timeout_ms(deadline_s)
        return exchange

    def _ensure_stream(
        self, venue: str, spec: VenueSpec, symbols: Sequence[str]
    ) -> TickerStream | None:
        """The venue's running stream covering `symbols`, started once its markets are known."""
        if not spec.stream or not self._markets.ready(venue):
            return None
        stream = self._streams.get(venue)
        if stream is not None and set(symbols) <= set(stream.symbols):
            return stream
        wanted = sorted(set(symbols) | set(stream.symbols if stream else ()))
        if stream is not None:
            # A wider set of markets: resubscribe from scratch (rare: the config changed).
            asyncio.get_running_loop().create_task(stream.close())
        pro = build_exchange(spec, _timeout_ms(spec.stall_timeout_s), streaming=True)
        pro.set_markets(list(self._exchanges[venue].markets.values()))
        stream = TickerStream(venue, pro, wanted, self._clock, round(spec.stall_timeout_s * 1000))
        self._streams[venue] = stream
        self._health[venue].stream = "connecting"
        stream.start()
        return stream


def _timeout_ms(deadline_s: float) -> int:
    return max(1, round(deadline_s * 1000))
