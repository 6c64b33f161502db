"""Stream API benchmark: many subscribed connections on one market, one publisher placing orders over HTTP.

    .venv/bin/python -m bench.stream [--connections N] [--rates 25,100,max] [--servers baseline,backlay]
                                     [--streams plain,tls] [--slow-readers N] [--slow-seconds N]
                                     [--slow-rcvbuf BYTES] [--seconds N] [--warmup N] [--client-procs N]
                                     [--accounts N] [--pin] [--compiled] [--max-other F] [--tries N]
                                     [--subscriber c|python] [--c-pause-us N] [--stream-workers N]
                                     [--profile FILE]

Three kinds of process, started here and stopped at the end, on the same machine; every row gets
fresh ones:

- *server*, one of
  - *backlay*: `Server.open` on a fresh temporary data directory with the defaults of `backlay serve`
    (SQLite journal, WAL, synchronous=FULL) except that periodic snapshots are off and
    `stream_max_connections` admits every connection; seeded with the world of bench/http.py
    (`--accounts` funded accounts with a login and an application key each, one open 3-runner market
    with a static book). The HTTP API runs under uvicorn as in `backlay serve`, the Stream API on its
    plain-TCP listener (`--streams`: and/or its TLS listener), all on one uvloop event loop. One
    addition: an ASGI wrapper that puts the sequencer's applied seq in every response's headers, so
    that the publisher knows the seq of its orders (it is the only writer and has one request in
    flight, so that seq is its order's). `--stream-workers N`: the stream is served by N worker
    processes (src/backlay/stream/workers.py), whose CPU counts in the server's.
  - *baseline*: a bare uvloop fan-out: a bare ASGI app that counts each request as a change and, in
    a cycle scheduled like the hub's, writes one prepared ~180-byte change message with its clock to
    every subscribed connection; just enough of the Stream API handshake for the subscribers. It is
    what the machine, uvloop and this load generator can do with no exchange and no hub.
- *subscribers*: `--connections` connections that each read the connection message, authenticate,
  subscribe to the bench market (EX_BEST_OFFERS, EX_TRADED, EX_TRADED_VOL, EX_LTP, EX_MARKET_DEF, 3
  levels) and check their SUB_IMAGE. Sockets are read with recvmsg and SO_TIMESTAMPNS, so that every
  read carries the kernel's receive timestamp (when the bytes reached the subscriber's socket, however
  busy the subscriber was) beside the time it was read; of every change message, the `clk` (the seq of
  the last batch it reflects) and `pt` are noted. One connection, the *checker*, also decodes every
  message in full, keeps the market's cache as a client does, and at the end compares it with
  listMarketBook. With `--subscriber c` (the default), the checker and the slow readers are one Python
  (uvloop) process and the other plain connections `--client-procs` processes of bench/stream_sub.c,
  built here with the system's C compiler: the same handshake, timestamps and records at a fraction
  of the CPU, pausing `--c-pause-us` after each round of reads (see that file);
  with `--subscriber python`, and over TLS, `--client-procs` Python processes, the checker's among
  them. With `--slow-readers N`, every backlay rate is measured a second time (over `--slow-seconds`)
  with N more connections that subscribe and then stop reading: their socket buffers fill, then the
  server's; the server closes a connection whose write buffer stays above its high-water mark for
  StreamLimits.slow_consumer_s. What the slow ones
  saw, and when the server closed them (from its log), is reported.
- *publisher* (this process, uvloop): one HTTP/1.1 keep-alive connection, one request in flight,
  placeOrders ×1 as in bench/http.py: a back and a lay at the same price inside the spread, in turn,
  over the 3 runners and rotating over the accounts, so every lay matches the back before it and the
  book stays bounded; every order changes the market (its best offers, then its traded volume and
  last traded price). `--rates`: orders per second, or `max`: the next order as soon as the previous
  one is answered. The rate achieved is reported: with one request in flight it falls short of the
  target when an order takes longer than the interval.

What is measured, over `--seconds` after `--warmup` of publishing:

- *deliveries/s*: change messages (`mcm` without `ct`: not heartbeats, not the image) that reached
  the subscribed connections' sockets (not the slow readers'), per second;
- *order → socket* (p50, p99, max): for every order placed in the window and every connection, from
  the moment the publisher wrote the placeOrders request to its socket to the kernel's receive
  timestamp of the first message on that connection whose clk covers the order's seq. It includes the
  HTTP request, the journal's fsync, the core, the hub's publish cycle, the writes to every socket and
  loopback TCP, and any wait behind earlier work on the server's event loop; a message that covers
  several orders counts once per order. *order → read* is the same to the moment the subscriber
  process read it (adds this load generator's own delay). *publish → socket* is the receive timestamp
  minus the message's `pt` (the hub's publish time in whole milliseconds, rounded down: up to 1 ms
  more than the truth).
- *changes/message*: orders covered per delivery (1.00: every order got its own publish cycle);
  *order deliveries/s*: (order, connection) pairs delivered per second, deliveries × changes/message:
  what the latencies are counted over, and more than deliveries/s when a publish cycle covers several
  orders;
- CPU: the share of one core used by the server process (all threads), the subscriber processes,
  this process (the publisher) and everything else on the machine (/proc/stat) over the same window.
  A measurement disturbed by other processes (above --max-other) is taken again, up to --tries times.

Checked: every placeOrders response (bench/http.py's checks); every connection received every order
(none undelivered: after the window the subscribers wait for the last order's seq); clocks never go
backwards; the checker's cache equals listMarketBook at the end. Timing is reported, never asserted.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import contextlib
import fcntl
import json
import os
import pickle
import platform
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.http import (
    HOST,
    MARKET,
    NO_SNAPSHOTS,
    PRICES,
    RUNNERS,
    ResponseReader,
    _account,
    _app_key,
    _busy_seconds,
    _cpu_seconds,
    _place_full,
    _place_ok,
    _place_params,
    _rss_mib,
    _uvicorn_config,
    bench_world,
    free_port,
    jsonrpc_request,
    login_all,
    roundtrip,
    stop_server,
    wait_listening,
)

ROOT = Path(__file__).resolve().parent.parent
SEQ_HEADER = b"x-bench-seq"
FIELDS = ["EX_BEST_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF"]
LEVELS = 3
SUB_ID = 2
TAIL_S = 30.0  # after the window: time at most for the last order's messages to arrive
DRAIN_S = 2.0  # then: the slow readers read again, this long at most
RETRY_PAUSE_S = 10
SO_TIMESTAMPNS = 35  # Linux (asm-generic); not in the socket module


# --- the server (child process) ---------------------------------------------------------------------


def with_seq_header(app: Any, engine: Any) -> Any:
    """The API app, with the sequencer's applied seq in every response's headers."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_seq(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()),
                                                   (SEQ_HEADER, str(engine.applied_seq).encode())]}
            await send(message)

        await app(scope, receive, send_with_seq)

    return wrapped


