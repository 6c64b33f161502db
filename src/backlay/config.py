"""Settings: command-line flags win over environment variables, which win over the defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


@dataclass(frozen=True)
class Config:
    data_dir: Path
    currency: str = "GBP"
    snapshot_every: int = 100_000  # commands between snapshots
    admin_token: str | None = None  # None: read or create <data dir>/admin-token
    dev_mode: bool = False  # plain-HTTP certlogin (no client certificate) on the API port
    delayed_data_s: int = 60  # how old the prices a delayed application key sees are
    stream_cert: Path | None = None  # the Stream API's TLS certificate and key (None: the self-signed one)
    stream_key: Path | None = None
    stream_max_connections: int = 10  # stream connections per application key (over all stream workers)
    stream_workers: int = 0  # processes serving the Stream API (0: the server's own event loop)

    @staticmethod
    def from_env(data_dir: str | None = None, admin_token: str | None = None, dev_mode: bool | None = None) -> Config:
        return Config(
            data_dir=Path(data_dir or os.environ.get("BACKLAY_DATA_DIR", "data")),
            currency=os.environ.get("BACKLAY_CURRENCY", "GBP"),
            snapshot_every=int(os.environ.get("BACKLAY_SNAPSHOT_EVERY", "100000")),
            admin_token=admin_token or os.environ.get("BACKLAY_ADMIN_TOKEN") or None,
            dev_mode=dev_mode if dev_mode is not None else os.environ.get("BACKLAY_DEV_MODE", "") in ("1", "true"),
            delayed_data_s=int(os.environ.get("BACKLAY_DELAYED_DATA_S", "60")),
            stream_cert=_path(os.environ.get("BACKLAY_STREAM_CERT")),
            stream_key=_path(os.environ.get("BACKLAY_STREAM_KEY")),
            stream_max_connections=int(os.environ.get("BACKLAY_STREAM_MAX_CONNECTIONS", "10")),
            stream_workers=int(os.environ.get("BACKLAY_STREAM_WORKERS", "0")),
        )

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
