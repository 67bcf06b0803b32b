"""Robust statistics on plain float sequences: median and the scaled median absolute deviation.

Pure and deterministic: the same floats in any order give the same bits out (inputs are
sorted first), which is what lets replay reproduce a recorded value exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

MAD_SCALE = 1.482602218505602
"""Makes the MAD a consistent estimator of the standard deviation under normal noise (1/Φ⁻¹(3/4))."""


def median(values: Sequence[float]) -> float:
    """The median; for an even count, the mean of the two middle values. Raises on empty input."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def scaled_mad(values: Sequence[float], center: float) -> float:
    """Median absolute deviation from `center`, scaled to estimate a standard deviation."""
    return MAD_SCALE * median([abs(v - center) for v in values])
