"""Settlement, voiding, resettlement and runner removal (rule 7 of the core issue).

Every matched fragment is settled once with a symmetric rounding (money.div_round_half_away), and the
two orders of a match get equal and opposite amounts, so money is conserved exactly. Commission is
the market base rate on an account's net winnings in the market (001:L1063-1124, 003:L3320-3442).
"""

from __future__ import annotations

from . import codes
from .codes import BACK, AdminErr
from .commands import ResettleMarket, RunnerResult, SettleMarket, UnsettleMarket, VoidMarket
from .context import Ctx
from .crossmatch import HOUSE
from .events import FundsChanged, MarketChanged, MarketSettled, OrderChanged, RunnerChanged
from .ledger import RETENTION_MS, ClearedOrder, StatementItem
from .lifecycle import close
from .market import Market, Settlement
from .money import div_round_half_away
from .orders import Order, void_matched
from .reports import OK, AdminResult, admin_error
from .risk import rebuild_position, refresh_exposure

LOSER_RESULT = RunnerResult(selection_id=0, status=codes.LOSER, win_quarters=0, void_quarters=0)
LEGACY_MARKET_TYPE = {codes.ODDS: "O", codes.LINE: "L", codes.ASIAN_HANDICAP_DOUBLE_LINE: "A",
                      codes.ASIAN_HANDICAP_SINGLE_LINE: "A", "RANGE": "R"}


def back_profit_minor(size_minor: int, price_h: int, result: RunnerResult) -> int:
    """A back fragment's profit: win_quarters/4 of the stake wins at full odds divided by the dead
    heat divisor, void_quarters/4 is refunded, the rest is lost. A lay fragment gets the negation."""
    num, den = result.dead_heat_num, result.dead_heat_den
    lose_q = 4 - result.win_quarters - result.void_quarters
    numerator = size_minor * result.win_quarters * (price_h * den - 100 * num) - size_minor * lose_q * 100 * num
    return div_round_half_away(numerator, 400 * num)


def line_back_profit_minor(size_minor: int, line_h: int, outcome_h: int) -> int:
    """LINE: BACK (sell) wins if the outcome is below the line, loses above it, void on it; settled
    at evens (003:L9646-9653, L12307-12311)."""
    if outcome_h < line_h:
        return size_minor
    if outcome_h > line_h:
        return -size_minor
    return 0


def asian_handicap_result(selection_id: int, handicap_h: int, margin: int) -> RunnerResult:
    """Result of an Asian handicap runner given its team's goal margin (own goals - opponent's).
    Quarter lines split the stake over the two neighbouring half/whole lines."""
    assert handicap_h % 25 == 0, "Asian handicaps are in quarters"
    lines = [handicap_h - 25, handicap_h + 25] if handicap_h % 50 else [handicap_h, handicap_h]
    win_q = void_q = 0
    for line in lines:
        adjusted = margin * 100 + line
        if adjusted > 0:
            win_q += 2
        elif adjusted == 0:
            void_q += 2
    status = codes.WINNER if win_q >= 2 else codes.LOSER
    return RunnerResult(selection_id=selection_id, handicap_h=handicap_h, status=status,
                        win_quarters=win_q, void_quarters=void_q)


def _validate_results(market: Market, cmd: SettleMarket, settled_already: bool = False) -> str | None:
    """`settled_already`: checking a resettlement, where a result status stands in for ACTIVE."""
    if market.is_line:
        if cmd.line_outcome_h is None:
            return "a LINE market settles with lineOutcome"
        return None
    seen = set()
    for r in cmd.results:
        runner = market.runners.get((r.selection_id, r.handicap_h))
        if runner is None:
            return f"no runner {r.selection_id}/{r.handicap_h}"
        if runner.status in (codes.REMOVED, codes.REMOVED_VACANT) or \
                (runner.status != codes.ACTIVE and not settled_already):
            return f"runner {r.selection_id} was removed"
        if runner.key in seen:
            return f"runner {r.selection_id} given twice"
        seen.add(runner.key)
        if r.status not in (codes.WINNER, codes.LOSER, codes.PLACED):
            return f"runner status {r.status} is not a result"
        if not (r.win_quarters >= 0 and r.void_quarters >= 0 and r.win_quarters + r.void_quarters <= 4):
            return "win and void quarters must add up to at most 4"
        if r.dead_heat_num < 1 or r.dead_heat_den < 1 or r.dead_heat_den > r.dead_heat_num:
            return "a dead heat divisor is num/den >= 1"
    winners = sum(1 for r in cmd.results if r.status == codes.WINNER)
    if market.definition.betting_type == codes.ODDS and winners > max(market.definition.number_of_winners, 1) \
            and all(r.dead_heat_num == 1 for r in cmd.results):
        return "more winners than numberOfWinners without a dead heat"
    return None