async def _serve(args: argparse.Namespace) -> None:
    import logging

    import uvicorn

    from backlay.config import Config
    from backlay.core.reports import AdminResult, PlaceExecutionReport
    from backlay.engine.engine import wall_clock_ms
    from backlay.runtime import tune_gc
    from backlay.server import Server

    # The stream server logs the slow consumers it closes, at INFO: note when, for the report.
    logging.basicConfig(level=logging.WARNING, format="  server %(asctime)s %(name)s: %(message)s")
    stream_log = logging.getLogger("backlay.betfair.stream.server")
    stream_log.setLevel(logging.INFO)
    stream_log.propagate = False
    events = Path(args.data_dir).parent / "server-events.txt"

    class SlowConsumers(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "slow consumer" in record.getMessage():
                with events.open("a") as f:
                    f.write(f"{time.time_ns()} {record.getMessage()}\n")
            elif record.levelno >= logging.WARNING:
                print(f"  server: {record.getMessage()}", file=sys.stderr, flush=True)

    stream_log.addHandler(SlowConsumers())
    tune_gc()  # as `backlay serve`
    cfg = replace(Config.load(data_dir=args.data_dir), currency="GBP", snapshot_every=NO_SNAPSHOTS,
                  stream_max_connections=args.max_connections, stream_workers=args.stream_workers)
    server = await Server.open(cfg)
    try:
        for cmd in bench_world(args.accounts, wall_clock_ms()):
            result = await server.submit(cmd)
            ok = result.ok if isinstance(result, AdminResult) else (
                isinstance(result, PlaceExecutionReport) and result.status == "SUCCESS")
            if not ok:
                raise RuntimeError(f"seeding failed: {cmd!r} -> {result!r}")
        for i in range(args.accounts):
            server.identity.create_user(_account(i), "bench-password", _account(i))
            server.identity.create_app_key(_account(i), "bench", delayed=False, app_key=_app_key(i))
        await server.start_stream(HOST, args.stream_tls_port or None, args.stream_port)
        await uvicorn.Server(_uvicorn_config(with_seq_header(server.app, server.engine), args.port)).serve()
    finally:
        await server.close()


def serve_main(args: argparse.Namespace) -> None:
    import uvloop

    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it was stopped with
        uvloop.run(_serve_baseline(args) if args.baseline else _serve(args))


# --- the baseline server (child process) ------------------------------------------------------------

BASELINE_REPLY = b'{"jsonrpc":"2.0","result":{"status":"SUCCESS"},"id":1}'


class Fanout:
    """The baseline's "hub": every request is a change; one cycle (call_soon, as the hub schedules its
    publish) writes one prepared change message, with its clock, to every subscribed connection."""

    def __init__(self) -> None:
        self.seq = 0
        self.conns: list[Any] = []
        self.scheduled = False

    def changed(self) -> None:
        self.seq += 1
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.publish)

    def clock(self) -> tuple[str, int]:
        from backlay.betfair.stream.clock import Clock, encode_clock

        now = time.time_ns() // 1_000_000
        return encode_clock(Clock(self.seq, now)), now

    def publish(self) -> None:
        self.scheduled = False
        clk, now = self.clock()
        # about the size (180 bytes) and shape of backlay's changes in this benchmark
        msg = (f'{{"op":"mcm","id":{SUB_ID},"clk":"{clk}","pt":{now},"mc":[{{"id":"{MARKET}",'
               f'"rc":[{{"id":{RUNNERS[0]},"batl":[[0,3.0,75.0],[1,3.05,75.0],[2,3.1,75.0]],"trd":[[2.0,600.0]]'
               f'}}]}}]}}\r\n').encode()
        for conn in self.conns:
            conn.transport.write(msg)


class BaselineStream(asyncio.Protocol):
    """Just enough of the Stream API for the subscribers: connection, two statuses, an image."""

    def __init__(self, fan: Fanout) -> None:
        self.fan = fan
        self.buf = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(b'{"op":"connection","connectionId":"baseline"}\r\n')

    def data_received(self, data: bytes) -> None:
        *lines, self.buf = (self.buf + data).split(b"\n")
        for line in lines:
            msg = json.loads(line)
            self.transport.write(json.dumps({"op": "status", "id": msg.get("id"), "statusCode": "SUCCESS",
                                             "connectionClosed": False}).encode() + b"\r\n")
            if msg.get("op") == "marketSubscription":
                clk, now = self.fan.clock()
                image = {"op": "mcm", "id": msg.get("id"), "ct": "SUB_IMAGE", "initialClk": clk, "clk": clk,
                         "pt": now, "mc": [{"id": MARKET, "img": True, "marketDefinition": {"status": "OPEN"},
                                            "rc": [{"id": r} for r in RUNNERS]}]}
                self.transport.write(json.dumps(image, separators=(",", ":")).encode() + b"\r\n")
                self.fan.conns.append(self)

    def connection_lost(self, exc: Exception | None) -> None:
        with contextlib.suppress(ValueError):
            self.fan.conns.remove(self)


async def _serve_baseline(args: argparse.Namespace) -> None:
    import uvicorn

    from backlay.runtime import tune_gc

    tune_gc()
    fan = Fanout()
    sessions = iter(range(1, 1 << 30))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        if scope["path"] == "/api/login":
            body = json.dumps({"token": f"baseline-{next(sessions)}", "product": "x", "status": "SUCCESS",
                               "error": ""}).encode()
        else:
            fan.changed()
            body = BASELINE_REPLY
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (SEQ_HEADER, str(fan.seq).encode())]})
        await send({"type": "http.response.body", "body": body})

    loop = asyncio.get_running_loop()
    ctx = None
    if args.stream_tls_port:
        from backlay.identity import tls

        cert, key = tls.ensure_server_cert(Path(args.data_dir) / "tls")
        ctx = tls.plain_server_ssl_context(cert, key)
        await loop.create_server(lambda: BaselineStream(fan), HOST, args.stream_tls_port, ssl=ctx, backlog=1024)
    await loop.create_server(lambda: BaselineStream(fan), HOST, args.stream_port, backlog=1024)
    await uvicorn.Server(_uvicorn_config(app, args.port)).serve()


# --- subscribers (child processes) ------------------------------------------------------------------


def clock_seq(token: bytes) -> int:
    """The seq in a backlay clock (stream/clock.py: base64 of a version byte and varints)."""
    raw = base64.urlsafe_b64decode(token)
    n = shift = 0
    for b in raw[1:]:
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n
    raise ValueError(f"not a clock: {token!r}")


def _subscription(app_key: str, token: str) -> tuple[bytes, bytes]:
    auth = {"op": "authentication", "id": 1, "appKey": app_key, "session": token}
    sub = {"op": "marketSubscription", "id": SUB_ID, "marketFilter": {"marketIds": [MARKET]},
           "marketDataFilter": {"fields": FIELDS, "ladderLevels": LEVELS}}
    return (json.dumps(auth) + "\r\n").encode(), (json.dumps(sub) + "\r\n").encode()


@dataclass
class Group:
    """What the connections of one subscriber process share."""

    recording: bool = False
    clocks: dict[bytes, int] = field(default_factory=dict)  # clk token -> seq
    pts: dict[int, int] = field(default_factory=dict)  # seq -> pt of the first message with that clk
    ready: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    ready_event: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0


