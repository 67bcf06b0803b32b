"""The vectorized round: many feeds at once with numpy, with the scalar path's exact results.

`RoundLayout.build(ordered)` prepares, once per configuration, a grid of F feeds x S source
slots and the markets behind them. `aggregate_vector(layout, results, round_ts_ms)` then
screens every quote, converts, filters, checks quorum and estimates with array operations
(`aggregator.grid`), level by level of the conversion graph. The result keeps provenance as
arrays (a reason code per slot); `VectorRound.aggregate(feed)` materializes the very
`Aggregate` that `aggregate_round` gives, detail strings included.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from operator import attrgetter

import numpy as np

from aggregator.combine import quorum_detail, sorted_rejections
from aggregator.filters import FilterBounds, outlier_detail
from aggregator.graph import (
    ConversionKind,
    FeedSpec,
    conversion_rejection,
    plan_conversion,
    source_price,
)
from aggregator.grid import FILTER_CODES, Bools, Floats, GridResult, Ints, combine_grid
from aggregator.params import AggregationParams, OutlierFilter, Weighting
from aggregator.types import Aggregate, Rejection, RejectReason, SourcePrice
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote

USED, UNAVAILABLE, INVALID, STALE, CONVERSION, OUTLIER, QUORUM = range(7)
"""Slot codes of a `VectorRound`."""
_KIND_CODES = {
    ConversionKind.DIRECT: 0,
    ConversionKind.INVERT: 1,
    ConversionKind.MULTIPLY: 2,
    ConversionKind.DIVIDE: 3,
}
_FILTERS = {code: kind for kind, code in FILTER_CODES.items()}
_BIG = np.iinfo(np.int64).max // 4


@dataclass(frozen=True, slots=True)
class FeedGroup:
    """Feeds of one conversion level sharing their aggregation parameters."""

    rows: Ints
    params: AggregationParams


@dataclass(frozen=True)
class RoundLayout:
    """The grid of a configuration: which market fills each (feed, slot) and how it converts."""

    specs: tuple[FeedSpec, ...]
    markets: tuple[tuple[str, str], ...]
    market_index: dict[tuple[str, str], int]
    slot_market: Ints
    slot_valid: Bools
    slot_kind: Ints
    slot_via: Ints
    slot_weight: Floats
    groups: tuple[FeedGroup, ...]

    @classmethod
    def build(cls, ordered: Sequence[FeedSpec]) -> RoundLayout:
        """`ordered` comes from `evaluation_order` (conversion feeds first)."""
        feed_ids = [s.feed for s in ordered]
        row_of = {f: i for i, f in enumerate(feed_ids)}
        width = max((len(s.sources) for s in ordered), default=0)
        shape = (len(ordered), max(width, 1))
        markets: dict[tuple[str, str], int] = {}
        slot_market = np.zeros(shape, dtype=np.int64)
        slot_valid = np.zeros(shape, dtype=bool)
        slot_kind = np.zeros(shape, dtype=np.int64)
        slot_via = np.full(shape, -1, dtype=np.int64)
        slot_weight = np.ones(shape)
        level = [0] * len(ordered)
        for i, spec in enumerate(ordered):
            for j, source in enumerate(spec.sources):
                key = (source.venue, source.symbol)
                slot_market[i, j] = markets.setdefault(key, len(markets))
                slot_valid[i, j] = True
                conversion = plan_conversion(spec.feed, source.symbol, feed_ids)
                slot_kind[i, j] = _KIND_CODES[conversion.kind]
                slot_weight[i, j] = source.weight
                if conversion.via is not None:
                    slot_via[i, j] = row_of[conversion.via]
                    level[i] = max(level[i], level[row_of[conversion.via]] + 1)
        grouped: dict[tuple[int, AggregationParams], list[int]] = {}
        for i, spec in enumerate(ordered):
            grouped.setdefault((level[i], spec.params), []).append(i)
        groups = tuple(
            FeedGroup(np.array(rows, dtype=np.int64), params)
            for (_, params), rows in sorted(grouped.items(), key=lambda kv: (kv[0][0], kv[1][0]))
        )
        return cls(
            tuple(ordered),
            tuple(markets),
            markets,
            slot_market,
            slot_valid,
            slot_kind,
            slot_via,
            slot_weight,
            groups,
        )


@dataclass(frozen=True)
class MarketArrays:
    """One round's results per market: NaN / status codes where a market gave no quote."""

    status: Ints  # 0 quote, UNAVAILABLE, INVALID (a failure kind)
    price: Floats
    bid: Floats
    ask: Floats
    has_book: Bools
    ts_ms: Ints
    volume: Floats
    results: tuple[FetchResult, ...]

    @cached_property
    def by_market(self) -> dict[tuple[str, str], FetchResult]:
        """What the scalar path looks results up in (the last result for a market wins)."""
        return {(r.source, r.symbol): r for r in self.results}


