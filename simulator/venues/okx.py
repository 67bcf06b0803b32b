"""OKX v5 REST (www.okx.com/api/v5): spot instruments and market tickers.

Every body is the `{"code": "0", "msg": "", "data": [...]}` envelope; every value a string,
prices without trailing zeros, `ts` in unix ms, as in the recorded ticker.
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


def _ok(data: list[dict[str, Any]]) -> Reply:
    return Reply({"code": "0", "msg": "", "data": data})


def _instrument(listing: Listing) -> dict[str, Any]:
    return {
        "alias": "", "baseCcy": listing.base, "category": "1", "ctMult": "", "ctType": "",
        "ctVal": "", "ctValCcy": "", "expTime": "", "instFamily": "", "instId": listing.venue_id,
        "instType": "SPOT", "lever": "10", "listTime": "1548133413000", "lotSz": "0.00000001",
        "maxIcebergSz": "9999999999.0000000000000000", "maxLmtAmt": "20000000",
        "maxLmtSz": "9999999999", "maxMktAmt": "1000000", "maxMktSz": "1000000",
        "maxStopSz": "1000000", "maxTriggerSz": "9999999999.0000000000000000",
        "maxTwapSz": "9999999999.0000000000000000", "minSz": "0.00001", "optType": "",
        "quoteCcy": listing.quote, "ruleType": "normal", "settleCcy": "", "state": "live",
        "stk": "", "tickSz": listing.tick, "uly": "",
    }  # fmt: skip


def instruments(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    if query.get("instType", "").upper() != "SPOT":
        return _ok([])
    return _ok([_instrument(listing) for listing in LISTINGS])


def ticker_body(board: Board, listing: Listing) -> dict[str, Any]:
    """One `data` entry of `/api/v5/market/ticker(s)`, as the recorded response writes it."""
    book = board.book(listing)
    return {
        "instType": "SPOT",
        "instId": listing.venue_id,
        "last": plain(book.last),
        "lastSz": "0.00007722",
        "askPx": plain(book.ask),
        "askSz": "0.40193728",
        "bidPx": plain(book.bid),
        "bidSz": "0.0655768",
        "open24h": plain(book.open),
        "high24h": plain(book.high),
        "low24h": plain(book.low),
        "volCcy24h": plain(book.quote_volume),
        "vol24h": plain(book.base_volume),
        "ts": str(board.now_ms),
        "sodUtc0": plain(book.open),
        "sodUtc8": plain(book.open),
    }


def ticker(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    listing = VENUE.by_id(query.get("instId", ""))
    if listing is None:
        return Reply({"code": "51001", "msg": "Instrument ID does not exist", "data": []})
    return _ok([ticker_body(board, listing)])


def tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    if query.get("instType", "").upper() != "SPOT":
        return _ok([])
    return _ok([ticker_body(board, listing) for listing in LISTINGS])


VENUE = Venue(
    name="okx",
    listings=LISTINGS,
    routes=(
        Route("/api/v5/public/instruments", instruments),
        Route("/api/v5/market/ticker", ticker),
        Route("/api/v5/market/tickers", tickers),
    ),
)
