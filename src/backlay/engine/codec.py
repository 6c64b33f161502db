"""Byte formats of the journal: commands as msgpack, snapshots as a small header plus a pickle.

Pickle is acceptable for snapshots: they are written and read only by this process on a local,
trusted file. The header carries a format version and the state's fingerprint, so a snapshot written
by an incompatible core (changed classes or fingerprint) is detected on load rather than trusted.
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from backlay.core.commands import Command
from backlay.core.exchange import Exchange

_ENCODER = msgspec.msgpack.Encoder()
_DECODER: msgspec.msgpack.Decoder[Command] = msgspec.msgpack.Decoder(Command)
_encode = _ENCODER.encode
_decode = _DECODER.decode

SNAPSHOT_MAGIC = b"BLAYSNAP"
SNAPSHOT_FORMAT = 6  # 2: cross-matching (Market.house_bets) and BSP (Runner.bsp_*, sp_*); 3: Order.fragments a tuple;
# 4: Order.voided_ms; 5: the core in stages (Prepared and Delayed in core/state.py, Account.status an enum);
# 6: the fixed-odds book (ExchangeState.fixed_odds, StatementItem.fixed_odds)
# magic, format version, seq, last_ts_ms, fingerprint length (the fingerprint and the pickle follow)
_HEADER = struct.Struct(">8sHqqH")


class SnapshotError(Exception):
    """A snapshot blob that cannot be used (wrong format, truncated, fingerprint mismatch)."""


class Snapshot(NamedTuple):
    seq: int
    last_ts_ms: int
    exchange: Exchange


def encode_command(cmd: Command) -> bytes:
    return _encode(cmd)


def decode_command(data: bytes) -> Command:
    return _decode(data)


class InvalidCommand(ValueError):
    """A command that would not survive the journal: it fails to encode, or to decode back (msgspec
    checks types on decode only, so e.g. a str where an int belongs encodes fine but never replays)."""


def canonical(cmd: Command) -> tuple[Command, bytes]:
    """(decode(encode(cmd)), encode(cmd)): the command exactly as a replay will see it. Applying this
    rather than the caller's object keeps the live state and the replayed state identical."""
    try:
        data = _encode(cmd)
        return _decode(data), data
    except (TypeError, ValueError, msgspec.MsgspecError) as exc:
        raise InvalidCommand(f"{type(cmd).__name__} cannot be journaled: {exc}") from exc


def canonical_batch(cmds: Sequence[Command]) -> tuple[list[Command], list[bytes]]:
    """`canonical` of every command, as (decoded commands, their bytes): two passes of the codec with
    no per-command Python call, for the engine's batches. Raises InvalidCommand for the first command
    that cannot be journaled."""
    try:
        datas = [_encode(cmd) for cmd in cmds]
        return [_decode(data) for data in datas], datas
    except (TypeError, ValueError, msgspec.MsgspecError):
        for cmd in cmds:
            canonical(cmd)  # raises for the culprit
        raise


def encode_snapshot(exchange: Exchange, seq: int, last_ts_ms: int) -> bytes:
    fingerprint = exchange.fingerprint().encode()
    header = _HEADER.pack(SNAPSHOT_MAGIC, SNAPSHOT_FORMAT, seq, last_ts_ms, len(fingerprint))
    return header + fingerprint + pickle.dumps(exchange, protocol=5)


def decode_snapshot(blob: bytes, verify: bool = True) -> Snapshot:
    """Load a snapshot; with `verify`, recompute the fingerprint and compare it with the stored one."""
    if len(blob) < _HEADER.size:
        raise SnapshotError("snapshot shorter than its header")
    magic, fmt, seq, last_ts_ms, fp_len = _HEADER.unpack_from(blob)
    if magic != SNAPSHOT_MAGIC:
        raise SnapshotError("not a backlay snapshot")
    if fmt != SNAPSHOT_FORMAT:
        raise SnapshotError(f"snapshot format {fmt}, expected {SNAPSHOT_FORMAT}")
    start = _HEADER.size + fp_len
    try:
        fingerprint = blob[_HEADER.size : start].decode("ascii")
        exchange = pickle.loads(blob[start:])
    except Exception as exc:
        raise SnapshotError(f"snapshot at seq {seq} does not unpickle: {exc!r}") from exc
    if not isinstance(exchange, Exchange):
        raise SnapshotError(f"snapshot at seq {seq} holds a {type(exchange).__name__}, not an Exchange")
    if verify:
        try:
            actual = exchange.fingerprint()
        except Exception as exc:
            raise SnapshotError(f"snapshot at seq {seq}: fingerprint failed: {exc!r}") from exc
        if actual != fingerprint:
            raise SnapshotError(f"snapshot at seq {seq}: fingerprint {actual} != stored {fingerprint}")
    return Snapshot(seq, last_ts_ms, exchange)
