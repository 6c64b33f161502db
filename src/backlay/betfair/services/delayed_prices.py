"""Price data for delayed application keys (003:L4767-4813).

A delayed key sees price snapshots `delay_ms` old, at most 3 price levels, no traded volume by
selection, no EX_ALL_OFFERS and no BSP near and far prices (003:L4805-4808); market status, its own
orders and funds stay live. Betfair's delay varies between 1 and 180 s; backlay's is fixed
(BACKLAY_DELAYED_DATA_S, default 60 s) so that tests and tools can rely on it. A sampler snapshots
each changed market at most once per `sample_ms` (after its batch is durable), and keeps just enough
history to answer `now - delay`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from backlay.core.events import MarketChanged, RunnerChanged
from backlay.core.exchange import Exchange
from backlay.core.market import Market

DELAYED_LEVELS = 3  # "Price Levels 3" (003:L4805)
# levels kept per side: the 3 shown are rolled up from these (http/reads.py), so small levels still
# leave 3 to show; a rollup of a ladder's first levels is the start of the whole ladder's rollup
CAPTURED_LEVELS = 10


class RunnerPrices(NamedTuple):
    back: tuple[tuple[int, int], ...]  # (price_h, size_minor), best first, raw (not rolled up)
    lay: tuple[tuple[int, int], ...]
    last_traded_h: int | None


class MarketPrices(NamedTuple):
    total_matched_minor: int
    total_available_minor: int
    last_match_ms: int | None
    runners: dict[tuple[int, int], RunnerPrices]


def capture(market: Market) -> MarketPrices:
    runners = {}
    total_available = 0
    for r in market.runner_list:
        back, lay = r.book.available_to_back(), r.book.available_to_lay()
        total_available += sum(s for _p, s in back) + sum(s for _p, s in lay)
        runners[r.key] = RunnerPrices(tuple(back[:CAPTURED_LEVELS]), tuple(lay[:CAPTURED_LEVELS]),
                                      r.book.last_traded_h)
    return MarketPrices(market.total_matched_minor, total_available, market.last_match_ms, runners)


class DelayedPrices:
    def __init__(self, exchange: Callable[[], Exchange], clock_ms: Callable[[], int], delay_ms: int,
                 sample_ms: int = 1000) -> None:
        self._exchange = exchange
        self._clock_ms = clock_ms
        self.delay_ms = delay_ms
        self._sample_ms = sample_ms
        self._history: dict[str, deque[tuple[int, MarketPrices]]] = {}
        self._dirty: set[str] = set()
        self._started = False
        self._task: asyncio.Task[None] | None = None

    def on_events(self, events: list[Any]) -> None:
        for ev in events:
            if isinstance(ev, (RunnerChanged, MarketChanged)):
                self._dirty.add(ev.market_id)

    def sample(self, now_ms: int) -> None:
        """Snapshot every market changed since the last sample. The first sample takes every market, as
        known since ever (there is no older history after a restart); a market created later has no
        prices to show until its first snapshot is `delay` old."""
        markets = self._exchange().markets
        ids = list(self._dirty) if self._started else list(markets)
        ts_ms = now_ms if self._started else 0
        self._started = True
        self._dirty.clear()
        for market_id in ids:
            market = markets.get(market_id)
            if market is None:
                continue
            history = self._history.setdefault(market_id, deque())
            history.append((ts_ms, capture(market)))
            # keep the newest snapshot at least `delay` old, and everything after it
            while len(history) > 1 and history[1][0] <= now_ms - self.delay_ms:
                history.popleft()

    def view(self, market_id: str, now_ms: int) -> MarketPrices | None:
        """The market's prices as they were `delay_ms` ago; None if none is known from then."""
        wanted = now_ms - self.delay_ms
        best = None
        for ts, prices in self._history.get(market_id, ()):
            if ts > wanted:
                break
            best = prices
        return best

    async def _run(self) -> None:
        while True:
            self.sample(self._clock_ms())
            await asyncio.sleep(self._sample_ms / 1000)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="backlay-delayed-prices")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