CONNECTING, AUTHENTICATING, SUBSCRIBING, IMAGE, STREAMING = range(5)


def _arrival_ns(ancillary: list[tuple[int, int, bytes]], default: int) -> int:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack_from("qq", data)
            return int(sec) * 1_000_000_000 + int(nsec)
    return default


_READ_VIEWS = [memoryview(bytearray(256 * 1024))]  # one read buffer for every connection of the process


class Subscriber:
    """One stream connection on a raw non-blocking socket read with recvmsg, so that each read carries the
    kernel's receive timestamp (SO_TIMESTAMPNS: when the data reached this socket, whatever this process
    was busy with) beside the time this process read it. TLS, when asked, goes through an SSLObject.
    In STREAMING a message costs a few byte searches; the checker decodes every message in full."""

    def __init__(self, group: Group, app_key: str, token: str, slow: bool, checker: bool,
                 tls: ssl.SSLContext | None, rcvbuf: int = 0) -> None:
        self.group = group
        self.auth, self.sub = _subscription(app_key, token)
        self.slow = slow
        self.checker = checker
        self.rcvbuf = rcvbuf
        self.ctx = tls
        self.tls: ssl.SSLObject | None = None
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.sock: socket.socket | None = None
        self.loop = asyncio.get_running_loop()
        self.reading = False
        self.buf = b""
        self.state = CONNECTING
        self.records = array.array("q")  # (arrival ns, read ns, clk seq) per change message while recording
        self.image_seq = -1
        self.last_seq = -1
        self.backwards = 0
        self.heartbeats = 0
        self.changes = 0
        self.change_bytes = 0
        self.conflated = 0
        self.status_503 = 0
        self.statuses: list[str] = []  # status messages after the image (e.g. CONNECTION_FAILED)
        self.closed = ""
        self.bytes_read = 0
        self.cache: dict[int, dict[str, Any]] = {}  # checker: selection id -> ladders, ltp, tv
        self.recent: list[bytes] = []  # checker: the last messages, shown when the cache is wrong
        self.stopped_ns = 0  # slow readers: when they stopped reading
        self.unread_at_end = -1

    async def connect(self, port: int) -> None:
        sock = self.sock = socket.socket()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if self.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        await self.loop.sock_connect(sock, (HOST, port))
        if self.ctx is not None:
            self.tls = self.ctx.wrap_bio(self.incoming, self.outgoing)
            while True:
                try:
                    self.tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    out = self.outgoing.read()
                    if out:
                        await self.loop.sock_sendall(sock, out)
                    data = await self.loop.sock_recv(sock, 65536)
                    if not data:
                        raise ConnectionError("closed during the TLS handshake") from None
                    self.incoming.write(data)
            out = self.outgoing.read()
            if out:
                await self.loop.sock_sendall(sock, out)
        self.start_reading()
        if self.tls is not None and self.incoming.pending:
            self._feed(self._decrypt(b""), time.time_ns(), time.time_ns())

    def start_reading(self) -> None:
        if not self.reading and self.sock is not None and not self.closed:
            self.loop.add_reader(self.sock.fileno(), self._readable)
            self.reading = True

    def stop_reading(self) -> None:
        if self.reading and self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        if self.tls is not None:
            self.tls.write(data)
            data = self.outgoing.read()
        self.sock.send(data)  # a few hundred bytes into an empty socket buffer

    def _decrypt(self, data: bytes) -> bytes:
        assert self.tls is not None
        if data:
            self.incoming.write(data)
        parts = []
        while True:
            try:
                parts.append(self.tls.read(262144))
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
        return b"".join(parts)

    def _readable(self) -> None:
        assert self.sock is not None
        try:
            # into one preallocated buffer: recvmsg(n) would allocate (and, above 128 KiB, mmap) n bytes a call
            n, ancillary, _, _ = self.sock.recvmsg_into(_READ_VIEWS, 256)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._lost(f"{type(exc).__name__}: {exc}")
            return
        t = time.time_ns()
        if not n:
            self._lost("closed by the server (FIN)")
            return
        data = bytes(_READ_VIEWS[0][:n])
        self.bytes_read += n
        arrival = _arrival_ns(ancillary, t)
        if self.tls is not None:
            data = self._decrypt(data)
        if data:
            self._feed(data, arrival, t)

    def _feed(self, data: bytes, arrival: int, t: int) -> None:
        buf = self.buf + data if self.buf else data
        start = 0
        while True:
            end = buf.find(b"\r\n", start)
            if end < 0:
                break
            line = buf[start:end]
            start = end + 2
            if self.state == STREAMING:
                self._message(line, arrival, t)
            else:
                self._handshake(line)
        self.buf = buf[start:]

    def _message(self, line: bytes, arrival: int, t: int) -> None:
        if not line.startswith(b'{"op":"mcm"'):
            self.statuses.append(line.decode(errors="replace")[:300])
            return
        if b'"ct":"HEARTBEAT"' in line:
            self.heartbeats += 1
            return
        i = line.find(b'"clk":"') + 7
        token = line[i:line.find(b'"', i)]
        group = self.group
        seq = group.clocks.get(token)
        if seq is None:
            seq = group.clocks[token] = clock_seq(token)
            j = line.find(b'"pt":') + 5
            group.pts[seq] = int(line[j:line.find(b",", j)])
        if seq < self.last_seq:
            self.backwards += 1
        self.last_seq = seq
        self.changes += 1
        self.change_bytes += len(line) + 2
        if group.recording:
            self.records.append(arrival)
            self.records.append(t)
            self.records.append(seq)
        if b'"con":true' in line:
            self.conflated += 1
        if b'"status":503' in line:
            self.status_503 += 1
        if self.checker:
            self.recent.append(line)
            del self.recent[:-6]
            self._apply(json.loads(line))

    def _apply(self, msg: dict[str, Any]) -> None:
        """The checker: a client's market cache (absolute values; size 0 removes a level)."""
        for mc in msg.get("mc") or ():
            if mc.get("id") != MARKET:
                raise RuntimeError(f"a change for another market: {mc.get('id')}")
            if mc.get("img"):
                self.cache = {}
            for rc in mc.get("rc") or ():
                r = self.cache.setdefault(rc["id"], {"batb": {}, "batl": {}, "trd": {}, "ltp": None, "tv": None})
                for key in ("batb", "batl"):
                    for level, price, size in rc.get(key) or ():
                        if size == 0:
                            r[key].pop(level, None)
                        else:
                            r[key][level] = (price, size)
                for price, size in rc.get("trd") or ():
                    r["trd"][price] = size
                if "ltp" in rc:
                    r["ltp"] = rc["ltp"]
                if "tv" in rc:
                    r["tv"] = rc["tv"]

    def _handshake(self, line: bytes) -> None:
        msg = json.loads(line)
        op = msg.get("op")
        if self.state == CONNECTING and op == "connection":
            self.send(self.auth)
            self.state = AUTHENTICATING
        elif self.state == AUTHENTICATING and op == "status" and msg.get("statusCode") == "SUCCESS":
            self.send(self.sub)
            self.state = SUBSCRIBING
        elif self.state == SUBSCRIBING and op == "status" and msg.get("statusCode") == "SUCCESS":
            self.state = IMAGE
        elif self.state == IMAGE and op == "mcm" and msg.get("ct") == "SUB_IMAGE":
            mcs = msg.get("mc") or []
            if (len(mcs) != 1 or mcs[0].get("id") != MARKET or not mcs[0].get("img")
                    or len(mcs[0].get("rc") or ()) != len(RUNNERS) or "marketDefinition" not in mcs[0]):
                self._fail(f"unexpected image: {line[:300]!r}")
                return
            self.image_seq = self.last_seq = clock_seq(msg["clk"].encode())
            if self.checker:
                self._apply(msg)
            self.state = STREAMING
            if self.slow:
                self.stop_reading()
                self.stopped_ns = time.time_ns()
            self.group.ready += 1
            if self.group.ready >= self.group.expected:
                self.group.ready_event.set()
        else:
            self._fail(f"unexpected message in state {self.state}: {line[:300]!r}")

    def _fail(self, why: str) -> None:
        self.group.failed += 1
        self.group.errors.append(why)
        self.group.ready_event.set()
        self.close()

    def _lost(self, why: str) -> None:
        self.stop_reading()
        self.closed = self.closed or why
        if self.state != STREAMING:
            self._fail(f"connection lost before subscribing: {why}")

    def close(self) -> None:
        self.stop_reading()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def unread(self) -> int:
        """Bytes waiting in this socket's receive queue (a slow reader's backlog in the kernel)."""
        if self.sock is None:
            return -1
        try:
            return int(struct.unpack("i", fcntl.ioctl(self.sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])
        except OSError:
            return -1


async def subscribe_main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    creds = json.loads(Path(args.creds).read_text())
    group = Group(expected=args.count + args.slow)
    ctx = None
    if args.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    subs: list[Subscriber] = []

    async def connect(i: int, slow: bool) -> None:
        app_key, token = creds[i % len(creds)]
        sub = Subscriber(group, app_key, token, slow, checker=args.checker and i == 0 and not slow, tls=ctx,
                         rcvbuf=args.slow_rcvbuf if slow else 0)
        subs.append(sub)
        await sub.connect(args.stream_port)

    plan = [(args.first + i, False) for i in range(args.count)] + [(args.first + args.count + i, True)
                                                                      for i in range(args.slow)]
    for k in range(0, len(plan), 100):  # the listen backlog is 1,024
        await asyncio.gather(*(connect(i, slow) for i, slow in plan[k:k + 100]))
    try:
        await asyncio.wait_for(group.ready_event.wait(), timeout=120)
    except TimeoutError:
        group.errors.append(f"only {group.ready} of {group.expected} subscribed after 120 s")
    if group.failed or group.ready < group.expected:
        print(f"failed {group.failed} {json.dumps(group.errors[:3])}", flush=True)
        return
    print(f"ready {group.ready}", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "go": the publisher starts
    group.recording = True
    slow = [s for s in subs if s.slow]
    # "final <seq>": the publisher's last order; then wait until every connection has it
    final_seq = int((await loop.run_in_executor(None, sys.stdin.readline)).split()[1])
    deadline = time.monotonic() + TAIL_S
    while time.monotonic() < deadline and any(s.last_seq < final_seq and not s.closed for s in subs if not s.slow):
        await asyncio.sleep(0.05)
    group.recording = False
    for s in slow:  # read again: what was left in the socket, and how it ends
        s.unread_at_end = s.unread()
        s.start_reading()
    deadline = time.monotonic() + DRAIN_S
    while slow and time.monotonic() < deadline and any(not s.closed for s in slow):
        await asyncio.sleep(0.05)
    out = {
        "records": [s.records for s in subs if not s.slow],
        "image_seq": [s.image_seq for s in subs if not s.slow],
        "last_seq": [s.last_seq for s in subs if not s.slow],
        "backwards": sum(s.backwards for s in subs),
        "heartbeats": sum(s.heartbeats for s in subs if not s.slow),
        "changes": sum(s.changes for s in subs if not s.slow),
        "change_bytes": sum(s.change_bytes for s in subs if not s.slow),
        "conflated": sum(s.conflated for s in subs if not s.slow),
        "status_503": sum(s.status_503 for s in subs if not s.slow),
        "statuses": [st for s in subs if not s.slow for st in s.statuses][:5],
        "closed": sum(1 for s in subs if not s.slow and s.closed),
        "pts": group.pts,
        "cache": next((s.cache for s in subs if s.checker), None),
        "recent": next((s.recent for s in subs if s.checker), []),
        "slow": [{"stopped_ns": s.stopped_ns, "closed": s.closed, "unread_at_end": s.unread_at_end,
                  "bytes_read": s.bytes_read, "statuses": [st for st in s.statuses if "FAILURE" in st][:2],
                  "changes_read": s.changes} for s in slow],
    }
    Path(args.out).write_bytes(pickle.dumps(out))
    for s in subs:
        s.close()
    print("done", flush=True)


# --- the publisher (this process) -------------------------------------------------------------------


class SeqResponseReader(ResponseReader):
    """bench/http.py's reader, keeping the seq header of each response."""

    seq = -1

    def feed(self, data: bytes) -> tuple[int, bytes] | None:
        if self.total < 0:
            head = bytes(self.buf + data)
            i = head.lower().find(b"\r\n" + SEQ_HEADER + b":")
            if i >= 0:
                j = head.find(b"\r", i + 2)
                self.seq = int(head[i + len(SEQ_HEADER) + 3:j])
        return super().feed(data)


@dataclass
class Orders:
    sent_ns: array.array[int] = field(default_factory=lambda: array.array("q"))
    answered_ns: array.array[int] = field(default_factory=lambda: array.array("q"))
    seq: array.array[int] = field(default_factory=lambda: array.array("q"))
    errors: int = 0
    first_error: str = ""


class Publisher(asyncio.Protocol):
    def __init__(self, requests: list[bytes], rate: float, start_ns: int, end_ns: int, orders: Orders,
                 done: asyncio.Future[None], check_full: bool) -> None:
        self.requests = requests
        self.check_full = check_full
        self.interval_ns = int(1e9 / rate) if rate else 0
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.orders = orders
        self.done = done
        self.reader = SeqResponseReader()
        self.n = 0
        self.transport: Any = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def schedule(self) -> None:
        due = self.start_ns + self.n * self.interval_ns
        now = time.time_ns()
        if now >= self.end_ns:
            if not self.done.done():
                self.done.set_result(None)
        elif due > now:
            self.loop.call_later((due - now) / 1e9, self.send)
        else:
            self.send()

    def send(self) -> None:
        request = self.requests[self.n % len(self.requests)]
        self.n += 1
        self.orders.sent_ns.append(time.time_ns())
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        got = self.reader.feed(data)
        if got is None:
            return
        orders = self.orders
        orders.answered_ns.append(time.time_ns())
        orders.seq.append(self.reader.seq)
        status, body = got
        ok = _place_ok(status, body) and self.reader.seq > 0
        if ok and self.check_full and self.n <= 2:  # the first back and lay in full
            ok = _place_full(1)(json.loads(body))
        if not ok:
            orders.errors += 1
            orders.first_error = orders.first_error or f"HTTP {status}: {body[:200]!r}"
        self.schedule()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("server closed the publisher's connection"))


def publisher_requests(port: int, tokens: list[str]) -> list[bytes]:
    """Back, lay, back, lay... over the runners, rotating over the accounts: every lay matches the back
    just before it (another account's), so the book stays bounded and every order changes the market."""
    out = []
    for k in range(2 * len(RUNNERS) * len(tokens)):
        pair, side = divmod(k, 2)
        r = pair % len(RUNNERS)
        i = k % len(tokens)
        out.append(jsonrpc_request(port, _app_key(i), tokens[i], "placeOrders",
                                   _place_params([(RUNNERS[r], ("BACK", "LAY")[side], PRICES[r])])))
    return out


# --- orchestration ----------------------------------------------------------------------------------


@dataclass
class Case:
    server: str  # "backlay" | "baseline"
    transport: str  # "plain" | "tls"
    rate: float  # orders per second; 0: as fast as answered
    slow: int  # slow readers
    workers: int = 0  # backlay's stream workers

    @property
    def label(self) -> str:
        return f"{'max' if not self.rate else f'{self.rate:g}/s'}"


@dataclass
class Figures:
    case: Case
    connections: int
    orders_per_s: float
    deliveries_per_s: float
    changes_per_message: float
    order_deliveries_per_s: float  # (order, connection) pairs delivered: deliveries x changes/message
    p50_ms: float  # order sent -> message at the subscriber's socket (kernel timestamp)
    p99_ms: float
    max_ms: float
    read_p50_ms: float  # order sent -> message read by the subscriber process
    read_p99_ms: float
    pub_p50_ms: float  # pt -> message at the socket
    pub_p99_ms: float
    answer_p50_ms: float  # placeOrders round trip
    answer_p99_ms: float
    undelivered: int
    errors: int
    server_cpu: float
    subscriber_cpu: float
    publisher_cpu: float
    other_cpu: float
    notes: list[str]
    slow: list[dict[str, Any]]
    slow_closed_ns: list[int] = field(default_factory=list)  # when the server closed slow consumers


def _pct(sorted_values: list[int], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))] / 1e6


