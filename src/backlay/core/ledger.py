"""History that outlives the order book: account statement items and cleared orders (003:L11213-11449,
001:L1052-1593). Kept 90 days after the time of the item (003:L11221-11224)."""

from __future__ import annotations

from typing import Final

import msgspec

RETENTION_MS: Final = 90 * 24 * 3600 * 1000


class StatementItem(msgspec.Struct, kw_only=True):
    """One getAccountStatement row with its legacyData (001:L1052-1593), in core units."""

    ref_id: str
    item_ms: int
    amount_minor: int
    balance_minor: int
    transaction_type: str  # ACCOUNT_CREDIT | ACCOUNT_DEBIT | COMMISSION_REVERSAL
    win_lose: str  # RESULT_NOT_APPLICABLE | RESULT_WON | RESULT_LOST | RESULT_ERR | RESULT_FIX
    settlement_id: int = 0  # the settlement that wrote it; unsettle rewrites those rows to RESULT_ERR
    market_id: str | None = None
    event_id: str | None = None
    event_type_id: str | None = None
    market_name: str | None = None
    full_market_name: str | None = None
    market_type: str = "NOT_APPLICABLE"  # legacy O / L / A / NOT_APPLICABLE
    selection_id: int = 0
    selection_name: str | None = None
    handicap_h: int = 0
    placed_ms: int | None = None
    start_ms: int | None = None
    avg_price_h: float = 0.0
    bet_size_minor: int = 0
    bet_type: str | None = None  # B | L
    bet_category_type: str = "NONE"  # E (exchange) | M (market on close) | L (limit on close) | NONE
    commission_rate_bp: int | None = None
    gross_bet_amount_minor: int = 0
    dead_heat_divisor: float | None = None
    reference: str | None = None  # deposits and withdrawals; fixed-odds bets: "FIXED_ODDS <provider> <betId> <what>"
    fixed_odds: bool = False  # a fixed-odds bet's placement, payout, void or rollback (core/fixed_odds.py)


class ClearedOrder(msgspec.Struct, kw_only=True):
    """One listClearedOrders row at BET level (003:L11993-12095); roll-ups are computed from these."""

    bet_id: int
    account_id: str
    market_id: str
    event_type_id: str
    event_id: str
    selection_id: int
    handicap_h: int
    side: int
    bet_status: str  # SETTLED | VOIDED | LAPSED | CANCELLED
    placed_ms: int
    settled_ms: int
    order_type: str
    persistence: str | None
    price_requested_h: int
    price_matched_h: float
    size_settled_minor: int
    size_cancelled_minor: int
    profit_minor: int
    bet_outcome: str | None
    last_matched_ms: int | None
    price_reduced: bool
    settlement_id: int
    customer_order_ref: str | None = None
    customer_strategy_ref: str | None = None
    source_app_key: str | None = None
    voided_ms: int | None = None


class Ledger:
    __slots__ = ("cleared", "market_commission", "next_ref", "statements")

    def __init__(self) -> None:
        self.statements: dict[str, list[StatementItem]] = {}
        self.cleared: dict[str, list[ClearedOrder]] = {}
        self.market_commission: dict[tuple[str, str], int] = {}
        self.next_ref = 1

    def add_statement(self, account_id: str, item: StatementItem) -> None:
        self.statements.setdefault(account_id, []).append(item)

    def add_cleared(self, row: ClearedOrder) -> None:
        self.cleared.setdefault(row.account_id, []).append(row)

    def prune(self, now_ms: int) -> None:
        horizon = now_ms - RETENTION_MS
        for items in self.statements.values():
            if items and items[0].item_ms < horizon:
                items[:] = [i for i in items if i.item_ms >= horizon]
        for rows in self.cleared.values():
            if rows and rows[0].settled_ms < horizon:
                rows[:] = [r for r in rows if r.settled_ms >= horizon]

    def state_tuple(self) -> tuple[object, ...]:
        return (
            tuple(sorted((a, tuple(v)) for a, v in self.statements.items())),
            tuple(sorted((a, tuple(v)) for a, v in self.cleared.items())),
            tuple(sorted(self.market_commission.items())),
            self.next_ref,
        )
