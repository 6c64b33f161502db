"""Matching: a taker against the resting orders of one runner's book, in price-time priority.

The taker gets the resting order's price (price improvement, 003:L10912-10913). Each fill records a
fragment on both orders under one match id, moves both accounts' positions from unmatched to matched,
and adds the backer's stake to the runner's traded volume.
"""

from __future__ import annotations

from typing import Final

from . import codes
from . import crossmatch as cx
from .book import BookSide, Level, RunnerBook
from .context import Ctx
from .market import Market
from .money import div_ceil
from .orders import Fragment, Order, move_order
from .wallet import Position, unmatched_reserve_minor

_EXECUTABLE: Final = codes.EXECUTABLE
_COMPLETE: Final = codes.EXECUTION_COMPLETE


def fill(pos: Position, order: Order, size: int, price_h: int, match_id: int, ts_ms: int, line: bool) -> None:
    """Record a fill of `size` at `price_h` on one of the two orders of a match."""
    order.matched_minor += size
    order.remaining_minor -= size
    order.matched_value += size * price_h
    order.fragments += (Fragment(match_id, price_h, size, ts_ms),)
    order.matched_ms = ts_ms
    if order.remaining_minor == 0 and order.status == _EXECUTABLE:
        move_order(order, _COMPLETE)
    pos.reserve(order, unmatched_reserve_minor(order, order.remaining_minor, line))
    pos.add_matched(order, size, price_h)


def match(
    ctx: Ctx,
    market: Market,
    book: RunnerBook,
    taker: Order,
    limit_tick: int,
    max_minor: int,
    makers_out: list[Order],
) -> int:
    """Match up to `max_minor` of the taker at `limit_tick` or better; returns the size matched.

    A BACK taker takes resting LAYs at ticks >= limit from the highest; a LAY taker takes resting
    BACKs at ticks <= limit from the lowest. In a cross-matching market the virtual offers of the other
    runners' books compete level by level: the better price wins, the direct one on a tie."""
    if cx.crossing(market) and taker.runner_index in market.active:
        return _match_crossed(ctx, market, book, taker, limit_tick, max_minor, makers_out)
    is_back = taker.side == codes.BACK
    side: BookSide = book.lays if is_back else book.backs
    ticks = side.ticks
    matched = 0
    while matched < max_minor and ticks:
        tick = ticks[-1] if is_back else ticks[0]
        if (tick < limit_tick) if is_back else (tick > limit_tick):
            break
        matched += _take_level(ctx, market, book, side, tick, taker, max_minor - matched, makers_out)
    return matched


def _take_level(ctx: Ctx, market: Market, book: RunnerBook, side: BookSide, tick: int, taker: Order,
                want: int, makers_out: list[Order]) -> int:
    """Match up to `want` of the taker against one level, in time priority; returns what it took."""
    ts_ms = ctx.ts_ms
    positions = market.positions
    line = market.is_line
    taker_pos = positions[taker.account_id]
    level: Level = side.levels[tick]
    price_h = level.price_h
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
        mid = ctx.new_match_id()
        fill(positions[maker.account_id], maker, size, price_h, mid, ts_ms, line)
        fill(taker_pos, taker, size, price_h, mid, ts_ms, line)
        ctx.touched[maker.account_id] = None
        makers_out.append(maker)
        took += size
        if maker.remaining_minor == 0:
            maker.in_book = False
            orders.popleft()
    level.total_minor -= took
    if took:
        _traded(market, book, price_h, took, ts_ms)
    if level.total_minor == 0:
        side.drop(tick)
    return took


def _traded(market: Market, book: RunnerBook, price_h: int, size_minor: int, ts_ms: int) -> None:
    book.traded[price_h] = book.traded.get(price_h, 0) + size_minor
    book.total_matched_minor += size_minor
    book.last_traded_h = price_h
    market.total_matched_minor += size_minor
    market.last_match_ms = ts_ms


