"""The single writer: every command goes through here, is journaled durably, then applied.

`Engine` is the synchronous core: it stamps commands with a seq and a time, appends each batch to the
journal (one durable write per batch: group commit), applies it to the Exchange and rebuilds the
Exchange on restart from the latest snapshot plus the journal after it. `Sequencer` is the asyncio
shell: it queues submissions, writes each batch in a worker thread and resolves the callers' futures
only once their batch is durable.

Invariant (checked): a batch is applied only after it is durable, and batches are written and applied
in seq order, so the journal always holds at least everything that was applied or reported.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import gc
import logging
import os
import signal
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import IO, NamedTuple

from backlay.core.commands import AdvanceTime, Command
from backlay.core.events import Event
from backlay.core.exchange import Exchange
from backlay.core.reports import Result
from backlay.store import codec
from backlay.store.journal import Journal, JournalCorrupt

log = logging.getLogger(__name__)

Outcome = tuple[Result, list[Event]]
Listener = Callable[[list[Event]], None]
BatchListener = Callable[["Batch"], None]

DEFAULT_MAX_BATCH = 4096
DEFAULT_SWEEP_GARBAGE_MIN = 10_000  # objects of trapped cyclic garbage worth a full collection
# Snapshots are pickled in a forked child where fork is safe to use with threads around (Linux): the
# child gets a copy-on-write image of the state and the sequencer goes on while it pickles.
CHILD_SNAPSHOTS = sys.platform == "linux" and hasattr(os, "fork")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class EngineFailed(RuntimeError):
    """The engine stopped accepting commands: a journal write or a core apply raised. The durable
    journal is intact; restart and recover to continue."""


class SnapshotFailed(RuntimeError):
    """A snapshot child did not produce a snapshot (it failed, or was killed). The journal is intact."""


# The spool after the snapshot: its length, then the cyclic garbage the child counted (-1: not counted).
_TRAILER = struct.Struct(">qq")
GARBAGE_COUNT_TIMEOUT_S = 60  # a count that takes longer is abandoned (the snapshot is kept)


class ChildSnapshot:
    """A snapshot being encoded by a forked child into an unnamed spool file. The parent never waits for
    the pickling: `collect` (blocking: run it in a worker thread) reaps the child and returns the blob."""

    def __init__(self, seq: int, pid: int, spool: IO[bytes]) -> None:
        self.seq = seq
        self.pid = pid
        self._spool = spool
        # Objects of cyclic garbage the child found among the frozen objects of the heap as it was at
        # the fork (see _count_unreachable); None when not counted.
        self.garbage: int | None = None

    def collect(self) -> bytes:
        try:
            _pid, status = os.waitpid(self.pid, 0)
            self._spool.seek(0)
            data = self._spool.read()
        finally:
            self._spool.close()
        code = os.waitstatus_to_exitcode(status)
        length, garbage = _TRAILER.unpack_from(data, len(data) - _TRAILER.size) if len(data) >= _TRAILER.size \
            else (-1, -1)
        complete = length == len(data) - _TRAILER.size
        # Killed by its alarm while counting, the child has written the whole snapshot already.
        if not complete or code not in (0, -signal.SIGALRM):
            raise SnapshotFailed(f"snapshot child {self.pid} for seq {self.seq} exited with {code}"
                                 f"{'' if complete else ', its snapshot incomplete'}")
        if code != 0:
            log.warning("snapshot child %d: the count of cyclic garbage took over %d s; abandoned",
                        self.pid, GARBAGE_COUNT_TIMEOUT_S)
        self.garbage = garbage if code == 0 and garbage >= 0 else None
        return data[:length]


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this child if the parent dies first (prctl PR_SET_PDEATHSIG): an orphan
    would pickle on for seconds beside a restarted server, for a snapshot nobody stores."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before the prctl
        os._exit(1)


def _close_inherited_fds(*keep: int) -> None:
    """Close every descriptor the child inherited but stdio and `keep`: while the child held a copy of
    a socket, the parent's close of it would not reach the peer (no FIN) until the child exited."""
    low = 3
    for fd in sorted(set(keep)):
        os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _child_signals() -> None:
    """First thing in the forked child: signals are no longer the parent's business here."""
    signal.set_wakeup_fd(-1)  # a signal here must not wake the parent's event loop
    # A Ctrl-C reaches the whole process group, a service stop often the whole cgroup: stopping is the
    # parent's to handle (it waits for this snapshot), and should the parent die, so does the child.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _child_write_snapshot(engine: Engine, fd: int) -> int:
    """In the forked child: encode the state and write it to `fd`; returns the snapshot's length.
    Nothing else of the parent's (its event loop, journal connection, threads) is touched; the caller
    _exits."""
    gc.disable()  # a collection would touch, and so copy, every page of the shared heap
    blob = codec.encode_snapshot(engine.exchange, engine.seq, engine.last_ts_ms)
    for data in (blob, _TRAILER.pack(len(blob), -1)):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    return len(blob)


