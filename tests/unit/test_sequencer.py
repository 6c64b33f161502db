"""Engine and Sequencer on the real Exchange.

Rule: "Single writer and durability: each accepted command is appended to a journal and fsynced before
its result is returned, with group commit; restart replays snapshot + journal to the identical state."
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from backlay.core.commands import (
    AdvanceTime,
    CancelInstruction,
    CancelOrders,
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOrder,
    MarketDefinition,
    PlaceInstruction,
    PlaceOrders,
    RunnerDefinition,
    SetMarketStatus,
    TurnInPlay,
)
from backlay.core.events import Event, PlacementCompleted
from backlay.core.exchange import Exchange
from backlay.core.reports import AdminResult, PlaceExecutionReport, Result
from backlay.engine import JournalEntry, SqliteJournal
from backlay.engine import snapshots as snapshots_module
from backlay.engine.codec import InvalidCommand, decode_command, encode_snapshot
from backlay.engine.engine import Engine, EngineFailed
from backlay.engine.sequencer import Sequencer
from backlay.engine.snapshots import CHILD_SNAPSHOTS, SnapshotFailed

MARKET = "1.100"
T0_MS = 1_700_000_000_000


def setup_commands() -> list[Command]:
    return [
        CreateAccount(account_id="alice"),
        CreateAccount(account_id="bob"),
        Deposit(account_id="alice", amount_minor=1_000_000),
        Deposit(account_id="bob", amount_minor=1_000_000),
        CreateMarket(
            market_id=MARKET,
            definition=MarketDefinition(name="Match Odds"),
            runners=[
                RunnerDefinition(selection_id=11, name="Home"),
                RunnerDefinition(selection_id=22, name="Away"),
            ],
        ),
        SetMarketStatus(market_id=MARKET, status="OPEN"),
    ]


def place(account_id: str, side: int, price_h: int, size_minor: int, selection_id: int = 11) -> PlaceOrders:
    return PlaceOrders(
        account_id=account_id,
        market_id=MARKET,
        instructions=[
            PlaceInstruction(
                order_type="LIMIT",
                selection_id=selection_id,
                side=side,
                limit=LimitOrder(price_h=price_h, size_minor=size_minor, persistence="LAPSE"),
            )
        ],
    )


def cancel(account_id: str, bet_id: int) -> CancelOrders:
    return CancelOrders(
        account_id=account_id, market_id=MARKET, instructions=[CancelInstruction(bet_id=bet_id)]
    )


def bet_id_of(result: Result) -> int:
    assert isinstance(result, PlaceExecutionReport), result
    assert result.status == "SUCCESS", result
    bet_id = result.instruction_reports[0].bet_id
    assert bet_id is not None
    return bet_id


def trading_round(engine: Engine, now_ms: int, k: int) -> int:
    """A few batches of placements (some matching) and cancels; returns the next free time."""
    outcomes = engine.submit_batch(
        [
            place("alice", 0, 200 + 2 * k, 1_000),  # back
            place("bob", 1, 200 + 2 * k, 400),  # lay at the same price: matches 400
            place("bob", 1, 190, 700),  # rests
            place("alice", 0, 300, 500, selection_id=22),
        ],
        now_ms,
    )
    bet_ids = [bet_id_of(result) for result, _events in outcomes]
    engine.submit_batch([cancel("alice", bet_ids[0]), cancel("bob", bet_ids[2])], now_ms + 5)
    engine.submit_batch([place("bob", 0, 250, 200, selection_id=22)], now_ms + 7)
    return now_ms + 10


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


def open_engine(db: Path, use_snapshot: bool = True) -> Engine:
    engine = Engine(SqliteJournal(db))
    engine.recover(use_snapshot=use_snapshot)
    return engine


def run_scenario(engine: Engine, rounds: int, now_ms: int) -> int:
    for k in range(rounds):
        now_ms = trading_round(engine, now_ms, k)
    return now_ms


def journal_entries(db: Path) -> list[JournalEntry]:
    with SqliteJournal(db) as j:
        return list(j.read_from(0))


def replay_directly(entries: Sequence[JournalEntry]) -> Exchange:
    ex = Exchange()
    for e in entries:
        ex.apply(decode_command(e.cmd), e.ts_ms)
    return ex


# --- Engine --------------------------------------------------------------------------------------


def test_setup_results_and_seqs(db: Path) -> None:
    engine = open_engine(db)
    outcomes = engine.submit_batch(setup_commands(), T0_MS)
    assert len(outcomes) == len(setup_commands())
    for result, _events in outcomes:
        assert isinstance(result, AdminResult) and result.ok, result
    assert engine.seq == engine.written_seq == engine.applied_seq == len(setup_commands())
    assert engine.journal.last_seq() == engine.seq
    engine.close()


def test_restart_from_journal_only_is_identical(db: Path) -> None:
    engine = open_engine(db)
    engine.submit_batch(setup_commands(), T0_MS)
    run_scenario(engine, 5, T0_MS + 100)
    fingerprint, seq, last_ts_ms = engine.exchange.fingerprint(), engine.seq, engine.last_ts_ms
    engine.close()

    again = open_engine(db)
    assert again.exchange.fingerprint() == fingerprint
    assert (again.seq, again.last_ts_ms) == (seq, last_ts_ms)
    # and the journal alone, fed to a bare Exchange, gives the same state
    assert replay_directly(journal_entries(db)).fingerprint() == fingerprint
    # the restarted engine continues where it left off
    run_scenario(again, 1, T0_MS + 1_000)
    fingerprint2 = again.exchange.fingerprint()
    again.close()
    assert open_engine(db).exchange.fingerprint() == fingerprint2


def test_snapshot_midway_then_more_then_restart(db: Path) -> None:
    engine = open_engine(db)
    engine.submit_batch(setup_commands(), T0_MS)
    now_ms = run_scenario(engine, 3, T0_MS + 100)
    snap_seq = engine.snapshot()
    assert snap_seq == engine.seq
    run_scenario(engine, 3, now_ms)
    fingerprint, seq = engine.exchange.fingerprint(), engine.seq
    assert seq > snap_seq
    engine.close()

    from_snapshot = open_engine(db)
    assert from_snapshot.snapshot_seq == snap_seq  # it did start from the snapshot
    assert from_snapshot.exchange.fingerprint() == fingerprint
    assert from_snapshot.seq == seq
    from_snapshot.close()

    journal_only = open_engine(db, use_snapshot=False)
    assert journal_only.snapshot_seq == 0
    assert journal_only.exchange.fingerprint() == fingerprint
    journal_only.close()


def test_snapshot_at_the_end_restores_last_ts(db: Path) -> None:
    engine = open_engine(db)
    engine.submit_batch(setup_commands(), T0_MS + 500)
    engine.snapshot()
    engine.close()
    again = open_engine(db)
    assert again.last_ts_ms == T0_MS + 500
    assert again.snapshot_seq == again.seq == len(setup_commands())
    again.close()


@pytest.mark.parametrize("damage", ["fingerprint", "truncated", "garbage"])
def test_unusable_snapshot_falls_back_to_the_journal(db: Path, damage: str) -> None:
    engine = open_engine(db)
    engine.submit_batch(setup_commands(), T0_MS)
    run_scenario(engine, 2, T0_MS + 100)
    fingerprint = engine.exchange.fingerprint()
    blob = encode_snapshot(engine.exchange, engine.seq, engine.last_ts_ms)
    if damage == "fingerprint":  # as if written by a core whose state or hash has since changed
        blob = blob.replace(fingerprint.encode(), ("0" * len(fingerprint)).encode(), 1)
    elif damage == "truncated":
        blob = blob[: len(blob) // 2]
    else:
        blob = b"not a snapshot at all"
    engine.journal.save_snapshot(engine.seq, blob)
    engine.close()
    again = open_engine(db)
    assert again.snapshot_seq == 0
    assert again.exchange.fingerprint() == fingerprint
    again.close()


def test_time_never_goes_backwards(db: Path) -> None:
    engine = open_engine(db)
    engine.submit_batch(setup_commands(), T0_MS + 1_000)
    engine.submit_batch([place("alice", 0, 200, 100)], T0_MS)  # the clock stepped back
    engine.close()
    ts = [e.ts_ms for e in journal_entries(db)]
    assert ts == [T0_MS + 1_000] * len(ts)
    assert open_engine(db).last_ts_ms == T0_MS + 1_000


class FailingJournal:
    """A journal whose appends fail on demand (disk full, I/O error)."""

    def __init__(self, inner: SqliteJournal) -> None:
        self.inner = inner
        self.fail = False

    def append_batch(self, entries: Sequence[tuple[int, int, bytes]]) -> None:
        if self.fail:
            raise OSError("disk full")
        self.inner.append_batch(entries)

    def read_from(self, seq_exclusive: int) -> Iterator[JournalEntry]:
        return self.inner.read_from(seq_exclusive)

    def last_seq(self) -> int:
        return self.inner.last_seq()

    def save_snapshot(self, seq: int, blob: bytes) -> None:
        self.inner.save_snapshot(seq, blob)

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        return self.inner.latest_snapshot()

    def close(self) -> None:
        self.inner.close()


def test_nothing_applies_unless_durable(db: Path) -> None:
    journal = FailingJournal(SqliteJournal(db))
    engine = Engine(journal)
    engine.recover()
    engine.submit_batch(setup_commands(), T0_MS)
    fingerprint = engine.exchange.fingerprint()
    journal.fail = True
    with pytest.raises(OSError, match="disk full"):
        engine.submit_batch([place("alice", 0, 200, 100)], T0_MS + 1)
    assert engine.exchange.fingerprint() == fingerprint  # not applied
    journal.fail = False
    with pytest.raises(EngineFailed):  # and the engine stays stopped until a restart
        engine.submit_batch([place("alice", 0, 200, 100)], T0_MS + 2)
    engine.close()
    again = open_engine(db)
    assert again.exchange.fingerprint() == fingerprint
    again.submit_batch([place("alice", 0, 200, 100)], T0_MS + 3)
    again.close()


def test_unjournalable_command_is_refused_before_stamping(db: Path) -> None:
    """msgspec checks types only on decode: a str amount encodes but would never replay. It must be
    refused up front, not journaled (a journal entry that cannot be decoded blocks every restart)."""
    engine = open_engine(db)
    engine.submit_batch(setup_commands(), T0_MS)
    seq = engine.seq
    bad = Deposit(account_id="alice", amount_minor="100")  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        engine.submit_batch([Deposit(account_id="alice", amount_minor=1), bad], T0_MS + 1)
    assert engine.seq == seq == engine.journal.last_seq()  # nothing stamped, nothing written
    engine.submit_batch([Deposit(account_id="alice", amount_minor=1)], T0_MS + 2)  # still usable
    engine.close()
    assert open_engine(db).seq == seq + 1


class BuggyExchange:
    """A core with a bug: raises on one command. It wraps the real one rather than subclass it, so that
    the test runs on the mypyc-compiled core too (whose classes Python code cannot subclass)."""

    def __init__(self) -> None:
        self._exchange = Exchange()

    def apply(self, cmd: Command, ts_ms: int) -> tuple[Result, list[Event]]:
        if isinstance(cmd, Deposit) and cmd.reference == "boom":
            raise ZeroDivisionError("core bug")
        return self._exchange.apply(cmd, ts_ms)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exchange, name)


def test_core_exception_stops_the_engine(db: Path) -> None:
    """A core that raises may have half-applied the command: stop rather than run on a state that no
    replay reproduces. The command is durable, so recovery stops at it too until the core is fixed."""
    engine = Engine(SqliteJournal(db), exchange_factory=BuggyExchange)
    engine.recover()
    engine.submit_batch(setup_commands(), T0_MS)
    with pytest.raises(EngineFailed, match="core bug"):
        engine.submit_batch([Deposit(account_id="alice", amount_minor=5, reference="boom")], T0_MS + 1)
    with pytest.raises(EngineFailed):
        engine.submit_batch([Deposit(account_id="alice", amount_minor=5)], T0_MS + 2)
    engine.close()

    still_buggy = Engine(SqliteJournal(db), exchange_factory=BuggyExchange)
    with pytest.raises(EngineFailed, match="replay of seq 7"):
        still_buggy.recover()
    still_buggy.close()
    fixed = open_engine(db)
    assert fixed.seq == len(setup_commands()) + 1
    fixed.close()


def test_a_core_exception_mid_batch_leaves_the_commands_before_it_applied(db: Path) -> None:
    """The engine knows how far a batch got: the commands before the failing one are applied, and the
    error names the failing command's seq."""
    engine = Engine(SqliteJournal(db), exchange_factory=BuggyExchange)
    engine.recover()
    engine.submit_batch(setup_commands(), T0_MS)
    first = engine.seq + 1
    balance = engine.exchange.accounts["alice"].balance_minor
    batch = [Deposit(account_id="alice", amount_minor=5), Deposit(account_id="alice", amount_minor=5, reference="boom"),
             Deposit(account_id="alice", amount_minor=5)]
    with pytest.raises(EngineFailed, match=f"apply of seq {first + 1} \\(Deposit\\)"):
        engine.submit_batch(batch, T0_MS + 1)
    assert engine.applied_seq == first
    assert engine.written_seq == first + 2  # the whole batch is durable
    assert engine.exchange.accounts["alice"].balance_minor == balance + 5
    engine.close()


