"""A replayed round's feeds read from its arrays: what exact replay compares, per feed.

Exact replay needs, per feed and round, the aggregate's value and dispersion for the breaker
and publish step, and the recorded aggregate's every field to compare. For a clean row (a
value, every source used, so nothing rejected to explain) those are read here from the
round's arrays, as Python lists once per round, and a used source is a plain tuple
(source, symbol, price, raw price, stamp, weight); `RoundRows.aggregate(i)` builds the
`Aggregate` itself only where it is needed: a row that is not clean, a difference to
report, a caller that reads the plans. The tuples equal the `Aggregate`'s used sources field
for field (property tests against `VectorRound.aggregate_row`).
"""

from __future__ import annotations

import numpy as np

from aggregator import Aggregate, FeedSpec
from aggregator.layout import USED
from aggregator.vector import RoundLayout, VectorRound

UsedSource = tuple[str, str, float, float, int, float]
"""(source, symbol, price, raw_price, ts_ms, weight): a used source, as its JSON fields."""


class RowColumns:
    """What a layout's clean rows share from round to round.

    Per feed: its used sources' slots in (venue, symbol) order (the order `aggregate_row`
    lists them in when every slot is used), the markets behind those slots, and their names.
    """

    def __init__(self, layout: RoundLayout) -> None:
        self.layout = layout
        feeds, slots = layout.slot_market.shape
        self.width = [len(spec.sources) for spec in layout.specs]
        orders = [by_market(spec) for spec in layout.specs]
        # Slots past a feed's width repeat slot 0: zip stops at the names, so they are never read.
        self.slot = np.array([order + [0] * (slots - len(order)) for order in orders], np.int64)
        self.slot = self.slot.reshape(feeds, slots)
        self.market = np.take_along_axis(layout.slot_market, self.slot, axis=1)
        # The same gather as flat indices into a row-major (feeds x slots) array: `np.take`.
        self.flat_slot = (np.arange(feeds, dtype=np.int64)[:, None] * slots + self.slot).ravel()
        self.shape = (feeds, slots)
        self.venues = [
            tuple(spec.sources[j].venue for j in o)
            for spec, o in zip(layout.specs, orders, strict=True)
        ]
        self.symbols = [
            tuple(spec.sources[j].symbol for j in o)
            for spec, o in zip(layout.specs, orders, strict=True)
        ]
        self.estimators = [str(spec.params.estimator) for spec in layout.specs]
        self.widths = np.array(self.width, dtype=np.int64)

    def rows(self, round_: VectorRound) -> RoundRows:
        return RoundRows(self, round_)


class RoundRows:
    """One round's feeds as lists, in the layout's row order."""

    def __init__(self, columns: RowColumns, round_: VectorRound) -> None:
        self.columns = columns
        self.round = round_
        used = (round_.code == USED) & columns.layout.slot_valid
        has_value = ~np.isnan(round_.value)
        self.clean: list[bool] = (has_value & (used.sum(axis=1) == columns.widths)).tolist()
        self.values: list[float] = round_.value.tolist()
        self.dispersion: list[float] = round_.dispersion.tolist()
        self.band_low: list[float] = round_.band_low.tolist()
        self.band_high: list[float] = round_.band_high.tolist()
        flat, shape, market = columns.flat_slot, columns.shape, columns.market
        self._price = np.take(round_.price, flat).reshape(shape).tolist()
        self._weight = np.take(round_.weight, flat).reshape(shape).tolist()
        self._raw = round_.markets.price[market].tolist()
        self.stamps: list[list[int]] = round_.markets.ts_ms[market].tolist()
        """Per row, the used quotes' stamps in used order (a clean row's first `width`)."""

    def used(self, i: int) -> list[UsedSource]:
        """Clean row `i`'s used sources, as `aggregate_row(i).used` lists them."""
        c = self.columns
        return list(
            zip(
                c.venues[i],
                c.symbols[i],
                self._price[i],
                self._raw[i],
                self.stamps[i],
                self._weight[i],
                strict=False,  # the names end the row: padded slots are never read
            )
        )

    def used_ts_ms(self, i: int) -> list[int]:
        """Clean row `i`'s used quotes' stamps."""
        return self.stamps[i][: self.columns.width[i]]

    def aggregate(self, i: int) -> Aggregate:
        """Row `i`'s `Aggregate` (any row, clean or not)."""
        return self.round.aggregate_row(i)


def by_market(spec: FeedSpec) -> list[int]:
    """Slot indices in (venue, symbol) order, ties in slot order (a stable sort)."""
    return sorted(
        range(len(spec.sources)), key=lambda j: (spec.sources[j].venue, spec.sources[j].symbol)
    )