def _child_count_garbage(fd: int, length: int) -> None:
    """In the forked child, after the snapshot: count the cyclic garbage among the frozen objects of the
    heap as it was at the fork (`_count_unreachable`) and write the count into the trailer. The child
    holds no descriptor of the parent's any more, so whatever finalizers do here reaches nothing
    outside it; what they print is dropped. An alarm ends a count that hangs (a finalizer waiting for a
    lock some other thread of the parent held at the fork)."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(GARBAGE_COUNT_TIMEOUT_S)
    os.pwrite(fd, _TRAILER.pack(length, _count_unreachable()), length)


def _count_unreachable() -> int:
    """The cyclic garbage among frozen objects: what the parent's own collections cannot reach. A first
    collection takes what they can (the unfrozen generations), so that it is not counted."""
    gc.collect()
    gc.unfreeze()
    return gc.collect()


def sweep_garbage(counted: int) -> int:
    """A full collection of the whole heap, frozen objects included, then everything alive frozen again:
    frees the cyclic garbage that freezes trapped (`counted` is what a snapshot child found). One pause
    as long as a full collection; returns the objects collected."""
    t0 = time.perf_counter()
    gc.unfreeze()
    collected = gc.collect()
    gc.freeze()
    log.info("swept the frozen heap: %d unreachable objects (a snapshot child counted %d) in %.0f ms",
             collected, counted, (time.perf_counter() - t0) * 1000)
    return collected


class Batch(NamedTuple):
    """Stamped commands: seqs first_seq, first_seq + 1, ..., all at ts_ms. Parallel lists rather than
    an object per entry, which cost more than a cheap command's journaling."""

    first_seq: int
    ts_ms: int
    cmds: list[Command]  # decoded from `datas`: exactly what a replay applies
    datas: list[bytes]  # what the journal stores
    n_system: int  # leading entries the engine added itself (an AdvanceTime), not submitted by a caller

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.cmds) - 1


