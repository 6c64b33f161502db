"""Matching: a taker against the resting orders of one runner's book, in price-time priority.

The taker gets the resting order's price (price improvement, 003:L10912-10913). Each fill records a
fragment on both orders under one match id, moves both accounts' positions from unmatched to matched,
and adds the backer's stake to the runner's traded volume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import codes
from .book import BookSide, RunnerBook
from .money import div_ceil
from .orders import Fragment, Order
from .wallet import Position, unmatched_reserve_minor

if TYPE_CHECKING:
    from .market import Market

_EXECUTABLE = codes.EXECUTABLE
_COMPLETE = codes.EXECUTION_COMPLETE


class MatchContext:
    """What one matching pass needs from the exchange: the match id counter and the touched accounts."""

    __slots__ = ("next_match_id", "touched")

    def __init__(self, next_match_id: int) -> None:
        self.next_match_id = next_match_id
        self.touched: dict[str, None] = {}


def fill(pos: Position, order: Order, size: int, price_h: int, match_id: int, ts_ms: int, line: bool) -> None:
    order.matched_minor += size
    order.remaining_minor -= size
    order.matched_value += size * price_h
    order.fragments.append(Fragment(match_id, price_h, size, ts_ms))
    order.matched_ms = ts_ms
    if order.remaining_minor == 0 and order.status == _EXECUTABLE:
        order.status = _COMPLETE
    pos.reserve(order, unmatched_reserve_minor(order, order.remaining_minor, line))
    pos.add_matched(order, size, price_h)


def match(
    ctx: MatchContext,
    market: Market,
    book: RunnerBook,
    taker: Order,
    limit_tick: int,
    max_minor: int,
    ts_ms: int,
    makers_out: list[Order],
) -> int:
    """Match up to `max_minor` of the taker at `limit_tick` or better; returns the size matched.

    A BACK taker takes resting LAYs at ticks >= limit from the highest; a LAY taker takes resting
    BACKs at ticks <= limit from the lowest."""
    is_back = taker.side == codes.BACK
    side: BookSide = book.lays if is_back else book.backs
    ticks = side.ticks
    levels = side.levels
    positions = market.positions
    line = market.is_line
    taker_pos = positions[taker.account_id]
    matched = 0
    while matched < max_minor and ticks:
        tick = ticks[-1] if is_back else ticks[0]
        if (tick < limit_tick) if is_back else (tick > limit_tick):
            break
        level = levels[tick]
        price_h = level.price_h
        want = max_minor - matched
        orders = level.orders
        took = 0
        while orders and took < want:
            maker = orders[0]
            avail = maker.remaining_minor
            if avail == 0:
                orders.popleft()
                level.dead -= 1
                continue
            size = want - took
            if avail < size:
                size = avail
            mid = ctx.next_match_id
            ctx.next_match_id = mid + 1
            fill(positions[maker.account_id], maker, size, price_h, mid, ts_ms, line)
            fill(taker_pos, taker, size, price_h, mid, ts_ms, line)
            ctx.touched[maker.account_id] = None
            makers_out.append(maker)
            took += size
            if maker.remaining_minor == 0:
                maker.in_book = False
                orders.popleft()
        level.total_minor -= took
        matched += took
        if took:
            book.traded[price_h] = book.traded.get(price_h, 0) + took
            book.total_matched_minor += took
            book.last_traded_h = price_h
            market.total_matched_minor += took
            market.last_match_ms = ts_ms
        if level.total_minor == 0:
            if is_back:
                ticks.pop()
            else:
                del ticks[0]
            del levels[tick]
    return matched


def fok_plan(book: RunnerBook, side: int, limit_h: int, size_minor: int, vwap: bool) -> tuple[int, int]:
    """How much a FILL_OR_KILL order can take, and its worst tick, when its price is a limit on the
    VWAP of the whole fill rather than on each fragment (003:L10824-10852). Every planned level but the
    last is taken whole, so matching `total` down to `worst tick` executes the plan. LINE markets:
    plain per-fragment limit."""
    is_back = side == codes.BACK
    bs = book.lays if is_back else book.backs
    ticks = list(reversed(bs.ticks)) if is_back else list(bs.ticks)
    worst_tick = -1
    total = 0
    value = 0  # sum(size * price_h)
    for tick in ticks:
        if total >= size_minor:
            break
        level = bs.levels[tick]
        p = level.price_h
        need = size_minor - total
        better_or_equal = p >= limit_h if is_back else p <= limit_h
        if better_or_equal:
            take = min(need, level.total_minor)
        elif not vwap:
            break
        else:
            # largest x keeping the VWAP on the right side of the limit
            x = (value - limit_h * total) // (limit_h - p) if is_back else (limit_h * total - value) // (p - limit_h)
            take = min(need, level.total_minor, x)
            if take <= 0:
                break
        worst_tick = tick
        total += take
        value += take * p
        if not better_or_equal and take < min(need, level.total_minor):
            break
    return total, worst_tick


def target_size_minor(target_type: str, target_minor: int, price_h: int) -> int:
    """Stake that yields `target_minor` of backer's profit or payout at `price_h`, rounded down so a
    fill never overshoots the target (003:L10910-10943)."""
    if target_type == codes.BACKERS_PROFIT:
        return target_minor * 100 // (price_h - 100)
    return target_minor * 100 // price_h


def target_value_minor(target_type: str, size_minor: int, price_h: int) -> int:
    """Profit or payout that a fill of `size_minor` at `price_h` achieves (rounded up, so the remaining
    target only shrinks to zero when it is met)."""
    if target_type == codes.BACKERS_PROFIT:
        return div_ceil(size_minor * (price_h - 100), 100)
    return div_ceil(size_minor * price_h, 100)


def target_met(book: RunnerBook, taker: Order, target_type: str, target_minor: int) -> bool:
    """Whether the book at or better than the taker's limit can meet its whole target: FILL_OR_KILL
    with a bet target fills the target or nothing (minFillSize is ignored then, 003:L12335-12337).
    Mirrors match_target's arithmetic without changing anything; a leftover too small to stake even
    one minor unit at the limit counts as met."""
    is_back = taker.side == codes.BACK
    side: BookSide = book.lays if is_back else book.backs
    ticks = list(reversed(side.ticks)) if is_back else list(side.ticks)
    remaining = target_minor
    for tick in ticks:
        if (tick < taker.tick) if is_back else (tick > taker.tick):
            break
        level = side.levels[tick]
        want = target_size_minor(target_type, remaining, level.price_h)
        if want <= 0:
            return True
        got = min(want, level.total_minor)
        remaining -= target_value_minor(target_type, got, level.price_h)
    return remaining <= 0 or target_size_minor(target_type, remaining, taker.price_h) == 0


def match_target(
    ctx: MatchContext,
    market: Market,
    book: RunnerBook,
    taker: Order,
    target_type: str,
    target_minor: int,
    ts_ms: int,
    makers_out: list[Order],
) -> int:
    """Match a bet-target order level by level until the target is met or the limit is reached;
    returns what remains of the target. The taker's `remaining_minor` is set by the caller after."""
    is_back = taker.side == codes.BACK
    side: BookSide = book.lays if is_back else book.backs
    remaining_target = target_minor
    limit_tick = taker.tick
    while remaining_target > 0 and side.ticks:
        tick = side.ticks[-1] if is_back else side.ticks[0]
        if (tick < limit_tick) if is_back else (tick > limit_tick):
            break
        price_h = side.levels[tick].price_h
        want = target_size_minor(target_type, remaining_target, price_h)
        if want <= 0:
            # what is left of the target is less than one minor unit of stake at the best price on
            # offer: it is met as closely as the currency allows (resting it would cross the book)
            return 0
        # give the taker enough unmatched size to take `want` at this level; a level that runs out
        # is gone, and the loop moves on to the next
        taker.remaining_minor += want
        taker.size_minor += want
        got = match(ctx, market, book, taker, tick, want, ts_ms, makers_out)
        taker.remaining_minor -= want - got
        taker.size_minor -= want - got
        remaining_target -= target_value_minor(target_type, got, price_h)
    return max(remaining_target, 0)
