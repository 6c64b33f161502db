"""A snapshot child never outlives the exchange process that forked it.

Rule (issue 2, single writer and durability): a crash at any moment loses nothing acknowledged; an
orphaned snapshot child would only burn CPU and memory beside a restarted server, for a snapshot that
nobody stores, so the kernel kills it with its parent (prctl PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backlay.engine.snapshots import CHILD_SNAPSHOTS

pytestmark = pytest.mark.skipif(not CHILD_SNAPSHOTS, reason="snapshots in a forked child are Linux-only")

PARENT = textwrap.dedent(
    """
    import asyncio, os, sys
    from backlay.engine import snapshots as sm
    from backlay.core.commands import CreateAccount
    from backlay.engine.engine import Engine
    from backlay.engine.sequencer import Sequencer
    from backlay.engine import SqliteJournal

    real = sm._child_write_snapshot

    def held(*args):  # the child waits here until killed
        os.read(int(sys.argv[2]), 1)
        return real(*args)

    sm._child_write_snapshot = held
    real_close = sm._close_inherited_fds
    sm._close_inherited_fds = lambda *keep: real_close(*keep, int(sys.argv[2]))

    async def main():
        seq = Sequencer(Engine(SqliteJournal(sys.argv[1])), child_snapshots=True)
        await seq.start()
        await seq.submit(CreateAccount(account_id="alice"))
        asyncio.ensure_future(seq.snapshot())
        while seq.snapshot_child is None:
            await asyncio.sleep(0.001)
        print(seq.snapshot_child.pid, flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state  # a zombie: dead, waiting for whoever inherited it to reap it


def test_the_snapshot_child_dies_with_its_parent(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "journal.db"), str(read_fd)],
                              stdout=subprocess.PIPE, pass_fds=(read_fd,))
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert not _dead(child_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not _dead(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _dead(child_pid)
    finally:
        parent.kill()
        parent.wait()
        os.close(read_fd)
        os.close(write_fd)