class Engine:
    """Owns the Exchange, the Journal and the seq counter. Not thread-safe: one caller at a time,
    except that `write` only touches the journal and may run in a worker thread."""

    def __init__(self, journal: Journal, exchange_factory: Callable[[], Exchange] = Exchange) -> None:
        self.journal = journal
        self._exchange_factory = exchange_factory
        self.exchange = exchange_factory()
        self.seq = 0  # last stamped seq
        self.written_seq = 0  # last durable seq
        self.applied_seq = 0  # last seq applied to self.exchange
        self.last_ts_ms = 0
        self.snapshot_seq = 0  # seq of the latest snapshot written or loaded (0: none)
        self.recovered = False
        self.failed: BaseException | None = None
        self._last_advance_ts_ms = -1

    # --- recovery ----------------------------------------------------------------------------------

    def recover(self, use_snapshot: bool = True, live: bool = False) -> None:
        """Rebuild the state: the latest snapshot (if any, and usable) plus every journal entry after
        it. An unusable snapshot falls back to replaying the whole journal, which is never pruned.
        `live`: another process may be appending while this reads (a replica: see stream/workers.py);
        the state is then that of wherever reading ended, still a whole number of batches."""
        if self.recovered:
            raise RuntimeError("recover() may run only once per Engine")
        exchange, seq, last_ts_ms = self._exchange_factory(), 0, 0
        snap = self.journal.latest_snapshot() if use_snapshot else None
        if snap is not None:
            snap_seq, blob = snap
            try:
                loaded = codec.decode_snapshot(blob)
            except codec.SnapshotError as exc:
                log.warning("ignoring snapshot at seq %d (%s); replaying the whole journal", snap_seq, exc)
            else:
                if loaded.seq != snap_seq:
                    raise JournalCorrupt(f"snapshot stored at seq {snap_seq} says seq {loaded.seq}")
                exchange, seq, last_ts_ms = loaded.exchange, loaded.seq, loaded.last_ts_ms
                self.snapshot_seq = seq
        for entry in self.journal.read_from(seq):
            if entry.seq != seq + 1:
                raise JournalCorrupt(f"journal gap: seq {entry.seq} follows {seq}")
            cmd = codec.decode_command(entry.cmd)
            try:
                exchange.apply(cmd, entry.ts_ms)
            except Exception as exc:
                raise EngineFailed(
                    f"replay of seq {entry.seq} ({type(cmd).__name__}) raised {exc!r}"
                ) from exc
            seq = entry.seq
            last_ts_ms = max(last_ts_ms, entry.ts_ms)
        if not live and seq != self.journal.last_seq():
            raise JournalCorrupt(f"replay ended at seq {seq}, journal ends at {self.journal.last_seq()}")
        self.exchange = exchange
        self.seq = self.written_seq = self.applied_seq = seq
        self.last_ts_ms = last_ts_ms
        self.recovered = True

    # --- the write path: prepare -> write -> apply -------------------------------------------------

    def due_in_ms(self, now_ms: int) -> int | None:
        """Milliseconds until `prepare` would add an AdvanceTime (0: now), None if nothing is due."""
        due_ms = self.exchange.next_due_ms()
        if due_ms is None:
            return None
        ts_ms = max(now_ms, self.last_ts_ms)
        if due_ms <= ts_ms and ts_ms <= self._last_advance_ts_ms:
            # Already advanced at this ms and the core still reports it due: retry at a later ms
            # (with the next batch) rather than spin on AdvanceTime commands.
            return None
        return max(due_ms - ts_ms, 0)

    def prepare(self, cmds: Sequence[Command], now_ms: int) -> Batch:
        """Stamp a batch: seqs continue the journal, every entry gets ts_ms = max(now_ms, last ts) so
        time never goes backwards, and an AdvanceTime goes first when the core has something due.
        Raises codec.InvalidCommand, changing nothing, if any command cannot be journaled."""
        self._check_usable()
        cmds_canonical, datas = codec.canonical_batch(cmds)
        return self.prepare_canonical(cmds_canonical, datas, now_ms)

    def prepare_canonical(self, cmds: list[Command], datas: list[bytes], now_ms: int) -> Batch:
        """`prepare` for commands already passed through codec.canonical, with their bytes (the
        Sequencer does that in `submit`, so that one bad command fails its caller and not the whole
        batch). The batch takes over both lists."""
        self._check_usable()
        ts_ms = max(now_ms, self.last_ts_ms)
        n_system = 0
        if self.due_in_ms(now_ms) == 0:
            cmd, data = codec.canonical(AdvanceTime())
            cmds.insert(0, cmd)
            datas.insert(0, data)
            n_system = 1
            self._last_advance_ts_ms = ts_ms
        first_seq = self.seq + 1
        self.seq += len(cmds)
        self.last_ts_ms = ts_ms
        return Batch(first_seq, ts_ms, cmds, datas, n_system)

    def write(self, batch: Batch) -> None:
        """Append the batch to the journal; durable when it returns. Touches only the journal."""
        self._check_usable()
        if not batch.cmds:
            return
        if batch.first_seq != self.written_seq + 1:
            raise RuntimeError(f"batch starts at seq {batch.first_seq}, expected {self.written_seq + 1}")
        first, ts_ms = batch.first_seq, batch.ts_ms
        try:
            self.journal.append_batch([(first + i, ts_ms, data) for i, data in enumerate(batch.datas)])
        except BaseException as exc:
            # Whether any of it reached the disk is unknown: stop, and let recovery read what did.
            self.failed = exc
            raise
        self.written_seq = batch.last_seq

    def apply(self, batch: Batch) -> list[Outcome]:
        """Apply a durable batch in order; one (result, events) per entry."""
        self._check_usable()
        if not batch.cmds:
            return []
        first, last = batch.first_seq, batch.last_seq
        if first != self.applied_seq + 1 or last > self.written_seq:
            raise RuntimeError(
                f"batch {first}..{last} is not the next durable batch "
                f"(applied {self.applied_seq}, durable {self.written_seq})"
            )
        outcomes: list[Outcome] = []
        append, apply, ts_ms = outcomes.append, self.exchange.apply, batch.ts_ms
        try:
            for cmd in batch.cmds:
                append(apply(cmd, ts_ms))
        except Exception as exc:
            # The core must not raise on any command; if it does its state may be half-changed,
            # so stop here. The command is journaled: recovery will hit it too until the core is fixed.
            seq = first + len(outcomes)
            self.applied_seq = seq - 1
            self.failed = exc
            raise EngineFailed(
                f"apply of seq {seq} ({type(batch.cmds[len(outcomes)]).__name__}) raised {exc!r}"
            ) from exc
        except BaseException as exc:
            self.applied_seq = first + len(outcomes) - 1
            self.failed = exc
            raise
        self.applied_seq = last
        return outcomes

    def submit_batch(self, cmds: Sequence[Command], now_ms: int) -> list[Outcome]:
        """Journal (one durable append) then apply `cmds`; returns one (result, events) per command.
        Events of an AdvanceTime the engine added go in front of the first command's events, so the
        concatenated event lists are all the batch's events in order. With no commands, see `tick`."""
        if not cmds:
            raise ValueError("empty batch: use tick() to advance time")
        batch = self.prepare(cmds, now_ms)
        self.write(batch)
        outcomes = self.apply(batch)
        if batch.n_system:
            system_events = [ev for _result, events in outcomes[: batch.n_system] for ev in events]
            first_result, first_events = outcomes[batch.n_system]
            outcomes[batch.n_system] = (first_result, system_events + first_events)
        return outcomes[batch.n_system :]

    def tick(self, now_ms: int) -> list[Event]:
        """Journal and apply an AdvanceTime if the core has something due by now_ms; its events."""
        batch = self.prepare([], now_ms)
        self.write(batch)
        return [ev for _result, events in self.apply(batch) for ev in events]

    # --- snapshots -------------------------------------------------------------------------------

    def encode_snapshot(self) -> tuple[int, bytes]:
        """The current state as (seq, blob). Only between batches: everything stamped is applied."""
        self._check_usable()
        if self.applied_seq != self.seq:
            raise RuntimeError(
                f"snapshot with a batch in flight (stamped {self.seq}, applied {self.applied_seq})"
            )
        return self.seq, codec.encode_snapshot(self.exchange, self.seq, self.last_ts_ms)

    def fork_snapshot(self, spool_dir: str | None = None, count_garbage: bool = False) -> ChildSnapshot:
        """Start encoding the current state in a forked child (between batches only, as for
        `encode_snapshot`); store the blob its `collect()` returns with `save_snapshot`. With
        `count_garbage` the child then counts the heap's cyclic garbage (`ChildSnapshot.garbage`)."""
        self._check_usable()
        if self.applied_seq != self.seq:
            raise RuntimeError(
                f"snapshot with a batch in flight (stamped {self.seq}, applied {self.applied_seq})"
            )
        spool = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - ChildSnapshot.collect closes it
        parent_pid = os.getpid()
        try:
            pid = os.fork()
        except BaseException:
            spool.close()
            raise
        if pid == 0:  # the child: never returns into the parent's code
            code = 1
            try:
                _child_signals()
                _die_with_parent(parent_pid)
                _close_inherited_fds(spool.fileno())
                length = _child_write_snapshot(self, spool.fileno())
                code = 0
                if count_garbage:
                    _child_count_garbage(spool.fileno(), length)
            except BaseException as exc:
                os.write(2, f"backlay: snapshot child failed: {exc!r}\n".encode())
            finally:
                os._exit(code)
        return ChildSnapshot(self.seq, pid, spool)

    def save_snapshot(self, seq: int, blob: bytes) -> None:
        """Store an `encode_snapshot` result; touches only the journal (may run in a worker thread)."""
        self.journal.save_snapshot(seq, blob)
        self.snapshot_seq = max(self.snapshot_seq, seq)

    def snapshot(self) -> int:
        """Write a snapshot at the current seq; returns that seq."""
        seq, blob = self.encode_snapshot()
        self.save_snapshot(seq, blob)
        return seq

    def close(self) -> None:
        self.journal.close()

    def _check_usable(self) -> None:
        if not self.recovered:
            raise RuntimeError("Engine.recover() must run before commands are accepted")
        if self.failed is not None:
            raise EngineFailed(f"engine stopped after {self.failed!r}") from self.failed


