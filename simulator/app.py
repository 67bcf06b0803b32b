"""The simulator's HTTP surface: venue APIs under `/{venue}/...`, test controls under `/_sim/`.

Routes:
- `GET /{venue}/<venue path>`: the venue's REST API in its real wire format (see
  `simulator.venues`), subject to the venue's faults (see `simulator.faults`).
- `GET /{venue}/ws...`: the venue's websocket, for the venues that stream
  (`simulator.streams`).
- `GET /_sim/truth[?at_ms=]`: the true prices now (or at `at_ms`).
- `GET /_sim/venues`: every venue's listings, faults in force and request count.
- `POST /_sim/venues/{venue}` with `{"fault": KIND | null, "price_factor": x, "duration_s": s,
  ...the fault's parameters}`: start (or clear) a fault on a venue now.
- `GET /_sim/scenario`: the loaded scenario's faults.
  Control routes answer loopback clients only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.faults import Fault, FaultKind, FaultSpec, Scenario
from simulator.market import RandomWalk
from simulator.streams import add_stream_routes
from simulator.venues import VENUES
from simulator.venues.base import Handler, Venue
from simulator.world import TRUTH_SYMBOLS, Clock, Market

__all__ = ["MARKET_KEY", "TRUTH_SYMBOLS", "Clock", "Market", "create_app"]

TIMEOUT_FAULT_S: Final = 30.0
"""How long a venue under the `timeout` fault holds a request: past any sane deadline, bounded."""


class VenueControl(BaseModel):
    """The body of `POST /_sim/venues/{venue}`: a fault started now, and a price scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fault: FaultKind | None = None
    price_factor: float = Field(default=1.0, gt=0.0, le=1000.0)
    duration_s: float | None = Field(None, gt=0)
    symbols: tuple[str, ...] | None = None
    latency_s: float | None = None
    status: int | None = None
    factor: float | None = None
    depth: float | None = None
    lag_s: float | None = None

    def spec(self) -> FaultSpec | None:
        if self.fault is None:
            return None
        params = self.model_dump(exclude={"fault", "price_factor", "duration_s"}, exclude_none=True)
        return FaultSpec(kind=self.fault, **params)


MARKET_KEY: Final = web.AppKey("market", Market)


def create_app(
    seed: int = 1,
    tick_s: float = 1.0,
    clock: Clock = time.time,
    start_s: float | None = None,
    scenario: Scenario | None = None,
) -> web.Application:
    """The simulator application.

    Prices step every `tick_s` seconds of `clock` from `start_s` (default: `clock()` now);
    the path depends on `seed` only, so two apps with one seed and one start agree. A
    `scenario` supplies seed and tick (overriding the arguments) and schedules its faults
    from `start_s`.
    """
    if scenario is not None:
        scenario.check_venues(VENUES)
        seed, tick_s = scenario.seed, scenario.tick_s
    if tick_s <= 0:
        raise ValueError("tick_s must be positive")
    market = Market(
        walk=RandomWalk(seed),
        tick_s=tick_s,
        start_s=clock() if start_s is None else start_s,
        clock=clock,
        schedule=() if scenario is None else scenario.faults,
    )
    app = web.Application()
    app[MARKET_KEY] = market
    app.router.add_get("/_sim/truth", _truth)
    app.router.add_get("/_sim/venues", _list_venues)
    app.router.add_post("/_sim/venues/{venue}", _control_venue)
    app.router.add_get("/_sim/scenario", _scenario)
    for venue in VENUES.values():
        for route in venue.routes:
            app.router.add_get(f"/{venue.name}{route.path}", _venue_handler(venue, route.handler))
    add_stream_routes(app, market)
    return app


def _venue_handler(
    venue: Venue, handler: Handler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        market = request.app[MARKET_KEY]
        market.requests[venue.name] += 1
        state = market.state(venue.name)
        fault = state.transport()
        if fault is not None:
            if fault.kind != "latency":
                return await _faulty_reply(request, fault)
            await asyncio.sleep(fault.latency_s)
        reply = handler(market.board(venue.name, state), request.query, request.match_info)
        return web.json_response(reply.body, status=reply.status)

    return handle


async def _faulty_reply(request: web.Request, fault: Fault) -> web.StreamResponse:
    if fault.kind == "timeout":
        # Cancelled when the server shuts down (handler_cancellation in simulator.server).
        await asyncio.sleep(TIMEOUT_FAULT_S)
        return web.Response(status=504, text="Gateway Timeout")
    if fault.kind == "gone":
        # The host is no longer there: the connection ends without an answer.
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError
    if fault.kind == "http_429":
        return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
    if fault.kind in ("down", "http_5xx", "http_500"):
        status = {"down": 503, "http_500": 500}.get(fault.kind, fault.status)
        return web.Response(status=status, text=f"HTTP {status}")
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
    state = market.state(venue.name)
    manual = market.manual.get(venue.name)
    return {
        "symbols": list(venue.symbols),
        "fault": None if manual is None or not manual.active(state.elapsed_s) else manual.kind,
        "faults": [fault.kind for fault in state.faults],
        "price_factor": market.price_factor.get(venue.name, 1.0),
        "requests": market.requests[venue.name],
        "stream_messages": market.stream_messages[venue.name],
    }


async def _list_venues(request: web.Request) -> web.Response:
    _require_loopback(request)
    market = request.app[MARKET_KEY]
    return web.json_response({name: _venue_state(market, v) for name, v in VENUES.items()})


async def _scenario(request: web.Request) -> web.Response:
    _require_loopback(request)
    market = request.app[MARKET_KEY]
    return web.json_response(
        {
            "start_ms": int(market.start_s * 1000),
            "elapsed_s": market.elapsed_s(),
            "faults": [fault.model_dump(mode="json") for fault in market.schedule],
        }
    )


async def _control_venue(request: web.Request) -> web.Response:
    _require_loopback(request)
    market = request.app[MARKET_KEY]
    name = request.match_info["venue"]
    if name not in VENUES:
        raise web.HTTPNotFound(text=json.dumps({"error": f"unknown venue {name!r}"}),
                               content_type="application/json")  # fmt: skip
    try:
        control = VenueControl.model_validate_json(await request.read())
        market.set_manual(name, control.spec(), control.duration_s)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors()
        )
        raise _bad_request(f"invalid control: {problems}") from None
    market.price_factor[name] = control.price_factor
    return web.json_response(_venue_state(market, VENUES[name]))
