"""Specification of combining source prices into one robust value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator import AggregationParams, RejectReason, SourcePrice, combine

T = 1_700_000_000_000


def prices(*values: float) -> list[SourcePrice]:
    return [SourcePrice(f"v{i}", "BTC/USD", v, v, T) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((100.0, 101.0, 102.0), 101.0),
        ((100.0, 101.0, 102.0, 103.0), 101.5),
        ((103.0, 100.0, 102.0), 102.0),
        ((100.0, 100.0, 100.0), 100.0),
    ],
)
def test_value_is_the_median_of_surviving_prices(
    values: tuple[float, ...], expected: float
) -> None:
    agg = combine("BTC/USD", prices(*values), [], AggregationParams(quorum=3), T)
    assert agg.value == expected


def test_price_far_from_the_median_is_rejected_as_outlier() -> None:
    agg = combine("BTC/USD", prices(100.0, 100.1, 99.9, 100.05, 150.0), [], AggregationParams(), T)
    assert agg.value == 100.05
    assert [(r.source, r.reason) for r in agg.rejected] == [("v4", RejectReason.OUTLIER)]
    assert "from the median" in agg.rejected[0].detail


def test_honest_venue_a_few_bps_away_is_kept_when_others_agree_exactly() -> None:
    agg = combine("BTC/USD", prices(100.0, 100.0, 100.0, 100.05), [], AggregationParams(), T)
    assert len(agg.used) == 4
    assert agg.rejected == ()


def test_too_few_survivors_gives_no_value_and_names_quorum() -> None:
    agg = combine("BTC/USD", prices(100.0, 100.2), [], AggregationParams(quorum=3), T)
    assert agg.value is None
    assert not agg.ok
    assert agg.error == "quorum lost: 2 of 3 required sources survived"
    assert {r.reason for r in agg.rejected} == {RejectReason.QUORUM}


def test_dispersion_is_scaled_mad_relative_to_value() -> None:
    agg = combine("BTC/USD", prices(99.0, 100.0, 101.0), [], AggregationParams(), T)
    assert agg.dispersion == pytest.approx(1.4826 / 100, rel=1e-3)


def test_provenance_is_sorted_by_source_whatever_the_input_order() -> None:
    agg = combine("BTC/USD", list(reversed(prices(1.0, 1.0, 1.0))), [], AggregationParams(), T)
    assert [s.source for s in agg.used] == ["v0", "v1", "v2"]


finite_prices = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(st.lists(finite_prices, min_size=3, max_size=25), st.randoms())
def test_result_does_not_depend_on_source_order(values: list[float], rnd: object) -> None:
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    params = AggregationParams(quorum=1)
    a = combine("X/Y", prices(*values), [], params, T)
    b = combine("X/Y", prices(*shuffled), [], params, T)
    assert a.value == b.value


@given(st.lists(finite_prices, min_size=1, max_size=25))
def test_value_lies_within_the_accepted_prices(values: list[float]) -> None:
    agg = combine("X/Y", prices(*values), [], AggregationParams(quorum=1), T)
    used = [s.price for s in agg.used]
    assert agg.value is not None
    assert min(used) <= agg.value <= max(used)


@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda f: st.tuples(
            st.lists(st.floats(min_value=99.0, max_value=101.0), min_size=f + 1, max_size=f + 1),
            st.lists(finite_prices, min_size=f, max_size=f),
        )
    )
)
def test_median_stays_in_the_honest_range_with_f_corrupt_of_2f_plus_1(
    sides: tuple[list[float], list[float]],
) -> None:
    honest, corrupt = sides
    agg = combine("X/Y", prices(*honest, *corrupt), [], AggregationParams(quorum=1), T)
    assert agg.value is not None
    assert min(honest) <= agg.value <= max(honest)
