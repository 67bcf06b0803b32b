"""A round's results as columns: one slot per layout market, the market's last result wins."""

from __future__ import annotations

import math

import numpy as np

from aggregator import AggregationParams, FeedSpec, SourceSpec, evaluation_order
from aggregator.batch import quote_batch
from aggregator.layout import INVALID, UNAVAILABLE, FeedGroup, RoundLayout
from feeds.quote import FailureKind, FetchFailure, Quote

T = 1_700_000_000_000
SPEC = FeedSpec(
    "BTC/USD",
    (SourceSpec("a", "BTC/USD"), SourceSpec("b", "BTC/USD"), SourceSpec("c", "BTC/USD")),
    AggregationParams(),
)
LAYOUT = RoundLayout.build(evaluation_order([SPEC]))


def _slot(venue: str) -> int:
    return LAYOUT.market_index[(venue, "BTC/USD")]


def test_a_quote_fills_its_market_columns_with_the_venue_stamp() -> None:
    batch = quote_batch(LAYOUT, [Quote("a", "BTC/USD", 100.0, T, T - 5, 99.0, 101.0, 7.0)])
    k = _slot("a")

    assert batch.status[k] == 0
    assert (batch.price[k], batch.bid[k], batch.ask[k], batch.volume[k]) == (100.0, 99, 101, 7)
    assert batch.ts_ms[k] == T - 5
    assert batch.has_book[k]


def test_missing_fields_are_nan_and_an_unstamped_quote_uses_its_receive_time() -> None:
    batch = quote_batch(LAYOUT, [Quote("b", "BTC/USD", 100.0, T)])
    k = _slot("b")

    assert math.isnan(batch.bid[k])
    assert math.isnan(batch.ask[k])
    assert math.isnan(batch.volume[k])
    assert batch.ts_ms[k] == T
    assert not batch.has_book[k]


def test_a_market_without_a_result_is_unavailable() -> None:
    batch = quote_batch(LAYOUT, [Quote("a", "BTC/USD", 100.0, T)])

    assert batch.status[_slot("c")] == UNAVAILABLE
    assert math.isnan(batch.price[_slot("c")])


def test_bad_data_is_invalid_and_other_failures_unavailable() -> None:
    batch = quote_batch(
        LAYOUT,
        [
            FetchFailure("a", "BTC/USD", FailureKind.BAD_DATA, "truncated body", T),
            FetchFailure("b", "BTC/USD", FailureKind.TEMPORARY, "timeout", T),
        ],
    )

    assert batch.status[_slot("a")] == INVALID
    assert batch.status[_slot("b")] == UNAVAILABLE


def test_the_last_result_for_a_market_wins() -> None:
    failure = FetchFailure("a", "BTC/USD", FailureKind.TEMPORARY, "timeout", T)
    later_quote = quote_batch(
        LAYOUT, [Quote("a", "BTC/USD", 1.0, T), failure, Quote("a", "BTC/USD", 2.0, T)]
    )
    later_failure = quote_batch(LAYOUT, [Quote("a", "BTC/USD", 1.0, T), failure])

    assert later_quote.price[_slot("a")] == 2.0
    assert later_failure.status[_slot("a")] == UNAVAILABLE
    assert math.isnan(later_failure.price[_slot("a")])


def test_results_for_markets_outside_the_layout_are_ignored() -> None:
    batch = quote_batch(LAYOUT, [Quote("z", "BTC/USD", 5.0, T), Quote("a", "BTC/USD", 1.0, T)])

    assert batch.price[_slot("a")] == 1.0
    assert len(batch.price) == len(LAYOUT.markets)


def test_a_group_of_consecutive_rows_indexes_by_slice_else_by_rows() -> None:
    params = AggregationParams()

    assert FeedGroup(np.array([2, 3, 4]), params).index == slice(2, 5)
    assert list(FeedGroup(np.array([0, 2]), params).index) == [0, 2]  # type: ignore[arg-type]