def test_engine_refuses_commands_before_recover(db: Path) -> None:
    engine = Engine(SqliteJournal(db))
    with pytest.raises(RuntimeError, match="recover"):
        engine.submit_batch(setup_commands(), T0_MS)
    engine.recover()
    with pytest.raises(RuntimeError, match="once"):
        engine.recover()
    engine.close()


def test_advance_time_is_journaled_when_due(db: Path) -> None:
    """An in-play delay: the placement is held, and the next batch after its due time starts with an
    AdvanceTime the engine adds and journals, so a replay releases it at the same point."""
    engine = open_engine(db)
    engine.submit_batch(setup_commands(), T0_MS)
    engine.submit_batch([TurnInPlay(market_id=MARKET, bet_delay_s=5)], T0_MS)
    [(result, _events)] = engine.submit_batch([place("alice", 0, 200, 1_000)], T0_MS + 10)
    assert isinstance(result, PlaceExecutionReport)
    assert result.delayed_token is not None, result
    due_ms = engine.exchange.next_due_ms()
    assert due_ms is not None and due_ms > T0_MS + 10
    assert engine.due_in_ms(due_ms - 1) == 1
    assert engine.due_in_ms(due_ms) == 0

    # before it is due: nothing added (a placement now would be delayed too, so a deposit)
    seq_before = engine.seq
    engine.submit_batch([Deposit(account_id="bob", amount_minor=100)], due_ms - 1)
    assert engine.seq == seq_before + 1
    # once due: an AdvanceTime goes first, and its events come with the batch's first result
    [(_result, events)] = engine.submit_batch([Deposit(account_id="bob", amount_minor=100)], due_ms)
    assert engine.seq == seq_before + 3
    completed = [ev for ev in events if isinstance(ev, PlacementCompleted)]
    assert [ev.token for ev in completed] == [result.delayed_token]
    assert engine.exchange.next_due_ms() is None
    fingerprint = engine.exchange.fingerprint()
    engine.close()

    entries = journal_entries(db)
    assert isinstance(decode_command(entries[-2].cmd), AdvanceTime)
    assert entries[-2].ts_ms == due_ms
    assert open_engine(db).exchange.fingerprint() == fingerprint


