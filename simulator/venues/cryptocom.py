"""Crypto.com Exchange v1 REST (api.crypto.com/exchange/v1): instruments and tickers.

Bodies are `{"id", "method", "code": 0, "result": {"data": [...]}}`; a ticker entry uses
one-letter keys (`b` best bid, `k` best ask, `a` last trade, `t` unix ms as an integer), as in
the recorded `GET /public/get-tickers?instrument_name=BTC_USDT`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.venues.base import (
    USD_MARKETS,
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
    plain,
)

LISTINGS = listings((*USD_MARKETS, *USDT_MARKETS), lambda base, quote: f"{base}_{quote}")


def _envelope(method: str, data: list[dict[str, Any]], request_id: int = 1) -> Reply:
    return Reply({"id": request_id, "method": method, "code": 0, "result": {"data": data}})


def _instrument(listing: Listing) -> dict[str, Any]:
    return {
        "symbol": listing.venue_id,
        "inst_type": "CCY_PAIR",
        "display_name": listing.symbol,
        "base_ccy": listing.base,
        "quote_ccy": listing.quote,
        "quote_decimals": places(listing.tick),
        "quantity_decimals": 5,
        "price_tick_size": listing.tick,
        "qty_tick_size": "0.00001",
        "max_leverage": "50",
        "tradable": True,
        "expiry_timestamp_ms": 0,
        "beta_product": False,
        "margin_buy_enabled": False,
        "margin_sell_enabled": True,
    }


def instruments(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return _envelope("public/get-instruments", [_instrument(item) for item in LISTINGS])


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """One `result.data` entry of `public/get-tickers`, as the recorded response writes it."""
    book = board.book(listing)
    decimals = places(listing.tick)
    return {
        "i": listing.venue_id,
        "h": fixed(book.high, decimals),
        "l": fixed(book.low, decimals),
        "a": fixed(book.last, decimals),
        "v": plain(book.base_volume),
        "vv": fixed(book.quote_volume, 2),
        "c": f"{(book.last - book.open) / book.open:.4f}",
        "b": fixed(book.bid, decimals),
        "k": fixed(book.ask, decimals),
        "t": board.now_ms,
    }


def tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`?instrument_name=X`: that instrument; nothing: every instrument."""
    name = query.get("instrument_name")
    if name is None:
        found = list(LISTINGS)
    else:
        listing = VENUE.by_id(name)
        if listing is None:
            return Reply({"id": -1, "method": "public/get-tickers", "code": 40004,
                          "message": "Invalid instrument_name"}, status=400)  # fmt: skip
        found = [listing]
    return _envelope("public/get-tickers", [ticker_body(board, item) for item in found], -1)


VENUE = Venue(
    name="cryptocom",
    listings=LISTINGS,
    routes=(
        Route("/exchange/v1/public/get-instruments", instruments),
        Route("/exchange/v1/public/get-tickers", tickers),
    ),
)
