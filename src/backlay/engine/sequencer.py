"""The sequencer: the asyncio shell around the Engine, the single writer.

Many concurrent `submit`s, one task draining the queue, group commit: the task takes everything queued
(up to `max_batch`), stamps it, writes it in a worker thread and only then applies it (engine.py),
resolves the callers' futures and calls the listeners with the batch's events. The queue is bounded
(`max_pending`): a submit that finds it full raises QueueFull at once, before anything is stamped or
journaled, and each shell answers that as its documented "busy" error.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import logging
from collections.abc import Callable
from typing import NamedTuple

from backlay.core.commands import Command
from backlay.core.events import Event
from backlay.core.reports import Result
from backlay.engine import codec
from backlay.engine.engine import Batch, Engine, EngineFailed, wall_clock_ms
from backlay.engine.snapshots import CHILD_SNAPSHOTS, ChildSnapshot, SnapshotFailed, sweep_garbage

log = logging.getLogger(__name__)

Listener = Callable[[list[Event]], None]
BatchListener = Callable[[Batch], None]

DEFAULT_MAX_BATCH = 4096
# Commands waiting for a batch: about two and a half full batches, so a queued caller waits a few
# batch writes at most; beyond it a caller is told at once (QueueFull) rather than left waiting.
DEFAULT_MAX_PENDING = 10_000
DEFAULT_SWEEP_GARBAGE_MIN = 10_000  # objects of trapped cyclic garbage worth a full collection


class QueueFull(RuntimeError):
    """The sequencer's queue holds `max_pending` commands: this one was refused at once, before it was
    stamped or journaled, so nothing of it exists anywhere. The caller may retry."""


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
    forked child pickles the state and the task goes on with the next batch meanwhile. At most
    `max_pending` commands wait for a batch; a `submit` beyond that raises QueueFull.
    """

    def __init__(
        self,
        engine: Engine,
        clock_ms: Callable[[], int] = wall_clock_ms,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_pending: int = DEFAULT_MAX_PENDING,
        snapshot_every: int | None = None,
        child_snapshots: bool = CHILD_SNAPSHOTS,
        spool_dir: str | None = None,
        freeze_at_snapshots: bool = False,
        sweep_garbage_min: int = DEFAULT_SWEEP_GARBAGE_MIN,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self.engine = engine
        self._clock_ms = clock_ms
        self._max_batch = max_batch
        self.max_pending = max_pending  # commands waiting for a batch (not those in the batch being written)
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

    @property
    def pending(self) -> int:
        """Commands queued and not yet taken into a batch."""
        return len(self._pending)

    async def submit(self, cmd: Command, *, bounded: bool = True) -> Result:
        """Queue a command; returns its result once it is journaled (fsynced) and applied. Raises
        codec.InvalidCommand at once for a command that could not be journaled and replayed, and
        QueueFull at once when `max_pending` commands are waiting. `bounded=False` skips that limit:
        for the second and later commands of one request whose first was admitted, so that a request
        is never left half done (the admin API's)."""
        self._check_accepting()
        if bounded and len(self._pending) >= self.max_pending:
            raise QueueFull(f"{len(self._pending)} commands are waiting (max_pending {self.max_pending})")
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
