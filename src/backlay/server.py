"""`backlay serve`: the engine, its sequencer and the HTTP API on one event loop.

The event loop is the only thread that changes exchange state (the sequencer task applies batches
on it), so request handlers on the same loop read a consistent state between batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from backlay import demo
from backlay.admin.api import PREFIX as ADMIN_PREFIX
from backlay.admin.api import AdminApi
from backlay.betfair.certlogin import start_certlogin_server
from backlay.betfair.http import accounts as api_accounts
from backlay.betfair.http import betting as api_betting
from backlay.betfair.http import heartbeat as api_heartbeat
from backlay.betfair.http import scores as api_scores
from backlay.betfair.http.app import App, Handler
from backlay.betfair.services.delayed_prices import DelayedPrices
from backlay.betfair.services.heartbeat_monitor import HeartbeatMonitor
from backlay.betfair.stream.hub import Hub
from backlay.betfair.stream.server import StreamLimits, StreamServer
from backlay.betfair.stream.workers import SharedConnectionCounts, StreamWorkers, WorkerSpec, reserve_port
from backlay.config import Config
from backlay.core.commands import Command
from backlay.core.events import PlacementCompleted
from backlay.core.exchange import Exchange
from backlay.core.reports import AdminResult, PlaceExecutionReport, Result
from backlay.engine.engine import Engine, wall_clock_ms
from backlay.engine.sequencer import Sequencer
from backlay.engine.sqlite import SqliteJournal
from backlay.identity import tls
from backlay.identity.store import IdentityStore
from backlay.provider.api import ProviderApi
from backlay.runtime import freeze_heap, tune_gc

log = logging.getLogger(__name__)

def all_handlers(heartbeats: HeartbeatMonitor) -> dict[str, dict[str, Handler]]:
    return {
        "SportsAPING": dict(api_betting.HANDLERS),
        "AccountAPING": dict(api_accounts.HANDLERS),
        "HeartbeatAPING": api_heartbeat.handlers(heartbeats),
        "ScoresAPING": dict(api_scores.HANDLERS),
    }


class DelayedPlacements:
    """Futures for placements held for the in-play bet delay, resolved by their PlacementCompleted."""

    def __init__(self) -> None:
        self._waiting: dict[int, asyncio.Future[PlaceExecutionReport]] = {}

    def wait(self, token: int) -> asyncio.Future[PlaceExecutionReport]:
        fut = self._waiting.get(token)
        if fut is None:
            fut = self._waiting[token] = asyncio.get_running_loop().create_future()
        return fut

    def on_events(self, events: list[Any]) -> None:
        for ev in events:
            if isinstance(ev, PlacementCompleted):
                fut = self._waiting.pop(ev.token, None)
                if fut is not None and not fut.done():
                    fut.set_result(ev.report)


@dataclass
class Server:
    engine: Engine
    sequencer: Sequencer
    identity: IdentityStore
    app: App
    heartbeats: HeartbeatMonitor
    delayed_prices: DelayedPrices
    tls_context: ssl.SSLContext
    tls_cert_path: Path
    hub: Hub
    stream: StreamServer
    stream_tls_context: ssl.SSLContext
    cfg: Config
    tls_key_path: Path
    certlogin: asyncio.Server | None = None
    stream_workers: StreamWorkers | None = None

    @staticmethod
    async def open(cfg: Config) -> Server:
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        engine = Engine(SqliteJournal(cfg.journal_path), lambda: Exchange(cfg.currency))
        await asyncio.to_thread(engine.recover)
        freeze_heap()
        sequencer = Sequencer(engine, max_pending=cfg.max_pending_commands, snapshot_every=cfg.snapshot_every,
                              spool_dir=str(cfg.data_dir), freeze_at_snapshots=True)
        await sequencer.start()
        identity = IdentityStore(cfg.data_dir / "identity.db")
        placements = DelayedPlacements()
        sequencer.add_listener(placements.on_events)
        heartbeats = HeartbeatMonitor(sequencer.submit, wall_clock_ms)
        heartbeats.start()
        delayed_prices = DelayedPrices(lambda: engine.exchange, wall_clock_ms, cfg.delayed_data_s * 1000)
        sequencer.add_listener(delayed_prices.on_events)
        delayed_prices.start()
        cert_path, key_path = await asyncio.to_thread(tls.ensure_server_cert, cfg.data_dir / "tls")
        tls_context = tls.server_ssl_context(cert_path, key_path, identity.all_client_cert_pems())
        hub = Hub(lambda: engine.exchange, lambda: engine.applied_seq, wall_clock_ms)
        sequencer.add_listener(hub.on_events)
        hub.start()
        stream = StreamServer(hub, identity, wall_clock_ms,
                              StreamLimits(max_connections_per_app_key=cfg.stream_max_connections))
        stream_tls = tls.plain_server_ssl_context(cfg.stream_cert or cert_path, cfg.stream_key or key_path)
        admin = AdminApi(cfg.resolve_admin_token(), lambda: engine.exchange, sequencer.submit, identity,
                         on_client_cert=lambda pem: tls.add_client_cert(tls_context, pem),
                         submit_follow_up=lambda cmd: sequencer.submit(cmd, bounded=False))
        provider = ProviderApi(cfg.provider_prefix, lambda: engine.exchange, sequencer.submit, identity,
                               wall_clock_ms, cfg.provider_deadline_ms)
        app = App(lambda: engine.exchange, sequencer.submit, identity, all_handlers(heartbeats),
                  wait_placement=placements.wait,
                  mounts={ADMIN_PREFIX: admin.handle, cfg.provider_prefix: provider.handle},
                  delayed_prices=delayed_prices, dev_mode=cfg.dev_mode)
        return Server(engine, sequencer, identity, app, heartbeats, delayed_prices, tls_context, cert_path,
                      hub, stream, stream_tls, cfg, key_path)

    async def submit(self, cmd: Command) -> Result:
        return await self.sequencer.submit(cmd)

    async def seed_demo(self) -> bool:
        """Seed the demo world once: exchange accounts and markets, logins and application keys. One command
        at a time before the HTTP listener opens: nothing else submits, so the queue's bound never refuses
        one (were it to, QueueFull would propagate and the start fail)."""
        if self.engine.exchange.accounts:
            return False
        for cmd in demo.demo_commands(wall_clock_ms()):
            result = await self.submit(cmd)
            assert not isinstance(result, AdminResult) or result.ok, result
        demo.seed_identity(self.identity)
        return True

    async def start_certlogin(self, host: str, port: int) -> None:
        """The certificate-login host (identitysso-cert): HTTPS with client certificates (003:L5376-5612)."""
        self.certlogin = await start_certlogin_server(self.identity, host, port, self.tls_context, wall_clock_ms)

    async def start_stream(self, host: str, tls_port: int | None, plain_port: int | None = None,
                           workers: int | None = None) -> list[int]:
        """The Stream API over TLS on `tls_port` and over plain TCP (for local use) on `plain_port`; None
        leaves a listener off, 0 takes a free port. Returns the ports bound, TLS first. `workers`
        (default: the config's `stream_workers`) above 0 serves them from that many replica processes
        (stream/workers.py) rather than on this event loop."""
        n = self.cfg.stream_workers if workers is None else workers
        if n < 0:
            raise ValueError(f"stream workers: {n} (0 serves the stream on this event loop, N > 0 from N processes)")
        if n > 0 and (tls_port is not None or plain_port is not None):
            return await self._start_stream_workers(host, tls_port, plain_port, n)
        ports = []
        for port, ctx in ((tls_port, self.stream_tls_context), (plain_port, None)):
            if port is not None:
                srv = await self.stream.listen(host, port, ctx)
                ports.append(int(srv.sockets[0].getsockname()[1]))
        return ports

    async def _start_stream_workers(self, host: str, tls_port: int | None, plain_port: int | None,
                                    n: int) -> list[int]:
        listeners = [(reserve_port(host, port), use_tls)
                     for port, use_tls in ((tls_port, True), (plain_port, False)) if port is not None]
        cfg = self.cfg
        cert, key = cfg.stream_cert or self.tls_cert_path, cfg.stream_key or self.tls_key_path
        counts_path = cfg.data_dir / "stream-connections.db"
        SharedConnectionCounts(str(counts_path), None).close()  # empty: no worker runs yet

        def spec(index: int, feed_fd: int, listeners: list[tuple[str, int, bool]]) -> WorkerSpec:
            return WorkerSpec(index=index, journal_path=str(cfg.journal_path),
                              identity_path=str(cfg.data_dir / "identity.db"), currency=cfg.currency,
                              limits=dataclasses.asdict(self.stream.limits), counts_path=str(counts_path),
                              feed_fd=feed_fd, listeners=listeners, cert_path=str(cert), key_path=str(key),
                              log_level=cfg.log_level)

        self.stream_workers = StreamWorkers(self.sequencer, spec, n)
        self.sequencer.remove_listener(self.hub.on_events)  # this process publishes nothing
        try:
            await self.stream_workers.start(listeners)
        except BaseException:
            await self.stream_workers.close()
            raise
        return [int(sock.getsockname()[1]) for sock, _tls in listeners]

    async def close(self) -> None:
        if self.stream_workers is not None:
            await self.stream_workers.close()
        await self.stream.close()
        await self.hub.stop()
        if self.certlogin is not None:
            self.certlogin.close()
        await self.heartbeats.stop()
        await self.delayed_prices.stop()
        with contextlib.suppress(Exception):
            await self.sequencer.snapshot()
        await self.sequencer.stop()
        self.identity.close()


async def serve(cfg: Config, with_demo: bool) -> None:
    """`backlay serve`: every listener of the configuration, until the HTTP server stops (Ctrl-C)."""
    tune_gc()
    host, port, cert_port = cfg.host, cfg.http_port, cfg.cert_port
    stream_port, stream_plain_port = cfg.stream_port, cfg.stream_plain_port
    server = await Server.open(cfg)
    try:
        if cert_port:
            await server.start_certlogin(host, cert_port)
        await server.start_stream(host, stream_port or None, stream_plain_port or None)
        if with_demo and await server.seed_demo():
            print("seeded the demo world")
        if with_demo:
            print(demo.describe())
        print(f"Betfair API on http://{host}:{port}/ : identity {host}:{port}/api/, "
              f"betting {host}:{port}/exchange/betting/json-rpc/v1")
        if cert_port:
            print(f"certlogin on https://{host}:{cert_port}/api/certlogin (server certificate "
                  f"{server.tls_cert_path}; register client certificates through the admin API)")
        if cfg.dev_mode:
            print(f"dev mode: certlogin also on http://{host}:{port}/api/certlogin without a client certificate")
        if stream_port:
            print(f"Stream API on {host}:{stream_port} (TLS, certificate {cfg.stream_cert or server.tls_cert_path})")
        if stream_plain_port:
            print(f"Stream API on {host}:{stream_plain_port} (plain TCP, for local use)")
        if server.stream_workers is not None and (stream_port or stream_plain_port):
            print(f"Stream API served by {server.stream_workers.n} worker processes")
        token_note = "as configured" if cfg.admin_token else f"in {cfg.data_dir / 'admin-token'}"
        print(f"admin API on http://{host}:{port}/admin/v1 (bearer token {token_note}; docs/admin-api.md)")
        print(f"provider API on http://{host}:{port}{cfg.provider_prefix} (signed by providers registered through "
              f"the admin API; docs/provider-api.md)")
        config = uvicorn.Config(server.app, host=host, port=port, log_level="warning", http="httptools",
                                loop="none", lifespan="off", timeout_keep_alive=180,
                                # at log level warning no access line is written, but uvicorn would still
                                # format each request's client and path for it; and nothing here reads the
                                # client's address, so no X-Forwarded-For rewriting either
                                access_log=False, proxy_headers=False)
        await uvicorn.Server(config).serve()
    finally:
        await server.close()
