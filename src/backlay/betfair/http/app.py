"""The ASGI application: Betfair's identity endpoints and the JSON-RPC and REST APIs.

A plain ASGI callable (no framework): the routes are few and fixed, and every body is decoded and
encoded with msgspec. Reads run against the exchange state between sequencer batches (the event loop
is the only thread that mutates it); writes go through the sequencer and answer once durable.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from backlay.betfair.http import identity as identity_ops
from backlay.betfair.http import navigation
from backlay.betfair.http.errors import ApiError, jsonrpc_api_error, jsonrpc_error, rest_dsc_fault, rest_fault
from backlay.betfair.http.identity import certlogin_response
from backlay.betfair.http.limits import InstructionRate
from backlay.betfair.services.delayed_prices import DelayedPrices
from backlay.betfair.wire import SERVICES
from backlay.betfair.wire.common import PARAMS_FAULTS, ParamsError, decode_as, encode
from backlay.core.commands import Command
from backlay.core.exchange import Exchange
from backlay.core.reports import PlaceExecutionReport, Result
from backlay.engine.sequencer import QueueFull
from backlay.identity.store import AppKey, IdentityStore, Session

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

GZIP_MIN_BYTES = 1024
MAX_BODY_BYTES = 8 * 1024 * 1024
# Operations that need no X-Application header (003:L4738-4739).
NO_APP_KEY_OPERATIONS = frozenset({"createDeveloperAppKeys", "getDeveloperAppKeys"})
BUSY_DETAILS = "The service is currently too busy to service this request"  # 003:L9997, L12834-12835


@dataclass(frozen=True)
class Context:
    """What a handler gets: the caller, the state to read, and the way to write."""

    account_id: str
    session: Session
    app_key: AppKey | None
    exchange: Exchange
    submit: Callable[[Command], Awaitable[Result]]
    now_ms: int
    identity: IdentityStore
    wait_placement: Callable[[int], Awaitable[PlaceExecutionReport]] | None = None
    delayed_prices: DelayedPrices | None = None  # what delayed application keys see
    instruction_rate: InstructionRate | None = None  # this app's limit of instructions per second per account


Handler = Callable[[Context, Any], Awaitable[Any]]
# Another API on the same port under a path prefix (the admin API, and the services that follow):
# (method, path, headers, body) -> (HTTP status, JSON-encodable payload or bytes). The raw query string
# comes in headers[":query"] (a name no real header can have).
Mount = Callable[[str, str, dict[str, str], bytes], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True, slots=True)
class WithHeaders:
    """A mounted API's payload with extra response headers (the admin API's Retry-After on a 503)."""

    payload: Any
    headers: tuple[tuple[bytes, bytes], ...]


def exception_name(service: str) -> str:
    """The exception an operation of `service` throws (003:L9969, L12820)."""
    return "AccountAPINGException" if service == "AccountAPING" else "APINGException"


class _Envelope(msgspec.Struct):
    """A JSON-RPC request as read on the fast path: the params stay raw JSON."""

    jsonrpc: Any = None
    method: Any = None
    params: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b""))
    id: Any = None


_ENVELOPE: msgspec.json.Decoder[_Envelope] = msgspec.json.Decoder(_Envelope)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether Accept-Encoding names gzip (or x-gzip) with a quality above 0: `gzip;q=0` refuses it
    (RFC 9110 §12.5.3)."""
    accept_encoding = accept_encoding.lower()
    if "gzip" not in accept_encoding:
        return False
    for item in accept_encoding.split(","):
        coding, *params = item.split(";")
        if coding.strip() not in ("gzip", "x-gzip"):
            continue
        q = next((p.partition("=")[2].strip() for p in params if p.partition("=")[0].strip() == "q"), "1")
        try:
            return float(q) > 0
        except ValueError:
            return False
    return False


