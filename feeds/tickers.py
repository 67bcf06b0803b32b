"""A ccxt ticker (an untyped dict) turned into a `Quote`, or into the reason there is none."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from feeds.venue import PriceField


def _number(ticker: Mapping[str, Any], key: str) -> float | None:
    """A finite positive float from `ticker[key]`, or None when absent or unusable."""
    value = ticker.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _empty_book(ticker: Mapping[str, Any]) -> bool:
    """The venue reports a bid and an ask of zero: nobody quotes the market (halted)."""
    return all(
        isinstance(ticker.get(side), int | float) and not isinstance(ticker.get(side), bool)
        and ticker[side] == 0
        for side in ("bid", "ask")
    )  # fmt: skip


def _price(
    price_field: PriceField, bid: float | None, ask: float | None, last: float | None
) -> tuple[float | None, str]:
    """The price `price_field` asks for, or None and what was missing."""
    if price_field == "bid":
        return bid, "ticker has no bid"
    if price_field == "ask":
        return ask, "ticker has no ask"
    if price_field == "mid" and bid is not None and ask is not None and bid <= ask:
        return (bid + ask) / 2.0, ""
    return last, "ticker has no price"


def quote_from_ticker(
    source: str, symbol: str, ticker: Any, price_field: PriceField, received_ts_ms: int
) -> FetchResult:
    """The quote a ccxt unified ticker gives for `symbol` on `source`.

    `price_field` picks the price: `bid`, `ask`, `last` (the last trade), or `mid`, the mean
    of bid and ask when both are usable (positive, finite, bid <= ask), else the last trade
    (venues whose ticker has no book). The field asked for missing -> BAD_DATA. A ticker
    whose bid and ask are both zero is an empty book: the market is halted -> UNAVAILABLE,
    whatever the field (its last trade is history, not a price). Staleness, crossed books
    and outliers are not judged here: that is the aggregator's job.
    """
    if not isinstance(ticker, Mapping):
        return FetchFailure(source, symbol, FailureKind.BAD_DATA, "no ticker in reply",
                            received_ts_ms)  # fmt: skip
    if _empty_book(ticker):
        return FetchFailure(source, symbol, FailureKind.UNAVAILABLE,
                            "empty order book: market halted", received_ts_ms)  # fmt: skip
    bid, ask, last = _number(ticker, "bid"), _number(ticker, "ask"), _number(ticker, "last")
    price, missing = _price(price_field, bid, ask, last)
    if price is None:
        return FetchFailure(source, symbol, FailureKind.BAD_DATA, missing,
                            received_ts_ms)  # fmt: skip
    volume = ticker.get("baseVolume")
    return Quote(
        source=source,
        symbol=symbol,
        price=price,
        received_ts_ms=received_ts_ms,
        exchange_ts_ms=_int_or_none(ticker.get("timestamp")),
        bid=bid,
        ask=ask,
        volume=float(volume) if isinstance(volume, int | float) and math.isfinite(volume) else None,
    )
