"""placeOrders: validation, the atomic funds check, the in-play bet delay, and execution (matching,
then resting or killing what is left). Replace's place phase (edits.py) runs through here too.

A rejected batch changes nothing: every instruction is validated first, then the whole batch's worst
case is held (risk.py) before a single order exists.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from . import codes, dedup
from .book import RunnerBook
from .codes import BACK, LAY, ExecErr, InstrErr, Lapse
from .commands import PlaceInstruction, PlaceOrders
from .context import Ctx
from .events import OrderChanged, PlacementCompleted, RunnerChanged
from .market import Market
from .matching import best_offer, fok_plan, match, match_target, target_met, target_size_minor
from .money import CurrencyParams, lay_liability_reserve_minor
from .orders import Order, move_order
from .reports import PlaceExecutionReport, PlaceInstructionReport
from .risk import refresh_exposure, refresh_touched, reserve_batch
from .state import Delayed, Prepared
from .unmatched import reduce_unmatched
from .wallet import Account, AccountStatus, unmatched_reserve_minor

# Limits of 003: instructions per call (L10609-10610), marketVersion length (L9811-9812), the refs.
MAX_PLACE_INSTRUCTIONS: Final = 200
MAX_MARKET_VERSION: Final = 10**12 - 1
MAX_ORDER_REF_CHARS: Final = 32
MAX_STRATEGY_REF_CHARS: Final = 15  # 003:L10624-10629


def place_orders(ctx: Ctx, cmd: PlaceOrders) -> PlaceExecutionReport:
    # each field read once (see Prepared)
    account_id, instructions, customer_ref = cmd.account_id, cmd.instructions, cmd.customer_ref
    state = ctx.state
    market = state.markets.get(cmd.market_id)
    if market is None:
        return place_failure(cmd, ExecErr.INVALID_MARKET_ID)
    acct = state.accounts.get(account_id)
    if acct is None or acct.status != AccountStatus.ACTIVE:
        return place_failure(cmd, ExecErr.INVALID_ACCOUNT_STATE)
    if not instructions:
        return place_failure(cmd, ExecErr.INVALID_ORDER)
    if len(instructions) > MAX_PLACE_INSTRUCTIONS:
        return place_failure(cmd, ExecErr.TOO_MANY_INSTRUCTIONS)
    market_version, strategy_ref = cmd.market_version, cmd.customer_strategy_ref
    if market_version is not None and not 0 <= market_version <= MAX_MARKET_VERSION:
        return place_failure(cmd, ExecErr.INVALID_MARKET_VERSION)
    if strategy_ref is not None and len(strategy_ref) > MAX_STRATEGY_REF_CHARS:
        # "The supplied customer strategy reference is too long" (SportsAPING.xml), for every instruction
        return place_failure(cmd, ExecErr.BET_ACTION_ERROR, dict.fromkeys(
            range(len(instructions)), InstrErr.INVALID_CUSTOMER_STRATEGY_REF))
    if dedup.seen(ctx, "place", account_id, customer_ref):
        return place_failure(cmd, ExecErr.DUPLICATE_TRANSACTION)
    if market.status != codes.OPEN:
        code = ExecErr.MARKET_SUSPENDED if market.status == codes.SUSPENDED else ExecErr.MARKET_NOT_OPEN_FOR_BETTING
        return place_failure(cmd, code, dict.fromkeys(range(len(instructions)), InstrErr.MARKET_NOT_OPEN_FOR_BETTING))
    prepared, errors = prepare(market, state.params, instructions)
    if errors:
        return place_failure(cmd, ExecErr.BET_ACTION_ERROR, errors)
    report = place_prepared(ctx, market, acct, prepared, customer_ref, [strategy_ref] * len(prepared),
                            cmd.source_app_key, market_version, cmd.async_)
    error_code = report.error_code
    if error_code != ExecErr.INSUFFICIENT_FUNDS and error_code != ExecErr.LOSS_LIMIT_EXCEEDED:
        dedup.remember(ctx, "place", account_id, customer_ref)
    return report


def place_failure(cmd: PlaceOrders, error: str, per_instruction: dict[int, str] | None = None) -> PlaceExecutionReport:
    reports = [
        PlaceInstructionReport(
            status=codes.FAILURE,
            instruction=ins,
            error_code=(per_instruction or {}).get(i, InstrErr.ERROR_IN_ORDER),
        )
        for i, ins in enumerate(cmd.instructions)
    ]
    return PlaceExecutionReport(status=codes.FAILURE, error_code=error, market_id=cmd.market_id,
                                customer_ref=cmd.customer_ref, instruction_reports=reports)


# --- validation --------------------------------------------------------------------------------------


def prepare(market: Market, params: CurrencyParams,
            instructions: list[PlaceInstruction]) -> tuple[list[Prepared], dict[int, str]]:
    """Validate every instruction; the prepared ones, and the error of each that failed by index."""
    prepared: list[Prepared] = []
    errors: dict[int, str] = {}
    for i, ins in enumerate(instructions):
        p = validate(market, params, ins)
        if isinstance(p, str):
            errors[i] = p
        else:
            prepared.append(p)
    if not errors and len(prepared) > 1:
        _check_back_lay_overlap(prepared, errors)
    return prepared, errors


def _check_back_lay_overlap(prepared: list[Prepared], errors: dict[int, str]) -> None:
    """A back and a lay on one runner whose prices overlap would match each other (003:L9872-9874)."""
    lowest_back: dict[tuple[int, int], int] = {}
    highest_lay: dict[tuple[int, int], int] = {}
    for i, p in enumerate(prepared):
        if p.order_type == codes.MARKET_ON_CLOSE:
            continue
        if p.side == BACK:
            if p.key in highest_lay and p.price_h <= highest_lay[p.key]:
                errors[i] = InstrErr.INVALID_BACK_LAY_COMBINATION
            lowest_back[p.key] = min(p.price_h, lowest_back.get(p.key, p.price_h))
        else:
            if p.key in lowest_back and p.price_h >= lowest_back[p.key]:
                errors[i] = InstrErr.INVALID_BACK_LAY_COMBINATION
            highest_lay[p.key] = max(p.price_h, highest_lay.get(p.key, p.price_h))


def validate(market: Market, params: CurrencyParams, ins: PlaceInstruction) -> Prepared | str:
    """One instruction's checks, in the order the spec's error codes suggest; returns the first
    InstructionReportErrorCode that applies. Each field of the instruction is read once (see Prepared)."""
    runner = market.runner(ins.selection_id, ins.handicap_h)
    if runner is None or runner.status == codes.REMOVED_VACANT:
        return InstrErr.INVALID_RUNNER
    if runner.status == codes.REMOVED:
        return InstrErr.RUNNER_REMOVED
    order_ref = ins.customer_order_ref
    if order_ref is not None and len(order_ref) > MAX_ORDER_REF_CHARS:
        return InstrErr.INVALID_CUSTOMER_ORDER_REF
    side = ins.side
    if side != BACK and side != LAY:
        return InstrErr.INVALID_BID_TYPE
    order_type = ins.order_type
    p = Prepared(ins, runner.key, runner.index, side, order_type, order_ref)
    if order_type == codes.LIMIT:
        return _validate_limit(market, params, ins, p)
    if order_type == codes.LIMIT_ON_CLOSE or order_type == codes.MARKET_ON_CLOSE:
        return _validate_sp(market, params, ins, p)
    return InstrErr.INVALID_BID_TYPE


def _validate_limit(market: Market, params: CurrencyParams, ins: PlaceInstruction, p: Prepared) -> Prepared | str:
    lo = ins.limit
    if lo is None:
        return InstrErr.INVALID_BID_TYPE
    price_h = lo.price_h
    tick = market.ladder.tick(price_h)
    if tick is None:
        return InstrErr.INVALID_ODDS
    p.price_h = price_h
    p.tick = tick
    time_in_force, given_persistence, min_fill = lo.time_in_force, lo.persistence, lo.min_fill_minor
    p.given_persistence = given_persistence
    if time_in_force is not None:
        if time_in_force != codes.FILL_OR_KILL:
            return InstrErr.TIME_IN_FORCE_CONFLICT
        # LAPSE is ignored with FILL_OR_KILL (003:L10837-10841); anything else is nonsensical
        if given_persistence is not None and given_persistence != codes.LAPSE:
            return InstrErr.UNEXPECTED_PERSISTENCE_TYPE
        p.time_in_force = codes.FILL_OR_KILL
    elif min_fill is not None:
        return InstrErr.UNEXPECTED_MIN_FILL_SIZE
    else:
        error = _validate_persistence(market, given_persistence or codes.LAPSE, p)
        if error is not None:
            return error
    target_type = lo.bet_target_type
    size = _validate_size(market, lo.size_minor, target_type, lo.bet_target_minor, p)
    if isinstance(size, str):
        return size
    # min stake, or min payout for LIMIT orders (003:L10944-10952)
    payout_price_h = 200 if market.is_line else price_h
    if size < params.min_bet_size_minor and size * payout_price_h < params.min_bet_payout_minor * 100:
        return InstrErr.INVALID_BET_SIZE
    if p.time_in_force is not None and min_fill is not None and target_type is None:
        if min_fill <= 0 or min_fill > size or min_fill < params.min_bet_size_minor:
            return InstrErr.INVALID_MIN_FILL_SIZE
        p.min_fill_minor = min_fill
    return p


def _validate_persistence(market: Market, persistence: str, p: Prepared) -> str | None:
    d = market.definition
    if persistence == codes.PERSIST and not d.persistence_enabled:
        return InstrErr.INVALID_PERSISTENCE_TYPE
    if persistence == codes.MARKET_ON_CLOSE and (
        not d.bsp_market or market.is_line or market.inplay or market.bsp_reconciled
    ):
        return InstrErr.INVALID_PERSISTENCE_TYPE
    if persistence not in codes.PERSISTENCE_TYPES:
        return InstrErr.INVALID_PERSISTENCE_TYPE
    p.persistence = persistence
    return None


def _validate_size(market: Market, size_minor: int | None, target_type: str | None, target_minor: int | None,
                   p: Prepared) -> int | str:
    """The stake of a LIMIT instruction (a bet target's at its price), with what it reserves."""
    side, price_h = p.side, p.price_h
    if target_type is not None:
        # size and betTargetType are exclusive; targets are invalid on LINE markets (003:L12338-12358)
        if size_minor is not None or market.is_line or target_type not in (codes.BACKERS_PROFIT, codes.PAYOUT):
            return InstrErr.INVALID_BET_SIZE
        if target_minor is None or target_minor <= 0:
            return InstrErr.INVALID_BET_SIZE
        p.target_type = target_type
        p.target_minor = target_minor
        size = target_size_minor(target_type, target_minor, price_h)
        # a lay's matched liability never exceeds its profit target, nor its payout target
        p.reserve_minor = size if side == BACK else target_minor
        return size
    if size_minor is None or size_minor <= 0:
        return InstrErr.INVALID_BET_SIZE
    p.size_minor = size_minor
    p.reserve_minor = size_minor if (side == BACK or market.is_line) else \
        lay_liability_reserve_minor(size_minor, price_h)
    return size_minor


def _validate_sp(market: Market, params: CurrencyParams, ins: PlaceInstruction, p: Prepared) -> Prepared | str:
    """LIMIT_ON_CLOSE and MARKET_ON_CLOSE: Betfair Starting Price bets (bsp.py)."""
    limit = ins.limit
    if limit is not None and limit.time_in_force is not None:
        return InstrErr.INVALID_ORDER_TYPE
    if not market.definition.bsp_market or market.is_line or market.inplay or market.bsp_reconciled:
        return InstrErr.MARKET_NOT_OPEN_FOR_BSP_BETTING
    if p.order_type == codes.LIMIT_ON_CLOSE:
        loc = ins.limit_on_close
        if loc is None:
            return InstrErr.INVALID_BID_TYPE
        tick = market.ladder.tick(loc.price_h)
        if tick is None:
            return InstrErr.INVALID_ODDS
        p.price_h, p.tick, liability = loc.price_h, tick, loc.liability_minor
    else:
        moc = ins.market_on_close
        if moc is None:
            return InstrErr.INVALID_BID_TYPE
        liability = moc.liability_minor
    # min BSP liability applies to lays; backs use the min bet size (001:L230, 003:L10709-10710)
    minimum = params.min_bsp_liability_minor if p.side == LAY else params.min_bet_size_minor
    if liability <= 0 or liability < minimum:
        return InstrErr.INVALID_BET_SIZE
    p.persistence = codes.MARKET_ON_CLOSE
    p.bsp_liability_minor = liability
    p.reserve_minor = liability
    return p


# --- placing a validated batch -------------------------------------------------------------------------


def place_prepared(ctx: Ctx, market: Market, acct: Account, prepared: list[Prepared], customer_ref: str | None,
                   strategy_refs: list[str | None], app_key: str | None, market_version: int | None,
                   async_: bool) -> PlaceExecutionReport:
    """Funds, version, delay, then execution of an already validated batch (atomic)."""
    breached = reserve_batch(ctx, market, acct, prepared)
    if breached is not None:
        culprit, code = breached
        reports = [
            PlaceInstructionReport(status=codes.FAILURE, instruction=p.instruction,
                                   error_code=code if i == culprit else InstrErr.ERROR_IN_ORDER)
            for i, p in enumerate(prepared)
        ]
        return PlaceExecutionReport(status=codes.FAILURE, error_code=code, market_id=market.market_id,
                                    customer_ref=customer_ref, instruction_reports=reports)
    orders = [_new_order(ctx, market, acct, p, ref, app_key) for p, ref in zip(prepared, strategy_refs)]
    if market_version is not None and market_version < market.min_version:
        return _lapse_old_version(ctx, market, acct, prepared, orders, customer_ref)
    if market.inplay and market.bet_delay_s > 0 and not _passive(market, prepared):
        return _hold_for_delay(ctx, market, acct, prepared, orders, customer_ref, async_)
    execute(ctx, market, acct, prepared, orders)
    return executed_report(market.market_id, customer_ref, prepared, orders, async_)


def _new_order(ctx: Ctx, market: Market, acct: Account, p: Prepared, strategy_ref: str | None,
               app_key: str | None) -> Order:
    key = p.key
    order = Order(ctx.new_bet_id(), acct.account_id, market.market_id, key[0], key[1],
                  p.side, p.order_type, p.persistence, p.price_h, p.tick, p.size_minor, ctx.ts_ms, market.version)
    order.runner_index = p.index
    order.time_in_force = p.time_in_force
    order.bsp_liability_minor = p.bsp_liability_minor
    order.customer_order_ref = p.customer_order_ref or None
    order.customer_strategy_ref = strategy_ref or None
    order.source_app_key = app_key
    order.reserved_minor = p.reserve_minor  # already held by reserve_batch
    ctx.state.orders[order.bet_id] = order
    market.orders[order.bet_id] = order
    return order


def _lapse_old_version(ctx: Ctx, market: Market, acct: Account, prepared: list[Prepared], orders: list[Order],
                       customer_ref: str | None) -> PlaceExecutionReport:
    """Placed against a version older than the last material change: lapsed, with bet ids
    (003:L10898-10909)."""
    for order in orders:
        reduce_unmatched(ctx, market, order, order.remaining_minor, lapse=True, reason=Lapse.MKT_VERSION)
    refresh_exposure(ctx, market, acct.account_id)
    reports = [instruction_report(p, o, codes.FAILURE, InstrErr.BET_TAKEN_OR_LAPSED)
               for p, o in zip(prepared, orders)]
    return PlaceExecutionReport(status=codes.FAILURE, error_code=ExecErr.BET_ACTION_ERROR,
                                market_id=market.market_id, customer_ref=customer_ref,
                                instruction_reports=reports)


def _hold_for_delay(ctx: Ctx, market: Market, acct: Account, prepared: list[Prepared], orders: list[Order],
                    customer_ref: str | None, async_: bool) -> PlaceExecutionReport:
    """In play with a bet delay: the orders wait PENDING until it passes (run_delayed)."""
    for order in orders:
        move_order(order, codes.PENDING)
    token = ctx.new_token()
    due = ctx.ts_ms + market.bet_delay_s * 1000
    delayed = ctx.state.delayed
    delayed.append(Delayed(token, acct.account_id, market.market_id, due, market.suspend_count,
                           market.version, prepared, orders, customer_ref, async_))
    delayed.sort(key=lambda dl: (dl.due_ms, dl.token))
    for order in orders:
        ctx.events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
    reports = [instruction_report(p, o, codes.SUCCESS, None, pending=True) for p, o in zip(prepared, orders)]
    return PlaceExecutionReport(status=codes.SUCCESS, market_id=market.market_id, customer_ref=customer_ref,
                                instruction_reports=reports, delayed_token=token, delayed_until_ms=due)


def _passive(market: Market, prepared: list[Prepared]) -> bool:
    """PASSIVE bet delay model: plain LIMIT orders that cannot match now skip the delay (003:L9958-9966)."""
    if "PASSIVE" not in market.definition.bet_delay_models:
        return False
    for p in prepared:
        lo = p.instruction.limit
        if p.order_type != codes.LIMIT or lo is None or lo.time_in_force or lo.min_fill_minor or lo.bet_target_type:
            return False
        book = market.runner_list[p.index].book
        if p.side == BACK:
            if book.lays.ticks and book.lays.ticks[-1] >= p.tick:
                return False
        elif book.backs.ticks and book.backs.ticks[0] <= p.tick:
            return False
    return True


# --- reports -------------------------------------------------------------------------------------------


def executed_report(market_id: str, customer_ref: str | None, prepared: list[Prepared],
                    orders: list[Order], async_: bool) -> PlaceExecutionReport:
    """The report of an executed batch. Bets the account's best-execution preference lapsed are
    failures, so such a batch is not atomic (003:L10600-10603)."""
    reports = [
        instruction_report(p, o, codes.FAILURE, InstrErr.BET_LAPSED_PRICE_IMPROVEMENT_TOO_LARGE)
        if o.lapse_reason == Lapse.PRICE_IMP_TOO_LARGE else
        instruction_report(p, o, codes.SUCCESS, None, pending=async_)
        for p, o in zip(prepared, orders)
    ]
    status, error_code = batch_status(reports)
    return PlaceExecutionReport(status=status, market_id=market_id, customer_ref=customer_ref,
                                instruction_reports=reports, error_code=error_code)


def instruction_report(p: Prepared, order: Order, status: str, error: str | None,
                       pending: bool = False) -> PlaceInstructionReport:
    echo = p.instruction
    # the echo normalises persistence: a missing one is LAPSE (003:L10927 vs L10932), and it is left
    # out when a time in force is given (003:L10837 vs L10841)
    fok = p.time_in_force is not None
    if p.order_type == codes.LIMIT and (p.given_persistence is not None) == fok:
        lo = echo.limit
        assert lo is not None
        echo = msgspec.structs.replace(echo, limit=msgspec.structs.replace(
            lo, persistence=None if fok else codes.LAPSE))
    if pending:
        return PlaceInstructionReport(status=status, instruction=echo, error_code=error,
                                      order_status=codes.PENDING, bet_id=order.bet_id, placed_ms=order.placed_ms)
    if order.order_type != codes.LIMIT:  # no status or matched size for MOC/LOC (003:L12376-12386)
        return PlaceInstructionReport(status=status, instruction=echo, error_code=error, bet_id=order.bet_id,
                                      placed_ms=order.placed_ms)
    return PlaceInstructionReport(
        status=status, instruction=echo, error_code=error, order_status=order.status, bet_id=order.bet_id,
        placed_ms=order.placed_ms, size_matched_minor=order.matched_minor, matched_value=order.matched_value,
    )


def batch_status(reports: list[Any]) -> tuple[str, str | None]:
    """(status, errorCode): SUCCESS when every instruction succeeded, FAILURE when none did, else
    PROCESSED_WITH_ERRORS (cancel, replace and update are not atomic, 003:L9736-9739). A tuple, not
    keyword arguments, because the reports are built on every placement."""
    ok = 0
    for r in reports:
        if r.status == codes.SUCCESS:
            ok += 1
    if ok == len(reports):
        return codes.SUCCESS, None
    if ok == 0:
        return codes.FAILURE, ExecErr.BET_ACTION_ERROR
    return codes.PROCESSED_WITH_ERRORS, ExecErr.PROCESSED_WITH_ERRORS


# --- execution -----------------------------------------------------------------------------------------


def execute(ctx: Ctx, market: Market, acct: Account, prepared: list[Prepared], orders: list[Order]) -> None:
    """Match each order, then rest what is left (LIMIT) or kill it (FILL_OR_KILL); the exposure of every
    account the batch matched is refreshed once, at the end."""
    events = ctx.events
    mid = market.market_id
    touched = ctx.touched
    for p, order in zip(prepared, orders):
        if p.order_type != codes.LIMIT:  # an SP bet: it changes the runner's projected SP
            events.append(OrderChanged(mid, order.account_id, order.bet_id))
            events.append(RunnerChanged(mid, order.selection_id, order.handicap_h))
            continue
        if p.target_type is not None or p.time_in_force is not None:
            touched[acct.account_id] = None
        book = market.runner_list[p.index].book
        makers: list[Order] = []
        if p.target_type is not None:
            _execute_target(ctx, market, book, order, p, makers)
        elif p.time_in_force is not None:
            _execute_fill_or_kill(ctx, market, book, order, p, makers)
        elif _improvement_too_large(acct, market, book, order):
            reduce_unmatched(ctx, market, order, order.remaining_minor, lapse=True, reason=Lapse.PRICE_IMP_TOO_LARGE)
            touched[acct.account_id] = None
        else:
            match(ctx, market, book, order, order.tick, order.remaining_minor, makers)
        if order.remaining_minor and order.status == codes.EXECUTABLE:
            (book.backs if order.side == BACK else book.lays).add(order)
        if makers or order.status == codes.EXECUTABLE:
            events.append(RunnerChanged(mid, order.selection_id, order.handicap_h))
        events.append(OrderChanged(mid, order.account_id, order.bet_id))
        if makers:
            touched[acct.account_id] = None
            _makers_changed(ctx, market, order, makers)
    refresh_touched(ctx, market)


def _makers_changed(ctx: Ctx, market: Market, taker: Order, makers: list[Order]) -> None:
    """Events of the resting orders a taker matched, and of the other runners its cross-matched legs
    took from."""
    events = ctx.events
    mid = market.market_id
    other_runners: dict[int, Order] = {}
    for maker in makers:
        events.append(OrderChanged(mid, maker.account_id, maker.bet_id))
        if maker.runner_index != taker.runner_index:  # a cross-matched leg
            other_runners[maker.runner_index] = maker
    for maker in other_runners.values():
        events.append(RunnerChanged(mid, maker.selection_id, maker.handicap_h))


def _execute_target(ctx: Ctx, market: Market, book: RunnerBook, order: Order, p: Prepared,
                    makers: list[Order]) -> None:
    """A bet-target order (BACKERS_PROFIT / PAYOUT, 003:L10910-10943): matched level by level until
    its target is met; with FILL_OR_KILL, the whole target or nothing."""
    target_type = p.target_type
    assert target_type is not None
    fok = p.time_in_force is not None
    if fok and not target_met(market, order, target_type, p.target_minor):
        # killed: nothing matches; the order is the target's size at its limit, lapsed
        order.size_minor = order.remaining_minor = target_size_minor(target_type, p.target_minor, order.price_h)
        reduce_unmatched(ctx, market, order, order.remaining_minor, lapse=True, expire=True)
        return
    left = match_target(ctx, market, book, order, target_type, p.target_minor, makers)
    rest = target_size_minor(target_type, left, order.price_h) if left and not fok else 0
    order.remaining_minor = rest
    order.size_minor = order.matched_minor + rest
    if not rest:
        move_order(order, codes.EXECUTION_COMPLETE)
    market.positions[order.account_id].reserve(order, unmatched_reserve_minor(order, rest, market.is_line))


def _execute_fill_or_kill(ctx: Ctx, market: Market, book: RunnerBook, order: Order, p: Prepared,
                          makers: list[Order]) -> None:
    """FILL_OR_KILL (003:L10824-10852): its plan is matched if it reaches the order's size (or its
    minFillSize), and what is left is killed: EXPIRED when nothing matched."""
    total, worst_tick = fok_plan(market, order, p.price_h, order.size_minor, not market.is_line)
    needed = p.min_fill_minor if p.min_fill_minor is not None else order.size_minor
    if total >= needed and total > 0:
        match(ctx, market, book, order, worst_tick, total, makers)
    if order.remaining_minor:
        reduce_unmatched(ctx, market, order, order.remaining_minor, lapse=True, expire=order.matched_minor == 0)


def _improvement_too_large(acct: Account, market: Market, book: RunnerBook, order: Order) -> bool:
    """Would the best price on offer (virtual ones included) beat the order's by more ticks than the
    account accepts?"""
    limit = acct.max_price_improvement_ticks
    if limit is None:
        return False
    best = best_offer(market, book, order)
    if best is None:
        return False
    return (best[0] - order.tick if order.side == BACK else order.tick - best[0]) > limit


# --- the in-play bet delay -----------------------------------------------------------------------------


def run_delayed(ctx: Ctx) -> None:
    """Release placements whose bet delay has passed: they lapse if the market suspended or made a
    material change meanwhile (lapse reasons MKT_SUSPENDED / MKT_VERSION, 003:L6851-6855)."""
    state = ctx.state
    delayed = state.delayed
    while delayed and delayed[0].due_ms <= ctx.ts_ms:
        dl = delayed.pop(0)
        market = state.markets[dl.market_id]
        reason = None
        if market.status != codes.OPEN or market.suspend_count != dl.suspend_count:
            reason = Lapse.MKT_SUSPENDED
        elif market.min_version > dl.placed_version:
            reason = Lapse.MKT_VERSION
        if reason is not None:
            complete_delayed_lapsed(ctx, market, dl, reason)
            continue
        for order in dl.orders:
            if order.status == codes.PENDING:
                move_order(order, codes.EXECUTABLE)
        pairs = [(p, o) for p, o in zip(dl.prepared, dl.orders) if o.status == codes.EXECUTABLE]
        execute(ctx, market, state.accounts[dl.account_id], [p for p, _ in pairs], [o for _, o in pairs])
        report = executed_report(market.market_id, dl.customer_ref, dl.prepared, dl.orders, dl.async_)
        ctx.events.append(PlacementCompleted(dl.token, dl.account_id, report))


def complete_delayed_lapsed(ctx: Ctx, market: Market, dl: Delayed, reason: str) -> None:
    """A delayed placement whose bets lapse: lapse them and emit its final (failure) report."""
    for order in dl.orders:
        if order.status == codes.PENDING:
            reduce_unmatched(ctx, market, order, order.remaining_minor, lapse=True, reason=reason)
    refresh_exposure(ctx, market, dl.account_id)
    reports = [instruction_report(p, o, codes.FAILURE, InstrErr.BET_TAKEN_OR_LAPSED)
               for p, o in zip(dl.prepared, dl.orders)]
    report = PlaceExecutionReport(status=codes.FAILURE, error_code=ExecErr.BET_ACTION_ERROR,
                                  market_id=market.market_id, customer_ref=dl.customer_ref,
                                  instruction_reports=reports)
    ctx.events.append(PlacementCompleted(dl.token, dl.account_id, report))