def _phases(closed_ns: list[int]) -> list[tuple[str, int, int]]:
    """(label, from, to) by the time orders were sent: before the slow readers were held back (the server
    stops writing to a connection whose buffer stays above the high-water mark, and closes it
    slow_consumer_s later: 10 s by default), while held back until their close and the abort 5 s after,
    and after that."""
    if not closed_ns:
        return []
    from backlay.betfair.stream.server import StreamLimits

    first, last = min(closed_ns), max(closed_ns)
    held, gone = first - int(StreamLimits().slow_consumer_s * 1e9), last + 5_000_000_000
    return [("before the slow readers were held back", 0, held),
            ("while they were held back, closed and reset", held, gone), ("after that", gone, 1 << 62)]


def _phase(phases: list[tuple[str, int, int]], t: int) -> int:
    return next(i for i, (_, a, b) in enumerate(phases) if a <= t < b)


def analyse(case: Case, orders: Orders, results: list[dict[str, Any]], warm_ns: int, end_ns: int,
            cpu: dict[str, float], slow_closed_ns: list[int]) -> Figures:
    """Every (order placed in the window, connection) pair: the first message on that connection whose
    clock covers the order's seq. Deliveries: messages that reached a socket in the window. When the
    server closed slow readers, the others' latencies are also split by phase (see `_phases`)."""
    seconds = (end_ns - warm_ns) / 1e9
    n = len(orders.seq)
    sent, seqs = orders.sent_ns[:n], orders.seq
    measured = [k for k in range(n) if warm_ns <= sent[k] <= end_ns]
    lo, hi = (measured[0], measured[-1] + 1) if measured else (0, 0)
    arrived: list[int] = []
    read: list[int] = []
    published: list[int] = []
    phases = _phases(slow_closed_ns)
    by_phase: list[list[int]] = [[] for _ in phases]
    phase_of = [_phase(phases, sent[j]) for j in range(n)] if phases else []
    deliveries = covered = undelivered = 0
    pts: dict[int, int] = {}
    for res in results:
        pts.update(res["pts"])
    for res in results:
        for rec in res["records"]:
            j = 0
            for m in range(0, len(rec), 3):
                a, t, s = rec[m], rec[m + 1], rec[m + 2]
                k0 = j
                while j < n and seqs[j] <= s:
                    if lo <= j < hi:
                        arrived.append(a - sent[j])
                        read.append(t - sent[j])
                        if phases:
                            by_phase[phase_of[j]].append(a - sent[j])
                    j += 1
                if warm_ns <= a <= end_ns:
                    deliveries += 1
                    covered += j - k0
                    published.append(a - pts[s] * 1_000_000)
            undelivered += max(0, hi - max(j, lo))
    for values in (arrived, read, published):
        values.sort()
    answered = sorted(orders.answered_ns[k] - sent[k] for k in range(lo, hi))
    notes: list[str] = []
    for (label, _, _), values in zip(phases, by_phase, strict=True):
        values.sort()
        notes.append(f"order→socket {label}: {len(values):,} deliveries, p50 {_pct(values, 0.5):.2f} p99 "
                     f"{_pct(values, 0.99):.2f} max {values[-1] / 1e6 if values else float('nan'):.1f} ms")
    backwards = sum(res["backwards"] for res in results)
    if backwards:
        notes.append(f"{backwards} messages with a clock older than the one before")
    closed = sum(res["closed"] for res in results)
    if closed:
        notes.append(f"{closed} subscribed connections were closed")
    statuses = [st for res in results for st in res["statuses"]]
    if statuses:
        notes.append(f"status messages: {statuses[:2]}")
    conflated = sum(res["conflated"] for res in results)
    s503 = sum(res["status_503"] for res in results)
    if conflated or s503:
        notes.append(f"{conflated:,} messages with con:true, {s503:,} with status 503")
    changes = sum(res["changes"] for res in results)
    notes.append(f"{sum(res['change_bytes'] for res in results) / max(1, changes):,.0f} bytes per change message")
    notes.append(f"{sum(res['heartbeats'] for res in results):,} heartbeats")
    return Figures(case, sum(len(res["records"]) for res in results), (hi - lo) / seconds, deliveries / seconds,
                   covered / deliveries if deliveries else 0.0, covered / seconds,
                   _pct(arrived, 0.5), _pct(arrived, 0.99), arrived[-1] / 1e6 if arrived else float("nan"),
                   _pct(read, 0.5), _pct(read, 0.99), _pct(published, 0.5), _pct(published, 0.99),
                   _pct(answered, 0.5), _pct(answered, 0.99), undelivered, orders.errors,
                   cpu["server"], cpu["subscribers"], cpu["publisher"], cpu["other"], notes,
                   [s for res in results for s in res["slow"]], slow_closed_ns)


