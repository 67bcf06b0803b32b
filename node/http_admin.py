"""The admin calls of the HTTP API: breaker reset, pause and resume of a feed's publication.

They exist only when a bearer token file is configured (`http.admin_token_file`). A request
without the token, or with a wrong one, gets 401 with a `WWW-Authenticate: Bearer` challenge
(RFC 6750); the token is compared in constant time. Every call is applied, and journaled, at
the start of the next round, so an exact replay sees it where the node applied it.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path

from aiohttp import web

from node.config import ConfigError
from node.http_keys import ADMIN_TOKEN_KEY, NODE_KEY, ApiError, feed_of

log = logging.getLogger("oracle.http")

NEXT_ROUND = "at the start of the next round"


def add_admin_routes(app: web.Application, token: str) -> None:
    app[ADMIN_TOKEN_KEY] = token.encode()
    app.router.add_post("/v1/admin/feeds/{pair}/breaker/reset", reset_breaker)
    app.router.add_post("/v1/admin/feeds/{pair}/pause", pause_feed)
    app.router.add_post("/v1/admin/feeds/{pair}/resume", resume_feed)


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


async def reset_breaker(request: web.Request) -> web.Response:
    """Admin: reset a feed's breaker; it applies at the next round (202)."""
    _authenticate(request)
    feed = feed_of(request)
    request.app[NODE_KEY].request_breaker_reset(feed)
    log.warning("admin reset of the %s breaker from %s", feed, request.remote)
    body = {"feed": feed, "reset": "pending", "applies": NEXT_ROUND}
    return web.json_response(body, status=202)


async def pause_feed(request: web.Request) -> web.Response:
    """Admin: stop publishing a feed (still fetched, aggregated and served); 202."""
    return _set_paused(request, True)


async def resume_feed(request: web.Request) -> web.Response:
    """Admin: publish a paused feed again; 202."""
    return _set_paused(request, False)


def _set_paused(request: web.Request, paused: bool) -> web.Response:
    _authenticate(request)
    feed = feed_of(request)
    request.app[NODE_KEY].request_pause(feed, paused)
    log.warning("admin %s of %s from %s", "pause" if paused else "resume", feed, request.remote)
    body = {"feed": feed, "paused": paused, "applies": NEXT_ROUND}
    return web.json_response(body, status=202)


def _authenticate(request: web.Request) -> None:
    """401 without a bearer token or with a wrong one; the comparison is constant-time."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(
            401,
            "admin call: send Authorization: Bearer <token>",
            {"WWW-Authenticate": 'Bearer realm="oracle-node admin"'},
        )
    if not hmac.compare_digest(given.strip().encode(), request.app[ADMIN_TOKEN_KEY]):
        raise ApiError(
            401,
            "admin call: wrong token",
            {"WWW-Authenticate": 'Bearer realm="oracle-node admin", error="invalid_token"'},
        )
