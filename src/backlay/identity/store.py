"""Users, application keys and sessions in their own SQLite file, beside the journal.

They are not exchange state: no matching or money depends on them, so they do not go through the
sequencer; each write is its own durable transaction. Passwords are hashed with scrypt (a memory-hard
KDF from the standard library) and a per-user salt. Sessions survive restarts. After
MAX_FAILED_LOGINS wrong passwords a user is locked out for 20 minutes; existing sessions stay valid.

Client certificates for the non-interactive login (003:L5377-5716) are bound to accounts by the SHA-256
fingerprint of their DER encoding: a certificate login succeeds only when the certificate presented in
the TLS handshake is, byte for byte, one registered to the account of the user logging in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILED_LOGINS = 10
LOCKOUT_MS = 20 * 60 * 1000
# Session expiry by jurisdiction (003:L5046-5053): 12 h international, 24 h UK & Ireland, 20 min IT/ES.
SESSION_TIMEOUT_MS = {"INT": 12 * 3600_000, "UK": 24 * 3600_000, "IT": 20 * 60_000, "ES": 20 * 60_000}
# Betfair asks for 1024- or 2048-bit RSA client certificates (003:L5393); smaller RSA keys are refused.
MIN_RSA_BITS = 1024
MAX_CERT_PEM_CHARS = 64 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, account_id TEXT NOT NULL UNIQUE, salt BLOB NOT NULL, pw_hash BLOB NOT NULL,
    jurisdiction TEXT NOT NULL DEFAULT 'INT', failed INTEGER NOT NULL DEFAULT 0, locked_until_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS app_keys (
    app_key TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, delayed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY, account_id TEXT NOT NULL, app_key TEXT, expires_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS client_certs (
    fingerprint TEXT PRIMARY KEY, account_id TEXT NOT NULL, pem TEXT NOT NULL, subject TEXT NOT NULL,
    not_after TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS client_certs_by_account ON client_certs (account_id);
CREATE TABLE IF NOT EXISTS providers (
    provider_id TEXT PRIMARY KEY, secret TEXT NOT NULL, created_ms INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Session:
    token: str
    account_id: str
    app_key: str | None
    expires_ms: int


@dataclass(frozen=True)
class Provider:
    """A betting content provider allowed to call the provider endpoint (provider/api.py)."""

    provider_id: str
    created_ms: int


@dataclass(frozen=True)
class AppKey:
    app_key: str
    account_id: str
    name: str
    delayed: bool


@dataclass(frozen=True)
class LoginResult:
    status: str  # SUCCESS | FAIL
    token: str = ""
    error: str = ""


@dataclass(frozen=True)
class CertLoginResult:
    """certlogin's answer (003:L5490-5507): a loginStatus, and a session token only on SUCCESS."""

    login_status: str
    token: str | None = None


@dataclass(frozen=True)
class ClientCert:
    """A client certificate registered to an account (003:L5437-5445: "Linking the Certificate")."""

    fingerprint: str  # SHA-256 of the DER encoding, lowercase hex without separators
    account_id: str
    subject: str
    not_after: str  # ISO 8601, UTC
    pem: str


def hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)