def test_tick_advances_time_without_commands(db: Path) -> None:
    engine = open_engine(db)
    engine.submit_batch(setup_commands(), T0_MS)
    engine.submit_batch([TurnInPlay(market_id=MARKET, bet_delay_s=1), place("alice", 0, 200, 100)], T0_MS)
    due_ms = engine.exchange.next_due_ms()
    assert due_ms is not None
    seq = engine.seq
    assert engine.tick(due_ms - 1) == []
    assert engine.seq == seq
    events = engine.tick(due_ms)
    assert engine.seq == seq + 1
    assert any(isinstance(ev, PlacementCompleted) for ev in events)
    engine.close()


# --- Sequencer -------------------------------------------------------------------------------------


class CountingJournal(FailingJournal):
    """Counts durable appends; optionally slow (as a real fsync is) or gated, to see batching."""

    def __init__(self, inner: SqliteJournal, delay_s: float = 0.0) -> None:
        super().__init__(inner)
        self.appends: list[int] = []  # batch sizes
        self.delay_s = delay_s
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def append_batch(self, entries: Sequence[tuple[int, int, bytes]]) -> None:
        self.entered.set()
        self.gate.wait()
        if self.delay_s:
            time.sleep(self.delay_s)
        super().append_batch(entries)
        self.appends.append(len(entries))


