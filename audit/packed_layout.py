"""The byte layout of a packed round, shared by its encoder and its decoder.

The layout is described in `audit.packed`'s docstring; this module holds it as data: the
header, the columns of each region in their fixed order, and where each column sits for a
round of given counts (`layout`, cached: a node's rounds mostly share their counts).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numpy as np

PACKED_KEY = "packed_sha256"
"""The round body's key for the SHA-256 (hex) of its packed columns."""

MAGIC = b"ORPK"
VERSION = 1
HEADER = struct.Struct("<4sIIIIIII")
"""magic, version, results, feeds, used sources, strings, string bytes, reserved (0)."""

# Null bits of `PackedRound.result_nulls`.
NULL_EXCHANGE_TS = 1
NULL_BID = 2
NULL_ASK = 4
NULL_VOLUME = 8

# Null bits of `PackedRound.state_nulls` (a null trip is `state_trip == -1`).
NULL_CANDIDATE = 1
NULL_HALF_OPEN = 2
NULL_REFERENCE = 4
NULL_REFERENCE_MS = 8
NULL_SINCE = 16
NULL_VARIANCE = 32

# Row counts a column has: one per result, per feed, per used source, or one more than feeds.
RESULTS, FEEDS, USED, OFFSETS = "results", "feeds", "used", "offsets"

Column = tuple[str, str]
"""A column's `PackedRound` field name and its row count's name."""

F8: tuple[Column, ...] = (
    *((name, RESULTS) for name in ("price", "bid", "ask", "volume")),
    *((name, FEEDS) for name in ("value", "dispersion", "band_low", "band_high")),
    *((name, FEEDS) for name in ("state_candidate", "state_reference", "state_variance")),
    *((name, USED) for name in ("used_price", "used_raw", "used_weight")),
)
I8: tuple[Column, ...] = (
    *((name, RESULTS) for name in ("received_ts_ms", "exchange_ts_ms", "fail_at_ms")),
    *((name, FEEDS) for name in ("answer", "trips", "state_confirmations")),
    *((name, FEEDS) for name in ("state_half_open_ms", "state_reference_ms")),
    *((name, FEEDS) for name in ("state_samples", "state_since_ms")),
    ("used_start", OFFSETS),
    ("used_ts_ms", USED),
)
I4: tuple[Column, ...] = (
    *((name, RESULTS) for name in ("source", "symbol", "fail_kind", "fail_reason")),
    *((name, FEEDS) for name in ("feed", "estimator", "status", "verdict", "reason")),
    *((name, FEEDS) for name in ("publish", "state_status", "state_trip")),
    *((name, USED) for name in ("used_source", "used_symbol")),
)
BOOL: tuple[Column, ...] = (
    ("failure", RESULTS),
    *((name, FEEDS) for name in ("regular", "allow", "state_rebase")),
)
U1: tuple[Column, ...] = (("result_nulls", RESULTS), ("state_nulls", FEEDS))

REGIONS: tuple[tuple[tuple[Column, ...], np.dtype[Any], str], ...] = (
    (F8, np.dtype("<f8"), "d"),
    (I8, np.dtype("<i8"), "q"),
    (I4, np.dtype("<i4"), "i"),
    (BOOL, np.dtype(np.bool_), "?"),
    (U1, np.dtype("<u1"), "B"),
)
"""Each region: its columns in order, the dtype they are read as, their `struct` code."""

COLUMN_NAMES: tuple[str, ...] = tuple(name for cols, _, _ in REGIONS for name, _ in cols)
"""Every column in byte order: the order `Layout.columns` yields them."""


def padded(count: int, itemsize: int) -> int:
    """Items a column of `count` items takes up, padded to a multiple of 8 bytes."""
    per_word = 8 // itemsize
    return -(-count // per_word) * per_word


@dataclass(frozen=True, slots=True)
class Region:
    """One dtype's columns: where they start, how many items they span, how to cut them."""

    offset: int
    items: int
    dtype: np.dtype[Any]
    cut: itemgetter[Any]
    """Yields the region's columns (views) from the region's array, in order."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where every column of a round with these counts sits in the bytes."""

    regions: tuple[Region, ...]
    strings_offset: int
    """Byte offset of the string table (lengths, then text): just after the columns."""


@lru_cache(maxsize=256)
def layout(results: int, feeds: int, used: int) -> Layout:
    counts = {RESULTS: results, FEEDS: feeds, USED: used, OFFSETS: feeds + 1}
    offset = HEADER.size
    regions = []
    for columns, dtype, _ in REGIONS:
        cuts = []
        start = 0
        for _name, rows in columns:
            cuts.append(slice(start, start + counts[rows]))
            start += padded(counts[rows], dtype.itemsize)
        # itemgetter of one slice returns a view, not a 1-tuple: a region has 2+ columns.
        regions.append(Region(offset, start, dtype, itemgetter(*cuts)))
        offset += start * dtype.itemsize
    return Layout(tuple(regions), offset)
