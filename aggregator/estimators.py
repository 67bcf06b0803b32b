"""The estimators: from accepted prices (ascending) to one value. Pure; one code per estimator.

Every estimator takes prices sorted ascending (ties broken by weight) and returns a value
within [min, max] of them: weighted means are clamped to that range, because a float sum of
equal prices divided by their count can land an ulp outside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from aggregator.params import AggregationParams, Estimator
from aggregator.robust import MAD_SCALE, median_of_sorted, ordered_sum

HUBER_MAX_ITER = 50
HUBER_TOL = 1e-9
"""IRLS stops when a step moves the location by at most this many scale units."""


def estimate(prices: Sequence[float], weights: Sequence[float], params: AggregationParams) -> float:
    """The feed's value from its accepted prices (ascending) and their weights."""
    if not prices:
        raise ValueError("no prices to estimate from")
    if params.estimator is Estimator.MEDIAN:
        return median_of_sorted(prices)
    if params.estimator is Estimator.WEIGHTED_MEDIAN:
        return weighted_median(prices, weights)
    if params.estimator is Estimator.TRIMMED_MEAN:
        return trimmed_mean(prices, params.trim)
    return huber_location(prices, params.huber_k, params.min_mad)


def weighted_median(prices: Sequence[float], weights: Sequence[float]) -> float:
    """The first price at which the cumulative weight reaches half the total.

    When the cumulative weight equals exactly half at a price, the value is the midpoint with
    the next price (so equal weights give the plain median). All weights zero: the plain median.
    """
    total = ordered_sum(weights)
    if not total > 0:
        return median_of_sorted(prices)
    half = total / 2.0
    cumulative = 0.0
    for i, w in enumerate(weights):
        cumulative += w
        if cumulative >= half:
            if cumulative == half and i + 1 < len(prices):
                return (prices[i] + prices[i + 1]) / 2.0
            return prices[i]
    return prices[-1]  # unreachable: the last cumulative weight is the total


def trimmed_count(n: int, trim: float) -> int:
    """How many prices the trimmed mean drops at each end."""
    return math.floor(trim * n)


def trimmed_mean(prices: Sequence[float], trim: float) -> float:
    """Mean of the prices after dropping `floor(trim * n)` at each end."""
    g = trimmed_count(len(prices), trim)
    kept = prices[g : len(prices) - g]
    return _clamp(ordered_sum(kept) / len(kept), prices)


def huber_scale(prices: Sequence[float], center: float, min_mad: float) -> float:
    """The fixed scale of the Huber estimate: scaled MAD around the median, floored."""
    deviations = sorted(abs(p - center) for p in prices)
    return max(MAD_SCALE * median_of_sorted(deviations), min_mad * center)


def huber_norm(k: float) -> Any:
    """statsmodels' `HuberT(t=k)`, imported on first use: statsmodels (with scipy) takes
    seconds to import, and a node whose feeds use no Huber estimate should not start slower."""
    from statsmodels.robust.norms import HuberT

    return HuberT(t=k)


def huber_location(prices: Sequence[float], k: float, min_mad: float) -> float:
    """Huber M-estimate of location by iteratively reweighted least squares.

    Starts at the median; the scale is fixed (`huber_scale`); each step is the mean weighted by
    statsmodels' `HuberT(t=k)` weights. Stops after `HUBER_MAX_ITER` steps or when a step moves
    less than `HUBER_TOL` scale units.
    """
    center = median_of_sorted(prices)
    scale = huber_scale(prices, center, min_mad)
    if not scale > 0:
        return center
    norm = huber_norm(k)
    mu = center
    for _ in range(HUBER_MAX_ITER):
        z = np.array([(p - mu) / scale for p in prices])
        w = [float(x) for x in norm.weights(z)]
        new = ordered_sum(wi * p for wi, p in zip(w, prices, strict=True)) / ordered_sum(w)
        done = abs(new - mu) <= HUBER_TOL * scale
        mu = new
        if done:
            break
    return _clamp(mu, prices)


def _clamp(value: float, ordered: Sequence[float]) -> float:
    return min(max(value, ordered[0]), ordered[-1])
