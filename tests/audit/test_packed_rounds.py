"""Specification of a round record's packed columns: they say exactly what the JSON body says."""

from __future__ import annotations

import copy
import json
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.packed import (
    NULL_ASK,
    NULL_BID,
    NULL_EXCHANGE_TS,
    NULL_VOLUME,
    PACKED_KEY,
    PackedFormatError,
    PackedRound,
    pack_round,
    unpack_round,
)
from circuit_breakers.types import Trip
from tests.audit.rounds import node_round_body

Body = dict[str, Any]


@pytest.fixture
async def body(tmp_path: Path) -> Body:
    return await node_round_body(tmp_path)


def unpacked(body: Body) -> PackedRound:
    blob = pack_round(body)
    assert blob is not None
    return unpack_round(blob)


def text(packed: PackedRound, string_id: Any) -> str | None:
    return None if string_id == -1 else packed.strings[int(string_id)]


def check_result(packed: PackedRound, i: int, result: Body) -> None:
    assert text(packed, packed.source[i]) == result["source"]
    assert text(packed, packed.symbol[i]) == result["symbol"]
    if result["type"] == "failure":
        assert packed.failure[i]
        assert text(packed, packed.fail_kind[i]) == result["kind"]
        assert text(packed, packed.fail_reason[i]) == result["reason"]
        assert packed.fail_at_ms[i] == result["at_ms"]
        return
    assert not packed.failure[i]
    assert packed.price[i] == result["price"]
    assert packed.received_ts_ms[i] == result["received_ts_ms"]
    for name, bit in (
        ("exchange_ts_ms", NULL_EXCHANGE_TS),
        ("bid", NULL_BID),
        ("ask", NULL_ASK),
        ("volume", NULL_VOLUME),
    ):
        null = bool(packed.result_nulls[i] & bit)
        assert null == (result[name] is None)
        assert getattr(packed, name)[i] == (0 if null else result[name])


def check_state(packed: PackedRound, i: int, state: Body) -> None:
    for name in ("candidate", "half_open_ms", "reference", "reference_ms", "since_ms"):
        value = state[name]
        assert getattr(packed, f"state_{name}")[i] == (0 if value is None else value)
    for name in ("confirmations", "samples", "rebase", "variance"):
        assert getattr(packed, f"state_{name}")[i] == state[name]
    assert text(packed, packed.state_status[i]) == state["status"]
    assert text(packed, packed.state_trip[i]) == state["trip"]


def check_plan(packed: PackedRound, i: int, plan: Body) -> None:
    agg, breaker = plan["aggregate"], plan["breaker"]
    assert (packed.value[i], packed.dispersion[i]) == (agg["value"], agg["dispersion"])
    assert (packed.band_low[i], packed.band_high[i]) == (agg["band"]["low"], agg["band"]["high"])
    assert text(packed, packed.estimator[i]) == agg["estimator"]
    start, stop = packed.used_start[i], packed.used_start[i + 1]
    used = [
        {
            "source": text(packed, packed.used_source[j]),
            "symbol": text(packed, packed.used_symbol[j]),
            "price": packed.used_price[j],
            "raw_price": packed.used_raw[j],
            "ts_ms": packed.used_ts_ms[j],
            "weight": packed.used_weight[j],
        }
        for j in range(start, stop)
    ]
    assert used == agg["sources_used"]
    assert str(packed.answer[i]) == plan["answer"]
    assert packed.allow[i] == breaker["allow"]
    for name in ("status", "verdict", "reason"):
        assert text(packed, getattr(packed, name)[i]) == breaker[name]
    assert [str(t) for n, t in enumerate(Trip) if packed.trips[i] >> n & 1] == breaker["trips"]
    assert text(packed, packed.publish[i]) == plan["publish"]


def test_a_node_round_reads_back_column_for_column(body: Body) -> None:
    packed = unpacked(body)
    assert len(packed.failure) == len(body["results"])
    for i, result in enumerate(body["results"]):
        check_result(packed, i, result)
    names = sorted(body["feeds"])
    assert [text(packed, f) for f in packed.feed] == names
    assert packed.regular.tolist() == [False, True, False]  # BTC rejects d; SOL has no value
    for i, name in enumerate(names):
        check_state(packed, i, body["feeds"][name]["breaker"]["state"])
    check_plan(packed, 1, body["feeds"]["ETH/USD"])


def test_the_columns_are_read_only_views_of_the_bytes(body: Body) -> None:
    blob = pack_round(body)
    assert blob is not None
    packed = unpack_round(blob)
    assert packed.price.base is not None
    assert not packed.price.flags.writeable
    assert packed.price.dtype.byteorder in "<="


def test_the_same_body_packs_to_the_same_bytes(body: Body) -> None:
    assert pack_round(body) == pack_round(json.loads(json.dumps(body)))


