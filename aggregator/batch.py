"""A round's fetch results as columns: one array per quote field, indexed by the layout's markets.

The vectorized path (`aggregator.vector.aggregate_batch`) starts from a `QuoteBatch`. Building
one (`quote_batch`) is the only step that touches every Python `Quote` object, so it is kept
apart: the benchmark times it separately (`ingest_ms`), and a caller that reads the same
results twice builds the batch once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from operator import attrgetter

import numpy as np

from aggregator.grid import Bools, Floats, Ints
from aggregator.layout import INVALID, UNAVAILABLE, RoundLayout
from feeds.quote import FailureKind, FetchFailure, FetchResult, Quote

_KEY = attrgetter("source", "symbol")


@dataclass(frozen=True)
class QuoteBatch:
    """One round's results per market: NaN / status codes where a market gave no quote.

    `status` is 0 for a quote, else `UNAVAILABLE` or `INVALID` (from the failure's kind);
    `ts_ms` is the quote's `ts_ms` (the venue's stamp, else the receive time). `results` are
    the objects the batch was read from: provenance details of failures come from them.
    """

    status: Ints
    price: Floats
    bid: Floats
    ask: Floats
    has_book: Bools
    ts_ms: Ints
    volume: Floats
    results: Sequence[FetchResult]

    @cached_property
    def by_market(self) -> dict[tuple[str, str], FetchResult]:
        """What the scalar path looks results up in (the last result for a market wins)."""
        return {(r.source, r.symbol): r for r in self.results}


def _column(quotes: Sequence[Quote], name: str, keep: Bools) -> Floats:
    """One attribute of every kept quote as float64; None becomes NaN.

    `np.fromiter` over `attrgetter` runs as a C loop; only a column holding a None (a venue
    without a book, volume or stamp) takes the slower object-array route.
    """
    get = attrgetter(name)
    try:
        column = np.fromiter(map(get, quotes), np.float64, len(quotes))
    except TypeError:
        column = np.array([np.nan if v is None else v for v in map(get, quotes)], np.float64)
    return column[keep]


def placed(
    size: int,
    failed_at: Ints,
    bad: Bools,
    at: Ints,
    columns: tuple[Floats, Floats, Floats, Floats],
    ts_ms: Ints,
    results: Sequence[FetchResult] = (),
) -> QuoteBatch:
    """A batch of `size` markets: failures at `failed_at` (`INVALID` where `bad`), quotes at
    `at` with their (price, bid, ask, volume) `columns` (NaN for a missing one) and stamps,
    every other market `UNAVAILABLE`. Every way of building a batch ends here."""
    status = np.full(size, UNAVAILABLE, dtype=np.int64)
    status[failed_at] = np.where(bad, INVALID, UNAVAILABLE)
    status[at] = 0
    price, bid, ask, volume = (np.full(size, np.nan) for _ in range(4))
    price[at], bid[at], ask[at], volume[at] = columns
    ts = np.zeros(size, dtype=np.int64)
    ts[at] = ts_ms
    book = np.zeros(size, dtype=bool)
    book[at] = ~np.isnan(bid[at]) & ~np.isnan(ask[at])
    return QuoteBatch(status, price, bid, ask, book, ts, volume, results)


def quote_batch(layout: RoundLayout, results: Iterable[FetchResult]) -> QuoteBatch:
    """The round's results laid out by market index (the last result for a market wins)."""
    everything = tuple(results)
    n = len(layout.markets)
    index = layout.market_index
    if set(map(type, everything)) <= {Quote}:  # the usual round: no venue failed
        quotes: Sequence[Quote] = everything  # type: ignore[assignment]
        failures: list[FetchResult] = []
    else:
        quotes = [r for r in everything if type(r) is Quote]
        failures = [r for r in everything if type(r) is not Quote]
    bad_data: dict[int, bool] = {}  # per failed market (the last failure wins)
    for f in failures:  # rare: a handful of venues down
        k = index.get((f.source, f.symbol))
        if k is not None:
            assert isinstance(f, FetchFailure)
            bad_data[k] = f.kind is FailureKind.BAD_DATA
    pos = np.fromiter(map(index.get, map(_KEY, quotes), repeat(-1)), np.int64, len(quotes))
    keep = pos >= 0
    if failures or (keep.any() and np.bincount(pos[keep]).max() > 1):
        keep = _last_per_market(everything, index, len(quotes), pos)
    price, bid, ask, volume = (_column(quotes, name, keep) for name in _FLOAT_FIELDS)
    exchange = _column(quotes, "exchange_ts_ms", keep)
    received = np.fromiter(map(attrgetter("received_ts_ms"), quotes), np.int64, len(quotes))
    stamped = ~np.isnan(exchange)
    # Stamps are integers below 2**53: the float column holds them exactly.
    ts = np.where(stamped, np.where(stamped, exchange, 0.0).astype(np.int64), received[keep])
    return placed(
        n,
        np.fromiter(bad_data, np.int64, len(bad_data)),
        np.fromiter(bad_data.values(), bool, len(bad_data)),
        pos[keep],
        (price, bid, ask, volume),
        ts,
        everything,
    )


_FLOAT_FIELDS = ("price", "bid", "ask", "volume")


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
