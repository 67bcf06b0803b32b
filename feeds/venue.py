"""How to reach one venue: which ccxt class, where its API lives, which price to read.

This is the only module that builds ccxt exchange objects. ccxt is untyped, so the instance
leaves here as `Any` and stays inside `feeds`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import ccxt.async_support as ccxt_async

PriceField = Literal["last", "mid"]

# ccxt keeps each venue's endpoints as `scheme://host/path` strings, sometimes with a
# `{hostname}` placeholder in the host; only the `scheme://host` part is ours to swap.
_ORIGIN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]+")

# Per-venue ccxt options that keep `load_markets` to spot markets: one request instead of
# one per derivative family, and no contract symbols that shadow the spot ones.
_SPOT_ONLY_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot"]}},
    "okx": {"fetchMarkets": {"types": ["spot"]}},
    "bybit": {"fetchMarkets": {"types": ["spot"]}},
}


@dataclass(frozen=True)
class VenueSpec:
    """One venue the node reads.

    `exchange` is the ccxt id (`binance`, `kraken`, ...). `api_url`, when set, replaces the
    `scheme://host` of every endpoint ccxt knows for the venue, keeping ccxt's own paths: with
    `http://127.0.0.1:9000/binance`, `https://api.binance.com/api/v3` becomes
    `http://127.0.0.1:9000/binance/api/v3`. `price` picks the quote's price: the mid of bid
    and ask when both are present (`mid`), else the last trade. `rate_limit_ms` overrides
    ccxt's own spacing between two requests to the venue.
    """

    exchange: str
    api_url: str | None = None
    price: PriceField = "mid"
    rate_limit_ms: int | None = None

    def __post_init__(self) -> None:
        if self.exchange not in ccxt_async.exchanges:
            raise ValueError(f"unknown ccxt exchange id {self.exchange!r}")
        if self.api_url is not None and not _ORIGIN.match(self.api_url):
            raise ValueError(f"api_url must look like scheme://host[/path], got {self.api_url!r}")
        if self.rate_limit_ms is not None and self.rate_limit_ms < 0:
            raise ValueError("rate_limit_ms must be >= 0")


def rebase_url(url: str, api_url: str) -> str:
    """`url` with its `scheme://host` replaced by `api_url` (no trailing slash), path kept."""
    return _ORIGIN.sub(lambda _: api_url.rstrip("/"), url, count=1)


def rebase_urls(api: Any, api_url: str) -> Any:
    """A copy of ccxt's nested `urls['api']` (dicts and strings) with every URL rebased."""
    if isinstance(api, str):
        return rebase_url(api, api_url)
    if isinstance(api, dict):
        return {key: rebase_urls(value, api_url) for key, value in api.items()}
    return api


def build_exchange(
    spec: VenueSpec, timeout_ms: int, extra_config: Mapping[str, Any] | None = None
) -> Any:
    """A fresh ccxt async exchange for `spec`, with rate limiting on and `timeout_ms` per request.

    `extra_config` is merged into ccxt's constructor config (its `options` into ours). The
    caller owns the instance and must `await instance.close()`.
    """
    extra = dict(extra_config or {})
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        **extra,
        "options": {**_SPOT_ONLY_OPTIONS.get(spec.exchange, {}), **extra.get("options", {})},
    }
    if spec.rate_limit_ms is not None:
        config["rateLimit"] = spec.rate_limit_ms
    exchange = getattr(ccxt_async, spec.exchange)(config)
    if spec.api_url is not None:
        exchange.urls["api"] = rebase_urls(exchange.urls["api"], spec.api_url)
    return exchange
