"""Exact replay's columnar check of answers and publish decisions, and what rows start from.

`same_answers` accepts a recorded answer when value x 10^decimals lies within 0.5 - 4 ulp of
it: the shortest decimal of the value, which `to_answer` rounds, is within 1.5 ulp of that
product, so no other integer can be its rounding; any other row calls `to_answer`.
`publish_ids` is `plan_feed`'s publish rule (`decide_publish` after the breaker, on chain,
newer, not paused) in int64 where no difference or product can wrap, the function itself
elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from node.replay_columns import Bools, Ints, JournalColumns, RoundInputs
from node.replay_config import SAFE, Tiles
from publisher.answer import to_answer
from publisher.policy import LastPublished, PublishReason, decide_publish

Floats = NDArray[np.float64]


class Inputs:
    """What the chunk's feed-rounds start from (`JournalColumns.inputs`), one row each."""

    def __init__(self, columns: JournalColumns, chunk: Sequence[RoundInputs]) -> None:
        rows = slice(chunk[0].row0, chunk[-1].row0 + chunk[-1].feeds)
        given = columns.inputs
        self.prior = given["prior"][rows]
        self.reset = given["reset"][rows]
        self.has_pub = given["has_published"][rows]
        self.pub_answer = given["published_answer"][rows]
        self.pub_at = given["published_at"][rows]
        self.paused = given["paused"][rows]


def same_answers(value: Floats, answer: Ints, decimals: Ints, vec: Bools) -> Bools:
    """Per row, is the recorded answer `to_answer`'s? Proven by the bound for most rows
    (module docstring), by `to_answer` itself for the other rows of `vec`."""
    with np.errstate(invalid="ignore", over="ignore"):
        x = value * 10.0**decimals
        close = np.abs(x - answer.astype(np.float64)) <= 0.5 - 4 * np.spacing(np.abs(x))
    proven: Bools = np.isfinite(x) & (np.abs(answer) < 2**53) & close
    ok: Bools = proven.copy()
    for i in np.flatnonzero(vec & ~proven).tolist():
        try:
            ok[i] = to_answer(float(value[i]), int(decimals[i])) == int(answer[i])
        except ValueError:
            ok[i] = False
    return ok


def publish_ids(
    allow: Bools,
    answer: Ints,
    inputs: Inputs,
    row_ts: Ints,
    t: Tiles,
    g: Mapping[PublishReason, int],
) -> Ints:
    """Per row, the id of `decide_publish`'s reason as `plan_feed` asks it (-1: none)."""
    has, last, at = inputs.has_pub, inputs.pub_answer, inputs.pub_at
    now_s = row_ts // 1000
    asked = allow & t.on_chain & (~has | (now_s > at)) & ~inputs.paused
    # Both below 2**62: the difference cannot wrap; the products are then bounded too.
    small = (np.abs(answer) < SAFE) & (np.abs(last) < SAFE)
    diff = np.abs(np.where(small, answer, 0) - np.where(small, last, 0))
    safe = small & (diff < SAFE // t.den) & (np.abs(last) < SAFE // t.num)
    deviates = np.where(last == 0, answer != 0, diff * t.den >= t.num * np.abs(last))
    ids = np.where(
        ~has,
        g[PublishReason.FIRST],
        np.where(
            deviates,
            g[PublishReason.DEVIATION],
            np.where(now_s - at >= t.heartbeat, g[PublishReason.HEARTBEAT], -1),
        ),
    )
    ids = np.where(asked, ids, -1)
    for i in np.flatnonzero(asked & has & ~safe).tolist():
        policy = t.policies[i]
        reason = decide_publish(
            policy, LastPublished(int(last[i]), int(at[i])), int(answer[i]), int(now_s[i])
        )
        ids[i] = -1 if reason is None else g[reason]
    return np.asarray(ids, dtype=np.int64)
