"""`--compiled` for the in-process benchmarks: build the core with mypyc (scripts/compile-core.sh) and run
the benchmark module again against that build, before it imports backlay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def reexec_compiled(module: str, argv: list[str]) -> None:
    if "--compiled" in argv and os.environ.get("BACKLAY_BENCH_COMPILED") != "1":
        subprocess.run([str(ROOT / "scripts/compile-core.sh")], check=True)
        env = dict(os.environ, BACKLAY_BENCH_COMPILED="1", PYTHONPATH=str(ROOT / "build/mypyc"))
        os.execve(sys.executable, [sys.executable, "-m", module, *argv], env)
