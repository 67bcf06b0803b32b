"""Replay's row builder gives the very `Aggregate`s that `VectorRound` materializes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import FeedSpec, evaluation_order
from aggregator.layout import RoundLayout
from aggregator.vector import aggregate_vector
from audit.canonical import canonical_json
from feeds.quote import FetchResult
from node.records import aggregate_json
from node.replay_aggregates import RowShapes
from tests.aggregator.vector_strategies import T, results_for, rounds


@settings(max_examples=200, deadline=None)
@given(rounds())
def test_row_builder_equals_the_vector_rounds_aggregates(
    drawn: tuple[list[FeedSpec], list[FetchResult]],
) -> None:
    specs, results = drawn
    layout = RoundLayout.build(evaluation_order(specs))
    round_ = aggregate_vector(layout, results, T)

    built = RowShapes(layout).aggregates(round_)
    expected = round_.aggregates()

    assert list(built) == list(expected)
    for feed, aggregate in built.items():
        # Bit for bit, as the journal would hold them, and equal as objects.
        assert canonical_json(aggregate_json(aggregate)) == canonical_json(
            aggregate_json(expected[feed])
        )
        assert aggregate == expected[feed]


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_one_row_builder_serves_every_round_of_its_layout(data: st.DataObject) -> None:
    specs, first = data.draw(rounds())
    layout = RoundLayout.build(evaluation_order(specs))
    shapes = RowShapes(layout)
    for r, results in enumerate([first, *data.draw(st.lists(results_for(specs), max_size=3))]):
        round_ = aggregate_vector(layout, results, T + r * 10_000)
        assert shapes.aggregates(round_) == round_.aggregates()
