"""The Stream API listener: framing, handshake, authentication, requests and flow control.

One asyncio protocol per connection (003:L5973-6124, stream-identity-accounts.md §6):

- Every message is one JSON object ending in CRLF; a bare LF is accepted too, and requests may be
  pipelined. On connect the server sends the ConnectionMessage, unprompted and without an id.
- `authentication` must come first: any other request before it fails with NOT_AUTHORIZED and the
  connection is closed. Authentication failures (NO_APP_KEY, INVALID_APP_KEY, NO_SESSION,
  INVALID_SESSION_INFORMATION, MAX_CONNECTION_LIMIT_EXCEEDED) close the connection too.
- Every request gets a `status` with its id (003:L6052), written before any change message of a
  subscription it starts. Subscription failures (INVALID_INPUT, INVALID_CLOCK,
  SUBSCRIPTION_LIMIT_EXCEEDED) keep the connection open.
- Timeouts: no authentication within `auth_timeout_s`, or no subscription within `idle_timeout_s` of
  authenticating, is TIMEOUT and a close. More than `max_requests_per_s` requests is
  TOO_MANY_REQUESTS and a close.
- Flow control: the socket buffer has a high-water mark; above it the hub writes nothing more to the
  connection and keeps its subscriptions' changes merged (conflated) until the buffer drains. A
  connection that stays above it for `slow_consumer_s`, or whose buffer passes `max_buffer_bytes`, is
  closed with a CONNECTION_FAILED status (documented in docs/architecture.md): a slow reader never
  holds anyone else up.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import msgspec

from backlay.betfair.stream.hub import Hub, MarketSub, OrderSub, StreamError
from backlay.betfair.wire import stream as ws
from backlay.betfair.wire.common import ParamsError, decode_as
from backlay.identity.store import IdentityStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamLimits:
    max_connections_per_app_key: int = 10  # not in the spec; Betfair's default is widely cited as 10
    auth_timeout_s: float = 15.0
    idle_timeout_s: float = 60.0  # authenticated but not subscribed
    max_requests_per_s: int = 50
    max_line_bytes: int = 1024 * 1024
    buffer_high_bytes: int = 1024 * 1024
    buffer_low_bytes: int = 256 * 1024
    max_buffer_bytes: int = 16 * 1024 * 1024
    slow_consumer_s: float = 10.0
    # the kernel's send buffer per connection (SO_SNDBUF): bounds what a reader that stopped holds in
    # the kernel, so that the high-water mark above is reached (None: the system's autotuning)
    socket_send_buffer_bytes: int | None = 256 * 1024


class ConnectionCounts:
    """Authenticated connections per application key, for `max_connections_per_app_key`: in this
    process (stream workers share theirs: stream/workers.py, SharedConnectionCounts)."""

    def __init__(self) -> None:
        self._n: dict[str, int] = {}

    def acquire(self, app_key: str, limit: int) -> int | None:
        """Count one more connection of `app_key`; the connections still available, None if it is full."""
        n = self._n.get(app_key, 0)
        if n >= limit:
            return None
        self._n[app_key] = n + 1
        return limit - n - 1

    def release(self, app_key: str) -> None:
        n = self._n.get(app_key, 1) - 1
        if n > 0:
            self._n[app_key] = n
        else:
            self._n.pop(app_key, None)

    def count(self, app_key: str) -> int:
        return self._n.get(app_key, 0)


class StreamServer:
    """The listeners and what connections share: the hub, the identity store, per-key counts."""

    def __init__(self, hub: Hub, identity: IdentityStore, clock_ms: Callable[[], int],
                 limits: StreamLimits | None = None, id_prefix: str = "",
                 counts: ConnectionCounts | None = None) -> None:
        """`id_prefix` goes into every connection id (stream workers: their index, so that the ids of
        connections on different workers never collide)."""
        self.hub = hub
        self.identity = identity
        self.clock_ms = clock_ms
        self.limits = limits or StreamLimits()
        self.connections: set[StreamConnection] = set()
        self.per_app_key = counts or ConnectionCounts()
        self._ids = itertools.count(1)
        self._prefix = f"{id_prefix}{int(time.time()) % 1_000_000:06d}"
        self._servers: list[asyncio.Server] = []

    def connection_id(self) -> str:
        return f"backlay-{self._prefix}-{next(self._ids):06d}"

    async def listen(self, host: str, port: int, ssl_context: ssl.SSLContext | None) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: StreamConnection(self), host, port, ssl=ssl_context,
                                          reuse_address=True, backlog=1024)
        self._servers.append(server)
        return server

    async def listen_socket(self, sock: socket.socket, ssl_context: ssl.SSLContext | None) -> asyncio.Server:
        """Serve connections accepted on a listening socket made by the caller (a stream worker's, bound
        with SO_REUSEPORT beside the other workers')."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: StreamConnection(self), sock=sock, ssl=ssl_context, backlog=1024)
        self._servers.append(server)
        return server

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.close_now()
        for server in self._servers:
            await server.wait_closed()


class StreamConnection(asyncio.Protocol):
    def __init__(self, server: StreamServer) -> None:
        self.server = server
        self.limits = server.limits
        self.transport: asyncio.Transport | None = None
        self.connection_id = server.connection_id()
        self.paused = False
        self.closing = False
        self._buffer = b""
        self.account_id: str | None = None
        self.app_key: str | None = None
        self.delayed = False
        self.market_sub: MarketSub | None = None
        self.order_sub: OrderSub | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._slow_timer: asyncio.TimerHandle | None = None
        self._window_start = 0.0
        self._window_count = 0

    # --- asyncio ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio's, so no isinstance check: a stream transport it is
        self.transport = cast(asyncio.Transport, transport)
        transport = self.transport
        sock = transport.get_extra_info("socket")
        if sock is not None and self.limits.socket_send_buffer_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.limits.socket_send_buffer_bytes)
        transport.set_write_buffer_limits(high=self.limits.buffer_high_bytes, low=self.limits.buffer_low_bytes)
        self.server.connections.add(self)
        self.write(ws.encode(ws.ConnectionMessage(connectionId=self.connection_id)) + b"\r\n")
        self._set_timer(self.limits.auth_timeout_s, "no authentication received")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.discard(self)
        self._cancel_timers()
        for sub in (self.market_sub, self.order_sub):
            if sub is not None:
                self.server.hub.end(sub)
        self.market_sub = self.order_sub = None
        if self.app_key is not None:
            self.server.per_app_key.release(self.app_key)
            self.app_key = None

    def pause_writing(self) -> None:
        self.paused = True
        self._slow_timer = asyncio.get_running_loop().call_later(self.limits.slow_consumer_s, self._too_slow)

    def resume_writing(self) -> None:
        self.paused = False
        if self._slow_timer is not None:
            self._slow_timer.cancel()
            self._slow_timer = None
        if not self.closing:
            self.server.hub.resume(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        buf = self._buffer + data if self._buffer else data
        start = 0
        while not self.closing:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            line = buf[start:end].rstrip(b"\r")
            start = end + 1
            if line.strip():
                self._handle(line)
        self._buffer = buf[start:] if not self.closing else b""
        if len(self._buffer) > self.limits.max_line_bytes:
            self.fail(None, "INVALID_INPUT", f"message longer than {self.limits.max_line_bytes} bytes", close=True)

    # --- writing ---------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        t = self.transport
        if t is None or self.closing:
            return
        t.write(data)
        if t.get_write_buffer_size() > self.limits.max_buffer_bytes:
            self._too_slow()

    def status(self, req_id: int | None, **fields: Any) -> None:
        self.write(ws.encode(ws.StatusMessage(id=req_id, **fields)) + b"\r\n")

    def fail(self, req_id: int | None, code: str, message: str, close: bool) -> None:
        self.status(req_id, statusCode="FAILURE", errorCode=code, errorMessage=message, connectionClosed=close,
                    connectionId=self.connection_id)
        if close:
            self.close_after_flush()

    def close_after_flush(self) -> None:
        if self.closing or self.transport is None:
            return
        self.closing = True
        self._cancel_timers()
        transport = self.transport
        transport.close()  # flushes what is buffered, then closes
        # a peer that does not read would keep it open: reset after a grace period
        asyncio.get_running_loop().call_later(5.0, transport.abort)

    def close_now(self) -> None:
        if self.transport is not None:
            self.closing = True
            self.transport.abort()

    def _too_slow(self) -> None:
        if self.closing:
            return
        log.info("stream connection %s closed: slow consumer", self.connection_id)
        self.fail(None, "CONNECTION_FAILED",
                  f"the connection did not read its data (socket buffer full for {self.limits.slow_consumer_s:g} s "
                  f"or above {self.limits.max_buffer_bytes} bytes)", close=True)

    def _set_timer(self, delay_s: float, why: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(
            delay_s, lambda: self.fail(None, "TIMEOUT", why, close=True))

    def _cancel_timers(self) -> None:
        for t in (self._timer, self._slow_timer):
            if t is not None:
                t.cancel()
        self._timer = self._slow_timer = None

    # --- requests --------------------------------------------------------------------------------

    def _handle(self, line: bytes) -> None:
        try:
            raw = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            self.fail(None, "INVALID_INPUT", f"could not deserialise the message: {exc}", close=True)
            return
        if not isinstance(raw, dict):
            self.fail(None, "INVALID_INPUT", "a message is a JSON object", close=True)
            return
        req_id = raw.get("id")
        if isinstance(req_id, str) and req_id.lstrip("-").isdigit():
            req_id = int(req_id)
        if not isinstance(req_id, int) or isinstance(req_id, bool) or not -(2**31) <= req_id < 2**31:
            req_id = None
        if not self._rate_ok():
            self.fail(req_id, "TOO_MANY_REQUESTS", f"more than {self.limits.max_requests_per_s} requests a second",
                      close=True)
            return
        op = raw.get("op")
        msg_type = ws.REQUESTS.get(op) if isinstance(op, str) else None
        if msg_type is None:
            self.fail(req_id, "INVALID_REQUEST", f"unknown or unsupported op {op!r}", close=False)
            return
        if op != "authentication" and self.account_id is None:
            self.fail(req_id, "NOT_AUTHORIZED", "authenticate first: the authentication message must come first",
                      close=True)
            return
        try:
            msg = decode_as(msg_type, raw)
        except ParamsError as exc:
            self.fail(req_id, "INVALID_INPUT", exc.message, close=op == "authentication")
            return
        try:
            if isinstance(msg, ws.AuthenticationMessage):
                self._authenticate(msg)
            elif isinstance(msg, ws.MarketSubscriptionMessage):
                self._subscribe_markets(msg)
            elif isinstance(msg, ws.OrderSubscriptionMessage):
                self._subscribe_orders(msg)
            else:
                self.status(msg.id, statusCode="SUCCESS", connectionClosed=False)
        except StreamError as exc:
            self.fail(req_id, exc.code, exc.message, close=exc.close)
        except Exception:
            log.exception("stream request %r failed", op)
            self.fail(req_id, "UNEXPECTED_ERROR", "internal error", close=True)

    def _rate_ok(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count <= self.limits.max_requests_per_s

    def _authenticate(self, msg: ws.AuthenticationMessage) -> None:
        identity = self.server.identity
        now = self.server.clock_ms()
        if not msg.appKey:
            raise StreamError("NO_APP_KEY", "appKey missing", close=True)
        key = identity.app_key(msg.appKey)
        if key is None:
            raise StreamError("INVALID_APP_KEY", "application key not recognised", close=True)
        if not msg.session:
            raise StreamError("NO_SESSION", "session missing", close=True)
        session = identity.session(msg.session, now)
        if session is None:
            raise StreamError("INVALID_SESSION_INFORMATION", "session is invalid or expired", close=True)
        if key.account_id != session.account_id:
            raise StreamError("INVALID_APP_KEY", "application key does not belong to this account", close=True)
        if self.account_id is not None and self.account_id != session.account_id:
            raise StreamError("NOT_AUTHORIZED", "the connection is authenticated for another account", close=True)
        counts = self.server.per_app_key
        limit = self.limits.max_connections_per_app_key
        if self.app_key != key.app_key:
            available = counts.acquire(key.app_key, limit)
            if available is None:
                raise StreamError("MAX_CONNECTION_LIMIT_EXCEEDED",
                                  f"at most {limit} connections per application key", close=True)
            if self.app_key is not None:
                counts.release(self.app_key)
            self.app_key = key.app_key
        else:
            available = max(0, limit - counts.count(key.app_key))
        self.account_id = session.account_id
        self.delayed = key.delayed
        if self.market_sub is None and self.order_sub is None:
            self._set_timer(self.limits.idle_timeout_s, "no subscription received")
        self.status(msg.id, statusCode="SUCCESS", connectionClosed=False,
                    connectionsAvailable=available, connectionId=self.connection_id)

    def _subscribed(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _subscribe_markets(self, msg: ws.MarketSubscriptionMessage) -> None:
        hub = self.server.hub
        sub = hub.market_subscription(self, msg, self.delayed)
        self.status(msg.id, statusCode="SUCCESS", connectionClosed=False)
        previous, self.market_sub = self.market_sub, sub
        hub.start_markets(sub, previous)
        self._subscribed()

    def _subscribe_orders(self, msg: ws.OrderSubscriptionMessage) -> None:
        hub = self.server.hub
        assert self.account_id is not None
        sub = hub.order_subscription(self, msg, self.account_id, self.delayed)
        self.status(msg.id, statusCode="SUCCESS", connectionClosed=False)
        previous, self.order_sub = self.order_sub, sub
        hub.start_orders(sub, previous)
        self._subscribed()
