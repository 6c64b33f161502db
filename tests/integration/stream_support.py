"""Helpers for the Stream API tests: a protocol-level client, betfairlightweight streams pointed at the
live server (only their host and port attributes are set), logins, and markets made for one test."""

from __future__ import annotations

import itertools
import json
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import betfairlightweight
import requests
from betfairlightweight.exceptions import ListenerError, SocketError
from betfairlightweight.streaming import StreamListener
from betfairlightweight.streaming.betfairstream import BetfairStream
from live_server import LiveServer

from backlay.core.commands import CreateMarket, MarketDefinition, RunnerDefinition, SetMarketStatus
from backlay.core.reports import AdminResult
from backlay.demo import DEMO_PASSWORD, demo_app_key

_market_ids = itertools.count(1)


def new_market(live: LiveServer, runners: int = 3, **definition: Any) -> tuple[str, list[int]]:
    """A fresh OPEN market (3 runners by default) that no other test touches."""
    market_id = f"1.7{next(_market_ids):08d}"
    selections = [1000 + i for i in range(runners)]
    fields: dict[str, Any] = {"name": "Match Odds", "event_id": "90000001", "event_type_id": "1"}
    fields.update(definition)
    result = live.submit(CreateMarket(market_id=market_id, definition=MarketDefinition(**fields),
                                      runners=[RunnerDefinition(selection_id=s, name=f"Runner {s}", sort_priority=i + 1)
                                               for i, s in enumerate(selections)]))
    assert isinstance(result, AdminResult) and result.ok, result
    result = live.submit(SetMarketStatus(market_id=market_id, status="OPEN"))
    assert isinstance(result, AdminResult) and result.ok, result
    return market_id, selections


def login(live: LiveServer, user: str, app_key: str | None = None) -> tuple[str, str]:
    """(session token, application key) from the interactive login endpoint."""
    key = app_key or demo_app_key(user)
    r = requests.post(f"{live.base}/api/login", data={"username": user, "password": DEMO_PASSWORD},
                      headers={"X-Application": key, "Accept": "application/json"}, timeout=10)
    body = r.json()
    assert body["status"] == "SUCCESS", body
    return body["token"], key


def client_for(live: LiveServer, user: str) -> betfairlightweight.APIClient:
    client = betfairlightweight.APIClient(user, DEMO_PASSWORD, app_key=demo_app_key(user))
    client.identity_uri = f"{live.base}/api/"
    client.api_uri = f"{live.base}/exchange/"
    client.login_interactive()
    return client


class RawStream:
    """The Stream API at the protocol level: CRLF-delimited JSON over TLS (or plain TCP)."""

    def __init__(self, live: LiveServer, tls: bool = True, timeout_s: float = 5.0,
                 receive_buffer_bytes: int | None = None) -> None:
        port = live.stream_port if tls else live.stream_plain_port
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer_bytes is not None:  # before connect, so that the window stays small
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
        sock.settimeout(timeout_s)
        sock.connect(("127.0.0.1", port))
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # self-signed, as betfairlightweight accepts it
            sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock
        self.buf = b""
        self.ids = itertools.count(1)

    def send(self, msg: dict[str, Any] | bytes) -> None:
        data = msg if isinstance(msg, bytes) else json.dumps(msg).encode() + b"\r\n"
        self.sock.sendall(data)

    def request(self, op: str, **fields: Any) -> int:
        req_id = next(self.ids)
        self.send({"op": op, "id": req_id, **fields})
        return req_id

    def recv(self, timeout_s: float = 5.0) -> dict[str, Any]:
        """The next message; raises EOFError when the server closed the connection."""
        deadline = time.monotonic() + timeout_s
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no message within {timeout_s} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError) as exc:
                raise EOFError(str(exc)) from exc
            if not chunk:
                raise EOFError("connection closed by the server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        msg: dict[str, Any] = json.loads(line)
        return msg

    def recv_until(self, pred: Callable[[dict[str, Any]], bool], timeout_s: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            msg = self.recv(max(0.01, deadline - time.monotonic()))
            if pred(msg):
                return msg

    def authenticate(self, live: LiveServer, user: str = "alice") -> dict[str, Any]:
        connection = self.recv()
        assert connection["op"] == "connection", connection
        token, key = login(live, user)
        req_id = self.request("authentication", appKey=key, session=token)
        status = self.recv()
        assert status["op"] == "status" and status["id"] == req_id and status["statusCode"] == "SUCCESS", status
        return status

    def closed(self, timeout_s: float = 5.0) -> bool:
        """Whether the server closes the connection within the timeout (messages before that are dropped)."""
        try:
            while True:
                self.recv(timeout_s)
        except EOFError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


class Stream:
    """An unmodified betfairlightweight stream on its own thread, pointed at the live server."""

    def __init__(self, client: betfairlightweight.APIClient, live: LiveServer,
                 listener: StreamListener | None = None) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.listener = listener or StreamListener(output_queue=self.queue, max_latency=None)
        self.stream: BetfairStream = client.streaming.create_stream(listener=self.listener)
        self.stream.host = "127.0.0.1"
        self.stream._BetfairStream__port = live.stream_port  # type: ignore[attr-defined]
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> Stream:
        def run() -> None:
            try:
                self.stream.start()
            except (SocketError, ListenerError) as exc:
                if not self._stopping:
                    self.error = exc
            except BaseException as exc:  # a client that chokes on a message: the test must see it
                self.error = exc
                raise

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self.stream.stop()
        if self.thread is not None:
            self.thread.join(timeout=10)

    @property
    def caches(self) -> dict[str, Any]:
        cache: dict[str, Any] = self.listener.stream._caches
        return cache

    def snap(self, market_ids: list[str] | None = None) -> list[Any]:
        result: list[Any] = self.listener.snap(market_ids)
        return result


def eventually(check: Callable[[], Any], timeout_s: float = 5.0, interval_s: float = 0.05) -> Any:
    """Retry `check` (which raises AssertionError, or LookupError while a cache lacks an entry, until it
    holds) until it passes or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return check()
        except (AssertionError, LookupError):
            if time.monotonic() > deadline:
                raise
            time.sleep(interval_s)
