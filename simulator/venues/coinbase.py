"""Coinbase Advanced Trade public REST (api.coinbase.com/api/v3/brokerage/market).

`/market/products` lists spot products (`{"products": [...], "num_products"}`);
`/market/products/{id}/ticker?limit=1` gives the last trade and the best bid and ask, as in
the recorded `GET .../products/BTC-USDC/ticker` (ISO 8601 trade time, empty per-trade bid/ask).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.market import STABLE_ASSETS
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
    iso8601_micro,
    listings,
    places,
    plain,
)

LISTINGS = listings(
    (*USD_MARKETS, *USDT_MARKETS, "BTC/USDC", "ETH/USDC"), lambda base, quote: f"{base}-{quote}"
)


def _product(board: Board, listing: Listing) -> dict[str, Any]:
    book = board.book(listing)
    return {
        "product_id": listing.venue_id, "price": plain(book.last),
        "price_percentage_change_24h": f"{(book.last - book.open) / book.open * 100:.8f}",
        "volume_24h": plain(book.base_volume), "volume_percentage_change_24h": "0",
        "base_increment": "0.00000001", "quote_increment": listing.tick, "quote_min_size": "1",
        "quote_max_size": "150000000", "base_min_size": "0.00000001", "base_max_size": "3400",
        "base_name": listing.base, "quote_name": listing.quote, "watched": False,
        "is_disabled": False, "new": False, "status": "online", "cancel_only": False,
        "limit_only": False, "post_only": False, "trading_disabled": False,
        "auction_mode": False, "product_type": "SPOT", "quote_currency_id": listing.quote,
        "base_currency_id": listing.base, "fcm_trading_session_details": None,
        "mid_market_price": "", "alias": "", "alias_to": [],
        "base_display_symbol": listing.base, "quote_display_symbol": listing.quote,
        "view_only": False, "price_increment": listing.tick, "display_name": listing.venue_id,
        "product_venue": "CBE", "approximate_quote_24h_volume": plain(book.quote_volume),
        "is_stablecoin": listing.base in STABLE_ASSETS,
    }  # fmt: skip


def products(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """Spot products; none of another `product_type` (the simulated venue lists no futures)."""
    if query.get("product_type", "SPOT").upper() != "SPOT":
        return Reply({"products": [], "num_products": 0})
    found = [_product(board, listing) for listing in LISTINGS]
    return Reply({"products": found, "num_products": len(found)})


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """The body of `/market/products/{id}/ticker?limit=1`, as the recorded response writes it."""
    book = board.book(listing)
    decimals = places(listing.tick)
    side = "BUY" if book.last >= book.ask else "SELL"
    return {
        "trades": [
            {
                "trade_id": str(board.now_ms // 10),
                "product_id": listing.venue_id,
                "price": fixed(book.last, decimals),
                "size": "0.03720194",
                "time": iso8601_micro(board.now_ms),
                "side": side,
                "bid": "",
                "ask": "",
            }
        ],
        "best_bid": fixed(book.bid, decimals),
        "best_ask": fixed(book.ask, decimals),
    }


def product_ticker(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    listing = VENUE.by_id(path["product_id"])
    if listing is None:
        return Reply({"error": "NOT_FOUND", "error_details": "product not found",
                      "message": "product not found"}, status=404)  # fmt: skip
    return Reply(ticker_body(board, listing))


VENUE = Venue(
    name="coinbase",
    listings=LISTINGS,
    routes=(
        Route("/api/v3/brokerage/market/products", products),
        Route("/api/v3/brokerage/market/products/{product_id}/ticker", product_ticker),
    ),
)
