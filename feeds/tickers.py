"""A ccxt ticker (an untyped dict) turned into a `Quote`, or into the reason there is none."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote
from feeds.venue import PriceField


def _float(ticker: Mapping[str, Any], key: str) -> float | None:
    """`ticker[key]` as a float, or None when absent or not a number (a bool is not one)."""
    value = ticker.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _number(ticker: Mapping[str, Any], key: str) -> float | None:
    """A finite positive float from `ticker[key]`, or None when absent or unusable."""
    number = _float(ticker, key)
    return number if number is not None and math.isfinite(number) and number > 0 else None


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _side(ticker: Mapping[str, Any], key: str) -> float | None:
    """A book side as the venue gave it: None when absent or zero (ccxt drops zeros too)."""
    number = _float(ticker, key)
    return None if number == 0 else number


def _price(
    price_field: PriceField, bid: float | None, ask: float | None, last: float | None
) -> tuple[float | None, str]:
    """The price `price_field` asks for, or None and what was missing."""
    if price_field == "bid":
        return bid, "ticker has no bid"
    if price_field == "ask":
        return ask, "ticker has no ask"
    if price_field == "mid":
        if bid is None or ask is None:
            return None, "ticker has no bid" if bid is None else "ticker has no ask"
        return (bid + ask) / 2.0, ""
    return last, "ticker has no last trade"


def quote_from_ticker(
    source: str, symbol: str, ticker: Any, price_field: PriceField, received_ts_ms: int
) -> FetchResult:
    """The quote a ccxt unified ticker gives for `symbol` on `source`.

    `price_field` picks the price: `bid`, `ask`, `last` (the last trade) or `mid` (the mean of
    bid and ask, as the venue printed them: a crossed book is the aggregator's to reject).
    A book-based field (mid, bid, ask) on a ticker with neither bid nor ask is an empty book:
    the market is halted -> UNAVAILABLE; one side missing or unusable -> BAD_DATA. With
    `last` a halt shows only as an ageing price. Staleness, crossed books and outliers are not
    judged here: that is the aggregator's job.
    """
    if not isinstance(ticker, Mapping):
        return FetchFailure(source, symbol, FailureKind.BAD_DATA, "no ticker in reply",
                            received_ts_ms)  # fmt: skip
    if price_field != "last" and _side(ticker, "bid") is None and _side(ticker, "ask") is None:
        return FetchFailure(source, symbol, FailureKind.UNAVAILABLE,
                            "no bid and no ask: empty order book, market halted",
                            received_ts_ms)  # fmt: skip
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
