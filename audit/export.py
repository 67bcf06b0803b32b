"""Export a journal to Parquet for analysts: one table of rounds, one of quotes, one of publications.

The tables are flat (one row per feed per round, per fetch result, per transaction outcome)
and carry the journal's sequence number and record hash, so any row can be traced back to the
record an auditor verifies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from audit.journal import JournalRecord

ROUND_COLUMNS = {
    "seq": pa.int64(), "record_hash": pa.string(), "round_id": pa.int64(), "ts_ms": pa.int64(),
    "feed": pa.string(), "value": pa.float64(), "dispersion": pa.float64(), "answer": pa.string(),
    "error": pa.string(), "breaker": pa.string(), "allowed": pa.bool_(), "breaker_reason": pa.string(),
    "publish": pa.string(), "sources_used": pa.int64(), "sources_rejected": pa.int64(),
}  # fmt: skip
QUOTE_COLUMNS = {
    "seq": pa.int64(), "round_id": pa.int64(), "ts_ms": pa.int64(), "source": pa.string(),
    "symbol": pa.string(), "type": pa.string(), "price": pa.float64(), "bid": pa.float64(),
    "ask": pa.float64(), "volume": pa.float64(), "exchange_ts_ms": pa.int64(),
    "received_ts_ms": pa.int64(), "kind": pa.string(), "reason": pa.string(),
}  # fmt: skip
PUBLICATION_COLUMNS = {
    "seq": pa.int64(), "round_id": pa.int64(), "ts_ms": pa.int64(), "feed": pa.string(),
    "status": pa.string(), "tx_hash": pa.string(), "block_number": pa.int64(),
    "onchain_round_id": pa.int64(), "gas_used": pa.int64(), "answer": pa.string(),
    "timestamp": pa.int64(), "error": pa.string(),
}  # fmt: skip


def export_parquet(records: Sequence[JournalRecord], folder: Path) -> dict[str, int]:
    """Write rounds.parquet, quotes.parquet and publications.parquet; return rows per table."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "rounds": (ROUND_COLUMNS, list(_round_rows(records))),
        "quotes": (QUOTE_COLUMNS, list(_quote_rows(records))),
        "publications": (PUBLICATION_COLUMNS, list(_publication_rows(records))),
    }
    counts = {}
    for name, (columns, rows) in tables.items():
        schema = pa.schema(list(columns.items()))
        table = pa.Table.from_pylist(rows, schema=schema)
        pq.write_table(table, folder / f"{name}.parquet")
        counts[name] = table.num_rows
    return counts


def _float(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)


def _round_rows(records: Iterable[JournalRecord]) -> Iterable[dict[str, Any]]:
    for rec in records:
        if rec.kind != "round":
            continue
        for feed, plan in sorted(rec.body["feeds"].items()):
            agg, breaker = plan["aggregate"], plan["breaker"]
            yield {
                "seq": rec.seq, "record_hash": rec.hash, "round_id": rec.round_id,
                "ts_ms": rec.ts_ms, "feed": feed, "value": _float(agg.get("value")),
                "dispersion": _float(agg.get("dispersion")), "answer": plan.get("answer"),
                "error": agg.get("error"), "breaker": breaker.get("status"),
                "allowed": breaker.get("allow"), "breaker_reason": breaker.get("reason"),
                "publish": plan.get("publish"), "sources_used": len(agg.get("sources_used", [])),
                "sources_rejected": len(agg.get("sources_rejected", [])),
            }  # fmt: skip


def _quote_rows(records: Iterable[JournalRecord]) -> Iterable[dict[str, Any]]:
    for rec in records:
        if rec.kind != "round":
            continue
        for r in rec.body["results"]:
            yield {
                "seq": rec.seq, "round_id": rec.round_id, "ts_ms": rec.ts_ms,
                "source": r.get("source"), "symbol": r.get("symbol"), "type": r.get("type"),
                "price": _float(r.get("price")), "bid": _float(r.get("bid")),
                "ask": _float(r.get("ask")), "volume": _float(r.get("volume")),
                "exchange_ts_ms": r.get("exchange_ts_ms"), "received_ts_ms": r.get("received_ts_ms"),
                "kind": r.get("kind"), "reason": r.get("reason"),
            }  # fmt: skip


def _publication_rows(records: Iterable[JournalRecord]) -> Iterable[dict[str, Any]]:
    for rec in records:
        if rec.kind != "outcome":
            continue
        b = rec.body
        yield {
            "seq": rec.seq, "round_id": rec.round_id, "ts_ms": rec.ts_ms, "feed": rec.feed,
            "status": b.get("status"), "tx_hash": b.get("tx_hash"),
            "block_number": b.get("block_number"), "onchain_round_id": b.get("onchain_round_id"),
            "gas_used": b.get("gas_used"), "answer": b.get("answer"),
            "timestamp": b.get("timestamp"), "error": b.get("error"),
        }  # fmt: skip