class _Item(NamedTuple):
    cmd: Command  # canonical (see codec.canonical)
    data: bytes
    fut: asyncio.Future[Result]


class Sequencer:
    """asyncio shell around an Engine: many concurrent `submit`s, one writer task, group commit.

    The task takes everything queued (up to `max_batch`), stamps it with `clock_ms()`, writes it in a
    worker thread and only then applies it, resolves the futures and calls the listeners with the
    batch's events. Commands queued meanwhile form the next batch, so the batch size grows with load
    and each fsync is shared by all of them. A timer wakes the task when the core has something due
    (`Exchange.next_due_ms`) even if no command arrives. Snapshots (asked for, or every
    `snapshot_every` commands) are taken between two batches, one at a time; with `child_snapshots` a
    forked child pickles the state and the task goes on with the next batch meanwhile.
    """

    def __init__(
        self,
        engine: Engine,
        clock_ms: Callable[[], int] = wall_clock_ms,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        snapshot_every: int | None = None,
        child_snapshots: bool = CHILD_SNAPSHOTS,
        spool_dir: str | None = None,
        freeze_at_snapshots: bool = False,
        sweep_garbage_min: int = DEFAULT_SWEEP_GARBAGE_MIN,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.engine = engine
        self._clock_ms = clock_ms
        self._max_batch = max_batch
        self._snapshot_every = snapshot_every  # commands between automatic snapshots; None: never
        self._child_snapshots = child_snapshots  # pickle in a forked child rather than in this process
        self._spool_dir = spool_dir  # where a child writes its snapshot before this process stores it
        # With child snapshots: freeze the heap at each one (the collector's full passes then walk only
        # what is newer), and sweep when the child finds that much cyclic garbage the freezes trapped.
        self._freeze = freeze_at_snapshots and child_snapshots
        self._sweep_garbage_min = sweep_garbage_min
        self._snapshot_task: asyncio.Task[None] | None = None  # a child's snapshot being collected
        self.snapshot_child: ChildSnapshot | None = None  # the child pickling a snapshot now, if any
        self._listeners: list[Listener] = []
        self._batch_listeners: list[BatchListener] = []
        # A deque plus a wake-up event rather than an asyncio.Queue: the writer drains in bulk and
        # waits with a timeout for the due timer without cancelling a pending get.
        self._pending: collections.deque[_Item] = collections.deque()
        self._snapshot_waiters: list[asyncio.Future[int]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._closed = False

    def add_listener(self, fn: Listener) -> None:
        """`fn(events)` is called on the event loop once per batch, after the batch is durable."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        self._listeners.remove(fn)

    def add_batch_listener(self, fn: BatchListener) -> None:
        """`fn(batch)` is called on the event loop with every durable, applied batch (its stamped
        commands as the journal holds them), before the event listeners: what a replica applies."""
        self._batch_listeners.append(fn)

    def remove_batch_listener(self, fn: BatchListener) -> None:
        self._batch_listeners.remove(fn)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("Sequencer already started")
        if not self.engine.recovered:
            await asyncio.to_thread(self.engine.recover)
        self._task = asyncio.create_task(self._run(), name="backlay-sequencer")

    async def submit(self, cmd: Command) -> Result:
        """Queue a command; returns its result once it is journaled (fsynced) and applied. Raises
        codec.InvalidCommand at once for a command that could not be journaled and replayed."""
        self._check_accepting()
        canonical_cmd, data = codec.canonical(cmd)
        fut: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append(_Item(canonical_cmd, data, fut))
        self._wake.set()
        return await fut

    async def snapshot(self) -> int:
        """Write a snapshot between two batches; returns its seq."""
        self._check_accepting()
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._snapshot_waiters.append(fut)
        self._wake.set()
        return await fut

    async def stop(self) -> None:
        """Stop accepting, finish everything already queued, close the journal."""
        self._stopping = True
        self._wake.set()
        try:
            if self._task is not None:
                await asyncio.shield(self._task)
        finally:
            if not self._closed:
                self._closed = True
                await asyncio.to_thread(self.engine.close)

    def _check_accepting(self) -> None:
        if self._task is None:
            raise RuntimeError("Sequencer not started")
        if self._stopping or self._task.done():
            raise RuntimeError("Sequencer stopped")

    # --- the writer task -------------------------------------------------------------------------

    def _snapshot_wanted(self) -> bool:
        """A snapshot is asked for or due, and none is being taken."""
        if self._snapshot_task is not None:
            return False
        return bool(self._snapshot_waiters) or (
            self._snapshot_every is not None
            and self.engine.seq - self.engine.snapshot_seq >= self._snapshot_every
        )

    async def _run(self) -> None:
        try:
            while True:
                self._wake.clear()
                if not self._pending and not self._snapshot_wanted():
                    if self._stopping:
                        if self._snapshot_task is None:
                            return
                        await self._snapshot_task  # then look again: another may be due
                        continue
                    due_in_ms = self.engine.due_in_ms(self._clock_ms())
                    if due_in_ms is None:
                        await self._wake.wait()
                        continue
                    if due_in_ms > 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), due_in_ms / 1000)
                        continue
                if self._pending or not self._snapshot_wanted():
                    n = min(len(self._pending), self._max_batch)
                    items = [self._pending.popleft() for _ in range(n)]
                    await self._process(items)
                if self._snapshot_wanted():
                    await self._snapshot()
        except BaseException as exc:
            self._fail_pending(exc)
            raise

    async def _process(self, items: list[_Item]) -> None:
        engine = self.engine
        try:
            batch = engine.prepare_canonical([item.cmd for item in items], [item.data for item in items],
                                             self._clock_ms())
            if not batch.cmds:
                return
            await asyncio.to_thread(engine.write, batch)
            outcomes = engine.apply(batch)
        except BaseException as exc:
            if engine.failed is None:
                # e.g. cancelled while the write was in flight: we no longer know what is durable.
                engine.failed = exc
            self._fail(items, exc)
            raise
        for bfn in self._batch_listeners:
            try:
                bfn(batch)
            except Exception:
                log.exception("sequencer batch listener %r failed", bfn)
        for item, (result, _events) in zip(items, outcomes[batch.n_system :], strict=True):
            if not item.fut.done():  # a caller that gave up (cancelled) still had its command executed
                item.fut.set_result(result)
        events = [ev for _result, evs in outcomes for ev in evs]
        if events:
            for fn in self._listeners:
                try:
                    fn(events)
                except Exception:
                    log.exception("sequencer listener %r failed", fn)

    async def _snapshot(self) -> None:
        """Take a snapshot between two batches: in a forked child, which this task does not wait for
        (it goes on with the next batch), or else in a worker thread, which it waits for."""
        waiters, self._snapshot_waiters = self._snapshot_waiters, []
        if self._child_snapshots:
            try:
                child = self.engine.fork_snapshot(self._spool_dir, count_garbage=self._freeze)
            except OSError:
                log.exception("could not fork a snapshot child; taking the snapshot in this process")
            else:
                if self._freeze:
                    # The young generations first: their garbage is not trapped by the freeze. (The
                    # child does not see this; it counts the heap as it was at the fork.)
                    gc.collect(1)
                    gc.freeze()
                self.snapshot_child = child
                self._snapshot_task = asyncio.create_task(self._collect(child, waiters), name="backlay-snapshot")
                return
        try:
            # Pickling in a worker thread is safe: this task is the only mutator and it waits here;
            # readers on the loop only read.
            seq = await asyncio.to_thread(self.engine.snapshot)
        except Exception as exc:
            self._snapshot_done(waiters, exc)
        else:
            self._snapshot_done(waiters, seq)

    async def _collect(self, child: ChildSnapshot, waiters: list[asyncio.Future[int]]) -> None:
        try:
            blob = await asyncio.to_thread(child.collect)
            await asyncio.to_thread(self.engine.save_snapshot, child.seq, blob)
        except Exception as exc:
            self._snapshot_done(waiters, exc)
        except BaseException as exc:  # cancelled: whether it was stored is unknown to the waiters
            self._snapshot_done(waiters, SnapshotFailed(f"snapshot at seq {child.seq} abandoned: {exc!r}"))
            raise
        else:
            self._snapshot_done(waiters, child.seq)
            if self._freeze and child.garbage is not None and child.garbage >= self._sweep_garbage_min:
                sweep_garbage(child.garbage)  # after the waiters: the snapshot is stored, whatever this costs
        finally:
            self._snapshot_task = self.snapshot_child = None
            self._wake.set()  # the writer task looks again: waiters may have queued, or another be due

    @staticmethod
    def _snapshot_done(waiters: list[asyncio.Future[int]], outcome: int | Exception) -> None:
        if isinstance(outcome, Exception):
            # A failed snapshot costs only recovery time; the journal still has everything.
            log.error("snapshot failed", exc_info=outcome)
        for fut in waiters:
            if fut.done():
                continue
            if isinstance(outcome, Exception):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)

    def _fail(self, items: list[_Item], exc: BaseException) -> None:
        err = exc if isinstance(exc, Exception) else EngineFailed(f"sequencer stopped: {exc!r}")
        for item in items:
            if not item.fut.done():
                item.fut.set_exception(err)

    def _fail_pending(self, exc: BaseException) -> None:
        self._stopping = True
        items = list(self._pending)
        self._pending.clear()
        self._fail(items, exc)
        err = exc if isinstance(exc, Exception) else EngineFailed(f"sequencer stopped: {exc!r}")
        for fut in self._snapshot_waiters:
            if not fut.done():
                fut.set_exception(err)
        self._snapshot_waiters = []
