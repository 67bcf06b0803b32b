"""Robust statistics on plain float sequences: median, scaled MAD, quantiles, ordered sums.

Pure and deterministic: the same floats in any order give the same bits out (inputs are
sorted first, and sums run in ascending order), which is what lets replay reproduce a recorded
value exactly and lets the vectorized path (`aggregator.vector`) match this one bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

MAD_SCALE = 1.482602218505602
"""Makes the MAD a consistent estimator of the standard deviation under normal noise (1/Φ⁻¹(3/4))."""

IQR_PER_SIGMA = 1.3489795003921634
"""The interquartile range of a normal distribution, in standard deviations (2·Φ⁻¹(3/4))."""


def median(values: Sequence[float]) -> float:
    """The median; for an even count, the mean of the two middle values. Raises on empty input."""
    if not values:
        raise ValueError("median of no values")
    return median_of_sorted(sorted(values))


def median_of_sorted(ordered: Sequence[float]) -> float:
    """The median of an ascending, non-empty sequence."""
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def scaled_mad(values: Sequence[float], center: float) -> float:
    """Median absolute deviation from `center`, scaled to estimate a standard deviation."""
    return MAD_SCALE * median([abs(v - center) for v in values])


def quantile_of_sorted(ordered: Sequence[float], q: float) -> float:
    """The `q` quantile of an ascending, non-empty sequence, linear interpolation (numpy's default).

    Written as `x[lo] + frac * (x[lo + 1] - x[lo])` with `frac = (n - 1) * q - lo`, the exact
    arithmetic the vectorized path repeats.
    """
    h = (len(ordered) - 1) * q
    lo = math.floor(h)
    if lo + 1 >= len(ordered):
        return ordered[lo]
    return ordered[lo] + (h - lo) * (ordered[lo + 1] - ordered[lo])


def ordered_sum(values: Iterable[float]) -> float:
    """Left-to-right sum, starting at 0.0: one fixed rounding order (unlike `sum` over a set)."""
    total = 0.0
    for v in values:
        total += v
    return total
