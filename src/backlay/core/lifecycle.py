"""A market's life: suspend and reopen, turn in-play, close, and runner removals (003:L9614-9620,
L9822-9829, L6729-6757). Material changes lapse the unmatched bets they must; a BSP market is
reconciled when it turns in-play, or at the latest when it closes."""

from __future__ import annotations

from collections.abc import Callable

from . import bsp, codes
from .codes import AdminErr, Lapse
from .commands import CloseMarket, RemoveRunner, SetMarketStatus, TurnInPlay
from .context import Ctx
from .events import MarketChanged, OrderChanged, RunnerChanged
from .market import Market, Runner, move_market
from .money import div_round_half_away
from .orders import Fragment, Order, void_matched
from .placing import complete_delayed_lapsed
from .reports import OK, AdminResult, admin_error
from .risk import rebuild_position, refresh_exposure
from .unmatched import reduce_unmatched

# What an operator may move a market to with SetMarketStatus, and from where (turn-in-play, close and
# settle have commands of their own).
STATUS_COMMAND_FROM = {codes.OPEN: (codes.INACTIVE, codes.SUSPENDED), codes.SUSPENDED: (codes.INACTIVE, codes.OPEN)}


def survives_material_event(order: Order) -> bool:
    """Unmatched bets a material event (turn in-play, a goal) leaves alone: all but LAPSE LIMIT bets
    (003:L9822-9829)."""
    return order.order_type != codes.LIMIT or order.persistence != codes.LAPSE


def lapse_unmatched(ctx: Ctx, market: Market, keep: Callable[[Order], bool] | None = None) -> None:
    """Lapse every unmatched order in the market except those `keep` keeps, pending delayed ones
    included."""
    state = ctx.state
    for dl in [d for d in state.delayed if d.market_id == market.market_id]:
        state.delayed.remove(dl)
        complete_delayed_lapsed(ctx, market, dl, Lapse.MKT_SUSPENDED)
    touched: dict[str, None] = {}
    for order in market.orders.values():
        if order.status == codes.EXECUTABLE and (keep is None or not keep(order)):
            reduce_unmatched(ctx, market, order, order.remaining_minor, lapse=True)
            touched[order.account_id] = None
    for account_id in touched:
        refresh_exposure(ctx, market, account_id)


def set_market_status(ctx: Ctx, cmd: SetMarketStatus, market: Market) -> AdminResult:
    if cmd.status not in STATUS_COMMAND_FROM or market.status not in STATUS_COMMAND_FROM[cmd.status]:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION,
                           f"cannot go from {market.status} to {cmd.status} (use turn-in-play, close, settle)")
    previous = market.status
    move_market(market, cmd.status)
    if cmd.status == codes.SUSPENDED:
        market.suspend_count += 1
        market.suspend_reason = cmd.suspend_reason
        if cmd.material:
            lapse_unmatched(ctx, market, keep=survives_material_event)
    else:
        market.suspend_reason = None
    # activation sets the minimum accepted version too (the table at 003:L10866)
    market.bump_version(material=cmd.material or previous == codes.INACTIVE)
    ctx.events.append(MarketChanged(cmd.market_id))
    return OK


def turn_in_play(ctx: Ctx, cmd: TurnInPlay, market: Market) -> AdminResult:
    """Turn in-play (003:L9822-9829): LAPSE bets lapse, PERSIST bets stay, MARKET_ON_CLOSE remainders
    go to the SP auction; a material change."""
    if market.inplay or market.status not in (codes.OPEN, codes.SUSPENDED):
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "market is in-play already, or not open/suspended")
    if not market.definition.turn_in_play_enabled:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "turnInPlayEnabled is false for this market")
    if cmd.bet_delay_s < 0 or cmd.bet_delay_s > 60:
        return admin_error(AdminErr.INVALID_MARKET_DEFINITION, "betDelay must be 0..60 seconds")
    market.suspend_count += 1
    lapse_unmatched(ctx, market, keep=survives_material_event)
    if market.definition.bsp_market:
        # MARKET_ON_CLOSE remainders join the auction, which is reconciled now (003:L11137-11138)
        bsp.join_auction(ctx, market)
        bsp.reconcile(ctx, market)
    market.inplay = True
    market.bet_delay_s = cmd.bet_delay_s
    market.bump_version(material=True)
    ctx.events.append(MarketChanged(cmd.market_id))
    return OK


