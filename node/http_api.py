"""The node's HTTP API (aiohttp): feeds, history, event stream, health, venues, admin, OpenAPI.

Bound to 127.0.0.1 unless configured. Every error is JSON `{"error": "..."}`; bad input gets
a 4xx, never a 500. Each request is checked against the OpenAPI document's query parameters
and counted against its client's rate limit (429 with `Retry-After`). Feed reads carry a
strong `ETag` and a `Cache-Control: max-age` of the seconds left until the next round. Admin
calls exist only when a bearer token file is configured (`http.admin_token_file`).
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from node.config import HttpConfig
from node.cosign import CoSigner
from node.feed_view import FeedViews, Served, feed_json, journal_history
from node.http_admin import add_admin_routes, load_admin_token
from node.http_cosign import add_cosign_routes
from node.http_guard import AllowedQuery, Guard, GuardedRoutes, Monotonic
from node.http_keys import (
    CLOCK_KEY,
    INTERVAL_KEY,
    NODE_KEY,
    VENUE_HEALTH_KEY,
    VIEWS_KEY,
    ApiError,
    VenueHealthSource,
    feed_of,
    node_feed,
)
from node.http_observation import add_observation_route
from node.http_stream import BROKER_KEY, EventBroker, stream
from node.metrics import CONTENT_TYPE
from node.openapi import allowed_query, document
from node.rate_limit import RateLimiter
from node.service import OracleNode
from node.times import parse_time_ms

__all__ = ["create_app", "feed_json", "is_loopback", "load_admin_token", "rate_limiter"]

QUERY_KEY: web.AppKey[AllowedQuery] = web.AppKey("query")
DOC_KEY = web.AppKey("openapi", bytes)


def create_app(
    node: OracleNode,
    clock: Callable[[], int],
    round_interval_s: float,
    admin_token: str | None = None,
    venue_health: VenueHealthSource | None = None,
    *,
    rate_limit: RateLimiter | None = None,
    monotonic: Monotonic = time.monotonic,
    stream_queue: int = 64,
    stream_heartbeat_s: float = 15.0,
    cosigner: CoSigner | None = None,
) -> web.Application:
    """The API; with `admin_token`, also the admin calls (bearer-token authenticated).

    `venue_health` (the fetcher's `health`) serves `GET /v1/venues` and the `venues` part of
    `/health`. `rate_limit` (None: unlimited) is charged one token per request, keyed by the
    client's address, on the `monotonic` clock. `/v1/stream` keeps at most `stream_queue`
    events per client and sends a heartbeat comment after `stream_heartbeat_s` of silence.
    """
    allowed_query: AllowedQuery = {}  # filled in at startup, once every route is registered
    app = web.Application()
    app[NODE_KEY] = node
    app[CLOCK_KEY] = clock
    app[INTERVAL_KEY] = round_interval_s
    app[QUERY_KEY] = allowed_query
    views = FeedViews(node)
    app[VIEWS_KEY] = views
    broker = EventBroker(node, views, stream_queue, stream_heartbeat_s)
    app[BROKER_KEY] = broker
    app.on_shutdown.append(lambda _: broker.close())
    routes = GuardedRoutes(app, Guard(rate_limit, monotonic, allowed_query))
    if venue_health is not None:
        app[VENUE_HEALTH_KEY] = venue_health
        routes.get("/v1/venues", list_venues)
    reads = _FeedReads(node, views, clock, round_interval_s)
    # The hot read first: the router tries the resources of `/v1/feeds` in registration order.
    pairs = [{"pair": feed.replace("/", "-")} for feed in node.status]
    routes.get_sync("/v1/feeds/{pair}", reads.one, shortcuts=pairs)
    routes.get_sync("/v1/feeds", reads.all)
    routes.get("/v1/feeds/{pair}/history", feed_history)
    routes.adopt(lambda scratch: add_observation_route(scratch, node))
    if cosigner is not None:  # a quorum member of aggregate feeds: relays ask it to co-sign
        routes.adopt(lambda scratch: add_cosign_routes(scratch, cosigner))
    routes.get("/v1/stream", stream)
    routes.get("/health", health)
    routes.get("/metrics", metrics)
    routes.get("/openapi.json", openapi)
    if admin_token is not None:
        routes.adopt(lambda scratch: add_admin_routes(scratch, admin_token))
    routes.fallback()
    app.on_startup.append(_freeze_document)
    return app


def rate_limiter(config: HttpConfig) -> RateLimiter | None:
    """The per-client limiter the config asks for; None when `rate_limit_per_s` is 0."""
    if config.rate_limit_per_s == 0:
        return None
    return RateLimiter(config.rate_limit_per_s, config.rate_limit_burst)


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _freeze_document(app: web.Application) -> None:
    """Write the document for the routes registered by now (others may add theirs after us)."""
    registered = {r.canonical for r in app.router.resources()}
    doc = document(
        admin="/v1/admin/feeds/{pair}/pause" in registered,
        venues="/v1/venues" in registered,
        metrics="/metrics" in registered,
        observation="/v1/feeds/{pair}/observation" in registered,
        cosign="/v1/feeds/{pair}/cosign" in registered,
    )
    app[QUERY_KEY].update(allowed_query(doc))
    app[DOC_KEY] = json.dumps(doc).encode()


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[DOC_KEY], content_type="application/json")


class _FeedReads:
    """`GET /v1/feeds/{pair}` and `GET /v1/feeds`: the views' cached bytes, tag and headers.

    The busiest calls of the API, so a read is a lookup of what the views built when the feed
    last changed, a clock read for `max-age`, and the response: no serialization, no hashing.
    """

    def __init__(
        self, node: OracleNode, views: FeedViews, clock: Callable[[], int], interval_s: float
    ) -> None:
        self._node = node
        self._views = views
        self._clock = clock
        self._interval_ms = interval_s * 1000

    def one(self, request: web.Request) -> web.Response:
        served = self._views.served(node_feed(self._node, request.match_info["pair"]))
        return self._answer(request, served)

    def all(self, request: web.Request) -> web.Response:
        return self._answer(request, self._views.served_all())

    def _answer(self, request: web.Request, served: Served) -> web.Response:
        """200 with the body, or 304 when `If-None-Match` names its tag; both with validators."""
        max_age = self._max_age()
        wanted = request.headers.get("If-None-Match")
        if wanted is not None and _matches(wanted, served.tag):
            headers = {"ETag": served.tag, "Cache-Control": f"max-age={max_age}"}
            return web.Response(status=304, headers=headers)
        return web.Response(body=served.body, headers=served.headers(max_age))

    def _max_age(self) -> int:
        """Whole seconds until the next round is due: no value can change before it."""
        last = self._node.last_round_ts_ms
        if last is None:
            return 0
        interval_ms = self._interval_ms
        left_ms = last + interval_ms - self._clock()
        if left_ms <= 0:
            return 0
        return int((left_ms if left_ms < interval_ms else interval_ms) // 1000)


def _matches(if_none_match: str, tag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires; `*` matches any current body."""
    candidates = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in candidates or tag in candidates


HISTORY_LIMIT = 1000
HISTORY_MAX_LIMIT = 10_000


async def feed_history(request: web.Request) -> web.Response:
    """`?from=&to=` (unix s or ms, or ISO 8601; default the last hour) `&limit=` (<= 10,000)."""
    node = request.app[NODE_KEY]
    feed = feed_of(request)
    now = request.app[CLOCK_KEY]()
    to_ms = _time_param(request, "to", now)
    from_ms = _time_param(request, "from", to_ms - 3_600_000)
    if from_ms > to_ms:
        raise ApiError(400, "from must not be after to")
    text = request.query.get("limit", str(HISTORY_LIMIT))
    if not (text.isascii() and text.isdigit()):
        raise ApiError(400, "limit must be an integer")
    limit = int(text)
    if not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {HISTORY_MAX_LIMIT}")
    body = await journal_history(node.journal, feed, from_ms, to_ms, limit)
    return web.json_response({"feed": feed, "from_ms": from_ms, "to_ms": to_ms, **body})


def _time_param(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        return parse_time_ms(text)
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, f"{name}: {exc}") from None


async def health(request: web.Request) -> web.Response:
    """200 while rounds run on time; 503 when no round completed in three intervals."""
    node = request.app[NODE_KEY]
    now = request.app[CLOCK_KEY]()
    last = node.last_round_ts_ms
    late_ms = 3 * request.app[INTERVAL_KEY] * 1000
    fresh = last is not None and now - last <= late_ms
    body: dict[str, Any] = {
        "status": "ok" if fresh else "stale",
        "last_round_ts_ms": last,
        "round_id": node.round_id,
        "feeds_with_value": sum(1 for s in node.status.values() if s.value_answer is not None),
    }
    venue_health = request.app.get(VENUE_HEALTH_KEY)
    if venue_health is not None:
        statuses = [h.status for h in venue_health().values()]
        body["venues"] = {status: statuses.count(status) for status in sorted(set(statuses))}
    return web.json_response(body, status=200 if fresh else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format (version 0.0.4): the node's own registry, see node/metrics.py."""
    body = request.app[NODE_KEY].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def list_venues(request: web.Request) -> web.Response:
    """Every venue's health: success rate, latency, last error, last good quote, stream."""
    health = request.app[VENUE_HEALTH_KEY]()
    return web.json_response({"venues": [health[name].as_json() for name in sorted(health)]})
