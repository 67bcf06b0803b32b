"""Many rounds aggregated as one tall grid give each round's own aggregates, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from vector_strategies import T, results_for, rounds

from aggregator import AggregationParams, FeedSpec, SourceSpec, aggregate_round, evaluation_order
from aggregator.batch import quote_batch
from aggregator.rounds import aggregate_rounds
from aggregator.vector import RoundLayout, aggregate_batch

# Round times around the quotes' stamps: fresh, nearly stale, stale, quotes in the future.
OFFSETS = [0, 5_000, 59_000, 61_000, -3_000, -7_000]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_rounds_aggregated_together_equal_the_scalar_path_round_by_round(
    data: st.DataObject,
) -> None:
    specs, first = data.draw(rounds())
    ordered = evaluation_order(specs)
    every = [first, *data.draw(st.lists(results_for(ordered), min_size=1, max_size=3))]
    times = [T + data.draw(st.sampled_from(OFFSETS)) for _ in every]
    layout = RoundLayout.build(ordered)

    together = aggregate_rounds(layout, [quote_batch(layout, r) for r in every], times)

    for vector, results, now in zip(together, every, times, strict=True):
        assert vector.round_ts_ms == now
        assert vector.aggregates() == aggregate_round(ordered, results, now)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_a_round_of_a_tall_grid_has_the_median_stamps_of_the_round_alone(
    data: st.DataObject,
) -> None:
    specs, first = data.draw(rounds())
    ordered = evaluation_order(specs)
    every = [first, *data.draw(st.lists(results_for(ordered), min_size=1, max_size=2))]
    layout = RoundLayout.build(ordered)
    batches = [quote_batch(layout, r) for r in every]

    together = aggregate_rounds(layout, batches, [T] * len(every))

    for vector, batch in zip(together, batches, strict=True):
        alone = aggregate_batch(layout, batch, T)
        np.testing.assert_array_equal(vector.median_used_ts_ms(), alone.median_used_ts_ms())


def test_no_rounds_give_no_aggregates() -> None:
    spec = FeedSpec("BTC/USD", (SourceSpec("a", "BTC/USD"),), AggregationParams())
    layout = RoundLayout.build([spec])

    assert aggregate_rounds(layout, [], []) == []
