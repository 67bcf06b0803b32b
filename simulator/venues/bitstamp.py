"""Bitstamp v2 REST (www.bitstamp.net/api/v2): markets and tickers.

Ticker values are strings without trailing zeros at the pair's counter decimals; `timestamp`
is unix seconds as a string, as in the recorded `GET /api/v2/ticker/btcusdt/`.
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
    listings,
    places,
    plain,
)

LISTINGS = listings(
    (*USD_MARKETS, *USDT_MARKETS),
    lambda base, quote: f"{base}{quote}".lower(),
    {"BTC/USD": "1", "ETH/USD": "0.1", "BTC/USDT": "1", "ETH/USDT": "0.1"},
)

_NAMES = {"BTC": "Bitcoin", "ETH": "Ether", "USDT": "Tether", "USD": "U.S. dollar"}


def _market(listing: Listing) -> dict[str, Any]:
    return {
        "name": listing.symbol,
        "market_symbol": listing.venue_id,
        "base_currency": listing.base,
        "base_decimals": 8,
        "counter_currency": listing.quote,
        "counter_decimals": places(listing.tick),
        "minimum_order_value": "10",
        "trading": "Enabled",
        "instant_order_counter_decimals": 2,
        "instant_and_market_orders": "Enabled",
        "description": f"{_NAMES.get(listing.base, listing.base)} / {_NAMES.get(listing.quote, listing.quote)}",
        "market_type": "SPOT",
    }


def markets(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return Reply([_market(listing) for listing in LISTINGS])


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """The body of `/api/v2/ticker/{pair}/`, as the recorded response writes it."""
    book = board.book(listing)
    change = (book.last - book.open) / book.open * 100
    return {
        "timestamp": str(board.now_ms // 1000),
        "open": plain(book.open),
        "high": plain(book.high),
        "low": plain(book.low),
        "last": plain(book.last),
        "volume": plain(book.base_volume),
        "vwap": plain(((book.open + book.last) / 2).quantize(book.last)),
        "bid": plain(book.bid),
        "ask": plain(book.ask),
        "side": "0",
        "open_24": plain(book.open),
        "percent_change_24": f"{change:.2f}",
    }


def ticker_pair(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    listing = VENUE.by_id(path["pair"])
    if listing is None:
        return Reply({"errors": [{"message": "Market not found."}]}, status=404)
    return Reply(ticker_body(board, listing))


def tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`/api/v2/ticker/`: every pair, each entry tagged with `pair` as `BASE/QUOTE`."""
    return Reply([{**ticker_body(board, item), "pair": item.symbol} for item in LISTINGS])


VENUE = Venue(
    name="bitstamp",
    listings=LISTINGS,
    routes=(
        Route("/api/v2/markets/", markets),
        Route("/api/v2/ticker/", tickers),
        Route("/api/v2/ticker/{pair}/", ticker_pair),
    ),
)
