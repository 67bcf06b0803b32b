"""The vectorized round: many feeds at once with numpy, with the scalar path's exact results.

`RoundLayout.build(ordered)` (`aggregator.layout`) prepares, once per configuration, a grid of
F feeds x S source slots and the markets behind them; `quote_batch` (`aggregator.batch`) lays
a round's results out as columns. `aggregate_batch(layout, batch, round_ts_ms)` then screens
every quote, converts, filters, checks quorum and estimates with array operations
(`aggregator.grid`), level by level of the conversion graph. The result keeps provenance as
arrays (a reason code per slot); `VectorRound.aggregate(feed)` materializes the very
`Aggregate` that `aggregate_round` gives, detail strings included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from aggregator.batch import QuoteBatch, quote_batch
from aggregator.combine import quorum_detail, sorted_rejections
from aggregator.filters import FilterBounds, outlier_detail
from aggregator.graph import conversion_rejection, source_price
from aggregator.grid import FILTER_CODES, Bools, Floats, GridResult, Ints, RowCounts, combine_grid
from aggregator.layout import (
    CONVERSION,
    INVALID,
    OUTLIER,
    QUORUM,
    STALE,
    UNAVAILABLE,
    USED,
    FeedGroup,
    RoundLayout,
)
from aggregator.params import AggregationParams, OutlierFilter, Weighting
from aggregator.types import Aggregate, Rejection, RejectReason, SourcePrice
from feeds.quote import FetchResult

_FILTERS = {code: kind for kind, code in FILTER_CODES.items()}
_BIG = np.iinfo(np.int64).max // 4
_ROW_ARRAYS = (
    "value", "dispersion", "band_low", "band_high", "code", "refused", "price", "weight",
    "center", "mad_bound", "iqr_low", "iqr_high", "distance_bound", "survivor_count",
)  # fmt: skip


@dataclass(frozen=True)
class VectorRound:
    """A round's aggregates as arrays; `aggregate(feed)` materializes one `Aggregate`."""

    layout: RoundLayout
    markets: QuoteBatch
    round_ts_ms: int
    value: Floats
    dispersion: Floats
    band_low: Floats
    band_high: Floats
    code: Ints
    refused: Ints
    price: Floats
    weight: Floats
    center: Floats
    mad_bound: Floats
    iqr_low: Floats
    iqr_high: Floats
    distance_bound: Floats
    survivor_count: Ints

    def section(
        self, start: int, stop: int, layout: RoundLayout, markets: QuoteBatch, round_ts_ms: int
    ) -> VectorRound:
        """Rows start..stop as one round of `layout` (views, no copies): `aggregator.rounds`."""
        arrays = (getattr(self, name)[start:stop] for name in _ROW_ARRAYS)
        return VectorRound(layout, markets, round_ts_ms, *arrays)

    def row(self, feed: str) -> int:
        return next(i for i, s in enumerate(self.layout.specs) if s.feed == feed)

    def aggregate(self, feed: str) -> Aggregate:
        return self.aggregate_row(self.row(feed))

    def aggregate_row(self, i: int) -> Aggregate:
        """The `Aggregate` of row `i`, equal to the scalar path's.

        Rows are read as Python lists once (numpy scalar access per slot costs more than the
        rest); a used source's raw price and stamp come from the batch columns, which hold
        the quote's own values; only rejected failures look their result object up.
        """
        spec = self.layout.specs[i]
        params = spec.params
        used: list[SourcePrice] = []
        rejected: list[Rejection] = []
        count = int(self.survivor_count[i])
        codes = self.code[i].tolist()
        prices = self.price[i].tolist()
        weights = self.weight[i].tolist()
        markets = self.layout.slot_market[i].tolist()
        raw_prices = self.markets.price
        stamps = self.markets.ts_ms
        for j, source in enumerate(spec.sources):
            code = codes[j]
            if code == USED:
                k = markets[j]
                used.append(
                    SourcePrice(
                        source.venue,
                        source.symbol,
                        prices[j],
                        float(raw_prices[k]),
                        int(stamps[k]),
                        weights[j],
                    )
                )
            elif code == OUTLIER:
                kind = _FILTERS[int(self.refused[i, j])]
                detail = f"{kind}: {outlier_detail(kind, prices[j], self._bounds(i), params)}"
                rejected.append(
                    Rejection(source.venue, source.symbol, RejectReason.OUTLIER, detail)
                )
            elif code == QUORUM:
                detail = quorum_detail(count, params.quorum)
                rejected.append(Rejection(source.venue, source.symbol, RejectReason.QUORUM, detail))
            elif code == CONVERSION:
                via = self.layout.specs[int(self.layout.slot_via[i, j])].feed
                rejected.append(conversion_rejection(source, via))
            else:  # UNAVAILABLE, INVALID, STALE: the result itself says why
                by_market = self.markets.by_market
                outcome = source_price(spec, source, by_market, {}, (), self.round_ts_ms)
                assert isinstance(outcome, Rejection)
                rejected.append(outcome)
        value = float(self.value[i])
        if math.isnan(value):
            return Aggregate(
                feed=spec.feed,
                round_ts_ms=self.round_ts_ms,
                value=None,
                dispersion=None,
                used=(),
                rejected=sorted_rejections(rejected),
                error=f"quorum lost: {quorum_detail(count, params.quorum)}",
                estimator=str(params.estimator),
            )
        return Aggregate(
            feed=spec.feed,
            round_ts_ms=self.round_ts_ms,
            value=value,
            dispersion=float(self.dispersion[i]),
            used=tuple(sorted(used, key=lambda s: (s.source, s.symbol))),
            rejected=sorted_rejections(rejected),
            band_low=float(self.band_low[i]),
            band_high=float(self.band_high[i]),
            estimator=str(params.estimator),
        )

    def _bounds(self, i: int) -> FilterBounds:
        return FilterBounds(
            float(self.center[i]),
            float(self.mad_bound[i]),
            float(self.iqr_low[i]),
            float(self.iqr_high[i]),
            float(self.distance_bound[i]),
        )

    def median_used_ts_ms(self) -> Floats:
        """Per feed, the median stamp of the quotes used (NaN when none): the staleness input."""
        used = (self.code == USED) & ~np.isnan(self.value)[:, None]
        stamps = np.sort(np.where(used, self.markets.ts_ms[self.layout.slot_market], _BIG), axis=1)
        counts = RowCounts.of(used.sum(axis=1), stamps.shape[1])
        return counts.median(stamps)  # int stamps: exact as float64 below 2**53

    def aggregates(self) -> dict[str, Aggregate]:
        return {s.feed: self.aggregate_row(i) for i, s in enumerate(self.layout.specs)}