class App:
    def __init__(self, exchange: Callable[[], Exchange], submit: Callable[[Command], Awaitable[Result]],
                 identity: IdentityStore, handlers: dict[str, dict[str, Handler]],
                 clock_ms: Callable[[], int] = wall_ms,
                 wait_placement: Callable[[int], Awaitable[PlaceExecutionReport]] | None = None,
                 mounts: dict[str, Mount] | None = None, delayed_prices: DelayedPrices | None = None,
                 dev_mode: bool = False) -> None:
        self._dev_mode = dev_mode
        self._exchange = exchange
        self._delayed_prices = delayed_prices
        self.mounts = dict(mounts or {})  # path prefix -> the API served under it
        self._wait_placement = wait_placement
        self._submit = submit
        self.identity = identity
        self.handlers = handlers  # service ("SportsAPING", ...) -> operation -> handler
        self._clock_ms = clock_ms
        self.instruction_rate = InstructionRate()  # 1,000 instructions per second per account (limits.py)

    # --- ASGI ----------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        headers[":query"] = scope.get("query_string", b"").decode("latin-1")
        body = await self._read_body(receive)
        if body is None:
            await self._respond(send, headers, 413, {"faultcode": "Client", "faultstring": "DSC-0008"})
            return
        try:
            status, payload = await self._route(scope["method"], scope["path"], headers, body)
        except Exception:  # never a stack trace on the wire
            log.exception("unhandled error on %s", scope["path"])
            status, payload = 500, {"faultcode": "Server", "faultstring": "DSC-0019", "detail": {}}
        await self._respond(send, headers, status, payload)

    @staticmethod
    async def _read_body(receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    @staticmethod
    async def _respond(send: Send, req_headers: dict[str, str], status: int, payload: Any) -> None:
        headers = [(b"content-type", b"application/json")]
        if type(payload) is WithHeaders:
            headers += payload.headers
            payload = payload.payload
        body = payload if isinstance(payload, bytes) else encode(payload)
        if len(body) >= GZIP_MIN_BYTES:
            headers.append((b"vary", b"accept-encoding"))  # this answer depends on it (RFC 9110 §12.5.5)
            if _accepts_gzip(req_headers.get("accept-encoding", "")):
                body = gzip.compress(body, compresslevel=5)
                headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    # --- routing -------------------------------------------------------------------------------------

    async def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        for prefix, mount in self.mounts.items():
            if path.startswith(prefix + "/"):
                return await mount(method, path, headers, body)
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "api" and parts[1] in identity_ops.OPERATIONS:
            return 200, identity_ops.identity_response(self.identity, parts[1], headers, body, self._clock_ms())
        if parts == ["api", "certlogin"] and self._dev_mode and method == "POST":
            # dev mode only: certlogin over plain HTTP, without a client certificate
            return 200, await asyncio.to_thread(certlogin_response, self.identity, body,
                                                headers.get("x-application", ""), None, self._clock_ms(), False)
        if parts[:4] == ["exchange", "betting", "rest", "v1"] and parts[5:] == ["navigation", "menu.json"] \
                and len(parts) == 7 and method in ("GET", "POST"):  # GET documented; betfair-parser POSTs
            return self._navigation(headers)
        if len(parts) >= 4 and parts[0] == "exchange" and method == "POST":
            service = {"betting": "SportsAPING", "account": "AccountAPING", "heartbeat": "HeartbeatAPING",
                       "scores": "ScoresAPING"}.get(parts[1])
            if service is not None and parts[2] in ("json-rpc", "jsonrpc") and parts[3] == "v1":
                return 200, await self._jsonrpc(service, headers, body)
            if service is not None and parts[2] == "rest" and parts[3] == "v1.0" and len(parts) == 5:
                return await self._rest(service, parts[4], headers, body)
        return 404, {"faultcode": "Client", "faultstring": "DSC-0021", "detail": {}}

    def _navigation(self, headers: dict[str, str]) -> tuple[int, Any]:
        """GET .../rest/v1/{locale}/navigation/menu.json with the usual headers (003:L8713-8721); POST is
        answered alike, as betfair-parser sends it."""
        try:
            ctx = self._authenticate("SportsAPING", "navigation", headers, self._clock_ms())
        except ApiError as e:
            return rest_fault(e)
        return 200, navigation.menu(ctx.exchange)

    # --- authentication --------------------------------------------------------------------------------

    def _authenticate(self, service: str, operation: str, headers: dict[str, str], now: int) -> Context:
        exception = exception_name(service)
        token = headers.get("x-authentication")
        key_name = headers.get("x-application")
        app_key: AppKey | None = None
        if operation not in NO_APP_KEY_OPERATIONS:
            if not key_name:
                raise ApiError("NO_APP_KEY", "X-Application header missing", exception)
            app_key = self.identity.app_key(key_name)
            if app_key is None:
                raise ApiError("INVALID_APP_KEY", "application key not recognised", exception)
        if not token:
            raise ApiError("NO_SESSION", "X-Authentication header missing", exception)
        session = self.identity.session(token, now)
        if session is None:
            raise ApiError("INVALID_SESSION_INFORMATION", "session is invalid or expired", exception)
        if app_key is not None and app_key.account_id != session.account_id:
            # an application key works only with sessions of the account that owns it
            raise ApiError("INVALID_APP_KEY", "application key does not belong to this account", exception)
        return Context(session.account_id, session, app_key, self._exchange(), self._submit, now, self.identity,
                       self._wait_placement, self._delayed_prices, self.instruction_rate)

    async def _call(self, service: str, operation: str, headers: dict[str, str], params: Any) -> Any:
        """Authenticate, decode, run one operation; raises ApiError, ParamsError or LookupError."""
        handler = self.handlers.get(service, {}).get(operation)
        params_type = SERVICES.get(service, {}).get(operation)
        if handler is None or params_type is None:
            raise LookupError(operation)
        ctx = self._authenticate(service, operation, headers, self._clock_ms())
        decoded = decode_as(params_type, params if params is not None else {})
        try:
            return await handler(ctx, decoded)
        except QueueFull:  # refused whole before it was stamped: the call changed nothing on the exchange
            raise ApiError("SERVICE_BUSY", BUSY_DETAILS, exception_name(service)) from None

    # --- JSON-RPC --------------------------------------------------------------------------------------

    async def _jsonrpc(self, service: str, headers: dict[str, str], body: bytes) -> Any:
        if body.lstrip()[:1] == b"{":
            # one request (the common case): the envelope in one pass, its params left as raw JSON for the
            # operation's typed decoder
            try:
                envelope = _ENVELOPE.decode(body)
            except msgspec.DecodeError:
                pass  # the general path below gives the documented error
            else:
                raw = bytes(envelope.params)
                params = None if not raw or raw == b"null" else raw
                return await self._jsonrpc_call(service, headers, envelope.id, envelope.method, params)
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return jsonrpc_error(None, -32700, "DSC-0008")
        if isinstance(request, list):
            if not request:  # an empty batch is one Invalid Request error (JSON-RPC 2.0, section 6)
                return jsonrpc_error(None, -32600, "DSC-0008")
            return [await self._jsonrpc_one(service, headers, r) for r in request]
        return await self._jsonrpc_one(service, headers, request)

    async def _jsonrpc_one(self, service: str, headers: dict[str, str], request: Any) -> Any:
        if not isinstance(request, dict):
            return jsonrpc_error(None, -32600, "DSC-0008")
        return await self._jsonrpc_call(service, headers, request.get("id"), request.get("method"),
                                        request.get("params"))

    async def _jsonrpc_call(self, service: str, headers: dict[str, str], request_id: Any, method: Any,
                            params: Any) -> Any:
        prefix = f"{service}/v1.0/"
        if not isinstance(method, str) or not method.startswith(prefix):
            return jsonrpc_error(request_id, -32601, "DSC-0021")
        try:
            result = await self._call(service, method[len(prefix):], headers, params)
        except LookupError:
            return jsonrpc_error(request_id, -32601, "DSC-0021")
        except ParamsError as e:
            code, dsc = PARAMS_FAULTS[e.kind]
            return jsonrpc_error(request_id, code, dsc)
        except ApiError as e:
            return jsonrpc_api_error(request_id, e)
        except Exception:  # a bug: UNEXPECTED_ERROR, logged here, never a stack trace on the wire
            log.exception("%s/%s failed", service, method)
            return jsonrpc_api_error(request_id, ApiError("UNEXPECTED_ERROR", "", exception_name(service)))
        return {"jsonrpc": "2.0", "result": msgspec.Raw(encode(result)), "id": request_id}

    # --- REST ------------------------------------------------------------------------------------------

    async def _rest(self, service: str, operation: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        try:
            params = json.loads(body) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return rest_dsc_fault(400, "DSC-0008")
        try:
            return 200, await self._call(service, operation, headers, params)
        except LookupError:
            return rest_dsc_fault(404, "DSC-0021")
        except ParamsError as e:
            return rest_dsc_fault(400, PARAMS_FAULTS[e.kind][1])
        except ApiError as e:
            return rest_fault(e)
        except Exception:
            log.exception("%s/%s failed", service, operation)
            return rest_fault(ApiError("UNEXPECTED_ERROR"))

