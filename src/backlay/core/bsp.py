"""Betfair Starting Price (003:L11115-11141, L11695-11736; betting-api.md §5.6).

The SP of a runner balances the money that wants to back at SP against the money that wants to lay:

- backers: MARKET_ON_CLOSE backs (their stake), LIMIT_ON_CLOSE backs whose limit the SP reaches (SP >=
  limit) and, for the near price and the reconciliation, the exchange's unmatched backs at or below it;
- layers: MARKET_ON_CLOSE lays (their liability), LIMIT_ON_CLOSE lays whose limit the SP does not pass
  (SP <= limit) and the exchange's unmatched lays at or above it.

Demand (backers' stake) grows with the price and supply (layers' liability / (price − 1), in backers'
stake, plus the exchange lays' stakes) shrinks, so there is one price where they meet: the SP. With SP
bets alone it is the far price (with MOC bets only, 1 + liability / stake: £1000 of backers' stakes and
£6000 of layers' liability give 7.0, 003:L11132-11136); with the exchange's unmatched money too it is the
near price, and the actual SP at reconciliation. Where demand jumps past supply at a limit price, that
price is the SP. backlay computes near and far on demand (Betfair caches them for 60 s) and rounds the
SP to 0.01, so that every amount stays exact in hundredths.

Reconciliation (at turn in-play, after LAPSE bets have lapsed and MARKET_ON_CLOSE-persistence remainders
joined the auction): at the SP, the participating backers' and layers' stakes are matched against each
other, SP bets first and the exchange's bets for what is left, each group in time order (bet id); an
exchange bet matched in the auction gets the SP, which is at least as good as its own price. What is
not matched of an SP bet lapses; an exchange bet keeps its unmatched remainder in the book.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final, Literal, NamedTuple, cast

from . import codes
from .context import Ctx
from .events import OrderChanged, RunnerChanged
from .market import Market, Runner
from .matching import fill
from .money import div_round_half_away, win_minor
from .orders import Order, move_order
from .risk import refresh_exposure
from .unmatched import reduce_unmatched

MIN_H: Final = 101
MAX_H: Final = 100_000
NAN: Final[Special] = "NaN"
INFINITY: Final[Special] = "Infinity"

Special = Literal["NaN", "Infinity"]
SpPrice = Fraction | Special  # a price, or "NaN" (nothing to price) / "Infinity" (no backers to balance)


def is_sp_bet(o: Order) -> bool:
    return o.order_type != codes.LIMIT and o.status == codes.EXECUTABLE


class Money:
    """The money of one runner's auction: (limit price_h, amount) per side. MOC backs carry limit 101 (any
    price), MOC lays 100000. Backs are stakes; SP lays are liabilities, exchange lays stakes."""

    __slots__ = ("ex_backs", "ex_lays", "sp_backs", "sp_lays")

    def __init__(self) -> None:
        self.sp_backs: list[tuple[int, int]] = []
        self.sp_lays: list[tuple[int, int]] = []
        self.ex_backs: list[tuple[int, int]] = []
        self.ex_lays: list[tuple[int, int]] = []

    def empty(self) -> bool:
        return not (self.sp_backs or self.sp_lays or self.ex_backs or self.ex_lays)


def sp_bets(market: Market, runner: Runner) -> list[Order]:
    """The runner's SP bets still in the auction, in time order."""
    return [o for o in market.orders.values() if o.runner_index == runner.index and is_sp_bet(o)]


def money(market: Market, runner: Runner, exchange: bool) -> Money:
    m = Money()
    for o in sp_bets(market, runner):
        limit = o.price_h if o.order_type == codes.LIMIT_ON_CLOSE else (MIN_H if o.side == codes.BACK else MAX_H)
        (m.sp_backs if o.side == codes.BACK else m.sp_lays).append((limit, o.bsp_liability_minor))
    if exchange:
        book = runner.book
        m.ex_backs = book.available_to_lay()  # resting backs: (price, stake), they accept SP >= price
        m.ex_lays = book.available_to_back()  # resting lays: (price, stake), they accept SP <= price
    return m


