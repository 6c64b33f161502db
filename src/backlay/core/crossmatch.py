"""Cross-matching: virtual offers built from the other runners' books (001:L998-1050).

In a single-winner ODDS market with crossMatching on, a BACK on runner X is equivalent to laying all
the others: it can be matched against resting BACK bets on every other active runner at once, because
backs on every outcome form a "100% book" when their prices satisfy 1/p_X + Σ 1/q_j = 1 and their stakes
are inversely proportional to their prices (every outcome pays the same). Likewise a LAY on X matches
the resting LAYs of all the others. The virtual price on X comes from the best level of each other
runner: p = 1 / (1 − Σ 1/q_j), placed on the market's ladder in the exchange's favour (a virtual back
rounded down, a virtual lay up), so the book is 100% or more for backs and 100% or less for lays.

Every leg is a real match of a real order. The exchange's cross-matching book (`HOUSE`, an internal
account) is the counterparty of each leg: it lays (or backs) every runner of the cross-match at the
leg's price, so its position is balanced whatever wins; the tick rounding leaves it a small surplus,
and rounding stakes to minor units can cost it at most one minor unit per leg. Money stays conserved:
the house is an account like any other (it pays no commission, places no bets and has no login).

Stakes for a taker stake t at virtual price p: the common payout K = t·p, and each leg j takes
K / q_j, rounded in the house's favour (leg_sizes). The most a virtual offer can take is limited by the
leg that runs out first: t ≤ S_j·q_j / p for every leg with S_j the size of its best level.

Pure functions over the books; the matching itself (matching.py) executes the legs.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Final

from . import codes
from .book import BookSide
from .context import Ctx
from .market import Market
from .money import div_ceil
from .orders import Order
from .wallet import Account

HOUSE: Final = "#crossmatch"
"""The account of the exchange's cross-matching book. Account ids starting with '#' are reserved."""

MAX_VIRTUAL_STEPS: Final = 10_000  # bounds the display's dry run (each step takes a minor unit or more of every leg)
MIN_PRICE_H: Final = 101
MAX_PRICE_H: Final = 100_000


class Head:
    """The best level of one other runner: its runner index, tick, price and size (backer stake)."""

    __slots__ = ("index", "price_h", "size_minor", "tick")

    def __init__(self, index: int, tick: int, price_h: int, size_minor: int) -> None:
        self.index = index
        self.tick = tick
        self.price_h = price_h
        self.size_minor = size_minor


class VirtualOffer:
    """What a taker on one runner can get from the other runners' books: `max_minor` of stake at
    `price_h` (tick `tick` on the market's ladder), against `legs`."""

    __slots__ = ("legs", "max_minor", "price_h", "tick")

    def __init__(self, tick: int, price_h: int, max_minor: int, legs: list[Head]) -> None:
        self.tick = tick
        self.price_h = price_h
        self.max_minor = max_minor
        self.legs = legs


def house_order(ctx: Ctx, market: Market, index: int, side: int) -> Order:
    """The cross-matching book's order on one runner and side of a market, made on its first match;
    the house account is made with its first order."""
    key = (index, side)
    bet_id = market.house_bets.get(key)
    if bet_id is not None:
        return market.orders[bet_id]
    state = ctx.state
    if HOUSE not in state.accounts:
        state.accounts[HOUSE] = Account(HOUSE, state.currency, None)
    runner = market.runner_list[index]
    order = Order(ctx.new_bet_id(), HOUSE, market.market_id, runner.selection_id, runner.handicap_h, side,
                  codes.LIMIT, codes.PERSIST, 0, -1, 0, ctx.ts_ms, market.version)
    order.runner_index = index
    state.orders[order.bet_id] = order
    market.orders[order.bet_id] = order
    market.house_bets[key] = order.bet_id
    market.position(HOUSE)
    return order


def crossing(market: Market) -> bool:
    """Whether placements in this market cross-match: single-winner ODDS with crossMatching on."""
    d = market.definition
    return d.cross_matching and d.betting_type == codes.ODDS and d.number_of_winners == 1


def leg_side(market: Market, index: int, taker_side: int) -> BookSide:
    """The book side of another runner that a taker of `taker_side` cross-matches: its resting BACKs
    for a BACK taker (they are what lays that runner), its resting LAYs for a LAY taker."""
    book = market.runner_list[index].book
    return book.backs if taker_side == codes.BACK else book.lays


