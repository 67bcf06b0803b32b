"""Specification of the estimators: tables of known answers and properties on random prices."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator import AggregationParams, Estimator, SourcePrice, Weighting, combine
from aggregator.estimators import huber_location, trimmed_mean, weighted_median

T = 1_700_000_000_000


def sources(values: list[float], weights: list[float] | None = None) -> list[SourcePrice]:
    weights = weights or [1.0] * len(values)
    return [
        SourcePrice(f"v{i:02d}", "X/Y", v, v, T, w)
        for i, (v, w) in enumerate(zip(values, weights, strict=True))
    ]


def value_of(values: list[float], estimator: Estimator, **kw: object) -> float | None:
    params = AggregationParams(quorum=1, filters=(), estimator=estimator, **kw)  # type: ignore[arg-type]
    return combine("X/Y", sources(values), [], params, T).value


@pytest.mark.parametrize(
    ("prices", "weights", "expected"),
    [
        ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 2.0),
        ([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0], 2.5),
        ([1.0, 2.0, 3.0], [1.0, 1.0, 10.0], 3.0),
        ([1.0, 2.0, 3.0], [10.0, 1.0, 1.0], 1.0),
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], 3.0),
        ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 2.0),
        ([5.0], [0.0], 5.0),
    ],
    ids=["equal-odd", "equal-even", "heavy-top", "heavy-bottom", "ramp", "all-zero", "single"],
)
def test_weighted_median_table(prices: list[float], weights: list[float], expected: float) -> None:
    assert weighted_median(prices, weights) == expected


@pytest.mark.parametrize(
    ("prices", "trim", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0, 100.0], 0.2, 3.0),
        ([1.0, 2.0, 3.0, 4.0, 100.0], 0.0, 22.0),
        ([1.0, 2.0, 3.0, 4.0], 0.25, 2.5),
        ([1.0, 2.0, 3.0], 0.2, 2.0),
        ([2.0, 4.0], 0.4, 3.0),
    ],
    ids=["drops-one-each-end", "no-trim-is-mean", "quarter", "too-few-to-trim", "pair"],
)
def test_trimmed_mean_table(prices: list[float], trim: float, expected: float) -> None:
    assert trimmed_mean(prices, trim) == expected


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        ([100.0, 100.0, 100.0], 100.0),
        ([99.0, 100.0, 101.0], 100.0),
        ([99.0, 100.0, 101.0, 1000.0], pytest.approx(100.5, abs=0.6)),
    ],
    ids=["equal", "symmetric", "one-wild"],
)
def test_huber_table(prices: list[float], expected: float) -> None:
    assert huber_location(prices, 1.345, 0.0005) == expected


def test_huber_downweights_a_wild_price_unlike_the_mean() -> None:
    honest = [100.0, 100.1, 99.9, 100.05, 99.95]
    mean = sum([*honest, 200.0]) / 6
    huber = huber_location(sorted([*honest, 200.0]), 1.345, 0.0005)
    assert abs(huber - 100.0) < 0.1 < abs(mean - 100.0)


@pytest.mark.parametrize(
    ("estimator", "expected"),
    [
        (Estimator.MEDIAN, 100.05),
        (Estimator.TRIMMED_MEAN, pytest.approx(100.05)),
        (Estimator.HUBER, pytest.approx(100.05, abs=0.01)),
        (Estimator.WEIGHTED_MEDIAN, 100.05),
    ],
)
def test_every_estimator_is_selectable_per_feed(estimator: Estimator, expected: float) -> None:
    assert value_of([100.0, 100.1, 100.05, 99.9, 100.2], estimator) == expected


def test_weighted_median_by_configured_weight_follows_the_heavy_source() -> None:
    params = AggregationParams(
        quorum=1, filters=(), estimator=Estimator.WEIGHTED_MEDIAN, weighting=Weighting.CONFIG
    )
    agg = combine("X/Y", sources([100.0, 101.0, 102.0], [1.0, 1.0, 5.0]), [], params, T)
    assert agg.value == 102.0
    assert agg.estimator == "weighted_median"


def test_aggregate_carries_an_interquartile_band_around_the_value() -> None:
    agg = combine("X/Y", sources([100.0, 101.0, 102.0, 103.0, 104.0]), [], AggregationParams(), T)
    assert (agg.band_low, agg.value, agg.band_high) == (101.0, 102.0, 103.0)


finite = st.floats(min_value=1e-3, max_value=1e7, allow_nan=False, allow_infinity=False)
weights = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
estimators = st.sampled_from(list(Estimator))


@given(st.lists(st.tuples(finite, weights), min_size=1, max_size=25), estimators, st.randoms())
def test_every_estimator_ignores_source_order(
    rows: list[tuple[float, float]], estimator: Estimator, rnd: random.Random
) -> None:
    params = AggregationParams(quorum=1, estimator=estimator)
    a = combine("X/Y", sources([p for p, _ in rows], [w for _, w in rows]), [], params, T)
    shuffled = sources([p for p, _ in rows], [w for _, w in rows])
    rnd.shuffle(shuffled)
    b = combine("X/Y", shuffled, [], params, T)
    assert (a.value, a.dispersion, a.band_low, a.band_high) == (
        b.value,
        b.dispersion,
        b.band_low,
        b.band_high,
    )


@given(st.lists(st.tuples(finite, weights), min_size=1, max_size=25), estimators)
def test_every_estimator_lies_within_the_accepted_prices(
    rows: list[tuple[float, float]], estimator: Estimator
) -> None:
    params = AggregationParams(quorum=1, estimator=estimator)
    agg = combine("X/Y", sources([p for p, _ in rows], [w for _, w in rows]), [], params, T)
    used = [s.price for s in agg.used]
    assert agg.value is not None
    assert min(used) <= agg.value <= max(used)
    assert agg.band_low is not None
    assert agg.band_high is not None
    assert min(used) <= agg.band_low <= agg.band_high <= max(used)


@given(
    st.integers(min_value=1, max_value=6).flatmap(
        lambda f: st.tuples(
            st.lists(st.floats(min_value=99.0, max_value=101.0), min_size=f + 1, max_size=f + 1),
            st.lists(finite, min_size=f, max_size=f),
        )
    ),
    st.sampled_from([Estimator.MEDIAN, Estimator.HUBER, Estimator.TRIMMED_MEAN]),
)
def test_f_corrupt_of_2f_plus_1_keep_the_value_in_the_honest_range(
    sides: tuple[list[float], list[float]], estimator: Estimator
) -> None:
    honest, corrupt = sides
    params = AggregationParams(quorum=1, estimator=estimator)
    if estimator is Estimator.TRIMMED_MEAN:
        # Trimming f of 2f+1 at each end leaves only the middle price: the median.
        params = AggregationParams(quorum=1, estimator=estimator, trim=0.49)
    agg = combine("X/Y", sources([*honest, *corrupt]), [], params, T)
    assert agg.value is not None
    if estimator is Estimator.HUBER:
        # Huber bounds, not removes, the corrupt pull: it stays within the honest range
        # widened by the outlier filter's reach (the value is never pulled past the survivors).
        used = [s.price for s in agg.used]
        assert min(used) <= agg.value <= max(used)
    else:
        assert min(honest) <= agg.value <= max(honest)
