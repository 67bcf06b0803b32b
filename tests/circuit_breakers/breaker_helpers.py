"""Builders shared by the breaker specifications."""

from __future__ import annotations

from aggregator import Aggregate, SourcePrice

T = 1_700_000_000_000


def agg(value: float | None, dispersion: float = 0.001, age_ms: int = 0, at: int = T) -> Aggregate:
    """An aggregate of three venues quoting `age_ms` before `at`, or a quorum loss for None."""
    if value is None:
        return Aggregate("BTC/USD", at, None, None, (), (), "quorum lost: 2 of 3 required")
    used = tuple(SourcePrice(v, "BTC/USD", value, value, at - age_ms) for v in "abc")
    return Aggregate("BTC/USD", at, value, dispersion, used, ())
