"""backlay.betfair.stream.clock: the `clk` / `initialClk` tokens (003:L6154-6158, 003:L6189-6194, 003:L6712-6722).

Clients store them and hand them back on resubscription; the server must read its own back exactly and
answer anything else with INVALID_CLOCK (003:L6102-6104), never crash (stream-identity-accounts.md §6.19)."""

from __future__ import annotations

import base64
import hashlib
import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from backlay.betfair.stream.clock import (
    VERSION,
    Clock,
    InvalidClock,
    criteria_hash,
    decode_clock,
    encode_clock,
)

MAX_VALUE = 2**70 - 1  # ten 7-bit groups: the decoder's limit
URLSAFE = set(string.ascii_letters + string.digits + "-_=")

seqs = st.integers(min_value=0, max_value=2**63 - 1)  # journal seqs
timestamps = st.integers(min_value=0, max_value=2**63 - 1)  # epoch ms, "long" (003:L6025-6026)
criteria = st.integers(min_value=0, max_value=2**32 - 1)  # criteria_hash is 32 bits
clocks = st.builds(Clock, seqs, timestamps, criteria)


def raw_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def varint(n: int) -> bytes:
    """Unsigned LEB128, written independently of the module under test."""
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# --- round trip --------------------------------------------------------------------------------------


@given(clocks)
@example(Clock(0, 0, 0))
@example(Clock(2**63 - 1, 2**63 - 1, 2**32 - 1))
@example(Clock(127, 128, 16383))  # one-byte / two-byte varint boundaries
def test_round_trip(clock: Clock) -> None:
    """A clock the server wrote is read back exactly, so a resubscription resumes where the client's cache
    stood (003:L6716-6721). The token is an opaque URL-safe base64 ASCII string (stream-identity-accounts.md
    §6.7: "base64-looking", e.g. `AAAAAAAAAAAAAA==`, 003:L6621-6622)."""
    token = encode_clock(clock)
    assert isinstance(token, str) and token and set(token) <= URLSAFE
    assert len(token) % 4 == 0
    assert decode_clock(token) == clock
    assert encode_clock(decode_clock(token)) == token


@given(st.integers(min_value=0, max_value=MAX_VALUE), st.integers(min_value=0, max_value=MAX_VALUE),
       st.integers(min_value=0, max_value=MAX_VALUE))
@example(MAX_VALUE, MAX_VALUE, MAX_VALUE)
def test_round_trip_up_to_the_decoders_limit(seq: int, ts_ms: int, crit: int) -> None:
    """Any value up to 2**70 - 1 (ten varint bytes) survives the round trip."""
    assert decode_clock(encode_clock(Clock(seq, ts_ms, crit))) == Clock(seq, ts_ms, crit)


def test_layout_is_version_then_three_varints() -> None:
    """The documented layout: URL-safe base64 of a version byte and unsigned varints seq, ts_ms, criteria;
    `clk` carries criteria 0 (the default)."""
    assert Clock(5, 6) == Clock(5, 6, 0)
    assert base64.urlsafe_b64decode(encode_clock(Clock(1, 2, 3))) == bytes([VERSION, 1, 2, 3])
    assert encode_clock(Clock(300, 1471370160471, 0)) == raw_token(
        bytes([VERSION]) + varint(300) + varint(1471370160471) + varint(0))
    assert decode_clock(raw_token(bytes([VERSION]) + varint(300) + varint(2**40) + varint(7))) == Clock(300, 2**40, 7)


def test_distinct_clocks_give_distinct_tokens() -> None:
    """A token identifies its clock: a different seq, time or criteria gives a different token."""
    tokens = {encode_clock(Clock(s, t, c)) for s in (0, 1, 2**35) for t in (0, 1, 2**41) for c in (0, 1, 2**31)}
    assert len(tokens) == 27


# --- what is not a clock of ours -> InvalidClock -----------------------------------------------------


@pytest.mark.parametrize("token", [
    pytest.param("", id="empty"),
    pytest.param("AAAAAAAAAAAAAA==", id="betfair-example-clk"),  # 003:L6621-6622: Betfair's, not ours
    pytest.param("GpOH0JwBH762w50BHKKomJ0BGpzR5ZoBH5mWsJwB", id="betfair-example-initialClk"),
    pytest.param("AHMAcArtjjje", id="betfair-delta-clk"),  # stream-identity-accounts.md §6.16
    pytest.param("not a clock", id="spaces"),
    pytest.param("!!!!", id="punctuation"),
    pytest.param("AQ", id="bad-padding"),
    pytest.param("AQI=", id="two-values"),
    pytest.param("AQIDBAU=", id="four-values"),
    pytest.param("null", id="null-text"),
    pytest.param("é", id="non-ascii-latin"),
    pytest.param("AQID\u00e9", id="non-ascii-suffix"),
    pytest.param("時計", id="non-ascii-cjk"),
    pytest.param("AQID\x00", id="nul"),
])
def test_garbage_is_invalid_clock(token: str) -> None:
    """Empty, foreign (Betfair's own example tokens), malformed base64, the wrong number of values and
    non-ASCII text are all InvalidClock -> INVALID_CLOCK (003:L6102-6104)."""
    with pytest.raises(InvalidClock):
        decode_clock(token)


