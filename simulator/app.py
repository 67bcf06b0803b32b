"""The simulator's HTTP surface: venue APIs under `/{venue}/...`, test controls under `/_sim/`.

Routes:
- `GET /{venue}/<venue path>`: the venue's REST API in its real wire format (see
  `simulator.venues`), subject to the venue's injected fault.
- `GET /_sim/truth[?at_ms=]`: the true prices now (or at `at_ms`).
- `GET /_sim/venues`: every venue's listings and control state.
- `POST /_sim/venues/{venue}` with `{"fault": ..., "price_factor": ...}`: set a venue's control.
  Both control routes answer loopback clients only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.market import USD_ASSETS, RandomWalk, venue_quote
from simulator.venues import VENUES
from simulator.venues.base import Book, Handler, Listing, Venue

Fault = Literal["down", "timeout", "http_429", "http_500", "malformed"]

TIMEOUT_FAULT_S: Final = 30.0
"""How long a venue under the `timeout` fault holds a request: past any sane deadline, bounded."""

TRUTH_SYMBOLS: Final = tuple(
    dict.fromkeys(
        [f"{asset}/USD" for asset in USD_ASSETS]
        + [symbol for venue in VENUES.values() for symbol in venue.symbols]
    )
)
"""Each asset in USD, then every other market some venue lists."""

Clock = Callable[[], float]
"""Unix time in seconds."""


class VenueControl(BaseModel):
    """A venue's injected behaviour. `price_factor` scales every price the venue shows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fault: Fault | None = None
    price_factor: float = Field(default=1.0, gt=0.0, le=1000.0)


@dataclass
class Market:
    """The simulated world: the random walk, the clock, and each venue's control state."""

    walk: RandomWalk
    tick_s: float
    start_s: float
    clock: Clock
    controls: dict[str, VenueControl]

    def tick_at(self, t_s: float) -> int:
        """The walk's tick in force at unix time `t_s` (0 before the start)."""
        return max(0, int((t_s - self.start_s) // self.tick_s))

    def truth(self, at_s: float) -> dict[str, float]:
        tick = self.tick_at(at_s)
        return {symbol: self.walk.price(symbol, tick) for symbol in TRUTH_SYMBOLS}


@dataclass(frozen=True)
class _VenueBoard:
    """`Board` for one venue at one instant: frozen so a body is internally consistent."""

    market: Market
    venue: str
    now_s: float

    @property
    def now_ms(self) -> int:
        return int(self.now_s * 1000)

    def book(self, listing: Listing) -> Book:
        factor = self.market.controls[self.venue].price_factor
        tick = self.market.tick_at(self.now_s)
        quote = venue_quote(self.market.walk, self.venue, listing.symbol, tick, factor)
        return Book.from_quote(quote, listing.tick)


MARKET_KEY: Final = web.AppKey("market", Market)


def create_app(seed: int = 1, tick_s: float = 1.0, clock: Clock = time.time,
               start_s: float | None = None) -> web.Application:  # fmt: skip
    """The simulator application.

    Prices step every `tick_s` seconds of `clock` from `start_s` (default: `clock()` now);
    the path depends on `seed` only, so two apps with one seed and one start agree.
    """
    if tick_s <= 0:
        raise ValueError("tick_s must be positive")
    market = Market(
        walk=RandomWalk(seed),
        tick_s=tick_s,
        start_s=clock() if start_s is None else start_s,
        clock=clock,
        controls={name: VenueControl() for name in VENUES},
    )
    app = web.Application()
    app[MARKET_KEY] = market
    app.router.add_get("/_sim/truth", _truth)
    app.router.add_get("/_sim/venues", _list_venues)
    app.router.add_post("/_sim/venues/{venue}", _control_venue)
    for venue in VENUES.values():
        for route in venue.routes:
            app.router.add_get(f"/{venue.name}{route.path}", _venue_handler(venue, route.handler))
    return app


def _venue_handler(
    venue: Venue, handler: Handler
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        market = request.app[MARKET_KEY]
        fault = market.controls[venue.name].fault
        if fault is not None:
            return await _faulty_reply(fault)
        board = _VenueBoard(market, venue.name, market.clock())
        reply = handler(board, request.query, request.match_info)
        return web.json_response(reply.body, status=reply.status)

    return handle


async def _faulty_reply(fault: Fault) -> web.Response:
    if fault == "timeout":
        # Cancelled when the server shuts down (handler_cancellation in simulator.server).
        await asyncio.sleep(TIMEOUT_FAULT_S)
        return web.Response(status=504, text="Gateway Timeout")
    if fault == "down":
        return web.Response(status=503, text="Service Unavailable")
    if fault == "http_429":
        return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
    if fault == "http_500":
        return web.Response(status=500, text="Internal Server Error")
    # malformed: claims JSON, is not.
    return web.Response(status=200, text='{"result": [{"price": 6', content_type="application/json")


def _require_loopback(request: web.Request) -> None:
    remote = request.remote or ""
    try:
        loopback = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise web.HTTPForbidden(text=json.dumps({"error": "loopback only"}),
                                content_type="application/json")  # fmt: skip


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _truth(request: web.Request) -> web.Response:
    market = request.app[MARKET_KEY]
    now_ms = int(market.clock() * 1000)
    at_ms = now_ms
    if "at_ms" in request.query:
        try:
            at_ms = int(request.query["at_ms"])
        except ValueError:
            raise _bad_request("at_ms must be an integer (unix milliseconds)") from None
    return web.json_response({"ts_ms": at_ms, "prices": market.truth(at_ms / 1000.0)})


def _venue_state(market: Market, venue: Venue) -> dict[str, Any]:
    return {"symbols": list(venue.symbols), **market.controls[venue.name].model_dump()}


async def _list_venues(request: web.Request) -> web.Response:
    _require_loopback(request)
    market = request.app[MARKET_KEY]
    return web.json_response({name: _venue_state(market, v) for name, v in VENUES.items()})


async def _control_venue(request: web.Request) -> web.Response:
    _require_loopback(request)
    market = request.app[MARKET_KEY]
    name = request.match_info["venue"]
    if name not in VENUES:
        raise web.HTTPNotFound(text=json.dumps({"error": f"unknown venue {name!r}"}),
                               content_type="application/json")  # fmt: skip
    try:
        control = VenueControl.model_validate_json(await request.read())
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors()
        )
        raise _bad_request(f"invalid control: {problems}") from None
    market.controls[name] = control
    return web.json_response(_venue_state(market, VENUES[name]))
