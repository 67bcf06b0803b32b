"""Bybit v5 REST (api.bybit.com/v5): spot instruments and spot tickers.

Every body is the `{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {},
"time": ms}` envelope. Spot ticker entries carry Bybit's spot field set (no funding or open
interest, `usdIndexPrice` instead); Bybit gives no per-ticker timestamp, only the envelope's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.venues.base import (
    USDT_MARKETS,
    Board,
    Listing,
    Query,
    Reply,
    Route,
    Venue,
    fixed,
    listings,
    places,
)

LISTINGS = listings(USDT_MARKETS, lambda base, quote: f"{base}{quote}")


def _envelope(board: Board, result: dict[str, Any], code: int = 0, msg: str = "OK") -> Reply:
    return Reply(
        {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": board.now_ms}
    )


def _instrument(listing: Listing) -> dict[str, Any]:
    return {
        "symbol": listing.venue_id,
        "baseCoin": listing.base,
        "quoteCoin": listing.quote,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "utaOnly",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": "0.000001",
            "quotePrecision": "0.0000001",
            "minOrderQty": "0.000011",
            "maxOrderQty": "83",
            "minOrderAmt": "5",
            "maxOrderAmt": "8000000",
        },
        "priceFilter": {"tickSize": listing.tick},
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
    }


def instruments_info(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    category = query.get("category", "")
    found = [_instrument(listing) for listing in LISTINGS] if category == "spot" else []
    return _envelope(board, {"category": category, "list": found, "nextPageCursor": ""})


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """One `result.list` entry of `/v5/market/tickers?category=spot`."""
    book = board.book(listing)
    decimals = places(listing.tick)
    return {
        "symbol": listing.venue_id,
        "bid1Price": fixed(book.bid, decimals),
        "bid1Size": "0.5",
        "ask1Price": fixed(book.ask, decimals),
        "ask1Size": "0.25",
        "lastPrice": fixed(book.last, decimals),
        "prevPrice24h": fixed(book.open, decimals),
        "price24hPcnt": fixed((book.last - book.open) / book.open, 4),
        "highPrice24h": fixed(book.high, decimals),
        "lowPrice24h": fixed(book.low, decimals),
        "turnover24h": fixed(book.quote_volume, 8),
        "volume24h": fixed(book.base_volume, 6),
        "usdIndexPrice": fixed(book.last, 8),
    }


def tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`?category=spot[&symbol=X]`: all spot tickers, or the one asked for."""
    category = query.get("category", "")
    if category != "spot":
        return _envelope(board, {"category": category, "list": []})
    if "symbol" in query:
        listing = VENUE.by_id(query["symbol"])
        if listing is None:
            return _envelope(board, {}, code=10001, msg="Not supported symbols")
        return _envelope(board, {"category": "spot", "list": [ticker_body(board, listing)]})
    found = [ticker_body(board, listing) for listing in LISTINGS]
    return _envelope(board, {"category": "spot", "list": found})


VENUE = Venue(
    name="bybit",
    listings=LISTINGS,
    routes=(
        Route("/v5/market/instruments-info", instruments_info),
        Route("/v5/market/tickers", tickers),
    ),
)
