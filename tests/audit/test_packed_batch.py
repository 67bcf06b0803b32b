"""Many packed rounds decoded at once read what each decoded alone reads, and refuse the same."""

from __future__ import annotations

import copy
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from audit.packed import PackedFormatError, pack_round, unpack_round
from audit.packed_batch import unpack_rounds
from audit.packed_layout import REGIONS, layout
from tests.audit.rounds import node_round_body
from tests.audit.test_packed_rounds import CORRUPTIONS


@pytest.fixture(params=["same counts", "other counts"])
async def blobs(tmp_path: Path, request: pytest.FixtureRequest) -> list[bytes]:
    """Three rounds: of the same counts (their columns are cut from one stacked array) or
    not (each column gathered from the joined bytes)."""
    body = await node_round_body(tmp_path)
    other = copy.deepcopy(body)
    other["feeds"]["BTC/USD"]["breaker"]["reason"] += " (another reason)"  # same counts
    if request.param == "other counts":
        other["results"] = other["results"][1:]
    out = [pack_round(b) for b in (body, other, body)]
    assert all(b is not None for b in out)
    return [b for b in out if b is not None]


def test_rounds_decoded_together_equal_each_decoded_alone(blobs: list[bytes]) -> None:
    batch = unpack_rounds(blobs)
    alone = [unpack_round(b) for b in blobs]
    assert batch.strings == [p.strings for p in alone]
    assert batch.results.tolist() == [len(p.failure) for p in alone]
    assert batch.feeds.tolist() == [len(p.feed) for p in alone]
    for name, column in batch.columns.items():
        if name in ("used_first", "used_count"):
            continue
        expected = np.concatenate([getattr(p, name) for p in alone])
        assert column.tobytes() == expected.tobytes(), name


def test_each_feed_row_knows_its_used_sources_in_the_joined_columns(blobs: list[bytes]) -> None:
    batch = unpack_rounds(blobs)
    alone = [unpack_round(b) for b in blobs]
    joined = np.concatenate([p.used_price for p in alone])
    row = 0
    for p in alone:
        for i in range(len(p.feed)):
            first, count = batch.columns["used_first"][row], batch.columns["used_count"][row]
            start, end = p.used_start[i], p.used_start[i + 1]
            assert joined[first : first + count].tobytes() == p.used_price[start:end].tobytes()
            row += 1


@pytest.mark.parametrize("corrupt", [c for c, _ in CORRUPTIONS.values()], ids=CORRUPTIONS.keys())
def test_a_round_that_alone_would_not_decode_fails_the_batch(
    blobs: list[bytes], corrupt: Callable[[bytearray], bytes]
) -> None:
    bad = bytes(corrupt(bytearray(blobs[1])))
    with pytest.raises(PackedFormatError):
        unpack_round(bad)
    with pytest.raises(PackedFormatError):
        unpack_rounds([blobs[0], bad, blobs[2]])


def test_a_string_id_in_the_padding_fails_both_decoders(blobs: list[bytes]) -> None:
    blob = bytearray(blobs[0])
    results, feeds, used = struct.unpack_from("<3I", blob, 8)
    counts = {"results": results, "feeds": feeds, "used": used}
    region = layout(results, feeds, used).regions[2]
    at = 0  # items into the int32 region; each column padded to 8 bytes (2 items)
    for _name, kind in REGIONS[2][0]:
        at += counts[kind]
        if counts[kind] % 2:
            break  # `at` is this column's padding item
    else:
        pytest.skip("no int32 column of an odd count in this round")
    struct.pack_into("<i", blob, region.offset + 4 * at, 10_000)
    with pytest.raises(PackedFormatError):
        unpack_round(bytes(blob))
    with pytest.raises(PackedFormatError):
        unpack_rounds([bytes(blob)])


def test_no_rounds_decode_to_empty_columns() -> None:
    batch = unpack_rounds([])
    assert batch.strings == []
    assert all(len(column) == 0 for column in batch.columns.values())
