"""Specification of a round over several feeds: conversion, dependency order, provenance."""

from __future__ import annotations

import pytest

from aggregator import (
    AggregationParams,
    FeedGraphError,
    FeedSpec,
    RejectReason,
    SourceSpec,
    aggregate_round,
    evaluation_order,
    plan_conversion,
)
from aggregator.graph import ConversionKind
from feeds import FailureKind, FetchFailure, Quote

T = 1_700_000_000_000
Q1 = AggregationParams(quorum=1)


def quote(venue: str, symbol: str, price: float) -> Quote:
    return Quote(venue, symbol, price, received_ts_ms=T, exchange_ts_ms=T)


@pytest.mark.parametrize(
    ("feed", "symbol", "kind", "via"),
    [
        ("BTC/USD", "BTC/USD", ConversionKind.DIRECT, None),
        ("USDT/USD", "USD/USDT", ConversionKind.INVERT, None),
        ("BTC/USD", "BTC/USDT", ConversionKind.MULTIPLY, "USDT/USD"),
        ("BTC/USD", "BTC/EUR", ConversionKind.DIVIDE, "USD/EUR"),
    ],
)
def test_conversion_is_planned_from_the_market_and_the_round_feeds(
    feed: str, symbol: str, kind: ConversionKind, via: str | None
) -> None:
    conversion = plan_conversion(feed, symbol, ["BTC/USD", "USDT/USD", "USD/EUR"])
    assert (conversion.kind, conversion.via) == (kind, via)


def test_market_with_no_feed_to_convert_through_is_a_config_error() -> None:
    with pytest.raises(FeedGraphError, match="needs a feed USDC/USD"):
        plan_conversion("BTC/USD", "BTC/USDC", ["BTC/USD"])


def test_conversion_feeds_are_evaluated_first() -> None:
    btc = FeedSpec("BTC/USD", (SourceSpec("a", "BTC/USDT"),))
    usdt = FeedSpec("USDT/USD", (SourceSpec("b", "USDT/USD"),))
    assert [s.feed for s in evaluation_order([btc, usdt])] == ["USDT/USD", "BTC/USD"]


def test_conversion_cycle_is_a_config_error_naming_it() -> None:
    a = FeedSpec("A/B", (SourceSpec("x", "A/C"),))
    c = FeedSpec("C/B", (SourceSpec("x", "C/A"),))
    ca = FeedSpec("C/A", (SourceSpec("x", "C/B"),))
    with pytest.raises(FeedGraphError, match="cycle"):
        evaluation_order([a, c, ca])


def test_duplicate_feed_is_a_config_error() -> None:
    spec = FeedSpec("BTC/USD", (SourceSpec("a", "BTC/USD"),))
    with pytest.raises(FeedGraphError, match="twice"):
        evaluation_order([spec, spec])


def test_usdt_quotes_are_converted_with_the_usdt_feed_of_the_same_round() -> None:
    specs = evaluation_order(
        [
            FeedSpec("BTC/USD", (SourceSpec("a", "BTC/USDT"),), Q1),
            FeedSpec("USDT/USD", (SourceSpec("b", "USDT/USD"),), Q1),
        ]
    )
    out = aggregate_round(
        specs, [quote("a", "BTC/USDT", 60_000.0), quote("b", "USDT/USD", 0.99)], T
    )
    assert out["BTC/USD"].value == pytest.approx(59_400.0)
    assert out["BTC/USD"].used[0].raw_price == 60_000.0


def test_source_is_rejected_when_its_conversion_feed_has_no_value() -> None:
    specs = evaluation_order(
        [
            FeedSpec("BTC/USD", (SourceSpec("a", "BTC/USDT"), SourceSpec("c", "BTC/USD")), Q1),
            FeedSpec("USDT/USD", (SourceSpec("b", "USDT/USD"),), Q1),
        ]
    )
    out = aggregate_round(specs, [quote("a", "BTC/USDT", 60_000.0), quote("c", "BTC/USD", 1.0)], T)
    reasons = {r.source: r.reason for r in out["BTC/USD"].rejected}
    assert reasons == {"a": RejectReason.CONVERSION}


def test_failed_venue_is_rejected_with_the_fetch_reason_and_the_round_goes_on() -> None:
    specs = evaluation_order(
        [FeedSpec("BTC/USD", (SourceSpec("a", "BTC/USD"), SourceSpec("b", "BTC/USD")), Q1)]
    )
    failure = FetchFailure("b", "BTC/USD", FailureKind.TEMPORARY, "timeout after 3.0s", T)
    out = aggregate_round(specs, [quote("a", "BTC/USD", 100.0), failure], T)
    assert out["BTC/USD"].value == 100.0
    (rejection,) = out["BTC/USD"].rejected
    assert rejection.reason is RejectReason.UNAVAILABLE
    assert rejection.detail == "temporary: timeout after 3.0s"


def test_bad_data_from_a_venue_counts_as_invalid() -> None:
    specs = evaluation_order([FeedSpec("BTC/USD", (SourceSpec("a", "BTC/USD"),), Q1)])
    failure = FetchFailure("a", "BTC/USD", FailureKind.BAD_DATA, "body is not JSON", T)
    out = aggregate_round(specs, [failure], T)
    assert out["BTC/USD"].rejected[0].reason is RejectReason.INVALID


def test_source_with_no_result_is_unavailable() -> None:
    specs = evaluation_order([FeedSpec("BTC/USD", (SourceSpec("a", "BTC/USD"),), Q1)])
    out = aggregate_round(specs, [], T)
    assert out["BTC/USD"].rejected[0].detail == "no fetch result"
