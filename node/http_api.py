"""The node's HTTP API (aiohttp): feeds, health, admin. Bound to 127.0.0.1 unless configured.

Every error is JSON `{"error": "..."}`; bad input gets a 4xx, never a 500. Admin calls exist
only when a bearer token file is configured (`http.admin_token_file`); otherwise they are 404.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from feeds.health import VenueHealth
from node.config import ConfigError
from node.metrics import CONTENT_TYPE
from node.records import aggregate_json
from node.service import FeedStatus, OracleNode
from node.times import parse_time_ms
from publisher.answer import from_answer

log = logging.getLogger("oracle.http")

NODE_KEY = web.AppKey("node", OracleNode)
CLOCK_KEY: web.AppKey[Callable[[], int]] = web.AppKey("clock")
INTERVAL_KEY = web.AppKey("interval_s", float)
ADMIN_TOKEN_KEY = web.AppKey("admin_token", bytes)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VenueHealthSource = Callable[[], Mapping[str, VenueHealth]]
VENUE_HEALTH_KEY: web.AppKey[VenueHealthSource] = web.AppKey("venue_health")


def create_app(
    node: OracleNode,
    clock: Callable[[], int],
    round_interval_s: float,
    admin_token: str | None = None,
    venue_health: VenueHealthSource | None = None,
) -> web.Application:
    """The API; with `admin_token`, also the admin calls (bearer-token authenticated).

    `venue_health` (the fetcher's `health`) serves `GET /v1/venues` and the `venues` part of
    `/health`.
    """
    app = web.Application(middlewares=[_json_errors])
    app[NODE_KEY] = node
    app[CLOCK_KEY] = clock
    app[INTERVAL_KEY] = round_interval_s
    if venue_health is not None:
        app[VENUE_HEALTH_KEY] = venue_health
        app.router.add_get("/v1/venues", list_venues)
    app.router.add_get("/v1/feeds", list_feeds)
    app.router.add_get("/v1/feeds/{pair}", get_feed)
    app.router.add_get("/v1/feeds/{pair}/history", feed_history)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    if admin_token is not None:
        app[ADMIN_TOKEN_KEY] = admin_token.encode()
        app.router.add_post("/v1/admin/feeds/{pair}/breaker/reset", reset_breaker)
    return app


def load_admin_token(path: Path | None) -> str | None:
    """The admin bearer token from its file (surrounding whitespace dropped); None: admin off.

    Raises `ConfigError` when the file is configured but unreadable or shorter than 16
    characters: a guessable token would be worse than no admin API.
    """
    if path is None:
        return None
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"http.admin_token_file {path}: {exc.strerror or exc}") from None
    if len(token) < 16:
        raise ConfigError(f"http.admin_token_file {path}: the token must be 16 characters or more")
    return token


def feed_json(node: OracleNode, feed: str, status: FeedStatus) -> dict[str, Any]:
    """The public view of one feed (DESIGN.md: feed, value, decimals, answer, timestamp, ...)."""
    rule = next(r for r in node.rules.feeds if r.spec.feed == feed)
    plan = status.plan
    agg = aggregate_json(plan.aggregate) if plan is not None else None
    published = status.published
    return {
        "feed": feed,
        "value": None
        if status.value_answer is None
        else str(from_answer(status.value_answer, rule.decimals)),
        "decimals": rule.decimals,
        "answer": None if status.value_answer is None else str(status.value_answer),
        "timestamp": None if status.value_ts_ms is None else status.value_ts_ms // 1000,
        "round_id": status.round_id,
        "dispersion": None if agg is None else agg["dispersion"],
        "sources_used": [] if agg is None else agg["sources_used"],
        "sources_rejected": [] if agg is None else agg["sources_rejected"],
        "error": None if agg is None else agg["error"],
        "band": None if agg is None else agg["band"],
        "estimator": None if agg is None else agg["estimator"],
        "breaker": "closed" if plan is None else str(plan.decision.status),
        "breaker_reason": None if plan is None else plan.decision.reason,
        "breaker_details": _breaker_details(status),
        "contract": node.contract_address(feed),
        "last_tx": None if status.receipt is None else status.receipt.tx_hash,
        "published": None
        if published is None
        else {
            "answer": str(published.answer),
            "value": str(from_answer(published.answer, rule.decimals)),
            "updated_at": published.updated_at,
            "round_id": None if status.receipt is None else status.receipt.onchain_round_id,
            "tx": None if status.receipt is None else asdict(status.receipt),
        },
        "publish_error": status.publish_error,
    }


def _breaker_details(status: FeedStatus) -> dict[str, Any]:
    """Why the breaker is where it is, and whether `value` is a held (older) value."""
    plan = status.plan
    if plan is None:
        return {
            "status": "closed",
            "holding": False,
            "trips": [],
            "verdict": None,
            "open_since": None,
            "reset_pending": status.reset_pending,
        }
    since = plan.breaker.since_ms
    return {
        "status": str(plan.decision.status),
        "holding": not plan.decision.allow,
        "trips": list(plan.decision.trips),
        "verdict": plan.decision.verdict,
        "open_since": None if since is None else since // 1000,
        "reset_pending": status.reset_pending,
    }


async def list_feeds(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    return web.json_response({"feeds": [feed_json(node, f, s) for f, s in node.status.items()]})


async def get_feed(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    feed = _feed_of(request)
    return web.json_response(feed_json(node, feed, node.status[feed]))


def _feed_of(request: web.Request) -> str:
    """The known feed named by the `{pair}` of the path (400 if malformed, 404 if unknown)."""
    pair = request.match_info["pair"]
    base, sep, quote = pair.partition("-")
    if not sep or not base.isalnum() or not quote.isalnum():
        raise web.HTTPBadRequest(reason=f"feed {pair!r} must be BASE-QUOTE, e.g. BTC-USD")
    feed = f"{base.upper()}/{quote.upper()}"
    if feed not in request.app[NODE_KEY].status:
        raise web.HTTPNotFound(reason=f"no feed {feed}; GET /v1/feeds lists them")
    return feed


async def reset_breaker(request: web.Request) -> web.Response:
    """Admin: reset a feed's breaker; it applies at the next round (202)."""
    _authenticate(request)
    feed = _feed_of(request)
    request.app[NODE_KEY].request_breaker_reset(feed)
    log.warning("admin reset of the %s breaker from %s", feed, request.remote)
    body = {"feed": feed, "reset": "pending", "applies": "at the start of the next round"}
    return web.json_response(body, status=202)


def _authenticate(request: web.Request) -> None:
    """401 without a bearer token, 403 with a wrong one; the comparison is constant-time."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise web.HTTPUnauthorized(
            reason="admin call: send Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(given.strip().encode(), request.app[ADMIN_TOKEN_KEY]):
        raise web.HTTPForbidden(reason="admin call: wrong token")


HISTORY_LIMIT = 1000
HISTORY_MAX_LIMIT = 10_000


async def feed_history(request: web.Request) -> web.Response:
    """`?from=&to=` (unix s or ms, or ISO 8601; default the last hour) `&limit=` (<= 10,000)."""
    node = request.app[NODE_KEY]
    feed = _feed_of(request)
    now = request.app[CLOCK_KEY]()
    to_ms = _time_param(request, "to", now)
    from_ms = _time_param(request, "from", to_ms - 3_600_000)
    if from_ms > to_ms:
        raise web.HTTPBadRequest(reason="from must not be after to")
    try:
        limit = int(request.query.get("limit", HISTORY_LIMIT))
    except ValueError:
        raise web.HTTPBadRequest(reason="limit must be an integer") from None
    if not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise web.HTTPBadRequest(reason=f"limit must be between 1 and {HISTORY_MAX_LIMIT}")
    body = await node.history(feed, from_ms, to_ms, limit)
    return web.json_response({"feed": feed, "from_ms": from_ms, "to_ms": to_ms, **body})


def _time_param(request: web.Request, name: str, default: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        return parse_time_ms(text)
    except ValueError as exc:
        raise web.HTTPBadRequest(reason=f"{name}: {exc}") from None


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


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        challenge = exc.headers.get("WWW-Authenticate")
        headers = None if challenge is None else {"WWW-Authenticate": challenge}
        return web.json_response({"error": exc.reason}, status=exc.status, headers=headers)
    except Exception:
        log.exception("unhandled error serving %s", request.path)
        return web.json_response({"error": "internal error; see the node's log"}, status=500)