def check_cache(cache: dict[int, dict[str, Any]] | None, book: dict[str, Any]) -> str:
    """The checker's cache against listMarketBook (EX_BEST_OFFERS): '' when they agree."""
    if cache is None:
        return "no checker"
    runners = book["result"][0]["runners"]
    for r in runners:
        c = cache.get(r["selectionId"])
        if c is None:
            return f"runner {r['selectionId']} missing from the stream cache"
        for key, side in (("batb", "availableToBack"), ("batl", "availableToLay")):
            want = [(p["price"], p["size"]) for p in r["ex"][side]][:LEVELS]
            got = [c[key][lvl] for lvl in sorted(c[key])]
            if got != want:
                return f"runner {r['selectionId']} {key}: stream {got} vs listMarketBook {want}"
        if r.get("lastPriceTraded") != c["ltp"]:
            return f"runner {r['selectionId']} ltp: stream {c['ltp']} vs listMarketBook {r.get('lastPriceTraded')}"
        if abs((r.get("totalMatched") or 0) - (c["tv"] or 0)) > 1e-6:
            return f"runner {r['selectionId']} tv: stream {c['tv']} vs listMarketBook {r.get('totalMatched')}"
    return ""


def _split(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def c_subscribers(args: argparse.Namespace, case: Case) -> bool:
    """Whether the plain connections other than the checker and the slow readers are C processes."""
    return bool(args.subscriber == "c" and case.transport == "plain")


def build_c_subscriber() -> Path:
    """bench/stream_sub.c, compiled with the system's C compiler into build/bench/ (once per source)."""
    src = ROOT / "bench" / "stream_sub.c"
    exe = ROOT / "build" / "bench" / "stream_sub"
    if exe.exists() and exe.stat().st_mtime >= src.stat().st_mtime:
        return exe
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("--subscriber c needs a C compiler (cc or gcc); or run with --subscriber python")
    exe.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-o", str(exe), str(src)], check=True)
    return exe


def read_c_results(path: Path) -> dict[str, Any]:
    """stream_sub's results file, as the dict a Python subscriber process pickles."""
    data = path.read_bytes()
    if data[:8] != b"BLSUB001":
        raise RuntimeError(f"{path}: not a stream_sub results file")
    pos = 8

    def take(n: int) -> array.array[int]:
        nonlocal pos
        a = array.array("q")
        a.frombytes(data[pos:pos + 8 * n])
        pos += 8 * n
        return a

    conns = []
    for _ in range(take(1)[0]):
        head = take(10)
        conns.append((head, take(head[9])))
    pts = take(2 * take(1)[0])
    statuses = []
    for _ in range(take(1)[0]):
        n = take(1)[0]
        statuses.append(data[pos:pos + n].decode(errors="replace"))
        pos += n
    return {
        "records": [rec for _head, rec in conns],
        "image_seq": [head[0] for head, _rec in conns],
        "last_seq": [head[1] for head, _rec in conns],
        "backwards": sum(head[2] for head, _rec in conns),
        "heartbeats": sum(head[3] for head, _rec in conns),
        "changes": sum(head[4] for head, _rec in conns),
        "change_bytes": sum(head[5] for head, _rec in conns),
        "conflated": sum(head[6] for head, _rec in conns),
        "status_503": sum(head[7] for head, _rec in conns),
        "statuses": statuses,
        "closed": sum(1 for head, _rec in conns if head[8]),
        "pts": {pts[i]: pts[i + 1] for i in range(0, len(pts), 2)},
        "cache": None,
        "recent": [],
        "slow": [],
    }


async def start_subscribers(args: argparse.Namespace, case: Case, creds: Path, work: Path, port: int,
                            env: dict[str, str], cpus: tuple[int, int] | None,
                            clients: list[asyncio.subprocess.Process]) -> None:
    """Start the subscriber processes into `clients` (so that the caller stops them whatever happens),
    the checker's first. With C subscribers, one Python process holds the checker and the slow readers,
    and `--client-procs` C processes the other connections."""
    exe = build_c_subscriber() if c_subscribers(args, case) else None
    if exe is not None:
        plan = [(1, case.slow)] + [(n, 0) for n in _split(args.connections - 1, args.client_procs) if n]
    else:
        plan = list(zip(_split(args.connections, args.client_procs), _split(case.slow, args.client_procs),
                        strict=True))
    first = 0
    logins = json.loads(creds.read_text())
    for p, (count, slow) in enumerate(plan):
        out = work / f"sub{p}.out"
        if exe is not None and p > 0:
            lines = work / f"sub{p}.lines"
            lines.write_bytes(b"".join(a + s for a, s in (_subscription(*logins[i % len(logins)])
                                                          for i in range(first, first + count))))
            sub_cmd = [str(exe), str(port), str(lines), str(count), str(out), str(args.c_pause_us)]
        else:
            sub_cmd = [sys.executable, "-m", "bench.stream", "--subscribe", "--stream-port", str(port),
                       "--creds", str(creds), "--first", str(first), "--count", str(count), "--slow", str(slow),
                       "--out", str(out), "--slow-rcvbuf", str(args.slow_rcvbuf)]
            if p == 0:
                sub_cmd.append("--checker")
            if case.transport == "tls":
                sub_cmd.append("--tls")
        first += count + slow
        proc = await asyncio.create_subprocess_exec(*sub_cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                                    stdout=subprocess.PIPE)
        if cpus is not None:
            os.sched_setaffinity(proc.pid, {cpus[1]})
        clients.append(proc)


async def measure(args: argparse.Namespace, case: Case, env: dict[str, str], cpus: tuple[int, int] | None) -> Figures:
    work = Path(tempfile.mkdtemp(prefix="backlay-bench-stream-"))
    port, stream_port, tls_port = free_port(), free_port(), free_port()
    cmd = [sys.executable, "-m", "bench.stream", "--serve", "--port", str(port), "--stream-port", str(stream_port),
           "--data-dir", str(work / "data"), "--accounts", str(args.accounts),
           "--max-connections", str(args.connections + args.slow_readers + 10),
           "--stream-workers", str(case.workers)]
    if case.server == "baseline":
        cmd.append("--baseline")
    if case.transport == "tls":
        cmd += ["--stream-tls-port", str(tls_port)]
    worker_log = work / "workers-log.txt"
    if case.workers:  # the workers log their slow-consumer closes (INFO) to the server's stderr
        work.mkdir(parents=True, exist_ok=True)
        with worker_log.open("wb") as log_file:
            server = subprocess.Popen(cmd, cwd=ROOT, env={**env, "BACKLAY_LOG_LEVEL": "INFO"}, stderr=log_file)
    else:
        server = subprocess.Popen(cmd, cwd=ROOT, env=env)
    if cpus is not None:
        os.sched_setaffinity(server.pid, {cpus[0]})
    clients: list[asyncio.subprocess.Process] = []
    profiler: subprocess.Popen[bytes] | None = None
    try:
        await wait_listening(server, port)
        tokens = await login_all(port, args.accounts)
        creds = work / "creds.json"
        creds.write_text(json.dumps([[_app_key(i), t] for i, t in enumerate(tokens)]))
        await start_subscribers(args, case, creds, work, tls_port if case.transport == "tls" else stream_port, env,
                                cpus, clients)
        for proc in clients:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), timeout=180)).decode().strip()
            if not line.startswith("ready"):
                raise RuntimeError(f"a subscriber process failed: {line!r}")
        # Every connection has its image. Publish, then stop them.
        loop = asyncio.get_running_loop()
        start_ns = time.time_ns() + 200_000_000
        warm_ns = start_ns + int(args.warmup * 1e9)
        seconds = args.slow_seconds if case.slow and args.slow_seconds else args.seconds
        end_ns = warm_ns + int(seconds * 1e9)
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        orders = Orders()
        done: asyncio.Future[None] = loop.create_future()
        requests = publisher_requests(port, tokens)
        transport, publisher = await loop.create_connection(
            lambda: Publisher(requests, case.rate, start_ns, end_ns, orders, done, case.server == "backlay"),
            HOST, port)
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.sleep(max(0.0, (start_ns - time.time_ns()) / 1e9))
        publisher.schedule()
        await asyncio.sleep(max(0.0, (warm_ns - time.time_ns()) / 1e9))
        pids = [p.pid for p in clients]
        workers = _children(server.pid)
        snap0 = (_cpu_seconds(server.pid), sum(_cpu_seconds(p) for p in workers), sum(_cpu_seconds(p) for p in pids), time.process_time(), _busy_seconds(),
                 time.perf_counter())
        if args.profile:
            py_spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
            if py_spy is None:
                raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
            profiler = subprocess.Popen([py_spy, "record", "-p", str(server.pid), "-d", str(int(seconds)),
                                         "-r", "200", "-f", "raw", "-o", f"{args.profile}.{case.server}.{case.transport}."
                                         f"{case.label.replace('/', '')}.slow{case.slow}.txt"],
                                        stdout=subprocess.DEVNULL)
        await asyncio.sleep(max(0.0, (end_ns - time.time_ns()) / 1e9))
        snap1 = (_cpu_seconds(server.pid), sum(_cpu_seconds(p) for p in workers), sum(_cpu_seconds(p) for p in pids), time.process_time(), _busy_seconds(),
                 time.perf_counter())
        rss = _rss_mib(server.pid)
        await asyncio.wait_for(done, timeout=60)
        transport.close()
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write(f"final {max(orders.seq, default=0)}\n".encode())
            await proc.stdin.drain()
        results = []
        for p, proc in enumerate(clients):
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), timeout=120)).decode().strip()
            if line != "done":
                raise RuntimeError(f"a subscriber process did not finish: {line!r}")
            out = work / f"sub{p}.out"
            results.append(pickle.loads(out.read_bytes()) if p == 0 or not c_subscribers(args, case)
                           else read_c_results(out))
        book_req = jsonrpc_request(port, _app_key(0), tokens[0], "listMarketBook",
                                   {"marketIds": [MARKET], "priceProjection": {"priceData": ["EX_BEST_OFFERS"]}})
        status, body = await roundtrip(port, book_req) if case.server == "backlay" else (0, b"")
        wall = snap1[5] - snap0[5]
        main_cpu, workers_cpu = (snap1[0] - snap0[0]) / wall, (snap1[1] - snap0[1]) / wall
        cpu = {"server": main_cpu + workers_cpu, "subscribers": (snap1[2] - snap0[2]) / wall,
               "publisher": (snap1[3] - snap0[3]) / wall}
        cpu["other"] = max(0.0, (snap1[4] - snap0[4]) / wall - sum(cpu.values()))
        events = work / "server-events.txt"
        closed_ns = [int(line.split()[0]) for line in events.read_text().splitlines() if line] if events.exists() else []
        if case.workers:
            closed_ns += _worker_closes(worker_log)
        fig = analyse(case, orders, results, warm_ns, end_ns, cpu, closed_ns)
        if case.server == "backlay":
            mismatch = (check_cache(results[0]["cache"], json.loads(body)) if status == 200
                        else f"listMarketBook: HTTP {status}")
            if mismatch:
                fig.errors += 1
                fig.notes.append(f"checker: {mismatch}; its last messages: {results[0]['recent']}")
            else:
                fig.notes.append("checker's cache = listMarketBook")
        if orders.errors:
            fig.notes.append(f"publisher: {orders.errors} bad responses, first: {orders.first_error}")
        fig.notes.append(f"server RSS {rss:,.0f} MiB")
        if workers:
            fig.notes.append(f"server CPU: {main_cpu:.0%} the server process, {workers_cpu:.0%} its "
                             f"{len(workers)} stream workers")

        return fig
    finally:
        if profiler is not None:
            profiler.wait()
        for proc in clients:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        stop_server(server)
        shutil.rmtree(work, ignore_errors=True)


