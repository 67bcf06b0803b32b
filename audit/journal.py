"""The journal: an append-only, hash-chained SQLite log of every round and every publication.

Each record holds the hash of the one before it, so an edited, deleted or reordered row breaks
the chain from that point on. A round's record (quotes, aggregates, decisions, signatures) is
written and synced *before* its transaction is sent; the transaction's outcome is a later
record. A node killed between the two leaves an intent without an outcome, which a restart can
see and reconcile against the chain instead of guessing.

Durability: WAL with `synchronous=FULL`. In WAL mode NORMAL may lose the last transactions on
power loss (never corrupt); FULL fsyncs the WAL on every commit. At one commit per round and
per publication (a few per 10 s) the fsync cost is irrelevant, and losing the record of a
transaction that was then sent is exactly what an auditor must never face.

SQLite calls are blocking, so they run on one worker thread; the node's event loop never waits
on the disk.

A round record also gets its packed columns (`audit.packed`), the values exact replay reads
without parsing the JSON: stored in `packed` next to the record, in the same SQLite
transaction, and bound to it by their SHA-256 in the body (`PACKED_KEY`), which the chain
covers. A journal written before them opens as it is: its records have no columns.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from audit.canonical import canonical_json, sha256_hex
from audit.packed import PACKED_KEY, pack_round

GENESIS = "0" * 64
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    round_id INTEGER NOT NULL,
    feed TEXT,
    ts_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS records_round ON records (round_id);
CREATE INDEX IF NOT EXISTS records_feed ON records (feed, seq);
CREATE INDEX IF NOT EXISTS records_time ON records (kind, ts_ms);
CREATE TABLE IF NOT EXISTS configs (
    hash TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'journal records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'journal records are append-only'); END;
CREATE TABLE IF NOT EXISTS packed (
    seq INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS packed_no_update BEFORE UPDATE ON packed
BEGIN SELECT RAISE(ABORT, 'journal records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS packed_no_delete BEFORE DELETE ON packed
BEGIN SELECT RAISE(ABORT, 'journal records are append-only'); END;
"""

_COLUMNS = (
    "SELECT r.seq, r.kind, r.round_id, r.feed, r.ts_ms, r.body, r.prev_hash, r.hash, p.data"
    " FROM records r LEFT JOIN packed p ON p.seq = r.seq"
)


@dataclass(frozen=True, slots=True)
class JournalRecord:
    seq: int
    kind: str
    round_id: int
    feed: str | None
    ts_ms: int
    body: dict[str, Any]
    prev_hash: str
    hash: str
    text: str = ""
    """The body exactly as stored (canonical JSON): what the hash covers."""
    packed: bytes | None = None
    """A round record's packed columns (`audit.packed`), when it has them."""


def record_hash(
    prev_hash: str, seq: int, kind: str, round_id: int, feed: str | None, ts_ms: int, body: str
) -> str:
    """The hash that links a record to its predecessor; `body` is the canonical JSON text."""
    header = canonical_json([prev_hash, seq, kind, round_id, feed, ts_ms])
    return sha256_hex(header + "\n" + body)