def cert_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def parse_client_cert_pem(pem: str) -> x509.Certificate:
    """Exactly one PEM X.509 certificate and nothing else (a private key pasted along is refused, so it is
    never stored). Raises ValueError with the reason."""
    if not isinstance(pem, str) or not pem.strip():
        raise ValueError("client certificate: expected one PEM-encoded X.509 certificate, got nothing")
    if len(pem) > MAX_CERT_PEM_CHARS:
        raise ValueError("client certificate: PEM text too large")
    if "PRIVATE KEY" in pem:
        raise ValueError("client certificate: the PEM contains a private key; register only the certificate "
                         "(the .crt file), never the key")
    blocks = pem.count("-----BEGIN ")
    if blocks != 1 or pem.count("-----BEGIN CERTIFICATE-----") != 1:
        raise ValueError(f"client certificate: expected exactly one '-----BEGIN CERTIFICATE-----' block, "
                         f"found {blocks} PEM block(s)")
    try:
        cert = x509.load_pem_x509_certificate(pem.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as e:
        raise ValueError(f"client certificate: not a valid PEM X.509 certificate ({e})") from None
    try:
        key = cert.public_key()
    except (ValueError, TypeError) as e:  # an algorithm this build cannot use
        raise ValueError(f"client certificate: unsupported public key ({e})") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValueError(f"client certificate: RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} needed "
                         "(003:L5393 asks for 1024 or 2048)")
    return cert


class IdentityStore:
    def __init__(self, path: str | Path, cache: bool = True) -> None:
        """`cache=False` for a process that only reads while another writes (a stream worker): every
        look-up then reads the database, so a logout or keepAlive elsewhere is seen at once."""
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        # every API request and stream connection looks up its application key and session: keep what
        # was read (this process is the only writer; keepAlive and logout drop their entry)
        self._cache = cache
        self._keys: dict[str, AppKey] = {}
        self._sessions: dict[str, Session] = {}
        self._provider_secrets: dict[str, bytes] = {}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- users and app keys (operator) --------------------------------------------------------------

    def create_user(self, username: str, password: str, account_id: str, jurisdiction: str = "INT") -> None:
        if jurisdiction not in SESSION_TIMEOUT_MS:
            raise ValueError(f"jurisdiction must be one of {sorted(SESSION_TIMEOUT_MS)}")
        salt = secrets.token_bytes(16)
        with self._lock:
            self._conn.execute(
                "INSERT INTO users (username, account_id, salt, pw_hash, jurisdiction) VALUES (?, ?, ?, ?, ?)",
                (username, account_id, salt, hash_password(password, salt), jurisdiction))

    def username_of(self, account_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT username FROM users WHERE account_id = ?", (account_id,)).fetchone()
        return row[0] if row else None

    def has_user(self, username: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone() is not None

    def create_app_key(self, account_id: str, name: str, delayed: bool, app_key: str | None = None) -> AppKey:
        key = app_key or secrets.token_urlsafe(12)
        with self._lock:
            self._conn.execute("INSERT INTO app_keys (app_key, account_id, name, delayed) VALUES (?, ?, ?, ?)",
                               (key, account_id, name, int(delayed)))
        return AppKey(key, account_id, name, delayed)

    def app_key(self, app_key: str) -> AppKey | None:
        key = self._keys.get(app_key)
        if key is not None:
            return key
        with self._lock:
            row = self._conn.execute("SELECT app_key, account_id, name, delayed FROM app_keys WHERE app_key = ?",
                                     (app_key,)).fetchone()
        if row is None:
            return None  # not remembered: the key may be created later
        key = AppKey(row[0], row[1], row[2], bool(row[3]))
        if self._cache:
            self._keys[app_key] = key
        return key

    def app_keys_of(self, account_id: str) -> list[AppKey]:
        with self._lock:
            rows = self._conn.execute("SELECT app_key, account_id, name, delayed FROM app_keys WHERE account_id = ? "
                                      "ORDER BY name, delayed", (account_id,)).fetchall()
        return [AppKey(r[0], r[1], r[2], bool(r[3])) for r in rows]

    # --- betting content providers (the provider endpoint's callers) --------------------------------

    def create_provider(self, provider_id: str, secret: str, now_ms: int) -> bool:
        """Register a provider with its HMAC secret; False when the id is taken."""
        with self._lock:
            try:
                self._conn.execute("INSERT INTO providers (provider_id, secret, created_ms) VALUES (?, ?, ?)",
                                   (provider_id, secret, now_ms))
            except sqlite3.IntegrityError:
                return False
        return True

    def provider_secret(self, provider_id: str) -> bytes | None:
        secret = self._provider_secrets.get(provider_id)
        if secret is not None:
            return secret
        with self._lock:
            row = self._conn.execute("SELECT secret FROM providers WHERE provider_id = ?", (provider_id,)).fetchone()
        if row is None:
            return None
        secret = str(row[0]).encode()
        if self._cache:
            self._provider_secrets[provider_id] = secret
        return secret

    def providers(self) -> list[Provider]:
        with self._lock:
            rows = self._conn.execute("SELECT provider_id, created_ms FROM providers ORDER BY provider_id").fetchall()
        return [Provider(r[0], r[1]) for r in rows]

    def remove_provider(self, provider_id: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM providers WHERE provider_id = ?", (provider_id,))
        self._provider_secrets.pop(provider_id, None)
        return cur.rowcount > 0

    # --- login, sessions ---------------------------------------------------------------------------

    def login(self, username: str, password: str, app_key: str | None, now_ms: int) -> LoginResult:
        """Interactive login (003:L5158-5375); certificate login (cert_login) shares it, so wrong passwords
        count towards the same lockout."""
        if not username or not password:
            return LoginResult("FAIL", error="INPUT_VALIDATION_ERROR")
        checked = self._check_password(username, password, now_ms)
        if isinstance(checked, str):
            return LoginResult("FAIL", error=checked)
        account_id, jurisdiction = checked
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._conn.execute("INSERT INTO sessions (token, account_id, app_key, expires_ms) VALUES (?, ?, ?, ?)",
                               (token, account_id, app_key, now_ms + SESSION_TIMEOUT_MS[jurisdiction]))
        return LoginResult("SUCCESS", token=token)

    def cert_login(self, username: str, password: str, cert_der: bytes | None, app_key: str | None, now_ms: int,
                   require_cert: bool = True) -> CertLoginResult:
        """Non-interactive login (003:L5377-5716): username and password as for login(), plus the client
        certificate the TLS handshake presented (DER), which must be registered to this user's account.

        No certificate, or one not registered to the user's account: CERT_AUTH_REQUIRED ("Certificate
        required or certificate present but could not authenticate with it", 003:L5552-5555), before the
        password is looked at, so a password cannot be tried without the account's certificate and an
        unknown username answers the same as a known one. `require_cert=False` (plain-HTTP dev mode only)
        lets a login without a certificate through; a certificate that is presented is still checked.
        Then the password, lockout and session exactly as login() (ACCOUNT_NOW_LOCKED on the tenth wrong
        password, ACCOUNT_ALREADY_LOCKED while locked, 003:L5495-5499)."""
        if not username or not password:
            return CertLoginResult("INPUT_VALIDATION_ERROR")
        if cert_der is None:
            if require_cert:
                return CertLoginResult("CERT_AUTH_REQUIRED")
        else:
            with self._lock:
                row = self._conn.execute(
                    "SELECT 1 FROM client_certs c JOIN users u ON u.account_id = c.account_id "
                    "WHERE c.fingerprint = ? AND u.username = ?", (cert_fingerprint(cert_der), username)).fetchone()
            if row is None:
                return CertLoginResult("CERT_AUTH_REQUIRED")
        result = self.login(username, password, app_key, now_ms)
        if result.status == "SUCCESS":
            return CertLoginResult("SUCCESS", result.token)
        return CertLoginResult(result.error or "INVALID_USERNAME_OR_PASSWORD")

    def _check_password(self, username: str, password: str, now_ms: int) -> tuple[str, str] | str:
        """(account_id, jurisdiction) if the password is right and the user not locked out, else the error.

        The hash is computed outside the lock; the failure count is then read and written in one
        transaction under it, so concurrent wrong guesses all count and none slips in after a lockout."""
        with self._lock:
            row = self._conn.execute(
                "SELECT account_id, salt, pw_hash, jurisdiction, locked_until_ms FROM users WHERE username = ?",
                (username,)).fetchone()
        if row is None:
            hash_password(password, b"0" * 16)  # same cost whether or not the user exists
            return "INVALID_USERNAME_OR_PASSWORD"
        account_id, salt, pw_hash, jurisdiction, locked_until_ms = row
        if locked_until_ms > now_ms:
            return "ACCOUNT_ALREADY_LOCKED"
        ok = hmac.compare_digest(hash_password(password, salt), pw_hash)
        with self._transaction():
            state = self._conn.execute("SELECT failed, locked_until_ms FROM users WHERE username = ?",
                                       (username,)).fetchone()
            if state is None:  # removed meanwhile
                return "INVALID_USERNAME_OR_PASSWORD"
            failed, locked_until_ms = state
            if locked_until_ms > now_ms:  # locked by a concurrent attempt
                return "ACCOUNT_ALREADY_LOCKED"
            if ok:
                if failed:
                    self._conn.execute("UPDATE users SET failed = 0 WHERE username = ?", (username,))
                return account_id, jurisdiction
            failed += 1
            locked = failed >= MAX_FAILED_LOGINS
            self._conn.execute("UPDATE users SET failed = ?, locked_until_ms = ? WHERE username = ?",
                               (0 if locked else failed, now_ms + LOCKOUT_MS if locked else 0, username))
        return "ACCOUNT_NOW_LOCKED" if locked else "INVALID_USERNAME_OR_PASSWORD"

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- client certificates (003:L5377-5445) ------------------------------------------------------

    def register_client_cert(self, account_id: str, pem: str) -> str:
        """Binds one PEM X.509 certificate to an account; returns its SHA-256 fingerprint (hex).

        Registering the same certificate to the same account again is a no-op. Raises ValueError for
        anything but exactly one well-formed certificate (a private key in the text is refused), an RSA
        key under 1024 bits, an account without a user, or a certificate already bound to another account
        (one certificate authenticates one account). The caller adds the certificate to a live TLS
        context with backlay.identity.tls.add_client_cert."""
        cert = parse_client_cert_pem(pem)
        der = cert.public_bytes(serialization.Encoding.DER)
        fingerprint = cert_fingerprint(der)
        canonical = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        subject = cert.subject.rfc4514_string()
        not_after = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._transaction():
            if self._conn.execute("SELECT 1 FROM users WHERE account_id = ?", (account_id,)).fetchone() is None:
                raise ValueError(f"client certificate: no user has account {account_id!r}")
            owner = self._conn.execute("SELECT account_id FROM client_certs WHERE fingerprint = ?",
                                       (fingerprint,)).fetchone()
            if owner is not None:
                if owner[0] != account_id:
                    raise ValueError("client certificate: already registered to another account")
                return fingerprint
            self._conn.execute(
                "INSERT INTO client_certs (fingerprint, account_id, pem, subject, not_after) VALUES (?, ?, ?, ?, ?)",
                (fingerprint, account_id, canonical, subject, not_after))
        return fingerprint

    def client_certs(self, account_id: str) -> list[ClientCert]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT fingerprint, account_id, subject, not_after, pem FROM client_certs WHERE account_id = ? "
                "ORDER BY fingerprint", (account_id,)).fetchall()
        return [ClientCert(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def remove_client_cert(self, account_id: str, fingerprint: str) -> bool:
        """Unbinds a certificate (the fingerprint may be given with colons or in upper case). Logins with
        it answer CERT_AUTH_REQUIRED at once; a live TLS context keeps accepting it in the handshake until
        the server restarts, which grants nothing."""
        fp = fingerprint.replace(":", "").strip().lower()
        with self._lock:
            cur = self._conn.execute("DELETE FROM client_certs WHERE account_id = ? AND fingerprint = ?",
                                     (account_id, fp))
        return cur.rowcount > 0

    def all_client_cert_pems(self) -> list[str]:
        """Every registered certificate, for the TLS context's verify store."""
        with self._lock:
            rows = self._conn.execute("SELECT pem FROM client_certs ORDER BY fingerprint").fetchall()
        return [r[0] for r in rows]

    def account_for_cert(self, der: bytes) -> str | None:
        """The account a certificate (DER, as ssl's getpeercert(binary_form=True) gives it) is bound to."""
        with self._lock:
            row = self._conn.execute("SELECT account_id FROM client_certs WHERE fingerprint = ?",
                                     (cert_fingerprint(der),)).fetchone()
        return row[0] if row else None

    def session(self, token: str, now_ms: int) -> Session | None:
        session = self._sessions.get(token)
        if session is None:
            with self._lock:
                row = self._conn.execute("SELECT token, account_id, app_key, expires_ms FROM sessions WHERE token = ?",
                                         (token,)).fetchone()
            if row is None:
                return None
            session = Session(row[0], row[1], row[2], row[3])
            if self._cache:
                self._sessions[token] = session
        if session.expires_ms <= now_ms:
            self._sessions.pop(token, None)
            return None
        return session

    def keep_alive(self, token: str, now_ms: int) -> bool:
        """Extends a live session by its jurisdiction's timeout (003:L5044-5053)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT u.jurisdiction, s.expires_ms FROM sessions s JOIN users u ON u.account_id = s.account_id "
                "WHERE s.token = ?", (token,)).fetchone()
            if row is None or row[1] <= now_ms:
                return False
            self._conn.execute("UPDATE sessions SET expires_ms = ? WHERE token = ?",
                               (now_ms + SESSION_TIMEOUT_MS[row[0]], token))
        self._sessions.pop(token, None)
        return True

    def logout(self, token: str, now_ms: int) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM sessions WHERE token = ? AND expires_ms > ?", (token, now_ms))
        self._sessions.pop(token, None)
        return cur.rowcount > 0