def _match_crossed(ctx: Ctx, market: Market, book: RunnerBook, taker: Order, limit_tick: int,
                   max_minor: int, makers_out: list[Order]) -> int:
    is_back = taker.side == codes.BACK
    side: BookSide = book.lays if is_back else book.backs
    matched = 0
    virtual = True
    while matched < max_minor:
        direct = -1
        if side.ticks:
            direct = side.ticks[-1] if is_back else side.ticks[0]
            if not cx.within(taker.side, direct, limit_tick):
                direct = -1
        offer = None
        if virtual:
            heads = cx.real_heads(market, taker.runner_index, taker.side)
            if heads is not None:
                offer = cx.virtual_offer(market, taker.side, heads)
                if offer is not None and not cx.within(taker.side, offer.tick, limit_tick):
                    offer = None
        if offer is not None and (direct < 0 or cx.better(taker.side, offer.tick, direct)):
            took = _take_virtual(ctx, market, book, taker, offer, max_minor - matched, makers_out)
            if took == 0:
                virtual = False  # too small to split into legs of at least one minor unit
            matched += took
        elif direct >= 0:
            matched += _take_level(ctx, market, book, side, direct, taker, max_minor - matched, makers_out)
        else:
            break
    return matched


def _take_virtual(ctx: Ctx, market: Market, book: RunnerBook, taker: Order, offer: cx.VirtualOffer,
                  want: int, makers_out: list[Order]) -> int:
    """Match the taker against a virtual offer: the house takes the other side of the taker and of one
    leg on every other runner's best level (crossmatch.py)."""
    ts_ms = ctx.ts_ms
    size = want if want < offer.max_minor else offer.max_minor
    legs = cx.leg_sizes(offer, taker.side, size)
    for leg in legs:
        if leg <= 0:
            return 0
    positions = market.positions
    house_side = codes.LAY if taker.side == codes.BACK else codes.BACK
    house_pos = market.position(cx.HOUSE)
    ctx.touched[cx.HOUSE] = None
    # the taker against the house, at the virtual price
    house = cx.house_order(ctx, market, taker.runner_index, house_side)
    mid = ctx.new_match_id()
    _grow(house, size)
    fill(house_pos, house, size, offer.price_h, mid, ts_ms, False)
    fill(positions[taker.account_id], taker, size, offer.price_h, mid, ts_ms, False)
    _traded(market, book, offer.price_h, size, ts_ms)
    # each leg: the house against the resting orders of the other runner's best level
    for head, leg in zip(offer.legs, legs):
        leg_book = market.runner_list[head.index].book
        leg_side = cx.leg_side(market, head.index, taker.side)
        level = leg_side.levels[head.tick]
        house = cx.house_order(ctx, market, head.index, house_side)
        took = 0
        while took < leg:
            maker = level.orders[0]
            avail = maker.remaining_minor
            if avail == 0:
                level.orders.popleft()
                level.dead -= 1
                continue
            n = leg - took if leg - took < avail else avail
            mid = ctx.new_match_id()
            _grow(house, n)
            fill(house_pos, house, n, head.price_h, mid, ts_ms, False)
            fill(positions[maker.account_id], maker, n, head.price_h, mid, ts_ms, False)
            ctx.touched[maker.account_id] = None
            makers_out.append(maker)
            took += n
            if maker.remaining_minor == 0:
                maker.in_book = False
                level.orders.popleft()
        level.total_minor -= took
        _traded(market, leg_book, head.price_h, took, ts_ms)
        if level.total_minor == 0:
            leg_side.drop(head.tick)
    return size


def _grow(house: Order, size_minor: int) -> None:
    """The house's order takes whatever it is matched for."""
    house.size_minor += size_minor
    house.remaining_minor += size_minor


def best_offer(market: Market, book: RunnerBook, taker: Order) -> tuple[int, int] | None:
    """The best (tick, price_h) on offer to the taker, virtual offers included; None when nothing is."""
    if cx.crossing(market) and taker.runner_index in market.active:
        heads = cx.real_heads(market, taker.runner_index, taker.side)
        offer = cx.virtual_offer(market, taker.side, heads) if heads is not None else None
    else:
        offer = None
    side = book.lays if taker.side == codes.BACK else book.backs
    if side.ticks:
        tick = side.ticks[-1] if taker.side == codes.BACK else side.ticks[0]
        if offer is None or not cx.better(taker.side, offer.tick, tick):
            return tick, side.levels[tick].price_h
    return None if offer is None else (offer.tick, offer.price_h)