def settle_market(ctx: Ctx, cmd: SettleMarket, market: Market) -> AdminResult:
    return settle(ctx, market, cmd)


def void_market(ctx: Ctx, cmd: VoidMarket, market: Market) -> AdminResult:
    return void(ctx, market)


def unsettle_market(ctx: Ctx, cmd: UnsettleMarket, market: Market) -> AdminResult:
    return unsettle(ctx, market)


def resettle_market(ctx: Ctx, cmd: ResettleMarket, market: Market) -> AdminResult:
    return resettle(ctx, market, SettleMarket(market_id=cmd.market_id, results=cmd.results,
                                              line_outcome_h=cmd.line_outcome_h))


def settle(ctx: Ctx, market: Market, cmd: SettleMarket) -> AdminResult:
    """Settle a market with its results: every matched fragment once, commission on net winnings."""
    if market.status == codes.INACTIVE:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "an inactive market has nothing to settle")
    if market.settled:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "market is settled already (unsettle first)")
    problem = _validate_results(market, cmd)
    if problem:
        return admin_error(AdminErr.INVALID_RESULT, problem)
    if market.status != codes.CLOSED:
        close(ctx, market)
    results = _set_results(ctx, market, cmd)
    settlement_id = ctx.new_settlement_id()
    record = Settlement()
    bet_rows: dict[str, list[tuple[Order, int]]] = {}
    for order in market.orders.values():
        if order.matched_minor:
            bet_rows.setdefault(order.account_id, []).append((order, _order_profit(market, order, results, cmd)))
        _cleared_rows(ctx, market, order, settlement_id, bet_rows)
    for account_id, rows in bet_rows.items():
        _pay_account(ctx, market, record, account_id, rows, settlement_id)
    _finish(ctx, market, record, voided=False)
    return OK


def _set_results(ctx: Ctx, market: Market, cmd: SettleMarket) -> dict[tuple[int, int], RunnerResult]:
    """Each runner's result (LOSER if not named); removed runners keep their status."""
    results = {(r.selection_id, r.handicap_h): r for r in cmd.results}
    for runner in market.runners.values():
        if runner.status in (codes.REMOVED, codes.REMOVED_VACANT):
            continue
        runner.result = results.get(runner.key)
        runner.status = runner.result.status if runner.result else codes.LOSER
        ctx.events.append(RunnerChanged(market.market_id, runner.selection_id, runner.handicap_h))
    market.line_outcome_h = cmd.line_outcome_h
    return results


def _order_profit(market: Market, order: Order, results: dict[tuple[int, int], RunnerResult],
                  cmd: SettleMarket) -> int:
    result = results.get(order.key, LOSER_RESULT)
    profit = 0
    for frag in order.fragments:
        if market.is_line:
            p = line_back_profit_minor(frag.size_minor, frag.price_h, cmd.line_outcome_h or 0)
        else:
            p = back_profit_minor(frag.size_minor, frag.price_h, result)
        profit += p if order.side == BACK else -p
    return profit


