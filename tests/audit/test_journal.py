"""Specification of the journal: append-only, hash-chained, durable across reopen."""

from __future__ import annotations

import hashlib
import math
import sqlite3
from pathlib import Path

import pytest

from audit.canonical import canonical_json
from audit.journal import GENESIS, Journal, record_hash, verify_chain
from audit.packed import PACKED_KEY, pack_round
from audit.verify import verify_records
from tests.audit.rounds import node_round_body


async def filled(path: Path, n: int = 3) -> Journal:
    journal = await Journal.open(path)
    for i in range(1, n + 1):
        await journal.append("round", i, 1_000 * i, {"value": 100.0 + i, "n": i}, feed="BTC/USD")
    return journal


async def test_records_chain_each_to_the_one_before(tmp_path: Path) -> None:
    journal = await filled(tmp_path / "j.db")
    records = await journal.records()
    await journal.close()
    assert records[0].prev_hash == GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert verify_chain(records) == []


async def test_floats_read_back_bit_for_bit_and_nan_is_kept_as_a_name(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    await journal.append("round", 1, 0, {"p": 0.1 + 0.2, "bad": math.nan})
    (record,) = await journal.records()
    await journal.close()
    assert record.body == {"p": 0.30000000000000004, "bad": "nan"}


async def test_reopened_journal_continues_the_chain(tmp_path: Path) -> None:
    journal = await filled(tmp_path / "j.db", 2)
    await journal.close()
    journal = await Journal.open(tmp_path / "j.db")
    await journal.append("round", 3, 3_000, {"n": 3})
    records = await journal.records()
    assert await journal.last_round_id() == 3
    await journal.close()
    assert verify_chain(records) == []
    assert len(records) == 3


async def test_rows_cannot_be_updated_or_deleted_through_sqlite(tmp_path: Path) -> None:
    journal = await filled(tmp_path / "j.db")
    await journal.close()
    conn = sqlite3.connect(tmp_path / "j.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE records SET body = '{}' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM records WHERE seq = 2")
    conn.close()


def _tamper(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER records_no_update")
    conn.execute("DROP TRIGGER records_no_delete")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("sql", "round_id", "problem"),
    [
        ("UPDATE records SET body = replace(body, '102.0', '999.0') WHERE seq = 2", 2, "content"),
        ("DELETE FROM records WHERE seq = 2", 3, "expected sequence"),
    ],
    ids=["edited-price", "deleted-row"],
)
async def test_tampering_is_reported_with_the_round(
    tmp_path: Path, sql: str, round_id: int, problem: str
) -> None:
    path = tmp_path / "j.db"
    await (await filled(path)).close()
    _tamper(path, sql)
    journal = await Journal.open(path)
    problems = verify_chain(await journal.records())
    await journal.close()
    assert problems
    assert f"(round {round_id})" in problems[0]
    assert problem in " ".join(problems)


async def test_config_snapshot_is_stored_once_by_hash(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    a = await journal.store_config({"quorum": 3, "feeds": ["BTC/USD"]})
    b = await journal.store_config({"feeds": ["BTC/USD"], "quorum": 3})
    snapshot = await journal.config(a)
    await journal.close()
    assert a == b
    assert snapshot == {"feeds": ["BTC/USD"], "quorum": 3}


async def test_a_round_record_binds_its_packed_columns_by_their_hash(tmp_path: Path) -> None:
    body = await node_round_body(tmp_path / "node")
    journal = await Journal.open(tmp_path / "j.db")
    written = await journal.append("round", 7, 1_000, body)
    (record,) = await journal.records()
    await journal.close()
    assert record.packed is not None
    assert record.packed == written.packed == pack_round(body)
    assert record.body == {**body, PACKED_KEY: hashlib.sha256(record.packed).hexdigest()}
    assert verify_chain([record]) == []


async def test_records_of_other_shapes_or_kinds_have_no_packed_columns(tmp_path: Path) -> None:
    journal = await filled(tmp_path / "j.db", 1)
    await journal.append("outcome", 1, 2_000, {"status": "landed"}, feed="BTC/USD")
    records = await journal.records()
    await journal.close()
    assert [(r.packed, PACKED_KEY in r.body) for r in records] == [(None, False), (None, False)]


async def test_a_record_and_its_packed_columns_commit_together(tmp_path: Path) -> None:
    body = await node_round_body(tmp_path / "node")
    path = tmp_path / "j.db"
    await (await Journal.open(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO packed (seq, data) VALUES (1, x'00')")  # takes the blob's place
    conn.commit()
    conn.close()
    journal = await Journal.open(path)
    with pytest.raises(sqlite3.IntegrityError):
        await journal.append("round", 1, 1_000, body)
    records = await journal.records()
    await journal.close()
    assert records == []


async def test_packed_columns_cannot_be_updated_or_deleted_through_sqlite(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db")
    await journal.append("round", 1, 1_000, await node_round_body(tmp_path / "node"))
    await journal.close()
    conn = sqlite3.connect(tmp_path / "j.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE packed SET data = x'00'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM packed")
    conn.close()


async def test_a_journal_from_before_packed_columns_opens_and_verifies(tmp_path: Path) -> None:
    body = await node_round_body(tmp_path / "node")
    path = tmp_path / "j.db"
    await (await Journal.open(path)).close()
    text = canonical_json(body)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE packed")  # as the journal was before: no table, no key in bodies
    conn.execute(
        "INSERT INTO records (seq, kind, round_id, feed, ts_ms, body, prev_hash, hash)"
        " VALUES (1, 'round', 1, NULL, 1000, ?, ?, ?)",
        (text, GENESIS, record_hash(GENESIS, 1, "round", 1, None, 1_000, text)),
    )
    conn.commit()
    conn.close()
    journal = await Journal.open(path)
    await journal.append("round", 2, 2_000, body)
    old, new = await journal.records()
    await journal.close()
    assert (old.packed, PACKED_KEY in old.body) == (None, False)
    assert new.packed is not None
    assert verify_records([old, new]) == []