def test_sequencer_resolves_futures_and_batches(db: Path) -> None:
    async def main() -> tuple[str, int]:
        journal = CountingJournal(SqliteJournal(db), delay_s=0.01)
        seq = Sequencer(Engine(journal), clock_ms=lambda: T0_MS)
        seen: list[list[Event]] = []
        seq.add_listener(seen.append)
        await seq.start()
        for result in await asyncio.gather(*(seq.submit(c) for c in setup_commands())):
            assert isinstance(result, AdminResult) and result.ok

        n = 600
        cmds = [place("alice" if i % 2 else "bob", i % 2, 200 + 2 * (i % 10), 100 + i) for i in range(n)]
        appends_before = len(journal.appends)
        results = await asyncio.gather(*(seq.submit(c) for c in cmds))
        assert len(results) == n
        bet_ids = [bet_id_of(r) for r in results]
        assert len(set(bet_ids)) == n
        # group commit: 600 concurrent commands share a handful of fsyncs
        batches = journal.appends[appends_before:]
        assert sum(batches) == n
        assert len(batches) <= 5, batches
        assert seen and all(seen)  # listeners got the events, batch by batch

        # cancels, also concurrent
        cancels = await asyncio.gather(
            *(seq.submit(cancel("alice" if i % 2 else "bob", b)) for i, b in enumerate(bet_ids[:50]))
        )
        assert len(cancels) == 50
        fingerprint = seq.engine.exchange.fingerprint()
        last = seq.engine.seq
        await seq.stop()
        return fingerprint, last

    fingerprint, last_seq = asyncio.run(main())
    again = open_engine(db)
    assert again.seq == last_seq
    assert again.exchange.fingerprint() == fingerprint
    again.close()


