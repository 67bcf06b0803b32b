"""Websocket ticker streams in two venues' real protocols, as ccxt.pro speaks them.

- Binance spot (`wss://stream.binance.com:9443/ws/<n>`): the client sends
  `{"method": "SUBSCRIBE", "params": ["btcusdt@ticker", ...], "id": N}`, the server answers
  `{"result": null, "id": N}`, then pushes one `24hrTicker` event per subscribed market
  (Binance pushes `@ticker` once a second). Keep-alive is the websocket's own ping.
- OKX v5 public (`wss://ws.okx.com:443/ws/v5/public`): the client sends
  `{"op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}, ...]}`, the
  server confirms each argument with `{"event": "subscribe", "arg": ..., "connId": ...}`,
  then pushes `{"arg": ..., "data": [<the REST ticker entry>]}`. Keep-alive is the text
  `ping`, answered with `pong`.

The venue's faults apply: prices and timestamps as in its REST bodies; `stream_stall`, `down`
and `timeout` stop the pushes (the connection stays open, silent), `gone` closes it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import WSMsgType, web

from simulator.venues import binance, okx
from simulator.venues.base import Listing, fixed
from simulator.world import Market, VenueBoard

PUSH_INTERVAL_S: Final = 0.5
"""Seconds between two pushes of a subscribed market's ticker."""

_DAY_MS: Final = 86_400_000


def _binance_event(board: VenueBoard, listing: Listing) -> dict[str, Any]:
    rest = binance.ticker_body(board, listing)
    book = board.book(listing)
    now = board.now_ms
    return {
        "e": "24hrTicker", "E": now, "s": listing.venue_id, "p": rest["priceChange"],
        "P": rest["priceChangePercent"], "w": rest["weightedAvgPrice"],
        "x": rest["prevClosePrice"], "c": rest["lastPrice"], "Q": rest["lastQty"],
        "b": rest["bidPrice"], "B": rest["bidQty"], "a": rest["askPrice"], "A": rest["askQty"],
        "o": rest["openPrice"], "h": rest["highPrice"], "l": rest["lowPrice"],
        "v": rest["volume"], "q": fixed(book.quote_volume, 8), "O": now - _DAY_MS, "C": now,
        "F": 1000000, "L": 2000000, "n": 1000001,
    }  # fmt: skip


def _okx_push(board: VenueBoard, listing: Listing) -> dict[str, Any]:
    arg = {"channel": "tickers", "instId": listing.venue_id}
    return {"arg": arg, "data": [okx.ticker_body(board, listing)]}


class _Session:
    """One websocket client: what it subscribed to, and the pusher that serves it."""

    def __init__(
        self,
        market: Market,
        venue: str,
        ws: web.WebSocketResponse,
        render: Callable[[VenueBoard, Listing], dict[str, Any]],
    ) -> None:
        self.market = market
        self.venue = venue
        self.ws = ws
        self.render = render
        self.listings: dict[str, Listing] = {}

    async def push_forever(self) -> None:
        while not self.ws.closed:
            await asyncio.sleep(PUSH_INTERVAL_S)
            state = self.market.state(self.venue)
            if any(fault.kind == "gone" for fault in state.faults):
                await self.ws.close()
                return
            if state.stream_silent() or not self.listings:
                continue
            board = self.market.board(self.venue, state)
            for listing in list(self.listings.values()):
                await self.ws.send_str(json.dumps(self.render(board, listing)))
                self.market.stream_messages[self.venue] += 1


def _binance_subscribe(session: _Session, message: Any) -> list[str]:
    replies: list[str] = []
    if isinstance(message, dict) and message.get("method") == "SUBSCRIBE":
        for name in message.get("params", []):
            stream_id, _, channel = str(name).partition("@")
            listing = binance.VENUE.by_id(stream_id.upper())
            if listing is not None and channel == "ticker":
                session.listings[listing.venue_id] = listing
        replies.append(json.dumps({"result": None, "id": message.get("id")}))
    return replies


def _okx_subscribe(session: _Session, message: Any) -> list[str]:
    replies: list[str] = []
    if isinstance(message, dict) and message.get("op") == "subscribe":
        for arg in message.get("args", []):
            listing = okx.VENUE.by_id(str(arg.get("instId", "")))
            if listing is None or arg.get("channel") != "tickers":
                replies.append(json.dumps({"event": "error", "code": "60018",
                                           "msg": f"Wrong URL or channel:{arg}"}))  # fmt: skip
                continue
            session.listings[listing.venue_id] = listing
            replies.append(json.dumps({"event": "subscribe", "arg": arg, "connId": "a4d3ae55"}))
    return replies


Subscriber = Callable[[_Session, Any], list[str]]


def _stream_handler(
    market: Market,
    venue: str,
    render: Callable[[VenueBoard, Listing], dict[str, Any]],
    subscribe: Subscriber,
    text_ping: bool,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session = _Session(market, venue, ws, render)
        pusher = asyncio.create_task(session.push_forever())
        try:
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                if text_ping and frame.data == "ping":
                    await ws.send_str("pong")
                    continue
                try:
                    message = json.loads(frame.data)
                except ValueError:
                    continue
                for reply in subscribe(session, message):
                    await ws.send_str(reply)
        finally:
            pusher.cancel()
            await asyncio.gather(pusher, return_exceptions=True)
        return ws

    return handle


def add_stream_routes(app: web.Application, market: Market) -> None:
    """Mount the Binance and OKX websocket endpoints under their venues' prefixes."""
    binance_ws = _stream_handler(market, "binance", _binance_event, _binance_subscribe, False)
    app.router.add_get("/binance/ws", binance_ws)
    app.router.add_get("/binance/ws/{stream}", binance_ws)
    okx_ws = _stream_handler(market, "okx", _okx_push, _okx_subscribe, True)
    app.router.add_get("/okx/ws/v5/public", okx_ws)
