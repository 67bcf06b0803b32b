"""A round record's columns: the packed form exact replay reads instead of the JSON.

A round record's JSON body (`node.service`: config hash, every fetch result, every feed's
plan) is what an auditor reads and what the hash chain covers. Reading it back costs more than
replaying it: one round of 20 feeds x 7 venues holds some 2,700 values in nested dicts. So the
journal also stores, next to each round record, the same values as columns
(`pack_round(body)`), and binds them to the record: the body carries the blob's SHA-256 under
`PACKED_KEY`, so the blob is as tamper-evident as the body, and `audit verify` checks that the
blob is exactly `pack_round` of the body without that key. Exact replay (`node.replay_columns`)
reads the columns (`unpack_round`, zero-copy numpy views) and falls back to the JSON for
anything they do not carry.

Byte layout (version 1), little-endian, every part starting on a multiple of 8 bytes:

- header, 32 bytes: magic `ORPK`, then u32 each: version, results R, feeds F, used sources U,
  strings S, string text bytes B, reserved 0.
- the columns, grouped by type, in the fixed order of `audit.packed_layout` (`F8`, `I8`, `I4`,
  `BOOL`, `U1`): float64, int64, int32 (string ids), bool (one byte, 0 or 1), uint8 (null
  bits). A column has R, F, U or F + 1 (`used_start`) items and is zero-padded to a multiple of
  8 bytes, so each type's region is one array and its columns are slices of it.
- the string table: S u32 lengths (UTF-8 bytes of each string, zero-padded to 8 bytes), then
  the B bytes of the strings in id order, UTF-8 (lone surrogates kept: "surrogatepass"), one
  NUL between consecutive strings, zero-padded to 8 bytes. When no string holds a NUL (the
  common case) the table decodes with one split; otherwise the lengths cut it.

The size is a function of R, F, U, S and B; `unpack_round` checks it, the header, the string
ids (-1 to S - 1) and the `used_start` offsets; the values themselves are bound by the hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from audit.packed_encode import pack_round
from audit.packed_layout import (
    COLUMN_NAMES,
    HEADER,
    I4,
    MAGIC,
    NULL_ASK,
    NULL_BID,
    NULL_CANDIDATE,
    NULL_EXCHANGE_TS,
    NULL_HALF_OPEN,
    NULL_REFERENCE,
    NULL_REFERENCE_MS,
    NULL_SINCE,
    NULL_VARIANCE,
    NULL_VOLUME,
    PACKED_KEY,
    VERSION,
    layout,
    padded,
)

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Ids = NDArray[np.int32]
Flags = NDArray[np.bool_]
Bits = NDArray[np.uint8]

__all__ = [
    "NULL_ASK",
    "NULL_BID",
    "NULL_CANDIDATE",
    "NULL_EXCHANGE_TS",
    "NULL_HALF_OPEN",
    "NULL_REFERENCE",
    "NULL_REFERENCE_MS",
    "NULL_SINCE",
    "NULL_VARIANCE",
    "NULL_VOLUME",
    "PACKED_KEY",
    "PackedFormatError",
    "PackedRound",
    "pack_round",
    "unpack_round",
]

_LENGTHS = np.dtype("<u4")
_USED_START = COLUMN_NAMES.index("used_start")
_FIRST_ID = COLUMN_NAMES.index(I4[0][0])


@dataclass(frozen=True)
class PackedRound:
    """One round record's columns. String fields are ids into `strings` (-1: null).

    Results: one row per `body["results"]` item, in order. A quote row has `failure` False,
    its floats in price/bid/ask/volume and stamps in received/exchange (a null field: its bit in
    `result_nulls`, its value 0). A failure row has `failure` True, `fail_kind` /
    `fail_reason` / `fail_at_ms`, and zeros elsewhere.

    Feeds: one row per `body["feeds"]` item, in sorted name order. Every row carries its
    breaker's next state (`state_*`), which the next round of the feed starts from. A row is
    `regular` when its plan is of the common shape and the columns carry all of it:
    exactly the keys aggregate/answer/breaker/publish (and observation, not packed);
    the aggregate with a float value, dispersion and band, no error, no rejected source,
    and every used source a dict of exactly source, symbol (str), price, raw_price (float),
    ts_ms (int), weight (float); the answer a decimal int string that fits int64;
    the breaker's trips named in `circuit_breakers.Trip` order (`trips`: bit i for
    `tuple(Trip)[i]`). Other rows are `regular` False and replay reads their JSON; their
    aggregate, answer and breaker decision columns are zeros.
    """

    strings: tuple[str, ...]
    # results
    failure: Flags
    source: Ids
    symbol: Ids
    price: Floats
    bid: Floats
    ask: Floats
    volume: Floats
    received_ts_ms: Ints
    exchange_ts_ms: Ints
    result_nulls: Bits
    fail_kind: Ids
    fail_reason: Ids
    fail_at_ms: Ints
    # feeds
    feed: Ids
    regular: Flags
    value: Floats
    dispersion: Floats
    band_low: Floats
    band_high: Floats
    estimator: Ids
    used_start: Ints
    """F + 1 offsets: feed i's used sources are rows used_start[i]:used_start[i+1]."""
    used_source: Ids
    used_symbol: Ids
    used_price: Floats
    used_raw: Floats
    used_ts_ms: Ints
    used_weight: Floats
    answer: Ints
    allow: Flags
    status: Ids
    verdict: Ids
    reason: Ids
    trips: Ints
    publish: Ids
    state_candidate: Floats
    state_confirmations: Ints
    state_half_open_ms: Ints
    state_rebase: Flags
    state_reference: Floats
    state_reference_ms: Ints
    state_samples: Ints
    state_since_ms: Ints
    state_status: Ids
    state_trip: Ids
    state_variance: Floats
    state_nulls: Bits


