"""Settings, from one place: `Config.load` takes the defaults below, then the environment
(`BACKLAY_*`, the table in the README), then command-line flags, each winning over the one before."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting with a value that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path("data")  # journal, snapshots, identity.db, admin-token, tls/
    host: str = "127.0.0.1"  # the address of every listener
    http_port: int = 8080  # Betfair API, admin API
    cert_port: int = 8443  # HTTPS certlogin with client certificates (0: off)
    stream_port: int = 8444  # Stream API over TLS (0: off)
    stream_plain_port: int = 0  # Stream API over plain TCP, for local use (0: off)
    currency: str = "GBP"
    snapshot_every: int = 100_000  # commands between snapshots
    max_pending_commands: int = 10_000  # commands waiting for the sequencer; beyond: SERVICE_BUSY / 503
    admin_token: str | None = None  # None: read or create <data dir>/admin-token
    dev_mode: bool = False  # plain-HTTP certlogin (no client certificate) on the API port
    delayed_data_s: int = 60  # how old the prices a delayed application key sees are
    stream_cert: Path | None = None  # the Stream API's TLS certificate and key (None: the self-signed one)
    stream_key: Path | None = None
    stream_max_connections: int = 10  # stream connections per application key (over all stream workers)
    stream_workers: int = 0  # processes serving the Stream API (0: the server's own event loop)
    log_level: str = "WARNING"  # of the server's and the stream workers' logs
    provider_prefix: str = "/provider/v1"  # the provider endpoint's path on the API port (docs/provider-api.md)
    provider_deadline_ms: int = 3_000  # a betslip not durable by then answers REQUEST_TIMED_OUT (503)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **flags: Any) -> Config:
        """The defaults, overridden by the environment (`env`, default os.environ), overridden by the
        flags that were given (a flag of None was not given). Raises ConfigError for a bad value."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            name, parse = ENVIRONMENT[field.name]
            raw = env.get(name)
            if raw:  # set and not empty
                try:
                    values[field.name] = parse(raw)
                except ValueError as exc:
                    raise ConfigError(f"{name}={raw!r}: {exc}") from None
        unknown = set(flags) - set(ENVIRONMENT)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}")
        for k, v in flags.items():
            if v is not None:
                values[k] = Path(v) if ENVIRONMENT[k][1] is Path else v
        cfg = cls(**values)
        cfg.check()
        return cfg

    def check(self) -> None:
        for name in ("http_port", "cert_port", "stream_port", "stream_plain_port"):
            if not 0 <= getattr(self, name) <= 65_535:
                raise ConfigError(f"{name}: {getattr(self, name)} is not a port (0..65535)")
        for name in ("snapshot_every", "max_pending_commands", "stream_max_connections"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be 1 or more")
        prefix = self.provider_prefix
        if not prefix.startswith("/") or prefix.endswith("/") or prefix.startswith("/admin") or "?" in prefix:
            raise ConfigError(f"provider_prefix: {prefix!r} must start with / and not end with / (nor be /admin...)")
        if self.provider_deadline_ms < 1:
            raise ConfigError("provider_deadline_ms: must be 1 or more")
        if self.delayed_data_s < 0 or self.stream_workers < 0:
            raise ConfigError("delayed_data_s and stream_workers must be 0 or more")

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.db"

    def resolve_admin_token(self) -> str:
        """The configured token, else the one kept in the data directory (created on first start, mode 600)."""
        if self.admin_token:
            return self.admin_token
        path = self.data_dir / "admin-token"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
        return path.read_text().strip()


def _whole(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError("not a whole number") from None


def _flag(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("not 1/true/yes/on or 0/false/no/off")


def _level(raw: str) -> str:
    if raw.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    return raw.upper()


# setting -> (environment variable, parser)
ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "data_dir": ("BACKLAY_DATA_DIR", Path),
    "host": ("BACKLAY_HOST", str),
    "http_port": ("BACKLAY_HTTP_PORT", _whole),
    "cert_port": ("BACKLAY_CERT_PORT", _whole),
    "stream_port": ("BACKLAY_STREAM_PORT", _whole),
    "stream_plain_port": ("BACKLAY_STREAM_PLAIN_PORT", _whole),
    "currency": ("BACKLAY_CURRENCY", str),
    "snapshot_every": ("BACKLAY_SNAPSHOT_EVERY", _whole),
    "max_pending_commands": ("BACKLAY_MAX_PENDING_COMMANDS", _whole),
    "admin_token": ("BACKLAY_ADMIN_TOKEN", str),
    "dev_mode": ("BACKLAY_DEV_MODE", _flag),
    "delayed_data_s": ("BACKLAY_DELAYED_DATA_S", _whole),
    "stream_cert": ("BACKLAY_STREAM_CERT", Path),
    "stream_key": ("BACKLAY_STREAM_KEY", Path),
    "stream_max_connections": ("BACKLAY_STREAM_MAX_CONNECTIONS", _whole),
    "stream_workers": ("BACKLAY_STREAM_WORKERS", _whole),
    "log_level": ("BACKLAY_LOG_LEVEL", _level),
    "provider_prefix": ("BACKLAY_PROVIDER_PREFIX", str),
    "provider_deadline_ms": ("BACKLAY_PROVIDER_DEADLINE_MS", _whole),
}