_KEY = attrgetter("source", "symbol")
_RECEIVED = attrgetter("received_ts_ms")
_PRICE = attrgetter("price")


def _floats(quotes: Sequence[Quote], name: str) -> Floats:
    """One attribute of every quote; None becomes NaN."""
    return np.array(list(map(attrgetter(name), quotes)), dtype=np.float64).reshape(len(quotes))


def market_arrays(layout: RoundLayout, results: Iterable[FetchResult]) -> MarketArrays:
    """The round's results laid out by market index (the last result for a market wins).

    Attribute reads go through `attrgetter` and `map` (C loops): with thousands of quotes a
    round, reading the Python objects is most of the vectorized path's cost.
    """
    everything = tuple(results)
    n = len(layout.markets)
    index = layout.market_index
    if set(map(type, everything)) <= {Quote}:  # the usual round: no venue failed
        quotes: Sequence[Quote] = everything  # type: ignore[assignment]
        failures: list[FetchResult] = []
    else:
        quotes = [r for r in everything if type(r) is Quote]
        failures = [r for r in everything if type(r) is not Quote]
    status = np.full(n, UNAVAILABLE, dtype=np.int64)
    for f in failures:  # rare: a handful of venues down
        k = index.get((f.source, f.symbol))
        if k is not None:
            assert isinstance(f, FetchFailure)
            status[k] = INVALID if f.kind is FailureKind.BAD_DATA else UNAVAILABLE
    pos = np.fromiter(map(index.get, map(_KEY, quotes), repeat(-1)), np.int64, len(quotes))
    keep = pos >= 0
    if failures or (keep.any() and np.bincount(pos[keep]).max() > 1):
        keep = _last_per_market(everything, index, len(quotes), pos)
    pos = pos[keep]
    price, bid, ask, vol = (np.full(n, np.nan) for _ in range(4))
    ts = np.zeros(n, dtype=np.int64)
    book = np.zeros(n, dtype=bool)
    status[pos] = 0
    price[pos] = np.fromiter(map(_PRICE, quotes), np.float64, len(quotes))[keep]
    bid[pos] = _floats(quotes, "bid")[keep]
    ask[pos] = _floats(quotes, "ask")[keep]
    vol[pos] = _floats(quotes, "volume")[keep]
    exchange = _floats(quotes, "exchange_ts_ms")[keep]
    received = np.fromiter(map(_RECEIVED, quotes), np.int64, len(quotes))[keep]
    stamped = ~np.isnan(exchange)
    ts[pos] = np.where(stamped, np.where(stamped, exchange, 0.0).astype(np.int64), received)
    book[pos] = ~np.isnan(bid[pos]) & ~np.isnan(ask[pos])
    return MarketArrays(status, price, bid, ask, book, ts, vol, everything)


def _last_per_market(
    everything: Sequence[FetchResult], index: dict[tuple[str, str], int], count: int, pos: Ints
) -> Bools:
    """Which quotes are their market's last result (a later failure or quote overrides)."""
    last: dict[int, int] = {}
    q = 0
    for r in everything:
        k = index.get((r.source, r.symbol))
        if type(r) is Quote:
            if k is not None:
                last[k] = q
            q += 1
        elif k is not None:
            last[k] = -1
    keep = np.zeros(count, dtype=bool)
    winners = [i for i in last.values() if i >= 0]
    keep[winners] = True
    return keep & (pos >= 0)