def real_heads(market: Market, index: int, taker_side: int) -> list[Head] | None:
    """The best level on every other active runner, or None when one has nothing on offer."""
    runners = market.runner_list
    back = taker_side == codes.BACK
    sides: list[tuple[int, BookSide]] = []
    for j in market.active:  # first whether every other runner has an offer: often one has none
        if j != index:
            book = runners[j].book
            side = book.backs if back else book.lays  # leg_side, inlined: this runs for every placement
            if not side.ticks:
                return None
            sides.append((j, side))
    heads: list[Head] = []
    for j, side in sides:
        tick = side.ticks[0] if back else side.ticks[-1]
        level = side.levels[tick]
        heads.append(Head(j, tick, level.price_h, level.total_minor))
    return heads if heads else None


class _OthersBook:
    """Σ 1/q over the other runners' prices q (hundredths), exactly, as total/prod: prod = Π q and
    total = Σ 100·prod/q (each term exact, q divides prod)."""

    __slots__ = ("prod", "total")

    def __init__(self, prices_h: list[int]) -> None:
        prod = 1
        for q in prices_h:
            prod *= q
        self.prod = prod
        self.total = sum(100 * (prod // q) for q in prices_h)

    def with_price_vs_one(self, price_h: int) -> int:
        """The sign of 1/p + Σ 1/q − 1 for p = price_h / 100: > 0 over 100%, 0 at, < 0 under.
        (100/p + total/prod − 1, times p·prod: 100·prod + p·total − p·prod.)"""
        d = 100 * self.prod + price_h * (self.total - self.prod)
        return (d > 0) - (d < 0)


def virtual_offer(market: Market, taker_side: int, heads: list[Head]) -> VirtualOffer | None:
    """The virtual offer the heads make to a taker of `taker_side`, on the market's ladder; None when
    their prices leave no valid price (their own book is 100% or more), or there are none (every other
    runner removed)."""
    if not heads:
        return None
    inv = 0.0
    for h in heads:
        inv += 100.0 / h.price_h
    if inv >= 1.0:
        return None
    exact_h = 100.0 / (1.0 - inv)
    ladder = market.ladder
    prices = ladder.prices_h
    others = _OthersBook([h.price_h for h in heads])
    if taker_side == codes.BACK:
        # the highest ladder price p with 1/p + Σ 1/q >= 1
        i = bisect_right(prices, exact_h * (1 + 1e-12)) - 1
        while i + 1 < len(prices) and others.with_price_vs_one(prices[i + 1]) >= 0:
            i += 1
        while i >= 0 and others.with_price_vs_one(prices[i]) < 0:
            i -= 1
        if i < 0:
            return None
    else:
        # the lowest ladder price p with 1/p + Σ 1/q <= 1
        i = bisect_left(prices, exact_h * (1 - 1e-12))
        while i > 0 and others.with_price_vs_one(prices[i - 1]) <= 0:
            i -= 1
        while i < len(prices) and others.with_price_vs_one(prices[i]) > 0:
            i += 1
        if i >= len(prices):
            return None
    price_h = prices[i]
    if not MIN_PRICE_H <= price_h <= MAX_PRICE_H:
        return None
    max_minor = min(h.size_minor * h.price_h // price_h for h in heads)
    if max_minor <= 0:
        return None
    offer = VirtualOffer(i, price_h, max_minor, heads)
    if min(leg_sizes(offer, taker_side, max_minor)) <= 0:
        return None  # a crumb: not even the whole of it makes a leg of one minor unit
    return offer


def leg_sizes(offer: VirtualOffer, taker_side: int, taker_minor: int) -> list[int]:
    """Each leg's stake for a taker stake: the payout divided by the leg's price, rounded in the house's
    favour in every outcome: down when the house lays the legs (a BACK taker), up when it backs them (a
    LAY taker). Its result is then at worst one minor unit per leg below the tick rounding's surplus,
    and never more than a leg's level holds (t·p / q <= the level, so the rounding up stays within)."""
    payout = taker_minor * offer.price_h
    if taker_side == codes.BACK:
        return [payout // h.price_h for h in offer.legs]
    return [min(h.size_minor, div_ceil(payout, h.price_h)) for h in offer.legs]


def better(taker_side: int, tick: int, than: int) -> bool:
    """Whether `tick` is strictly better than `than` for a taker of `taker_side`."""
    return tick > than if taker_side == codes.BACK else tick < than


def within(taker_side: int, tick: int, limit_tick: int) -> bool:
    return tick >= limit_tick if taker_side == codes.BACK else tick <= limit_tick


class Sim:
    """A dry run of what a taker on one runner can take, best first, direct and virtual merged, without
    changing anything: for FILL_OR_KILL plans, bet-target checks and the virtual price display."""

    __slots__ = ("direct", "market", "others", "side", "virtual")

    def __init__(self, market: Market, index: int, taker_side: int, direct: bool = True,
                 virtual: bool = True) -> None:
        self.market = market
        self.side = taker_side
        book = market.runner_list[index].book
        own = book.lays if taker_side == codes.BACK else book.backs
        ticks = list(reversed(own.ticks)) if taker_side == codes.BACK else list(own.ticks)
        self.direct: list[list[int]] = [[t, own.levels[t].price_h, own.levels[t].total_minor] for t in ticks] \
            if direct else []
        self.direct.reverse()  # popped from the end: best last
        self.virtual = virtual and crossing(market) and index in market.active
        self.others: list[list[list[int]]] = []  # per other active runner: its levels [tick, price, size], best last
        if self.virtual:
            for j in market.active:
                if j == index:
                    continue
                side = leg_side(market, j, taker_side)
                levels = [[t, side.levels[t].price_h, side.levels[t].total_minor] for t in side.ticks]
                if taker_side == codes.BACK:
                    levels.reverse()  # lowest (best) last
                self.others.append(levels)

    def _heads(self) -> list[Head] | None:
        if not self.others:
            return None
        heads = []
        for j, levels in enumerate(self.others):
            if not levels:
                return None
            t, p, s = levels[-1]
            heads.append(Head(j, t, p, s))
        return heads

    def next(self, limit_tick: int | None = None) -> tuple[int, int, int, bool] | None:
        """The best offer now as (tick, price_h, size, virtual), not consumed; None when none is left
        (or none within `limit_tick`)."""
        offer = None
        if self.virtual:
            heads = self._heads()
            if heads is not None:
                offer = virtual_offer(self.market, self.side, heads)
        best: tuple[int, int, int, bool] | None = None
        if self.direct:
            t, p, s = self.direct[-1]
            best = (t, p, s, False)
        if offer is not None and (best is None or better(self.side, offer.tick, best[0])):
            best = (offer.tick, offer.price_h, offer.max_minor, True)
        if best is None or (limit_tick is not None and not within(self.side, best[0], limit_tick)):
            return None
        return best

    def take(self, offer: tuple[int, int, int, bool], size_minor: int) -> None:
        """Consume `size_minor` (<= the offer's size) of an offer `next` returned."""
        tick, price_h, available, is_virtual = offer
        if not is_virtual:
            level = self.direct[-1]
            level[2] -= size_minor
            if level[2] <= 0:
                self.direct.pop()
            return
        heads = self._heads()
        assert heads is not None
        vo = VirtualOffer(tick, price_h, available, heads)
        for levels, leg in zip(self.others, leg_sizes(vo, self.side, size_minor)):
            levels[-1][2] -= leg
            if levels[-1][2] <= 0:
                levels.pop()


def virtual_levels(market: Market, index: int, taker_side: int, depth: int) -> list[tuple[int, int]]:
    """The virtual offers alone, as (price_h, size_minor) best first, up to `depth` prices: what a very
    large bet would be matched against by cross-matching (001:L1010-1032)."""
    if not crossing(market) or index not in market.active:
        return []
    sim = Sim(market, index, taker_side, direct=False)
    out: list[tuple[int, int]] = []
    for _ in range(MAX_VIRTUAL_STEPS):  # several offers can share a price
        offer = sim.next()
        if offer is None:
            break
        _tick, price_h, size, _v = offer
        if out and out[-1][0] == price_h:
            out[-1] = (price_h, out[-1][1] + size)
        elif len(out) == depth:
            break
        else:
            out.append((price_h, size))
        sim.take(offer, size)
    return out


def merge_levels(direct: list[tuple[int, int]], virtual: list[tuple[int, int]], taker_side: int,
                 depth: int | None) -> list[tuple[int, int]]:
    """Direct and virtual levels as one ladder, sizes summed at equal prices, best first."""
    sizes: dict[int, int] = {}
    for p, s in direct:
        sizes[p] = sizes.get(p, 0) + s
    for p, s in virtual:
        sizes[p] = sizes.get(p, 0) + s
    merged = sorted(sizes.items(), reverse=taker_side == codes.BACK)
    return merged if depth is None else merged[:depth]
