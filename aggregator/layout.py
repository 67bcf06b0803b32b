"""The grid of a configuration: F feeds x S source slots, the market behind each slot, and
how its price converts into the feed's quote.

Built once per configuration (`RoundLayout.build`) and shared by every round the vectorized
path computes (`aggregator.vector`) and by the columnar quote batches (`aggregator.batch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aggregator.graph import ConversionKind, FeedSpec, plan_conversion
from aggregator.grid import Bools, Floats, Ints
from aggregator.params import AggregationParams

USED, UNAVAILABLE, INVALID, STALE, CONVERSION, OUTLIER, QUORUM = range(7)
"""Slot codes of a `VectorRound`."""
_KIND_CODES = {
    ConversionKind.DIRECT: 0,
    ConversionKind.INVERT: 1,
    ConversionKind.MULTIPLY: 2,
    ConversionKind.DIVIDE: 3,
}


@dataclass(frozen=True, slots=True)
class FeedGroup:
    """Feeds of one conversion level sharing their aggregation parameters."""

    rows: Ints
    params: AggregationParams

    @property
    def index(self) -> Ints | slice:
        """`rows` as a slice when they are consecutive (views instead of copies), else `rows`."""
        if len(self.rows) and self.rows[-1] - self.rows[0] == len(self.rows) - 1:
            return slice(int(self.rows[0]), int(self.rows[-1]) + 1)
        return self.rows


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

    def tiled(self, copies: int) -> RoundLayout:
        """`copies` rounds of this layout side by side, for `aggregator.rounds`.

        Round r's feeds are rows r*F .. r*F+F-1 and its markets r*M .. r*M+M-1 (F feeds, M
        markets); conversions point into their own round. Groups keep their level order, so
        every round's conversion feeds are computed before the feeds that go through them.
        The tiled layout has no market index: batches for it are concatenated, not built.
        """
        feeds, markets = len(self.specs), len(self.markets)
        shift = np.arange(copies, dtype=np.int64)[:, None, None]
        width = self.slot_market.shape[1]
        via = self.slot_via[None]
        return RoundLayout(
            self.specs * copies,
            self.markets * copies,
            {},
            (self.slot_market[None] + shift * markets).reshape(-1, width),
            np.tile(self.slot_valid, (copies, 1)),
            np.tile(self.slot_kind, (copies, 1)),
            np.where(via >= 0, via + shift * feeds, -1).reshape(-1, width),
            np.tile(self.slot_weight, (copies, 1)),
            tuple(
                FeedGroup((g.rows[None] + shift[:, :, 0] * feeds).reshape(-1), g.params)
                for g in self.groups
            ),
        )
