"""HTTP benchmark: the real server (durable journal) and a bare ASGI baseline, measured in one run.

    .venv/bin/python -m bench.http [--seconds N] [--warmup N] [--connections 1,10,100]
                                   [--scenarios baseline,book,place1,place200] [--accounts N]
                                   [--accounts-place200 N] [--pin] [--compiled] [--max-other F] [--tries N]
                                   [--profile FILE]

Two server processes, started here and stopped at the end, under the same uvicorn configuration as
`backlay serve` (httptools, uvloop, one event loop):

- *baseline*: a minimal ASGI app that reads the request body and answers a small fixed JSON body;
- *backlay*: `Server.open` on a fresh temporary data directory with the defaults of `backlay serve`
  (SQLite journal in WAL mode, synchronous=FULL: every reply waits for its batch's fsync), seeded with
  a bench world: `--accounts` funded accounts with a login and an application key each, and one open
  3-runner market with a static book (5 price levels each side of every runner, from a maker account).
  Every backlay scenario gets its own freshly seeded server. Periodic snapshots are off (one would land
  in some measurements and not in others); the snapshot written at shutdown is timed instead.

This process is the load generator: uvloop, one raw HTTP/1.1 keep-alive connection per client, one
request in flight per connection, request bytes prepared in advance. Scenarios:

- *baseline*: the placeOrders (1 instruction) request, sent to the baseline app;
- *listMarketBook*: the bench market with EX_BEST_OFFERS;
- *placeOrders ×1*: one instruction per request; each connection alternates a back and a lay at the
  same price inside the spread, so every lay matches a resting back and the book stays bounded;
- *placeOrders ×200*: the same with 200 instructions per request over the 3 runners: a request of
  200 backs, then one of 200 lays that match them (a request may not hold a back and a lay that would
  match each other).

Requests rotate over the accounts. The server allows 1,000 instructions per second per account
(003:L9993-9995), so ×200 gets accounts of its own (`--accounts-place200`, default 512: a ceiling of
512,000 instructions/s, several times what the journaled engine itself does); a run whose rate comes
within 80% of the ceiling is flagged, and a TOO_MANY_REQUESTS answer counts as an error.

After the HTTP runs, the same ×200 commands (200 backs, then 200 lays, rotating over the accounts) go
through the journaled engine in-process (`Engine.submit_batch` on SQLite, one fsync per batch of as many
commands as there were connections, as the sequencer groups concurrent requests), in a process of its
own with the servers' core: the table beside the HTTP figures gives both instruction rates, their ratio,
and what the HTTP edge adds per instruction.
Every response is checked (HTTP status, no JSON-RPC error, no FAILURE or errorCode; the first two
responses of every connection, a back and a lay, are decoded and checked in full: every instruction
SUCCESS, every lay matched in full); the error count is reported and must be 0.
Figures are taken over `--seconds` after `--warmup`; CPU columns are the share of one core used by
the server process, by this load generator and by everything else on the machine (/proc/stat; it
should be near 0%: anything else running spoils the figures) over the same window. A measurement
disturbed by other processes (above --max-other) is taken again, up to --tries times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MARKET = "1.500000001"
RUNNERS = (1001, 1002, 1003)
PRICES = (2.0, 2.2, 2.4)  # one per runner, inside every runner's spread (1.54 / 3.00)
SIZE = 5.0
PASSWORD = "bench-password"
JSONRPC_PATH = "/exchange/betting/json-rpc/v1"
RETRY_PAUSE_S = 10
NO_SNAPSHOTS = 10**15
BASELINE_BODY = b'{"jsonrpc":"2.0","result":{"status":"SUCCESS"},"id":1}'
SCENARIOS = {  # name on the command line -> label in the table
    "baseline": "baseline (bare ASGI)",
    "book": "listMarketBook (EX_BEST_OFFERS)",
    "place1": "placeOrders ×1",
    "place200": "placeOrders ×200",
}


def _account(i: int) -> str:
    return f"bench{i:04d}"


def _app_key(i: int) -> str:
    return f"bench-key-{i:04d}"


def _uvicorn_config(app: Any, port: int) -> Any:
    import uvicorn

    # As `backlay serve` (src/backlay/server.py).
    return uvicorn.Config(app, host=HOST, port=port, log_level="warning", http="httptools", loop="none",
                          lifespan="off", timeout_keep_alive=180, access_log=False,
                          proxy_headers=False)


# --- the servers (child processes) ------------------------------------------------------------------


async def baseline_app(scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(BASELINE_BODY)).encode())]})
    await send({"type": "http.response.body", "body": BASELINE_BODY})


async def _serve_baseline(port: int) -> None:
    import uvicorn

    from backlay.runtime import tune_gc

    tune_gc()
    await uvicorn.Server(_uvicorn_config(baseline_app, port)).serve()


PLACE200_SIDES = ("BACK", "LAY")


def place200_instructions() -> list[list[tuple[int, str, float]]]:
    """The ×200 requests' instructions: 200 backs at one price per runner, then 200 lays that match them
    (a request may not hold a back and a lay that would match each other)."""
    return [[(RUNNERS[i % 3], side, PRICES[i % 3]) for i in range(200)] for side in PLACE200_SIDES]


def engine_rate(n_accounts: int, batch: int, seconds: float) -> float:
    """Instructions per second of the ×200 commands through the journaled engine, `batch` per fsync."""
    from backlay.core.commands import LimitOrder, PlaceInstruction, PlaceOrders
    from backlay.engine.engine import Engine, wall_clock_ms
    from backlay.engine.sqlite import SqliteJournal
    from backlay.runtime import tune_gc

    tune_gc()
    sides = [[PlaceInstruction(order_type="LIMIT", selection_id=sel, side=0 if side == "BACK" else 1,
                               limit=LimitOrder(price_h=round(price * 100), size_minor=round(SIZE * 100),
                                                persistence="LAPSE"))
              for sel, side, price in many] for many in place200_instructions()]
    with tempfile.TemporaryDirectory(prefix="backlay-bench-engine-") as d:
        engine = Engine(SqliteJournal(Path(d) / "journal.db"))
        engine.recover()
        engine.submit_batch(bench_world(n_accounts, wall_clock_ms()), wall_clock_ms())
        # each account alternates a back request and a lay request, as each connection does over HTTP
        turn = [0] * n_accounts
        sent = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            cmds = []
            for _ in range(batch):
                a = sent % n_accounts
                cmds.append(PlaceOrders(account_id=_account(a), market_id=MARKET, instructions=sides[turn[a] % 2]))
                turn[a] += 1
                sent += 1
            engine.submit_batch(cmds, wall_clock_ms())
        elapsed = time.perf_counter() - t0
        engine.close()
    return sent * 200 / elapsed


def bench_world(n_accounts: int, now_ms: int) -> list[Any]:
    from backlay.core.commands import (
        CreateAccount,
        CreateMarket,
        Deposit,
        LimitOrder,
        MarketDefinition,
        PlaceInstruction,
        PlaceOrders,
        RunnerDefinition,
        SetMarketStatus,
    )

    cmds: list[Any] = []
    for a in ["maker", *(_account(i) for i in range(n_accounts))]:
        cmds.append(CreateAccount(account_id=a))
        cmds.append(Deposit(account_id=a, amount_minor=10**12, reference="bench"))
    start = now_ms + 24 * 3600 * 1000
    cmds.append(CreateMarket(market_id=MARKET, definition=MarketDefinition(
        name="Match Odds", market_type="MATCH_ODDS", event_type_id="1", event_type_name="Soccer",
        event_id="95000001", event_name="Bench United v Mark City", open_date_ms=start, market_time_ms=start),
        runners=[RunnerDefinition(selection_id=s, name=f"Runner {s}", sort_priority=i + 1)
                 for i, s in enumerate(RUNNERS)]))
    cmds.append(SetMarketStatus(market_id=MARKET, status="OPEN"))
    # The static book: lays at 1.50-1.54 (available to back) and backs at 3.00-3.20 (available to lay).
    for sel in RUNNERS:
        instructions = []
        for side, prices in ((1, (150, 151, 152, 153, 154)), (0, (300, 305, 310, 315, 320))):
            for price_h in prices:
                for size in (1_000, 2_500, 4_000):
                    instructions.append(PlaceInstruction(order_type="LIMIT", selection_id=sel, side=side, limit=LimitOrder(
                        price_h=price_h, size_minor=size, persistence="PERSIST")))
        cmds.append(PlaceOrders(account_id="maker", market_id=MARKET, instructions=instructions))
    return cmds


async def _serve_backlay(port: int, data_dir: Path, n_accounts: int) -> None:
    import uvicorn

    from backlay.config import Config
    from backlay.core.reports import AdminResult, PlaceExecutionReport
    from backlay.engine.engine import wall_clock_ms
    from backlay.runtime import tune_gc
    from backlay.server import Server

    tune_gc()  # as `backlay serve`
    # The defaults of `backlay serve` (SQLite, WAL, synchronous=FULL), but no periodic snapshot: one would
    # land in some measurement and not others. Its cost is reported instead: the shutdown writes one.
    cfg = replace(Config.load(data_dir=data_dir), currency="GBP", snapshot_every=NO_SNAPSHOTS)
    server = await Server.open(cfg)
    try:
        for cmd in bench_world(n_accounts, wall_clock_ms()):
            result = await server.submit(cmd)
            ok = result.ok if isinstance(result, AdminResult) else (
                isinstance(result, PlaceExecutionReport) and result.status == "SUCCESS")
            if not ok:
                raise RuntimeError(f"seeding failed: {cmd!r} -> {result!r}")
        for i in range(n_accounts):
            server.identity.create_user(_account(i), PASSWORD, _account(i))
            server.identity.create_app_key(_account(i), "bench", delayed=False, app_key=_app_key(i))
        await uvicorn.Server(_uvicorn_config(server.app, port)).serve()
    finally:
        n_orders, t0 = len(server.engine.exchange.orders), time.perf_counter()
        await server.close()
        print(f"  backlay server: {server.engine.seq:,} commands journaled, {n_orders:,} orders; "
              f"shutdown with its snapshot took {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)


def serve_main(args: argparse.Namespace) -> None:
    import uvloop

    profiler = None
    if args.profile and args.serve == "backlay":
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        # uvicorn re-raises the SIGINT it was stopped with once it has shut down.
        with contextlib.suppress(KeyboardInterrupt):
            if args.serve == "baseline":
                uvloop.run(_serve_baseline(args.port))
            else:
                uvloop.run(_serve_backlay(args.port, Path(args.data_dir), args.accounts))
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)


# --- HTTP/1.1 client ---------------------------------------------------------------------------------


def http_request(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}:{port}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def jsonrpc_request(port: int, app_key: str, token: str, method: str, params: dict[str, Any]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "method": f"SportsAPING/v1.0/{method}", "params": params, "id": 1},
                      separators=(",", ":")).encode()
    return http_request(port, JSONRPC_PATH, body, {"X-Application": app_key, "X-Authentication": token,
                                                   "Content-Type": "application/json"})


class ResponseReader:
    """Incremental parser of HTTP/1.1 responses with a Content-Length (what uvicorn sends here)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.head_end = -1
        self.total = -1
        self.status = 0

    def feed(self, data: bytes) -> tuple[int, bytes] | None:
        """Add bytes; (status, body) once a whole response is in, else None."""
        buf = self.buf
        buf += data
        if self.total < 0:
            i = buf.find(b"\r\n\r\n")
            if i < 0:
                return None
            head = bytes(buf[:i]).lower()
            self.status = int(head[9:12])
            j = head.find(b"\r\ncontent-length:")
            if j < 0:
                raise RuntimeError(f"response without content-length: {head!r}")
            k = head.find(b"\r", j + 17)
            self.head_end = i + 4
            self.total = i + 4 + int(head[j + 17:k if k >= 0 else len(head)])
        if len(buf) < self.total:
            return None
        body = bytes(buf[self.head_end:self.total])
        del buf[:self.total]
        self.total = -1
        if buf:
            raise RuntimeError("unexpected bytes after a response (one request in flight per connection)")
        return self.status, body


