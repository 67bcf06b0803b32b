"""Gate v4 REST (api.gateio.ws/api/v4): spot currency pairs, margin pairs, spot tickers.

Bodies are bare JSON arrays; every value is a string and a ticker has no timestamp, as in the
recorded `GET /spot/tickers?currency_pair=BTC_USDT`.
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

LISTINGS = listings(USDT_MARKETS, lambda base, quote: f"{base}_{quote}", {"BTC/USDT": "0.1"})


def _pair(listing: Listing) -> dict[str, Any]:
    return {
        "id": listing.venue_id, "base": listing.base, "quote": listing.quote,
        "leverage": "20", "min_base_amount": "0.000001", "min_quote_amount": "3",
        "max_quote_amount": "5000000", "status": "1", "base_name": listing.base,
        "quote_name": listing.quote, "fee": "0.2", "max_base_amount": "100",
        "amount_precision": "6", "precision": str(places(listing.tick)),
        "trade_status": "tradable", "sell_start": "0", "buy_start": "0", "type": "normal",
        "trade_url": f"https://www.gate.com/trade/{listing.venue_id}", "st_tag": False,
        "slippage": "0.03", "market_order_max_stock": "63", "market_order_max_money": "5000000",
        "up_rate": "0.08", "down_rate": "0.08",
    }  # fmt: skip


def currency_pairs(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return Reply([_pair(listing) for listing in LISTINGS])


def margin_pairs(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """No margin trading on the simulated venue: ccxt merges what it finds here."""
    return Reply([])


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """One entry of `/spot/tickers`, as the recorded response writes it."""
    book = board.book(listing)
    return {
        "currency_pair": listing.venue_id,
        "last": plain(book.last),
        "lowest_ask": plain(book.ask),
        "highest_bid": plain(book.bid),
        "change_percentage": f"{(book.last - book.open) / book.open * 100:.2f}",
        "base_volume": plain(book.base_volume),
        "quote_volume": plain(book.quote_volume),
        "high_24h": plain(book.high),
        "low_24h": plain(book.low),
    }


def tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`?currency_pair=X`: that pair (in a list); nothing: every pair."""
    if "currency_pair" in query:
        listing = VENUE.by_id(query["currency_pair"])
        if listing is None:
            return Reply({"label": "INVALID_CURRENCY", "message": "Invalid currency"}, 400)
        return Reply([ticker_body(board, listing)])
    return Reply([ticker_body(board, listing) for listing in LISTINGS])


VENUE = Venue(
    name="gate",
    listings=LISTINGS,
    routes=(
        Route("/api/v4/spot/currency_pairs", currency_pairs),
        Route("/api/v4/margin/currency_pairs", margin_pairs),
        Route("/api/v4/spot/tickers", tickers),
    ),
)
