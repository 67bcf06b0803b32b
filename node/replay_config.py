"""What one config's rules give exact replay's columnar check, computed once per config.

`ChunkConfig` holds the layout, the string ids of the names the columns are compared with
(feeds, venues and symbols in used order, estimators, markets), and the breaker, answer and
publish parameters as arrays; `Tiles` repeats them for a chunk of rounds, row r*F + f being
feed f of the chunk's round r. `stacked_quotes` lays a chunk's journaled results out by market
for the tall aggregation grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from aggregator.batch import QuoteBatch
from aggregator.layout import INVALID, UNAVAILABLE, RoundLayout
from audit.packed import NULL_ASK, NULL_BID, NULL_EXCHANGE_TS, NULL_VOLUME
from circuit_breakers.arrays import BreakerArrays, ParamArrays
from node.pipeline import RoundRules
from node.replay_columns import Bools, Ints, RoundInputs, Strings, sorted_rank
from node.replay_rows import RowColumns
from publisher.policy import threshold_ratio

PAIR = 1 << 32
"""A market's (venue, symbol) ids as one int64: venue * PAIR + symbol."""
SAFE = 2**62
"""Products of int64 below this bound cannot overflow (publish decisions)."""


class ChunkConfig:
    """What one config's rules give every chunk: the layout, ids of its names, parameters."""

    def __init__(self, rules: RoundRules, strings: Strings) -> None:
        self.rules = rules
        specs = [r.spec for r in rules.feeds]
        self.layout: RoundLayout = rules.layout or RoundLayout.build(specs)
        self.names = [s.feed for s in specs]
        self.feeds = len(specs)
        self.markets = len(self.layout.markets)
        self.rank = sorted_rank(rules)
        self.feed_gid = np.array([strings.id(n) for n in self.names], dtype=np.int64)
        cols = RowColumns(self.layout)
        self.cols = cols
        width = cols.slot.shape[1]
        self.venue = np.array(
            [[strings.id(v) for v in vs] + [-3] * (width - len(vs)) for vs in cols.venues]
        ).reshape(self.feeds, width)
        self.symbol = np.array(
            [[strings.id(v) for v in vs] + [-3] * (width - len(vs)) for vs in cols.symbols]
        ).reshape(self.feeds, width)
        self.estimator = np.array([strings.id(e) for e in cols.estimators], dtype=np.int64)
        pairs = np.array(
            [strings.id(v) * PAIR + strings.id(s) for v, s in self.layout.markets],
            dtype=np.int64,
        )
        order = np.argsort(pairs, kind="stable")
        self.codes = pairs[order] if len(pairs) else np.array([-1], dtype=np.int64)
        self.code_market = order if len(pairs) else np.array([-1], dtype=np.int64)
        self.params = ParamArrays.build([r.breaker for r in rules.feeds])
        self.decimals = np.array([r.decimals for r in rules.feeds], dtype=np.int64)
        self.on_chain = np.array([r.on_chain for r in rules.feeds], dtype=bool)
        self.staleness = any(r.breaker.max_quote_age_ms is not None for r in rules.feeds)
        try:
            ratios = [threshold_ratio(r.policy.deviation) for r in rules.feeds]
        except (ValueError, OverflowError):  # a threshold with no ratio (inf): by round
            ratios = [(SAFE, SAFE)] * len(rules.feeds)
        self.supported = (
            self.feeds > 0
            and bool((self.decimals <= 22).all())
            and all(0 < n < SAFE and 0 < d < SAFE for n, d in ratios)
        )
        self.num = np.array([n if n < SAFE else 1 for n, _ in ratios], dtype=np.int64)
        self.den = np.array([d if d < SAFE else 1 for _, d in ratios], dtype=np.int64)
        self.heartbeat = np.array([r.policy.heartbeat_s for r in rules.feeds], dtype=np.int64)
        self.max_deviation = np.array([r.breaker.max_deviation for r in rules.feeds])
        self._tiles: dict[int, Tiles] = {}
        self._counted: dict[str | None, Bools] = {}

    def tiles(self, rounds: int) -> Tiles:
        known = self._tiles.get(rounds)
        if known is None:
            known = self._tiles[rounds] = Tiles(self, rounds)
        return known

    def counted(self, only: str | None) -> Bools:
        known = self._counted.get(only)
        if known is None:
            known = self._counted[only] = np.array(
                [only is None or n == only for n in self.names], dtype=bool
            )
        return known


