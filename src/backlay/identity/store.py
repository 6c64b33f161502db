"""Users, application keys and sessions in their own SQLite file, beside the journal.

They are not exchange state: no matching or money depends on them, so they do not go through the
sequencer; each write is its own durable transaction. Passwords are hashed with scrypt (a memory-hard
KDF from the standard library) and a per-user salt. Sessions survive restarts. After
MAX_FAILED_LOGINS wrong passwords a user is locked out for 20 minutes; existing sessions stay valid.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILED_LOGINS = 10
LOCKOUT_MS = 20 * 60 * 1000
# Session expiry by jurisdiction (003:L5046-5053): 12 h international, 24 h UK & Ireland, 20 min IT/ES.
SESSION_TIMEOUT_MS = {"INT": 12 * 3600_000, "UK": 24 * 3600_000, "IT": 20 * 60_000, "ES": 20 * 60_000}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, account_id TEXT NOT NULL UNIQUE, salt BLOB NOT NULL, pw_hash BLOB NOT NULL,
    jurisdiction TEXT NOT NULL DEFAULT 'INT', failed INTEGER NOT NULL DEFAULT 0, locked_until_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS app_keys (
    app_key TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL, delayed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY, account_id TEXT NOT NULL, app_key TEXT, expires_ms INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Session:
    token: str
    account_id: str
    app_key: str | None
    expires_ms: int


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


def hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)


class IdentityStore:
    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)

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
        with self._lock:
            row = self._conn.execute("SELECT app_key, account_id, name, delayed FROM app_keys WHERE app_key = ?",
                                     (app_key,)).fetchone()
        return AppKey(row[0], row[1], row[2], bool(row[3])) if row else None

    def app_keys_of(self, account_id: str) -> list[AppKey]:
        with self._lock:
            rows = self._conn.execute("SELECT app_key, account_id, name, delayed FROM app_keys WHERE account_id = ? "
                                      "ORDER BY name, delayed", (account_id,)).fetchall()
        return [AppKey(r[0], r[1], r[2], bool(r[3])) for r in rows]

    # --- login, sessions ---------------------------------------------------------------------------

    def login(self, username: str, password: str, app_key: str | None, now_ms: int) -> LoginResult:
        """Interactive and certificate login share this: wrong credentials count towards the lockout."""
        if not username or not password:
            return LoginResult("FAIL", error="INPUT_VALIDATION_ERROR")
        with self._lock:
            row = self._conn.execute(
                "SELECT account_id, salt, pw_hash, jurisdiction, failed, locked_until_ms FROM users WHERE username = ?",
                (username,)).fetchone()
        if row is None:
            hash_password(password, b"0" * 16)  # same cost whether or not the user exists
            return LoginResult("FAIL", error="INVALID_USERNAME_OR_PASSWORD")
        account_id, salt, pw_hash, jurisdiction, failed, locked_until_ms = row
        if locked_until_ms > now_ms:
            return LoginResult("FAIL", error="ACCOUNT_ALREADY_LOCKED")
        if not hmac.compare_digest(hash_password(password, salt), pw_hash):
            failed += 1
            locked = failed >= MAX_FAILED_LOGINS
            with self._lock:
                self._conn.execute("UPDATE users SET failed = ?, locked_until_ms = ? WHERE username = ?",
                                   (0 if locked else failed, now_ms + LOCKOUT_MS if locked else 0, username))
            return LoginResult("FAIL", error="ACCOUNT_NOW_LOCKED" if locked else "INVALID_USERNAME_OR_PASSWORD")
        token = secrets.token_urlsafe(32)
        expires = now_ms + SESSION_TIMEOUT_MS[jurisdiction]
        with self._lock:
            self._conn.execute("UPDATE users SET failed = 0 WHERE username = ?", (username,))
            self._conn.execute("INSERT INTO sessions (token, account_id, app_key, expires_ms) VALUES (?, ?, ?, ?)",
                               (token, account_id, app_key, expires))
        return LoginResult("SUCCESS", token=token)

    def session(self, token: str, now_ms: int) -> Session | None:
        with self._lock:
            row = self._conn.execute("SELECT token, account_id, app_key, expires_ms FROM sessions WHERE token = ?",
                                     (token,)).fetchone()
        if row is None or row[3] <= now_ms:
            return None
        return Session(row[0], row[1], row[2], row[3])

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
        return True

    def logout(self, token: str, now_ms: int) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM sessions WHERE token = ? AND expires_ms > ?", (token, now_ms))
        return cur.rowcount > 0
