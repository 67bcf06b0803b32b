"""`pack_round`: a round body's values as the columns `audit.packed` reads.

Strict by design: the columns must say exactly what the JSON says, so any value the layout
cannot carry unchanged (an int where a float is written, a bool where an int is, an int beyond
int64, an unknown or missing key) leaves the whole body unpacked (None), except inside a
feed's plan, which is then packed as not `regular` and read from its JSON. The input is what
JSON parsing gives back: non-finite floats appear as their names ("nan", "inf", "-inf").

`audit verify` packs every round body again, so the work goes column by column (a `zip`
of the rows, one `set(map(type, column))` per column) rather than value by value.
"""

from __future__ import annotations

import struct
from itertools import compress, repeat
from typing import Any

import numpy as np

from audit.packed_layout import (
    HEADER,
    MAGIC,
    NULL_ASK,
    NULL_BID,
    NULL_EXCHANGE_TS,
    NULL_VOLUME,
    PACKED_KEY,
    REGIONS,
    VERSION,
    padded,
)
from audit.packed_plans import pack_feeds
from audit.packed_values import (
    Column,
    Fields,
    NotPackableError,
    Strings,
    columns,
    ints,
    nullable,
    quote_floats,
)

_QUOTE = Fields(
    "type", "source", "symbol", "price", "bid", "ask", "volume", "received_ts_ms", "exchange_ts_ms"
)
_FAILURE = Fields("type", "source", "symbol", "kind", "reason", "at_ms")


def pack_round(body: dict[str, Any]) -> bytes | None:
    """The packed columns of a round body as JSON parsing gives it back (`PACKED_KEY` absent);
    None when the body is not of the shape the columns carry (then replay reads its JSON)."""
    try:
        return _pack(body)
    except NotPackableError:
        return None


def _pack(body: dict[str, Any]) -> bytes:
    if type(body) is not dict or PACKED_KEY in body:
        raise NotPackableError
    results, feeds = body.get("results"), body.get("feeds")
    if type(results) is not list or type(feeds) is not dict:
        raise NotPackableError
    strings = Strings()
    cols = _pack_results(results, strings)
    cols.update(pack_feeds(feeds, strings))
    return _assemble(cols, strings, len(results), len(feeds), len(cols["used_price"]))


def _assemble(cols: dict[str, Any], strings: Strings, results: int, feeds: int, used: int) -> bytes:
    table = tuple(strings.ids)
    text = "\0".join(table).encode("utf-8", "surrogatepass")
    out = [HEADER.pack(MAGIC, VERSION, results, feeds, used, len(table), len(text), 0)]
    for region, dtype, code in REGIONS:
        values: list[Any] = []
        for name, _rows in region:
            column = cols[name]
            values += column.tolist() if isinstance(column, np.ndarray) else column
            values += _ZEROS[: padded(len(column), dtype.itemsize) - len(column)]
        out.append(struct.pack(f"<{len(values)}{code}", *values))
    lengths = [len(s.encode("utf-8", "surrogatepass")) for s in table]
    lengths += _ZEROS[: padded(len(lengths), 4) - len(lengths)]
    out.append(struct.pack(f"<{len(lengths)}I", *lengths))
    out.append(text + bytes(padded(len(text), 1) - len(text)))
    return b"".join(out)


_ZEROS = [0] * 8
"""Padding: a column is padded to 8 bytes, at most 7 items."""


def _pack_results(results: list[Any], strings: Strings) -> dict[str, Any]:
    """The result columns: quotes and failures each read column-wise, then interleaved."""
    if results and set(map(type, results)) != {dict}:
        raise NotPackableError
    types = set(map(dict.get, results, repeat("type", len(results))))
    if types <= {"quote"}:  # the common round: no venue failed
        cols = _quote_columns(results, strings)
        return cols | {"failure": [False] * len(results), "fail_kind": cols["fail_at_ms"]}
    is_quote = [r.get("type") == "quote" for r in results]
    quotes = list(compress(results, is_quote))
    failures = [r for r, q in zip(results, is_quote, strict=True) if not q]
    cols = _quote_columns(quotes, strings)
    fails = _failure_columns(failures, strings)
    mask = np.array(is_quote, dtype=bool)
    merged: dict[str, Any] = {"failure": ~mask}
    for name, dtype in (*_QUOTE_COLUMNS, *_FAILURE_COLUMNS):
        column = np.zeros(len(results), dtype)
        if name in cols:
            column[mask] = cols[name]
        if name in fails:
            column[~mask] = fails[name]
        merged[name] = column
    return merged


_QUOTE_COLUMNS = (
    *(("source", np.int32), ("symbol", np.int32)),
    *((name, np.float64) for name in ("price", "bid", "ask", "volume")),
    *(("received_ts_ms", np.int64), ("exchange_ts_ms", np.int64), ("result_nulls", np.uint8)),
)
_FAILURE_COLUMNS = (("fail_kind", np.int32), ("fail_reason", np.int32), ("fail_at_ms", np.int64))


def _quote_columns(quotes: list[dict[str, Any]], strings: Strings) -> dict[str, Any]:
    ask, bid, exchange, price, received, source, symbol, volume = _columns(quotes, _QUOTE, "quote")
    exchange, nulls = nullable(exchange, NULL_EXCHANGE_TS, ints, [0] * len(quotes))
    bid, nulls = nullable(bid, NULL_BID, quote_floats, nulls)
    ask, nulls = nullable(ask, NULL_ASK, quote_floats, nulls)
    volume, nulls = nullable(volume, NULL_VOLUME, quote_floats, nulls)
    zeros = [0] * len(quotes)
    return {
        "source": strings.column(source),
        "symbol": strings.column(symbol),
        "price": quote_floats(price),
        "bid": bid,
        "ask": ask,
        "volume": volume,
        "received_ts_ms": ints(received),
        "exchange_ts_ms": exchange,
        "result_nulls": nulls,
        "fail_reason": zeros,
        "fail_at_ms": zeros,
    }


def _failure_columns(failures: list[dict[str, Any]], strings: Strings) -> dict[str, Any]:
    at_ms, kind, reason, source, symbol = _columns(failures, _FAILURE, "failure")
    return {
        "source": strings.column(source),
        "symbol": strings.column(symbol),
        "fail_kind": strings.column(kind),
        "fail_reason": strings.column(reason),
        "fail_at_ms": ints(at_ms),
    }


def _columns(items: list[dict[str, Any]], fields: Fields, kind: str) -> list[Column]:
    """The columns of the results of one `type`, but that one, in `fields.keys` order."""
    cols = columns(items, fields)
    at = fields.keys.index("type")
    if items and set(cols[at]) != {kind}:
        raise NotPackableError
    return cols[:at] + cols[at + 1 :]
