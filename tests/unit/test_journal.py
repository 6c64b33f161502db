"""SqliteJournal: the durable log under the sequencer.

Rule: "Single writer and durability: each accepted command is appended to a journal and fsynced before
its result is returned, with group commit; restart replays snapshot + journal to the identical state."
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from backlay.core.commands import (
    CancelInstruction,
    CancelOrders,
    Command,
    CreateAccount,
    Deposit,
    LimitOrder,
    PlaceInstruction,
    PlaceOrders,
)
from backlay.engine import JournalEntry, SqliteJournal
from backlay.engine.codec import decode_command, encode_command
from backlay.engine.sqlite import SNAPSHOTS_KEPT

COMMANDS: list[Command] = [
    CreateAccount(account_id="a1"),
    Deposit(account_id="a1", amount_minor=10_000, reference="first"),
    PlaceOrders(
        account_id="a1",
        market_id="1.1",
        instructions=[
            PlaceInstruction(
                order_type="LIMIT", selection_id=11, side=0, limit=LimitOrder(price_h=250, size_minor=500)
            )
        ],
        customer_ref="ref-1",
    ),
    CancelOrders(account_id="a1", market_id="1.1", instructions=[CancelInstruction(bet_id=1)]),
    CancelOrders(account_id="a1"),
]


def entries(first_seq: int, cmds: list[Command], ts_ms: int = 1_000) -> list[tuple[int, int, bytes]]:
    return [(first_seq + i, ts_ms + i, encode_command(c)) for i, c in enumerate(cmds)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


def test_empty_journal(db: Path) -> None:
    with SqliteJournal(db) as j:
        assert j.last_seq() == 0
        assert list(j.read_from(0)) == []
        assert j.latest_snapshot() is None


def test_wal_and_full_sync(db: Path) -> None:
    with SqliteJournal(db):
        pass
    # journal_mode=WAL is persistent in the file; synchronous is per connection, so check ours.
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    with SqliteJournal(db) as j:
        conn = j._connection()
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_append_read_round_trip(db: Path) -> None:
    with SqliteJournal(db) as j:
        j.append_batch(entries(1, COMMANDS[:2]))
        j.append_batch(entries(3, COMMANDS[2:], ts_ms=2_000))
        assert j.last_seq() == len(COMMANDS)
        got = list(j.read_from(0))
        assert [e.seq for e in got] == list(range(1, len(COMMANDS) + 1))
        assert all(isinstance(e, JournalEntry) for e in got)
        assert [decode_command(e.cmd) for e in got] == COMMANDS
        assert [e.ts_ms for e in got] == [1_000, 1_001, 2_000, 2_001, 2_002]
        assert [e.seq for e in j.read_from(3)] == [4, 5]
        assert list(j.read_from(5)) == []


def test_read_spans_chunks(db: Path) -> None:
    n = 3_000  # more than one read chunk
    cmd = encode_command(CancelOrders(account_id="a1"))
    with SqliteJournal(db) as j:
        j.append_batch([(seq, seq, cmd) for seq in range(1, n + 1)])
        assert [e.seq for e in j.read_from(0)] == list(range(1, n + 1))
        assert [e.seq for e in j.read_from(1500)] == list(range(1501, n + 1))


def test_empty_batch_is_a_no_op(db: Path) -> None:
    with SqliteJournal(db) as j:
        j.append_batch([])
        assert j.last_seq() == 0


@pytest.mark.parametrize(
    "seqs",
    [
        [2],  # must start at last_seq + 1
        [1, 3],  # gap
        [1, 1],  # duplicate
        [1, 2, 4],
        [0],
    ],
)
def test_contiguity_is_enforced(db: Path, seqs: list[int]) -> None:
    data = encode_command(CreateAccount(account_id="x"))
    with SqliteJournal(db) as j:
        with pytest.raises(ValueError, match="out of order"):
            j.append_batch([(s, 0, data) for s in seqs])
        # nothing of a rejected batch is written
        assert j.last_seq() == 0
        assert list(j.read_from(0)) == []
        j.append_batch([(1, 0, data)])
        with pytest.raises(ValueError, match="out of order"):
            j.append_batch([(1, 0, data)])  # replaying an old seq
        with pytest.raises(ValueError, match="out of order"):
            j.append_batch([(3, 0, data)])
        assert j.last_seq() == 1


def test_batch_is_atomic(db: Path) -> None:
    """One batch, one row: a malformed entry leaves none of the batch behind."""
    with SqliteJournal(db) as j:
        j.append_batch(entries(1, COMMANDS[:1]))
        bad: list[tuple[int, int, bytes]] = [(2, 0, b"x"), (3, None, b"y")]  # type: ignore[list-item]
        with pytest.raises(ValueError, match="malformed"):
            j.append_batch(bad)
        assert j.last_seq() == 1
        assert [e.seq for e in j.read_from(0)] == [1]
        j.append_batch(entries(2, COMMANDS[1:2]))
        assert j.last_seq() == 2


def test_reopen_and_continue(db: Path) -> None:
    with SqliteJournal(db) as j:
        j.append_batch(entries(1, COMMANDS[:3]))
    with SqliteJournal(db) as j:
        assert j.last_seq() == 3
        with pytest.raises(ValueError):
            j.append_batch(entries(1, COMMANDS[:1]))
        j.append_batch(entries(4, COMMANDS[3:]))
    with SqliteJournal(db) as j:
        assert [decode_command(e.cmd) for e in j.read_from(0)] == COMMANDS


def test_second_writer_cannot_reuse_seqs(db: Path) -> None:
    """Two journals on one file (a second process by mistake): the primary key refuses the overlap."""
    data = encode_command(CreateAccount(account_id="x"))
    with SqliteJournal(db) as a, SqliteJournal(db) as b:
        a.append_batch([(1, 0, data)])
        with pytest.raises(sqlite3.IntegrityError):
            b.append_batch([(1, 0, data)])
        assert [e.seq for e in b.read_from(0)] == [1]


def test_snapshots_keep_the_latest_two(db: Path) -> None:
    with SqliteJournal(db) as j:
        j.append_batch(entries(1, COMMANDS))
        j.save_snapshot(1, b"one")
        assert j.latest_snapshot() == (1, b"one")
        j.save_snapshot(3, b"three")
        j.save_snapshot(2, b"two")  # older than the latest: kept only if among the newest two
        assert j.latest_snapshot() == (3, b"three")
        j.save_snapshot(5, b"five")
        assert j.latest_snapshot() == (5, b"five")
        j.save_snapshot(5, b"five again")
        assert j.latest_snapshot() == (5, b"five again")
        conn = j._snapshots()
        kept = [r[0] for r in conn.execute("SELECT seq FROM snapshot ORDER BY seq")]
        assert len(kept) == SNAPSHOTS_KEPT == 2
        assert kept == [3, 5]
        with pytest.raises(ValueError, match="beyond"):
            j.save_snapshot(6, b"future")
    with SqliteJournal(db) as j:
        assert j.latest_snapshot() == (5, b"five again")


def test_snapshots_have_their_own_database_and_older_ones_are_still_read(db: Path) -> None:
    """A snapshot is stored in journal-snapshots.db, not in the journal's file (its large write would hold
    appends up); one an older version kept in the journal's own `snapshot` table is read until superseded."""
    with SqliteJournal(db) as j:
        j.append_batch(entries(1, COMMANDS))
        assert j.snapshots_path == str(db.with_name("journal-snapshots.db"))
        j._connection().execute("INSERT INTO snapshot (seq, blob) VALUES (1, ?)", (b"old style",))
    with SqliteJournal(db) as j:
        assert j.latest_snapshot() == (1, b"old style")
        j.save_snapshot(2, b"new style")
        assert j.latest_snapshot() == (2, b"new style")
        assert j._connection().execute("SELECT count(*) FROM snapshot").fetchone()[0] == 0
        assert [r[0] for r in j._snapshots().execute("SELECT seq FROM snapshot")] == [2]
    with SqliteJournal(db) as j:
        assert j.latest_snapshot() == (2, b"new style")


