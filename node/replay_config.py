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
from numpy.typing import NDArray

from aggregator.batch import QuoteBatch, placed
from aggregator.layout import RoundLayout
from audit.packed import NULL_ASK, NULL_BID, NULL_EXCHANGE_TS, NULL_VOLUME
from circuit_breakers.arrays import ParamArrays
from node.pipeline import RoundRules
from node.replay_columns import Bools, Ints, RoundInputs, Strings, sorted_rank
from node.replay_rows import RowColumns
from publisher.policy import threshold_ratio

Floats = NDArray[np.float64]

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
        self.venue = _padded_ids(strings, cols.venues, width)
        self.symbol = _padded_ids(strings, cols.symbols, width)
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
        self.params = cfg.params.tiled(rounds)
        self.decimals = np.tile(cfg.decimals, rounds)
        self.on_chain = np.tile(cfg.on_chain, rounds)
        self.num = np.tile(cfg.num, rounds)
        self.den = np.tile(cfg.den, rounds)
        self.heartbeat = np.tile(cfg.heartbeat, rounds)
        self.bounds = sorted(set(cfg.params.max_deviation.tolist()))
        """The distinct deviation bounds (each reason's fixed end)."""
        self.policies = [r.policy for r in cfg.rules.feeds] * rounds


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
    failure = r["failure"][rows]
    kind = kind_code[np.maximum(r["fail_kind"][rows], 0)]
    if (kind[failure] < 0).any():
        return None  # a failure of no known kind: the round-by-round replay refuses it
    failed, taken = known & failure, known & ~failure
    nulls = r["result_nulls"][rows][taken]

    def column(name: str, null: int) -> Floats:
        return np.where(nulls & null, np.nan, r[name][rows][taken])

    floats = (
        r["price"][rows][taken],
        column("bid", NULL_BID),
        column("ask", NULL_ASK),
        column("volume", NULL_VOLUME),
    )
    stamped = (nulls & NULL_EXCHANGE_TS) == 0
    ts = np.where(stamped, r["exchange_ts_ms"][rows][taken], r["received_ts_ms"][rows][taken])
    return placed(markets * len(chunk), pos[failed], kind[failed] == 1, pos[taken], floats, ts)


def lookup(size: int, gids: Ints) -> Ints:
    """An array from string id to position in `gids` (-2 for any other string)."""
    table = np.full(max(size, int(gids.max()) + 1), -2, dtype=np.int64)
    table[gids] = np.arange(len(gids))
    return table


def _padded_ids(strings: Strings, rows: list[tuple[str, ...]], width: int) -> Ints:
    """Per feed, the ids of its names in used order, padded to `width` (-3: no name)."""
    ids = [[strings.id(n) for n in names] + [-3] * (width - len(names)) for names in rows]
    return np.array(ids, dtype=np.int64).reshape(len(rows), width)