def test_sequencer_result_only_after_durable(db: Path) -> None:
    async def main() -> None:
        journal = CountingJournal(SqliteJournal(db))
        seq = Sequencer(Engine(journal), clock_ms=lambda: T0_MS)
        await seq.start()
        journal.gate.clear()
        journal.entered.clear()
        task = asyncio.create_task(seq.submit(CreateAccount(account_id="carol")))
        while not journal.entered.is_set():
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)
        assert not task.done()  # the append has not returned: no result yet
        assert seq.engine.applied_seq == 0
        journal.gate.set()
        result = await asyncio.wait_for(task, 5)
        assert isinstance(result, AdminResult) and result.ok
        assert journal.inner.last_seq() == 1
        await seq.stop()

    asyncio.run(main())


def test_sequencer_journal_failure_fails_callers_and_stops(db: Path) -> None:
    async def main() -> None:
        journal = CountingJournal(SqliteJournal(db))
        seq = Sequencer(Engine(journal), clock_ms=lambda: T0_MS)
        await seq.start()
        await seq.submit(CreateAccount(account_id="carol"))
        journal.fail = True
        with pytest.raises(OSError, match="disk full"):
            await seq.submit(CreateAccount(account_id="dave"))
        await asyncio.sleep(0)
        assert not seq.running
        with pytest.raises(RuntimeError, match="stopped"):
            await seq.submit(CreateAccount(account_id="erin"))
        with pytest.raises(OSError):
            await seq.stop()

    asyncio.run(main())
    assert open_engine(db).seq == 1