def _pay_account(ctx: Ctx, market: Market, record: Settlement, account_id: str, rows: list[tuple[Order, int]],
                 settlement_id: int) -> None:
    """Pay one account its bets' profits and take commission on its net winnings in the market."""
    state = ctx.state
    acct = state.accounts[account_id]
    d = market.definition
    refs = record.statement_refs.setdefault(account_id, [])
    net = 0
    for order, profit in rows:
        net += profit
        acct.balance_minor += profit
        refs.append(_bet_statement(ctx, market, order, profit, settlement_id, acct.balance_minor))
    # the cross-matching book pays no commission (crossmatch.py)
    commission = div_round_half_away(net * d.market_base_rate_bp, 10_000) if net > 0 and account_id != HOUSE else 0
    if commission:
        acct.balance_minor -= commission
        acct.commission_paid_minor += commission
        state.commission_collected_minor += commission
        # the commission row carries the ref and placed date of a bet, no selection (001:L1062-1124)
        first = rows[0][0]
        state.ledger.add_statement(account_id, StatementItem(
            ref_id=str(first.bet_id), item_ms=ctx.ts_ms, amount_minor=-commission, balance_minor=acct.balance_minor,
            transaction_type="ACCOUNT_DEBIT", win_lose="RESULT_NOT_APPLICABLE", settlement_id=settlement_id,
            market_id=market.market_id, event_id=d.event_id, event_type_id=d.event_type_id,
            market_name=d.name, full_market_name=_full_name(market), placed_ms=first.placed_ms,
            market_type=LEGACY_MARKET_TYPE.get(d.betting_type, "O"), start_ms=d.market_time_ms,
            bet_type="B" if first.side == BACK else "L",
            commission_rate_bp=d.market_base_rate_bp, gross_bet_amount_minor=net, bet_category_type="NONE"))
        refs.append(first.bet_id)
    acct.settled_pnl_minor += net - commission
    record.net_minor[account_id] = net
    record.commission_minor[account_id] = commission
    state.ledger.market_commission[(account_id, market.market_id)] = commission


def _finish(ctx: Ctx, market: Market, record: Settlement, voided: bool) -> None:
    """After a settlement or a void: positions cleared, the market settled, history pruned."""
    for account_id in list(market.positions):
        market.positions[account_id] = market.new_position()
        refresh_exposure(ctx, market, account_id)
    market.settlement = record
    market.settled = True
    if voided:
        market.voided = True
    market.settled_ms = ctx.ts_ms
    market.bump_version(material=True)
    ctx.events.append(MarketChanged(market.market_id))
    ctx.events.append(MarketSettled(market.market_id))
    _prune(ctx)


def _full_name(market: Market) -> str:
    d = market.definition
    return f"{d.event_type_name} / {d.event_name} / {d.name}"


def _bet_statement(ctx: Ctx, market: Market, order: Order, profit: int, settlement_id: int,
                   balance_minor: int) -> int:
    d = market.definition
    runner = market.runners[order.key]
    ref = order.bet_id
    ctx.state.ledger.add_statement(order.account_id, StatementItem(
        ref_id=str(ref), item_ms=ctx.ts_ms, amount_minor=profit, balance_minor=balance_minor,
        transaction_type="ACCOUNT_CREDIT" if profit >= 0 else "ACCOUNT_DEBIT",
        win_lose="RESULT_WON" if profit > 0 else ("RESULT_LOST" if profit < 0 else "RESULT_NOT_APPLICABLE"),
        settlement_id=settlement_id, market_id=market.market_id, event_id=d.event_id, event_type_id=d.event_type_id,
        market_name=d.name, full_market_name=_full_name(market), market_type=LEGACY_MARKET_TYPE.get(d.betting_type, "O"),
        selection_id=order.selection_id, selection_name=runner.definition.name, handicap_h=order.handicap_h,
        placed_ms=order.placed_ms, start_ms=d.market_time_ms, avg_price_h=order.avg_price_matched_h(),
        bet_size_minor=order.matched_minor, bet_type="B" if order.side == BACK else "L",
        bet_category_type={"LIMIT": "E", "MARKET_ON_CLOSE": "M", "LIMIT_ON_CLOSE": "L"}[order.order_type]))
    return ref


