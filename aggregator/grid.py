"""The numeric kernel of the vectorized path: filters, quorum and estimator on a price grid.

A grid holds F feeds x S source slots; NaN marks a slot without a candidate price. Every
operation repeats, row by row, the exact float operations of the scalar path
(`aggregator.filters`, `aggregator.estimators`, `aggregator.combine`): medians and quantiles
pick and average the same sorted elements, and sums run left to right over prices sorted
ascending (one numpy operation per column, never numpy's pairwise `sum`), so both paths give
the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aggregator.estimators import HUBER_MAX_ITER, HUBER_TOL, huber_norm
from aggregator.filters import MIN_CANDIDATES
from aggregator.params import AggregationParams, Estimator, OutlierFilter
from aggregator.robust import IQR_PER_SIGMA, MAD_SCALE

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

FILTER_CODES = {OutlierFilter.MAD: 1, OutlierFilter.IQR: 2, OutlierFilter.MEDIAN_DISTANCE: 3}
"""`refused` codes in a `GridResult`: 0 = not refused."""


@dataclass(frozen=True, slots=True)
class GridResult:
    """Per feed: value (NaN without quorum), dispersion, band; per slot: survived / refused by."""

    value: Floats
    dispersion: Floats
    band_low: Floats
    band_high: Floats
    survivors: Bools
    survivor_count: Ints
    refused: NDArray[np.int8]
    center: Floats
    mad_bound: Floats
    iqr_low: Floats
    iqr_high: Floats
    distance_bound: Floats


def sorted_rows(values: Floats, mask: Bools) -> Floats:
    """Each row's masked values ascending, the rest (+inf) after them."""
    return np.sort(np.where(mask, values, np.inf), axis=1)


def row_pick(rows: Floats, index: Ints) -> Floats:
    """Each row's element at its own column index (plain fancy indexing: no per-call set-up)."""
    return rows[np.arange(rows.shape[0]), index]


