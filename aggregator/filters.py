"""Outlier filters: which candidate prices are too far from the others to count.

Every filter judges each candidate against statistics of *all* candidates in one pass (a
second pass on the survivors would let a tight honest cluster reject its own edges). With
fewer than three candidates nothing is filtered: two points cannot say which is the outlier.
The comparisons here are the exact ones the vectorized path repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aggregator.params import AggregationParams, OutlierFilter
from aggregator.robust import IQR_PER_SIGMA, MAD_SCALE, median_of_sorted, quantile_of_sorted

MIN_CANDIDATES = 3


@dataclass(frozen=True, slots=True)
class FilterBounds:
    """The statistics every filter compares a price with, computed on all candidates."""

    center: float
    """Median of the candidates."""
    mad_bound: float
    """`mad_k` x max(scaled MAD, `min_mad` x center): the MAD filter's largest distance."""
    iqr_low: float
    iqr_high: float
    """Tukey's fences: Q1 - k·IQR and Q3 + k·IQR, the IQR floored like the MAD."""
    distance_bound: float
    """`max_distance` x center."""


def filter_bounds(ordered: Sequence[float], params: AggregationParams) -> FilterBounds:
    """Bounds from the candidate prices, sorted ascending (at least one)."""
    center = median_of_sorted(ordered)
    deviations = sorted(abs(p - center) for p in ordered)
    spread = max(MAD_SCALE * median_of_sorted(deviations), params.min_mad * center)
    q1 = quantile_of_sorted(ordered, 0.25)
    q3 = quantile_of_sorted(ordered, 0.75)
    iqr = max(q3 - q1, IQR_PER_SIGMA * params.min_mad * center)
    return FilterBounds(
        center=center,
        mad_bound=params.mad_k * spread,
        iqr_low=q1 - params.iqr_k * iqr,
        iqr_high=q3 + params.iqr_k * iqr,
        distance_bound=params.max_distance * center,
    )


def refused_by(
    price: float, bounds: FilterBounds, params: AggregationParams
) -> OutlierFilter | None:
    """The first configured filter that refuses `price`, or None when every filter accepts it."""
    for kind in params.filters:
        if kind is OutlierFilter.MAD:
            refused = abs(price - bounds.center) > bounds.mad_bound
        elif kind is OutlierFilter.IQR:
            refused = price < bounds.iqr_low or price > bounds.iqr_high
        else:
            refused = abs(price - bounds.center) > bounds.distance_bound
        if refused:
            return kind
    return None


def outlier_detail(
    kind: OutlierFilter, price: float, bounds: FilterBounds, params: AggregationParams
) -> str:
    """What an auditor reads about a refused price: the filter, the distance and the bound."""
    center = bounds.center
    distance = abs(price - center)
    if kind is OutlierFilter.MAD:
        return (
            f"{price:.8g} is {distance / center:.2%} from the median {center:.8g} "
            f"(bound {bounds.mad_bound / center:.2%} = {params.mad_k:g} scaled MAD)"
        )
    if kind is OutlierFilter.IQR:
        return (
            f"{price:.8g} is outside the IQR fences [{bounds.iqr_low:.8g}, "
            f"{bounds.iqr_high:.8g}] ({params.iqr_k:g} IQR beyond the quartiles)"
        )
    return (
        f"{price:.8g} is {distance / center:.2%} from the median {center:.8g} "
        f"(max distance {params.max_distance:.2%})"
    )
