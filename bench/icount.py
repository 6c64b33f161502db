"""Instructions per operation, counted by valgrind (callgrind): a figure that does not move with the
machine. On this VM wall-clock rates swing by 2x within minutes (docs/benchmarks.md); the number of
instructions an operation executes depends only on the code, so it tells whether a change made the code
cheaper when timing cannot.

    .venv/bin/python -m bench.icount [--compiled] [--ops N] [--scenarios a,b,...]

Each scenario runs twice under callgrind, generating the same N operations, doing none of them in one
run and all in the other; the difference divided by N is the count per operation (start-up, setup and
the generation of the workload cancel out). Needs valgrind
(`apt install valgrind`). Scenarios:

- apply: `Exchange.apply`, the engine benchmark's shallow mix (bench/engine.py), after 2,000 warm-up ops.
- journal-prepare: `codec.canonical` of the same commands: the journaled path's work besides the write.
- journaled: `Engine.submit_batch` of the same commands on a SQLite journal, 1,024 per batch, as in
  bench/engine.py's journaled row: stamping, the canonical round trip, the append (the fsync's wait
  is not an instruction) and the apply.
- cross-off / cross-on, cross20-off / cross20-on: bench/crossmatch.py's mix on its 3-runner and 20-runner
  markets, crossMatching off and on.
- publish: `Hub.publish` of one market change to 1,000 subscriptions whose connections drop what they
  get, per delivery (the stream's fan-out without the system calls).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

from bench.compiled import ROOT, reexec_compiled

reexec_compiled("bench.icount", sys.argv[1:])

SCENARIOS = ("apply", "journal-prepare", "journaled", "cross-off", "cross-on", "cross20-off", "cross20-on", "publish")
WARMUP_OPS = 2000
JOURNAL_BATCH = 1024
SUBSCRIPTIONS = 1000


def child(scenario: str, n: int, total: int) -> None:
    """Set the scenario up, generating `total` operations whatever n is, then do n of them (nothing else
    differs between runs: the parent subtracts the n=0 run)."""
    from backlay.runtime import tune_gc

    tune_gc()
    ts = 1_700_000_000_000
    if scenario in ("apply", "journal-prepare", "journaled"):
        from backlay.engine import codec
        from bench import engine as be

        wl = be.Workload(seed=7, depth_levels=3, instructions=1)
        cmds = [wl.next() for _ in range(WARMUP_OPS + total)]
        ex = be.Exchange()
        for c in be.setup_commands() + cmds[:WARMUP_OPS]:
            ex.apply(c, ts)
        timed = cmds[WARMUP_OPS:WARMUP_OPS + n]
        if scenario == "apply":
            for c in timed:
                ex.apply(c, ts)
        elif scenario == "journaled":
            _journaled(be.setup_commands() + cmds[:WARMUP_OPS], timed, ts)
        else:
            for c in timed:
                codec.canonical(c)
    elif scenario in ("cross-off", "cross-on", "cross20-off", "cross20-on"):
        from bench import crossmatch as bc

        runners = 20 if scenario.startswith("cross20") else 3
        prefill, cmds = bc.workload(runners, WARMUP_OPS + total)
        ex = bc.Exchange()
        for c in bc.setup(runners, scenario.endswith("-on")) + prefill + cmds[:WARMUP_OPS]:
            ex.apply(c, ts)
        for c in cmds[WARMUP_OPS:WARMUP_OPS + n]:
            ex.apply(c, ts)
    elif scenario == "publish":
        _publish(n, total, ts)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")


def _journaled(setup: list, timed: list, ts: int) -> None:
    import tempfile
    from pathlib import Path

    from backlay.engine.engine import Engine
    from backlay.engine.sqlite import SqliteJournal

    with tempfile.TemporaryDirectory() as d:
        engine = Engine(SqliteJournal(Path(d) / "journal.db"))
        engine.recover()
        for i in range(0, len(setup), 1000):
            engine.submit_batch(setup[i:i + 1000], ts)
        for i in range(0, len(timed), JOURNAL_BATCH):
            engine.submit_batch(timed[i:i + JOURNAL_BATCH], ts)
        engine.close()


def _publish(cycles: int, total: int, ts: int) -> None:
    from backlay.betfair.stream.hub import Hub
    from backlay.betfair.wire import stream as ws
    from bench import engine as be

    class Drop:
        paused = False

        def write(self, data: bytes) -> None:
            pass

    ex = be.Exchange()
    for c in be.setup_commands():
        ex.apply(c, ts)
    seq = [0]
    hub = Hub(lambda: ex, lambda: seq[0], lambda: ts, schedule=lambda fn: None)
    fields = ["EX_BEST_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF"]
    for _ in range(SUBSCRIPTIONS):
        msg = ws.MarketSubscriptionMessage(id=1, marketFilter=ws.MarketFilter(marketIds=[be.MARKET]),
                                           marketDataFilter=ws.MarketDataFilter(fields=fields, ladderLevels=3))  # type: ignore[arg-type]
        hub.start_markets(hub.market_subscription(Drop(), msg, delayed=False), None)
    wl = be.Workload(seed=7, depth_levels=3, instructions=1)
    cmds = [wl.next() for _ in range(total)]
    for cmd in cmds[:cycles]:
        _result, events = ex.apply(cmd, ts)
        seq[0] += 1
        hub.on_events(events)
        hub.publish()


def count(scenario: str, n: int, total: int) -> int:
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          "-m", "bench.icount", "--child", scenario, "--n", str(n), "--total", str(total)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", type=int, default=5000, help="timed operations per scenario (publish: cycles / 10)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    ap.add_argument("--compiled", action="store_true", help="count the mypyc-compiled core")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--total", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.n, args.total)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("bench.icount needs valgrind (apt install valgrind)")
    from backlay.core import exchange as exchange_module

    compiled = exchange_module.__file__ is not None and exchange_module.__file__.endswith(".so")
    print(f"core: {'mypyc-compiled' if compiled else 'pure Python'}; instructions counted by callgrind")
    print("| scenario | operations | instructions per operation |")
    print("|---|---:|---:|")
    for scenario in args.scenarios.split(","):
        n = max(1, args.ops // 10) if scenario == "publish" else args.ops
        per = (count(scenario, n, n) - count(scenario, 0, n)) / n
        unit = "delivery" if scenario == "publish" else "op"
        if scenario == "publish":
            per /= SUBSCRIPTIONS
        print(f"| {scenario} | {n:,} | {per:,.0f} per {unit} |", flush=True)


if __name__ == "__main__":
    main()