def solve(m: Money) -> SpPrice:
    """The price where backers' stake meets layers' stake capacity (see the module docstring), by one
    sweep over the limit prices: between two of them the participants are fixed and the excess
    D − E − L/(p − 1) (backers' stakes, exchange lays' stakes, SP lays' liability) has one root at most;
    at a limit price demand can jump past supply, and then that price is the SP."""
    if m.empty():
        return NAN
    backs = sorted(m.sp_backs + m.ex_backs)
    sp_lays = sorted(m.sp_lays)
    ex_lays = sorted(m.ex_lays)
    points = sorted({p for p, _ in backs + sp_lays + ex_lays if MIN_H <= p <= MAX_H} | {MIN_H, MAX_H})
    demand = 0
    liability = sum(a for _, a in sp_lays)
    ex_stake = sum(a for _, a in ex_lays)
    bi = li = ei = 0
    prev = 0
    for x in points:
        # lays whose limit is below x leave: between prev and x they are the ones with limit >= x
        while li < len(sp_lays) and sp_lays[li][0] < x:
            liability -= sp_lays[li][1]
            li += 1
        while ei < len(ex_lays) and ex_lays[ei][0] < x:
            ex_stake -= ex_lays[ei][1]
            ei += 1
        if prev and demand > ex_stake:
            root_h = 100 + Fraction(100 * liability, demand - ex_stake)
            if prev < root_h < x:
                return root_h / 100
        # at x, the backs with limit x join
        while bi < len(backs) and backs[bi][0] <= x:
            demand += backs[bi][1]
            bi += 1
        if demand and demand - ex_stake - Fraction(100 * liability, x - 100) >= 0:
            return Fraction(x, 100)
        # just above x the lays with limit x have left: if that is enough, x is the SP (they are the
        # marginal group, matched last)
        at_x = sum(a for p, a in sp_lays[li:] if p == x)
        ex_at_x = sum(a for p, a in ex_lays[ei:] if p == x)
        if demand and x < MAX_H and (at_x or ex_at_x) and \
                demand - (ex_stake - ex_at_x) - Fraction(100 * (liability - at_x), x - 100) >= 0:
            return Fraction(x, 100)
        prev = x
    return INFINITY  # no backers, or layers' money outweighs backers' at every price


def far_price(market: Market, runner: Runner) -> SpPrice:
    """What the SP would be with the SP bets alone (003:L11708-11716)."""
    return solve(money(market, runner, exchange=False))


def near_price(market: Market, runner: Runner) -> SpPrice:
    """What the SP would be with the SP bets and the runner's unmatched exchange bets (003:L11700-11707)."""
    return solve(money(market, runner, exchange=True))


def to_h(p: SpPrice) -> int | None:
    """An SP in hundredths, rounded half up and kept on 1.01..1000; None for NaN / Infinity."""
    if isinstance(p, str):
        return None
    h = div_round_half_away(p.numerator * 100, p.denominator)
    return max(MIN_H, min(MAX_H, h))


def as_float(p: SpPrice) -> float | Special:
    """For the wire: a number to two decimals, or the special double's string."""
    h = to_h(p)
    if h is not None:
        return h / 100
    return cast(Special, p)


class SpView(NamedTuple):
    """What StartingPrices (003:L11695-11736) and the stream's spn/spf/spb/spl show of one runner."""

    near: float | Special
    far: float | Special
    actual: float | Special | None  # only once reconciled
    back_stake: tuple[tuple[int, int], ...]  # (price_h, minor): backStakeTaken, the stream's spl
    lay_liability: tuple[tuple[int, int], ...]  # layLiabilityTaken, the stream's spb


def view(market: Market, runner: Runner) -> SpView:
    """Before reconciliation the near and far prices and the auction's money by price (MOC backs at
    1.01, MOC lays at 1000, LOC bets at their limits); afterwards the actual SP (NaN for a removed runner,
    Infinity when none could be calculated) as near and far too, and what was matched at it."""
    removed = runner.status in (codes.REMOVED, codes.REMOVED_VACANT)
    if market.bsp_reconciled or removed:
        actual: float | Special = NAN if removed or (runner.bsp_h is None and runner.bsp_special is None) else (
            runner.bsp_h / 100 if runner.bsp_h is not None else cast(Special, runner.bsp_special))
        sp_h = runner.bsp_h or 0
        backs = ((sp_h, runner.sp_back_minor),) if runner.sp_back_minor else ()
        lays = ((sp_h, runner.sp_lay_minor),) if runner.sp_lay_minor else ()
        return SpView(actual, actual, actual if market.bsp_reconciled else None, backs, lays)
    back_req, lay_req = requested(market, runner)
    return SpView(as_float(near_price(market, runner)), as_float(far_price(market, runner)), None,
                  tuple(back_req), tuple(lay_req))


