"""Taking unmatched size off an order: a cancellation (cancelOrders, replaceOrders), a lapse (in-play,
a material change, a runner removal, a bet delay that failed, the SP auction's leftovers) or the kill
of a FILL_OR_KILL order. The one place where an order's unmatched part shrinks and its book level and
reserve follow."""

from __future__ import annotations

from . import codes
from .codes import BACK
from .context import Ctx
from .events import OrderChanged, RunnerChanged
from .market import Market
from .orders import Order, move_order
from .wallet import unmatched_reserve_minor


def reduce_unmatched(ctx: Ctx, market: Market, order: Order, by_minor: int, lapse: bool,
                     reason: str | None = None, expire: bool = False) -> int:
    """Take `by_minor` off the order's unmatched part (all of it for BSP orders); returns what was
    taken. A lapse records its reason; `expire`: nothing of the order matched and it is killed whole
    (EXPIRED rather than EXECUTION_COMPLETE)."""
    ts_ms = ctx.ts_ms
    if order.order_type == codes.LIMIT or order.remaining_minor:
        by = min(by_minor, order.remaining_minor)
        in_book = order.in_book
        order.remaining_minor -= by
        if in_book:
            book = market.runner_list[order.runner_index].book
            (book.backs if order.side == BACK else book.lays).reduce(order, by)
            ctx.events.append(RunnerChanged(market.market_id, order.selection_id, order.handicap_h))
    else:
        by = 0
    if lapse:
        order.lapsed_minor += by
        order.lapsed_ms = ts_ms
        order.lapse_reason = reason
    else:
        order.cancelled_minor += by
        order.cancelled_ms = ts_ms
    status = order.status
    if order.remaining_minor == 0 and (status == codes.EXECUTABLE or status == codes.PENDING):
        move_order(order, codes.EXPIRED if expire else codes.EXECUTION_COMPLETE)
    live = order.status == codes.EXECUTABLE or order.status == codes.PENDING
    market.positions[order.account_id].reserve(
        order, unmatched_reserve_minor(order, order.remaining_minor, market.is_line) if live else 0)
    ctx.events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
    return by
