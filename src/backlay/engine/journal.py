"""The journal interface: an append-only log of stamped commands plus state snapshots.

The sequencer is the only writer. A backend must make `append_batch` durable before it returns
(group commit: one durable write per batch) and keep seqs contiguous, so that replaying the latest
snapshot plus every entry after it rebuilds the exact state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple, Protocol


class JournalEntry(NamedTuple):
    seq: int
    ts_ms: int
    cmd: bytes  # codec.encode_command


class JournalCorrupt(Exception):
    """The stored log breaks an invariant (gap in seqs, snapshot beyond the log end, bad snapshot)."""


class Journal(Protocol):
    def append_batch(self, entries: Sequence[tuple[int, int, bytes]]) -> None:
        """Append (seq, ts_ms, cmd) entries atomically; durable when it returns. The first seq must be
        last_seq() + 1 and the seqs contiguous, else ValueError and nothing is written."""
        ...

    def read_from(self, seq_exclusive: int) -> Iterator[JournalEntry]:
        """Entries with seq > seq_exclusive, in seq order."""
        ...

    def last_seq(self) -> int:
        """The highest stored seq, 0 when empty."""
        ...

    def save_snapshot(self, seq: int, blob: bytes) -> None:
        """Store a snapshot of the state after entry `seq` (durable when it returns)."""
        ...

    def latest_snapshot(self) -> tuple[int, bytes] | None: ...

    def close(self) -> None: ...


def check_contiguous(entries: Sequence[tuple[int, int, bytes]], last_seq: int) -> None:
    """Raise ValueError unless the entries' seqs are last_seq+1, last_seq+2, ... (an explicit check,
    not `assert`: it must hold under python -O too)."""
    expected = last_seq + 1
    for seq, _ts_ms, _cmd in entries:
        if seq != expected:
            raise ValueError(f"journal seq {seq} out of order: expected {expected}")
        expected += 1
