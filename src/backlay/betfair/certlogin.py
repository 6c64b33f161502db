"""The certificate-login host: POST /api/certlogin (identitysso-cert.betfair.com, 003:L5377-5716).

A deliberately small HTTP/1.1 server on asyncio streams, because it must see the TLS connection itself:
the client certificate is taken from the handshake (`ssl_object.getpeercert(binary_form=True)`), which an
ASGI server does not pass on. It serves one route; anything else is a JSON 404, a body over
MAX_BODY_BYTES a 413, a malformed request a 400, and an unexpected error a JSON 500 (logged, never a stack
trace on the wire). Keep-alive follows HTTP/1.1 (HTTP/1.0: only when asked), with idle and read
timeouts.

Request (003:L5457-5467, L5485-5489): form body `username`, `password` (URL-encoded); X-Application is
"not validated and only used to help with troubleshooting" (L5461-5463), so any value is accepted and
stored with the session. Response: always HTTP 200 with `{"sessionToken": ..., "loginStatus": "SUCCESS"}`
or `{"loginStatus": "<reason>"}` without a token (L5490-5507, L5612; clients check the status code and
then loginStatus, L5704-5715).

The TLS policy (which certificates pass the handshake) is in backlay.identity.tls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Callable
from typing import Any

from backlay.betfair.http.identity import certlogin_response
from backlay.identity.store import IdentityStore

log = logging.getLogger(__name__)

PATH = "/api/certlogin"
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 16 * 1024
READ_TIMEOUT_S = 15.0
IDLE_TIMEOUT_S = 30.0
HANDSHAKE_TIMEOUT_S = 15.0
CLOSE_TIMEOUT_S = 5.0  # TLS close_notify exchange at the end of a connection
MAX_REQUESTS_PER_CONNECTION = 100

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            413: "Content Too Large", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
            501: "Not Implemented", 505: "HTTP Version Not Supported"}


async def start_certlogin_server(identity: IdentityStore, host: str, port: int, ssl_context: ssl.SSLContext | None,
                                 clock_ms: Callable[[], int], require_cert: bool = True) -> asyncio.Server:
    """Listen on host:port and serve POST /api/certlogin. `ssl_context` comes from
    backlay.identity.tls.server_ssl_context; None serves plain HTTP (dev mode only, then pass
    require_cert=False, otherwise every login is CERT_AUTH_REQUIRED). Close with `server.close()` and
    `await server.wait_closed()`."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _serve_connection(reader, writer, identity, clock_ms, require_cert)
        except asyncio.CancelledError:
            # Shutting down: drop the connection. Nothing awaits this per-connection task, and 3.11's
            # stream callback would log a cancelled task as an error, so the cancellation ends here.
            writer.transport.abort()

    tls_timeouts: dict[str, Any] = {"ssl_handshake_timeout": HANDSHAKE_TIMEOUT_S,
                                    "ssl_shutdown_timeout": CLOSE_TIMEOUT_S} if ssl_context else {}
    return await asyncio.start_server(serve, host, port, ssl=ssl_context, limit=MAX_HEADER_BYTES, **tls_timeouts)


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, identity: IdentityStore,
                            clock_ms: Callable[[], int], require_cert: bool) -> None:
    ssl_object = writer.get_extra_info("ssl_object")
    cert_der: bytes | None = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    try:
        for _ in range(MAX_REQUESTS_PER_CONNECTION):
            try:
                request = await _read_request(reader, writer)
            except _HttpError as e:
                await _respond(writer, e.status, {"error": e.message}, keep_alive=False)
                return
            if request is None:
                return
            method, path, headers, body, keep_alive = request
            try:
                status, payload, extra = await _route(method, path, headers, body, identity, cert_der, clock_ms,
                                                      require_cert)
            except Exception:
                log.exception("certlogin: unexpected error")
                await _respond(writer, 500, {"error": "INTERNAL_ERROR"}, keep_alive=False)
                return
            await _respond(writer, status, payload, keep_alive=keep_alive, extra=extra)
            if not keep_alive:
                return
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
        return  # the peer went away or stalled: nothing to answer
    except asyncio.CancelledError:
        writer.transport.abort()
        raise
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_S)


async def _route(method: str, path: str, headers: dict[str, str], body: bytes, identity: IdentityStore,
                 cert_der: bytes | None, clock_ms: Callable[[], int],
                 require_cert: bool) -> tuple[int, dict[str, Any], dict[str, str]]:
    if path != PATH:
        return 404, {"error": "NOT_FOUND"}, {}
    if method != "POST":
        return 405, {"error": "METHOD_NOT_ALLOWED"}, {"Allow": "POST"}
    now = clock_ms()
    # scrypt and an fsync'd SQLite write: off the event loop (IdentityStore is thread-safe)
    payload = await asyncio.to_thread(certlogin_response, identity, body, headers.get("x-application", ""),
                                      cert_der, now, require_cert)
    return 200, payload, {}


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                        ) -> tuple[str, str, dict[str, str], bytes, bool] | None:
    """One request: (method, path, lower-cased headers, body, keep-alive), or None on a clean close."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT_S)
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise _HttpError(400, "BAD_REQUEST") from None
        return None
    except asyncio.LimitOverrunError:
        raise _HttpError(431, "HEADERS_TOO_LARGE") from None
    except TimeoutError:
        return None
    lines = head[:-4].lstrip(b"\r\n").split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise _HttpError(400, "BAD_REQUEST")
    method, target, version = parts[0].decode("ascii", "replace"), parts[1].decode("latin-1"), parts[2]
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise _HttpError(505, "HTTP_VERSION_NOT_SUPPORTED")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise _HttpError(400, "BAD_REQUEST")
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        if key == "content-length" and key in headers and headers[key] != text:
            raise _HttpError(400, "BAD_REQUEST")
        headers[key] = text
    if "transfer-encoding" in headers:
        raise _HttpError(501, "CHUNKED_BODY_NOT_SUPPORTED")
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit() or not length_text.isascii():
        raise _HttpError(400, "BAD_REQUEST")
    length = int(length_text)
    if length > MAX_BODY_BYTES:
        raise _HttpError(413, "BODY_TOO_LARGE")
    if length and headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    body = await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT_S) if length else b""
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    keep_alive = "keep-alive" in tokens if version == b"HTTP/1.0" else "close" not in tokens
    return method, target.split("?", 1)[0], headers, body, keep_alive


async def _respond(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any], keep_alive: bool,
                   extra: dict[str, str] | None = None) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Cache-Control: no-store",
            f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    head += [f"{k}: {v}" for k, v in (extra or {}).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
