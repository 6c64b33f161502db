"""The engine: stamping, journaling and applying commands, and recovery.

`Engine` stamps commands with a seq and a time, appends each batch to the journal (one durable write
per batch: group commit), applies it to the Exchange (engine/apply.py, the one replay path) and rebuilds
the Exchange on restart from the latest snapshot plus the journal after it. The asyncio shell around it
is engine/sequencer.py.

Invariant (checked): a batch is applied only after it is durable, and batches are written and applied
in seq order, so the journal always holds at least everything that was applied or reported.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from backlay.core.commands import AdvanceTime, Command
from backlay.core.events import Event
from backlay.core.exchange import Exchange
from backlay.engine import codec, snapshots
from backlay.engine.apply import ApplyFailed, Outcome, apply_batch
from backlay.engine.journal import Journal, JournalCorrupt

log = logging.getLogger(__name__)

__all__ = ["Batch", "Engine", "EngineFailed", "Outcome", "wall_clock_ms"]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class EngineFailed(RuntimeError):
    """The engine stopped accepting commands: a journal write or a core apply raised. The durable
    journal is intact; restart and recover to continue."""


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
            try:
                apply_batch(exchange, seq, entry.seq, entry.ts_ms, (entry.cmd,))
            except ApplyFailed as exc:
                raise EngineFailed(f"replay of {exc.what}") from exc
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
        try:
            outcomes = apply_batch(self.exchange, self.applied_seq, first, batch.ts_ms, batch.cmds)
        except ApplyFailed as exc:
            # The core must not raise on any command; if it does its state may be half-changed,
            # so stop here. The command is journaled: recovery will hit it too until the core is fixed.
            self.applied_seq = exc.seq - 1
            self.failed = exc
            raise EngineFailed(str(exc)) from exc
        except BaseException as exc:  # interrupted: where exactly is unknown, so stop
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
        """The current state as (seq, blob), its invariants checked first (InvariantViolated). Only
        between batches: everything stamped is applied."""
        self._check_between_batches()
        try:
            snapshots.check_state(self.exchange, self.seq)
        except snapshots.InvariantViolated as exc:
            snapshots.report_violation(exc)
            raise
        return self.seq, codec.encode_snapshot(self.exchange, self.seq, self.last_ts_ms)

    def fork_snapshot(self, spool_dir: str | None = None, count_garbage: bool = False) -> snapshots.ChildSnapshot:
        """Start checking and encoding the current state in a forked child (between batches only, as
        for `encode_snapshot`); store the blob its `collect()` returns with `save_snapshot`. With
        `count_garbage` the child then counts the heap's cyclic garbage (`ChildSnapshot.garbage`)."""
        self._check_between_batches()
        return snapshots.fork_child(self.exchange, self.seq, self.last_ts_ms, spool_dir, count_garbage)

    def _check_between_batches(self) -> None:
        self._check_usable()
        if self.applied_seq != self.seq:
            raise RuntimeError(
                f"snapshot with a batch in flight (stamped {self.seq}, applied {self.applied_seq})"
            )

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


