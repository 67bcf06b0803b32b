"""Specification of the outlier filters and the staleness screen, chosen per feed."""

from __future__ import annotations

import pytest

from aggregator import (
    AggregationParams,
    Estimator,
    FeedSpec,
    OutlierFilter,
    RejectReason,
    SourcePrice,
    SourceSpec,
    aggregate_round,
    combine,
)
from feeds.quote import Quote

T = 1_700_000_000_000
HONEST = [100.0, 100.1, 99.9, 100.05, 99.95, 100.02]
MAD, IQR, DIST = OutlierFilter.MAD, OutlierFilter.IQR, OutlierFilter.MEDIAN_DISTANCE


def outcome(values: list[float], **kw: object) -> tuple[list[str], list[str]]:
    params = AggregationParams(quorum=1, **kw)  # type: ignore[arg-type]
    cands = [SourcePrice(f"v{i}", "X/Y", v, v, T) for i, v in enumerate(values)]
    agg = combine("X/Y", cands, [], params, T)
    return [s.source for s in agg.used], [r.detail.split(":")[0] for r in agg.rejected]


@pytest.mark.parametrize(
    ("filters", "extra", "kw", "kept", "refused_by"),
    [
        ((MAD,), 150.0, {}, 6, ["mad"]),
        ((MAD,), 100.3, {}, 7, []),
        ((MAD,), 100.3, {"mad_k": 1.0}, 5, ["mad", "mad"]),
        ((IQR,), 150.0, {}, 6, ["iqr"]),
        ((IQR,), 100.2, {}, 7, []),
        ((IQR,), 100.2, {"iqr_k": 1.0}, 6, ["iqr"]),
        ((DIST,), 150.0, {}, 6, ["median_distance"]),
        ((DIST,), 104.0, {}, 7, []),
        ((DIST,), 104.0, {"max_distance": 0.01}, 6, ["median_distance"]),
        ((), 150.0, {}, 7, []),
        ((DIST, MAD), 150.0, {}, 6, ["median_distance"]),
        ((MAD, DIST), 150.0, {}, 6, ["mad"]),
    ],
    ids=[
        "mad-cuts-a-spike",
        "mad-keeps-a-near-price",
        "mad-k-configurable",
        "iqr-cuts-a-spike",
        "iqr-keeps-a-near-price",
        "iqr-k-configurable",
        "distance-cuts-a-spike",
        "distance-keeps-within-bound",
        "distance-configurable",
        "no-filter-keeps-all",
        "first-filter-is-named-a",
        "first-filter-is-named-b",
    ],
)
def test_filter_table(
    filters: tuple[OutlierFilter, ...],
    extra: float,
    kw: dict[str, float],
    kept: int,
    refused_by: list[str],
) -> None:
    used, refused = outcome([*HONEST, extra], filters=filters, **kw)
    assert len(used) == kept
    assert refused == refused_by


def test_two_candidates_are_never_filtered() -> None:
    used, refused = outcome([100.0, 200.0], filters=(MAD, IQR, DIST))
    assert len(used) == 2
    assert refused == []


def test_iqr_floor_keeps_an_honest_venue_when_others_agree_exactly() -> None:
    used, _ = outcome([100.0, 100.0, 100.0, 100.0, 100.05], filters=(IQR,))
    assert len(used) == 5


@pytest.mark.parametrize(
    ("ts_ms", "max_age_ms", "reason"),
    [
        (T - 59_000, 60_000, None),
        (T - 61_000, 60_000, RejectReason.STALE),
        (T - 11_000, 10_000, RejectReason.STALE),
        (T + 4_000, 60_000, None),
        (T + 6_000, 60_000, RejectReason.STALE),
    ],
    ids=["fresh", "too-old", "max-age-per-feed", "slightly-ahead", "future"],
)
def test_staleness_filter_table(ts_ms: int, max_age_ms: int, reason: RejectReason | None) -> None:
    spec = FeedSpec(
        "X/Y", (SourceSpec("a", "X/Y"),), AggregationParams(quorum=1, max_age_ms=max_age_ms)
    )
    agg = aggregate_round([spec], [Quote("a", "X/Y", 1.0, ts_ms, ts_ms)], T)
    assert [r.reason for r in agg["X/Y"].rejected if r.reason is not RejectReason.QUORUM] == (
        [] if reason is None else [reason]
    )


def test_volume_weighted_median_reads_the_quotes_volume() -> None:
    params = AggregationParams(quorum=1, estimator=Estimator.WEIGHTED_MEDIAN)
    spec = FeedSpec("X/Y", tuple(SourceSpec(v, "X/Y") for v in "abc"), params)
    quotes = [
        Quote("a", "X/Y", 100.0, T, T, volume=1.0),
        Quote("b", "X/Y", 100.2, T, T, volume=1.0),
        Quote("c", "X/Y", 100.4, T, T, volume=50.0),
    ]
    agg = aggregate_round([spec], quotes, T)["X/Y"]
    assert agg.value == 100.4
    assert [s.weight for s in agg.used] == [1.0, 1.0, 50.0]


@pytest.mark.parametrize(
    "kwargs",
    [{"trim": 0.5}, {"iqr_k": 0}, {"max_distance": 0}, {"huber_k": 0}, {"filters": (MAD, MAD)}],
)
def test_nonsense_aggregation_parameters_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        AggregationParams(**kwargs)  # type: ignore[arg-type]
