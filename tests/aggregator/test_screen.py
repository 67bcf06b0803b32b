"""Specification of per-quote screening: invalid and stale quotes never reach the estimator."""

from __future__ import annotations

import math

import pytest

from aggregator import AggregationParams, RejectReason
from aggregator.screen import screen_quote
from feeds import Quote

T = 1_700_000_000_000
P = AggregationParams(max_age_ms=60_000, max_future_ms=5_000, max_spread=0.02)


def q(
    price: float = 100.0, ts: int = T, bid: float | None = None, ask: float | None = None
) -> Quote:
    return Quote("v", "BTC/USD", price, received_ts_ms=T, exchange_ts_ms=ts, bid=bid, ask=ask)


@pytest.mark.parametrize(
    ("quote", "reason"),
    [
        (q(price=0.0), RejectReason.INVALID),
        (q(price=-1.0), RejectReason.INVALID),
        (q(price=math.nan), RejectReason.INVALID),
        (q(price=math.inf), RejectReason.INVALID),
        (q(bid=101.0, ask=100.0), RejectReason.INVALID),
        (q(bid=95.0, ask=105.0), RejectReason.INVALID),
        (q(ts=T - 60_001), RejectReason.STALE),
        (q(ts=T + 5_001), RejectReason.STALE),
    ],
    ids=["zero", "negative", "nan", "inf", "crossed", "wide-spread", "old", "future"],
)
def test_unusable_quote_is_rejected_with_its_reason(quote: Quote, reason: RejectReason) -> None:
    verdict = screen_quote(quote, P, T)
    assert verdict is not None
    assert verdict[0] is reason


@pytest.mark.parametrize(
    "quote",
    [q(), q(ts=T - 60_000), q(ts=T + 5_000), q(bid=99.5, ask=100.5)],
    ids=["plain", "exactly-max-age", "exactly-max-future", "tight-book"],
)
def test_usable_quote_passes(quote: Quote) -> None:
    assert screen_quote(quote, P, T) is None


def test_quote_without_venue_timestamp_is_aged_by_receipt_time() -> None:
    quote = Quote("v", "BTC/USD", 100.0, received_ts_ms=T - 61_000)
    verdict = screen_quote(quote, P, T)
    assert verdict is not None
    assert verdict[0] is RejectReason.STALE
