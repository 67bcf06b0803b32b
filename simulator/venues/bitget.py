"""Bitget v2 spot REST (api.bitget.com/api/v2): symbols, margin currencies, tickers.

Bodies are `{"code": "00000", "msg": "success", "requestTime", "data": [...]}`; every value
a string, `ts` in unix ms, as in the recorded `GET /api/v2/spot/market/tickers?symbol=BTCUSDT`.
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

LISTINGS = listings(USDT_MARKETS, lambda base, quote: f"{base}{quote}")


def _ok(board: Board, data: list[dict[str, Any]]) -> Reply:
    return Reply({"code": "00000", "msg": "success", "requestTime": str(board.now_ms),
                  "data": data})  # fmt: skip


def _symbol(listing: Listing) -> dict[str, Any]:
    return {
        "symbol": listing.venue_id, "baseCoin": listing.base, "quoteCoin": listing.quote,
        "minTradeAmount": "0", "maxTradeAmount": "10000000000", "takerFeeRate": "0.002",
        "makerFeeRate": "0.002", "pricePrecision": str(places(listing.tick)),
        "quantityPrecision": "6", "quotePrecision": "6", "status": "online",
        "minTradeUSDT": "1", "buyLimitPriceRatio": "0.05", "sellLimitPriceRatio": "0.05",
        "areaSymbol": "no", "orderQuantity": "200",
    }  # fmt: skip


def symbols(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return _ok(board, [_symbol(listing) for listing in LISTINGS])


def margin_currencies(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """No margin trading on the simulated venue."""
    return _ok(board, [])


def _ticker(board: Board, listing: Listing) -> dict[str, Any]:
    book = board.book(listing)
    return {
        "open": plain(book.open),
        "symbol": listing.venue_id,
        "high24h": plain(book.high),
        "low24h": plain(book.low),
        "lastPr": plain(book.last),
        "quoteVolume": plain(book.quote_volume),
        "baseVolume": plain(book.base_volume),
        "usdtVolume": plain(book.quote_volume),
        "ts": str(board.now_ms),
        "bidPr": plain(book.bid),
        "askPr": plain(book.ask),
        "bidSz": "0.057344",
        "askSz": "0.002773",
        "openUtc": plain(book.open),
        "changeUtc24h": f"{(book.last - book.open) / book.open:.5f}",
        "change24h": f"{(book.last - book.open) / book.open:.4f}",
    }


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """The body of `/api/v2/spot/market/tickers?symbol=X`, as the recorded response writes it."""
    body: dict[str, Any] = _ok(board, [_ticker(board, listing)]).body
    return body


def tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`?symbol=X`: that symbol (in a list); nothing: every symbol."""
    if "symbol" in query:
        listing = VENUE.by_id(query["symbol"])
        if listing is None:
            return Reply({"code": "40034", "msg": "Parameter does not exist",
                          "requestTime": board.now_ms, "data": None}, status=400)  # fmt: skip
        return Reply(ticker_body(board, listing))
    return _ok(board, [_ticker(board, listing) for listing in LISTINGS])


VENUE = Venue(
    name="bitget",
    listings=LISTINGS,
    routes=(
        Route("/api/v2/spot/public/symbols", symbols),
        Route("/api/v2/margin/currencies", margin_currencies),
        Route("/api/v2/spot/market/tickers", tickers),
    ),
)
