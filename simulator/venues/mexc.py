"""MEXC spot REST (api.mexc.com/api/v3) and its contract detail (contract.mexc.com).

Shapes follow the recorded `GET /api/v3/ticker/24hr?symbol=BTCUSDT` (strings, `closeTime`
in unix ms, `count` null) and the recorded exchangeInfo symbol entries.
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
    listings,
    places,
    plain,
)

_DAY_MS = 86_400_000

LISTINGS = listings(USDT_MARKETS, lambda base, quote: f"{base}{quote}")


def _symbol(listing: Listing) -> dict[str, Any]:
    return {
        "symbol": listing.venue_id, "status": "1", "baseAsset": listing.base,
        "baseAssetPrecision": "6", "quoteAsset": listing.quote,
        "quotePrecision": str(places(listing.tick)),
        "quoteAssetPrecision": str(places(listing.tick)), "baseCommissionPrecision": "6",
        "quoteCommissionPrecision": "2", "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "quoteAmountPrecision": "1.000000000000000000000000000000",
        "baseSizePrecision": "0.000001", "permissions": ["SPOT"], "filters": [],
        "maxQuoteAmount": "2000000.000000000000000000000000000000", "makerCommission": "0",
        "takerCommission": "0.0002",
        "quoteAmountPrecisionMarket": "1.000000000000000000000000000000",
        "maxQuoteAmountMarket": "200000.000000000000000000000000000000",
        "fullName": listing.base, "tradeSideType": "1",
    }  # fmt: skip


def exchange_info(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return Reply(
        {
            "timezone": "CST",
            "serverTime": board.now_ms,
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [_symbol(listing) for listing in LISTINGS],
        }
    )


def contract_detail(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """The simulated venue lists no perpetual contracts."""
    return Reply({"success": True, "code": 0, "data": []})


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """One `/api/v3/ticker/24hr` entry, as the recorded response writes it."""
    book = board.book(listing)
    return {
        "symbol": listing.venue_id,
        "priceChange": plain(book.last - book.open),
        "priceChangePercent": f"{(book.last - book.open) / book.open:.4f}",
        "prevClosePrice": plain(book.open),
        "lastPrice": plain(book.last),
        "bidPrice": plain(book.bid),
        "bidQty": "10.010045",
        "askPrice": plain(book.ask),
        "askQty": "6.337532",
        "openPrice": plain(book.open),
        "highPrice": plain(book.high),
        "lowPrice": plain(book.low),
        "volume": plain(book.base_volume),
        "quoteVolume": f"{book.quote_volume:.2f}",
        "openTime": str(board.now_ms - _DAY_MS),
        "closeTime": str(board.now_ms),
        "count": None,
    }


def ticker_24hr(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`?symbol=X`: one object; nothing: a list of every symbol's."""
    if "symbol" in query:
        listing = VENUE.by_id(query["symbol"])
        if listing is None:
            return Reply({"code": -1121, "msg": "Invalid symbol."}, status=400)
        return Reply(ticker_body(board, listing))
    return Reply([ticker_body(board, listing) for listing in LISTINGS])


VENUE = Venue(
    name="mexc",
    listings=LISTINGS,
    routes=(
        Route("/api/v3/exchangeInfo", exchange_info),
        Route("/api/v3/ticker/24hr", ticker_24hr),
        Route("/api/v1/contract/detail", contract_detail),
    ),
)
