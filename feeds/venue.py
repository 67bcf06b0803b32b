"""How to reach one venue: which ccxt class, where its API lives, which price to read.

This is the only module that builds ccxt exchange objects. ccxt is untyped, so the instance
leaves here as `Any` and stays inside `feeds`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import ccxt as ccxt_base
import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

PriceField = Literal["last", "mid", "bid", "ask"]
PRICE_FIELDS: tuple[PriceField, ...] = ("mid", "last", "bid", "ask")

# ccxt keeps each venue's endpoints as `scheme://host/path` strings, sometimes with a
# `{hostname}` placeholder in the host; only the `scheme://host` part is ours to swap.
_ORIGIN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+")

# Per-venue ccxt options that keep `load_markets` to spot markets: fewer requests, and no
# contract symbols that shadow the spot ones. KuCoin would also read every ticker to learn
# fees the node never pays.
_SPOT_ONLY_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot"]}},
    "okx": {"fetchMarkets": {"types": ["spot"]}},
    "bybit": {"fetchMarkets": {"types": ["spot"]}},
    "bitget": {"fetchMarkets": {"types": ["spot"]}},
    "gate": {"fetchMarkets": {"types": ["spot"]}},
    "kucoin": {"fetchMarkets": {"types": ["spot"], "fetchTickersFees": False}},
    "htx": {"fetchMarkets": {"types": {"spot": True, "linear": False, "inverse": False}}},
}

# Binance's default `watch_tickers` channel is the mini ticker, which has no bid or ask.
_STREAM_OPTIONS: dict[str, dict[str, Any]] = {"binance": {"watchTickers": {"name": "ticker"}}}

STREAMING_VENUES: frozenset[str] = frozenset({"binance", "okx"})
"""ccxt ids whose `watch_tickers` stream the node can read (and the simulator can serve)."""


@dataclass(frozen=True)
class VenueSpec:
    """One venue the node reads.

    `exchange` is the ccxt id (`binance`, `kraken`, ...). `api_url`, when set, replaces the
    `scheme://host` of every endpoint ccxt knows for the venue, keeping ccxt's own paths: with
    `http://127.0.0.1:9000/binance`, `https://api.binance.com/api/v3` becomes
    `http://127.0.0.1:9000/binance/api/v3` (and a websocket endpoint `ws://` the same host).

    `price` picks the quote's price for every market of the venue (`mid`, `last`, `bid`,
    `ask`; see `feeds.tickers.quote_from_ticker`); `prices` overrides it per market
    (`{"BTC/USD": "last"}`).

    `rate_limit_ms` is the venue's request allowance as ccxt writes it: one unit of request
    cost per `rate_limit_ms` (ccxt's own figure for the venue when None). The fetcher never
    spends faster than that; a venue that cannot be polled every round is polled less often
    and its last quotes age.

    `stream`: read the venue through ccxt.pro's `watch_tickers` (websocket), falling back
    to REST for any market whose stream has said nothing for `stall_timeout_s`.
    """

    exchange: str
    api_url: str | None = None
    price: PriceField = "mid"
    rate_limit_ms: float | None = None
    prices: Mapping[str, PriceField] = field(default_factory=dict)
    stream: bool = False
    stall_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.exchange not in ccxt_async.exchanges:
            raise ValueError(f"unknown ccxt exchange id {self.exchange!r}")
        if self.api_url is not None and not _ORIGIN.match(self.api_url):
            raise ValueError(f"api_url must look like scheme://host[/path], got {self.api_url!r}")
        if self.rate_limit_ms is not None and self.rate_limit_ms < 0:
            raise ValueError("rate_limit_ms must be >= 0")
        if self.stream and self.exchange not in STREAMING_VENUES:
            raise ValueError(
                f"streaming is supported for {', '.join(sorted(STREAMING_VENUES))}, "
                f"not {self.exchange!r}"
            )
        if self.stall_timeout_s <= 0:
            raise ValueError("stall_timeout_s must be positive")

    def price_for(self, symbol: str) -> PriceField:
        """The price field the quote of `symbol` carries."""
        return self.prices.get(symbol, self.price)


def _http_semantics(
    exchange_id: str,
) -> Callable[[int, str, str, str, Any, str, Any, Any], str]:
    def on_rest_response(
        code: int, reason: str, url: str, method: str, headers: Any, body: str,
        request_headers: Any, request_body: Any,
    ) -> str:  # fmt: skip
        if code in (418, 429):
            raise ccxt_base.RateLimitExceeded(f"{exchange_id} {method} {url} {code} {reason}")
        if 200 <= code < 300 and body.lstrip()[:1] in ("{", "["):
            try:
                json.loads(body)
            except ValueError:
                raise ccxt_base.BadResponse(
                    f"{exchange_id} {method} {url} {code} body is not valid JSON"
                ) from None
        return body

    return on_rest_response


def rebase_url(url: str, api_url: str) -> str:
    """`url` with its `scheme://host` replaced by `api_url` (no trailing slash), path kept.

    A websocket URL (`ws://`, `wss://`) keeps a websocket scheme: `wss` for an `https`
    `api_url`, else `ws`.
    """
    base = api_url.rstrip("/")
    if url.startswith(("ws://", "wss://")):
        scheme, rest = base.split("://", 1)
        base = ("wss://" if scheme in ("https", "wss") else "ws://") + rest
    return _ORIGIN.sub(lambda _: base, url, count=1)


def rebase_urls(api: Any, api_url: str) -> Any:
    """A copy of ccxt's nested `urls['api']` (dicts and strings) with every URL rebased."""
    if isinstance(api, str):
        return rebase_url(api, api_url)
    if isinstance(api, dict):
        return {key: rebase_urls(value, api_url) for key, value in api.items()}
    return api


def build_exchange(
    spec: VenueSpec,
    timeout_ms: int,
    extra_config: Mapping[str, Any] | None = None,
    *,
    streaming: bool = False,
) -> Any:
    """A fresh ccxt async exchange for `spec`, with rate limiting on and `timeout_ms` per request.

    `streaming` builds the ccxt.pro class (websockets) instead. `extra_config` is merged into
    ccxt's constructor config (its `options` into ours). The caller owns the instance and
    must `await instance.close()`.
    """
    extra = dict(extra_config or {})
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        # Markets are all the node needs; currency lists cost requests (one per venue, more
        # on some) and carry nothing a price depends on.
        "has": {"fetchCurrencies": False},
        **extra,
        "options": {**_SPOT_ONLY_OPTIONS.get(spec.exchange, {}), **extra.get("options", {})},
    }
    if streaming:
        config["options"] = {**config["options"], **_STREAM_OPTIONS.get(spec.exchange, {})}
    if spec.rate_limit_ms is not None:
        config["rateLimit"] = spec.rate_limit_ms
    exchange = getattr(ccxt_pro if streaming else ccxt_async, spec.exchange)(config)
    # ccxt's documented per-response hook: HTTP's own word is heard before any venue parser
    # reads the body (some map a 429 or a truncated body to a generic error).
    exchange.on_rest_response = _http_semantics(exchange.id)
    if spec.api_url is not None:
        exchange.urls["api"] = rebase_urls(exchange.urls["api"], spec.api_url)
    return exchange
