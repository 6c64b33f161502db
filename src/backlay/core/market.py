"""Markets and runners: definition, lifecycle state, books, positions (rule 5 of the core issue).

Lifecycle: INACTIVE -> OPEN <-> SUSPENDED -> CLOSED (003:L9614-9620); an operator may suspend or close
a market that never opened. The status changes only through `move_market`, which refuses a move the
table below does not allow. `version` bumps on every change; `min_version` is the version of the last
material change, and a placement carrying an older version lapses (003:L10853-10909).
"""

from __future__ import annotations

from typing import Any, Final

from . import codes
from .book import RunnerBook
from .commands import MarketDefinition, RunnerDefinition, RunnerResult
from .compiled import mypyc_attr
from .ladder import Ladder, ladder_for
from .orders import Order
from .wallet import INDEPENDENT, LINE_SUM, OUTCOMES, Position

MARKET_MOVES: Final[dict[str, frozenset[str]]] = {
    codes.INACTIVE: frozenset({codes.OPEN, codes.SUSPENDED, codes.CLOSED}),
    codes.OPEN: frozenset({codes.SUSPENDED, codes.CLOSED}),
    codes.SUSPENDED: frozenset({codes.OPEN, codes.CLOSED}),
    codes.CLOSED: frozenset(),
}


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Runner:
    __slots__ = (
        "adjustment_factor_bp",
        "book",
        "bsp_h",
        "bsp_special",
        "definition",
        "handicap_h",
        "index",
        "key",
        "removal_ms",
        "result",
        "selection_id",
        "sp_back_minor",
        "sp_lay_minor",
        "status",
    )

    def __init__(self, definition: RunnerDefinition, index: int) -> None:
        self.definition = definition
        self.index = index  # position in the market's runner list: the index of P&L vectors
        self.selection_id = definition.selection_id
        self.handicap_h = definition.handicap_h
        self.key = (definition.selection_id, definition.handicap_h)
        self.status = codes.ACTIVE
        self.adjustment_factor_bp: int | None = None
        self.removal_ms: int | None = None
        self.book = RunnerBook()
        self.result: RunnerResult | None = None
        # the Betfair Starting Price once reconciled (bsp.py): in hundredths, or "NaN" / "Infinity"
        self.bsp_h: int | None = None
        self.bsp_special: str | None = None
        self.sp_back_minor = 0  # backers' stake matched at the SP
        self.sp_lay_minor = 0  # layers' liability matched at the SP

    def state_tuple(self) -> tuple[object, ...]:
        return (self.key, self.status, self.adjustment_factor_bp, self.removal_ms, self.result,
                self.book.queue_state(), self.bsp_h, self.bsp_special, self.sp_back_minor, self.sp_lay_minor)


class Settlement:
    """What a settlement moved, per account, so that it can be reversed exactly."""

    __slots__ = ("commission_minor", "net_minor", "statement_refs")

    def __init__(self) -> None:
        self.net_minor: dict[str, int] = {}
        self.commission_minor: dict[str, int] = {}
        self.statement_refs: dict[str, list[int]] = {}


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Market:
    __slots__ = (
        "active",
        "bet_delay_s",
        "bsp_reconciled",
        "closed_ms",
        "complete",
        "definition",
        "house_bets",
        "inplay",
        "ladder",
        "last_match_ms",
        "line_outcome_h",
        "market_id",
        "min_version",
        "orders",
        "position_mode",
        "positions",
        "runner_list",
        "runners",
        "runners_by_selection",
        "settled",
        "settled_ms",
        "settlement",
        "status",
        "suspend_count",
        "suspend_reason",
        "total_matched_minor",
        "version",
        "voided",
    )

    def __init__(self, market_id: str, definition: MarketDefinition, runners: list[RunnerDefinition]) -> None:
        self.market_id = market_id
        self.definition = definition
        self.ladder: Ladder = ladder_for(
            definition.price_ladder, definition.line_min_h, definition.line_max_h, definition.line_interval_h
        )
        self.runners: dict[tuple[int, int], Runner] = {}
        for i, rd in enumerate(runners):
            r = Runner(rd, i)
            self.runners[r.key] = r
        self.runner_list: list[Runner] = list(self.runners.values())  # by index
        # selection id -> runner for runners at handicap 0, the common case: an int lookup
        self.runners_by_selection: dict[int, Runner] = {r.selection_id: r for r in self.runner_list
                                                        if r.handicap_h == 0}
        self.active: list[int] = list(range(len(self.runners)))  # indexes of runners that can win
        self.status = codes.INACTIVE
        self.inplay = False
        self.bet_delay_s = 0
        self.version = 1
        self.min_version = 1
        self.suspend_count = 0
        self.suspend_reason: str | None = None
        self.complete = True
        self.bsp_reconciled = False
        self.orders: dict[int, Order] = {}
        self.house_bets: dict[tuple[int, int], int] = {}  # (runner index, side) -> the cross-matching book's bet
        self.positions: dict[str, Position] = {}
        self.total_matched_minor = 0
        self.last_match_ms: int | None = None
        self.settled = False
        self.voided = False
        self.settled_ms: int | None = None
        self.closed_ms: int | None = None
        self.settlement: Settlement | None = None
        self.line_outcome_h: int | None = None
        if definition.betting_type == codes.LINE:
            self.position_mode = LINE_SUM
        elif definition.betting_type == codes.ODDS and definition.number_of_winners == 1:
            self.position_mode = OUTCOMES
        else:
            self.position_mode = INDEPENDENT

    @property
    def is_line(self) -> bool:
        return self.position_mode == LINE_SUM

    def position(self, account_id: str) -> Position:
        pos = self.positions.get(account_id)
        if pos is None:
            pos = self.positions[account_id] = self.new_position()
        return pos

    def runner(self, selection_id: int, handicap_h: int) -> Runner | None:
        if handicap_h == 0:
            return self.runners_by_selection.get(selection_id)
        return self.runners.get((selection_id, handicap_h))

    def new_position(self) -> Position:
        return Position(self.position_mode, len(self.runners))

    def bump_version(self, material: bool) -> None:
        self.version += 1
        if material:
            self.min_version = self.version

    def refresh_active(self) -> None:
        self.active = [r.index for r in self.runners.values() if r.status not in (codes.REMOVED, codes.REMOVED_VACANT)]

    def state_tuple(self) -> tuple[object, ...]:
        d: Any = self.definition
        return (
            self.market_id,
            d,
            self.status,
            self.inplay,
            self.bet_delay_s,
            self.version,
            self.min_version,
            self.suspend_count,
            self.suspend_reason,
            self.bsp_reconciled,
            self.total_matched_minor,
            self.last_match_ms,
            self.settled,
            self.voided,
            self.settled_ms,
            self.closed_ms,
            self.line_outcome_h,
            tuple(r.state_tuple() for r in self.runners.values()),
            tuple(sorted((a, tuple(p.win), tuple(p.lose), p.line_minor)
                         for a, p in self.positions.items())),
            tuple(self.orders),
            tuple(sorted(self.house_bets.items())),
        )


def move_market(market: Market, status: str) -> None:
    """The one way a market's status changes; an illegal move is a bug of the core (operator commands
    check theirs first and answer INVALID_STATE_TRANSITION)."""
    assert status in MARKET_MOVES[market.status], f"market {market.market_id}: {market.status} -> {status}"
    market.status = status
