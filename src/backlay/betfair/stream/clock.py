"""Stream clocks (`clk`, `initialClk`, 003:L6154-6158, L6712-6722): opaque tokens the client hands back
on resubscription. backlay's say where the client's cache stood:

- `clk`: the sequencer seq of the last batch the message reflects, and its publish time (ms). The seq
  comes from the journal, so a clock stays meaningful across a server restart.
- `initialClk`: the seq and time of the subscription's image, plus a hash of the subscription
  criteria: resubscription patches only with identical criteria (003:L6714-6715).

Encoded as URL-safe base64 of a version byte and unsigned varints, like Betfair's base64-looking tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import NamedTuple

VERSION = 1


class Clock(NamedTuple):
    seq: int
    ts_ms: int
    criteria: int = 0  # initialClk only: hash of the subscription criteria (0 in clk)


class InvalidClock(ValueError):
    """The token is not one of ours (INVALID_CLOCK, 003:L6102-6104)."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_clock(clock: Clock) -> str:
    if min(clock) < 0:
        raise ValueError(f"a clock holds no negative values: {clock}")
    raw = bytes([VERSION]) + _varint(clock.seq) + _varint(clock.ts_ms) + _varint(clock.criteria)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_clock(token: str) -> Clock:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidClock(f"not a clock: {token!r}") from None
    if not raw or raw[0] != VERSION:
        raise InvalidClock(f"not a clock of this server: {token!r}")
    values: list[int] = []
    n = shift = 0
    for b in raw[1:]:
        n |= (b & 0x7F) << shift
        shift += 7
        if shift > 70:
            raise InvalidClock(f"clock value too large: {token!r}")
        if not b & 0x80:
            values.append(n)
            n = shift = 0
    if shift or len(values) != 3:
        raise InvalidClock(f"truncated clock: {token!r}")
    return Clock(values[0], values[1], values[2])


def criteria_hash(criteria: bytes) -> int:
    """A 32-bit hash of the canonical encoding of a subscription's criteria."""
    return int.from_bytes(hashlib.blake2b(criteria, digest_size=4).digest(), "big")