def fok_plan(market: Market, taker: Order, limit_h: int, size_minor: int, vwap: bool) -> tuple[int, int]:
    """How much a FILL_OR_KILL order can take, and its worst tick, when its price is a limit on the
    VWAP of the whole fill rather than on each fragment (003:L10824-10852). Every planned offer but the
    last is taken whole, so matching `total` down to `worst tick` executes the plan (virtual offers
    included, in the order matching meets them). LINE markets: plain per-fragment limit."""
    is_back = taker.side == codes.BACK
    sim = cx.Sim(market, taker.runner_index, taker.side)
    worst_tick = -1
    total = 0
    value = 0  # sum(size * price_h)
    while total < size_minor:
        offer = sim.next()
        if offer is None:
            break
        tick, p, available, _virtual = offer
        need = size_minor - total
        better_or_equal = p >= limit_h if is_back else p <= limit_h
        if better_or_equal:
            take = min(need, available)
        elif not vwap:
            break
        else:
            # largest x keeping the VWAP on the right side of the limit
            x = (value - limit_h * total) // (limit_h - p) if is_back else (limit_h * total - value) // (p - limit_h)
            take = min(need, available, x)
            if take <= 0:
                break
        worst_tick = tick
        total += take
        value += take * p
        if not better_or_equal and take < min(need, available):
            break
        sim.take(offer, take)
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


def target_met(market: Market, taker: Order, target_type: str, target_minor: int) -> bool:
    """Whether the offers at or better than the taker's limit can meet its whole target: FILL_OR_KILL
    with a bet target fills the target or nothing (minFillSize is ignored then, 003:L12335-12337).
    Mirrors match_target's arithmetic without changing anything; a leftover too small to stake even
    one minor unit at the limit counts as met."""
    sim = cx.Sim(market, taker.runner_index, taker.side)
    remaining = target_minor
    while remaining > 0:
        offer = sim.next(taker.tick)
        if offer is None:
            break
        want = target_size_minor(target_type, remaining, offer[1])
        if want <= 0:
            return True
        got = min(want, offer[2])
        sim.take(offer, got)
        remaining -= target_value_minor(target_type, got, offer[1])
    return remaining <= 0 or target_size_minor(target_type, remaining, taker.price_h) == 0


def match_target(
    ctx: Ctx,
    market: Market,
    book: RunnerBook,
    taker: Order,
    target_type: str,
    target_minor: int,
    makers_out: list[Order],
) -> int:
    """Match a bet-target order level by level until the target is met or the limit is reached;
    returns what remains of the target. The taker's size, `remaining_minor` and status are set by the
    caller after."""
    remaining_target = target_minor
    limit_tick = taker.tick
    while remaining_target > 0:
        tick_price = best_offer(market, book, taker)
        if tick_price is None or not cx.within(taker.side, tick_price[0], limit_tick):
            break
        tick, price_h = tick_price
        want = target_size_minor(target_type, remaining_target, price_h)
        if want <= 0:
            # what is left of the target is less than one minor unit of stake at the best price on
            # offer: it is met as closely as the currency allows (resting it would cross the book)
            return 0
        # give the taker enough unmatched size to take `want` at this level, and one minor unit more,
        # so that no fill completes it between two levels (its status is the caller's to set once);
        # a level that runs out is gone, and the loop moves on to the next
        room = want + 1
        taker.remaining_minor += room
        taker.size_minor += room
        got = match(ctx, market, book, taker, tick, want, makers_out)
        taker.remaining_minor -= room - got
        taker.size_minor -= room - got
        remaining_target -= target_value_minor(target_type, got, price_h)
    return max(remaining_target, 0)
