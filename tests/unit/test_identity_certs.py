"""Client certificates bound to accounts and the certificate login of the identity store
(003:L5377-5716; stream-identity-accounts.md §5.3), without a network."""

from __future__ import annotations

import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from backlay.betfair.http.identity import certlogin_response
from backlay.identity import tls
from backlay.identity.store import MAX_FAILED_LOGINS, IdentityStore

NOW = 1_700_000_000_000
PW = "s3cret&pa ss=word"  # needs URL-encoding (003:L5556-5560)


@pytest.fixture(scope="module")
def certs() -> dict[str, tuple[str, str]]:
    return {name: tls.generate_client_cert(f"{name} bot") for name in ("alice", "bob")}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IdentityStore]:
    s = IdentityStore(tmp_path / "identity.db")
    s.create_user("alice", PW, "A1")
    s.create_user("bob", PW, "B2")
    yield s
    s.close()


def der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)


def test_register_list_find_remove(store: IdentityStore, certs: dict[str, tuple[str, str]]) -> None:
    pem = certs["alice"][0]
    fp = store.register_client_cert("A1", pem)
    assert fp == x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256()).hex()
    assert store.register_client_cert("A1", pem) == fp  # idempotent
    [cert] = store.client_certs("A1")
    assert cert.fingerprint == fp and cert.subject == "CN=alice bot" and cert.not_after.endswith("Z")
    assert store.client_certs("B2") == []
    assert store.all_client_cert_pems() == [cert.pem]
    assert store.account_for_cert(der(pem)) == "A1"
    assert store.account_for_cert(der(certs["bob"][0])) is None
    assert not store.remove_client_cert("B2", fp)  # not bob's
    colons = ":".join(fp[i:i + 2] for i in range(0, 64, 2)).upper()
    assert store.remove_client_cert("A1", colons)
    assert store.account_for_cert(der(pem)) is None and store.all_client_cert_pems() == []


