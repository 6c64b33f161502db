"""Crash-test worker: `python tests/integration/crash_worker.py <dbpath> [seed]`.

Recovers from the journal, sets up two funded accounts and an open market (once: the setup is one
batch, so it is either wholly in the journal or not at all), then streams random placements and
cancels through the Engine until it is killed. After each durable batch it prints, and flushes, one
line per acknowledged command: `ACK <seq> <bet_id or ->`. The first line is `READY <seq>`.
"""

from __future__ import annotations

import random
import sys
import time

from backlay.core.commands import (
    CancelInstruction,
    CancelOrders,
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOrder,
    MarketDefinition,
    PlaceInstruction,
    PlaceOrders,
    RunnerDefinition,
    SetMarketStatus,
)
from backlay.core.reports import PlaceExecutionReport, Result
from backlay.engine import SqliteJournal
from backlay.engine.engine import Engine, wall_clock_ms

MARKET = "1.200"
ACCOUNTS = ("acc-a", "acc-b")
SELECTIONS = (101, 102, 103)
DEPOSIT_MINOR = 50_000_00
MAX_RUN_S = 60  # never outlive a test that forgot to kill us
SNAPSHOT_EVERY_BATCHES = 40


def setup_commands() -> list[Command]:
    cmds: list[Command] = [CreateAccount(account_id=a) for a in ACCOUNTS]
    cmds += [Deposit(account_id=a, amount_minor=DEPOSIT_MINOR) for a in ACCOUNTS]
    cmds.append(
        CreateMarket(
            market_id=MARKET,
            definition=MarketDefinition(name="Crash Test Stakes", market_type="WIN"),
            runners=[RunnerDefinition(selection_id=s, name=f"Runner {s}") for s in SELECTIONS],
        )
    )
    cmds.append(SetMarketStatus(market_id=MARKET, status="OPEN"))
    return cmds


def random_command(rng: random.Random, open_bets: list[tuple[str, int]]) -> Command:
    roll = rng.random()
    if open_bets and roll < 0.3:
        account_id, bet_id = open_bets.pop(rng.randrange(len(open_bets)))
        return CancelOrders(
            account_id=account_id, market_id=MARKET, instructions=[CancelInstruction(bet_id=bet_id)]
        )
    if roll < 0.33:
        return CancelOrders(account_id=rng.choice(ACCOUNTS), market_id=MARKET)  # everything of one account
    return PlaceOrders(
        account_id=rng.choice(ACCOUNTS),
        market_id=MARKET,
        instructions=[
            PlaceInstruction(
                order_type="LIMIT",
                selection_id=rng.choice(SELECTIONS),
                side=rng.randrange(2),
                # 1.80..2.20 on the 0.01 / 0.02 ladder: backs and lays cross, so some of it matches
                limit=LimitOrder(
                    price_h=rng.choice(range(180, 222, 2)), size_minor=rng.randrange(100, 2_000)
                ),
            )
        ],
    )


def bet_id_of(result: Result) -> int | None:
    if isinstance(result, PlaceExecutionReport) and result.instruction_reports:
        return result.instruction_reports[0].bet_id
    return None


def main(argv: list[str]) -> int:
    db_path = argv[1]
    seed = int(argv[2]) if len(argv) > 2 else 0
    engine = Engine(SqliteJournal(db_path))
    engine.recover()
    out = sys.stdout
    out.write(f"READY {engine.seq}\n")
    out.flush()
    if engine.seq == 0:
        cmds = setup_commands()
        engine.submit_batch(cmds, wall_clock_ms())
        out.write("".join(f"ACK {seq} -\n" for seq in range(1, len(cmds) + 1)))
        out.flush()
    # a different stream each life, reproducible from (seed, where the journal was)
    rng = random.Random(seed * 1_000_003 + engine.seq)
    open_bets: list[tuple[str, int]] = []
    deadline = time.monotonic() + MAX_RUN_S
    batches = 0
    while time.monotonic() < deadline:
        cmds = [random_command(rng, open_bets) for _ in range(rng.randint(1, 40))]
        outcomes = engine.submit_batch(cmds, wall_clock_ms())
        # submit_batch returns only when the batch is durable: acknowledge it now
        first_seq = engine.seq - len(cmds) + 1
        lines = []
        for i, (cmd, (result, _events)) in enumerate(zip(cmds, outcomes, strict=True)):
            bet_id = bet_id_of(result)
            if bet_id is not None and isinstance(cmd, PlaceOrders):
                open_bets.append((cmd.account_id, bet_id))
            lines.append(f"ACK {first_seq + i} {bet_id if bet_id is not None else '-'}\n")
        out.write("".join(lines))
        out.flush()
        batches += 1
        if batches % SNAPSHOT_EVERY_BATCHES == 0:
            engine.snapshot()
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
