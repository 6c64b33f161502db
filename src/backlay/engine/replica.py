"""A replica: the exchange as of a seq, advanced by the batches a live engine commits.

The engine's process frames every durable batch as the journal holds it (`frame`: first seq, time,
command bytes) and sends it to each replica over a stream socket; `Replica.feed` applies each whole
frame with engine/apply.py, the same path as recovery. The core is deterministic, so a replica's state
after seq S is the engine's after seq S. A replica recovers first (Engine.recover(live=True)) while the
feed is already running, so it skips by seq what it read from the journal; a gap is an error.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import msgspec

from backlay.core.exchange import Exchange
from backlay.engine.apply import apply_batch
from backlay.engine.engine import Batch

_LEN = struct.Struct(">I")


def frame(batch: Batch) -> bytes:
    """A durable batch as a replica is fed it: a length, then msgpack (first_seq, ts_ms, datas)."""
    body = msgspec.msgpack.encode((batch.first_seq, batch.ts_ms, batch.datas))
    return _LEN.pack(len(body)) + body


class Replica:
    """The exchange as of `seq`, advanced by the feed's batches."""

    def __init__(self, exchange: Exchange, seq: int, on_events: Callable[[list[Any]], None] | None = None) -> None:
        self.exchange = exchange
        self.seq = seq
        self.on_events = on_events  # given every chunk's events (a stream worker's hub)
        self._buffer = b""
        self._decoder = msgspec.msgpack.Decoder(tuple[int, int, list[bytes]])

    def feed(self, data: bytes) -> None:
        """Apply every whole frame in what has arrived; hand their events on at once."""
        buf = self._buffer + data if self._buffer else data
        offset, events = 0, []
        while len(buf) - offset >= _LEN.size:
            (length,) = _LEN.unpack_from(buf, offset)
            end = offset + _LEN.size + length
            if end > len(buf):
                break
            first_seq, ts_ms, datas = self._decoder.decode(buf[offset + _LEN.size : end])
            offset = end
            if first_seq + len(datas) - 1 <= self.seq:
                continue  # read from the journal already
            for _result, evs in apply_batch(self.exchange, self.seq, first_seq, ts_ms, datas):
                events.extend(evs)
            self.seq = first_seq + len(datas) - 1
        self._buffer = buf[offset:]
        if events and self.on_events is not None:
            self.on_events(events)