def _worker_closes(path: Path) -> list[int]:
    """When the stream workers closed slow consumers, from their log lines (stream/workers.py's format:
    local time to the millisecond first); other warnings are passed on."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if "slow consumer" in line:
            stamp, ms = line[:23].split(",")
            out.append(int(time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) * 1e9) + int(ms) * 1_000_000)
        elif " INFO " not in line:
            print(f"  server: {line}", file=sys.stderr, flush=True)
    return out


def _children(pid: int) -> list[int]:
    """The server's child processes (its stream workers), which the server's CPU figure includes."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _line(f: Figures) -> str:
    return (f"{f.case.server:8s} {f.case.transport:5s} {f.case.label:>6s} slow {f.case.slow}  "
            f"{f.orders_per_s:7,.0f} orders/s  {f.deliveries_per_s:9,.0f} deliveries/s  "
            f"{f.changes_per_message:5.2f} changes/msg  {f.order_deliveries_per_s:9,.0f} order deliveries/s  order→socket p50 {f.p50_ms:6.2f} p99 {f.p99_ms:6.2f} "
            f"max {f.max_ms:6.1f} ms  order→read p50 {f.read_p50_ms:6.2f} p99 {f.read_p99_ms:6.2f} ms  "
            f"publish→socket p50 {f.pub_p50_ms:5.2f} p99 {f.pub_p99_ms:5.2f} ms  "
            f"placeOrders p50 {f.answer_p50_ms:5.2f} p99 {f.answer_p99_ms:5.2f} ms  undelivered {f.undelivered}  "
            f"errors {f.errors}  CPU server {f.server_cpu:.0%} subscribers {f.subscriber_cpu:.0%} "
            f"publisher {f.publisher_cpu:.0%} other {f.other_cpu:.0%}; {'; '.join(f.notes)}")


