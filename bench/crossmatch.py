"""Cross-matching benchmark: the same mixed place / cancel / match workload on a 3-runner and a 20-runner
market, with crossMatching off (direct matching only) and on, in one run, in-process (Exchange.apply).

    .venv/bin/python -m bench.crossmatch [--ops N] [--compiled] [--repeat N]

Each market's runners are priced so that their book is near 100% (3 runners at 3.0, 20 at 20.0): resting
backs above and lays below each runner's fair price, and aggressive marketable orders (a back down to half
the fair price, a lay up to twice it, of 20 to 120 units) that take the runner's own levels and, with
cross-matching on, meet the virtual offers when those are better or the runner's own side is empty. An op
is one order instruction. The report says how many of the matches were virtual legs (one per other
runner of a virtual match).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

from bench.compiled import reexec_compiled

reexec_compiled("bench.crossmatch", sys.argv[1:])

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
from backlay.core.crossmatch import HOUSE  # noqa: E402
from backlay.core.exchange import Exchange  # noqa: E402
from backlay.core.ladder import CLASSIC_LADDER  # noqa: E402
from backlay.core.state import FIRST_BET_ID  # noqa: E402
from backlay.runtime import tune_gc  # noqa: E402

MARKET = "1.200"
ACCOUNTS = [f"acct{i}" for i in range(64)]
# Stake range of the marketable orders: large enough to sweep a runner's own levels at times, small
# enough that the books stay mostly two-sided, so that the other runners' best levels make virtual offers.
AGGRESSIVE_MINOR = (2_000, 12_000)


def setup(n_runners: int, crossing: bool) -> list[Command]:
    cmds: list[Command] = []
    for a in ACCOUNTS:
        cmds += [CreateAccount(account_id=a), Deposit(account_id=a, amount_minor=10**13)]
    cmds.append(CreateMarket(market_id=MARKET, definition=MarketDefinition(name="Bench", cross_matching=crossing),
                             runners=[RunnerDefinition(selection_id=100 + i, name=str(i)) for i in range(n_runners)]))
    cmds.append(SetMarketStatus(market_id=MARKET, status="OPEN"))
    return cmds


def workload(n_runners: int, ops: int, seed: int = 11) -> tuple[list[Command], list[Command]]:
    """(prefill, timed commands). Bet ids are predictable only without virtual legs (the house's orders
    take ids too), so cancels pick among the account's bets by position and may hit taken ones."""
    rng = random.Random(seed)
    fair_h = 300 if n_runners == 3 else 2000
    fair = CLASSIC_LADDER.tick(fair_h)
    # marketable orders are aggressive: a back down to half the fair price, a lay up to twice it, so they
    # sweep the direct levels and meet the virtual offers the other runners' books make
    low, high = CLASSIC_LADDER.tick(fair_h // 2), CLASSIC_LADDER.tick(fair_h * 2)
    assert fair is not None and low is not None and high is not None
    sels = [100 + i for i in range(n_runners)]
    next_bet = FIRST_BET_ID
    placed: dict[str, list[int]] = {a: [] for a in ACCOUNTS}

    def limit(sel: int, side: int, tick: int, size: int) -> PlaceInstruction:
        return PlaceInstruction(order_type="LIMIT", selection_id=sel, side=side, limit=LimitOrder(
            price_h=CLASSIC_LADDER.price_h(tick), size_minor=size, persistence="LAPSE"))

    prefill: list[Command] = []
    for _ in range(20):
        for sel in sels:
            for side in (0, 1):
                tick = fair + 1 + rng.randrange(5) if side == 0 else fair - 1 - rng.randrange(5)
                prefill.append(PlaceOrders(account_id=rng.choice(ACCOUNTS), market_id=MARKET,
                                           instructions=[limit(sel, side, tick, rng.randrange(200, 5000))]))
                next_bet += 1
    cmds: list[Command] = []
    done = 0
    while done < ops:
        acct = rng.choice(ACCOUNTS)
        r = rng.random()
        done += 1
        if r < 0.3 and placed[acct]:
            bet = placed[acct].pop(rng.randrange(len(placed[acct])))
            cmds.append(CancelOrders(account_id=acct, market_id=MARKET, instructions=[CancelInstruction(bet_id=bet)]))
            continue
        sel = rng.choice(sels)
        side = rng.randrange(2)
        if r >= 0.8:  # marketable: takes the runner's own levels, and the virtual offers with cross-matching on
            tick, size = (low if side == 0 else high), rng.randrange(*AGGRESSIVE_MINOR)
        else:
            tick = fair + 1 + rng.randrange(5) if side == 0 else fair - 1 - rng.randrange(5)
            size = rng.randrange(200, 5000)
        cmds.append(PlaceOrders(account_id=acct, market_id=MARKET, instructions=[limit(sel, side, tick, size)]))
        placed[acct].append(next_bet)
        next_bet += 1
    return prefill, cmds


def run(n_runners: int, crossing: bool, prefill: list[Command], cmds: list[Command]) -> tuple[float, int, int]:
    ex = Exchange()
    ts = 1_700_000_000_000
    for c in setup(n_runners, crossing) + prefill:
        ex.apply(c, ts)
    t0 = time.perf_counter()
    for c in cmds:
        ex.apply(c, ts)
    dt = time.perf_counter() - t0
    ex.check_invariants()
    frags = sum(len(o.fragments) for o in ex.orders.values()) // 2
    virtual = sum(len(o.fragments) for o in ex.orders.values() if o.account_id == HOUSE)
    return dt, frags, virtual


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ops", type=int, default=100_000, help="operations per scenario")
    ap.add_argument("--compiled", action="store_true", help="run against the mypyc-compiled core")
    ap.add_argument("--repeat", type=int, default=3,
                    help="measurements per row, off and on taken in turn; the median and the best are reported")
    args = ap.parse_args()
    tune_gc()
    compiled = exchange_module.__file__.endswith(".so")
    print(f"core: {'mypyc-compiled' if compiled else 'pure Python'}; ops/scenario: {args.ops:,}; "
          f"median and best of {args.repeat}")
    print("| runners | cross-matching | ops/s (median) | ops/s (best) | matches | of which virtual legs |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in (3, 20):
        prefill, cmds = workload(n, args.ops)
        rates: dict[bool, list[float]] = {False: [], True: []}
        counts: dict[bool, tuple[int, int]] = {}
        for _ in range(args.repeat):
            for crossing in (False, True):
                dt, matches, virtual = run(n, crossing, prefill, cmds)
                rates[crossing].append(args.ops / dt)
                counts[crossing] = (matches, virtual)
        for crossing in (False, True):
            matches, virtual = counts[crossing]
            print(f"| {n} | {'on' if crossing else 'off'} | {statistics.median(rates[crossing]):,.0f} | "
                  f"{max(rates[crossing]):,.0f} | {matches:,} | {virtual:,} |")


if __name__ == "__main__":
    main()