def test_register_refuses_anything_but_one_certificate(store: IdentityStore,
                                                       certs: dict[str, tuple[str, str]]) -> None:
    pem, key = certs["alice"]
    for bad, why in [("", "got nothing"), ("hello", "exactly one"), (pem + pem, "exactly one"),
                     (pem + key, "private key"), (key, "private key"),
                     ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a valid")]:
        with pytest.raises(ValueError, match=why):
            store.register_client_cert("A1", bad)
    with pytest.raises(ValueError, match="no user has account"):
        store.register_client_cert("Z9", pem)
    store.register_client_cert("A1", pem)
    with pytest.raises(ValueError, match="another account"):
        store.register_client_cert("B2", pem)
    small = tls.generate_client_cert("tiny", key_size=1024)[0]
    store.register_client_cert("B2", small)  # 1024 bits is what Betfair allows (003:L5393)


def test_cert_login_statuses(store: IdentityStore, certs: dict[str, tuple[str, str]]) -> None:
    """003:L5495-5555: SUCCESS with a session; CERT_AUTH_REQUIRED without a certificate or with one not
    bound to the user's account (also for an unknown username: no enumeration); the password is checked
    only after the certificate."""
    store.register_client_cert("A1", certs["alice"][0])
    store.register_client_cert("B2", certs["bob"][0])
    alice, bob = der(certs["alice"][0]), der(certs["bob"][0])
    ok = store.cert_login("alice", PW, alice, "key", NOW)
    assert ok.login_status == "SUCCESS" and ok.token
    session = store.session(ok.token, NOW)
    assert session is not None and session.account_id == "A1"
    assert store.cert_login("alice", PW, None, "key", NOW).login_status == "CERT_AUTH_REQUIRED"
    assert store.cert_login("alice", PW, bob, "key", NOW).login_status == "CERT_AUTH_REQUIRED"
    assert store.cert_login("nobody", PW, alice, "key", NOW).login_status == "CERT_AUTH_REQUIRED"
    assert store.cert_login("alice", "wrong", alice, "key", NOW).login_status == "INVALID_USERNAME_OR_PASSWORD"
    assert store.cert_login("alice", "", alice, "key", NOW).login_status == "INPUT_VALIDATION_ERROR"
    # wrong passwords without the right certificate never reach the lockout counter
    for _ in range(MAX_FAILED_LOGINS + 2):
        assert store.cert_login("bob", "wrong", alice, None, NOW).login_status == "CERT_AUTH_REQUIRED"
    assert store.cert_login("bob", PW, bob, None, NOW).login_status == "SUCCESS"
    # dev mode: no certificate needed, but one that is presented must still match
    dev = store.cert_login("alice", PW, None, None, NOW, require_cert=False)
    assert dev.login_status == "SUCCESS" and dev.token
    assert store.cert_login("alice", PW, bob, None, NOW, require_cert=False).login_status == "CERT_AUTH_REQUIRED"


def test_lockout_shared_with_interactive_login(store: IdentityStore, certs: dict[str, tuple[str, str]]) -> None:
    """Ten wrong passwords, over either login, lock the user for 20 minutes (ACCOUNT_NOW_LOCKED, then
    ACCOUNT_ALREADY_LOCKED, 003:L5495-5499)."""
    store.register_client_cert("A1", certs["alice"][0])
    alice = der(certs["alice"][0])
    for _ in range(MAX_FAILED_LOGINS - 2):
        assert store.login("alice", "wrong", None, NOW).error == "INVALID_USERNAME_OR_PASSWORD"
    assert store.cert_login("alice", "wrong", alice, None, NOW).login_status == "INVALID_USERNAME_OR_PASSWORD"
    assert store.cert_login("alice", "wrong", alice, None, NOW).login_status == "ACCOUNT_NOW_LOCKED"
    assert store.cert_login("alice", PW, alice, None, NOW).login_status == "ACCOUNT_ALREADY_LOCKED"
    assert store.login("alice", PW, None, NOW).error == "ACCOUNT_ALREADY_LOCKED"
    later = NOW + 20 * 60_000 + 1
    assert store.cert_login("alice", PW, alice, None, later).login_status == "SUCCESS"


def test_concurrent_wrong_passwords_all_count(store: IdentityStore) -> None:
    """The failure counter is updated atomically: parallel guesses cannot outrun the lockout."""
    results: list[str] = []
    barrier = threading.Barrier(MAX_FAILED_LOGINS + 2)

    def guess() -> None:
        barrier.wait()
        results.append(store.login("bob", "wrong", None, NOW).error)

    threads = [threading.Thread(target=guess) for _ in range(MAX_FAILED_LOGINS + 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(["INVALID_USERNAME_OR_PASSWORD"] * (MAX_FAILED_LOGINS - 1)
                                     + ["ACCOUNT_NOW_LOCKED"] + ["ACCOUNT_ALREADY_LOCKED"] * 2)


def test_certlogin_response_shape(store: IdentityStore, certs: dict[str, tuple[str, str]]) -> None:
    """003:L5490-5507, L5612: {"sessionToken", "loginStatus": "SUCCESS"}; a failure has no sessionToken."""
    store.register_client_cert("A1", certs["alice"][0])
    alice = der(certs["alice"][0])
    body = b"username=alice&password=s3cret%26pa+ss%3Dword"
    ok = certlogin_response(store, body, "app", alice, NOW, require_cert=True)
    assert list(ok) == ["sessionToken", "loginStatus"] and ok["loginStatus"] == "SUCCESS"
    assert certlogin_response(store, body, "app", None, NOW, require_cert=True) == {"loginStatus": "CERT_AUTH_REQUIRED"}
    assert certlogin_response(store, body, "", None, NOW, require_cert=False)["loginStatus"] == "SUCCESS"
    assert certlogin_response(store, b"username=alice&password=x", "app", alice, NOW, True) == {
        "loginStatus": "INVALID_USERNAME_OR_PASSWORD"}
    for junk in (b"", b"\xff\xfe", b'{"username": "alice"}', b"&".join([b"a=1"] * 100)):
        assert certlogin_response(store, junk, "app", alice, NOW, True) == {"loginStatus": "INPUT_VALIDATION_ERROR"}


def test_server_cert_made_once(tmp_path: Path) -> None:
    cert, key = tls.ensure_server_cert(tmp_path / "tls")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = cert.read_bytes()
    assert tls.ensure_server_cert(tmp_path / "tls") == (cert, key) and cert.read_bytes() == first
    sans = x509.load_pem_x509_certificate(first).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert {str(v) for v in sans.value.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    tls.ensure_server_cert(tmp_path / "tls", hosts=["localhost", "127.0.0.1", "exchange.lan"])
    assert cert.read_bytes() != first  # a new host: made again
    key.write_text("garbage")
    tls.ensure_server_cert(tmp_path / "tls")
    ctx = tls.server_ssl_context(cert, key, [])
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
