"""What aggregation produces: one robust value per feed, with its full provenance."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RejectReason(StrEnum):
    """Why a source's quote did not count towards a feed's value."""

    UNAVAILABLE = "unavailable"
    """The venue gave no quote this round (timeout, HTTP error, halted market)."""
    INVALID = "invalid"
    """The quote is not a usable price (non-positive, non-finite, crossed book, wide spread)."""
    STALE = "stale"
    """The quote is older than the feed's max age, or stamped in the future."""
    OUTLIER = "outlier"
    """The quote is too far from the other sources' median (scaled-MAD test)."""
    CONVERSION = "conversion"
    """The quote needed another feed of the round for conversion, and that feed had no value."""
    QUORUM = "quorum"
    """Too few sources survived: the feed has no value this round."""


@dataclass(frozen=True, slots=True)
class SourcePrice:
    """A source's price as it entered the estimator, already converted to the feed's quote."""

    source: str
    symbol: str
    price: float
    raw_price: float
    ts_ms: int
    weight: float = 1.0
    """The source's weight in a weighted median (its volume, or its configured weight)."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A source left out of a feed's value, with the reason and the detail an auditor reads."""

    source: str
    symbol: str
    reason: RejectReason
    detail: str


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One feed's result for one round.

    `value` is None exactly when the feed has no trustworthy value this round (`error` then
    says why, e.g. quorum lost). `dispersion` is the scaled MAD of the accepted prices relative
    to the value (0.001 = 0.1%), a confidence measure an integrator can read; `band_low` and
    `band_high` are the first and third quartiles of the accepted prices (an interquartile
    confidence band, like the confidence Pyth publishes). `estimator` names how `value` was
    computed from the accepted prices.
    """

    feed: str
    round_ts_ms: int
    value: float | None
    dispersion: float | None
    used: tuple[SourcePrice, ...]
    rejected: tuple[Rejection, ...]
    error: str | None = None
    band_low: float | None = None
    band_high: float | None = None
    estimator: str = "median"

    @property
    def ok(self) -> bool:
        return self.value is not None
