"""From screened, converted source prices to one robust value: outlier filters, quorum, estimator."""

from __future__ import annotations

from collections.abc import Sequence

from aggregator.estimators import estimate
from aggregator.filters import MIN_CANDIDATES, filter_bounds, outlier_detail, refused_by
from aggregator.params import AggregationParams, Estimator
from aggregator.robust import MAD_SCALE, median_of_sorted, quantile_of_sorted
from aggregator.types import Aggregate, Rejection, RejectReason, SourcePrice


def combine(
    feed: str,
    candidates: Sequence[SourcePrice],
    rejected: Sequence[Rejection],
    params: AggregationParams,
    round_ts_ms: int,
) -> Aggregate:
    """Combine one feed's candidate prices into an `Aggregate`.

    The configured outlier filters run once over all candidates (`aggregator.filters`). If
    fewer than `params.quorum` candidates survive, the feed has no value: the survivors are
    reported as rejected for `quorum` and `error` says how many were missing. Otherwise the
    configured estimator gives the value, with the dispersion (scaled MAD around the value,
    relative) and the interquartile band of the survivors. Provenance is sorted by source so
    the result does not depend on fetch order; every float reduction runs over prices sorted
    ascending, so it does not either.
    """
    survivors, outliers = cut_outliers(candidates, params)
    all_rejected = [*rejected, *outliers]
    if len(survivors) < params.quorum:
        detail = quorum_detail(len(survivors), params.quorum)
        all_rejected += [
            Rejection(s.source, s.symbol, RejectReason.QUORUM, detail) for s in survivors
        ]
        return Aggregate(
            feed=feed,
            round_ts_ms=round_ts_ms,
            value=None,
            dispersion=None,
            used=(),
            rejected=sorted_rejections(all_rejected),
            error=f"quorum lost: {detail}",
            estimator=str(params.estimator),
        )
    ordered = sorted(survivors, key=lambda s: (s.price, s.weight))
    prices = [s.price for s in ordered]
    value = estimate(prices, [s.weight for s in ordered], params)
    if params.estimator is Estimator.MEDIAN:
        value = within_middle(value, sorted(c.price for c in candidates))
    deviations = sorted(abs(p - value) for p in prices)
    return Aggregate(
        feed=feed,
        round_ts_ms=round_ts_ms,
        value=value,
        dispersion=MAD_SCALE * median_of_sorted(deviations) / value,
        used=tuple(sorted(survivors, key=lambda s: (s.source, s.symbol))),
        rejected=sorted_rejections(all_rejected),
        band_low=quantile_of_sorted(prices, 0.25),
        band_high=quantile_of_sorted(prices, 0.75),
        estimator=str(params.estimator),
    )


def within_middle(value: float, ordered: Sequence[float]) -> float:
    """`value` held between the lower and upper median of all candidates (ascending).

    With f corrupt sources among 2f+1 and f unknown, the only price inside every possible
    honest range is the median of all candidates: an outlier filter that cut an honest source
    on one side would otherwise let the survivors' median drift past the honest prices. So the
    filters decide which sources are reported as used or rejected, never where the median is.
    """
    lo = ordered[(len(ordered) - 1) // 2]
    hi = ordered[len(ordered) // 2]
    return min(max(value, lo), hi)


def quorum_detail(survivors: int, quorum: int) -> str:
    return f"{survivors} of {quorum} required sources survived"


def cut_outliers(
    candidates: Sequence[SourcePrice], params: AggregationParams
) -> tuple[list[SourcePrice], list[Rejection]]:
    """Split the candidates into survivors and outlier rejections (first refusing filter named)."""
    if len(candidates) < MIN_CANDIDATES or not params.filters:
        return list(candidates), []
    bounds = filter_bounds(sorted(c.price for c in candidates), params)
    survivors: list[SourcePrice] = []
    outliers: list[Rejection] = []
    for c in candidates:
        kind = refused_by(c.price, bounds, params)
        if kind is None:
            survivors.append(c)
        else:
            detail = f"{kind}: {outlier_detail(kind, c.price, bounds, params)}"
            outliers.append(Rejection(c.source, c.symbol, RejectReason.OUTLIER, detail))
    return survivors, outliers


def sorted_rejections(rejected: Sequence[Rejection]) -> tuple[Rejection, ...]:
    return tuple(sorted(rejected, key=lambda r: (r.source, r.symbol)))
