"""Bitfinex v2 public REST (api-pub.bitfinex.com/v2): pair configuration and tickers.

Bitfinex answers with bare arrays. Pair ids are its own currency codes (`UST` for USDT, `UDC`
for USDC, `ATO` for ATOM) joined directly when both are three letters (`BTCUST`) and with a
colon otherwise (`DOGE:USD`); a ticker is `[BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE,
DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW]`, prefixed with `tPAIR` in `/tickers`.
Tickers carry no timestamp.

ccxt's recorded Bitfinex ticker is a legacy v1 body that the current v2 class no longer reads;
the simulator serves v2, the API ccxt calls (see the recorded request URLs).
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
)

_CODE = {"USDT": "UST", "USDC": "UDC", "ATOM": "ATO"}


def _pair_id(base: str, quote: str) -> str:
    b, q = _CODE.get(base, base), _CODE.get(quote, quote)
    return f"{b}{q}" if len(b) == 3 and len(q) == 3 else f"{b}:{q}"


LISTINGS = listings((*USD_MARKETS, *USDT_MARKETS), _pair_id)


def _pair_info(listing: Listing) -> list[Any]:
    return [listing.venue_id, [None, None, None, "0.00004", "2000.0", None, None, None, 0.1,
                               0.05, None, None]]  # fmt: skip


def conf(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`/conf/{keys}`: one array per comma-separated key, in order; unknown keys are null."""
    answers: list[Any] = []
    for key in path["keys"].split(","):
        if key == "pub:info:pair":
            answers.append([_pair_info(listing) for listing in LISTINGS])
        elif key in ("pub:info:pair:futures", "pub:list:pair:securities", "pub:list:pair:margin"):
            answers.append([])  # spot only, no margin
        else:
            answers.append(None)
    return Reply(answers)


def _fields(board: Board, listing: Listing) -> list[float]:
    book = board.book(listing)
    change = book.last - book.open
    return [
        float(book.bid), 1.5, float(book.ask), 0.75, float(change), float(change / book.open),
        float(book.last), float(book.base_volume), float(book.high), float(book.low),
    ]  # fmt: skip


def ticker_body(board: Board, listing: Listing) -> list[float]:
    """The body of `/ticker/t{PAIR}`."""
    return _fields(board, listing)


def ticker(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    listing = VENUE.by_id(path["symbol"].removeprefix("t"))
    if listing is None:
        return Reply(["error", 10020, "symbol: invalid"], status=500)
    return Reply(ticker_body(board, listing))


def tickers(board: Board, query: Query, path: Mapping[str, str]) -> Reply:
    """`?symbols=tA,tB` or `ALL`: one `[tPAIR, ...fields]` row per pair found."""
    wanted = query.get("symbols", "ALL")
    if wanted == "ALL":
        found = list(LISTINGS)
    else:
        ids = [item.removeprefix("t") for item in wanted.split(",")]
        found = [listing for listing in LISTINGS if listing.venue_id in ids]
    return Reply([[f"t{listing.venue_id}", *_fields(board, listing)] for listing in found])


VENUE = Venue(
    name="bitfinex",
    listings=LISTINGS,
    routes=(
        Route("/v2/conf/{keys}", conf),
        Route("/v2/ticker/{symbol}", ticker),
        Route("/v2/tickers", tickers),
    ),
)