def _slow_lines(f: Figures) -> list[str]:
    if not f.slow:
        return []
    stopped = min(s["stopped_ns"] for s in f.slow)
    closes = [f"{(t - stopped) / 1e9:.1f} s" for t in f.slow_closed_ns]
    out = [f"  slow readers: {len(f.slow)} stopped reading after their image; the server closed "
           f"{len(closes)} as slow consumers{' at ' + ', '.join(closes) if closes else ''} after that"]
    for s in f.slow:
        seen = f"; its last status: {s['statuses'][-1]}" if s["statuses"] else "; no status message"
        out.append(f"  slow reader: {s['unread_at_end']:,} bytes waiting unread in its socket at the end; reading "
                   f"again: {s['changes_read']:,} change messages ({s['bytes_read']:,} bytes) in all, then "
                   f"{s['closed'] or 'still open'}{seen}")
    return out


def _fmt_table(results: list[Figures]) -> str:
    lines = ["| server | stream | publisher | slow readers | orders/s | deliveries/s | changes/message "
             "| order deliveries/s "
             "| p50 ms | p99 ms | max ms | p99 ms, read | publish→socket p99 ms | placeOrders p99 ms "
             "| server CPU | subscribers CPU | publisher CPU | other CPU |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in results:
        server = ("baseline (bare fan-out)" if f.case.server == "baseline"
                  else f"backlay, {f.case.workers} stream workers" if f.case.workers else "backlay")
        lines.append(f"| {server} | {f.case.transport} | {f.case.label} | {f.case.slow} | {f.orders_per_s:,.0f} "
                     f"| {f.deliveries_per_s:,.0f} | {f.changes_per_message:.2f} | {f.order_deliveries_per_s:,.0f} | {f.p50_ms:.2f} | {f.p99_ms:.2f} "
                     f"| {f.max_ms:.1f} | {f.read_p99_ms:.2f} | {f.pub_p99_ms:.2f} | {f.answer_p99_ms:.2f} "
                     f"| {f.server_cpu:.0%} | {f.subscriber_cpu:.0%} | {f.publisher_cpu:.0%} | {f.other_cpu:.0%} |")
    return "\n".join(lines)


async def bench(args: argparse.Namespace, env: dict[str, str], cpus: tuple[int, int] | None) -> list[Figures]:
    cases = [Case("baseline", t, r, 0) for t in args.transports for r in args.rates if "baseline" in args.servers]
    cases += [Case("backlay", t, r, s, args.stream_workers) for t in args.transports for r in args.rates
              for s in ([0, args.slow_readers] if args.slow_readers else [0]) if "backlay" in args.servers]
    results = []
    for case in cases:
        best: Figures | None = None
        for attempt in range(1, args.tries + 1):
            f = await measure(args, case, env, cpus)
            print(_line(f), flush=True)
            for line in _slow_lines(f):
                print(line, flush=True)
            if best is None or f.other_cpu < best.other_cpu:
                best = f
            if f.other_cpu <= args.max_other or attempt == args.tries:
                break
            print(f"  something else used {f.other_cpu:.0%} of a CPU: again in {RETRY_PAUSE_S} s", flush=True)
            await asyncio.sleep(RETRY_PAUSE_S)
        assert best is not None
        results.append(best)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=1000, help="subscribed connections (default 1000)")
    ap.add_argument("--rates", default="25,100,max",
                    help="comma-separated publisher rates in orders per second; max: as fast as answered")
    ap.add_argument("--slow-readers", type=int, default=3,
                    help="each rate again with this many connections that stop reading (0: not)")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    ap.add_argument("--slow-seconds", type=float, default=0.0,
                    help="measured seconds of the runs with slow readers (default: --seconds)")
    ap.add_argument("--slow-rcvbuf", type=int, default=0,
                    help="SO_RCVBUF of the slow readers' sockets (default: the system's), so that their buffers "
                         "fill sooner")
    ap.add_argument("--servers", default="baseline,backlay",
                    help="baseline: a bare uvloop fan-out of one prepared message per request; backlay: the "
                         "real server (default both)")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of publishing before measuring")
    ap.add_argument("--client-procs", type=int, default=1, help="subscriber processes (default 1)")
    ap.add_argument("--subscriber", choices=("c", "python"), default="c",
                    help="c (default): the plain connections other than the checker and the slow readers are "
                         "bench/stream_sub.c, built with the system's C compiler; python: all are Python")
    ap.add_argument("--c-pause-us", type=int, default=1000,
                    help="C subscribers: pause after each round of reads, microseconds (default 1000; 0: wait "
                         "in epoll at once; see bench/stream_sub.c)")
    ap.add_argument("--streams", default="plain", help="comma-separated, of plain, tls: the stream listener(s) "
                    "to measure (default plain)")
    ap.add_argument("--tls", action="store_true", help=argparse.SUPPRESS)  # subscribers: speak TLS
    ap.add_argument("--accounts", type=int, default=64, help="bench accounts the orders and logins rotate over")
    ap.add_argument("--max-other", type=float, default=0.10,
                    help="measure again when other processes used more than this share of a CPU (default 0.10)")
    ap.add_argument("--tries", type=int, default=3, help="measurements at most per row (default 3)")
    ap.add_argument("--pin", action="store_true", help="pin the server to CPU 0 and the subscribers to CPU 1")
    ap.add_argument("--compiled", action="store_true", help="the server runs the mypyc-compiled core")
    ap.add_argument("--stream-workers", type=int, default=0,
                    help="backlay serves the stream from this many worker processes (default 0: its own loop)")
    ap.add_argument("--profile", metavar="FILE",
                    help="sample the server with py-spy (installed separately) over each measured window: "
                         "FILE.<row>.txt, collapsed stacks")
    # child processes
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--subscribe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--stream-port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--stream-tls-port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help=argparse.SUPPRESS)
    ap.add_argument("--max-connections", type=int, default=2000, help=argparse.SUPPRESS)
    ap.add_argument("--creds", help=argparse.SUPPRESS)
    ap.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--slow", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--checker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    import uvloop

    if args.serve:
        serve_main(args)
        return
    if args.subscribe:
        uvloop.run(subscribe_main(args))
        return
    args.rates = [0.0 if r.strip() == "max" else float(r) for r in args.rates.split(",") if r.strip()]
    args.transports = [t.strip() for t in args.streams.split(",") if t.strip()]
    for t in args.transports:
        if t not in ("plain", "tls"):
            ap.error(f"unknown stream {t!r}; plain or tls")
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    need = args.connections + args.slow_readers + 100
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))  # inherited by the children
            soft = min(hard, need)
    except (ImportError, ValueError, OSError):
        soft = need
    if soft < need:
        sys.exit(f"the open-files limit ({soft}) is below the {need} descriptors this run needs (ulimit -n)")
    env = dict(os.environ)
    if args.compiled:
        subprocess.run([str(ROOT / "scripts/compile-core.sh")], check=True)
        env["PYTHONPATH"] = str(ROOT / "build/mypyc")
    cpus = (0, 1) if args.pin else None
    if args.pin:
        os.sched_setaffinity(0, {1})
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{Path('/proc/loadavg').read_text().split()[0]}, core {'mypyc-compiled' if args.compiled else 'pure Python'}; "
          f"{args.connections} connections in {args.client_procs} subscriber process(es)"
          f"{' of C plus one Python process (the checker, slow readers)' if args.subscriber == 'c' else ''}; "
          f"{args.warmup:g} s warm-up "
          f"+ {args.seconds:g} s per run; journal: SQLite WAL, synchronous=FULL{'; pinned' if args.pin else ''}",
          flush=True)
    results = uvloop.run(bench(args, env, cpus))
    print()
    print(_fmt_table(results))
    if any(f.errors or f.undelivered for f in results):
        sys.exit("errors or undelivered changes: the figures above are not valid")


if __name__ == "__main__":
    main()
