"""Engine benchmark: mixed place / cancel / match on a shallow and a deep book, measured in-process
(Exchange.apply) and journaled (Engine.submit_batch on SQLite, fsynced group commit), in one run.

    .venv/bin/python -m bench.engine [--ops N] [--compiled] [--batch N] [--instructions N] [--repeat N]

--compiled builds the core with mypyc (scripts/compile-core.sh) and runs against that build.
An "op" is one order instruction: a place that rests, a place that matches, or a cancel.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.compiled import reexec_compiled

reexec_compiled("bench.engine", sys.argv[1:])

from backlay.core import exchange as exchange_module  # noqa: E402
from backlay.core.commands import (  # noqa: E402
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
from backlay.core.exchange import Exchange  # noqa: E402
from backlay.core.ladder import CLASSIC_LADDER  # noqa: E402
from backlay.core.state import FIRST_BET_ID  # noqa: E402
from backlay.engine.engine import Engine  # noqa: E402
from backlay.engine.sqlite import SqliteJournal  # noqa: E402
from backlay.runtime import tune_gc  # noqa: E402

MARKET = "1.100"
RUNNERS = (11, 12, 13)
ACCOUNTS = [f"acct{i}" for i in range(64)]
MID_TICK = 110  # 2.10 on the CLASSIC ladder


def setup_commands() -> list[Command]:
    cmds: list[Command] = []
    for a in ACCOUNTS:
        cmds.append(CreateAccount(account_id=a))
        cmds.append(Deposit(account_id=a, amount_minor=10**13))
    cmds.append(CreateMarket(market_id=MARKET, definition=MarketDefinition(name="Bench"),
                             runners=[RunnerDefinition(selection_id=s, name=str(s)) for s in RUNNERS]))
    cmds.append(SetMarketStatus(market_id=MARKET, status="OPEN"))
    return cmds


def _limit(sel: int, side: int, tick: int, size: int) -> PlaceInstruction:
    return PlaceInstruction(order_type="LIMIT", selection_id=sel, side=side,
                            limit=LimitOrder(price_h=CLASSIC_LADDER.price_h(tick), size_minor=size, persistence="LAPSE"))


class Workload:
    """Pre-generated commands (generation is not timed). Bet ids are predictable: each placed
    instruction takes the next id, so cancels can target the account's own recent bets."""

    def __init__(self, seed: int, depth_levels: int, instructions: int) -> None:
        self.rng = random.Random(seed)
        self.depth = depth_levels
        self.k = instructions
        self.next_bet = FIRST_BET_ID
        self.resting: dict[str, list[int]] = {a: [] for a in ACCOUNTS}
        self.ops = 0

    def prefill(self, orders_per_side: int) -> list[Command]:
        """A deep book: resting backs above and lays below the mid on every runner."""
        cmds: list[Command] = []
        rng = self.rng
        for _ in range(orders_per_side):
            for sel in RUNNERS:
                for side in (0, 1):
                    off = rng.randrange(self.depth)
                    tick = MID_TICK + 1 + off if side == 0 else MID_TICK - 1 - off
                    cmds.append(PlaceOrders(account_id=rng.choice(ACCOUNTS), market_id=MARKET,
                                            instructions=[_limit(sel, side, tick, rng.randrange(200, 5000))]))
                    self.next_bet += 1
        return cmds

    def next(self) -> Command:
        rng = self.rng
        acct = rng.choice(ACCOUNTS)
        r = rng.random()
        k = self.k
        self.ops += k
        if r < 0.35 and len(self.resting[acct]) >= k:
            own = self.resting[acct]
            picks = [own.pop(rng.randrange(len(own))) for _ in range(k)]
            return CancelOrders(account_id=acct, market_id=MARKET,
                                instructions=[CancelInstruction(bet_id=b) for b in picks])
        sel = rng.choice(RUNNERS)
        side = rng.randrange(2)
        crossing = r >= 0.80
        instructions = []
        for _ in range(k):
            if crossing:  # a marketable order: takes one or two levels
                tick = MID_TICK + 2 if side == 1 else MID_TICK - 2
            else:
                off = rng.randrange(self.depth)
                tick = MID_TICK + 1 + off if side == 0 else MID_TICK - 1 - off
            instructions.append(_limit(sel, side, tick, rng.randrange(200, 5000)))
            if not crossing:
                self.resting[acct].append(self.next_bet)
            self.next_bet += 1
        return PlaceOrders(account_id=acct, market_id=MARKET, instructions=instructions)


def run_in_process(cmds: list[Command], setup: list[Command]) -> float:
    ex = Exchange()
    ts = 1_700_000_000_000
    for c in setup:
        ex.apply(c, ts)
    apply: Callable[[Command, int], object] = ex.apply  # type: ignore[assignment]
    t0 = time.perf_counter()
    for c in cmds:
        apply(c, ts)
    return time.perf_counter() - t0


def run_journaled(cmds: list[Command], setup: list[Command], batch: int) -> float:
    """Through the sequencer's Engine: stamp, append the batch to SQLite (one fsync), apply."""
    with tempfile.TemporaryDirectory() as d:
        engine = Engine(SqliteJournal(Path(d) / "journal.db"))
        engine.recover()
        ts = 1_700_000_000_000
        for i in range(0, len(setup), 1000):
            engine.submit_batch(setup[i:i + 1000], ts)
        t0 = time.perf_counter()
        for i in range(0, len(cmds), batch):
            engine.submit_batch(cmds[i:i + batch], ts)
        dt = time.perf_counter() - t0
        engine.close()
        return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ops", type=int, default=200_000, help="operations per scenario")
    ap.add_argument("--batch", type=int, default=1024, help="commands per journal group commit")
    ap.add_argument("--instructions", type=int, default=1, help="instructions per command")
    ap.add_argument("--compiled", action="store_true", help="run against the mypyc-compiled core")
    ap.add_argument("--repeat", type=int, default=3,
                    help="measurements per row; the median and the best are reported (default 3)")
    args = ap.parse_args()
    tune_gc()  # as `backlay serve` does
    compiled = exchange_module.__file__.endswith(".so")
    print(f"core: {'mypyc-compiled' if compiled else 'pure Python'}; ops/scenario: {args.ops:,}; "
          f"instructions per command: {args.instructions}; journal batch: {args.batch}; "
          f"median and best of {args.repeat}")
    for name, depth, prefill in (("shallow", 3, 0), ("deep", 100, 2000)):
        wl = Workload(seed=7, depth_levels=depth, instructions=args.instructions)
        pre = wl.prefill(prefill)
        cmds: list[Command] = []
        while wl.ops < args.ops:
            cmds.append(wl.next())
        setup = setup_commands() + pre
        rates = sorted(wl.ops / run_in_process(cmds, setup) for _ in range(args.repeat))
        print(f"{name:8s} in-process           {statistics.median(rates):>12,.0f} ops/s  best {rates[-1]:>9,.0f}"
              f"  ({len(cmds):,} commands)")
        rates = sorted(wl.ops / run_journaled(cmds, setup, args.batch) for _ in range(args.repeat))
        print(f"{name:8s} journaled, durable   {statistics.median(rates):>12,.0f} ops/s  best {rates[-1]:>9,.0f}"
              f"  (fsync per {args.batch} commands)")


if __name__ == "__main__":
    main()
