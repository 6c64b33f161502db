"""Stream workers' parts on their own: the replica a worker keeps, and the connection counts the
workers share (src/backlay/stream/workers.py; the processes themselves: tests/integration/
test_stream_workers.py).

Rule (architecture): restart = snapshot + journal replay to the identical state; a replica is that
replay continued with the batches the sequencer commits after it, so its state after seq S is the
server's after seq S.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sequencer import MARKET, T0_MS, place, setup_commands

from backlay.betfair.stream.workers import SharedConnectionCounts
from backlay.core.events import Event
from backlay.core.exchange import Exchange
from backlay.engine import SqliteJournal
from backlay.engine.engine import Batch, Engine
from backlay.engine.journal import JournalCorrupt
from backlay.engine.replica import Replica, frame


def _batches(tmp: Path) -> tuple[Engine, list[Batch]]:
    """An engine that ran the setup and a few trades in batches, and the frames it would have fed."""
    engine = Engine(SqliteJournal(tmp / "journal.db"))
    engine.recover()
    groups = [setup_commands(),
              [place("alice", 0, 250, 1_000), place("bob", 1, 260, 500)],
              [place("bob", 1, 250, 700)],
              [place("alice", 0, 240, 300), place("alice", 0, 230, 200), place("bob", 1, 230, 900)]]
    batches = []
    for i, cmds in enumerate(groups):
        batch = engine.prepare(cmds, T0_MS + i)
        engine.write(batch)
        engine.apply(batch)
        batches.append(batch)
    return engine, batches


def _replica_at(tmp: Path, batches: list[Batch], upto: int, events: list[Event]) -> Replica:
    """A replica recovered with the first `upto` batches applied (as if the journal had held only them)."""
    ex, seq = Exchange(), 0
    for batch in batches[:upto]:
        for cmd in batch.cmds:
            ex.apply(cmd, batch.ts_ms)
        seq = batch.last_seq
    return Replica(ex, seq, events.extend)


@settings(max_examples=30, deadline=None)
@given(upto=st.integers(0, 4), cuts=st.lists(st.integers(1, 400), max_size=12))
def test_replica_reaches_the_servers_state_from_any_start(tmp_path_factory: pytest.TempPathFactory, upto: int,
                                                          cuts: list[int]) -> None:
    """Whatever the journal held when the worker read it, and however the feed's bytes are split, the
    replica skips what it read and applies the rest: the same fingerprint as the server's state."""
    engine, batches = _batches(tmp_path_factory.mktemp("replica"))
    events: list[Event] = []
    replica = _replica_at(Path(), batches, upto, events)
    stream = b"".join(frame(b) for b in batches)
    offset = 0
    for cut in cuts:
        replica.feed(stream[offset : offset + cut])
        offset += cut
    replica.feed(stream[offset:])
    assert replica.seq == engine.applied_seq
    assert replica.exchange.fingerprint() == engine.exchange.fingerprint()
    if upto < len(batches):
        assert events, "the hub is given the events of what was applied"
    engine.close()


def test_replica_stops_at_a_gap(tmp_path: Path) -> None:
    """A batch that does not follow the replica's seq means something was lost: an error, not a guess."""
    engine, batches = _batches(tmp_path)
    replica = _replica_at(tmp_path, batches, 1, [])
    with pytest.raises(JournalCorrupt, match=r"journal gap: seq .* follows"):
        replica.feed(frame(batches[2]))
    engine.close()


def test_replica_feeds_the_hub_once_per_chunk(tmp_path: Path) -> None:
    engine, batches = _batches(tmp_path)
    calls: list[list[Any]] = []
    replica = Replica(Exchange(), 0, calls.append)
    replica.feed(b"".join(frame(b) for b in batches))
    assert len(calls) == 1 and replica.exchange.markets[MARKET].orders
    engine.close()


def test_shared_connection_counts_over_workers(tmp_path: Path) -> None:
    """max_connections_per_app_key holds over every worker (003:L6091-6093), and a worker started
    again does not inherit its predecessor's connections."""
    path = str(tmp_path / "stream-connections.db")
    SharedConnectionCounts(path, None).close()
    w0, w1 = SharedConnectionCounts(path, 0), SharedConnectionCounts(path, 1)
    assert [w0.acquire("k", 3), w1.acquire("k", 3), w1.acquire("k", 3)] == [2, 1, 0]
    assert w0.acquire("k", 3) is None and w0.acquire("other", 3) == 2
    w1.release("k")
    assert w0.count("k") == 2 and w0.acquire("k", 3) == 0
    w1.close()
    again = SharedConnectionCounts(path, 1)  # worker 1's successor: its one connection went with it
    assert again.count("k") == 2 and again.acquire("k", 3) == 0
    SharedConnectionCounts(path, None).close()  # the server starting: nothing counted
    assert w0.count("k") == 0 and w0.count("other") == 0
    w0.close()
    again.close()


@pytest.mark.parametrize("value", ["-1", "two"])
def test_stream_workers_flag_is_a_count(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`backlay serve --stream-workers` takes 0 or more; anything else is a usage error, before anything starts."""
    from backlay.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["serve", "--stream-workers", value])
    assert exc.value.code == 2 and "--stream-workers" in capsys.readouterr().err
