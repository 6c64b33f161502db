"""Process settings for a long-running exchange.

The core allocates many small objects per command (orders, fragments, events, reports) and keeps a
large live heap (every current order), so CPython's default generation-0 threshold (700 allocations)
runs collections constantly and every full collection walks the whole book. A higher threshold, plus
freezing what recovery loaded (and, in the sequencer, the heap at each snapshot), removes most of that
cost; cycles are still collected (frozen ones by the sequencer's sweep, see sequencer.sweep_garbage).
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 100


def tune_gc() -> None:
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)


def freeze_heap() -> None:
    """Move everything alive now (e.g. the recovered state) out of the collector's scans."""
    gc.collect()
    gc.freeze()