def test_plans_of_another_shape_are_zeros_but_keep_their_breaker_state(body: Body) -> None:
    packed = unpacked(body)
    for i, name in ((0, "BTC/USD"), (2, "SOL/USD")):
        assert not packed.regular[i]
        assert packed.used_start[i] == packed.used_start[i + 1]
        assert packed.value[i] == packed.answer[i] == packed.trips[i] == 0
        assert packed.status[i] == packed.reason[i] == packed.publish[i] == 0
        check_state(packed, i, body["feeds"][name]["breaker"]["state"])
    assert body["feeds"]["BTC/USD"]["aggregate"]["sources_rejected"]
    assert body["feeds"]["SOL/USD"]["aggregate"]["error"]


def test_non_finite_quote_prices_are_read_back_as_floats(body: Body) -> None:
    quotes = [r for r in body["results"] if r["type"] == "quote"]
    quotes[0]["price"], quotes[0]["bid"], quotes[1]["volume"] = "nan", "inf", "-inf"
    packed = unpacked(body)
    assert math.isnan(packed.price[0])
    assert packed.bid[0] == math.inf
    assert packed.volume[1] == -math.inf


@pytest.mark.parametrize(
    "name",
    ["nul\0inside", "\0", "", "ünïcode ±10%", "emoji \U0001f680", "lone \ud800 surrogate"],
)
def test_any_string_reads_back_unchanged(body: Body, name: str) -> None:
    body["results"][0]["source"] = name
    body["feeds"]["ETH/USD"]["breaker"]["reason"] = name + name
    packed = unpacked(body)
    assert text(packed, packed.source[0]) == name
    assert text(packed, packed.reason[1]) == name + name


def _quote(body: Body) -> Body:
    return next(r for r in body["results"] if r["type"] == "quote")


def _failure(body: Body) -> Body:
    return next(r for r in body["results"] if r["type"] == "failure")


def _state(body: Body) -> Body:
    state: Body = body["feeds"]["ETH/USD"]["breaker"]["state"]
    return state


BREAKS_THE_BODY: dict[str, Callable[[Body], None]] = {
    "results not a list": lambda b: b.update(results={}),
    "feeds missing": lambda b: b.pop("feeds"),
    "already names a blob": lambda b: b.update({PACKED_KEY: "00"}),
    "result not a dict": lambda b: b["results"].append(["quote"]),
    "unknown result type": lambda b: _quote(b).update(type="trade"),
    "unknown quote key": lambda b: _quote(b).update(mid=1.0),
    "missing quote key": lambda b: _quote(b).pop("volume"),
    "int price": lambda b: _quote(b).update(price=60_000),
    "unknown non-finite name": lambda b: _quote(b).update(price="NaN"),
    "null price": lambda b: _quote(b).update(price=None),
    "float stamp": lambda b: _quote(b).update(received_ts_ms=1.0),
    "bool stamp": lambda b: _quote(b).update(exchange_ts_ms=True),
    "stamp beyond int64": lambda b: _quote(b).update(received_ts_ms=2**63),
    "int source": lambda b: _quote(b).update(source=7),
    "failure without reason": lambda b: _failure(b).pop("reason"),
    "failure with a float stamp": lambda b: _failure(b).update(at_ms=1.5),
    "plan not a dict": lambda b: b["feeds"].update({"ETH/USD": None}),
    "plan without breaker": lambda b: b["feeds"]["ETH/USD"].pop("breaker"),
    "state missing": lambda b: b["feeds"]["ETH/USD"]["breaker"].pop("state"),
    "state with an extra key": lambda b: _state(b).update(extra=1),
    "int samples as float": lambda b: _state(b).update(samples=2.0),
    "bool samples": lambda b: _state(b).update(samples=False),
    "int reference": lambda b: _state(b).update(reference=2_000),
    "int rebase": lambda b: _state(b).update(rebase=0),
    "int status": lambda b: _state(b).update(status=1),
    "int trip": lambda b: _state(b).update(trip=3),
}


@pytest.mark.parametrize("change", BREAKS_THE_BODY.values(), ids=BREAKS_THE_BODY.keys())
def test_a_body_of_another_shape_has_no_packed_columns(
    body: Body, change: Callable[[Body], None]
) -> None:
    assert pack_round(body) is not None
    change(body)
    assert pack_round(body) is None


def _plan(body: Body) -> Body:
    plan: Body = body["feeds"]["ETH/USD"]
    return plan


def _used(body: Body) -> Body:
    used: Body = _plan(body)["aggregate"]["sources_used"][0]
    return used


