"""A real backlay server on a free loopback port, in a background thread, for client tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
import uvicorn
import uvloop

from backlay.betfair.stream.server import StreamLimits
from backlay.config import Config
from backlay.core.commands import Command
from backlay.core.reports import Result
from backlay.server import Server

T = TypeVar("T")

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DELAYED_DATA_S = 1
# Far below the default (100,000), so that snapshots (forked children on Linux) are taken while the
# clients trade and stream, and the shutdown's snapshot is not the only one.
SNAPSHOT_EVERY = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, data_dir: Path, stream_limits: StreamLimits | None = None, stream_workers: int | None = None,
                 config: dict[str, Any] | None = None) -> None:
        self.data_dir = data_dir
        self.config = config or {}  # Config fields over the ones below (e.g. max_pending_commands)
        # BACKLAY_TEST_STREAM_WORKERS runs every live-server test with stream workers
        self.stream_workers = (int(os.environ.get("BACKLAY_TEST_STREAM_WORKERS", "0")) if stream_workers is None
                               else stream_workers)
        self.stream_limits = stream_limits
        self.port = free_port()
        self.cert_port = free_port()
        self.server: Server | None = None
        self.stream_port = 0  # TLS
        self.stream_plain_port = 0
        self._uvicorn: uvicorn.Server | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="backlay-live-server", daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._error is not None:
                raise RuntimeError("server failed to start") from self._error
            if self._uvicorn is not None and self._uvicorn.started:
                return self
            time.sleep(0.02)
        raise TimeoutError("server did not start")

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            uvloop.run(self._main())  # the event loop of `backlay serve`
        except BaseException as exc:  # reported to the test thread
            self._error = exc

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server's event loop (where the exchange state lives) and return its result."""
        assert self._loop is not None

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def stream_connections(self) -> int:
        """Open stream connections: on this server's loop, or over its stream workers (authenticated
        ones, as their shared counts hold them)."""
        if self.stream_workers:
            with contextlib.closing(sqlite3.connect(self.data_dir / "stream-connections.db")) as db:
                return int(db.execute("SELECT coalesce(sum(n), 0) FROM conns").fetchone()[0])
        return self.call(lambda: len(self.server.stream.connections) if self.server else 0)

    def submit(self, cmd: Command) -> Result:
        """Submit an operator command to the running server's sequencer, from the test thread."""
        assert self._loop is not None and self.server is not None
        return asyncio.run_coroutine_threadsafe(self.server.submit(cmd), self._loop).result(timeout=30)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        server = await Server.open(Config(data_dir=self.data_dir, currency="GBP", snapshot_every=SNAPSHOT_EVERY,
                                          admin_token=ADMIN_TOKEN, delayed_data_s=DELAYED_DATA_S,
                                          stream_workers=self.stream_workers, **self.config))
        self.server = server
        await server.seed_demo()
        await server.start_certlogin("127.0.0.1", self.cert_port)
        if self.stream_limits is not None:
            server.stream.limits = self.stream_limits
        self.stream_port, self.stream_plain_port = await server.start_stream("127.0.0.1", 0, 0)
        config = uvicorn.Config(server.app, host="127.0.0.1", port=self.port, log_level="warning",
                                http="httptools", loop="none", lifespan="off")
        self._uvicorn = uvicorn.Server(config)
        try:
            await self._uvicorn.serve()
        finally:
            await server.close()


def admin(live: LiveServer, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    """One admin API call (`/admin/v1` + path) with the test token; asserts the HTTP status."""
    r = requests.request(method, f"{live.base}/admin/v1{path}", json=body, headers=ADMIN_AUTH, timeout=10)
    assert r.status_code == status, r.text
    return r.json()