def test_sequencer_refuses_a_bad_command_alone(db: Path) -> None:
    async def main() -> None:
        seq = Sequencer(Engine(SqliteJournal(db)), clock_ms=lambda: T0_MS)
        await seq.start()
        bad = Deposit(account_id="alice", amount_minor="100")  # type: ignore[arg-type]
        good = seq.submit(CreateAccount(account_id="alice"))
        results = await asyncio.gather(good, seq.submit(bad), return_exceptions=True)
        assert isinstance(results[0], AdminResult) and results[0].ok
        assert isinstance(results[1], InvalidCommand)
        assert seq.running
        await seq.stop()

    asyncio.run(main())
    assert open_engine(db).seq == 1


def test_sequencer_snapshot_and_stop_drains(db: Path) -> None:
    async def main() -> str:
        seq = Sequencer(Engine(SqliteJournal(db)), clock_ms=lambda: T0_MS, max_batch=7)
        await seq.start()
        await asyncio.gather(*(seq.submit(c) for c in setup_commands()))
        snap_seq = await seq.snapshot()
        assert snap_seq == len(setup_commands())
        futures = [asyncio.ensure_future(seq.submit(place("alice", 0, 200, 100 + i))) for i in range(30)]
        await asyncio.sleep(0)  # queued, not yet written
        await seq.stop()  # drains them first
        assert all(f.done() and not f.exception() for f in futures)
        return seq.engine.exchange.fingerprint()

    fingerprint = asyncio.run(main())
    again = open_engine(db)
    assert again.snapshot_seq == len(setup_commands())
    assert again.seq == len(setup_commands()) + 30
    assert again.exchange.fingerprint() == fingerprint


def test_sequencer_snapshots_every_n_commands(db: Path) -> None:
    async def main() -> int:
        seq = Sequencer(Engine(SqliteJournal(db)), clock_ms=lambda: T0_MS, snapshot_every=50, max_batch=20)
        await seq.start()
        await asyncio.gather(*(seq.submit(c) for c in setup_commands()))
        await asyncio.gather(*(seq.submit(place("alice", 0, 200, 100 + i)) for i in range(120)))
        await seq.stop()  # the snapshot after the last batch runs after its futures resolve
        assert seq.engine.snapshot_seq == seq.engine.seq == 126  # 6 + 6 batches of 20: 66, then 126
        return seq.engine.snapshot_seq

    snap_seq = asyncio.run(main())
    again = open_engine(db)
    assert again.snapshot_seq == snap_seq
    again.close()


needs_fork = pytest.mark.skipif(not CHILD_SNAPSHOTS, reason="snapshots in a forked child are Linux-only")