MAKES_THE_PLAN_IRREGULAR: dict[str, Callable[[Body], None]] = {
    "extra plan key": lambda b: _plan(b).update(note="x"),
    "answer with a leading zero": lambda b: _plan(b).update(answer="0" + _plan(b)["answer"]),
    "answer beyond int64": lambda b: _plan(b).update(answer=str(2**63)),
    "int answer": lambda b: _plan(b).update(answer=5),
    "int publish": lambda b: _plan(b).update(publish=1),
    "trips out of order": lambda b: _plan(b)["breaker"].update(trips=["rate", "quorum"]),
    "unknown trip": lambda b: _plan(b)["breaker"].update(trips=["mood"]),
    "int allow": lambda b: _plan(b)["breaker"].update(allow=1),
    "no band": lambda b: _plan(b)["aggregate"].update(band=None),
    "int used price": lambda b: _used(b).update(price=2_097),
    "float used stamp": lambda b: _used(b).update(ts_ms=1.0),
    "used source with an extra key": lambda b: _used(b).update(venue="x"),
    "used sources not a list": lambda b: _plan(b)["aggregate"].update(sources_used={}),
}


@pytest.mark.parametrize(
    "change", MAKES_THE_PLAN_IRREGULAR.values(), ids=MAKES_THE_PLAN_IRREGULAR.keys()
)
def test_a_plan_of_another_shape_is_packed_as_not_regular(
    body: Body, change: Callable[[Body], None]
) -> None:
    change(body)
    packed = unpacked(body)
    assert packed.regular.tolist() == [False, False, False]
    assert packed.used_start.tolist() == [0, 0, 0, 0]
    check_state(packed, 1, _state(body))


def test_trips_are_bits_in_trip_order(body: Body) -> None:
    _plan(body)["breaker"]["trips"] = ["dispersion", "rate"]
    packed = unpacked(body)
    order = list(Trip)
    assert packed.trips[1] == 1 << order.index(Trip.DISPERSION) | 1 << order.index(Trip.RATE)


def _blob(body: Body) -> bytearray:
    blob = pack_round(body)
    assert blob is not None
    return bytearray(blob)


def _set_u32(blob: bytearray, field: int, value: int) -> bytearray:
    struct.pack_into("<I", blob, 4 + 4 * field, value)
    return blob


def _set_first_id(blob: bytearray, value: int) -> bytearray:
    """Sets the first result's source id (the first int32 column)."""
    results, feeds, used = struct.unpack_from("<3I", blob, 8)
    f8 = 4 * results + 7 * feeds + 3 * used
    i8 = 3 * results + 7 * feeds + (feeds + 1) + used
    struct.pack_into("<i", blob, 32 + 8 * (f8 + i8), value)
    return blob


CORRUPTIONS: dict[str, tuple[Callable[[bytearray], bytes | bytearray], str]] = {
    "empty": (lambda b: b"", "shorter than"),
    "truncated header": (lambda b: b[:20], "shorter than"),
    "truncated columns": (lambda b: b[:-8], "make"),
    "trailing bytes": (lambda b: b + bytes(8), "make"),
    "wrong magic": (lambda b: b"JSON" + b[4:], "magic"),
    "newer version": (lambda b: _set_u32(b, 0, 2), "version 2"),
    "one result more": (lambda b: _set_u32(b, 1, struct.unpack_from("<I", b, 8)[0] + 1), "make"),
    "one string more": (lambda b: _set_u32(b, 4, struct.unpack_from("<I", b, 20)[0] + 1), "make"),
    "string id out of range": (lambda b: _set_first_id(b, 10_000), "string ids"),
    "string id below null": (lambda b: _set_first_id(b, -2), "string ids"),
    "text not UTF-8": (lambda b: b[:-8] + b"\xff" * 8, "UTF-8"),
}


@pytest.mark.parametrize(("corrupt", "message"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_bytes_that_are_not_a_packed_round_raise(
    body: Body, corrupt: Callable[[bytearray], bytes], message: str
) -> None:
    with pytest.raises(PackedFormatError, match=message):
        unpack_round(bytes(corrupt(_blob(body))))


def test_used_offsets_that_do_not_add_up_raise(body: Body) -> None:
    blob = _blob(body)
    results, feeds, used = struct.unpack_from("<3I", blob, 8)
    f8 = 4 * results + 7 * feeds + 3 * used
    start = 32 + 8 * (f8 + 3 * results + 7 * feeds)
    struct.pack_into("<q", blob, start + 8 * feeds, used + 1)
    with pytest.raises(PackedFormatError, match="used-source offsets"):
        unpack_round(bytes(blob))


def test_packing_leaves_the_body_unchanged(body: Body) -> None:
    before = copy.deepcopy(body)
    pack_round(body)
    assert body == before


def test_a_round_without_failures_reads_back_too(body: Body) -> None:
    body["results"] = [r for r in body["results"] if r["type"] == "quote"]
    packed = unpacked(body)
    assert not packed.failure.any()
    for i, result in enumerate(body["results"]):
        check_result(packed, i, result)
