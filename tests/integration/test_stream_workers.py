"""The Stream API served by stream workers (`stream_workers = 2`: src/backlay/stream/workers.py), over
real sockets with the unmodified betfairlightweight stream: the same caches as listMarketBook whichever
worker a connection lands on, connection limits over all workers, a worker that dies started again,
and the workers gone with the server.

The whole protocol suite runs against workers too: BACKLAY_TEST_STREAM_WORKERS=2 (scripts/test.sh runs
the stream modules that way once more)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer
from stream_support import RawStream, client_for, eventually, login, new_market
from test_stream_clients import BEST_FIELDS, assert_market_cache, market_stream, place

WORKERS = 2


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-workers")), stream_workers=WORKERS).start()
    yield server
    server.stop()


def worker_pids(live: LiveServer) -> dict[int, int]:
    def pids() -> dict[int, int]:
        assert live.server is not None and live.server.stream_workers is not None
        return {i: w.proc.pid for i, w in live.server.stream_workers.workers.items()
                if w.proc is not None and w.ready.done()}
    return live.call(pids)


def connect(live: LiveServer, n: int) -> list[RawStream]:
    conns = [RawStream(live, tls=False) for _ in range(n)]
    for c in conns:
        c.authenticate(live, "bob")
    return conns


def test_every_worker_serves_and_caches_equal_list_market_book(live: LiveServer) -> None:
    """Connections go to both workers (their ids say which); every one of them, betfairlightweight
    streams included, ends with what listMarketBook says, after trades made over HTTP."""
    alice, bob = client_for(live, "alice"), client_for(live, "bob")
    mid, sels = new_market(live)
    place(alice, mid, sels[0], "BACK", 2.5, 10)  # before any subscription: in the replicas' images
    streams = [market_stream(alice, live, [mid]), market_stream(bob, live, [mid], fields=BEST_FIELDS, levels=3)]
    conns = []
    workers_seen: set[str] = set()
    deadline = time.monotonic() + 20
    while len(workers_seen) < WORKERS and time.monotonic() < deadline:  # the kernel picks the worker
        c = RawStream(live, tls=False)
        cid = c.recv()["connectionId"]
        assert cid.startswith("backlay-w")
        workers_seen.add(cid.split("-")[1])
        conns.append((cid, c))
    assert workers_seen == {f"w{i}" for i in range(WORKERS)}
    assert len({cid for cid, _c in conns}) == len(conns), "connection ids are unique over the workers"
    for _cid, c in conns:
        c.close()
    try:
        for i, price in enumerate([2.0, 2.02, 2.04]):
            place(alice, mid, sels[1], "LAY", price, 5 + i)
        place(bob, mid, sels[0], "LAY", 2.6, 4)  # matches alice's back
        eventually(lambda: assert_market_cache(streams[0], alice, mid))
        eventually(lambda: assert_market_cache(streams[1], bob, mid, best=True))
    finally:
        for s in streams:
            s.stop()
    assert all(s.error is None for s in streams)


def test_connection_limit_holds_over_all_workers(live: LiveServer) -> None:
    """MAX_CONNECTION_LIMIT_EXCEEDED after 10 connections of one application key (003:L6091-6093),
    however the workers share them; connectionsAvailable counts down over all of them."""

    def open_one() -> tuple[str, RawStream]:  # (its worker, the connection): the connection message says
        r = RawStream(live, tls=False)
        return r.recv()["connectionId"].split("-")[1], r

    pool = [open_one() for _ in range(10)]
    deadline = time.monotonic() + 20
    while len({w for w, _r in pool}) < WORKERS:  # the kernel picks the worker: make sure both have some
        assert time.monotonic() < deadline
        w, r = open_one()
        if w != pool[0][0]:
            pool[-1][1].close()
            pool[-1] = (w, r)
        else:
            r.close()
    conns = [r for _w, r in pool]
    _w, extra = open_one()
    token, key = login(live, "carol")

    def authenticate(r: RawStream) -> dict[str, Any]:
        req_id = r.request("authentication", appKey=key, session=token)
        status = r.recv()
        assert status["id"] == req_id
        return status

    try:
        statuses = [authenticate(c) for c in conns]
        assert [s.get("connectionsAvailable") for s in statuses] == list(range(9, -1, -1)), statuses
        status = authenticate(extra)
        assert status["errorCode"] == "MAX_CONNECTION_LIMIT_EXCEEDED" and status["connectionClosed"] is True
    finally:
        for c in [*conns, extra]:
            c.close()
    eventually(lambda: _assert(live.stream_connections() == 0))


def _assert(ok: bool) -> None:
    assert ok


def test_a_worker_that_dies_is_started_again(live: LiveServer) -> None:
    """Its connections close (clients reconnect, as after any disconnection); the new worker recovers
    from the journal while orders keep coming (the feed and the journal overlap: it skips what it read)
    and serves what happens after: streams opened on either worker end equal to listMarketBook."""
    alice = client_for(live, "alice")
    mid, sels = new_market(live, runners=1)
    conns = connect(live, 6)
    before = worker_pids(live)
    assert len(before) == WORKERS
    placing = threading.Event()
    placing.set()
    placed: list[int] = []

    def keep_placing() -> None:
        while placing.is_set():
            place(alice, mid, sels[0], "BACK", round(3.0 + 0.05 * (len(placed) % 20), 2), 2)
            placed.append(1)

    placer = threading.Thread(target=keep_placing, daemon=True)
    placer.start()
    try:
        os.kill(before[0], signal.SIGKILL)
        eventually(lambda: _assert(worker_pids(live).get(0) not in (None, before[0])), timeout_s=30)
        assert worker_pids(live)[1] == before[1]
        for c in conns:
            c.close()
        streams = []
        deadline = time.monotonic() + 20
        while {s.listener.connection_id.split("-")[1] for s in streams if s.listener.connection_id} != {"w0", "w1"}:
            assert time.monotonic() < deadline, "no stream landed on one of the workers"
            streams.append(market_stream(alice, live, [mid]))
            eventually(lambda: _assert(streams[-1].listener.connection_id is not None))
    finally:
        placing.clear()
        placer.join(timeout=30)
    try:
        assert len(placed) > 10
        for s in streams:
            eventually(lambda s=s: assert_market_cache(s, alice, mid))
    finally:
        for s in streams:
            s.stop()
    assert all(s.error is None for s in streams)


def test_workers_stop_with_the_server(tmp_path: Path) -> None:
    live = LiveServer(tmp_path, stream_workers=WORKERS).start()
    pids = list(worker_pids(live).values())
    assert len(pids) == WORKERS
    live.stop()
    for pid in pids:
        eventually(lambda pid=pid: _assert(not _alive(pid)), timeout_s=15)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie until the server reaps it: gone as far as serving goes
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


def test_a_worker_that_falls_behind_is_replaced(live: LiveServer, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A worker that stops reading its feed is not waited for: once the server holds more than
    MAX_FEED_BUFFER_BYTES of feed for it (here: any byte beyond what the socket takes), it is stopped
    and started again; the other worker serves on."""
    from backlay.betfair.stream import workers
    from backlay.core.commands import SetMarketStatus

    before = worker_pids(live)
    mid, _sels = new_market(live, runners=1)
    monkeypatch.setattr(workers, "MAX_FEED_BUFFER_BYTES", 0)
    os.kill(before[1], signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 60
        status = "OPEN"
        while worker_pids(live).get(1) == before[1]:
            assert time.monotonic() < deadline, "the stalled worker was not replaced"
            status = "SUSPENDED" if status == "OPEN" else "OPEN"
            live.submit(SetMarketStatus(market_id=mid, status=status))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(before[1], signal.SIGCONT)
    monkeypatch.undo()
    eventually(lambda: _assert(worker_pids(live).get(1) not in (None, before[1])), timeout_s=30)
    assert worker_pids(live)[0] == before[0]
    assert any("bytes behind: stopping it" in r.getMessage() for r in caplog.records)
