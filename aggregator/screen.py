"""Per-quote screening: is this single quote a usable, fresh price at all?"""

from __future__ import annotations

import math

from aggregator.params import AggregationParams
from aggregator.types import RejectReason
from feeds.quote import Quote


def screen_quote(
    quote: Quote, params: AggregationParams, round_ts_ms: int
) -> tuple[RejectReason, str] | None:
    """The reason this quote must not be used this round, or None when it may be."""
    if not math.isfinite(quote.price) or quote.price <= 0:
        return RejectReason.INVALID, f"price {quote.price!r} is not a positive finite number"
    book = _screen_book(quote, params)
    if book is not None:
        return RejectReason.INVALID, book
    age = round_ts_ms - quote.ts_ms
    if age > params.max_age_ms:
        return (
            RejectReason.STALE,
            f"quote is {age / 1000:.1f}s old (max {params.max_age_ms / 1000:g}s)",
        )
    if -age > params.max_future_ms:
        return RejectReason.STALE, f"quote is stamped {-age / 1000:.1f}s in the future"
    return None


def _screen_book(quote: Quote, params: AggregationParams) -> str | None:
    bid, ask = quote.bid, quote.ask
    if bid is None or ask is None:
        return None
    if not (math.isfinite(bid) and math.isfinite(ask)) or bid <= 0 or ask <= 0:
        return f"bid {bid!r} / ask {ask!r} not positive finite numbers"
    if bid > ask:
        return f"crossed book: bid {bid:g} > ask {ask:g}"
    spread = (ask - bid) / ((ask + bid) / 2.0)
    if spread > params.max_spread:
        return f"spread {spread:.2%} wider than {params.max_spread:.2%}"
    return None