@pytest.fixture
def held_snapshot_child(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Snapshot children that wait until the test writes to the returned fd: b"g" lets the child go on,
    b"f" makes it fail. The forked child runs this patched module, so the test decides when it ends."""
    read_fd, write_fd = os.pipe()
    real = snapshots_module._child_write_snapshot

    def held(*args: Any) -> int:
        if os.read(read_fd, 1) != b"g":
            raise RuntimeError("told to fail")
        return real(*args)

    real_close = snapshots_module._close_inherited_fds

    def close_but_the_pipe(*keep: int) -> None:  # the child keeps the test's pipe open too
        real_close(*keep, read_fd)

    monkeypatch.setattr(snapshots_module, "_child_write_snapshot", held)
    monkeypatch.setattr(snapshots_module, "_close_inherited_fds", close_but_the_pipe)
    yield write_fd
    os.close(read_fd)
    os.close(write_fd)


async def start_held_snapshot(db: Path, **kwargs: Any) -> tuple[Sequencer, asyncio.Future[int]]:
    """A started Sequencer with the setup commands applied and a snapshot asked for, once its child is
    forked (and held by `held_snapshot_child`)."""
    seq = Sequencer(Engine(SqliteJournal(db)), clock_ms=lambda: T0_MS, child_snapshots=True, **kwargs)
    await seq.start()
    await asyncio.gather(*(seq.submit(c) for c in setup_commands()))
    snapshot = asyncio.ensure_future(seq.snapshot())
    while seq.snapshot_child is None:  # the child is forked between two batches
        await asyncio.sleep(0.001)
    return seq, snapshot


@needs_fork
def test_a_snapshot_in_a_child_does_not_hold_up_commands(db: Path, held_snapshot_child: int) -> None:
    """While the child pickles, commands go on being journaled and answered; the snapshot is the state at
    the seq it was asked at, and recovery from it equals recovery from the journal alone."""
    release_fd = held_snapshot_child

    async def main() -> tuple[int, str]:
        seq, snapshot = await start_held_snapshot(db, spool_dir=str(db.parent))
        results = await asyncio.wait_for(
            asyncio.gather(*(seq.submit(place("alice", 0, 200, 100 + i)) for i in range(20))), timeout=30)
        assert all(isinstance(r, PlaceExecutionReport) and r.status == "SUCCESS" for r in results)
        assert not snapshot.done()  # the child is still held: the commands did not wait for it
        assert seq.engine.snapshot_seq == 0
        os.write(release_fd, b"g")
        snap_seq = await asyncio.wait_for(snapshot, timeout=60)
        assert seq.engine.snapshot_seq == snap_seq
        await seq.stop()
        return snap_seq, seq.engine.exchange.fingerprint()

    snap_seq, fingerprint = asyncio.run(main())
    assert snap_seq == len(setup_commands())
    assert not [p for p in db.parent.iterdir() if p.name.startswith("tmp")]  # the spool file is gone
    again = open_engine(db)
    assert again.snapshot_seq == snap_seq  # recovery started from the child's snapshot
    assert again.seq == snap_seq + 20
    assert again.exchange.fingerprint() == fingerprint
    again.close()
    journal_only = open_engine(db, use_snapshot=False)
    assert journal_only.exchange.fingerprint() == fingerprint
    journal_only.close()


@needs_fork
def test_a_snapshot_child_holds_no_copy_of_the_parents_sockets(db: Path, held_snapshot_child: int) -> None:
    """A connection the server closes while a child pickles is closed for its peer at once: the child
    keeps none of the descriptors it inherited (else no FIN until it exits, seconds later)."""
    release_fd = held_snapshot_child
    ours, peer = socket.socketpair()
    peer.settimeout(10)

    async def main() -> None:
        seq, snapshot = await start_held_snapshot(db)
        try:
            await asyncio.sleep(0.2)  # the child has closed what it inherited
            ours.close()
            assert peer.recv(1) == b""  # end of stream while the child is still held
            assert not snapshot.done()
        finally:
            os.write(release_fd, b"g")  # whatever happened, let the child finish
        assert await asyncio.wait_for(snapshot, timeout=60) == len(setup_commands())
        await seq.stop()

    try:
        asyncio.run(main())
    finally:
        peer.close()


class Node:
    peer: Node | None = None


@needs_fork
def test_cyclic_garbage_the_freezes_trapped_is_counted_by_the_child_and_swept(
        db: Path, caplog: pytest.LogCaptureFixture) -> None:
    """With freeze_at_snapshots (as `backlay serve` runs), each snapshot freezes the heap, so that the
    collector's full passes walk only what is newer; frozen cyclic garbage is out of their reach, so
    the snapshot child counts it over the whole heap and the sequencer sweeps once it is enough."""
    async def main() -> None:
        seq = Sequencer(Engine(SqliteJournal(db)), clock_ms=lambda: T0_MS, child_snapshots=True,
                        freeze_at_snapshots=True, sweep_garbage_min=2)
        await seq.start()
        await asyncio.gather(*(seq.submit(c) for c in setup_commands()))
        a, b = Node(), Node()
        a.peer, b.peer = b, a
        gone = weakref.ref(a)
        gc.freeze()  # as an earlier snapshot (or the start-up) would
        del a, b  # a reference cycle among frozen objects: garbage that no collection here finds
        gc.collect()
        assert gone() is not None
        with caplog.at_level(logging.INFO, logger="backlay.engine.snapshots"):
            assert await seq.snapshot() == len(setup_commands())
        assert gone() is None  # the child counted it, the sweep freed it
        assert "swept the frozen heap" in caplog.text
        assert gc.get_freeze_count() > 0  # and what is alive is frozen again
        await seq.stop()

    try:
        asyncio.run(main())
    finally:
        gc.unfreeze()


@needs_fork
def test_a_garbage_count_that_hangs_is_abandoned_and_the_snapshot_kept(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The count runs finalizers in the child, one of which might wait for a lock that another thread of
    the parent held at the fork: an alarm ends it, the snapshot written before it stands, no sweep."""
    monkeypatch.setattr(snapshots_module, "GARBAGE_COUNT_TIMEOUT_S", 1)
    monkeypatch.setattr(snapshots_module, "_count_unreachable", lambda: time.sleep(3600) or 0)

    async def main() -> None:
        seq = Sequencer(Engine(SqliteJournal(db)), clock_ms=lambda: T0_MS, child_snapshots=True,
                        freeze_at_snapshots=True, sweep_garbage_min=0)
        await seq.start()
        await asyncio.gather(*(seq.submit(c) for c in setup_commands()))
        t0 = time.monotonic()
        assert await asyncio.wait_for(seq.snapshot(), timeout=60) == len(setup_commands())
        assert time.monotonic() - t0 < 30
        await seq.stop()

    try:
        asyncio.run(main())
    finally:
        gc.unfreeze()
    again = open_engine(db)
    assert again.snapshot_seq == len(setup_commands())  # the snapshot is there and usable
    again.close()


@needs_fork
def test_a_snapshot_child_ignores_ctrl_c(db: Path, held_snapshot_child: int) -> None:
    """Ctrl-C reaches the whole process group, the child too: the child goes on (stopping is the
    parent's to handle, and it waits for the snapshot)."""
    release_fd = held_snapshot_child

    async def main() -> None:
        seq, snapshot = await start_held_snapshot(db)
        assert seq.snapshot_child is not None
        await asyncio.sleep(0.2)  # the child has set its signals
        os.kill(seq.snapshot_child.pid, signal.SIGINT)
        os.kill(seq.snapshot_child.pid, signal.SIGTERM)
        await asyncio.sleep(0.2)
        os.write(release_fd, b"g")
        assert await asyncio.wait_for(snapshot, timeout=60) == len(setup_commands())
        await seq.stop()

    asyncio.run(main())


@needs_fork
@pytest.mark.parametrize("how", ["fails", "killed"])
def test_a_failed_snapshot_child_fails_only_the_snapshot(db: Path, held_snapshot_child: int,
                                                         how: str) -> None:
    release_fd = held_snapshot_child

    async def main() -> None:
        seq, snapshot = await start_held_snapshot(db)
        if how == "fails":
            os.write(release_fd, b"f")
        else:
            assert seq.snapshot_child is not None
            os.kill(seq.snapshot_child.pid, signal.SIGKILL)
        with pytest.raises(SnapshotFailed):
            await asyncio.wait_for(snapshot, timeout=60)
        assert seq.engine.snapshot_seq == 0
        result = await seq.submit(place("alice", 0, 200, 100))  # the sequencer goes on
        assert isinstance(result, PlaceExecutionReport) and result.status == "SUCCESS"
        await seq.stop()

    asyncio.run(main())
    again = open_engine(db)
    assert again.snapshot_seq == 0  # no snapshot stored; the journal has everything
    assert again.seq == len(setup_commands()) + 1
    again.close()


def test_sequencer_timer_advances_time_without_commands(db: Path) -> None:
    async def main() -> None:
        seq = Sequencer(Engine(SqliteJournal(db)))  # the wall clock: the delay is real (1 s)
        events: list[Event] = []
        seq.add_listener(events.extend)
        await seq.start()
        await asyncio.gather(*(seq.submit(c) for c in setup_commands()))
        await seq.submit(TurnInPlay(market_id=MARKET, bet_delay_s=1))
        result = await seq.submit(place("alice", 0, 200, 100))
        assert isinstance(result, PlaceExecutionReport) and result.delayed_token is not None
        deadline = time.monotonic() + 5
        while not any(isinstance(ev, PlacementCompleted) for ev in events):
            assert time.monotonic() < deadline, "the timer never released the delayed placement"
            await asyncio.sleep(0.02)
        await seq.stop()

    asyncio.run(main())
    assert isinstance(decode_command(journal_entries(db)[-1].cmd), AdvanceTime)