def _cleared_row(ctx: Ctx, market: Market, order: Order, settlement_id: int, status: str, size_settled: int,
                 size_cancelled: int, profit_minor: int, outcome: str | None) -> None:
    d = market.definition
    ts_ms = ctx.ts_ms
    ctx.state.ledger.add_cleared(ClearedOrder(
        bet_id=order.bet_id, account_id=order.account_id, market_id=market.market_id,
        event_type_id=d.event_type_id, event_id=d.event_id, selection_id=order.selection_id,
        handicap_h=order.handicap_h, side=order.side, bet_status=status, placed_ms=order.placed_ms,
        settled_ms=ts_ms, order_type=order.order_type,
        persistence=None if order.order_type != codes.LIMIT and order.persistence == codes.MARKET_ON_CLOSE
        and order.price_h == 0 else order.persistence,
        price_requested_h=order.price_h, price_matched_h=order.avg_price_matched_h(),
        size_settled_minor=size_settled, size_cancelled_minor=size_cancelled, profit_minor=profit_minor,
        bet_outcome=outcome, last_matched_ms=order.matched_ms, price_reduced=order.price_reduced,
        settlement_id=settlement_id, customer_order_ref=order.customer_order_ref,
        customer_strategy_ref=order.customer_strategy_ref, source_app_key=order.source_app_key,
        voided_ms=ts_ms if status == codes.VOIDED else None))


def _cleared_rows(ctx: Ctx, market: Market, order: Order, settlement_id: int,
                  bet_rows: dict[str, list[tuple[Order, int]]]) -> None:
    """The order's rows of listClearedOrders: one per bet status its size ended in."""
    if order.matched_minor:
        profit = bet_rows[order.account_id][-1][1]
        runner = market.runners[order.key]
        won = profit > 0
        outcome = ("PLACED" if runner.status == codes.PLACED and won else "WON") if won else "LOST"
        _cleared_row(ctx, market, order, settlement_id, codes.SETTLED, order.matched_minor, 0, profit, outcome)
    if order.voided_minor:
        _cleared_row(ctx, market, order, settlement_id, codes.VOIDED, order.voided_minor, 0, 0, None)
    if order.lapsed_minor:
        _cleared_row(ctx, market, order, settlement_id, codes.LAPSED, 0, order.lapsed_minor, 0, None)
    if order.cancelled_minor:
        _cleared_row(ctx, market, order, settlement_id, codes.CANCELLED, 0, order.cancelled_minor, 0, None)


def resettle(ctx: Ctx, market: Market, cmd: SettleMarket) -> AdminResult:
    """Unsettle then settle with the corrected results, checked first so that it is both or neither."""
    if not market.settled or market.voided or market.settlement is None:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "market is not settled (or was voided)")
    problem = _validate_results(market, cmd, settled_already=True)
    if problem:
        return admin_error(AdminErr.INVALID_RESULT, problem)
    undone = unsettle(ctx, market)
    assert undone.ok, undone
    return settle(ctx, market, cmd)


def void(ctx: Ctx, market: Market) -> AdminResult:
    """Void the whole market: matched bets void, unmatched lapse, no money moves. Final."""
    if market.status == codes.INACTIVE or market.settled:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "market is inactive or settled")
    if market.status != codes.CLOSED:
        close(ctx, market)
    settlement_id = ctx.new_settlement_id()
    for order in market.orders.values():
        if order.matched_minor:
            void_matched(order, ctx.ts_ms)
            ctx.events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
        _cleared_rows(ctx, market, order, settlement_id, {})
    _finish(ctx, market, Settlement(), voided=True)
    return OK


def unsettle(ctx: Ctx, market: Market) -> AdminResult:
    """Reverse a settlement exactly (001:L1188-1376): earlier rows become RESULT_ERR, new RESULT_FIX
    rows and a COMMISSION_REVERSAL undo the money; the market stays CLOSED awaiting resettlement."""
    if not market.settled or market.voided or market.settlement is None:
        return admin_error(AdminErr.INVALID_STATE_TRANSITION, "market is not settled (or was voided)")
    record = market.settlement
    for account_id, refs in record.statement_refs.items():
        originals = _reverse_bets(ctx, market, account_id, refs)
        _reverse_commission(ctx, market, record, account_id, originals)
        ctx.state.ledger.market_commission.pop((account_id, market.market_id), None)
        ctx.events.append(FundsChanged(account_id))
    for runner in market.runners.values():
        if runner.status not in (codes.REMOVED, codes.REMOVED_VACANT):
            runner.status = codes.ACTIVE
            runner.result = None
    market.settled = False
    market.settlement = None
    market.settled_ms = None
    market.line_outcome_h = None
    # in order of first bet, not a set's: a set of strings iterates in an order that changes with the
    # process's hash seed, and with it the order of the events
    for account_id in dict.fromkeys(o.account_id for o in market.orders.values() if o.matched_minor):
        rebuild_position(market, account_id)
        refresh_exposure(ctx, market, account_id)
    # the cleared orders of that settlement go; resettlement writes them again
    for rows in ctx.state.ledger.cleared.values():
        rows[:] = [r for r in rows if r.market_id != market.market_id]
    market.bump_version(material=True)
    ctx.events.append(MarketChanged(market.market_id))
    return OK


