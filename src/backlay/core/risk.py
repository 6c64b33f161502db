"""Risk: the funds check of a placement, and the reserve and release of exposure (rule 6 of the core
issue; wallet.py has the arithmetic).

A batch of place instructions holds the worst case of its unmatched bets before anything is stored; if
that breaks the balance, the exposure limit or the loss limit, the holds are undone exactly and the
instruction that broke it is named. Matching only ever lowers exposure (the taker gets the same or a
better price), so the check covers whatever the batch goes on to match.
"""

from __future__ import annotations

from . import codes
from .codes import ExecErr
from .context import Ctx
from .events import FundsChanged
from .market import Market
from .state import Prepared
from .wallet import Account, Position, unmatched_reserve_minor


def refresh_exposure(ctx: Ctx, market: Market, account_id: str) -> None:
    """Bring the account's exposure in the market up to its position, and say its funds changed."""
    pos = market.positions.get(account_id)
    acct = ctx.state.accounts[account_id]
    exposure = pos.exposure_minor(market.active) if pos is not None else 0
    if exposure != acct.exposure_by_market.get(market.market_id, 0):
        acct.set_market_exposure(market.market_id, exposure)
    ctx.events.append(FundsChanged(account_id))


def refresh_touched(ctx: Ctx, market: Market) -> None:
    """Refresh the exposure of every account the matching pass touched, in the order it touched them."""
    touched = ctx.touched
    for account_id in touched:
        refresh_exposure(ctx, market, account_id)
    touched.clear()


def rebuild_position(market: Market, account_id: str) -> Position:
    """Recompute an account's position in a market from its orders (after voids and reductions)."""
    pos = market.new_position()
    for order in market.orders.values():
        if order.account_id != account_id:
            continue
        order.reserved_minor = 0
        if order.status in (codes.EXECUTABLE, codes.PENDING):
            pos.reserve(order, unmatched_reserve_minor(order, order.remaining_minor, market.is_line))
        if order.matched_minor:
            for frag in order.fragments:
                pos.add_matched(order, frag.size_minor, frag.price_h)
    market.positions[account_id] = pos
    return pos


def breach(acct: Account, new_total: int) -> str | None:
    """The error a new total exposure causes, if it raises exposure past a limit: the balance or the
    exposure limit (INSUFFICIENT_FUNDS), or the self-imposed loss limit (LOSS_LIMIT_EXCEEDED)."""
    if new_total <= acct.exposure_minor:
        return None  # a bet that lowers exposure is always allowed
    limit = acct.exposure_limit_minor
    if new_total > acct.balance_minor or (limit is not None and new_total > limit):
        return ExecErr.INSUFFICIENT_FUNDS
    loss_limit = acct.loss_limit_minor
    if loss_limit is not None and new_total + acct.losses_since_limit_minor > loss_limit:
        return ExecErr.LOSS_LIMIT_EXCEEDED
    return None


def reserve_batch(ctx: Ctx, market: Market, acct: Account, prepared: list[Prepared]) -> tuple[int, str] | None:
    """Hold the unmatched worst case of a batch; when that breaks a limit, undo and return the index
    of the instruction that broke it and the error."""
    created = acct.account_id not in market.positions
    pos = market.position(acct.account_id)
    old_market = acct.exposure_by_market.get(market.market_id, 0)
    for p in prepared:
        pos.hold(p.index, p.side, p.reserve_minor)
    new_market = pos.exposure_minor(market.active)
    error = breach(acct, acct.exposure_minor - old_market + new_market)
    if error is not None:
        culprit = _unreserve(market, acct, pos, prepared, old_market)
        if created:
            del market.positions[acct.account_id]
        return culprit, error
    if new_market != old_market:
        acct.set_market_exposure(market.market_id, new_market)
    ctx.events.append(FundsChanged(acct.account_id))
    return None


def _unreserve(market: Market, acct: Account, pos: Position, prepared: list[Prepared], old_market: int) -> int:
    """Undo a batch's holds after a breached limit, leaving the position exactly as it was; returns the
    index of the first instruction that broke the limit, for the report."""
    for p in prepared:
        pos.hold(p.index, p.side, -p.reserve_minor)
    culprit = len(prepared) - 1
    for i, p in enumerate(prepared):
        pos.hold(p.index, p.side, p.reserve_minor)
        if breach(acct, acct.exposure_minor - old_market + pos.exposure_minor(market.active)):
            culprit = i
            for q in prepared[: i + 1]:
                pos.hold(q.index, q.side, -q.reserve_minor)
            break
    else:
        for p in prepared:
            pos.hold(p.index, p.side, -p.reserve_minor)
    return culprit