async def roundtrip(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        parser = ResponseReader()
        while True:
            data = await reader.read(65536)
            if not data:
                raise RuntimeError("connection closed before the response")
            done = parser.feed(data)
            if done is not None:
                return done
    finally:
        writer.close()


# --- scenarios ---------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    port: int
    requests: list[list[bytes]]  # [account][variant] -> request bytes; a connection cycles its variants
    check: Callable[[int, bytes], bool]  # fast check of every response
    check_full: Callable[[Any], bool]  # full check of a decoded response (first two of each connection)
    instructions: int = 0


def _place_params(instructions: list[tuple[int, str, float]]) -> dict[str, Any]:
    return {"marketId": MARKET, "instructions": [
        {"selectionId": sel, "handicap": 0, "side": side, "orderType": "LIMIT",
         "limitOrder": {"size": SIZE, "price": price, "persistenceType": "LAPSE"}}
        for sel, side, price in instructions]}


def _fast_ok(status: int, body: bytes) -> bool:
    return status == 200 and b'"error"' not in body and b"FAILURE" not in body and b'"errorCode"' not in body


def _place_ok(status: int, body: bytes) -> bool:
    return _fast_ok(status, body) and b'"status":"SUCCESS"' in body


def _place_full(n: int) -> Callable[[Any], bool]:
    def check(doc: Any) -> bool:
        result = doc.get("result") or {}
        reports = result.get("instructionReports") or []
        return (result.get("status") == "SUCCESS" and len(reports) == n
                and all(r.get("status") == "SUCCESS" for r in reports)
                # every lay matches a resting back in full (see build_scenario)
                and all(r.get("sizeMatched") == SIZE for r in reports if r["instruction"]["side"] == "LAY"))
    return check


def _book_ok(status: int, body: bytes) -> bool:
    return _fast_ok(status, body) and b'"availableToBack"' in body


def _book_full(doc: Any) -> bool:
    books = doc.get("result") or []
    return (len(books) == 1 and len(books[0].get("runners", [])) == len(RUNNERS)
            and all(len(r["ex"]["availableToBack"]) == 3 and len(r["ex"]["availableToLay"]) == 3
                    for r in books[0]["runners"]))


def _baseline_full(doc: Any) -> bool:
    return bool(doc.get("result", {}).get("status") == "SUCCESS")


def build_scenario(name: str, port: int, tokens: list[str]) -> Scenario:
    one_back = _place_params([(RUNNERS[0], "BACK", 2.0)])
    one_lay = _place_params([(RUNNERS[0], "LAY", 2.0)])
    # A back and a lay that would match each other may not share a request (INVALID_BACK_LAY_COMBINATION),
    # so ×200 alternates 200 backs and 200 lays at one price per runner, as ×1 alternates a back and a lay.
    # Every connection sends its backs before its lays, so every lay finds resting backs: it matches in
    # full, nothing crosses, and the book holds at most 200 resting backs per connection.
    many = place200_instructions()
    book = {"marketIds": [MARKET], "priceProjection": {"priceData": ["EX_BEST_OFFERS"]}}

    def per_account(method: str, variants: list[dict[str, Any]]) -> list[list[bytes]]:
        return [[jsonrpc_request(port, _app_key(i), token, method, v) for v in variants]
                for i, token in enumerate(tokens)]

    if name == "baseline":
        # The same bytes as placeOrders ×1 (the same headers and body to parse), to the bare app.
        return Scenario(name, port, per_account("placeOrders", [one_back, one_lay]),
                        lambda s, b: s == 200 and b == BASELINE_BODY, _baseline_full)
    if name == "book":
        return Scenario(name, port, per_account("listMarketBook", [book]), _book_ok, _book_full)
    if name == "place1":
        return Scenario(name, port, per_account("placeOrders", [one_back, one_lay]), _place_ok, _place_full(1),
                        instructions=1)
    if name == "place200":
        return Scenario(name, port, per_account("placeOrders", [_place_params(m) for m in many]), _place_ok,
                        _place_full(200), instructions=200)
    raise ValueError(name)


# --- the load generator ------------------------------------------------------------------------------


@dataclass
class Run:
    scenario: Scenario
    warm_ns: int
    end_ns: int
    next_account: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    responses: int = 0


class Client(asyncio.Protocol):
    """One keep-alive connection, one request in flight, driven by callbacks (no task per request)."""

    def __init__(self, run: Run, done: asyncio.Future[None]) -> None:
        self.run = run
        self.done = done
        self.reader = ResponseReader()
        self.variant = 0
        self.checked_full = 0
        self.t0 = 0
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:  # uvloop's transports are not asyncio.Transport
        self.transport = transport

    def send(self) -> None:
        run = self.run
        requests = run.scenario.requests
        variants = requests[run.next_account % len(requests)]
        run.next_account += 1
        request = variants[self.variant % len(variants)]
        self.variant += 1
        assert self.transport is not None
        self.t0 = time.perf_counter_ns()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        try:
            got = self.reader.feed(data)
        except Exception as exc:
            self._finish(exc)
            return
        if got is None:
            return
        t1 = time.perf_counter_ns()
        run = self.run
        status, body = got
        run.responses += 1
        ok = run.scenario.check(status, body)
        if ok and self.checked_full < 2:  # a back and a lay
            self.checked_full += 1
            ok = run.scenario.check_full(json.loads(body))
        if not ok:
            run.errors += 1
            if not run.first_error:
                codes = sorted(set(re.findall(rb'"errorCode":"([A-Z_]+)"', body)))
                run.first_error = f"HTTP {status}, error codes {codes}: {body[:200]!r}"
        if run.warm_ns <= t1 <= run.end_ns:
            run.latencies_ns.append(t1 - self.t0)
        if t1 < run.end_ns:
            self.send()
        else:
            self._finish(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(exc or ConnectionError("server closed the connection"))

    def _finish(self, exc: BaseException | None) -> None:
        if not self.done.done():
            if exc is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(exc)


def _busy_seconds() -> float:
    """CPU time used by everything on the machine (all CPUs), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    scenario: Scenario
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    responses: int
    server_cpu: float
    client_cpu: float
    other_cpu: float  # everything else on the machine: should be ~0% on a quiet machine
    first_error: str


async def measure(scenario: Any, connections: int, warmup: float, seconds: float, server_pid: int,
                  run_type: Any = None, client_type: Any = None, figures_type: Any = None) -> Any:
    """One cell: `connections` clients for `warmup` + `seconds`. bench/provider.py passes its own run,
    client and figures types (requests built as they are sent); the defaults are this module's."""
    loop = asyncio.get_running_loop()
    run = (run_type or Run)(scenario, warm_ns=0, end_ns=0)  # the clock starts once every connection is open
    clients: list[Any] = []
    dones: list[asyncio.Future[None]] = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        transport, client = await loop.create_connection(functools.partial(client_type or Client, run, done), HOST,
                                                         scenario.port)
        client.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        clients.append(client)
        dones.append(done)
    start = time.perf_counter_ns()
    run.warm_ns, run.end_ns = start + int(warmup * 1e9), start + int((warmup + seconds) * 1e9)
    for client in clients:
        client.send()
    await asyncio.sleep(warmup)
    cpu0_server, cpu0_client, busy0, t0 = (_cpu_seconds(server_pid), time.process_time(), _busy_seconds(),
                                           time.perf_counter())
    await asyncio.sleep(max(0.0, (run.end_ns - time.perf_counter_ns()) / 1e9))
    cpu1_server, cpu1_client, busy1, t1 = (_cpu_seconds(server_pid), time.process_time(), _busy_seconds(),
                                           time.perf_counter())
    try:
        await asyncio.wait_for(asyncio.gather(*dones), timeout=60)
    finally:
        for client in clients:
            if client.transport is not None:
                client.transport.close()
    lat = sorted(run.latencies_ns)
    wall = t1 - t0

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] / 1e6 if lat else float("nan")

    server_cpu, client_cpu = cpu1_server - cpu0_server, cpu1_client - cpu0_client
    other_cpu = max(0.0, busy1 - busy0 - server_cpu - client_cpu)
    return (figures_type or Figures)(scenario, connections, len(lat) / seconds, pct(0.50), pct(0.99), run.errors,
                                     run.responses, server_cpu / wall, client_cpu / wall, other_cpu / wall,
                                     run.first_error)


# --- orchestration -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(kind: str, port: int, env: dict[str, str], extra: list[str], cpu: int | None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "bench.http", "--serve", kind, "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    if cpu is not None:
        os.sched_setaffinity(proc.pid, {cpu})
    return proc


async def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"server on port {port} did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # uvicorn shuts down; backlay writes its snapshot
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def login_all(port: int, n: int) -> list[str]:
    tokens = []
    for i in range(n):
        body = f"username={_account(i)}&password={PASSWORD}".encode()
        status, reply = await roundtrip(port, http_request(port, "/api/login", body, {
            "X-Application": _app_key(i), "Content-Type": "application/x-www-form-urlencoded"}))
        doc = json.loads(reply)
        if status != 200 or doc.get("status") != "SUCCESS":
            raise RuntimeError(f"login of {_account(i)} failed: {status} {reply!r}")
        tokens.append(doc["token"])
    return tokens


def _fmt_table(results: list[Figures]) -> str:
    base = {f.connections: f.rps for f in results if f.scenario.name == "baseline"}
    lines = ["| scenario | connections | requests/s | vs baseline | instructions/s | p50 ms | p99 ms | errors "
             "| server CPU | client CPU | other CPU |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in results:
        rel = f"{f.rps / base[f.connections]:.0%}" if f.connections in base and f.scenario.name != "baseline" else ""
        ins = f"{f.rps * f.scenario.instructions:,.0f}" if f.scenario.instructions else ""
        lines.append(f"| {SCENARIOS[f.scenario.name]} | {f.connections} | {f.rps:,.0f} | {rel} | {ins} "
                     f"| {f.p50_ms:.2f} | {f.p99_ms:.2f} | {f.errors} | {f.server_cpu:.0%} | {f.client_cpu:.0%} "
                     f"| {f.other_cpu:.0%} |")
    return "\n".join(lines)


async def measure_all(args: argparse.Namespace, scenario: Scenario, pid: int) -> list[Figures]:
    results = []
    for c in args.connections:
        best: Figures | None = None
        for attempt in range(1, args.tries + 1):
            f = await measure(scenario, c, args.warmup, args.seconds, pid)
            note = f"  first error: {f.first_error}" if f.errors else ""
            print(f"{SCENARIOS[scenario.name]:32s} {c:4d} conn  {f.rps:>9,.0f} req/s  p50 {f.p50_ms:7.2f} ms  "
                  f"p99 {f.p99_ms:7.2f} ms  errors {f.errors}/{f.responses}  server CPU {f.server_cpu:.0%}  "
                  f"client CPU {f.client_cpu:.0%}  other CPU {f.other_cpu:.0%}  "
                  f"server RSS {_rss_mib(pid):,.0f} MiB{note}", flush=True)
            if best is None or f.other_cpu < best.other_cpu:
                best = f
            if f.other_cpu <= args.max_other or attempt == args.tries:
                break
            print(f"  something else used {f.other_cpu:.0%} of a CPU: again in {RETRY_PAUSE_S} s", flush=True)
            await asyncio.sleep(RETRY_PAUSE_S)
        assert best is not None
        results.append(best)
        await asyncio.sleep(0.5)
    return results


async def bench(args: argparse.Namespace, env: dict[str, str], cpu: int | None) -> list[Figures]:
    """Each scenario gets its own server: backlay from a freshly seeded world, so the state one
    scenario leaves behind (orders, heap) does not weigh on the next."""
    results = []
    for name in args.scenarios:
        port = free_port()
        data_dir: Path | None = None
        if name == "baseline":
            proc = start_server("baseline", port, env, [], cpu)
        else:
            data_dir = Path(tempfile.mkdtemp(prefix="backlay-bench-http-"))
            extra = ["--data-dir", str(data_dir), "--accounts", str(_accounts(args, name))]
            if args.profile:
                extra += ["--profile", str(Path(f"{args.profile}.{name}").resolve())]
            proc = start_server("backlay", port, env, extra, cpu)
        try:
            await wait_listening(proc, port)
            if data_dir is None:  # the baseline checks no credentials: tokens of the real length
                tokens = [secrets.token_urlsafe(32) for _ in range(args.accounts)]
            else:
                tokens = await login_all(port, _accounts(args, name))
            results += await measure_all(args, build_scenario(name, port, tokens), proc.pid)
        finally:
            stop_server(proc)
            if data_dir is not None:
                shutil.rmtree(data_dir, ignore_errors=True)
    return results


def _accounts(args: argparse.Namespace, scenario: str) -> int:
    return int(args.accounts_place200 if scenario == "place200" else args.accounts)


def engine_rates(args: argparse.Namespace, env: dict[str, str]) -> dict[int, float]:
    """The journaled engine's rate of the ×200 commands per connection count, each in a fresh process
    with the servers' core."""
    rates = {}
    for connections in args.connections:
        out = subprocess.run([sys.executable, "-m", "bench.http", "--engine-batch", str(connections),
                              "--accounts", str(args.accounts_place200), "--seconds", str(args.seconds)],
                             cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        rates[connections] = float(out.strip().splitlines()[-1])
    return rates


def _fmt_engine_table(results: list[Figures], rates: dict[int, float], n_accounts: int) -> str:
    lines = ["| connections | ×200 over HTTP, instructions/s | journaled engine, instructions/s | HTTP / engine "
             "| the edge's cost per instruction |", "|---:|---:|---:|---:|---:|"]
    for f in results:
        if f.scenario.name != "place200" or f.connections not in rates:
            continue
        http, engine = f.rps * 200, rates[f.connections]
        flag = " (within 80% of the rate limit's ceiling)" if http > 0.8 * n_accounts * 1000 else ""
        lines.append(f"| {f.connections} | {http:,.0f}{flag} | {engine:,.0f} | {http / engine:.0%} "
                     f"| {1e6 / http - 1e6 / engine:.1f} µs |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="measured seconds per scenario and connection count")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring, per run")
    ap.add_argument("--connections", default="1,10,100", help="comma-separated connection counts")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    ap.add_argument("--accounts", type=int, default=64, help="bench accounts (logins) the requests rotate over")
    ap.add_argument("--accounts-place200", type=int, default=512,
                    help="accounts of the ×200 scenario (each may place 1,000 instructions/s; default 512)")
    ap.add_argument("--max-other", type=float, default=0.10,
                    help="measure again when other processes used more than this share of a CPU (default 0.10)")
    ap.add_argument("--tries", type=int, default=4, help="measurements at most per cell (default 4); "
                    "the table keeps the one least disturbed by other processes")
    ap.add_argument("--pin", action="store_true", help="pin the servers to CPU 0 and the load generator to CPU 1")
    ap.add_argument("--compiled", action="store_true", help="the server runs the mypyc-compiled core")
    ap.add_argument("--profile", metavar="FILE",
                    help="run the backlay server under cProfile (event-loop thread); stats in FILE.<scenario>")
    ap.add_argument("--serve", choices=("baseline", "backlay"), help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help=argparse.SUPPRESS)
    ap.add_argument("--engine-batch", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve_main(args)
        return
    if args.engine_batch:
        print(engine_rate(args.accounts, args.engine_batch, args.seconds))
        return
    args.connections = [int(c) for c in args.connections.split(",") if c.strip()]

    args.scenarios = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    for name in args.scenarios:
        if name not in SCENARIOS:
            ap.error(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}")
    env = dict(os.environ)
    if args.compiled:
        subprocess.run([str(ROOT / "scripts/compile-core.sh")], check=True)
        env["PYTHONPATH"] = str(ROOT / "build/mypyc")
    if args.pin:
        os.sched_setaffinity(0, {1})
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"core {'mypyc-compiled' if args.compiled else 'pure Python'}; "
          f"{args.warmup:g} s warm-up + {args.seconds:g} s per run; {args.accounts} accounts; "
          f"journal: SQLite WAL, synchronous=FULL{'; pinned' if args.pin else ''}", flush=True)
    import uvloop

    results = uvloop.run(bench(args, env, 0 if args.pin else None))
    print()
    print(_fmt_table(results))
    if "place200" in args.scenarios:
        print()
        print(_fmt_engine_table(results, engine_rates(args, env), args.accounts_place200))
    if any(f.errors for f in results):
        sys.exit("errors in the responses: the figures above are not valid")


if __name__ == "__main__":
    main()