class PackedFormatError(ValueError):
    """Bytes that are not a packed round of a known version."""


def unpack_round(data: bytes) -> PackedRound:
    """The columns of `pack_round`'s bytes; raises `PackedFormatError` on anything else.

    The columns are read-only views of `data` (no copy); only the string table is decoded.
    """
    if len(data) < HEADER.size:
        raise PackedFormatError(
            f"{len(data)} bytes: shorter than a packed round's {HEADER.size}-byte header"
        )
    magic, version, results, feeds, used, count, text_size, reserved = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise PackedFormatError(f"not a packed round: magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise PackedFormatError(f"packed round version {version}; this node reads {VERSION}")
    where = layout(results, feeds, used)
    text_at = where.strings_offset + 4 * padded(count, 4)
    size = text_at + padded(text_size, 1)
    if len(data) != size or reserved:
        raise PackedFormatError(
            f"{len(data)} bytes, but {results} results, {feeds} feeds, {used} used sources and"
            f" {count} strings of {text_size} bytes make {size}"
            + (f"; reserved field {reserved}, expected 0" if reserved else "")
        )
    columns: list[Any] = []
    for region in where.regions:
        columns += region.cut(np.frombuffer(data, region.dtype, region.items, region.offset))
    ids = columns[_FIRST_ID].base  # the whole int32 region: every string id
    if ids.size and (ids.min() < -1 or ids.max() >= count):
        raise PackedFormatError(
            f"string ids from {ids.min()} to {ids.max()}, but the table holds {count} strings"
        )
    offsets = columns[_USED_START].tolist()
    if offsets[0] != 0 or offsets[-1] != used or offsets != sorted(offsets):
        raise PackedFormatError(f"used-source offsets {offsets} do not run from 0 up to {used}")
    packed = object.__new__(PackedRound)
    # A frozen dataclass's generated __init__ sets its 48 fields one `object.__setattr__` at
    # a time, most of a decode's cost; the instance's dict takes them all at once.
    fields = vars(packed)
    fields.update(zip(COLUMN_NAMES, columns, strict=True))
    fields["strings"] = string_table(data, where.strings_offset, count, text_at, text_size)
    return packed


def string_table(
    data: bytes, lengths_at: int, count: int, text_at: int, size: int
) -> tuple[str, ...]:
    """The string table of a packed round (`count` strings, `size` bytes of text)."""
    if count == 0:
        if size:
            raise PackedFormatError(f"{size} bytes of string text, but no strings")
        return ()
    raw = data[text_at : text_at + size]
    try:
        text = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise PackedFormatError(f"string table is not UTF-8: {exc}") from None
    parts = text.split("\0")
    if len(parts) == count:
        return tuple(parts)
    # Some string holds a NUL of its own: cut the text by the lengths instead.
    lengths = np.frombuffer(data, _LENGTHS, count, lengths_at).tolist()
    if sum(lengths) + count - 1 != size:
        raise PackedFormatError(
            f"{count} strings of {sum(lengths)} bytes and {count - 1} separators"
            f" do not make the table's {size} bytes"
        )
    strings, start = [], 0
    for length in lengths:
        strings.append(raw[start : start + length].decode("utf-8", "surrogatepass"))
        start += length + 1
    return tuple(strings)