class Journal:
    """One node's journal file. Open with `await Journal.open(path)`; close with `await close()`."""

    def __init__(self, conn: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self._conn = conn
        self._executor = executor
        self._lock = threading.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Journal:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(executor, _connect, Path(path))
        return cls(conn, executor)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        await self._run(self._conn.close)
        self._executor.shutdown(wait=True)

    async def store_config(self, snapshot: dict[str, Any]) -> str:
        """Store a config snapshot once, keyed by the hash of its canonical JSON; return the hash."""
        body = canonical_json(snapshot)
        digest = sha256_hex(body)

        def write() -> None:
            with self._lock, self._conn:
                self._conn.execute(
                    "INSERT OR IGNORE INTO configs (hash, body) VALUES (?, ?)", (digest, body)
                )

        await self._run(write)
        return digest

    async def config(self, digest: str) -> dict[str, Any] | None:
        def read() -> str | None:
            row = self._conn.execute(
                "SELECT body FROM configs WHERE hash = ?", (digest,)
            ).fetchone()
            return None if row is None else str(row[0])

        body = await self._run(read)
        return None if body is None else dict(json.loads(body))

    async def append(
        self, kind: str, round_id: int, ts_ms: int, body: dict[str, Any], feed: str | None = None
    ) -> JournalRecord:
        """Append one record, chained to the last, and commit it durably before returning.

        A round's body gets `PACKED_KEY` (the hash of its packed columns) when it packs."""
        text = canonical_json(body)
        return await self._run(self._append_sync, kind, round_id, feed, ts_ms, text)

    def _append_sync(
        self, kind: str, round_id: int, feed: str | None, ts_ms: int, text: str
    ) -> JournalRecord:
        parsed = json.loads(text)
        # Packed from the body as it will be read back, so that verify packs the same bytes.
        blob = pack_round(parsed) if kind == "round" else None
        if blob is not None:
            parsed[PACKED_KEY] = hashlib.sha256(blob).hexdigest()
            text = canonical_json(parsed)
        with self._lock, self._conn:
            last = self._conn.execute(
                "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
            digest = record_hash(prev, seq, kind, round_id, feed, ts_ms, text)
            self._conn.execute(
                "INSERT INTO records (seq, kind, round_id, feed, ts_ms, body, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, kind, round_id, feed, ts_ms, text, prev, digest),
            )
            if blob is not None:
                self._conn.execute("INSERT INTO packed (seq, data) VALUES (?, ?)", (seq, blob))
        return JournalRecord(seq, kind, round_id, feed, ts_ms, parsed, prev, digest, text, blob)

    async def records(
        self, kind: str | None = None, feed: str | None = None, round_id: int | None = None
    ) -> list[JournalRecord]:
        """Records in journal order, optionally of one kind, one feed and/or one round."""
        return await self._run(lambda: list(_select(self._conn, kind, feed, round_id)))

    async def between(
        self, kind: str, from_ms: int, to_ms: int, limit: int, feed: str | None = None
    ) -> list[JournalRecord]:
        """Up to `limit` records of `kind` stamped in [from_ms, to_ms], in journal order."""
        sql = _COLUMNS + " WHERE r.kind = ? AND r.ts_ms BETWEEN ? AND ?"
        args: list[object] = [kind, from_ms, to_ms]
        if feed is not None:
            sql += " AND r.feed = ?"
            args.append(feed)
        sql += " ORDER BY r.seq LIMIT ?"
        args.append(limit)
        rows = await self._run(lambda: self._conn.execute(sql, args).fetchall())
        return [_record(row) for row in rows]

    async def last_round_id(self) -> int:
        row = await self._run(
            lambda: self._conn.execute("SELECT MAX(round_id) FROM records").fetchone()
        )
        return int(row[0]) if row and row[0] is not None else 0


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_SCHEMA)
    conn.isolation_level = "DEFERRED"
    return conn


def _select(
    conn: sqlite3.Connection, kind: str | None, feed: str | None, round_id: int | None = None
) -> Iterator[JournalRecord]:
    sql = _COLUMNS
    where: list[str] = []
    args: list[object] = []
    if round_id is not None:
        where.append("r.round_id = ?")
        args.append(round_id)
    if kind is not None:
        where.append("r.kind = ?")
        args.append(kind)
    if feed is not None:
        where.append("r.feed = ?")
        args.append(feed)
    if where:
        sql += " WHERE " + " AND ".join(where)
    for row in conn.execute(sql + " ORDER BY r.seq", args):
        yield _record(row)


def _record(row: Any) -> JournalRecord:
    text = str(row[5])
    return JournalRecord(
        int(row[0]),
        str(row[1]),
        int(row[2]),
        row[3],
        int(row[4]),
        json.loads(text),
        str(row[6]),
        str(row[7]),
        text,
        row[8],
    )


def verify_chain(records: list[JournalRecord]) -> list[str]:
    """Problems in the hash chain, one line each naming the record; empty when intact."""
    problems: list[str] = []
    prev = GENESIS
    for expected_seq, rec in enumerate(records, start=1):
        if rec.seq != expected_seq:
            problems.append(
                f"record {rec.seq} (round {rec.round_id}): expected sequence {expected_seq}"
            )
        if rec.prev_hash != prev:
            problems.append(
                f"record {rec.seq} (round {rec.round_id}): does not link to the record before it"
            )
        # The stored text is what was hashed; a record built in memory has no text yet.
        text = rec.text or canonical_json(rec.body)
        digest = record_hash(
            rec.prev_hash, rec.seq, rec.kind, rec.round_id, rec.feed, rec.ts_ms, text
        )
        if digest != rec.hash:
            problems.append(
                f"record {rec.seq} (round {rec.round_id}): content does not match its hash"
            )
        prev = rec.hash
    return problems
