"""The core's invariants are checked in production, at each snapshot (issue 16, item 5).

On Linux the check runs in the forked snapshot child, on its copy-on-write image of the state, so the
writer goes on meanwhile; elsewhere (child_snapshots=False) in the worker thread that pickles the
snapshot. A violation is logged at CRITICAL with the seq and fails that snapshot: nothing is stored,
the journal is intact, and the sequencer keeps going.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from backlay.core.commands import CreateAccount, Deposit
from backlay.core.exchange import Exchange
from backlay.engine import SqliteJournal
from backlay.engine.engine import Engine
from backlay.engine.sequencer import Sequencer
from backlay.engine.snapshots import CHILD_SNAPSHOTS, InvariantViolated, check_state

T0_MS = 1_700_000_000_000
SETUP = [CreateAccount(account_id="alice"), Deposit(account_id="alice", amount_minor=10_000)]


def _break(exchange: Exchange) -> None:
    """Money from nowhere: balances no longer add up to deposits minus withdrawals."""
    exchange.accounts["alice"].balance_minor += 1


def test_check_state_names_the_seq_and_the_broken_invariant() -> None:
    ex = Exchange()
    for cmd in SETUP:
        ex.apply(cmd, T0_MS)
    check_state(ex, 2)  # a sound state passes
    _break(ex)
    with pytest.raises(InvariantViolated, match="invariant violated at seq 2: AssertionError: money is not conserved"):
        check_state(ex, 2)


@pytest.mark.parametrize("child", [
    pytest.param(True, marks=pytest.mark.skipif(not CHILD_SNAPSHOTS, reason="forked snapshot children need Linux")),
    False,
])
def test_a_violated_invariant_fails_the_snapshot_loudly_and_stores_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, child: bool) -> None:
    db = tmp_path / "journal.db"

    async def main() -> None:
        seq = Sequencer(Engine(SqliteJournal(db)), clock_ms=lambda: T0_MS, child_snapshots=child)
        await seq.start()
        for cmd in SETUP:
            await seq.submit(cmd)
        _break(seq.engine.exchange)
        with caplog.at_level(logging.CRITICAL, logger="backlay.engine.snapshots"), \
                pytest.raises(InvariantViolated, match="at seq 2"):
            await seq.snapshot()
        # the writer is unharmed: it takes the next command
        assert (await seq.submit(Deposit(account_id="alice", amount_minor=5))).ok  # type: ignore[union-attr]
        await seq.stop()

    asyncio.run(main())
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and "INVARIANT VIOLATED at seq 2" in critical[0].getMessage()
    assert "money is not conserved" in critical[0].getMessage()
    journal = SqliteJournal(db)
    assert journal.latest_snapshot() is None  # the failed snapshot was not stored
    assert journal.last_seq() == 3  # and the journal has everything
    journal.close()


def test_a_sound_state_snapshots_as_before(tmp_path: Path) -> None:
    async def main() -> int:
        seq = Sequencer(Engine(SqliteJournal(tmp_path / "journal.db")), clock_ms=lambda: T0_MS)
        await seq.start()
        for cmd in SETUP:
            await seq.submit(cmd)
        snap_seq = await seq.snapshot()
        await seq.stop()
        return snap_seq

    assert asyncio.run(main()) == 2