def aggregate_vector(
    layout: RoundLayout, results: Iterable[FetchResult], round_ts_ms: int
) -> VectorRound:
    """Every feed of the layout for one round; equal to `aggregate_round` on the same inputs."""
    return aggregate_batch(layout, quote_batch(layout, results), round_ts_ms)


def aggregate_batch(
    layout: RoundLayout, m: QuoteBatch, round_ts_ms: int, row_ts_ms: Ints | None = None
) -> VectorRound:
    """`aggregate_vector` from a round's columnar batch (built by `quote_batch`).

    `row_ts_ms`, one round time per row, serves a tiled layout (`aggregator.rounds`), whose
    rows belong to different rounds; `round_ts_ms` is then only recorded.
    """
    shape = layout.slot_market.shape
    rows = shape[0]
    idx = layout.slot_market
    code = np.where(layout.slot_valid, m.status[idx], UNAVAILABLE)
    raw = m.price[idx]
    price = np.full(shape, np.nan)
    weight = np.zeros(shape)
    refused = np.zeros(shape, dtype=np.int64)
    value = np.full(rows, np.nan)
    out = {k: np.full(rows, np.nan) for k in ("disp", "low", "high", "c", "mad", "il", "ih", "d")}
    count = np.zeros(rows, dtype=np.int64)
    bad, spread = _market_screen(m)
    for group in layout.groups:
        g = group.index
        p = group.params
        now = round_ts_ms if row_ts_ms is None else row_ts_ms[g][:, None]
        gc = _screen(code[g], bad, spread, m.ts_ms, idx[g], now, p)
        converted, gc = _convert(raw[g], gc, layout.slot_kind[g], layout.slot_via[g], value)
        w = layout.slot_weight[g] if p.weighting is Weighting.CONFIG else _volume(m, idx[g])
        cand = gc == USED
        grid = combine_grid(np.where(cand, converted, np.nan), w, p)
        gc = np.where(grid.refused > 0, OUTLIER, gc)
        lost = np.isnan(grid.value)[:, None] & grid.survivors
        code[g] = np.where(lost, QUORUM, gc)
        price[g], weight[g], refused[g] = converted, w, grid.refused
        value[g], count[g] = grid.value, grid.survivor_count
        _store(out, g, grid)
    return VectorRound(
        layout, m, round_ts_ms, value, out["disp"], out["low"], out["high"], code, refused,
        price, weight, out["c"], out["mad"], out["il"], out["ih"], out["d"], count,
    )  # fmt: skip


