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


def quote_from_ticker(
    source: str, symbol: str, ticker: Any, price_field: PriceField, received_ts_ms: int
) -> FetchResult:
    """The quote a ccxt unified ticker gives for `symbol` on `source`.

    The price is the mid of bid and ask when `price_field` is `"mid"` and both are usable
    (positive, finite, bid <= ask), else the last trade. No usable price -> BAD_DATA. Staleness
    and outliers are not judged here: that is the aggregator's job.
    """
    if not isinstance(ticker, Mapping):
        return FetchFailure(source, symbol, FailureKind.BAD_DATA, "no ticker in reply",
                            received_ts_ms)  # fmt: skip
    bid, ask, last = _number(ticker, "bid"), _number(ticker, "ask"), _number(ticker, "last")
    price: float | None = last
    if price_field == "mid" and bid is not None and ask is not None and bid <= ask:
        price = (bid + ask) / 2.0
    if price is None:
        return FetchFailure(source, symbol, FailureKind.BAD_DATA, "ticker has no price",
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
