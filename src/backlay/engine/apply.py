"""The one place where journaled commands meet the core.

`apply_batch` decodes journal entries (where they come as bytes) and applies them to an Exchange in
seq order. Every path that advances a state by the journal uses it: the engine after each durable
write (its commands decoded already by `codec.canonical` from exactly the bytes it journaled),
recovery (the journal read back) and the stream workers' replicas (the batches they are fed).
"""

from __future__ import annotations

from collections.abc import Sequence

from backlay.core.commands import Command
from backlay.core.events import Event
from backlay.core.exchange import Exchange
from backlay.core.reports import Result
from backlay.engine import codec
from backlay.engine.journal import JournalCorrupt

Outcome = tuple[Result, list[Event]]


class ApplyFailed(RuntimeError):
    """The core raised on the command at `seq`: the state may be half-changed by it. `outcomes` are
    those of the entries before it, which were applied whole."""

    def __init__(self, seq: int, cmd: Command, exc: Exception, outcomes: list[Outcome]) -> None:
        self.what = f"seq {seq} ({type(cmd).__name__}) raised {exc!r}"
        super().__init__(f"apply of {self.what}")
        self.seq = seq
        self.outcomes = outcomes


def apply_batch(exchange: Exchange, applied_seq: int, first_seq: int, ts_ms: int,
                entries: Sequence[Command | bytes]) -> list[Outcome]:
    """Apply the entries stamped `first_seq`, `first_seq + 1`, ... at `ts_ms` to `exchange`, whose state
    is that after `applied_seq`; one (result, events) per entry. Raises JournalCorrupt on a gap (nothing
    applied) and ApplyFailed if the core raises."""
    if first_seq != applied_seq + 1:
        raise JournalCorrupt(f"journal gap: seq {first_seq} follows {applied_seq}")
    outcomes: list[Outcome] = []
    append, apply, decode = outcomes.append, exchange.apply, codec.decode_command
    for entry in entries:
        cmd = decode(entry) if isinstance(entry, bytes) else entry
        try:
            append(apply(cmd, ts_ms))
        except Exception as exc:
            raise ApplyFailed(first_seq + len(outcomes), cmd, exc, outcomes) from exc
    return outcomes
