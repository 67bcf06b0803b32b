"""Many rounds of one configuration aggregated at once: replay's vectorized path.

Aggregation needs nothing from earlier rounds (breakers and publication do, and run per
round after it), so a journal's rounds under one config can be aggregated as one tall grid:
the layout is tiled (`RoundLayout.tiled`), the rounds' quote batches are concatenated, and
every row is screened against its own round's time. Each round then comes back as a
`VectorRound` view equal to `aggregate_batch(layout, batch, round_ts_ms)` on that round alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aggregator.batch import QuoteBatch
from aggregator.layout import RoundLayout
from aggregator.vector import VectorRound, aggregate_batch


def aggregate_rounds(
    layout: RoundLayout, batches: Sequence[QuoteBatch], round_ts_ms: Sequence[int]
) -> list[VectorRound]:
    """One `VectorRound` per batch, batch r taken at `round_ts_ms[r]`."""
    count = len(batches)
    if count == 0:
        return []
    if count == 1:
        return [aggregate_batch(layout, batches[0], round_ts_ms[0])]

    def column(name: str) -> Any:
        return np.concatenate([getattr(b, name) for b in batches])

    tall = QuoteBatch(
        column("status"),
        column("price"),
        column("bid"),
        column("ask"),
        column("has_book"),
        column("ts_ms"),
        column("volume"),
        (),
    )
    return aggregate_stacked(layout, tall, batches, round_ts_ms)


def aggregate_stacked(
    layout: RoundLayout,
    tall: QuoteBatch,
    batches: Sequence[QuoteBatch],
    round_ts_ms: Sequence[int],
) -> list[VectorRound]:
    """`aggregate_rounds` when the caller already holds the batches stacked: `tall` is every
    batch's columns one after the other (M markets each); its `results` are not read."""
    count = len(batches)
    feeds = len(layout.specs)
    row_ts = np.repeat(np.asarray(round_ts_ms, dtype=np.int64), feeds)
    whole = aggregate_batch(layout.tiled(count), tall, int(round_ts_ms[0]), row_ts)
    return [
        whole.section(r * feeds, (r + 1) * feeds, layout, batches[r], int(round_ts_ms[r]))
        for r in range(count)
    ]
