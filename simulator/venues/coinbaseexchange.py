"""Coinbase Exchange REST (api.exchange.coinbase.com): currencies, products, product ticker.

Prices are strings at the product's quote increment; `time` is ISO 8601 with microseconds
and a `Z`, as in the recorded `GET /products/BTC-USDT/ticker`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.market import STABLE_ASSETS, VOLATILE_ASSETS
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
)

LISTINGS = listings((*USD_MARKETS, *USDT_MARKETS), lambda base, quote: f"{base}-{quote}")

_CURRENCIES = (
    *((asset, asset, "crypto") for asset in (*VOLATILE_ASSETS, *STABLE_ASSETS)),
    ("USD", "United States Dollar", "fiat"),
)


def _currency(code: str, name: str, kind: str) -> dict[str, Any]:
    return {
        "id": code,
        "name": name,
        "min_size": "0.01" if kind == "fiat" else "0.00000001",
        "status": "online",
        "message": "",
        "max_precision": "0.01" if kind == "fiat" else "0.00000001",
        "convertible_to": [],
        "details": {"type": kind, "symbol": None, "sort_order": 0, "push_payment_methods": [],
                    "group_types": [], "display_name": None, "processing_time_seconds": None,
                    "min_withdrawal_amount": 0.0001, "max_withdrawal_amount": 10000},
        "default_network": "",
        "supported_networks": [],
        "display_name": code,
    }  # fmt: skip


def currencies(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return Reply([_currency(*entry) for entry in _CURRENCIES])


def _product(listing: Listing) -> dict[str, Any]:
    return {
        "id": listing.venue_id,
        "base_currency": listing.base,
        "quote_currency": listing.quote,
        "quote_increment": listing.tick,
        "base_increment": "0.00000001",
        "display_name": listing.venue_id,
        "min_market_funds": "1",
        "margin_enabled": False,
        "post_only": False,
        "limit_only": False,
        "cancel_only": False,
        "status": "online",
        "status_message": "",
        "trading_disabled": False,
        "fx_stablecoin": listing.quote == "USD" and listing.base in STABLE_ASSETS,
        "max_slippage_percentage": "0.03000000",
        "auction_mode": False,
        "high_bid_limit_percentage": "",
    }


def products(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return Reply([_product(listing) for listing in LISTINGS])


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """The body of `/products/{id}/ticker`, as the recorded response writes it."""
    book = board.book(listing)
    decimals = places(listing.tick)
    return {
        "ask": fixed(book.ask, decimals),
        "bid": fixed(book.bid, decimals),
        "volume": fixed(book.base_volume, 8),
        "trade_id": str(board.now_ms // 10),
        "price": fixed(book.last, decimals),
        "size": "0.00730812",
        "time": iso8601_micro(board.now_ms),
        "rfq_volume": "7.669923",
    }


def product_ticker(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    listing = VENUE.by_id(path["product_id"])
    if listing is None:
        return Reply({"message": "NotFound"}, status=404)
    return Reply(ticker_body(board, listing))


VENUE = Venue(
    name="coinbaseexchange",
    listings=LISTINGS,
    routes=(
        Route("/currencies", currencies),
        Route("/products", products),
        Route("/products/{product_id}/ticker", product_ticker),
    ),
)
