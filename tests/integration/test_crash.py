"""Crash test: kill -9 the writer mid-stream, three times, and lose nothing it acknowledged.

Rule: "Single writer and durability: each accepted command is appended to a journal and fsynced before
its result is returned, with group commit; restart replays snapshot + journal to the identical state."

The worker (crash_worker.py) prints `ACK <seq> <bet_id or ->` only after its batch is durable. After
each SIGKILL the next life must recover at least everything acknowledged; at the end the recovered
exchange must hold every acknowledged placement, conserve money, and recover to one fingerprint
whether from snapshot + journal or from the journal alone.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backlay.core.commands import PlaceOrders
from backlay.engine import SqliteJournal
from backlay.engine.codec import decode_command
from backlay.engine.engine import Engine

WORKER = Path(__file__).with_name("crash_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"
LIVES = 3
MAX_BATCH = 40  # crash_worker's largest batch: at most one durable batch can be unacknowledged


class Life:
    """One run of the worker, its stdout read by a thread so that nothing it flushed is lost."""

    def __init__(self, db: Path, seed: int, stderr_path: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
        self.stderr = stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(db), str(seed)],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.endswith("\n"):  # a line cut by the kill was never acknowledged
                self.lines.append(line)
                if line.startswith("READY"):
                    self.ready.set()
        self.ready.set()

    def kill(self) -> int:
        os.kill(self.proc.pid, signal.SIGKILL)
        rc = self.proc.wait(timeout=10)
        self.reader.join(timeout=10)
        self.stderr.close()
        return rc


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_kill_9_loses_no_acknowledged_command(tmp_path: Path) -> None:
    seed = int(os.environ.get("BACKLAY_CRASH_SEED", str(time.time_ns() % 1_000_000)))
    rng = random.Random(seed)
    db = tmp_path / "crash.db"
    acked: dict[int, int | None] = {}  # seq -> bet id of an acknowledged placement (None: not one)

    for life_no in range(LIVES):
        life = Life(db, seed + life_no, tmp_path / f"worker{life_no}.err")
        try:
            assert life.ready.wait(timeout=30), "worker never became ready"
            time.sleep(rng.uniform(0.5, 1.5))
        finally:
            rc = life.kill()
        err = (tmp_path / f"worker{life_no}.err").read_text()
        assert rc == -signal.SIGKILL, f"seed {seed} life {life_no}: worker exited by itself ({rc}):\n{err}"
        assert life.lines and life.lines[0].startswith("READY"), f"seed {seed}: {life.lines[:3]} {err}"
        recovered_seq = int(life.lines[0].split()[1])
        # the restart recovered at least everything acknowledged before the previous kill
        assert recovered_seq >= max(acked, default=0), f"seed {seed} life {life_no}"
        new = 0
        for line in life.lines[1:]:
            tag, seq, bet = line.split()
            assert tag == "ACK"
            acked[int(seq)] = None if bet == "-" else int(bet)
            new += 1
        assert new > 0, f"seed {seed} life {life_no}: no command acknowledged:\n{err}"

    # --- recover in-process and check -------------------------------------------------------------
    engine = Engine(SqliteJournal(db))
    engine.recover()
    try:
        ex = engine.exchange
        entries = {e.seq: e for e in engine.journal.read_from(0)}
        assert sorted(entries) == list(range(1, engine.seq + 1))
        missing = sorted(set(acked) - set(entries))
        assert not missing, f"seed {seed}: acknowledged seqs lost: {missing[:10]}"
        assert engine.seq - max(acked) <= MAX_BATCH, "more than one unacknowledged batch is durable"

        placements = 0
        for seq, bet_id in acked.items():
            if bet_id is None:
                continue
            cmd = decode_command(entries[seq].cmd)
            assert isinstance(cmd, PlaceOrders), f"seq {seq}"
            order = ex.orders.get(bet_id)
            assert order is not None, f"seed {seed}: acknowledged bet {bet_id} (seq {seq}) lost"
            assert (order.account_id, order.market_id) == (cmd.account_id, cmd.market_id)
            placements += 1
        assert placements > 0

        # money: nothing created or destroyed, and nobody can lose more than they hold
        deposits_minor = sum(a.deposits_minor - a.withdrawals_minor for a in ex.accounts.values())
        assert (
            sum(a.balance_minor for a in ex.accounts.values()) + ex.commission_collected_minor
            == deposits_minor
        )
        for acct in ex.accounts.values():
            assert 0 <= acct.exposure_minor <= acct.balance_minor, acct.account_id
        ex.check_invariants()
        fingerprint, last_seq = ex.fingerprint(), engine.seq
    finally:
        engine.close()

    # recovery is repeatable, and snapshot + journal equals the journal alone
    for use_snapshot in (True, False):
        again = Engine(SqliteJournal(db))
        again.recover(use_snapshot=use_snapshot)
        try:
            assert again.seq == last_seq
            assert again.exchange.fingerprint() == fingerprint, f"seed {seed}, use_snapshot={use_snapshot}"
        finally:
            again.close()