def _store(out: dict[str, Floats], g: Ints | slice, grid: GridResult) -> None:
    out["disp"][g], out["low"][g], out["high"][g] = grid.dispersion, grid.band_low, grid.band_high
    out["c"][g], out["mad"][g] = grid.center, grid.mad_bound
    out["il"][g], out["ih"][g], out["d"][g] = grid.iqr_low, grid.iqr_high, grid.distance_bound


def _market_screen(m: QuoteBatch) -> tuple[Bools, Floats]:
    """Per market: is the quote unusable whatever the feed (`bad`), and its relative spread.

    The spread is NaN without a usable book. Both are computed once per round and then
    gathered into each feed group's slots: the rules that depend on a feed's parameters
    (spread limit, max age) compare against them.
    """
    price, bid, ask, book = m.price, m.bid, m.ask, m.has_book
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        bad_price = ~np.isfinite(price) | (price <= 0)
        bad_book = book & (
            ~(np.isfinite(bid) & np.isfinite(ask)) | (bid <= 0) | (ask <= 0) | (bid > ask)
        )
        spread = np.where(book & ~bad_book, (ask - bid) / ((ask + bid) / 2.0), np.nan)
    return bad_price | bad_book, spread


def _screen(
    code: Ints,
    bad: Bools,
    spread: Floats,
    ts_ms: Ints,
    idx: Ints,
    round_ts_ms: int | Ints,
    p: AggregationParams,
) -> Ints:
    """`aggregator.screen.screen_quote` on every slot: the first failing rule's code."""
    with np.errstate(invalid="ignore"):
        invalid = bad[idx] | (spread[idx] > p.max_spread)
    age = round_ts_ms - ts_ms[idx]
    stale = (age > p.max_age_ms) | (-age > p.max_future_ms)
    quote = code == 0
    code = np.where(quote & invalid, INVALID, code)
    return np.where((code == 0) & stale, STALE, code)


def _convert(raw: Floats, code: Ints, kind: Ints, via: Ints, values: Floats) -> tuple[Floats, Ints]:
    """`Conversion.apply` on every usable slot; a conversion feed without value -> CONVERSION."""
    if not kind.any():  # every slot quotes the feed's own pair: nothing to convert
        return raw, code
    via_value = np.where(via >= 0, values[np.maximum(via, 0)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        converted = np.select(
            [kind == 0, kind == 1, kind == 2],
            [raw, 1.0 / raw, raw * via_value],
            raw / via_value,
        )
    missing = (code == 0) & (via >= 0) & np.isnan(via_value)
    return converted, np.where(missing, CONVERSION, code)


def _volume(m: QuoteBatch, idx: Ints) -> Floats:
    v = m.volume[idx]
    return np.where(np.isfinite(v) & (v >= 0), v, 0.0)


__all__ = [
    "CONVERSION",
    "INVALID",
    "OUTLIER",
    "QUORUM",
    "STALE",
    "UNAVAILABLE",
    "USED",
    "FeedGroup",
    "OutlierFilter",
    "QuoteBatch",
    "RoundLayout",
    "VectorRound",
    "aggregate_batch",
    "aggregate_vector",
    "quote_batch",
]
