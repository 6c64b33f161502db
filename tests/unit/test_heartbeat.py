"""Heartbeat API semantics (003:L13153-13342) on the monitor with an injected clock and the real core."""

from __future__ import annotations

import asyncio

import pytest
from helpers import BACK, SEL_A, T0, make_exchange, order, rest

from backlay.betfair.http.errors import ApiError
from backlay.betfair.services.heartbeat_monitor import HeartbeatMonitor
from backlay.core.commands import Command
from backlay.core.reports import Result


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_missed_heartbeat_cancels_unmatched_limit_bets_and_reports_once() -> None:
    """003:L13186-13188: no heartbeat within the timeout -> the account's LIMIT bets are cancelled;
    the next call reports ALL_BETS_CANCELLED (003:L13335-13342), then NONE."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200)
    other = rest(ex, "bob", SEL_A, BACK, 300, 200)

    async def submit(cmd: Command) -> Result:
        return ex.apply(cmd, ex.now_ms)[0]

    monitor = HeartbeatMonitor(submit, lambda: T0)
    r = monitor.beat("alice", 10, T0)
    assert (r.action_performed, r.actual_timeout_seconds) == ("NONE", 10)
    run(monitor.check(T0 + 9_999))
    assert order(ex, bet).remaining_minor == 200
    run(monitor.check(T0 + 10_000))
    assert order(ex, bet).cancelled_minor == 200 and order(ex, other).remaining_minor == 200
    assert monitor.beat("alice", 10, T0 + 11_000).action_performed == "ALL_BETS_CANCELLED"
    assert monitor.beat("alice", 10, T0 + 12_000).action_performed == "NONE"
    ex.check_invariants()


def test_timeout_is_clamped_and_zero_unregisters() -> None:
    """003:L13205-13247: below 10 -> 10, above 300 -> 300, 0 unregisters, negative -> INVALID_INPUT_DATA."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200)

    async def submit(cmd: Command) -> Result:
        return ex.apply(cmd, ex.now_ms)[0]

    monitor = HeartbeatMonitor(submit, lambda: T0)
    assert monitor.beat("alice", 3, T0).actual_timeout_seconds == 10
    assert monitor.beat("alice", 5000, T0).actual_timeout_seconds == 300
    assert monitor.beat("alice", 0, T0).actual_timeout_seconds == 0
    run(monitor.check(T0 + 10**9))
    assert order(ex, bet).remaining_minor == 200  # unregistered: nothing cancelled
    with pytest.raises(ApiError, match="INVALID_INPUT_DATA"):
        monitor.beat("alice", -1, T0)
