"""Orders as the API reports them (003:L11814-11874, 003:L12168-12239).

Invariant: size = matched + remaining + lapsed + cancelled + voided (voids come out of matched).

Status (003:L11860-11866) changes only through `move_order`, which refuses a move the table below does
not allow: EXECUTABLE -> PENDING (held for an in-play bet delay) -> EXECUTABLE (released); EXECUTABLE
or PENDING -> EXECUTION_COMPLETE (nothing left unmatched); EXECUTABLE -> EXPIRED (FILL_OR_KILL, killed
whole). EXECUTION_COMPLETE and EXPIRED are final.
"""

from __future__ import annotations

from typing import Final

from . import codes
from .compiled import mypyc_attr

ORDER_MOVES: Final[dict[str, frozenset[str]]] = {
    codes.EXECUTABLE: frozenset({codes.PENDING, codes.EXECUTION_COMPLETE, codes.EXPIRED}),
    codes.PENDING: frozenset({codes.EXECUTABLE, codes.EXECUTION_COMPLETE}),
    codes.EXECUTION_COMPLETE: frozenset(),
    codes.EXPIRED: frozenset(),
}


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Fragment:
    """One matched piece of an order. `price_h` may be off-ladder after a Rule 4 reduction.
    A plain class rather than a NamedTuple: compiled, it is built without running Python code."""

    __slots__ = ("match_id", "matched_ms", "price_h", "size_minor")

    def __init__(self, match_id: int, price_h: int, size_minor: int, matched_ms: int) -> None:
        self.match_id = match_id
        self.price_h = price_h
        self.size_minor = size_minor
        self.matched_ms = matched_ms

    def __repr__(self) -> str:  # part of Exchange.fingerprint(): no addresses
        return f"Fragment({self.match_id}, {self.price_h}, {self.size_minor}, {self.matched_ms})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fragment) and (self.match_id, self.price_h, self.size_minor, self.matched_ms) == (
            other.match_id, other.price_h, other.size_minor, other.matched_ms)

    def __hash__(self) -> int:
        return hash((self.match_id, self.price_h, self.size_minor, self.matched_ms))


ORDER_FIELDS = (
        "account_id",
        "bet_id",
        "bsp_liability_minor",
        "cancelled_minor",
        "cancelled_ms",
        "customer_order_ref",
        "customer_strategy_ref",
        "fragments",
        "handicap_h",
        "in_book",
        "key",
        "lapse_reason",
        "lapsed_minor",
        "lapsed_ms",
        "market_id",
        "matched_minor",
        "matched_ms",
        "matched_value",
        "order_type",
        "persistence",
        "placed_ms",
        "placed_version",
        "price_h",
        "price_reduced",
        "remaining_minor",
        "reserved_minor",
        "runner_index",
        "selection_id",
        "side",
        "size_minor",
        "source_app_key",
        "status",
        "tick",
        "time_in_force",
        "voided_minor",
        "voided_ms",
)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Order:
    __slots__ = ORDER_FIELDS

    def __init__(
        self,
        bet_id: int,
        account_id: str,
        market_id: str,
        selection_id: int,
        handicap_h: int,
        side: int,
        order_type: str,
        persistence: str,
        price_h: int,
        tick: int,
        size_minor: int,
        placed_ms: int,
        placed_version: int,
    ) -> None:
        self.bet_id = bet_id
        self.account_id = account_id
        self.market_id = market_id
        self.selection_id = selection_id
        self.handicap_h = handicap_h
        self.key = (selection_id, handicap_h)
        self.runner_index = 0  # the runner's index in its market (positions are per-index lists)
        self.side = side
        self.order_type = order_type
        self.persistence = persistence
        self.time_in_force: str | None = None
        self.price_h = price_h
        self.tick = tick
        self.size_minor = size_minor
        self.bsp_liability_minor = 0
        self.matched_minor = 0
        self.remaining_minor = size_minor
        self.cancelled_minor = 0
        self.lapsed_minor = 0
        self.voided_minor = 0
        self.matched_value = 0  # sum of fragment size_minor * price_h over unvoided fragments
        # a tuple, so that a bet that never matched (most of a live book) holds no list for the
        # collector to track: () is shared; bets match a few times at most, so rebuilding is cheap
        self.fragments: tuple[Fragment, ...] = ()
        self.placed_ms = placed_ms
        self.placed_version = placed_version
        self.matched_ms: int | None = None
        self.cancelled_ms: int | None = None
        self.lapsed_ms: int | None = None
        self.lapse_reason: str | None = None
        self.voided_ms: int | None = None  # when a matched part was last voided (BY_VOID_TIME)
        self.status = codes.EXECUTABLE
        self.customer_order_ref: str | None = None
        self.customer_strategy_ref: str | None = None
        self.source_app_key: str | None = None
        self.reserved_minor = 0  # what the unmatched part currently holds back from the account
        self.price_reduced = False
        self.in_book = False  # resting in its runner's book with something unmatched

    def avg_price_matched_h(self) -> float:
        """Average matched price in hundredths (voided fragments excluded, 003:L11848-11851)."""
        return self.matched_value / self.matched_minor if self.matched_minor else 0.0

    def is_bsp(self) -> bool:
        return self.order_type != codes.LIMIT

    def check(self) -> None:
        assert self.size_minor == (
            self.matched_minor + self.remaining_minor + self.lapsed_minor + self.cancelled_minor + self.voided_minor
        ), f"order {self.bet_id} sizes do not add up"
        assert min(self.matched_minor, self.remaining_minor, self.lapsed_minor, self.cancelled_minor) >= 0

    def state_tuple(self) -> tuple[object, ...]:
        """Everything about the order, for replay comparisons."""
        return tuple(getattr(self, s) for s in ORDER_FIELDS)


def move_order(order: Order, status: str) -> None:
    """The one way an order's status changes; an illegal move is a bug of the core."""
    assert status in ORDER_MOVES[order.status], f"order {order.bet_id}: {order.status} -> {status}"
    order.status = status


def void_matched(order: Order, ts_ms: int) -> None:
    """Void what the order matched (a removed runner, a voided market): it no longer counts."""
    order.voided_minor += order.matched_minor
    order.voided_ms = ts_ms
    order.matched_minor = 0
    order.matched_value = 0
