"""Funds: balance, exposure and available-to-bet per account (rule 6 of the core issue).

Exposure of an account in a market is its worst-case loss over all outcomes, counting matched bets
at their matched price and each unmatched bet as matched or not, whichever is worse in that outcome.
Everything is additive per runner, so a Position keeps, per runner, the account's P&L if the runner
wins (`win`) and if it loses (`lose`), matched and unmatched together:

* single-winner markets: outcome r pays win[r] + sum(lose[j] for j != r); the worst over the active runners.
* multi-winner and handicap markets: runners settle independently: sum over runners of min(win, lose).
* LINE markets: every bet can lose its stake (the settling value decides each line), so exposure is
  the sum of the stakes at risk.

Available to bet = balance - exposure (summed over markets).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from .compiled import mypyc_attr
from .money import lay_liability_reserve_minor, win_minor
from .orders import Order

# Final, here and in the other core modules: the compiled core inlines such constants instead of
# looking the name up in the module's dict on every use
OUTCOMES: Final = 0  # single-winner: one runner wins
INDEPENDENT: Final = 1  # each runner wins or loses on its own
LINE_SUM: Final = 2  # LINE markets


class AccountStatus(StrEnum):
    """An account may place and replace bets only while ACTIVE (INVALID_ACCOUNT_STATE otherwise)."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Account:
    __slots__ = (
        "account_id",
        "balance_minor",
        "commission_paid_minor",
        "currency",
        "deposits_minor",
        "exposure_by_market",
        "exposure_limit_minor",
        "exposure_minor",
        "loss_base_minor",
        "loss_limit_minor",
        "max_price_improvement_ticks",
        "settled_pnl_minor",
        "status",
        "withdrawals_minor",
    )

    def __init__(self, account_id: str, currency: str, exposure_limit_minor: int | None) -> None:
        self.account_id = account_id
        self.currency = currency
        self.balance_minor = 0
        self.exposure_minor = 0
        self.exposure_by_market: dict[str, int] = {}
        self.exposure_limit_minor = exposure_limit_minor
        self.settled_pnl_minor = 0  # net of every settlement, commission included
        self.loss_limit_minor: int | None = None
        self.loss_base_minor = 0  # settled_pnl_minor when the loss limit was set
        self.max_price_improvement_ticks: int | None = None
        self.status = AccountStatus.ACTIVE
        self.deposits_minor = 0
        self.withdrawals_minor = 0
        self.commission_paid_minor = 0

    @property
    def available_minor(self) -> int:
        return self.balance_minor - self.exposure_minor

    @property
    def losses_since_limit_minor(self) -> int:
        return max(0, self.loss_base_minor - self.settled_pnl_minor)

    def set_market_exposure(self, market_id: str, exposure_minor: int) -> None:
        old = self.exposure_by_market.get(market_id, 0)
        if exposure_minor:
            self.exposure_by_market[market_id] = exposure_minor
        elif old:
            del self.exposure_by_market[market_id]
        self.exposure_minor += exposure_minor - old

    def state_tuple(self) -> tuple[object, ...]:
        return (
            self.account_id,
            self.currency,
            self.balance_minor,
            self.exposure_minor,
            tuple(sorted(self.exposure_by_market.items())),
            self.exposure_limit_minor,
            self.settled_pnl_minor,
            self.loss_limit_minor,
            self.loss_base_minor,
            self.max_price_improvement_ticks,
            self.status.value,
            self.deposits_minor,
            self.withdrawals_minor,
            self.commission_paid_minor,
        )


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Position:
    """An account's P&L vectors in one market (see the module docstring), one entry per runner by the
    runner's index in its market: lists, not dicts, so the exposure check never hashes a key."""

    __slots__ = ("line_minor", "lose", "mode", "win")

    def __init__(self, mode: int, n_runners: int) -> None:
        self.mode = mode
        self.win: list[int] = [0] * n_runners
        self.lose: list[int] = [0] * n_runners
        self.line_minor = 0

    def worst_minor(self, active: list[int]) -> int:
        """Worst-case P&L (<= 0 means a loss of that much) over the outcomes; `active` are the indexes
        of the runners that can still win (removed runners cannot)."""
        win, lose = self.win, self.lose
        if self.mode == OUTCOMES:
            total_lose = 0
            for v in lose:
                total_lose += v
            worst = 0
            first = True
            for i in active:
                v = win[i] - lose[i]
                if first or v < worst:
                    worst = v
                    first = False
            return total_lose + worst
        if self.mode == INDEPENDENT:
            total = 0
            for i in range(len(win)):
                total += min(win[i], lose[i])
            return total
        return -self.line_minor

    def exposure_minor(self, active: list[int]) -> int:
        worst = self.worst_minor(active)
        return -worst if worst < 0 else 0

    def hold(self, index: int, side: int, amount_minor: int) -> None:
        """Hold `amount_minor` more (or release, if negative) for an unmatched bet: a back can lose its
        stake if the runner loses; a lay can lose its liability if the runner wins."""
        # a list item read into a typed local, then written: `lst[i] -= n` is generic arithmetic in the
        # compiled core
        if self.mode == LINE_SUM:
            self.line_minor += amount_minor
        elif side == 0:
            lose = self.lose
            v: int = lose[index]
            lose[index] = v - amount_minor
        else:
            win = self.win
            w: int = win[index]
            win[index] = w - amount_minor

    # --- incremental updates -------------------------------------------------------------------

    def reserve(self, order: Order, reserved_minor: int) -> None:
        """Set what the order's unmatched part holds."""
        delta = reserved_minor - order.reserved_minor
        if delta:
            order.reserved_minor = reserved_minor
            self.hold(order.runner_index, order.side, delta)

    def add_matched(self, order: Order, size_minor: int, price_h: int) -> None:
        """Add a matched fragment: a back wins `win` if its runner wins and loses its stake otherwise;
        a lay the opposite."""
        if self.mode == LINE_SUM:
            self.line_minor += size_minor
            return
        w = win_minor(size_minor, price_h)
        i = order.runner_index
        win, lose = self.win, self.lose
        old_win: int = win[i]
        old_lose: int = lose[i]
        if order.side == 0:
            win[i] = old_win + w
            lose[i] = old_lose - size_minor
        else:
            win[i] = old_win - w
            lose[i] = old_lose + size_minor


def unmatched_reserve_minor(order: Order, remaining_minor: int, line_market: bool) -> int:
    """What an unmatched remainder can lose: the stake of a back (or any LINE bet), the liability of a
    lay, rounded up (money.lay_liability_reserve_minor)."""
    if order.order_type != "LIMIT":
        return order.bsp_liability_minor if order.status in ("EXECUTABLE", "PENDING") else 0
    if order.side == 0 or line_market:
        return remaining_minor
    return lay_liability_reserve_minor(remaining_minor, order.price_h)