def _reverse_bets(ctx: Ctx, market: Market, account_id: str, refs: list[int]) -> list[StatementItem]:
    """Mark the account's statement items of the settlement RESULT_ERR and write a RESULT_FIX for each
    bet's; returns the original items (the commission's among them)."""
    acct = ctx.state.accounts[account_id]
    ledger = ctx.state.ledger
    items = ledger.statements.get(account_id, [])
    wanted = {str(r) for r in refs}
    originals = [i for i in items if i.ref_id in wanted and i.market_id == market.market_id
                 and i.win_lose != "RESULT_FIX" and i.win_lose != "RESULT_ERR"]
    for item in originals:
        item.win_lose = "RESULT_ERR"
    for item in originals:
        if item.commission_rate_bp is not None:
            continue
        acct.balance_minor -= item.amount_minor
        ledger.add_statement(account_id, StatementItem(
            ref_id=item.ref_id, item_ms=ctx.ts_ms, amount_minor=-item.amount_minor, balance_minor=acct.balance_minor,
            transaction_type="ACCOUNT_DEBIT" if item.amount_minor > 0 else "ACCOUNT_CREDIT",
            win_lose="RESULT_FIX", settlement_id=item.settlement_id, market_id=item.market_id,
            event_id=item.event_id, event_type_id=item.event_type_id, market_name=item.market_name,
            full_market_name=item.full_market_name, market_type=item.market_type,
            placed_ms=ctx.ts_ms, start_ms=item.start_ms, bet_type=item.bet_type, bet_category_type="E"))
    return originals


def _reverse_commission(ctx: Ctx, market: Market, record: Settlement, account_id: str,
                        originals: list[StatementItem]) -> None:
    """Give back the commission of the settlement (COMMISSION_REVERSAL) and undo its settled P&L."""
    state = ctx.state
    acct = state.accounts[account_id]
    commission = record.commission_minor.get(account_id, 0)
    acct.settled_pnl_minor -= record.net_minor.get(account_id, 0) - commission
    if not commission:
        return
    acct.balance_minor += commission
    acct.commission_paid_minor -= commission
    state.commission_collected_minor -= commission
    c_item = next((i for i in originals if i.commission_rate_bp is not None), None)
    d = market.definition
    state.ledger.add_statement(account_id, StatementItem(
        ref_id=c_item.ref_id if c_item else "0", item_ms=ctx.ts_ms, amount_minor=commission,
        balance_minor=acct.balance_minor, transaction_type="COMMISSION_REVERSAL", win_lose="RESULT_FIX",
        market_id=market.market_id, event_id=d.event_id, event_type_id=d.event_type_id, market_name=d.name,
        full_market_name=_full_name(market), placed_ms=ctx.ts_ms, bet_category_type="E",
        market_type=LEGACY_MARKET_TYPE.get(d.betting_type, "O"), start_ms=d.market_time_ms,
        bet_type=c_item.bet_type if c_item else "B", settlement_id=c_item.settlement_id if c_item else 0))


def _prune(ctx: Ctx) -> None:
    """Keep 90 days of history: cleared orders, statements and settled markets (003:L11221-11224)."""
    state = ctx.state
    state.ledger.prune(ctx.ts_ms)
    horizon = ctx.ts_ms - RETENTION_MS
    old = [m for m in state.markets.values() if m.settled and m.settled_ms is not None and m.settled_ms < horizon]
    for market in old:
        for bet_id in market.orders:
            state.orders.pop(bet_id, None)
        del state.markets[market.market_id]
