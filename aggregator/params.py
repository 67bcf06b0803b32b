"""How a feed's quotes are filtered and combined. Plain data: the config layer builds it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AggregationParams:
    """Filters and quorum for one feed.

    - `quorum`: the least number of independent sources that must survive every filter.
    - `max_age_ms`: a quote stamped earlier than `round_ts - max_age_ms` is stale.
    - `max_future_ms`: a quote stamped later than `round_ts + max_future_ms` is stale too
      (a venue clock running ahead must not make its quote look fresher than it is).
    - `max_spread`: (ask - bid) / mid above this makes the quote invalid.
    - `mad_k`: a price further than `mad_k` scaled MADs from the median is an outlier.
    - `min_mad`: floor of the scaled MAD relative to the median, so that when most sources
      agree to the cent an honest venue a few basis points away is not called an outlier.
    """

    quorum: int = 3
    max_age_ms: int = 60_000
    max_future_ms: int = 5_000
    max_spread: float = 0.02
    mad_k: float = 5.0
    min_mad: float = 0.0005

    def __post_init__(self) -> None:
        if self.quorum < 1:
            raise ValueError("quorum must be at least 1")
        if self.max_age_ms <= 0 or self.max_future_ms < 0:
            raise ValueError("max_age_ms must be positive and max_future_ms not negative")
        if not 0 < self.max_spread < 1:
            raise ValueError("max_spread must be in (0, 1)")
        if self.mad_k <= 0 or self.min_mad < 0:
            raise ValueError("mad_k must be positive and min_mad not negative")
