"""Snapshots taken in a forked child, and the invariant check that runs there.

On Linux the engine forks a child between two batches: the child gets a copy-on-write image of the
state at that seq, checks the core's invariants on it (`Exchange.check_invariants`, at no cost to the
writer, which goes on with the next batch), pickles it into an unnamed spool file and exits. A
violated invariant fails that snapshot: the child writes what failed into the spool and exits with
INVARIANT_EXIT, and the parent logs it at CRITICAL with the seq. Elsewhere the same check and pickling
run in a worker thread while the sequencer waits.

The child may count the heap's cyclic garbage afterwards, for the sequencer's sweep (sweep_garbage).
"""

from __future__ import annotations

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
from typing import IO

from backlay.core.exchange import Exchange
from backlay.engine import codec

log = logging.getLogger(__name__)

# Snapshots are pickled in a forked child where fork is safe to use with threads around (Linux): the
# child gets a copy-on-write image of the state and the sequencer goes on while it pickles.
CHILD_SNAPSHOTS = sys.platform == "linux" and hasattr(os, "fork")
INVARIANT_EXIT = 3  # the child's exit code when the state it was given breaks an invariant
MAX_VIOLATION_BYTES = 64 * 1024  # what the child reports of a violation (the spool holds the text)

# The spool after the snapshot: its length, then the cyclic garbage the child counted (-1: not counted).
_TRAILER = struct.Struct(">qq")
GARBAGE_COUNT_TIMEOUT_S = 60  # a count that takes longer is abandoned (the snapshot is kept)


class SnapshotFailed(RuntimeError):
    """A snapshot child did not produce a snapshot (it failed, or was killed). The journal is intact."""


class InvariantViolated(SnapshotFailed):
    """The state at `seq` breaks an invariant of the core: that snapshot is not stored."""

    def __init__(self, seq: int, detail: str) -> None:
        super().__init__(f"invariant violated at seq {seq}: {detail}")
        self.seq = seq
        self.detail = detail


def check_state(exchange: Exchange, seq: int) -> None:
    """Raise InvariantViolated if the state breaks any invariant (any exception from the check counts:
    a broken state may fail it with a KeyError as well as an assertion)."""
    try:
        exchange.check_invariants()
    except Exception as exc:
        raise InvariantViolated(seq, f"{type(exc).__name__}: {exc}") from exc


def report_violation(exc: InvariantViolated) -> None:
    """Loudly: a violated invariant is a bug of the core that every later state may carry."""
    log.critical("INVARIANT VIOLATED at seq %d: %s; the snapshot is not stored, the journal is intact",
                 exc.seq, exc.detail)


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
        if code == INVARIANT_EXIT:
            violation = InvariantViolated(self.seq, data[:MAX_VIOLATION_BYTES].decode("utf-8", "replace"))
            report_violation(violation)
            raise violation
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


def fork_child(exchange: Exchange, seq: int, last_ts_ms: int, spool_dir: str | None,
               count_garbage: bool) -> ChildSnapshot:
    """Fork a child that checks and encodes the state as it is now (between batches only); the parent
    returns at once."""
    spool = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - ChildSnapshot.collect closes it
    parent_pid = os.getpid()
    try:
        pid = os.fork()
    except BaseException:
        spool.close()
        raise
    if pid == 0:  # the child: never returns into the parent's code
        _run_child(exchange, seq, last_ts_ms, spool.fileno(), parent_pid, count_garbage)
    return ChildSnapshot(seq, pid, spool)


def _run_child(exchange: Exchange, seq: int, last_ts_ms: int, fd: int, parent_pid: int,
               count_garbage: bool) -> None:
    code = 1
    try:
        _child_signals()
        _die_with_parent(parent_pid)
        _close_inherited_fds(fd)
        try:
            length = _child_write_snapshot(exchange, seq, last_ts_ms, fd)
        except InvariantViolated as exc:
            _write_all(fd, exc.detail.encode()[:MAX_VIOLATION_BYTES])
            code = INVARIANT_EXIT
            return
        code = 0
        if count_garbage:
            _child_count_garbage(fd, length)
    except BaseException as exc:
        os.write(2, f"backlay: snapshot child failed: {exc!r}\n".encode())
    finally:
        os._exit(code)


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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _child_write_snapshot(exchange: Exchange, seq: int, last_ts_ms: int, fd: int) -> int:
    """In the forked child: check the state's invariants, encode it and write it to `fd`; returns the
    snapshot's length. Nothing else of the parent's (its event loop, journal connection, threads) is
    touched; the caller _exits."""
    gc.disable()  # a collection would touch, and so copy, every page of the shared heap
    check_state(exchange, seq)
    blob = codec.encode_snapshot(exchange, seq, last_ts_ms)
    _write_all(fd, blob)
    _write_all(fd, _TRAILER.pack(len(blob), -1))
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
