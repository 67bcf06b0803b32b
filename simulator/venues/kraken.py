"""Kraken spot REST (api.kraken.com/0/public): Assets, AssetPairs, Ticker.

Bodies are `{"error": [], "result": {...}}` keyed by Kraken's own asset and pair ids
(`XXBT`, `ZUSD`, `XXBTZUSD`, `XBTUSDT`). Ticker values are arrays of strings (trade counts
are integers), with no timestamp at all: ccxt leaves Kraken tickers unstamped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.venues.base import Board, Listing, Query, Reply, Route, Venue, fixed

# Kraken's legacy X/Z-prefixed asset ids, and the altnames ccxt maps them back with.
_ASSETS: dict[str, dict[str, Any]] = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5,
             "collateral_value": 1.0, "status": "enabled"},
    "XETH": {"aclass": "currency", "altname": "ETH", "decimals": 10, "display_decimals": 5,
             "collateral_value": 1.0, "status": "enabled"},
    "USDT": {"aclass": "currency", "altname": "USDT", "decimals": 8, "display_decimals": 4,
             "collateral_value": 1.0, "status": "enabled"},
    "ZUSD": {"aclass": "currency", "altname": "ZUSD", "decimals": 4, "display_decimals": 2,
             "collateral_value": 1.0, "status": "enabled"},
}  # fmt: skip
_ASSET_ID = {"BTC": "XXBT", "ETH": "XETH", "USDT": "USDT", "USD": "ZUSD"}
_ALTNAME = {"XXBTZUSD": "XBTUSD", "XETHZUSD": "ETHUSD", "USDTZUSD": "USDTUSD"}
_PRINTED_DECIMALS = {"USDT/USD": 8}
"""Kraken prints prices with 5 decimals whatever the tick, 8 for the stablecoin pair."""

LISTINGS = (
    Listing("BTC/USD", "XXBTZUSD", "0.1"),
    Listing("ETH/USD", "XETHZUSD", "0.01"),
    Listing("BTC/USDT", "XBTUSDT", "0.1"),
    Listing("ETH/USDT", "ETHUSDT", "0.01"),
    Listing("USDT/USD", "USDTZUSD", "0.00001"),
)


def _ok(result: dict[str, Any]) -> Reply:
    return Reply({"error": [], "result": result})


def assets(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return _ok(_ASSETS)


def _asset_pair(listing: Listing) -> dict[str, Any]:
    altname = _ALTNAME.get(listing.venue_id, listing.venue_id)
    return {
        "altname": altname,
        "wsname": listing.symbol.replace("BTC", "XBT"),
        "aclass_base": "currency",
        "base": _ASSET_ID[listing.base],
        "aclass_quote": "currency",
        "quote": _ASSET_ID[listing.quote],
        "lot": "unit",
        "cost_decimals": 5,
        "pair_decimals": len(listing.tick.split(".")[1]),
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "leverage_buy": [2, 3],
        "leverage_sell": [2, 3],
        "fees": [[0, 0.26], [50000, 0.24], [100000, 0.22]],
        "fees_maker": [[0, 0.16], [50000, 0.14], [100000, 0.12]],
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": "0.0001",
        "costmin": "0.5",
        "tick_size": listing.tick,
        "status": "online",
    }


def asset_pairs(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return _ok({listing.venue_id: _asset_pair(listing) for listing in LISTINGS})


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """One `result[pair]` entry of `/0/public/Ticker`, as the recorded response writes it."""
    book = board.book(listing)
    decimals = _PRINTED_DECIMALS.get(listing.symbol, 5)
    vwap = (book.open + book.last) / 2
    return {
        "a": [fixed(book.ask, decimals), "1", "1.000"],
        "b": [fixed(book.bid, decimals), "1", "1.000"],
        "c": [fixed(book.last, decimals), "0.00160710"],
        "v": [fixed(book.base_volume / 3, 8), fixed(book.base_volume, 8)],
        "p": [fixed(vwap, decimals), fixed(vwap, decimals)],
        "t": [6405, 21103],
        "l": [fixed(book.low, decimals), fixed(book.low, decimals)],
        "h": [fixed(book.high, decimals), fixed(book.high, decimals)],
        "o": fixed(book.open, decimals),
    }


def ticker(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`?pair=A,B`: those pairs; no pair: every pair."""
    wanted = [item for item in query.get("pair", "").split(",") if item]
    listings = [_by_any_name(item) for item in wanted] if wanted else list(LISTINGS)
    if any(listing is None for listing in listings):
        return Reply({"error": ["EQuery:Unknown asset pair"]})
    return _ok({item.venue_id: ticker_body(board, item) for item in listings if item is not None})


def _by_any_name(name: str) -> Listing | None:
    """Kraken accepts a pair by id or altname and answers under the id."""
    for listing in LISTINGS:
        if name in (listing.venue_id, _ALTNAME.get(listing.venue_id)):
            return listing
    return None


VENUE = Venue(
    name="kraken",
    listings=LISTINGS,
    routes=(
        Route("/0/public/Assets", assets),
        Route("/0/public/AssetPairs", asset_pairs),
        Route("/0/public/Ticker", ticker),
    ),
)
