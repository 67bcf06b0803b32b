"""A venue's tickers over its websocket (ccxt.pro `watch_tickers`), kept in the background.

The stream is a cache the fetcher reads each round: the latest ticker per market and the
local time it arrived. It never answers for a market whose last message is older than the
venue's stall timeout: the fetcher then reads that market over REST, so a stalled, silent
or disconnected stream costs freshness for at most the stall timeout, never a round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from feeds.errors import classify

log = logging.getLogger("oracle.feeds.stream")

RECONNECT_FIRST_S: Final = 0.5
RECONNECT_MAX_S: Final = 30.0
"""After a stream error, wait this long before watching again, doubling per repeat, capped."""


class TickerStream:
    """`watch_tickers(symbols)` on `exchange` (a ccxt.pro instance the stream owns).

    `clock` is unix milliseconds (it stamps arrivals). Call `start()` once, `close()` at the
    end. `state` is `connecting` until the first ticker, then `live`; `stalled(now_ms)` says
    whether the stream has been silent longer than `stall_ms`.
    """

    def __init__(
        self,
        venue: str,
        exchange: Any,
        symbols: Sequence[str],
        clock: Callable[[], int],
        stall_ms: int,
    ) -> None:
        self.venue = venue
        self.symbols = tuple(symbols)
        self._exchange = exchange
        self._clock = clock
        self._stall_ms = stall_ms
        self._latest: dict[str, tuple[Any, int]] = {}
        self._task: asyncio.Task[None] | None = None
        self.last_message_ms: int | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"stream-{self.venue}")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._exchange.close()

    def state(self, now_ms: int) -> str:
        if self.last_message_ms is None:
            return "connecting"
        return "stalled" if now_ms - self.last_message_ms > self._stall_ms else "live"

    def fresh(self, symbol: str, now_ms: int) -> tuple[Any, int] | None:
        """`(ccxt ticker, arrival ms)` when `symbol` was heard from within the stall timeout."""
        entry = self._latest.get(symbol)
        if entry is None or now_ms - entry[1] > self._stall_ms:
            return None
        return entry

    async def _run(self) -> None:
        pause = RECONNECT_FIRST_S
        while True:
            try:
                tickers = await self._exchange.watch_tickers(list(self.symbols))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the boundary: a stream error is a state, not a crash
                _, reason = classify(error, 0.0)
                self.last_error = reason
                log.warning(
                    "%s stream: %s; retrying in %.1fs, REST serves its markets meanwhile",
                    self.venue, reason, pause,
                )  # fmt: skip
                await asyncio.sleep(pause)
                pause = min(pause * 2, RECONNECT_MAX_S)
                continue
            pause = RECONNECT_FIRST_S
            now = self._clock()
            for symbol, ticker in (tickers or {}).items():
                if symbol in self.symbols:
                    self._latest[symbol] = (ticker, now)
                    self.last_message_ms = now