class Tiles:
    """A config's per-feed arrays repeated for a chunk of `rounds` rounds."""

    def __init__(self, cfg: ChunkConfig, rounds: int) -> None:
        self.layout = cfg.layout.tiled(rounds)
        cols = cfg.cols
        width = cols.slot.shape[1]
        self.feed_gid = np.tile(cfg.feed_gid, rounds)
        self.widths = np.tile(cols.widths, rounds)
        self.valid = np.arange(width)[None, :] < self.widths[:, None]
        self.slot = np.tile(cols.slot, (rounds, 1))
        shift = np.repeat(np.arange(rounds, dtype=np.int64) * cfg.markets, cfg.feeds)
        self.market = np.tile(cols.market, (rounds, 1)) + shift[:, None]
        self.venue = np.tile(cfg.venue, (rounds, 1))
        self.symbol = np.tile(cfg.symbol, (rounds, 1))
        self.estimator = np.tile(cfg.estimator, rounds)
        p = cfg.params
        self.params = ParamArrays(
            p.params * rounds,
            *(np.tile(getattr(p, name), rounds) for name in _PARAM_ARRAYS),
        )
        self.decimals = np.tile(cfg.decimals, rounds)
        self.on_chain = np.tile(cfg.on_chain, rounds)
        self.num = np.tile(cfg.num, rounds)
        self.den = np.tile(cfg.den, rounds)
        self.heartbeat = np.tile(cfg.heartbeat, rounds)
        self.max_deviation = np.tile(cfg.max_deviation, rounds)
        self.bounds = sorted(set(cfg.max_deviation.tolist()))
        """The distinct deviation bounds (each reason's fixed end)."""
        self.policies = [r.policy for r in cfg.rules.feeds] * rounds


_PARAM_ARRAYS = [
    "max_deviation",
    "confirm_rounds",
    "confirm_band",
    "max_hold_ms",
    "cooldown_ms",
    "volatility_k",
    "volatility_floor",
    "volatility_window",
    "max_dispersion",
    "max_quote_age_ms",
    "max_rate_per_min",
    "alpha",
]


def stacked_quotes(
    r: Mapping[str, Any], chunk: Sequence[RoundInputs], cfg: ChunkConfig, kind_code: Ints
) -> QuoteBatch | None:
    """The chunk's results laid out by market, round r's at r*M .. r*M+M-1 (as
    `node.replay_aggregates.stacked_batches` lays out the JSON's); None when a market
    answered twice in a round (the object path decides which result counts)."""
    rows = slice(chunk[0].res0, chunk[-1].res1)
    markets = cfg.markets
    round_of = np.repeat(np.arange(len(chunk)), [x.res1 - x.res0 for x in chunk])
    code = r["source"][rows] * PAIR + r["symbol"][rows]
    k = np.minimum(np.searchsorted(cfg.codes, code), len(cfg.codes) - 1)
    local = np.where(cfg.codes[k] == code, cfg.code_market[k], -1)
    known = local >= 0
    pos = local + round_of * markets
    if known.any() and np.bincount(pos[known]).max() > 1:
        return None
    size = markets * len(chunk)
    status = np.full(size, UNAVAILABLE, dtype=np.int64)
    failure = r["failure"][rows]
    failed = known & failure
    kind = kind_code[np.maximum(r["fail_kind"][rows], 0)]
    if (kind[failure] < 0).any():
        return None  # a failure of no known kind: the round-by-round replay refuses it
    bad = kind[failed] == 1
    status[pos[failed]] = np.where(bad, INVALID, UNAVAILABLE)
    taken = known & ~failure
    at = pos[taken]
    nulls = r["result_nulls"][rows][taken]
    price, bid, ask, volume = (np.full(size, np.nan) for _ in range(4))
    ts = np.zeros(size, dtype=np.int64)
    book = np.zeros(size, dtype=bool)
    status[at] = 0
    price[at] = r["price"][rows][taken]
    bid[at] = np.where(nulls & NULL_BID, np.nan, r["bid"][rows][taken])
    ask[at] = np.where(nulls & NULL_ASK, np.nan, r["ask"][rows][taken])
    volume[at] = np.where(nulls & NULL_VOLUME, np.nan, r["volume"][rows][taken])
    stamped = (nulls & NULL_EXCHANGE_TS) == 0
    ts[at] = np.where(stamped, r["exchange_ts_ms"][rows][taken], r["received_ts_ms"][rows][taken])
    book[at] = ~np.isnan(bid[at]) & ~np.isnan(ask[at])
    return QuoteBatch(status, price, bid, ask, book, ts, volume, ())


def lookup(size: int, gids: Ints) -> Ints:
    """An array from string id to position in `gids` (-2 for any other string)."""
    table = np.full(max(size, int(gids.max()) + 1), -2, dtype=np.int64)
    table[gids] = np.arange(len(gids))
    return table


def reset_all(s: BreakerArrays) -> BreakerArrays:
    """`circuit_breakers.reset` of every row: closed, the reference and volatility kept."""
    n = len(s.status)
    closed = BreakerArrays.closed(n)
    closed.reference, closed.reference_ms = s.reference, s.reference_ms
    closed.variance, closed.samples = s.variance, s.samples
    closed.rebase = np.ones(n, dtype=bool)
    return closed
