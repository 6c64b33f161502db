"""Order book per runner (selection, handicap): price-time priority queues of resting LIMIT orders.

Resting BACK orders are what layers can take (shown as availableToLay); resting LAY orders are what
backers can take (availableToBack). A BACK taker at tick t takes LAY levels >= t from the highest;
a LAY taker takes BACK levels <= t from the lowest. Uncrossed: max lay tick < min back tick.

Cancels are lazy: a cancelled order stays in its level's deque with nothing remaining and is dropped
when matching reaches it or when the level compacts, so a cancel is O(1) and queue order is kept.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque

from .compiled import mypyc_attr
from .orders import Order


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Level:
    __slots__ = ("dead", "orders", "price_h", "total_minor")

    def __init__(self, price_h: int) -> None:
        self.price_h = price_h
        self.orders: deque[Order] = deque()
        self.total_minor = 0
        self.dead = 0  # entries in `orders` with nothing remaining

    def live_orders(self) -> list[Order]:
        return [o for o in self.orders if o.remaining_minor > 0]


class BookSide:
    """One side's levels: tick -> Level, and the occupied ticks ascending."""

    __slots__ = ("levels", "ticks")

    def __init__(self) -> None:
        self.levels: dict[int, Level] = {}
        self.ticks: list[int] = []

    def add(self, order: Order) -> None:
        level = self.levels.get(order.tick)
        if level is None:
            level = self.levels[order.tick] = Level(order.price_h)
            insort(self.ticks, order.tick)
        level.orders.append(order)
        level.total_minor += order.remaining_minor
        order.in_book = True

    def reduce(self, order: Order, by_minor: int) -> None:
        """The order's remaining size went down by `by_minor` outside matching (cancel, lapse)."""
        level = self.levels[order.tick]
        level.total_minor -= by_minor
        if order.remaining_minor == 0:
            order.in_book = False
            level.dead += 1
            if level.total_minor == 0:
                self.drop(order.tick)
            elif level.dead > 16 and level.dead * 2 > len(level.orders):
                level.orders = deque([o for o in level.orders if o.remaining_minor > 0])
                level.dead = 0

    def remove(self, order: Order) -> None:
        """Take a resting order out of its level without changing its sizes (it leaves for the SP auction)."""
        level = self.levels[order.tick]
        level.orders.remove(order)
        level.total_minor -= order.remaining_minor
        order.in_book = False
        if level.total_minor == 0:
            self.drop(order.tick)

    def drop(self, tick: int) -> None:
        del self.levels[tick]
        ticks = self.ticks
        if ticks[-1] == tick:  # the best back level (matching a BACK taker): the common case
            ticks.pop()
        else:
            del ticks[bisect_left(ticks, tick)]


class RunnerBook:
    __slots__ = ("backs", "last_traded_h", "lays", "total_matched_minor", "traded")

    def __init__(self) -> None:
        self.backs = BookSide()  # resting BACK orders (availableToLay)
        self.lays = BookSide()  # resting LAY orders (availableToBack)
        self.traded: dict[int, int] = {}  # price_h -> matched backer stake
        self.last_traded_h: int | None = None
        self.total_matched_minor = 0

    def available_to_back(self) -> list[tuple[int, int]]:
        """(price_h, size_minor) best first (highest price)."""
        lays = self.lays
        return [(lays.levels[t].price_h, lays.levels[t].total_minor) for t in reversed(lays.ticks)]

    def available_to_lay(self) -> list[tuple[int, int]]:
        """(price_h, size_minor) best first (lowest price)."""
        backs = self.backs
        return [(backs.levels[t].price_h, backs.levels[t].total_minor) for t in backs.ticks]

    def is_crossed(self) -> bool:
        return bool(self.lays.ticks and self.backs.ticks and self.lays.ticks[-1] >= self.backs.ticks[0])

    def queue_state(self) -> tuple[object, ...]:
        """Queues as bet ids in priority order, for replay comparisons."""
        return (
            tuple((t, tuple(o.bet_id for o in self.backs.levels[t].live_orders())) for t in self.backs.ticks),
            tuple((t, tuple(o.bet_id for o in self.lays.levels[t].live_orders())) for t in self.lays.ticks),
            tuple(sorted(self.traded.items())),
            self.last_traded_h,
            self.total_matched_minor,
        )
