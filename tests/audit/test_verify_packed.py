"""Specification of `audit verify` on packed columns: each finding names the record's round."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from audit.journal import Journal, JournalRecord
from audit.packed import PACKED_KEY, pack_round
from audit.verify import verify_records
from tests.audit.rounds import node_round_body

ROUND = 7


async def journal_of(path: Path, body: dict[str, Any]) -> None:
    journal = await Journal.open(path)
    await journal.append("round", ROUND, 1_000, body)
    await journal.close()


def sql(path: Path, statement: str, *args: Any, drop: str | None = None) -> None:
    conn = sqlite3.connect(path)
    if drop is not None:
        conn.execute(f"DROP TRIGGER {drop}")
    conn.execute(statement, args)
    conn.commit()
    conn.close()


async def records(path: Path) -> list[JournalRecord]:
    journal = await Journal.open(path)
    out = await journal.records()
    await journal.close()
    return out


def problems(found: list[JournalRecord]) -> list[str]:
    return [str(finding) for finding in verify_records(found)]


async def test_a_journal_with_packed_columns_verifies(tmp_path: Path) -> None:
    await journal_of(tmp_path / "j.db", await node_round_body(tmp_path / "node"))
    (record,) = await records(tmp_path / "j.db")
    assert record.packed is not None
    assert problems([record]) == []


async def test_altered_packed_columns_are_found(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    await journal_of(path, await node_round_body(tmp_path / "node"))
    (record,) = await records(path)
    assert record.packed is not None
    altered = record.packed[:-1] + b"\x01"
    sql(path, "UPDATE packed SET data = ?", altered, drop="packed_no_update")
    assert problems(await records(path)) == [
        f"record 1, round {ROUND}: packed columns hash to"
        f" {hashlib.sha256(altered).hexdigest()}, but the body names {record.body[PACKED_KEY]}"
    ]


async def test_missing_packed_columns_are_found(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    await journal_of(path, await node_round_body(tmp_path / "node"))
    sql(path, "DELETE FROM packed", drop="packed_no_delete")
    (finding,) = problems(await records(path))
    assert finding.startswith(f"record 1, round {ROUND}: the body names packed columns")


async def test_packed_columns_on_a_record_that_does_not_name_them_are_found(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    await journal_of(path, {"results": "not a list", "feeds": {}})
    sql(path, "INSERT INTO packed (seq, data) VALUES (1, x'00')")
    (finding,) = problems(await records(path))
    assert finding == (
        f"record 1, round {ROUND}: packed columns are stored, but the record's body does not"
        " name them"
    )


async def test_packed_columns_that_hash_right_but_differ_from_the_body_are_found(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    body = await node_round_body(tmp_path / "node")
    other = {**body, "results": [{**body["results"][0], "price": 1.5}, *body["results"][1:]]}
    blob = pack_round(other)
    assert blob is not None
    # Written by hand: a body that already names a blob is stored as it is, without one.
    await journal_of(path, {**body, PACKED_KEY: hashlib.sha256(blob).hexdigest()})
    sql(path, "INSERT INTO packed (seq, data) VALUES (1, ?)", blob)
    (finding,) = problems(await records(path))
    assert finding == (
        f"record 1, round {ROUND}: packed columns hash as named but differ from the packing of"
        " the body's values"
    )