@dataclass(frozen=True, slots=True)
class RowCounts:
    """Index arithmetic for "the first `n` values of each ascending row", done once per `n`.

    A grid takes several medians and quantiles over the same counts (candidates, then
    survivors); the indices are shared, the picks and the float arithmetic are the same.
    """

    n: Ints
    rows: Ints
    lo: Ints
    """Lower median index, (n - 1) // 2 (0 when n = 0)."""
    hi: Ints
    """Upper median index, n // 2, clipped into the row."""
    odd: Bools
    empty: Bools

    @classmethod
    def of(cls, n: Ints, width: int) -> RowCounts:
        lo = np.maximum((n - 1) // 2, 0)
        hi = np.minimum(np.maximum(n // 2, 0), width - 1)
        return cls(n, np.arange(n.shape[0]), lo, hi, n % 2 == 1, n <= 0)

    def middle(self, ordered: Floats) -> tuple[Floats, Floats]:
        """Each row's lower and upper median element."""
        return ordered[self.rows, self.lo], ordered[self.rows, self.hi]

    def median(self, ordered: Floats) -> Floats:
        """Median of the first `n` values of each ascending row (NaN where n = 0)."""
        a, b = self.middle(ordered)
        return self.median_of(a, b)

    def median_of(self, a: Floats, b: Floats) -> Floats:
        """The median from the middle pair `middle` returned."""
        out = np.where(self.odd, a, (a + b) / 2.0)
        return np.where(self.empty, np.nan, out)

    def quantile(self, ordered: Floats, q: float) -> Floats:
        """Linear-interpolation quantile of the first `n` values of each ascending row."""
        n = self.n
        h = (n - 1).astype(np.float64) * q
        lo = np.maximum(np.floor(h).astype(np.int64), 0)
        hi = np.minimum(lo + 1, ordered.shape[1] - 1)
        a = ordered[self.rows, lo]
        b = ordered[self.rows, hi]
        with np.errstate(invalid="ignore"):
            out = np.where(lo + 1 >= n, a, a + (h - lo) * (b - a))
        return np.where(self.empty, np.nan, out)


def median_rows(ordered: Floats, n: Ints) -> Floats:
    """Median of the first `n` values of each ascending row (NaN where n = 0)."""
    return RowCounts.of(n, ordered.shape[1]).median(ordered)


def quantile_rows(ordered: Floats, n: Ints, q: float) -> Floats:
    """Linear-interpolation quantile of the first `n` values of each ascending row."""
    return RowCounts.of(n, ordered.shape[1]).quantile(ordered, q)


def ordered_sum_rows(values: Floats, mask: Bools) -> Floats:
    """Left-to-right sum of each row's masked values, as `aggregator.robust.ordered_sum`."""
    total = np.zeros(values.shape[0])
    for j in range(values.shape[1]):
        total = total + np.where(mask[:, j], values[:, j], 0.0)
    return total


def combine_grid(price: Floats, weight: Floats, params: AggregationParams) -> GridResult:
    """Filters, quorum and estimator for every row of a grid (`aggregator.combine`, per row)."""
    cand = ~np.isnan(price)
    width = price.shape[1]
    n = RowCounts.of(cand.sum(axis=1), width)
    ordered = sorted_rows(price, cand)
    middle = n.middle(ordered)
    center = n.median_of(*middle)
    distance = np.abs(price - center[:, None])
    deviations = sorted_rows(distance, cand)
    spread = np.maximum(MAD_SCALE * n.median(deviations), params.min_mad * center)
    mad_bound = params.mad_k * spread
    q1 = n.quantile(ordered, 0.25)
    q3 = n.quantile(ordered, 0.75)
    iqr = np.maximum(q3 - q1, IQR_PER_SIGMA * params.min_mad * center)
    iqr_low = q1 - params.iqr_k * iqr
    iqr_high = q3 + params.iqr_k * iqr
    distance_bound = params.max_distance * center
    refused = np.zeros(price.shape, dtype=np.int8)
    judged = cand & (n.n >= MIN_CANDIDATES)[:, None]
    with np.errstate(invalid="ignore"):
        for kind in params.filters:
            if kind is OutlierFilter.MAD:
                hit = distance > mad_bound[:, None]
            elif kind is OutlierFilter.IQR:
                hit = (price < iqr_low[:, None]) | (price > iqr_high[:, None])
            else:
                hit = distance > distance_bound[:, None]
            refused = np.where(judged & hit & (refused == 0), FILTER_CODES[kind], refused).astype(
                np.int8
            )
    survivors = cand & (refused == 0)
    m = RowCounts.of(survivors.sum(axis=1), width)
    # Without an outlier cut the survivors, sorted, are the candidates already sorted.
    survivors_sorted = ordered if bool((refused == 0).all()) else None
    value, dispersion, low, high = _estimate(
        price, weight, survivors, m, params, middle, survivors_sorted
    )
    has = m.n >= params.quorum
    nan = np.full(price.shape[0], np.nan)
    return GridResult(
        value=np.where(has, value, nan),
        dispersion=np.where(has, dispersion, nan),
        band_low=np.where(has, low, nan),
        band_high=np.where(has, high, nan),
        survivors=survivors,
        survivor_count=m.n,
        refused=refused,
        center=center,
        mad_bound=mad_bound,
        iqr_low=iqr_low,
        iqr_high=iqr_high,
        distance_bound=distance_bound,
    )


def _estimate(
    price: Floats,
    weight: Floats,
    survivors: Bools,
    counts: RowCounts,
    params: AggregationParams,
    middle: tuple[Floats, Floats],
    survivors_sorted: Floats | None,
) -> tuple[Floats, Floats, Floats, Floats]:
    """Value, dispersion and band per row. A median is held within the middle pair of all
    candidates (`aggregator.combine.within_middle`).

    The scalar path orders survivors by (price, weight); only the weighted median reads the
    weights in that order. Every other estimator reads prices alone, and equal prices are
    equal bits, so a plain sort of the prices (or `survivors_sorted`, when given) is the same.
    """
    masked_p = np.where(survivors, price, np.inf)
    w = np.zeros(price.shape)
    if params.estimator is Estimator.WEIGHTED_MEDIAN:
        order = np.lexsort((np.where(survivors, weight, np.inf), masked_p), axis=1)
        p = np.take_along_axis(masked_p, order, axis=1)
        w = np.take_along_axis(np.where(survivors, weight, 0.0), order, axis=1)
    elif survivors_sorted is not None:
        p = survivors_sorted
    else:
        p = np.sort(masked_p, axis=1)
    m = counts.n
    kept = np.arange(price.shape[1])[None, :] < m[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        if params.estimator is Estimator.MEDIAN:
            value = np.minimum(np.maximum(counts.median(p), middle[0]), middle[1])
        elif params.estimator is Estimator.WEIGHTED_MEDIAN:
            value = _weighted_median(p, w, m)
        elif params.estimator is Estimator.TRIMMED_MEAN:
            value = _trimmed_mean(p, m, kept, params.trim)
        else:
            value = _huber(p, m, kept, params.huber_k, params.min_mad)
        deviations = sorted_rows(np.abs(p - value[:, None]), kept)
        dispersion = MAD_SCALE * counts.median(deviations) / value
    return value, dispersion, counts.quantile(p, 0.25), counts.quantile(p, 0.75)


def _clamp(value: Floats, p: Floats, m: Ints) -> Floats:
    lo = p[:, 0]
    hi = row_pick(p, np.maximum(m - 1, 0))
    return np.minimum(np.maximum(value, lo), hi)


def _weighted_median(p: Floats, w: Floats, m: Ints) -> Floats:
    cumulative = np.cumsum(w, axis=1)
    total = cumulative[:, -1]
    half = total / 2.0
    idx = np.argmax(cumulative >= half[:, None], axis=1)
    at = row_pick(cumulative, idx)
    a = row_pick(p, idx)
    b = row_pick(p, np.minimum(idx + 1, p.shape[1] - 1))
    value = np.where((at == half) & (idx + 1 < m), (a + b) / 2.0, a)
    return np.where(total > 0, value, median_rows(p, m))


def _trimmed_mean(p: Floats, m: Ints, kept: Bools, trim: float) -> Floats:
    g = np.floor(trim * m).astype(np.int64)
    col = np.arange(p.shape[1])[None, :]
    inside = kept & (col >= g[:, None]) & (col < (m - g)[:, None])
    return _clamp(ordered_sum_rows(p, inside) / (m - 2 * g), p, m)


def _huber(p: Floats, m: Ints, kept: Bools, k: float, min_mad: float) -> Floats:
    center = median_rows(p, m)
    deviations = sorted_rows(np.abs(p - center[:, None]), kept)
    scale = np.maximum(MAD_SCALE * median_rows(deviations, m), min_mad * center)
    active = (scale > 0) & (m > 0)
    norm = huber_norm(k)
    mu = center.copy()
    safe_p = np.where(kept, p, 0.0)
    for _ in range(HUBER_MAX_ITER):
        if not active.any():
            break
        z = (safe_p - mu[:, None]) / np.where(active, scale, 1.0)[:, None]
        w = norm.weights(z)
        new = ordered_sum_rows(w * safe_p, kept) / ordered_sum_rows(w, kept)
        done = np.abs(new - mu) <= HUBER_TOL * scale
        mu = np.where(active, new, mu)
        active = active & ~done
    return np.where(scale > 0, _clamp(mu, p, m), center)