def test_closed_journal_refuses(db: Path) -> None:
    j = SqliteJournal(db)
    j.close()
    j.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        j.append_batch(entries(1, COMMANDS[:1]))
    with pytest.raises(RuntimeError, match="closed"):
        j.last_seq()


def test_append_from_a_worker_thread(db: Path) -> None:
    """Appends run in a worker thread (asyncio.to_thread); reads elsewhere."""
    with SqliteJournal(db) as j:
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                for first in range(1, 101, 10):
                    j.append_batch(entries(first, [COMMANDS[0]] * 10))
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=writer)
        t.start()
        t.join()
        assert not errors
        assert j.last_seq() == 100
        assert [e.seq for e in j.read_from(0)] == list(range(1, 101))


# Commands as journals before 2026-12-01 stored them: every field written, defaults included.
FULL_PLACE = bytes.fromhex(
    "89a474797065ab506c6163654f7264657273aa6163636f756e745f6964a26131a96d61726b65745f6964a5312e313030"
    "ac696e737472756374696f6e739188aa6f726465725f74797065a54c494d4954ac73656c656374696f6e5f69640ba473"
    "69646500aa68616e64696361705f6800a56c696d697487a770726963655f68cd012caa73697a655f6d696e6f72cd01f4"
    "ab70657273697374656e6365a54c41505345ad74696d655f696e5f666f726365c0ae6d696e5f66696c6c5f6d696e6f72"
    "c0af6265745f7461726765745f74797065c0b06265745f7461726765745f6d696e6f72c0ae6c696d69745f6f6e5f636c"
    "6f7365c0af6d61726b65745f6f6e5f636c6f7365c0b2637573746f6d65725f6f726465725f726566c0ac637573746f6d"
    "65725f726566a27231ae6d61726b65745f76657273696f6ec0b5637573746f6d65725f73747261746567795f726566c0"
    "a66173796e635fc2ae736f757263655f6170705f6b6579c0"
)
FULL_CANCEL = bytes.fromhex(
    "85a474797065ac43616e63656c4f7264657273aa6163636f756e745f6964a26131a96d61726b65745f6964a5312e3130"
    "30ac696e737472756374696f6e739182a66265745f696407b473697a655f726564756374696f6e5f6d696e6f72c0ac63"
    "7573746f6d65725f726566c0"
)


def test_commands_omit_defaults_and_older_journals_still_replay() -> None:
    """A command is journaled without the fields that hold their default (less to write, read and
    decode); entries written with every field, as journals before 2026-12-01 hold them, decode to the
    same commands, so an existing data directory replays to the same state."""
    place = PlaceOrders(account_id="a1", market_id="1.100", customer_ref="r1", instructions=[
        PlaceInstruction(order_type="LIMIT", selection_id=11, side=0,
                         limit=LimitOrder(price_h=300, size_minor=500, persistence="LAPSE"))])
    cancel = CancelOrders(account_id="a1", market_id="1.100", instructions=[CancelInstruction(bet_id=7)])
    assert decode_command(FULL_PLACE) == place and decode_command(FULL_CANCEL) == cancel
    for cmd, full in ((place, FULL_PLACE), (cancel, FULL_CANCEL)):
        data = encode_command(cmd)
        assert decode_command(data) == cmd and len(data) < len(full)
        assert b"time_in_force" not in data and b"size_reduction_minor" not in data
