"""Heartbeat API (003:L13153-13342): the `heartbeat` operation over the HeartbeatMonitor
(betfair/services/heartbeat_monitor.py)."""

from __future__ import annotations

from backlay.betfair.http.app import Context, Handler
from backlay.betfair.services.heartbeat_monitor import HeartbeatMonitor
from backlay.betfair.wire import heartbeat as wh


def handlers(monitor: HeartbeatMonitor) -> dict[str, Handler]:
    async def heartbeat(ctx: Context, params: wh.HeartbeatParams) -> wh.HeartbeatReport:
        return monitor.beat(ctx.account_id, params.preferred_timeout_seconds, ctx.now_ms)

    return {"heartbeat": heartbeat}
