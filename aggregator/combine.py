"""From screened, converted source prices to one robust value: MAD outlier cut, quorum, median."""

from __future__ import annotations

from collections.abc import Sequence

from aggregator.params import AggregationParams
from aggregator.robust import median, scaled_mad
from aggregator.types import Aggregate, Rejection, RejectReason, SourcePrice


def combine(
    feed: str,
    candidates: Sequence[SourcePrice],
    rejected: Sequence[Rejection],
    params: AggregationParams,
    round_ts_ms: int,
) -> Aggregate:
    """Combine one feed's candidate prices into an `Aggregate`.

    Outliers are judged against the median of all candidates with a floored scaled MAD, in a
    single pass (a second pass on the survivors would let a tight honest cluster reject its own
    edges). If fewer than `params.quorum` candidates survive, the feed has no value: the
    survivors are reported as rejected for `quorum` and `error` says how many were missing.
    Provenance is sorted by source so the result does not depend on fetch order.
    """
    survivors, outliers = _cut_outliers(candidates, params)
    all_rejected = [*rejected, *outliers]
    if len(survivors) < params.quorum:
        detail = f"{len(survivors)} of {params.quorum} required sources survived"
        all_rejected += [
            Rejection(s.source, s.symbol, RejectReason.QUORUM, detail) for s in survivors
        ]
        return Aggregate(
            feed=feed,
            round_ts_ms=round_ts_ms,
            value=None,
            dispersion=None,
            used=(),
            rejected=_sorted_rejections(all_rejected),
            error=f"quorum lost: {detail}",
        )
    prices = [s.price for s in survivors]
    value = median(prices)
    return Aggregate(
        feed=feed,
        round_ts_ms=round_ts_ms,
        value=value,
        dispersion=scaled_mad(prices, value) / value,
        used=tuple(sorted(survivors, key=lambda s: (s.source, s.symbol))),
        rejected=_sorted_rejections(all_rejected),
    )


def _cut_outliers(
    candidates: Sequence[SourcePrice], params: AggregationParams
) -> tuple[list[SourcePrice], list[Rejection]]:
    if len(candidates) < 3:
        # Two points cannot say which of them is the outlier.
        return list(candidates), []
    prices = [c.price for c in candidates]
    center = median(prices)
    spread = max(scaled_mad(prices, center), params.min_mad * center)
    bound = params.mad_k * spread
    survivors: list[SourcePrice] = []
    outliers: list[Rejection] = []
    for c in candidates:
        distance = abs(c.price - center)
        if distance > bound:
            detail = (
                f"{c.price:.8g} is {distance / center:.2%} from the median {center:.8g} "
                f"(bound {bound / center:.2%} = {params.mad_k:g} scaled MAD)"
            )
            outliers.append(Rejection(c.source, c.symbol, RejectReason.OUTLIER, detail))
        else:
            survivors.append(c)
    return survivors, outliers


def _sorted_rejections(rejected: Sequence[Rejection]) -> tuple[Rejection, ...]:
    return tuple(sorted(rejected, key=lambda r: (r.source, r.symbol)))
