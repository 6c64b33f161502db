"""Settings: command-line flags win over environment variables, which win over the defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    data_dir: Path
    currency: str
    snapshot_every: int  # commands between snapshots

    @staticmethod
    def from_env(data_dir: str | None = None) -> Config:
        return Config(
            data_dir=Path(data_dir or os.environ.get("BACKLAY_DATA_DIR", "data")),
            currency=os.environ.get("BACKLAY_CURRENCY", "GBP"),
            snapshot_every=int(os.environ.get("BACKLAY_SNAPSHOT_EVERY", "100000")),
        )

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.db"
