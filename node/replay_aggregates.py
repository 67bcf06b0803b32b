"""Replay's aggregation: the journal's rounds aggregated many at a time on the vectorized path.

Aggregation depends on a round's quotes, config and time only, never on what came before
(breakers and publication do, and replay runs them round by round with `plan_feeds`). So the
rounds ahead that share a config are decoded and aggregated together, `CHUNK` at a time, as
one tall grid (`aggregator.rounds`), and each round's aggregates are handed out when replay
reaches it. They equal `aggregate_round`'s (property tests), which the live node runs for
small configs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import chain, repeat
from operator import itemgetter
from typing import Any, overload

import numpy as np

from aggregator import Aggregate, SourcePrice
from aggregator.batch import QuoteBatch, placed, quote_batch
from aggregator.combine import sorted_rejections
from aggregator.grid import Floats
from aggregator.layout import USED
from aggregator.rounds import aggregate_rounds, aggregate_stacked
from aggregator.vector import RoundLayout, VectorRound
from audit.journal import JournalRecord
from feeds.quote import FailureKind, FetchResult
from node.pipeline import RoundRules
from node.replay_rows import RoundRows, RowColumns, by_market

CHUNK = 256
"""Rounds aggregated per tall grid: large enough to amortize numpy's per-call cost, small
enough that a long journal never holds more than this many rounds of arrays."""

ResultReader = Callable[[Mapping[str, Any]], FetchResult]


class RoundAggregates:
    """Aggregates of the round records in `records`, computed ahead in chunks.

    `rules_for` maps a round to its rules (by the config hash it recorded); `read` rebuilds
    a journaled fetch result.
    """

    def __init__(
        self,
        records: Sequence[JournalRecord],
        rules_for: Callable[[JournalRecord], RoundRules],
        read: ResultReader,
        chunk: int = CHUNK,
    ) -> None:
        self._chunk = chunk
        self._rounds = [r for r in records if r.kind == "round"]
        self._position = {r.seq: i for i, r in enumerate(self._rounds)}
        self._rules_for = rules_for
        self._read = read
        self._ready: dict[int, VectorRound] = {}
        self._layouts: dict[int, tuple[RoundRules, RoundLayout]] = {}
        self._row_shapes: dict[int, RowShapes] = {}
        self._columns: dict[int, RowColumns] = {}

    def of(self, rec: JournalRecord) -> dict[str, Aggregate]:
        """The aggregates of round record `rec` (its arrays are freed once handed out; asking
        again computes them again)."""
        ready = self._ready.pop(rec.seq, None)
        if ready is None:
            self._compute_from(rec)
            ready = self._ready.pop(rec.seq)
        return self._shapes(ready.layout).aggregates(ready)

    def rows(self, rec: JournalRecord) -> RoundRows:
        """The feeds of round record `rec` as `RoundRows` (exact replay's reading of them;
        handed out once, as `of` is)."""
        ready = self._ready.pop(rec.seq, None)
        if ready is None:
            self._compute_from(rec)
            ready = self._ready.pop(rec.seq)
        known = self._columns.get(id(ready.layout))
        if known is None or known.layout is not ready.layout:
            known = self._columns[id(ready.layout)] = RowColumns(ready.layout)
        return known.rows(ready)

    def _compute_from(self, first: JournalRecord) -> None:
        rules = self._rules_for(first)
        start = self._position[first.seq]
        chunk = [first]
        for rec in self._rounds[start + 1 : start + self._chunk]:
            if self._rules_for(rec) is not rules:
                break
            chunk.append(rec)
        layout = self._layout(rules)
        times = [rec.ts_ms for rec in chunk]
        stacked = stacked_batches(layout, chunk, self._read)
        if stacked is None:  # a field missing or a market answered twice: object by object
            batches = [
                quote_batch(layout, [self._read(item) for item in rec.body["results"]])
                for rec in chunk
            ]
            computed = aggregate_rounds(layout, batches, times)
        else:
            computed = aggregate_stacked(layout, *stacked, times)
        self._ready.update(zip((rec.seq for rec in chunk), computed, strict=True))

    def _shapes(self, layout: RoundLayout) -> RowShapes:
        known = self._row_shapes.get(id(layout))
        if known is None or known.layout is not layout:
            known = self._row_shapes[id(layout)] = RowShapes(layout)
        return known

    def _layout(self, rules: RoundRules) -> RoundLayout:
        if rules.layout is not None:
            return rules.layout
        known = self._layouts.get(id(rules))
        if known is None:
            # The rules are kept with their layout, so their id is not reused meanwhile.
            known = self._layouts[id(rules)] = (
                rules,
                RoundLayout.build([r.spec for r in rules.feeds]),
            )
        return known[1]


class RowShapes:
    """What a layout's `Aggregate`s share from round to round, to build them row by row fast.

    `aggregates(round)` equals `round.aggregates()` (property tests): a row with a value whose
    every source was used is built here from the round's arrays read as lists once; any
    other row (a rejection to explain, or no value) is `VectorRound.aggregate_row`'s.
    """

    def __init__(self, layout: RoundLayout) -> None:
        self.layout = layout
        self._rows = [
            (
                spec.feed,
                str(spec.params.estimator),
                len(spec.sources),
                # `aggregate_row` sorts the used sources by (venue, symbol), stably: the
                # same permutation every round when every slot is used.
                tuple(
                    (spec.sources[j].venue, spec.sources[j].symbol, j, markets[j])
                    for j in by_market(spec)
                ),
            )
            for spec, markets in zip(layout.specs, layout.slot_market.tolist(), strict=True)
        ]
        self._no_rejections = sorted_rejections(())

    def aggregates(self, round_: VectorRound) -> dict[str, Aggregate]:
        codes = round_.code.tolist()
        values = round_.value.tolist()
        prices = round_.price.tolist()
        weights = round_.weight.tolist()
        raw = round_.markets.price.tolist()
        stamps = round_.markets.ts_ms.tolist()
        out: dict[str, Aggregate] = {}
        for i, (feed, estimator, width, order) in enumerate(self._rows):
            value = values[i]
            row = codes[i]
            if math.isnan(value) or row[:width].count(USED) != width:
                out[feed] = round_.aggregate_row(i)
                continue
            price, weight = prices[i], weights[i]
            out[feed] = Aggregate(
                feed=feed,
                round_ts_ms=round_.round_ts_ms,
                value=value,
                dispersion=float(round_.dispersion[i]),
                used=tuple(
                    SourcePrice(venue, symbol, price[j], raw[k], stamps[k], weight[j])
                    for venue, symbol, j, k in order
                ),
                rejected=self._no_rejections,
                band_low=float(round_.band_low[i]),
                band_high=float(round_.band_high[i]),
                estimator=estimator,
            )
        return out


class LazyResults(Sequence[FetchResult]):
    """A round's journaled results, rebuilt as objects only when first read.

    Only the provenance of a source rejected for its fetch result (a failure, a stale or
    invalid quote) reads the objects; a clean round never builds them.
    """

    def __init__(self, items: Sequence[Mapping[str, Any]], read: ResultReader) -> None:
        self._items = items
        self._read = read
        self._results: list[FetchResult] | None = None

    def _all(self) -> list[FetchResult]:
        if self._results is None:
            self._results = [self._read(item) for item in self._items]
        return self._results

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> FetchResult: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[FetchResult]: ...
    def __getitem__(self, index: int | slice) -> FetchResult | Sequence[FetchResult]:
        return self._all()[index]


_TYPE = itemgetter("type")
_KEY = itemgetter("source", "symbol")
_FLOAT_COLUMNS = ("price", "bid", "ask", "volume", "exchange_ts_ms")


def stacked_batches(
    layout: RoundLayout, chunk: Sequence[JournalRecord], read: ResultReader
) -> tuple[QuoteBatch, list[QuoteBatch]] | None:
    """The chunk's rounds as quote batches, read column by column from the journal's JSON.

    Returns the stacked batch (round r's markets at r*M .. r*M+M-1) and one view of it per
    round, equal to `quote_batch(layout, [read(item) ...])` for that round; None when the
    chunk needs the object path (a market with two results in one round, a missing field).
    """
    per_round = [rec.body["results"] for rec in chunk]
    items: list[Mapping[str, Any]] = list(chain.from_iterable(per_round))
    markets = len(layout.markets)
    rounds = np.arange(len(chunk), dtype=np.int64)
    offsets = np.repeat(rounds * markets, [len(r) for r in per_round])
    try:
        keys = map(_KEY, items)
        local = np.fromiter(map(layout.market_index.get, keys, repeat(-1)), np.int64, len(items))
        is_quote = np.fromiter(map("quote".__eq__, map(_TYPE, items)), bool, len(items))
    except KeyError:
        return None
    known = local >= 0
    pos = local + offsets
    if known.any() and np.bincount(pos[known]).max() > 1:
        return None
    failed = known & ~is_quote
    kinds = [items[i].get("kind") for i in np.flatnonzero(failed)]
    bad = np.array([kind == FailureKind.BAD_DATA for kind in kinds], dtype=bool)
    taken = known & is_quote
    quotes = [items[i] for i in np.flatnonzero(taken)] if not taken.all() else items
    try:
        columns = _float_columns(quotes)
        received = np.fromiter(map(itemgetter("received_ts_ms"), quotes), np.int64, len(quotes))
    except KeyError:
        return None
    exchange = columns["exchange_ts_ms"]
    stamped = ~np.isnan(exchange)
    # Stamps are integers below 2**53: the float column holds them exactly.
    ts = np.where(stamped, np.where(stamped, exchange, 0.0).astype(np.int64), received)
    floats = (columns["price"], columns["bid"], columns["ask"], columns["volume"])
    tall = placed(markets * len(chunk), pos[failed], bad, pos[taken], floats, ts)
    views = [
        batch_view(tall, slice(r * markets, (r + 1) * markets), LazyResults(results, read))
        for r, results in enumerate(per_round)
    ]
    return tall, views


def batch_view(tall: QuoteBatch, rows: slice, results: Sequence[FetchResult]) -> QuoteBatch:
    """Rows `rows` of a stacked batch (one round's markets), with that round's results."""
    return QuoteBatch(
        tall.status[rows],
        tall.price[rows],
        tall.bid[rows],
        tall.ask[rows],
        tall.has_book[rows],
        tall.ts_ms[rows],
        tall.volume[rows],
        results,
    )


_FLOAT_ROW = itemgetter(*_FLOAT_COLUMNS)


def _float_columns(items: Sequence[Mapping[str, Any]]) -> dict[str, Floats]:
    """The float fields of every item as columns (`_floats` each), read in one pass when
    they all are numbers."""
    width = len(_FLOAT_COLUMNS)
    try:
        rows = chain.from_iterable(map(_FLOAT_ROW, items))
        block = np.fromiter(rows, np.float64, width * len(items)).reshape(-1, width)
    except (TypeError, ValueError):  # None, or a non-finite float's name: field by field
        return {name: _floats(items, name) for name in _FLOAT_COLUMNS}
    return dict(zip(_FLOAT_COLUMNS, block.T, strict=True))


def _floats(items: Sequence[Mapping[str, Any]], name: str) -> Floats:
    """One field of every item as float64: None is NaN, a non-finite float's name its value."""
    get = itemgetter(name)
    try:
        return np.fromiter(map(get, items), np.float64, len(items))
    except (TypeError, ValueError):
        return np.array([_float(v) for v in map(get, items)], dtype=np.float64)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)
