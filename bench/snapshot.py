"""Snapshot benchmark: how long the single writer is held up while a snapshot is taken, with the
snapshot pickled in this process (a worker thread, holding the GIL) and in a forked child.

    .venv/bin/python -m bench.snapshot [--orders N] [--compiled]

The state: bench/engine.py's deep book filled with N resting orders, journaled to SQLite. Then a
Sequencer runs with two tasks on its event loop: a ticker that sleeps 1 ms at a time (its largest gap
is the longest the loop was held) and a client that submits an order, waits for its durable result,
sleeps 2 ms and goes on (its slowest round trip is what a placement waited). After 0.5 s one snapshot
is asked for and awaited; the tasks go on 0.3 s after it is stored. Then one full collection is timed:
with child snapshots the sequencer freezes the heap at each (as `backlay serve` does), so the
collector's full passes no longer walk the state that was there at the snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench.compiled import reexec_compiled

reexec_compiled("bench.snapshot", sys.argv[1:])

from backlay.core import exchange as exchange_module  # noqa: E402
from backlay.engine.engine import Engine  # noqa: E402
from backlay.engine.sequencer import Sequencer  # noqa: E402
from backlay.engine.snapshots import CHILD_SNAPSHOTS  # noqa: E402
from backlay.engine.sqlite import SqliteJournal  # noqa: E402
from backlay.runtime import tune_gc  # noqa: E402
from bench.engine import Workload, setup_commands  # noqa: E402

TS_MS = 1_700_000_000_000


def _private_dirty_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def measure(orders: int, child: bool) -> str:
    with tempfile.TemporaryDirectory() as d:
        engine = Engine(SqliteJournal(Path(d) / "journal.db"))
        engine.recover()
        wl = Workload(seed=3, depth_levels=100, instructions=1)
        cmds = setup_commands() + wl.prefill(orders // 6)  # 6 resting orders per round
        for i in range(0, len(cmds), 4096):
            engine.submit_batch(cmds[i:i + 4096], TS_MS)
        seq = Sequencer(engine, clock_ms=lambda: TS_MS, child_snapshots=child, spool_dir=d,
                        freeze_at_snapshots=True)  # as `backlay serve`: only with child snapshots
        await seq.start()
        gaps: list[float] = []
        waits: list[float] = []
        stop = False

        async def ticker() -> None:
            last = time.perf_counter()
            while not stop:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        async def client() -> None:
            while not stop:
                t0 = time.perf_counter()
                await seq.submit(wl.next())
                waits.append(time.perf_counter() - t0)
                await asyncio.sleep(0.002)

        tasks = [asyncio.create_task(ticker()), asyncio.create_task(client())]
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        snapshot = asyncio.ensure_future(seq.snapshot())
        await asyncio.sleep(0)  # the snapshot is taken between two batches: let the writer task get to it
        while child and seq.snapshot_child is None and not snapshot.done():
            await asyncio.sleep(0.001)
        forked = seq.snapshot_child
        copied_kib = 0  # the child's private dirty memory: pages copied since the fork (copy-on-write)
        while forked is not None and not snapshot.done():
            copied_kib = max(copied_kib, _private_dirty_kib(forked.pid))
            await asyncio.sleep(0.05)
        snap_seq = await snapshot
        took = time.perf_counter() - t0
        await asyncio.sleep(0.3)
        stop = True
        await asyncio.gather(*tasks)
        await seq.stop()
        t0 = time.perf_counter()
        gc.collect()  # what a full pass of the collector walks now
        full_gc_ms = (time.perf_counter() - t0) * 1000
        gc.unfreeze()
        rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        blob_mb = (Path(d) / "journal-snapshots.db").stat().st_size / 1e6
        where = "forked child" if child else "this process "
        child_rss = f", child's copied pages {copied_kib / 1024:,.0f} MiB" if forked is not None else ""
        return (f"{where}  {len(engine.exchange.orders):>9,} orders  snapshot at seq {snap_seq:,} "
                f"stored after {took:6.2f} s ({blob_mb:,.0f} MB)  loop held at most {max(gaps) * 1e3:7.0f} ms  "
                f"slowest placement {max(waits) * 1e3:7.0f} ms  placements meanwhile {len(waits):,}  "
                f"peak RSS {rss_mib:,.0f} MiB{child_rss}  then a full collection {full_gc_ms:,.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=300_000, help="resting orders in the state (default 300,000)")
    ap.add_argument("--compiled", action="store_true", help="run against the mypyc-compiled core")
    args = ap.parse_args()
    tune_gc()
    compiled = exchange_module.__file__.endswith(".so")
    print(f"core: {'mypyc-compiled' if compiled else 'pure Python'}; {args.orders:,} resting orders")
    for child in (False, True) if CHILD_SNAPSHOTS else (False,):
        print(asyncio.run(measure(args.orders, child)), flush=True)


if __name__ == "__main__":
    main()