def requested(market: Market, runner: Runner) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Before reconciliation, the auction's money by price (003:L11717-11730): back stakes at 1.01 (MOC)
    and at LOC limits, lay liabilities at 1000 (MOC) and at LOC limits; ascending by price."""
    backs: dict[int, int] = {}
    lays: dict[int, int] = {}
    for o in sp_bets(market, runner):
        if o.side == codes.BACK:
            p = o.price_h if o.order_type == codes.LIMIT_ON_CLOSE else MIN_H
            backs[p] = backs.get(p, 0) + o.bsp_liability_minor
        else:
            p = o.price_h if o.order_type == codes.LIMIT_ON_CLOSE else MAX_H
            lays[p] = lays.get(p, 0) + o.bsp_liability_minor
    return sorted(backs.items()), sorted(lays.items())


def participants(market: Market, runner: Runner, sp_h: int) -> tuple[list[tuple[Order, int]], list[tuple[Order, int]]]:
    """Who takes part at the SP, in priority order, with how much each can match in backers' stake: SP
    bets first (MOC, then LOC by limit, the most willing first), then the exchange's bets (best price
    first); time order within a price. Those whose limit is the SP itself come last on their side: the
    marginal group."""
    backs: list[tuple[tuple[int, int, int], Order, int]] = []
    lays: list[tuple[tuple[int, int, int], Order, int]] = []
    for o in sp_bets(market, runner):
        if o.side == codes.BACK:
            limit = o.price_h if o.order_type == codes.LIMIT_ON_CLOSE else MIN_H
            if limit <= sp_h:
                backs.append(((0, limit, o.bet_id), o, o.bsp_liability_minor))
        else:
            limit = o.price_h if o.order_type == codes.LIMIT_ON_CLOSE else MAX_H
            if limit >= sp_h:
                lays.append(((0, -limit, o.bet_id), o, o.bsp_liability_minor * 100 // (sp_h - 100)))
    for o in market.orders.values():
        if o.runner_index != runner.index or not o.in_book or o.remaining_minor <= 0:
            continue
        if o.side == codes.BACK and o.price_h <= sp_h:
            backs.append(((1, o.price_h, o.bet_id), o, o.remaining_minor))
        elif o.side == codes.LAY and o.price_h >= sp_h:
            lays.append(((1, -o.price_h, o.bet_id), o, o.remaining_minor))
    backs.sort(key=lambda t: t[0])
    lays.sort(key=lambda t: t[0])
    return [(o, n) for _k, o, n in backs if n > 0], [(o, n) for _k, o, n in lays if n > 0]


def join_auction(ctx: Ctx, market: Market) -> None:
    """LIMIT bets with MARKET_ON_CLOSE persistence: their unmatched remainder leaves the book for the
    auction as a MARKET_ON_CLOSE bet holding the same liability (003:L9822-9829)."""
    for order in market.orders.values():
        if order.order_type == codes.LIMIT and order.status == codes.EXECUTABLE and \
                order.persistence == codes.MARKET_ON_CLOSE and order.remaining_minor:
            book = market.runner_list[order.runner_index].book
            (book.backs if order.side == codes.BACK else book.lays).remove(order)
            order.bsp_liability_minor = order.reserved_minor
            order.order_type = codes.MARKET_ON_CLOSE
            order.size_minor -= order.remaining_minor  # its size at SP is the auction's to set
            order.remaining_minor = 0
            ctx.events.append(RunnerChanged(market.market_id, order.selection_id, order.handicap_h))
            ctx.events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))


def reconcile(ctx: Ctx, market: Market) -> None:
    """Reconcile a BSP market: each runner's SP is found and its auction matched, and the SP bets'
    unmatched parts lapse (003:L11137-11138, betting-api.md §5.6); `bspReconciled` afterwards. Call
    `join_auction` first."""
    touched: dict[str, None] = {}
    for runner in market.runner_list:
        sp_h = _find_sp(runner, market)
        bets = sp_bets(market, runner)
        for o in bets:  # an SP bet's size at the SP: a back's stake, a lay's liability / (SP - 1)
            n = 0 if sp_h is None else (o.bsp_liability_minor if o.side == codes.BACK
                                        else o.bsp_liability_minor * 100 // (sp_h - 100))
            o.size_minor += n
            o.remaining_minor += n
        if sp_h is not None:
            backs, lays = participants(market, runner, sp_h)
            runner.sp_back_minor, runner.sp_lay_minor = _match_auction(ctx, market, runner, backs, lays, sp_h,
                                                                       touched)
        for o in bets:
            touched[o.account_id] = None
            _close_sp_bet(ctx, market, o)
        ctx.events.append(RunnerChanged(market.market_id, runner.selection_id, runner.handicap_h))
    market.bsp_reconciled = True
    for account_id in touched:
        refresh_exposure(ctx, market, account_id)


def _find_sp(runner: Runner, market: Market) -> int | None:
    """Set the runner's SP (NaN for a removed runner, 003:L11731-11736); its hundredths, or None."""
    runner.sp_back_minor = runner.sp_lay_minor = 0
    if runner.status in (codes.REMOVED, codes.REMOVED_VACANT):
        runner.bsp_h, runner.bsp_special = None, NAN
    else:
        price = near_price(market, runner)
        runner.bsp_h = to_h(price)
        runner.bsp_special = None if runner.bsp_h is not None else str(price)
    return runner.bsp_h


