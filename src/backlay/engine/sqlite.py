"""SQLite journal: WAL mode with synchronous=FULL, so every commit is fsynced before it returns.

One transaction and one row per batch is the group commit: however many commands a batch holds, it
costs one row insert and one WAL fsync. A row holds the batch's entries back to back, each as
(ts_ms: int64, length: uint32, command bytes); the row's key is the batch's first seq. One connection, guarded by a lock, because appends run in a worker thread while recovery
and snapshots may run elsewhere; the sequencer is still the only writer.

Snapshots live in a second database beside the journal (`<name>-snapshots.db`), with its own connection
and lock: SQLite has one writer per database, so storing a snapshot of hundreds of megabytes in the
journal's file would hold up every append (and the checkpoint after it) while it is written. Snapshots
that an older version kept in the journal's `snapshot` table are still read.
"""

from __future__ import annotations

import sqlite3
import struct
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .journal import JournalCorrupt, JournalEntry, check_contiguous

SCHEMA_VERSION = 2
SNAPSHOTS_KEPT = 2  # the previous one is a fallback should the latest turn out unreadable
_READ_CHUNK = 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL UNIQUE, entries BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL);
"""
SNAPSHOTS_SCHEMA_VERSION = 1
_SNAPSHOTS_SCHEMA = "CREATE TABLE IF NOT EXISTS snapshot (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL);"


def snapshots_path(journal_path: str) -> str:
    """The snapshot database beside a journal: data/journal.db -> data/journal-snapshots.db."""
    if journal_path == ":memory:":
        return journal_path
    p = Path(journal_path)
    return str(p.with_name(f"{p.stem}-snapshots{p.suffix}"))


def _open_wal(path: str) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; each write is one explicit BEGIN..COMMIT.
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal" and path != ":memory:":
            raise RuntimeError(f"{path}: could not enable WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
    except BaseException:
        conn.close()
        raise
    return conn


_ENTRY = struct.Struct(">qI")  # ts_ms, length of the command bytes


def _split(first_seq: int, last_seq: int, blob: bytes) -> Iterator[JournalEntry]:
    offset, seq = 0, first_seq
    while offset < len(blob):
        ts_ms, length = _ENTRY.unpack_from(blob, offset)
        offset += _ENTRY.size
        yield JournalEntry(seq, ts_ms, blob[offset : offset + length])
        offset += length
        seq += 1
    if seq != last_seq + 1 or offset != len(blob):
        raise JournalCorrupt(f"journal row {first_seq}..{last_seq} holds entries up to {seq - 1}")


class SqliteJournal:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.snapshots_path = snapshots_path(self.path)
        self._lock = threading.Lock()
        self._snap_lock = threading.Lock()  # taken after self._lock when both are needed
        conn = _open_wal(self.path)
        snap_conn: sqlite3.Connection | None = None
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise JournalCorrupt(f"{self.path}: unknown journal schema version {version}")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._last_seq: int = conn.execute("SELECT coalesce(max(last_seq), 0) FROM journal").fetchone()[0]
            self._legacy_snapshots = conn.execute("SELECT count(*) FROM snapshot").fetchone()[0] > 0
            snap_conn = conn if self.snapshots_path == self.path else _open_wal(self.snapshots_path)
            if snap_conn is not conn:
                version = snap_conn.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SNAPSHOTS_SCHEMA_VERSION):
                    raise JournalCorrupt(f"{self.snapshots_path}: unknown snapshot schema version {version}")
                snap_conn.executescript(_SNAPSHOTS_SCHEMA)
                snap_conn.execute(f"PRAGMA user_version={SNAPSHOTS_SCHEMA_VERSION}")
        except BaseException:
            if snap_conn is not None and snap_conn is not conn:
                snap_conn.close()
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn
        self._snap_conn: sqlite3.Connection | None = snap_conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"journal {self.path} is closed")
        return self._conn

    def _snapshots(self) -> sqlite3.Connection:
        if self._snap_conn is None:
            raise RuntimeError(f"journal {self.path} is closed")
        return self._snap_conn

    def append_batch(self, entries: Sequence[tuple[int, int, bytes]]) -> None:
        with self._lock:
            conn = self._connection()
            check_contiguous(entries, self._last_seq)
            if not entries:
                return
            pack = _ENTRY.pack
            try:
                blob = b"".join([pack(ts_ms, len(data)) + data for _seq, ts_ms, data in entries])
            except (struct.error, TypeError) as exc:
                raise ValueError(f"malformed journal entry: {exc}") from exc
            _write(conn, [("INSERT INTO journal (first_seq, last_seq, entries) VALUES (?, ?, ?)",
                           (entries[0][0], entries[-1][0], blob))])
            self._last_seq = entries[-1][0]

    def read_from(self, seq_exclusive: int) -> Iterator[JournalEntry]:
        # Chunked queries rather than one open cursor: no statement stays open across yields.
        after = seq_exclusive
        while True:
            with self._lock:
                rows = (
                    self._connection()
                    .execute(
                        "SELECT first_seq, last_seq, entries FROM journal WHERE last_seq > ? ORDER BY first_seq LIMIT ?",
                        (after, _READ_CHUNK),
                    )
                    .fetchall()
                )
            for first_seq, last_seq, blob in rows:
                for entry in _split(first_seq, last_seq, bytes(blob)):
                    if entry.seq > seq_exclusive:
                        yield entry
            if len(rows) < _READ_CHUNK:
                return
            after = rows[-1][1]

    def last_seq(self) -> int:
        with self._lock:
            self._connection()
            return self._last_seq

    def save_snapshot(self, seq: int, blob: bytes) -> None:
        # Only the seq check takes the journal's lock: appends go on while the blob is written.
        with self._lock:
            self._connection()
            if not 0 <= seq <= self._last_seq:
                raise ValueError(f"snapshot at seq {seq} beyond the journal end {self._last_seq}")
        with self._snap_lock:
            _write(self._snapshots(), [
                ("INSERT OR REPLACE INTO snapshot (seq, blob) VALUES (?, ?)", (seq, blob)),
                ("DELETE FROM snapshot WHERE seq NOT IN (SELECT seq FROM snapshot ORDER BY seq DESC LIMIT ?)",
                 (SNAPSHOTS_KEPT,)),
            ])
        if self._legacy_snapshots and self._snap_conn is not self._conn:
            with self._lock:  # the older snapshots kept in the journal's file are superseded now
                _write(self._connection(), [("DELETE FROM snapshot", ())])
                self._legacy_snapshots = False

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        query = "SELECT seq, blob FROM snapshot ORDER BY seq DESC LIMIT 1"
        with self._snap_lock:
            row = self._snapshots().execute(query).fetchone()
        if row is None and self._legacy_snapshots:
            with self._lock:
                row = self._connection().execute(query).fetchone()
        if row is None:
            return None
        return int(row[0]), bytes(row[1])

    def close(self) -> None:
        with self._lock, self._snap_lock:
            if self._snap_conn is not None and self._snap_conn is not self._conn:
                self._snap_conn.close()
            self._snap_conn = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write(conn: sqlite3.Connection, statements: list[tuple[str, tuple[object, ...]]]) -> None:
    """The statements in one transaction: all of them or none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