@dataclass(frozen=True)
class VectorRound:
    """A round's aggregates as arrays; `aggregate(feed)` materializes one `Aggregate`."""

    layout: RoundLayout
    markets: MarketArrays
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

    def row(self, feed: str) -> int:
        return next(i for i, s in enumerate(self.layout.specs) if s.feed == feed)

    def aggregate(self, feed: str) -> Aggregate:
        return self.aggregate_row(self.row(feed))

    def aggregate_row(self, i: int) -> Aggregate:
        """The `Aggregate` of row `i`, equal to the scalar path's."""
        spec = self.layout.specs[i]
        by_market = self.markets.by_market
        params = spec.params
        used: list[SourcePrice] = []
        rejected: list[Rejection] = []
        bounds = FilterBounds(
            float(self.center[i]),
            float(self.mad_bound[i]),
            float(self.iqr_low[i]),
            float(self.iqr_high[i]),
            float(self.distance_bound[i]),
        )
        count = int(self.survivor_count[i])
        for j, source in enumerate(spec.sources):
            code = int(self.code[i, j])
            if code == CONVERSION:
                via = self.layout.specs[int(self.layout.slot_via[i, j])].feed
                rejected.append(conversion_rejection(source, via))
                continue
            if code in (UNAVAILABLE, INVALID, STALE):
                outcome = source_price(spec, source, by_market, {}, (), self.round_ts_ms)
                assert isinstance(outcome, Rejection)
                rejected.append(outcome)
                continue
            quote = by_market[(source.venue, source.symbol)]
            assert isinstance(quote, Quote)
            price = float(self.price[i, j])
            if code == OUTLIER:
                kind = _FILTERS[int(self.refused[i, j])]
                detail = f"{kind}: {outlier_detail(kind, price, bounds, params)}"
                rejected.append(
                    Rejection(source.venue, source.symbol, RejectReason.OUTLIER, detail)
                )
            elif code == QUORUM:
                detail = quorum_detail(count, params.quorum)
                rejected.append(Rejection(source.venue, source.symbol, RejectReason.QUORUM, detail))
            else:
                weight = float(self.weight[i, j])
                used.append(
                    SourcePrice(
                        source.venue, source.symbol, price, quote.price, quote.ts_ms, weight
                    )
                )
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

    def median_used_ts_ms(self) -> Floats:
        """Per feed, the median stamp of the quotes used (NaN when none): the staleness input."""
        used = (self.code == USED) & ~np.isnan(self.value)[:, None]
        stamps = np.sort(np.where(used, self.markets.ts_ms[self.layout.slot_market], _BIG), axis=1)
        n = used.sum(axis=1)
        lo = np.take_along_axis(stamps, np.maximum((n - 1) // 2, 0)[:, None], axis=1)[:, 0]
        hi = np.take_along_axis(stamps, np.maximum(n // 2, 0)[:, None], axis=1)[:, 0]
        mid = np.where(n % 2 == 1, lo.astype(np.float64), (lo + hi) / 2)
        return np.where(n > 0, mid, np.nan)

    def aggregates(self) -> dict[str, Aggregate]:
        return {s.feed: self.aggregate_row(i) for i, s in enumerate(self.layout.specs)}


def aggregate_vector(
    layout: RoundLayout, results: Iterable[FetchResult], round_ts_ms: int
) -> VectorRound:
    """Every feed of the layout for one round; equal to `aggregate_round` on the same inputs."""
    m = market_arrays(layout, results)
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
    for group in layout.groups:
        g = group.rows
        p = group.params
        gc = _screen(code[g], m, idx[g], round_ts_ms, p)
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


def _store(out: dict[str, Floats], g: Ints, grid: GridResult) -> None:
    out["disp"][g], out["low"][g], out["high"][g] = grid.dispersion, grid.band_low, grid.band_high
    out["c"][g], out["mad"][g] = grid.center, grid.mad_bound
    out["il"][g], out["ih"][g], out["d"][g] = grid.iqr_low, grid.iqr_high, grid.distance_bound


def _screen(code: Ints, m: MarketArrays, idx: Ints, round_ts_ms: int, p: AggregationParams) -> Ints:
    """`aggregator.screen.screen_quote` on every slot: the first failing rule's code."""
    price, bid, ask = m.price[idx], m.bid[idx], m.ask[idx]
    book = m.has_book[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        bad_price = ~np.isfinite(price) | (price <= 0)
        bad_book = book & (
            ~(np.isfinite(bid) & np.isfinite(ask)) | (bid <= 0) | (ask <= 0) | (bid > ask)
        )
        wide = book & ~bad_book & ((ask - bid) / ((ask + bid) / 2.0) > p.max_spread)
    age = round_ts_ms - m.ts_ms[idx]
    stale = (age > p.max_age_ms) | (-age > p.max_future_ms)
    quote = code == 0
    code = np.where(quote & (bad_price | bad_book | wide), INVALID, code)
    return np.where((code == 0) & stale, STALE, code)


def _convert(raw: Floats, code: Ints, kind: Ints, via: Ints, values: Floats) -> tuple[Floats, Ints]:
    """`Conversion.apply` on every usable slot; a conversion feed without value -> CONVERSION."""
    via_value = np.where(via >= 0, values[np.maximum(via, 0)], np.nan)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        converted = np.select(
            [kind == 0, kind == 1, kind == 2],
            [raw, 1.0 / raw, raw * via_value],
            raw / via_value,
        )
    missing = (code == 0) & (via >= 0) & np.isnan(via_value)
    return converted, np.where(missing, CONVERSION, code)


def _volume(m: MarketArrays, idx: Ints) -> Floats:
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
    "MarketArrays",
    "OutlierFilter",
    "RoundLayout",
    "VectorRound",
    "aggregate_vector",
]