def _close_sp_bet(ctx: Ctx, market: Market, o: Order) -> None:
    """After the auction: what an SP bet did not match lapses."""
    if o.remaining_minor:
        reduce_unmatched(ctx, market, o, o.remaining_minor, lapse=True)
    elif o.status == codes.EXECUTABLE:  # nothing to match at no SP
        move_order(o, codes.EXECUTION_COMPLETE)
        o.lapsed_ms = ctx.ts_ms
        market.positions[o.account_id].reserve(o, 0)
        ctx.events.append(OrderChanged(market.market_id, o.account_id, o.bet_id))


def _match_auction(ctx: Ctx, market: Market, runner: Runner, backs: list[tuple[Order, int]],
                   lays: list[tuple[Order, int]], sp_h: int, touched: dict[str, None]) -> tuple[int, int]:
    """Pair the auction's backers and layers at the SP, in priority order; returns the backers' stake and
    the layers' liability matched. Exchange bets leave the book for what they are matched."""
    book = runner.book
    positions = market.positions
    ts_ms = ctx.ts_ms
    bi = li = 0
    back_left = backs[0][1] if backs else 0
    lay_left = lays[0][1] if lays else 0
    stake = liability = 0
    while bi < len(backs) and li < len(lays):
        b, lay = backs[bi][0], lays[li][0]
        n = back_left if back_left < lay_left else lay_left
        if n > 0:
            mid = ctx.new_match_id()
            for o in (b, lay):
                fill(positions[o.account_id], o, n, sp_h, mid, ts_ms, False)
                if o.in_book:
                    (book.backs if o.side == codes.BACK else book.lays).reduce(o, n)
                touched[o.account_id] = None
                ctx.events.append(OrderChanged(market.market_id, o.account_id, o.bet_id))
            stake += n
            liability += win_minor(n, sp_h)
        back_left -= n
        lay_left -= n
        if back_left == 0:
            bi += 1
            back_left = backs[bi][1] if bi < len(backs) else 0
        if lay_left == 0:
            li += 1
            lay_left = lays[li][1] if li < len(lays) else 0
    if stake:
        book.traded[sp_h] = book.traded.get(sp_h, 0) + stake
        book.total_matched_minor += stake
        market.total_matched_minor += stake
        market.last_match_ms = ts_ms
    return stake, liability
