"""Stream workers: the Stream API served by replica processes, so that its writes use every core.

On one process the publish cycle's system calls (one `send` per connection per change) share one core
with the HTTP API, the sequencer and the core (docs/benchmarks.md, Stream). With `stream_workers = N`
the server process holds the stream ports (bound, not listening) and starts N worker processes, each
listening on its own SO_REUSEPORT socket for the same ports (the kernel spreads new connections over
them):

- A worker is a **replica**: it recovers the exchange from the journal (latest snapshot plus replay, as
  a restart does), then applies every batch the sequencer commits after that, which the server sends
  it over a socket pair as the journal holds them (seq, ts_ms, command bytes). The core is
  deterministic, so the replica's state after seq S is the server's state after seq S.
- Each worker runs the unchanged hub and stream server over its replica, and reads the identity
  database itself (without caching: the server process is the one that writes it).
- The feed starts before the worker reads the journal: every batch is in what it reads or in what it
  is sent (the ones it has already read it skips by seq), and a gap is an error that stops it.

What changes for clients: nothing in the protocol. Connection ids carry the worker's index;
`stream_max_connections` counts over all workers (SharedConnectionCounts); a clock from one worker
resumes on another like a clock from before a restart (the markets it covers come as images), and one
from the same worker as usual.

A worker that dies (or falls `MAX_FEED_BUFFER_BYTES` behind, and is stopped) is started again; its
connections are closed, and clients reconnect as they would after any disconnection. A worker stops
when its feed closes: when the server process stops or dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

from backlay.betfair.stream.server import ConnectionCounts
from backlay.core.exchange import Exchange
from backlay.engine.engine import Batch, Engine, wall_clock_ms
from backlay.engine.replica import Replica, frame
from backlay.engine.sequencer import Sequencer

log = logging.getLogger(__name__)

MAX_FEED_BUFFER_BYTES = 256 * 1024 * 1024  # a worker this far behind is stopped and started again
READY_TIMEOUT_S = 600.0  # recovery from a long journal takes a while
STOP_TIMEOUT_S = 10.0
RESTART_DELAY_S = 1.0
_READY = b"R"


class WorkerSpec(msgspec.Struct, frozen=True):
    """What a worker process is started with (JSON in its argv)."""

    index: int
    journal_path: str
    identity_path: str
    currency: str
    limits: dict[str, Any]  # StreamLimits' fields
    counts_path: str  # SharedConnectionCounts
    feed_fd: int
    listeners: list[tuple[str, int, bool]]  # (host, port, TLS?)
    cert_path: str | None = None
    key_path: str | None = None
    log_level: str = "WARNING"


class SharedConnectionCounts(ConnectionCounts):
    """Connections per application key over every worker (stream/server.py, ConnectionCounts): a
    small SQLite database, a row per (worker, application key). Only authentication and the end of a
    connection touch it, so a transaction each is cheap; nothing in it needs to survive a crash
    (synchronous=OFF): the server process empties it before it starts the workers, and a worker
    started again deletes its predecessor's rows."""

    def __init__(self, path: str, worker: int | None) -> None:
        self._worker = worker
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute("CREATE TABLE IF NOT EXISTS conns (worker INTEGER NOT NULL, app_key TEXT NOT NULL, "
                           "n INTEGER NOT NULL, PRIMARY KEY (worker, app_key))")
        if worker is None:
            self._conn.execute("DELETE FROM conns")
        else:
            self._conn.execute("DELETE FROM conns WHERE worker = ?", (worker,))

    def acquire(self, app_key: str, limit: int) -> int | None:
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            n = self.count(app_key)
            if n >= limit:
                return None
            c.execute("INSERT INTO conns (worker, app_key, n) VALUES (?, ?, 1) "
                      "ON CONFLICT (worker, app_key) DO UPDATE SET n = n + 1", (self._worker, app_key))
            return limit - n - 1
        finally:
            c.execute("COMMIT")

    def release(self, app_key: str) -> None:
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("UPDATE conns SET n = n - 1 WHERE worker = ? AND app_key = ?", (self._worker, app_key))
            c.execute("DELETE FROM conns WHERE n <= 0")
        finally:
            c.execute("COMMIT")

    def count(self, app_key: str) -> int:
        row = self._conn.execute("SELECT coalesce(sum(n), 0) FROM conns WHERE app_key = ?", (app_key,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._conn.close()


# --- the server process's side ----------------------------------------------------------------------


class _Worker:
    def __init__(self, index: int) -> None:
        self.index = index
        self.proc: subprocess.Popen[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a worker lost before it served fails `ready` even when nobody waits for it any more
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.started_s = time.monotonic()


class _FeedProtocol(asyncio.Protocol):
    def __init__(self, owner: StreamWorkers, worker: _Worker) -> None:
        self.owner, self.worker = owner, worker

    def data_received(self, data: bytes) -> None:
        if _READY in data and not self.worker.ready.done():
            self.worker.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._lost(self.worker)


class StreamWorkers:
    """Starts, feeds, restarts and stops the worker processes (in the server process)."""

    def __init__(self, sequencer: Sequencer, spec: Callable[[int, int, list[tuple[str, int, bool]]], WorkerSpec],
                 n: int) -> None:
        if n < 1:
            raise ValueError("stream workers: at least 1")
        self._sequencer = sequencer
        self._spec = spec  # (index, feed fd, listeners) -> the worker's spec
        self.n = n
        self._listeners: list[tuple[socket.socket, bool]] = []  # the reserved ports
        self.workers: dict[int, _Worker] = {}
        self._closing = False
        self._restarts: set[asyncio.Task[None]] = set()

    async def start(self, listeners: list[tuple[socket.socket, bool]]) -> None:
        self._listeners = listeners
        self._sequencer.add_batch_listener(self._on_batch)
        await asyncio.gather(*(self._spawn(i) for i in range(self.n)))

    async def _spawn(self, index: int) -> None:
        worker = _Worker(index)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_unix_connection(lambda: _FeedProtocol(self, worker), sock=ours)
            worker.transport = transport
            # fed from now on, before the worker reads the journal: nothing falls between the two
            self.workers[index] = worker
            listeners = [(*s.getsockname()[:2], tls) for s, tls in self._listeners]
            spec = self._spec(index, theirs.fileno(), listeners)
            try:
                worker.proc = subprocess.Popen(
                    [sys.executable, "-m", "backlay.betfair.stream.workers", msgspec.json.encode(spec).decode()],
                    pass_fds=[theirs.fileno()])
            except BaseException:
                del self.workers[index]  # not restarted: the caller hears of it
                transport.abort()
                raise
        finally:
            theirs.close()
        try:
            await asyncio.wait_for(asyncio.shield(worker.ready), READY_TIMEOUT_S)
        except BaseException:
            self._stop_worker(worker)
            raise
        log.info("stream worker %d (pid %d) serving", index, worker.proc.pid)

    def _on_batch(self, batch: Batch) -> None:
        data = frame(batch)
        for worker in list(self.workers.values()):
            t = worker.transport
            if t is None or t.is_closing():
                continue
            t.write(data)
            if t.get_write_buffer_size() > MAX_FEED_BUFFER_BYTES:
                log.error("stream worker %d is %d bytes behind: stopping it", worker.index, t.get_write_buffer_size())
                self._stop_worker(worker)

    def _stop_worker(self, worker: _Worker) -> None:
        if worker.transport is not None:
            worker.transport.abort()
        if worker.proc is not None and worker.proc.poll() is None:
            worker.proc.kill()

    def _lost(self, worker: _Worker) -> None:
        if not worker.ready.done():
            rc = worker.proc.poll() if worker.proc is not None else None
            worker.ready.set_exception(RuntimeError(f"stream worker {worker.index} stopped before serving (exit {rc})"))
        if self.workers.get(worker.index) is not worker:
            return
        del self.workers[worker.index]
        if self._closing:
            return
        log.error("stream worker %d stopped; starting it again", worker.index)
        self._stop_worker(worker)
        task = asyncio.get_running_loop().create_task(self._restart(worker))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, old: _Worker) -> None:
        if old.proc is not None:
            await asyncio.to_thread(old.proc.wait)
        # a worker that keeps failing at once is not restarted in a tight loop
        await asyncio.sleep(max(0.0, RESTART_DELAY_S - (time.monotonic() - old.started_s)))
        if self._closing:
            return
        try:
            await self._spawn(old.index)
        except Exception:
            log.exception("stream worker %d could not be started again", old.index)

    async def close(self) -> None:
        """Close every feed (a worker closes its connections and exits at the end of its feed)."""
        self._closing = True
        with contextlib.suppress(ValueError):
            self._sequencer.remove_batch_listener(self._on_batch)
        for task in list(self._restarts):
            task.cancel()
        workers = list(self.workers.values())
        self.workers.clear()
        for worker in workers:
            if worker.transport is not None:
                worker.transport.close()

        def wait(proc: subprocess.Popen[bytes]) -> None:
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log.error("stream worker pid %d did not stop: killing it", proc.pid)
                proc.kill()
                proc.wait()

        await asyncio.gather(*(asyncio.to_thread(wait, w.proc) for w in workers if w.proc is not None))
        for sock, _tls in self._listeners:
            sock.close()


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT: each worker listens on its own such socket for the same
    port, and the kernel spreads new connections over them (one shared listening socket would let the
    worker that happens to be waiting take them all)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def reserve_port(host: str, port: int) -> socket.socket:
    """The server process's hold on a stream port (0: a free one) for its workers: bound, never
    listening, so that the kernel gives it no connections."""
    return reuse_port_socket(host, port)


# --- the worker process -----------------------------------------------------------------------------


class _ReplicaFeed(asyncio.Protocol):
    def __init__(self, replica: Replica, done: asyncio.Future[None]) -> None:
        self.replica, self.done = replica, done

    def data_received(self, data: bytes) -> None:
        try:
            self.replica.feed(data)
        except Exception as exc:
            log.exception("stream worker: the feed failed")
            if not self.done.done():
                self.done.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def run_worker(spec: WorkerSpec) -> None:
    # imported here: the server process imports this module for StreamWorkers alone
    from backlay.betfair.stream.hub import Hub
    from backlay.betfair.stream.server import StreamLimits, StreamServer
    from backlay.engine.sqlite import SqliteJournal
    from backlay.identity import tls
    from backlay.identity.store import IdentityStore
    from backlay.runtime import freeze_heap

    loop = asyncio.get_running_loop()
    feed_sock = socket.socket(fileno=spec.feed_fd)
    engine = Engine(SqliteJournal(spec.journal_path), lambda: Exchange(spec.currency))
    await asyncio.to_thread(lambda: engine.recover(live=True))
    engine.close()
    freeze_heap()
    replica = Replica(engine.exchange, engine.applied_seq)
    hub = Hub(lambda: replica.exchange, lambda: replica.seq, wall_clock_ms)
    replica.on_events = hub.on_events
    hub.start()
    identity = IdentityStore(spec.identity_path, cache=False)
    counts = SharedConnectionCounts(spec.counts_path, spec.index)
    stream = StreamServer(hub, identity, wall_clock_ms, StreamLimits(**spec.limits), id_prefix=f"w{spec.index}-",
                          counts=counts)
    done: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.create_unix_connection(lambda: _ReplicaFeed(replica, done), sock=feed_sock)
    tls_context: ssl.SSLContext | None = None
    for host, port, use_tls in spec.listeners:
        if use_tls and tls_context is None:
            assert spec.cert_path is not None and spec.key_path is not None
            tls_context = tls.plain_server_ssl_context(spec.cert_path, spec.key_path)
        sock = reuse_port_socket(host, port)
        sock.listen(1024)
        sock.setblocking(False)
        await stream.listen_socket(sock, tls_context if use_tls else None)
    transport.write(_READY)
    try:
        await done
    finally:
        await stream.close()
        await hub.stop()
        identity.close()
        counts.close()


def worker_main(argv: list[str]) -> int:
    spec = msgspec.json.decode(argv[1], type=WorkerSpec)
    logging.basicConfig(level=spec.log_level,
                        format=f"%(asctime)s stream worker {spec.index}: %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server process, which stops this
    from backlay.runtime import tune_gc

    tune_gc()
    try:
        import uvloop
    except ImportError:
        asyncio.run(run_worker(spec))
    else:
        uvloop.run(run_worker(spec))
    return 0


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv))