def test_invalid_clock_is_a_value_error() -> None:
    """Callers that catch ValueError keep working; the message quotes the token."""
    assert issubclass(InvalidClock, ValueError)
    with pytest.raises(InvalidClock, match="'zz'"):
        decode_clock("zz")


@given(clocks, st.integers(min_value=0, max_value=255).filter(lambda v: v != VERSION))
def test_wrong_version(clock: Clock, version: int) -> None:
    """A token whose version byte is not ours (an older or newer server's, or a foreign one) is refused,
    even when the rest is a well-formed clock."""
    raw = bytearray(base64.urlsafe_b64decode(encode_clock(clock)))
    raw[0] = version
    with pytest.raises(InvalidClock, match="not a clock of this server"):
        decode_clock(raw_token(bytes(raw)))


@given(clocks, st.data())
def test_truncated_tokens(clock: Clock, data: st.DataObject) -> None:
    """Every proper prefix of a clock, cut in its bytes or in its text, is refused: a client's store
    damaged mid-token must not resume from the wrong place."""
    token = encode_clock(clock)
    raw = base64.urlsafe_b64decode(token)
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1), label="byte cut")
    with pytest.raises(InvalidClock):
        decode_clock(raw_token(raw[:cut]))
    chars = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="text cut")
    with pytest.raises(InvalidClock):
        decode_clock(token[:chars])


def test_every_prefix_of_one_token() -> None:
    """The same, exhaustively for one multi-byte clock."""
    token = encode_clock(Clock(2**62 + 12345, 1471370160471, 2**32 - 1))
    raw = base64.urlsafe_b64decode(token)
    for cut in range(len(raw)):
        with pytest.raises(InvalidClock):
            decode_clock(raw_token(raw[:cut]))
    for cut in range(len(token)):
        with pytest.raises(InvalidClock):
            decode_clock(token[:cut])


@given(clocks, st.binary(min_size=1, max_size=12))
def test_trailing_bytes(clock: Clock, extra: bytes) -> None:
    """Bytes after the third value are refused: as a fourth value, or as an unfinished one."""
    raw = base64.urlsafe_b64decode(encode_clock(clock)) + extra
    with pytest.raises(InvalidClock):
        decode_clock(raw_token(raw))


def test_values_beyond_the_limit() -> None:
    """A varint longer than ten bytes (a value of 2**70 or more) is refused rather than read as a huge int."""
    for raw in (bytes([VERSION]) + varint(2**70) + varint(0) + varint(0),
                bytes([VERSION]) + varint(0) + varint(0) + varint(2**200),
                bytes([VERSION]) + b"\xff" * 64):
        with pytest.raises(InvalidClock):
            decode_clock(raw_token(raw))
    with pytest.raises(InvalidClock, match="too large"):
        decode_clock(encode_clock(Clock(2**70, 0, 0)))


@given(st.text(max_size=64))
@example("AQIDBA")
@example("AQIDBAU=")
def test_any_text_is_a_clock_or_invalid_clock(token: str) -> None:
    """Whatever a client sends as a clock, decoding either returns a Clock or raises InvalidClock: no other
    exception reaches the stream server (which answers INVALID_CLOCK, 003:L6102-6104)."""
    try:
        clock = decode_clock(token)
    except InvalidClock:
        return
    assert isinstance(clock, Clock) and min(clock) >= 0


@given(st.binary(max_size=32))
def test_any_bytes_are_a_clock_or_invalid_clock(raw: bytes) -> None:
    """The same for well-formed base64 of arbitrary bytes; what decodes is our version with three values."""
    try:
        clock = decode_clock(raw_token(raw))
    except InvalidClock:
        return
    assert raw[0] == VERSION and len(clock) == 3


# --- criteria_hash -----------------------------------------------------------------------------------


def test_criteria_hash_is_stable() -> None:
    """initialClk carries the hash of the subscription criteria, and resubscription patches only with
    identical criteria (003:L6714-6715). Clocks outlive the process (the seq comes from the journal), so the
    hash must be the same in every run and on every machine: pinned to 32-bit big-endian BLAKE2b."""
    assert criteria_hash(b"") == 309448485
    assert criteria_hash(b"x") == 2981758949
    criterion = b'{"marketIds":["1.120684740"],"fields":["EX_BEST_OFFERS"]}'
    assert criteria_hash(criterion) == int.from_bytes(hashlib.blake2b(criterion, digest_size=4).digest(), "big")


@given(st.binary(max_size=256))
def test_criteria_hash_is_deterministic_and_32_bit(criterion: bytes) -> None:
    """Same bytes, same hash; it fits the clock's criteria field and round-trips through a token."""
    h = criteria_hash(criterion)
    assert h == criteria_hash(bytes(criterion)) and 0 <= h < 2**32
    assert decode_clock(encode_clock(Clock(1, 2, h))).criteria == h


def test_criteria_hash_tells_criteria_apart() -> None:
    """Different criteria (another market, another field, another order) give different hashes, so a
    resubscription with changed criteria is not patched from an old initialClk."""
    criteria_set = [b"", b"{}", b'{"marketIds":["1.1"]}', b'{"marketIds":["1.2"]}',
                    b'{"marketIds":["1.1"],"fields":["EX_LTP"]}', b'{"fields":["EX_LTP"],"marketIds":["1.1"]}']
    assert len({criteria_hash(c) for c in criteria_set}) == len(criteria_set)
