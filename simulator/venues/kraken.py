"""Kraken spot REST (api.kraken.com/0/public): Assets, AssetPairs, Ticker.

Bodies are `{"error": [], "result": {...}}` keyed by Kraken's own asset and pair ids
(`XXBT`, `ZUSD`, `XXBTZUSD`, `XBTUSDT`). Ticker values are arrays of strings (trade counts
are integers), with no timestamp at all: ccxt leaves Kraken tickers unstamped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.market import USD_ASSETS
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
)

# Kraken's legacy X/Z-prefixed asset ids for its oldest assets, plain codes for the others;
# ccxt maps them back through each asset's altname (XBT -> BTC, XDG -> DOGE).
_LEGACY_ID = {"BTC": "XXBT", "ETH": "XETH", "LTC": "XLTC", "XRP": "XXRP", "XLM": "XXLM",
              "ETC": "XETC", "DOGE": "XXDG", "USD": "ZUSD"}  # fmt: skip
_ALT = {"BTC": "XBT", "DOGE": "XDG", "USD": "ZUSD"}
_ASSET_ID = {asset: _LEGACY_ID.get(asset, asset) for asset in (*USD_ASSETS, "USD")}
_ASSETS: dict[str, dict[str, Any]] = {
    asset_id: {"aclass": "currency", "altname": _ALT.get(asset, asset),
               "decimals": 4 if asset == "USD" else 10 if asset in _LEGACY_ID else 8,
               "display_decimals": 2 if asset == "USD" else 5,
               "collateral_value": 1.0, "status": "enabled"}
    for asset, asset_id in _ASSET_ID.items()
}  # fmt: skip


def _pair_id(base: str, quote: str) -> str:
    """Legacy assets pair as `XXBTZUSD`; newer ones by altname, as `SOLUSD` or `XBTUSDT`."""
    if base in _LEGACY_ID and quote in _LEGACY_ID:
        return _LEGACY_ID[base] + _LEGACY_ID[quote]
    return _ALT.get(base, base) + _ALT.get(quote, quote).removeprefix("Z")


def _altname(venue_id: str) -> str:
    listing = VENUE.by_id(venue_id)
    assert listing is not None
    return _ALT.get(listing.base, listing.base) + _ALT.get(
        listing.quote, listing.quote
    ).removeprefix("Z")


LISTINGS = listings(
    (*USD_MARKETS, *USDT_MARKETS),
    _pair_id,
    {"BTC/USD": "0.1", "BTC/USDT": "0.1", "USDT/USD": "0.00001"},
)
_PRINTED_DECIMALS = 5
"""Kraken prints prices with at least 5 decimals whatever the tick."""


def _ok(result: dict[str, Any]) -> Reply:
    return Reply({"error": [], "result": result})


def assets(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return _ok(_ASSETS)


def _asset_pair(listing: Listing) -> dict[str, Any]:
    altname = _altname(listing.venue_id)
    return {
        "altname": altname,
        "wsname": f"{_ALT.get(listing.base, listing.base)}/{listing.quote}",
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
    decimals = max(_PRINTED_DECIMALS, places(listing.tick))
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
        if name in (listing.venue_id, _altname(listing.venue_id)):
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