def close_market(ctx: Ctx, cmd: CloseMarket, market: Market) -> AdminResult:
    if market.status == codes.CLOSED:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "market is closed already")
    close(ctx, market)
    return OK


def close(ctx: Ctx, market: Market) -> None:
    """No more betting: a BSP market that never turned in-play is reconciled now, then every
    unmatched bet lapses; awaiting settlement."""
    if market.definition.bsp_market and not market.bsp_reconciled:
        bsp.join_auction(ctx, market)
        bsp.reconcile(ctx, market)
    lapse_unmatched(ctx, market)
    move_market(market, codes.CLOSED)
    market.closed_ms = ctx.ts_ms
    market.bump_version(material=True)
    ctx.events.append(MarketChanged(market.market_id))


# --- runner removal (non-runners) ----------------------------------------------------------------------


def remove_runner(ctx: Ctx, cmd: RemoveRunner, market: Market) -> AdminResult:
    runner = market.runners.get((cmd.selection_id, cmd.handicap_h))
    if runner is None:
        return admin_error(AdminErr.NO_SUCH_RUNNER, f"no runner {cmd.selection_id}/{cmd.handicap_h}")
    if market.status in (codes.INACTIVE, codes.CLOSED) or runner.status != codes.ACTIVE:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "runner is not active or market is not live")
    for v in (cmd.adjustment_factor_bp, cmd.reduction_factor_bp):
        if v is not None and not 0 <= v < 10_000:
            return admin_error(AdminErr.INVALID_RESULT, "factors are percentages in [0, 100)")
    _remove(ctx, market, runner, cmd)
    return OK


def _remove(ctx: Ctx, market: Market, runner: Runner, cmd: RemoveRunner) -> None:
    """Non-runner (003:L6729-6757, L10884-10891): matched bets on it void, unmatched bets in the
    market lapse, matched prices on the others are reduced: new = 1 + (old - 1) * (1 - R)."""
    runner.status = codes.REMOVED_VACANT if cmd.vacant else codes.REMOVED
    runner.adjustment_factor_bp = cmd.adjustment_factor_bp
    runner.removal_ms = ctx.ts_ms
    market.refresh_active()
    market.suspend_count += 1
    reduction_bp = cmd.reduction_factor_bp
    if reduction_bp is None:
        af = cmd.adjustment_factor_bp or 0
        reduction_bp = af if af >= 250 else 0
    # unmatched exchange bets lapse; SP bets on the other runners stay in the auction, which is matched
    # after the removal and so needs no reduction
    lapse_unmatched(ctx, market, keep=lambda o: o.order_type != codes.LIMIT and o.key != runner.key)
    for order in market.orders.values():
        if order.key == runner.key:
            if order.matched_minor:
                void_matched(order, ctx.ts_ms)
                ctx.events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
        elif reduction_bp and order.matched_minor:
            _reduce_prices(market, order, reduction_bp)
            ctx.events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
    for account_id in list(market.positions):
        rebuild_position(market, account_id)
        refresh_exposure(ctx, market, account_id)
    market.bump_version(material=True)
    for r in market.runners.values():
        ctx.events.append(RunnerChanged(market.market_id, r.selection_id, r.handicap_h))
    ctx.events.append(MarketChanged(market.market_id))


def _reduce_prices(market: Market, order: Order, reduction_bp: int) -> None:
    """Rule 4: each matched fragment's price is reduced by the removed runner's factor, and the traded
    volume moves with it (once per match: the back's side)."""
    book = market.runner_list[order.runner_index].book
    value = 0
    new_frags = []
    for frag in order.fragments:
        new_price = 100 + div_round_half_away((frag.price_h - 100) * (10_000 - reduction_bp), 10_000)
        if order.side == codes.BACK:
            book.traded[frag.price_h] -= frag.size_minor
            if not book.traded[frag.price_h]:
                del book.traded[frag.price_h]
            book.traded[new_price] = book.traded.get(new_price, 0) + frag.size_minor
        new_frags.append(Fragment(frag.match_id, new_price, frag.size_minor, frag.matched_ms))
        value += frag.size_minor * new_price
    order.fragments = tuple(new_frags)
    order.matched_value = value
    order.price_reduced = True
