"""What the HTTP API's modules share: the application's keys, its error, the `{pair}` reader."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from aiohttp import web

from feeds.health import VenueHealth
from node.feed_view import FeedViews
from node.service import OracleNode

NODE_KEY = web.AppKey("node", OracleNode)
VIEWS_KEY = web.AppKey("views", FeedViews)
CLOCK_KEY: web.AppKey[Callable[[], int]] = web.AppKey("clock")
INTERVAL_KEY = web.AppKey("interval_s", float)
ADMIN_TOKEN_KEY = web.AppKey("admin_token", bytes)

VenueHealthSource = Callable[[], Mapping[str, VenueHealth]]
VENUE_HEALTH_KEY: web.AppKey[VenueHealthSource] = web.AppKey("venue_health")


class ApiError(Exception):
    """A request the API refuses: answered as JSON `{"error": message}` with `status` (4xx/5xx)."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def _symbol(text: str) -> bool:
    return text.isascii() and text.isalnum()


@lru_cache(maxsize=1024)
def parse_pair(pair: str) -> str:
    """`BTC-usd` -> `BTC/USD`; `ValueError` with the reason when it is not BASE-QUOTE.

    Cached (bounded): every feed read parses its path, and clients ask for the same few pairs.
    """
    base, sep, quote = pair.partition("-")
    if not sep or not _symbol(base) or not _symbol(quote):
        raise ValueError(f"feed {pair!r} must be BASE-QUOTE, e.g. BTC-USD")
    return f"{base.upper()}/{quote.upper()}"


def node_feed(node: OracleNode, pair: str) -> str:
    """`node`'s feed named `pair` (400 if malformed, 404 if the node has no such feed)."""
    try:
        feed = parse_pair(pair)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    if feed not in node.status:
        raise ApiError(404, f"no feed {feed}; GET /v1/feeds lists them")
    return feed


def known_feed(request: web.Request, pair: str) -> str:
    """The node's feed named `pair` (400 if malformed, 404 if the node has no such feed)."""
    return node_feed(request.app[NODE_KEY], pair)


def feed_of(request: web.Request) -> str:
    """The known feed named by the `{pair}` of the path."""
    return known_feed(request, request.match_info["pair"])
