"""Gemini REST (api.gemini.com/v1): symbols and public tickers.

`/v1/symbols` is a bare array of lowercase ids; `/v1/pubticker/{id}` writes prices as strings
and puts the timestamp (unix ms, a string) inside `volume`, keyed beside each currency's
volume, as in the recorded `GET /v1/pubticker/btcusdt`.
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

LISTINGS = listings((*USD_MARKETS, *USDT_MARKETS), lambda base, quote: f"{base}{quote}".lower())


def symbols(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return Reply([listing.venue_id for listing in LISTINGS])


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """The body of `/v1/pubticker/{id}`, as the recorded response writes it."""
    book = board.book(listing)
    decimals = places(listing.tick)
    return {
        "bid": fixed(book.bid, decimals),
        "ask": fixed(book.ask, decimals),
        "last": fixed(book.last, decimals),
        "volume": {
            listing.base: plain(book.base_volume),
            listing.quote: plain(book.quote_volume),
            "timestamp": str(board.now_ms // 1000 * 1000),
        },
    }


def pubticker(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    listing = VENUE.by_id(path["symbol"])
    if listing is None:
        return Reply({"result": "error", "reason": "InvalidSymbol",
                      "message": f"Supplied value '{path['symbol']}' is not a valid symbol"},
                     status=400)  # fmt: skip
    return Reply(ticker_body(board, listing))


VENUE = Venue(
    name="gemini",
    listings=LISTINGS,
    routes=(
        Route("/v1/symbols", symbols),
        Route("/v1/pubticker/{symbol}", pubticker),
    ),
)
