"""The node's HTTP API (aiohttp): feeds, health. Bound to 127.0.0.1 unless configured.

Every error is JSON `{"error": "..."}`; bad input gets a 4xx, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from node.records import aggregate_json
from node.service import FeedStatus, OracleNode
from publisher.answer import from_answer

log = logging.getLogger("oracle.http")

NODE_KEY = web.AppKey("node", OracleNode)
CLOCK_KEY: web.AppKey[Callable[[], int]] = web.AppKey("clock")
INTERVAL_KEY = web.AppKey("interval_s", float)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    node: OracleNode, clock: Callable[[], int], round_interval_s: float
) -> web.Application:
    app = web.Application(middlewares=[_json_errors])
    app[NODE_KEY] = node
    app[CLOCK_KEY] = clock
    app[INTERVAL_KEY] = round_interval_s
    app.router.add_get("/v1/feeds", list_feeds)
    app.router.add_get("/v1/feeds/{pair}", get_feed)
    app.router.add_get("/health", health)
    return app


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
        "breaker": "closed" if plan is None else str(plan.decision.status),
        "breaker_reason": None if plan is None else plan.decision.reason,
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


async def list_feeds(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    return web.json_response({"feeds": [feed_json(node, f, s) for f, s in node.status.items()]})


async def get_feed(request: web.Request) -> web.Response:
    node = request.app[NODE_KEY]
    pair = request.match_info["pair"]
    base, sep, quote = pair.partition("-")
    if not sep or not base.isalnum() or not quote.isalnum():
        raise web.HTTPBadRequest(reason=f"feed {pair!r} must be BASE-QUOTE, e.g. BTC-USD")
    feed = f"{base.upper()}/{quote.upper()}"
    status = node.status.get(feed)
    if status is None:
        raise web.HTTPNotFound(reason=f"no feed {feed}; GET /v1/feeds lists them")
    return web.json_response(feed_json(node, feed, status))


async def health(request: web.Request) -> web.Response:
    """200 while rounds run on time; 503 when no round completed in three intervals."""
    node = request.app[NODE_KEY]
    now = request.app[CLOCK_KEY]()
    last = node.last_round_ts_ms
    late_ms = 3 * request.app[INTERVAL_KEY] * 1000
    fresh = last is not None and now - last <= late_ms
    body = {
        "status": "ok" if fresh else "stale",
        "last_round_ts_ms": last,
        "round_id": node.round_id,
        "feeds_with_value": sum(1 for s in node.status.values() if s.value_answer is not None),
    }
    return web.json_response(body, status=200 if fresh else 503)


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response({"error": exc.reason}, status=exc.status)
    except Exception:
        log.exception("unhandled error serving %s", request.path)
        return web.json_response({"error": "internal error; see the node's log"}, status=500)
