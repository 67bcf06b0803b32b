"""The vectorized round gives exactly the scalar round's aggregates, on random rounds."""

from __future__ import annotations

from hypothesis import given, settings
from vector_strategies import T, rounds

from aggregator import FeedSpec, aggregate_round, evaluation_order
from aggregator.vector import RoundLayout, aggregate_vector
from feeds.quote import FetchResult


@settings(max_examples=300, deadline=None)
@given(rounds())
def test_vector_and_scalar_rounds_are_identical(
    case: tuple[list[FeedSpec], list[FetchResult]],
) -> None:
    specs, results = case
    ordered = evaluation_order(specs)
    scalar = aggregate_round(ordered, results, T)
    vector = aggregate_vector(RoundLayout.build(ordered), results, T)
    assert vector.aggregates() == scalar


@settings(max_examples=100, deadline=None)
@given(rounds())
def test_vector_median_quote_stamp_is_the_scalar_one(
    case: tuple[list[FeedSpec], list[FetchResult]],
) -> None:
    specs, results = case
    ordered = evaluation_order(specs)
    vector = aggregate_vector(RoundLayout.build(ordered), results, T)
    for i, agg in enumerate(vector.aggregates().values()):
        stamps = sorted(s.ts_ms for s in agg.used)
        got = vector.median_used_ts_ms()[i]
        if not stamps:
            assert got != got  # NaN
            continue
        mid = len(stamps) // 2
        assert got == (stamps[mid] if len(stamps) % 2 else (stamps[mid - 1] + stamps[mid]) / 2)
