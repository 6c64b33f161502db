"""The heartbeat monitor on a full sequencer queue (issue 16, item 4): a missed heartbeat's cancellation
(003:L13186-13188) that the queue refuses (QueueFull) is not lost and not reported as
CANCELLATION_REQUEST_ERROR: the beat stays armed and the next check tries again; a heartbeat arriving
first re-arms it and nothing is cancelled ("to avoid bets being inadvertently cancelled upon
resumption of service", 003:L13191-13194)."""

from __future__ import annotations

import asyncio

from helpers import BACK, SEL_A, T0, make_exchange, order, rest

from backlay.betfair.services.heartbeat_monitor import HeartbeatMonitor
from backlay.core.commands import Command
from backlay.core.exchange import Exchange
from backlay.core.reports import Result
from backlay.engine.sequencer import QueueFull


class BusyQueue:
    """Refuses the first `refusals` submits, as a full sequencer queue does, then applies."""

    def __init__(self, ex: Exchange, refusals: int) -> None:
        self.ex, self.refusals, self.submitted = ex, refusals, 0

    async def submit(self, cmd: Command) -> Result:
        if self.refusals:
            self.refusals -= 1
            raise QueueFull("full")
        self.submitted += 1
        return self.ex.apply(cmd, self.ex.now_ms)[0]


def test_a_refused_cancellation_is_retried_at_the_next_check() -> None:
    """Two refusals, then the third check cancels the bets; the next heartbeat reports
    ALL_BETS_CANCELLED (003:L13335-13342), never CANCELLATION_REQUEST_ERROR."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200)
    queue = BusyQueue(ex, refusals=2)
    monitor = HeartbeatMonitor(queue.submit, lambda: T0)
    monitor.beat("alice", 10, T0)
    for k in range(2):
        asyncio.run(monitor.check(T0 + 10_000 + k * 500))
        assert order(ex, bet).remaining_minor == 200 and queue.submitted == 0
    asyncio.run(monitor.check(T0 + 11_000))
    assert order(ex, bet).cancelled_minor == 200 and queue.submitted == 1
    asyncio.run(monitor.check(T0 + 11_500))  # disarmed now: nothing more is submitted
    assert queue.submitted == 1
    assert monitor.beat("alice", 10, T0 + 12_000).action_performed == "ALL_BETS_CANCELLED"


def test_a_heartbeat_during_the_retries_rearms_and_nothing_is_cancelled() -> None:
    """The client is back before the queue drained: its heartbeat re-arms the beat with a new deadline,
    so the pending cancellation is dropped and the report is NONE."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200)
    queue = BusyQueue(ex, refusals=1)
    monitor = HeartbeatMonitor(queue.submit, lambda: T0)
    monitor.beat("alice", 10, T0)
    asyncio.run(monitor.check(T0 + 10_000))  # refused
    assert monitor.beat("alice", 10, T0 + 10_200).action_performed == "NONE"
    asyncio.run(monitor.check(T0 + 10_500))
    assert order(ex, bet).remaining_minor == 200 and queue.submitted == 0
