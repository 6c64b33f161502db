"""The Heartbeat API's dead-man's switch per account (003:L13153-13342).

Each heartbeat arms a deadline (the preferred timeout clamped to 10..300 s; 0 unregisters). When a
deadline passes, the account's unmatched LIMIT bets are cancelled through the sequencer, like any
cancelOrders, and the next heartbeat reports what was done, once. A full sequencer queue (QueueFull)
leaves the beat armed, so the next check (CHECK_EVERY_S) tries again, unless a heartbeat comes first
and re-arms it: the client is back, and nothing is cancelled. Heartbeats live in memory: after a
restart none is registered, as when the service is unavailable (003:L13191-13194: neither cancels
bets "upon resumption of service"). The operation itself is betfair/http/heartbeat.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from backlay.betfair.http.errors import ApiError
from backlay.betfair.wire import heartbeat as wh
from backlay.core.commands import CancelOrders, Command
from backlay.core.reports import CancelExecutionReport, Result
from backlay.engine.sequencer import QueueFull

log = logging.getLogger(__name__)

MIN_TIMEOUT_S = 10
MAX_TIMEOUT_S = 300
CHECK_EVERY_S = 0.5


@dataclass
class _Beat:
    timeout_s: int
    deadline_ms: int


class HeartbeatMonitor:
    def __init__(self, submit: Callable[[Command], Awaitable[Result]], clock_ms: Callable[[], int]) -> None:
        self._submit = submit
        self._clock_ms = clock_ms
        self._beats: dict[str, _Beat] = {}
        self._actions: dict[str, str] = {}  # account -> ActionPerformed to report on its next heartbeat
        self._task: asyncio.Task[None] | None = None

    def beat(self, account_id: str, preferred_timeout_s: int, now_ms: int) -> wh.HeartbeatReport:
        if preferred_timeout_s < 0:
            raise ApiError("INVALID_INPUT_DATA", "preferredTimeoutSeconds must be >= 0")
        action = self._actions.pop(account_id, "NONE")
        if preferred_timeout_s == 0:
            self._beats.pop(account_id, None)  # unregister; still reports what happened
            actual = 0
        else:
            actual = min(max(preferred_timeout_s, MIN_TIMEOUT_S), MAX_TIMEOUT_S)
            self._beats[account_id] = _Beat(actual, now_ms + actual * 1000)
        return wh.HeartbeatReport(action_performed=action, actual_timeout_seconds=actual)  # type: ignore[arg-type]

    async def check(self, now_ms: int) -> None:
        """Cancel the bets of every account whose heartbeat deadline has passed."""
        expired = [a for a, b in self._beats.items() if b.deadline_ms <= now_ms]
        for account_id in expired:
            beat = self._beats.get(account_id)
            if beat is None or beat.deadline_ms > now_ms:
                continue  # re-armed or unregistered by a heartbeat while an earlier cancellation was queued
            del self._beats[account_id]  # disarmed until the next heartbeat
            try:
                report = await self._submit(CancelOrders(account_id=account_id))
            except QueueFull:  # nothing was queued: stay armed and retry at the next check
                self._beats.setdefault(account_id, beat)
                log.warning("heartbeat cancellation for %s refused (queue full); retrying", account_id)
                continue
            except Exception:
                log.exception("heartbeat cancellation for %s failed", account_id)
                self._actions[account_id] = "CANCELLATION_REQUEST_ERROR"
                continue
            ok = isinstance(report, CancelExecutionReport) and report.status == "SUCCESS"
            self._actions[account_id] = "ALL_BETS_CANCELLED" if ok else "SOME_BETS_NOT_CANCELLED"

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="backlay-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            if self._beats:
                await self.check(self._clock_ms())
