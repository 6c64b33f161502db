"""Certificate login (003:L5377-5716) over real TLS, driven by unmodified betfairlightweight: only its
`identity_cert_uri` points at the local certlogin host, and requests trusts the server's self-signed
certificate through REQUESTS_CA_BUNDLE. betfairlightweight's `login()` is the certificate login."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import betfairlightweight
import pytest
from betfairlightweight.exceptions import APIError, LoginError

from backlay.betfair.certlogin import start_certlogin_server
from backlay.identity import tls
from backlay.identity.store import MAX_FAILED_LOGINS, IdentityStore

PASSWORD = "correct horse&battery=staple"  # needs URL-encoding (003:L5556-5560)
USERS = {"alice": "A1", "bob": "B2", "carol": "C3", "dave": "D4", "erin": "E5", "frank": "F6"}


@dataclass
class CertServer:
    port: int
    ca: Path  # the server's self-signed certificate, for clients to trust
    identity: IdentityStore
    ctx: ssl.SSLContext
    certs: dict[str, Path]  # user -> directory holding client-2048.crt and client-2048.key


def write_pair(root: Path, name: str, pem: str, key: str) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "client-2048.crt").write_text(pem)
    (d / "client-2048.key").write_text(key)
    return d


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertServer]:
    root = Path(tmp_path_factory.mktemp("certlogin"))
    identity = IdentityStore(root / "identity.db")
    certs: dict[str, Path] = {}
    for user, account in USERS.items():
        identity.create_user(user, PASSWORD, account)
        identity.create_app_key(account, "bot", delayed=False, app_key=f"{user}-key")
        pem, key = tls.generate_client_cert(f"{user} bot", key_size=1024 if user == "frank" else 2048)
        certs[user] = write_pair(root / "clients", user, pem, key)
        if user != "dave":  # dave registers his certificate while the server runs
            identity.register_client_cert(account, pem)
    stranger_pem, stranger_key = tls.generate_client_cert("stranger")
    certs["stranger"] = write_pair(root / "clients", "stranger", stranger_pem, stranger_key)
    cert_path, key_path = tls.ensure_server_cert(root / "tls")
    ctx = tls.server_ssl_context(cert_path, key_path, identity.all_client_cert_pems())

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="certlogin", daemon=True)
    thread.start()
    listener = asyncio.run_coroutine_threadsafe(start_certlogin_server(
        identity, "127.0.0.1", 0, ctx, lambda: time.time_ns() // 1_000_000), loop).result(timeout=10)
    port = listener.sockets[0].getsockname()[1]
    yield CertServer(port, cert_path, identity, ctx, certs)

    async def stop() -> None:
        listener.close()
        await listener.wait_closed()
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:  # connections still open (3.11's wait_closed does not wait for them)
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await loop.shutdown_default_executor()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()
    identity.close()


@pytest.fixture(autouse=True)
def trust_server(server: CertServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca))


def bflw(server: CertServer, user: str, certs_of: str | None = None, password: str = PASSWORD,
         app_key: str | None = None) -> betfairlightweight.APIClient:
    client = betfairlightweight.APIClient(user, password, app_key=app_key or f"{user}-key",
                                          certs=str(server.certs[certs_of or user]))
    client.identity_cert_uri = f"https://127.0.0.1:{server.port}/api/"
    return client


def raw(server: CertServer, request: bytes, cert: str | None = None) -> bytes:
    """One request over a fresh TLS connection with the standard library; the whole answer."""
    ctx = ssl.create_default_context(cafile=str(server.ca))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=1")  # lets this client use a 1024-bit RSA key
    if cert is not None:
        d = server.certs[cert]
        ctx.load_cert_chain(str(d / "client-2048.crt"), str(d / "client-2048.key"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock, \
            ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls_sock:
        tls_sock.sendall(request)
        chunks = []
        while chunk := tls_sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def post(body: bytes, path: str = "/api/certlogin", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Application: k\r\nContent-Type: application/x-www-form-urlencoded"
            f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n").encode() + body


def test_betfairlightweight_cert_login(server: CertServer) -> None:
    """003:L5457-5507, L5612: POST certlogin with the registered certificate → SUCCESS and a session token
    valid in the identity store for the user's account."""
    client = bflw(server, "alice")
    resource = client.login()
    assert resource.login_status == "SUCCESS" and client.session_token
    session = server.identity.session(client.session_token, time.time_ns() // 1_000_000)
    assert session is not None and session.account_id == "A1" and session.app_key == "alice-key"


def test_wrong_password(server: CertServer) -> None:
    """003:L5495-5497: INVALID_USERNAME_OR_PASSWORD, no sessionToken."""
    client = bflw(server, "bob", password="nope")
    with pytest.raises(LoginError, match="INVALID_USERNAME_OR_PASSWORD"):
        client.login()
    assert client.session_token is None


def test_certificate_of_another_account(server: CertServer) -> None:
    """A certificate registered to bob does not log alice in, even with alice's password (003:L5552-5555)."""
    with pytest.raises(LoginError, match="CERT_AUTH_REQUIRED"):
        bflw(server, "alice", certs_of="bob").login()


def test_no_client_certificate(server: CertServer) -> None:
    """The handshake completes without a certificate; certlogin answers HTTP 200 CERT_AUTH_REQUIRED."""
    answer = raw(server, post(b"username=alice&password=x"))
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(b'{"loginStatus":"CERT_AUTH_REQUIRED"}')
    assert b"cache-control: no-store" in answer.lower()


def test_unregistered_certificate_fails_the_handshake(server: CertServer) -> None:
    """The verify store holds only registered certificates: an unknown one is refused in the TLS
    handshake (the client sees an SSL error or a closed connection, never an HTTP answer)."""
    with pytest.raises(APIError):
        bflw(server, "alice", certs_of="stranger").login()
    try:
        answer = raw(server, post(b"username=alice&password=x"), cert="stranger")
    except (ssl.SSLError, ConnectionError):
        answer = b""
    assert answer == b""


def test_rsa_1024_client_certificate(server: CertServer) -> None:
    """003:L5393 allows 1024-bit RSA certificates; the server accepts them (OpenSSL security level 1).
    The username and password are URL-encoded (003:L5556-5560)."""
    body = urlencode({"username": "frank", "password": PASSWORD}).encode()
    answer = raw(server, post(body), cert="frank")
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"loginStatus":"SUCCESS"' in answer


def test_lockout_after_repeated_failures(server: CertServer) -> None:
    """Ten wrong passwords: ACCOUNT_NOW_LOCKED, then ACCOUNT_ALREADY_LOCKED even with the right one
    (003:L5495-5499); the lock is shared with the interactive login."""
    statuses = []
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(LoginError) as e:
            bflw(server, "carol", password="guess").login()
        statuses.append(str(e.value))
    assert all("INVALID_USERNAME_OR_PASSWORD" in s for s in statuses[:-1])
    assert "ACCOUNT_NOW_LOCKED" in statuses[-1]
    with pytest.raises(LoginError, match="ACCOUNT_ALREADY_LOCKED"):
        bflw(server, "carol").login()
    assert server.identity.login("carol", PASSWORD, None, time.time_ns() // 1_000_000).error == "ACCOUNT_ALREADY_LOCKED"


def test_certificate_registered_while_running(server: CertServer) -> None:
    """Registered through the store and added to the live TLS context: the next handshake accepts it."""
    with pytest.raises(APIError):
        bflw(server, "dave").login()
    pem = (server.certs["dave"] / "client-2048.crt").read_text()
    server.identity.register_client_cert("D4", pem)
    tls.add_client_cert(server.ctx, pem)
    client = bflw(server, "dave")
    client.login()
    assert client.session_token


def test_removed_certificate_no_longer_authenticates(server: CertServer) -> None:
    [cert] = server.identity.client_certs("E5")
    bflw(server, "erin").login()
    assert server.identity.remove_client_cert("E5", cert.fingerprint)
    with pytest.raises(LoginError, match="CERT_AUTH_REQUIRED"):
        bflw(server, "erin").login()


def test_http_edges(server: CertServer) -> None:
    """Other paths 404, other methods 405, huge bodies 413, garbage 400: JSON, never a stack trace;
    keep-alive serves two requests on one connection."""
    assert raw(server, post(b"", path="/api/login")).startswith(b"HTTP/1.1 404 ")
    get = b"GET /api/certlogin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert raw(server, get).startswith(b"HTTP/1.1 405 ")
    big = b"POST /api/certlogin HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"
    assert raw(server, big).startswith(b"HTTP/1.1 413 ")
    for junk in (b"NONSENSE\r\n\r\n", b"POST /api/certlogin HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                 b"POST /api/certlogin HTTP/1.1\r\nBad Header\r\n\r\n"):
        answer = raw(server, junk)
        assert answer.startswith(b"HTTP/1.1 400 ") and b"Traceback" not in answer
    assert raw(server, b"POST / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431 ")
    two = post(b"username=a&password=b").replace(b"Connection: close", b"Connection: keep-alive") \
        + post(b"username=a&password=b")
    answer = raw(server, two, cert="alice")
    assert answer.count(b"HTTP/1.1 200 ") == 2 and answer.count(b"CERT_AUTH_REQUIRED") == 2
