"""KuCoin spot REST (api.kucoin.com/api): symbols, 24 h stats, all tickers.

Bodies are `{"code": "200000", "data": ...}`; prices are strings, `time` unix ms as an
integer, as in the recorded `GET /api/v1/market/stats?symbol=BTC-USDT`.
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
    plain,
)

LISTINGS = listings(USDT_MARKETS, lambda base, quote: f"{base}-{quote}", {"BTC/USDT": "0.1"})


def _ok(data: Any) -> Reply:
    return Reply({"code": "200000", "data": data})


def _symbol(listing: Listing) -> dict[str, Any]:
    return {
        "symbol": listing.venue_id, "name": listing.venue_id, "baseCurrency": listing.base,
        "quoteCurrency": listing.quote, "feeCurrency": listing.quote, "market": "USDS",
        "baseMinSize": "0.00001", "quoteMinSize": "0.1", "baseMaxSize": "10000000000",
        "quoteMaxSize": "99999999", "baseIncrement": "0.00000001", "quoteIncrement": "0.000001",
        "priceIncrement": listing.tick, "priceLimitRate": "0.1", "minFunds": "0.1",
        "isMarginEnabled": True, "enableTrading": True, "feeCategory": 1,
        "makerFeeCoefficient": "1.00", "takerFeeCoefficient": "1.00", "st": False,
        "callauctionIsEnabled": False, "callauctionPriceFloor": None,
        "callauctionPriceCeiling": None, "callauctionFirstStageStartTime": None,
        "callauctionSecondStageStartTime": None, "callauctionThirdStageStartTime": None,
        "tradingStartTime": None,
    }  # fmt: skip


def symbols(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    return _ok([_symbol(listing) for listing in LISTINGS])


def _ticker_fields(board: Board, listing: Listing) -> dict[str, Any]:
    book = board.book(listing)
    return {
        "symbol": listing.venue_id,
        "buy": plain(book.bid),
        "sell": plain(book.ask),
        "changeRate": f"{(book.last - book.open) / book.open:.4f}",
        "changePrice": plain(book.last - book.open),
        "high": plain(book.high),
        "low": plain(book.low),
        "vol": plain(book.base_volume),
        "volValue": plain(book.quote_volume),
        "last": plain(book.last),
        "averagePrice": plain((book.open + book.last) / 2),
        "takerFeeRate": "0.001",
        "makerFeeRate": "0.001",
        "takerCoefficient": "1",
        "makerCoefficient": "1",
    }


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """The body of `/api/v1/market/stats`, as the recorded response writes it."""
    return {"code": "200000", "data": {"time": board.now_ms, **_ticker_fields(board, listing)}}


def stats(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    listing = VENUE.by_id(query.get("symbol", ""))
    if listing is None:
        return Reply({"code": "900001", "msg": "Symbol not exists"})
    return Reply(ticker_body(board, listing))


def all_tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """Every symbol's ticker, stamped once for the whole snapshot."""
    entries = [
        {**_ticker_fields(board, listing), "symbolName": listing.venue_id, "bestBidSize": "0.5",
         "bestAskSize": "0.25"}
        for listing in LISTINGS
    ]  # fmt: skip
    return _ok({"time": board.now_ms, "ticker": entries})


VENUE = Venue(
    name="kucoin",
    listings=LISTINGS,
    routes=(
        Route("/api/v2/symbols", symbols),
        Route("/api/v1/market/stats", stats),
        Route("/api/v1/market/allTickers", all_tickers),
    ),
)
