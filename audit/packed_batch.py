"""Many packed rounds decoded at once: every column of every round, end to end.

`unpack_rounds(blobs)` gives what `unpack_round` gives for each blob, concatenated column by
column, with the same checks. Exact replay reads thousands of rounds; decoding them one by
one (a view per column per round, then one concatenation per column) would cost more than
checking them. When every round has the same counts, every column is at the same place in
each: their column bytes are stacked as one array and each column is cut from it. Otherwise
the blobs are joined into one buffer (each is a multiple of 8 bytes long and its columns start
on 8-byte boundaries, so every column stays aligned in the join), and each column is gathered
from it with one index array.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from audit.packed import PackedFormatError, string_table
from audit.packed_layout import (
    FEEDS,
    HEADER,
    MAGIC,
    OFFSETS,
    REGIONS,
    RESULTS,
    USED,
    VERSION,
    layout,
    padded,
)

Ints = NDArray[np.int64]


@dataclass(frozen=True)
class PackedRounds:
    """Rounds' columns end to end (`columns[name]`, names as `PackedRound`'s), and per round
    its counts and string table. String ids stay local to their round's table.

    `used_start` is replaced by `used_first` and `used_count`, one per feed row: where the
    row's used sources start in the joined used columns, and how many there are.
    """

    columns: dict[str, Any]
    results: Ints
    feeds: Ints
    used: Ints
    strings: list[tuple[str, ...]]


def unpack_rounds(blobs: Sequence[bytes]) -> PackedRounds:
    """Decode `blobs` (each `pack_round`'s bytes); `PackedFormatError` on any bad one."""
    heads = [_head(i, blob) for i, blob in enumerate(blobs)]
    counts = np.array([h[:3] for h in heads], dtype=np.int64).reshape(-1, 3)
    results, feeds, used = counts[:, 0], counts[:, 1], counts[:, 2]
    strings = [string_table(blob, *h[3:]) for blob, h in zip(blobs, heads, strict=True)]
    tables = np.array([len(s) for s in strings], dtype=np.int64)
    if len({h[:3] for h in heads}) == 1:
        columns = _same_counts(blobs, heads[0], tables)
    else:
        columns = _gathered(blobs, heads, results, feeds, used, tables)
    _split_offsets(columns, feeds, used)
    return PackedRounds(columns, results, feeds, used, strings)


def _same_counts(blobs: Sequence[bytes], head: tuple[int, ...], tables: Ints) -> dict[str, Any]:
    """Rounds of the same counts have every column at the same place: their column bytes
    are stacked as one (rounds x bytes) array and each column cut from it."""
    results, feeds, used = head[:3]
    where = layout(results, feeds, used)
    block = np.stack([np.frombuffer(b, np.uint8, where.strings_offset) for b in blobs])
    rows = {RESULTS: results, FEEDS: feeds, USED: used, OFFSETS: feeds + 1}
    places = _places(results, feeds, used)
    columns: dict[str, Any] = {}
    for region, (cols, dtype, _) in enumerate(REGIONS):
        size = dtype.itemsize
        for c, (name, kind) in enumerate(cols):
            at = places[region][c] * size
            columns[name] = block[:, at : at + rows[kind] * size].view(dtype).reshape(-1)
    int32 = where.regions[2]  # the int32 region: string ids and their padding
    ids = block[:, int32.offset : int32.offset + 4 * int32.items].view(REGIONS[2][1])
    if ids.size and ((ids < -1) | (ids >= tables[:, None])).any():
        raise PackedFormatError("a string id outside its round's table")
    return columns


def _gathered(
    blobs: Sequence[bytes], heads: Sequence[tuple[int, ...]], results: Ints, feeds: Ints,
    used: Ints, tables: Ints,
) -> dict[str, Any]:  # fmt: skip
    """Rounds of different counts: the blobs joined (each a multiple of 8 bytes long, so
    every column stays aligned) and each column gathered with one index array."""
    sizes = np.array([len(b) for b in blobs], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    joined = b"".join(blobs)
    rows = {RESULTS: results, FEEDS: feeds, USED: used, OFFSETS: feeds + 1}
    places = [_places(*h[:3]) for h in heads]
    columns: dict[str, Any] = {}
    for region, (cols, dtype, _) in enumerate(REGIONS):
        items = np.frombuffer(joined, dtype, len(joined) // dtype.itemsize)
        for c, (name, kind) in enumerate(cols):
            first = np.array([p[region][c] for p in places], dtype=np.int64)
            first += starts // dtype.itemsize
            columns[name] = items[_gather(first, rows[kind])]
    _check_ids(joined, starts, heads, tables)
    return columns


def _head(i: int, blob: bytes) -> tuple[int, int, int, int, int, int, int]:
    """(results, feeds, used, lengths offset, strings, text offset, text size) of blob i."""
    if len(blob) < HEADER.size:
        raise PackedFormatError(f"round {i}: {len(blob)} bytes, shorter than the header")
    magic, version, results, feeds, used, count, text_size, reserved = HEADER.unpack_from(blob)
    if magic != MAGIC or version != VERSION or reserved:
        raise PackedFormatError(f"round {i}: not a packed round of version {VERSION}")
    where = layout(results, feeds, used)
    text_at = where.strings_offset + 4 * padded(count, 4)
    if len(blob) != text_at + padded(text_size, 1):
        raise PackedFormatError(f"round {i}: {len(blob)} bytes, not what its counts make")
    return results, feeds, used, where.strings_offset, count, text_at, text_size


@lru_cache(maxsize=256)
def _places(results: int, feeds: int, used: int) -> tuple[tuple[int, ...], ...]:
    """Per region, per column: its first item's index in the blob read as the region's
    dtype (`layout` places the regions; columns follow each other, padded to 8 bytes)."""
    counts = {RESULTS: results, FEEDS: feeds, USED: used, OFFSETS: feeds + 1}
    out = []
    for region, (cols, dtype, _) in zip(layout(results, feeds, used).regions, REGIONS, strict=True):
        at = region.offset // dtype.itemsize
        firsts = []
        for _name, kind in cols:
            firsts.append(at)
            at += padded(counts[kind], dtype.itemsize)
        out.append(tuple(firsts))
    return tuple(out)


def _gather(first: Ints, count: Ints) -> Ints:
    """Indices first[b] .. first[b] + count[b] - 1 of every b, end to end."""
    total = int(count.sum())
    before = np.cumsum(count) - count
    return np.repeat(first - before, count) + np.arange(total, dtype=np.int64)


def _check_ids(joined: bytes, starts: Ints, heads: Sequence[tuple[int, ...]], tables: Ints) -> None:
    """Every item of each round's int32 region (its string ids, padding included, as
    `unpack_round` checks them) within -1 .. its table's size - 1."""
    dtype = REGIONS[2][1]
    regions = [layout(*h[:3]).regions[2] for h in heads]
    first = np.array([r.offset for r in regions], dtype=np.int64) + starts
    count = np.array([r.items for r in regions], dtype=np.int64)
    ids = np.frombuffer(joined, dtype, len(joined) // dtype.itemsize)[
        _gather(first // dtype.itemsize, count)
    ]
    limit = np.repeat(tables, count)
    if ids.size and ((ids < -1) | (ids >= limit)).any():
        raise PackedFormatError("a string id outside its round's table")


def _split_offsets(columns: dict[str, Any], feeds: Ints, used: Ints) -> None:
    """`used_start` (feeds + 1 offsets per round) -> `used_first` and `used_count` per feed."""
    offsets = columns.pop("used_start")
    rounds = len(feeds)
    last = np.cumsum(feeds + 1) - 1
    first = last - feeds
    inner = np.ones(max(len(offsets) - 1, 0), dtype=bool)
    inner[last[:-1]] = False  # a step from one round's offsets to the next round's
    if rounds and (
        (offsets[first] != 0).any()
        or (offsets[last] != used).any()
        or ((np.diff(offsets) < 0) & inner).any()
    ):
        raise PackedFormatError("used-source offsets do not run from 0 up to the used count")
    keep = np.ones(len(offsets), dtype=bool)
    keep[last] = False
    base = np.repeat(np.cumsum(used) - used, feeds)
    columns["used_first"] = offsets[keep] + base
    columns["used_count"] = offsets[np.flatnonzero(keep) + 1] - offsets[keep]
