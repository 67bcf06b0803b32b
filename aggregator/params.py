"""How a feed's quotes are filtered and combined. Plain data: the config layer builds it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Estimator(StrEnum):
    """How the accepted prices become one value."""

    MEDIAN = "median"
    """The middle price (mean of the two middle ones for an even count)."""
    WEIGHTED_MEDIAN = "weighted_median"
    """The price at half the cumulative weight (volume, or the configured source weights)."""
    TRIMMED_MEAN = "trimmed_mean"
    """The mean after dropping `trim` of the prices at each end."""
    HUBER = "huber"
    """Huber M-estimate of location (statsmodels' HuberT norm, IRLS, scale = floored scaled MAD)."""


class OutlierFilter(StrEnum):
    """A rule that rejects a candidate price judged against all candidates of the round."""

    MAD = "mad"
    """Hampel identifier: further than `mad_k` scaled MADs from the median."""
    IQR = "iqr"
    """Tukey fences: below Q1 - `iqr_k`·IQR or above Q3 + `iqr_k`·IQR."""
    MEDIAN_DISTANCE = "median_distance"
    """Further than `max_distance` (relative) from the median."""


class Weighting(StrEnum):
    """Where the weighted median takes each source's weight from."""

    VOLUME = "volume"
    """The quote's traded volume (a quote without volume weighs 0)."""
    CONFIG = "config"
    """The source's configured weight (`SourceSpec.weight`, 1 by default)."""


@dataclass(frozen=True, slots=True)
class AggregationParams:
    """Filters, estimator and quorum for one feed.

    - `quorum`: the least number of independent sources that must survive every filter.
    - `max_age_ms`: a quote stamped earlier than `round_ts - max_age_ms` is stale.
    - `max_future_ms`: a quote stamped later than `round_ts + max_future_ms` is stale too
      (a venue clock running ahead must not make its quote look fresher than it is).
    - `max_spread`: (ask - bid) / mid above this makes the quote invalid.
    - `filters`: the outlier filters, in order; a rejected price names the first that refused it.
      Each filter judges every candidate against the statistics of all candidates (one pass).
    - `mad_k`: a price further than `mad_k` scaled MADs from the median is an outlier.
    - `min_mad`: floor of the spread (scaled MAD, IQR, Huber scale) relative to the median, so
      that when most sources agree to the cent an honest venue a few basis points away is not
      called an outlier.
    - `iqr_k`: Tukey's fence multiplier for the IQR filter.
    - `max_distance`: relative distance from the median beyond which the distance filter rejects.
    - `estimator`, `trim` (fraction dropped at each end by the trimmed mean, in [0, 0.5)),
      `huber_k` (Huber's tuning constant, in scale units), `weighting` (weighted median).
    """

    quorum: int = 3
    max_age_ms: int = 60_000
    max_future_ms: int = 5_000
    max_spread: float = 0.02
    filters: tuple[OutlierFilter, ...] = (OutlierFilter.MAD,)
    mad_k: float = 5.0
    min_mad: float = 0.0005
    iqr_k: float = 3.0
    max_distance: float = 0.05
    estimator: Estimator = Estimator.MEDIAN
    trim: float = 0.2
    huber_k: float = 1.345
    weighting: Weighting = Weighting.VOLUME

    def __post_init__(self) -> None:
        if self.quorum < 1:
            raise ValueError("quorum must be at least 1")
        if self.max_age_ms <= 0 or self.max_future_ms < 0:
            raise ValueError("max_age_ms must be positive and max_future_ms not negative")
        if not 0 < self.max_spread < 1:
            raise ValueError("max_spread must be in (0, 1)")
        if self.mad_k <= 0 or self.min_mad < 0:
            raise ValueError("mad_k must be positive and min_mad not negative")
        if self.iqr_k <= 0 or self.max_distance <= 0 or self.huber_k <= 0:
            raise ValueError("iqr_k, max_distance and huber_k must be positive")
        if not 0 <= self.trim < 0.5:
            raise ValueError("trim must be in [0, 0.5)")
        if len(set(self.filters)) != len(self.filters):
            raise ValueError("filters must not repeat")
