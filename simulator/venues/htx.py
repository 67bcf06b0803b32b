"""HTX (former Huobi) spot REST (api.huobi.pro): symbols, merged ticker, all tickers.

`/market/detail/merged` writes prices as strings and the book's best levels as
`[price, size]` number pairs, `ts` as a string of unix ms, as in the recorded response;
`/market/tickers` writes numbers.
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

LISTINGS = listings(USDT_MARKETS, lambda base, quote: f"{base}{quote}".lower())


def _symbol(listing: Listing) -> dict[str, Any]:
    return {
        "base-currency": listing.base.lower(), "quote-currency": listing.quote.lower(),
        "price-precision": places(listing.tick), "amount-precision": 6,
        "symbol-partition": "main", "symbol": listing.venue_id, "state": "online",
        "value-precision": 8, "min-order-amt": 0.00001, "max-order-amt": 1000,
        "min-order-value": 1, "limit-order-min-order-amt": 0.00001,
        "limit-order-max-order-amt": 1000, "limit-order-max-buy-amt": 1000,
        "limit-order-max-sell-amt": 1000, "buy-limit-must-less-than": 1.1,
        "sell-limit-must-greater-than": 0.9, "sell-market-min-order-amt": 0.00001,
        "sell-market-max-order-amt": 20, "buy-market-max-order-value": 1500000,
        "leverage-ratio": 5, "super-margin-leverage-ratio": 3, "funding-leverage-ratio": 3,
        "api-trading": "enabled",
    }  # fmt: skip


def symbols(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return Reply({"status": "ok", "data": [_symbol(listing) for listing in LISTINGS]})


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """The body of `/market/detail/merged`, as the recorded response writes it."""
    book = board.book(listing)
    return {
        "ch": f"market.{listing.venue_id}.detail.merged",
        "status": "ok",
        "ts": str(board.now_ms),
        "tick": {
            "id": str(board.now_ms // 10),
            "version": str(board.now_ms // 10),
            "open": plain(book.open),
            "close": plain(book.last),
            "low": plain(book.low),
            "high": plain(book.high),
            "amount": plain(book.base_volume),
            "vol": plain(book.quote_volume),
            "count": str(board.now_ms // 1000 % 1_000_000),
            "bid": [float(book.bid), 0.595189],
            "ask": [float(book.ask), 0.566063],
        },
    }


def merged(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    listing = VENUE.by_id(query.get("symbol", ""))
    if listing is None:
        return Reply({"status": "error", "err-code": "invalid-parameter",
                      "err-msg": "invalid symbol", "data": None})  # fmt: skip
    return Reply(ticker_body(board, listing))


def _summary(board: Board, listing: Listing) -> dict[str, Any]:
    book = board.book(listing)
    return {
        "symbol": listing.venue_id, "open": float(book.open), "high": float(book.high),
        "low": float(book.low), "close": float(book.last), "amount": float(book.base_volume),
        "vol": float(book.quote_volume), "count": 104640, "bid": float(book.bid),
        "bidSize": 0.595189, "ask": float(book.ask), "askSize": 0.566063,
    }  # fmt: skip


def tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    data = [_summary(board, listing) for listing in LISTINGS]
    return Reply({"status": "ok", "ts": board.now_ms, "data": data})


VENUE = Venue(
    name="htx",
    listings=LISTINGS,
    routes=(
        Route("/v1/common/symbols", symbols),
        Route("/market/detail/merged", merged),
        Route("/market/tickers", tickers),
    ),
)
