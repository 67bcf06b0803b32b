"""Binance spot REST (api.binance.com/api/v3): exchangeInfo and 24 h tickers.

Shapes follow the recorded `GET /api/v3/ticker/24hr?symbol=BTCUSDT` body (every value a
string, prices with 8 decimals, timestamps in unix ms) and Binance's exchangeInfo entries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
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
)

_DAY_MS = 86_400_000

LISTINGS = listings(USDT_MARKETS, lambda base, quote: f"{base}{quote}")


def _symbol_info(listing: Listing) -> dict[str, Any]:
    return {
        "symbol": listing.venue_id,
        "status": "TRADING",
        "baseAsset": listing.base,
        "baseAssetPrecision": 8,
        "quoteAsset": listing.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fixed(Decimal(listing.tick), 8),
                "maxPrice": "1000000.00000000",
                "tickSize": fixed(Decimal(listing.tick), 8),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001000",
                "maxQty": "9000.00000000",
                "stepSize": "0.00001000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "maxNotional": "9000000.00000000",
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return Reply(
        {
            "timezone": "UTC",
            "serverTime": board.now_ms,
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
            ],
            "exchangeFilters": [],
            "symbols": [_symbol_info(listing) for listing in LISTINGS],
        }
    )


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """One `/api/v3/ticker/24hr` entry, as the recorded response writes it."""
    book = board.book(listing)
    now = board.now_ms
    change = book.last - book.open
    return {
        "symbol": listing.venue_id,
        "priceChange": fixed(change, 8),
        "priceChangePercent": fixed(change / book.open * 100, 3),
        "weightedAvgPrice": fixed((book.open + book.last) / 2, 8),
        "prevClosePrice": fixed(book.open, 8),
        "lastPrice": fixed(book.last, 8),
        "lastQty": "0.01000000",
        "bidPrice": fixed(book.bid, 8),
        "bidQty": "1.50000000",
        "askPrice": fixed(book.ask, 8),
        "askQty": "0.75000000",
        "openPrice": fixed(book.open, 8),
        "highPrice": fixed(book.high, 8),
        "lowPrice": fixed(book.low, 8),
        "volume": fixed(book.base_volume, 8),
        "quoteVolume": fixed(book.quote_volume, 8),
        "openTime": str(now - _DAY_MS),
        "closeTime": str(now),
        "firstId": "1000000",
        "lastId": "2000000",
        "count": "1000001",
    }


def _invalid_symbol() -> Reply:
    return Reply({"code": -1121, "msg": "Invalid symbol."}, status=400)


def ticker_24hr(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`?symbol=X` -> one object; `?symbols=["X","Y"]` or nothing -> a list."""
    if "symbol" in query:
        listing = VENUE.by_id(query["symbol"])
        return _invalid_symbol() if listing is None else Reply(ticker_body(board, listing))
    if "symbols" in query:
        try:
            ids = json.loads(query["symbols"])
        except ValueError:
            return Reply(
                {"code": -1100, "msg": "Illegal characters found in parameter 'symbols'."},
                status=400,
            )
        listings = [VENUE.by_id(str(venue_id)) for venue_id in ids]
        if any(listing is None for listing in listings):
            return _invalid_symbol()
        return Reply([ticker_body(board, listing) for listing in listings if listing is not None])
    return Reply([ticker_body(board, listing) for listing in LISTINGS])


VENUE = Venue(
    name="binance",
    listings=LISTINGS,
    routes=(
        Route("/api/v3/exchangeInfo", exchange_info),
        Route("/api/v3/ticker/24hr", ticker_24hr),
    ),
)
