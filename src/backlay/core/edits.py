"""cancelOrders, replaceOrders and updateOrders: edits of unmatched bets (003:L9730-9866). None of
them is atomic over its instructions (003:L9736-9739), but each instruction is: replace's place phase
runs through placing.py as one atomic batch."""

from __future__ import annotations

from typing import Final

from . import codes, dedup
from .codes import BACK, LAY, ExecErr, InstrErr
from .commands import (
    CancelInstruction,
    CancelOrders,
    LimitOnCloseOrder,
    LimitOrder,
    PlaceInstruction,
    ReplaceInstruction,
    ReplaceOrders,
    UpdateOrders,
)
from .context import Ctx
from .events import OrderChanged
from .market import Market
from .orders import Order
from .placing import MAX_MARKET_VERSION, batch_status, place_prepared, prepare
from .reports import (
    CancelExecutionReport,
    CancelInstructionReport,
    PlaceExecutionReport,
    PlaceInstructionReport,
    ReplaceExecutionReport,
    ReplaceInstructionReport,
    UpdateExecutionReport,
    UpdateInstructionReport,
)
from .risk import refresh_exposure
from .unmatched import reduce_unmatched
from .wallet import AccountStatus

MAX_EDIT_INSTRUCTIONS: Final = 60  # 003:L10056-10057, L11156-11158, L11186-11188


def bet_error(order: Order | None, account_id: str, market: Market) -> str | None:
    """Why an instruction cannot edit this bet, if it cannot."""
    if order is None or order.account_id != account_id or order.market_id != market.market_id:
        return InstrErr.INVALID_BET_ID
    if order.status == codes.PENDING:
        return InstrErr.BET_IN_PROGRESS
    if order.order_type != codes.LIMIT or order.remaining_minor == 0 or order.status != codes.EXECUTABLE:
        return InstrErr.BET_TAKEN_OR_LAPSED
    return None


def _edit_refusal(ctx: Ctx, op: str, market: Market, account_id: str, bet_ids: list[int],
                  customer_ref: str | None, market_version: int | None = None) -> tuple[str, str] | None:
    """The request-level checks replaceOrders and updateOrders share, in their order: the execution
    error, and every instruction's, of a request refused whole."""
    if not bet_ids:
        return ExecErr.INVALID_ORDER, InstrErr.ERROR_IN_ORDER
    if len(bet_ids) > MAX_EDIT_INSTRUCTIONS:
        return ExecErr.TOO_MANY_INSTRUCTIONS, InstrErr.ERROR_IN_ORDER
    if market_version is not None and not 0 <= market_version <= MAX_MARKET_VERSION:
        return ExecErr.INVALID_MARKET_VERSION, InstrErr.ERROR_IN_ORDER
    if len(set(bet_ids)) != len(bet_ids):
        return ExecErr.DUPLICATE_BETIDS, InstrErr.ERROR_IN_ORDER
    if dedup.seen(ctx, op, account_id, customer_ref):
        return ExecErr.DUPLICATE_TRANSACTION, InstrErr.ERROR_IN_ORDER
    if market.status != codes.OPEN:  # editing a bet on a market not open (003:L9857)
        code = ExecErr.MARKET_SUSPENDED if market.status == codes.SUSPENDED else ExecErr.MARKET_NOT_OPEN_FOR_BETTING
        return code, InstrErr.MARKET_NOT_OPEN_FOR_BETTING
    return None


# --- cancelOrders --------------------------------------------------------------------------------------


def _cancel_failure(cmd: CancelOrders, code: str) -> CancelExecutionReport:
    reports = [CancelInstructionReport(status=codes.FAILURE, instruction=ins, error_code=InstrErr.ERROR_IN_ORDER)
               for ins in cmd.instructions or []]
    return CancelExecutionReport(status=codes.FAILURE, error_code=code, market_id=cmd.market_id,
                                 customer_ref=cmd.customer_ref, instruction_reports=reports)


def cancel_orders(ctx: Ctx, cmd: CancelOrders) -> CancelExecutionReport:
    # the command's fields are read once: each read of a msgspec field costs a generic attribute
    # look-up in the compiled core
    account_id, market_id, instructions, customer_ref = (
        cmd.account_id, cmd.market_id, cmd.instructions, cmd.customer_ref)
    state = ctx.state
    if account_id not in state.accounts:
        return _cancel_failure(cmd, ExecErr.INVALID_ACCOUNT_STATE)
    if dedup.seen(ctx, "cancel", account_id, customer_ref):
        return _cancel_failure(cmd, ExecErr.DUPLICATE_TRANSACTION)
    if market_id is None:
        if instructions:
            return _cancel_failure(cmd, ExecErr.INVALID_MARKET_ID)
        # account-level cancel-all: no instruction reports (003:L12409-12410)
        for each in state.markets.values():
            cancel_all_in_market(ctx, each, account_id)
        dedup.remember(ctx, "cancel", account_id, customer_ref)
        return CancelExecutionReport(status=codes.SUCCESS, market_id=None, customer_ref=customer_ref,
                                     instruction_reports=[])
    market = state.markets.get(market_id)
    if market is None:
        return _cancel_failure(cmd, ExecErr.INVALID_MARKET_ID)
    if instructions is None:
        reports = cancel_all_in_market(ctx, market, account_id)
        dedup.remember(ctx, "cancel", account_id, customer_ref)
        return CancelExecutionReport(status=codes.SUCCESS, market_id=market_id, customer_ref=customer_ref,
                                     instruction_reports=reports)
    if len(instructions) > MAX_EDIT_INSTRUCTIONS:
        return _cancel_failure(cmd, ExecErr.TOO_MANY_INSTRUCTIONS)
    ids = [ins.bet_id for ins in instructions]
    if len(ids) > 1 and len(set(ids)) != len(ids):
        return _cancel_failure(cmd, ExecErr.DUPLICATE_BETIDS)
    found: list[Order | None] = []
    for bet_id in ids:
        o = state.orders.get(bet_id)
        if o is not None and o.account_id == account_id and o.market_id != market_id:
            return _cancel_failure(cmd, ExecErr.INVALID_ORDER)
        found.append(o)
    reports = [_cancel_one(ctx, market, account_id, ins, order) for ins, order in zip(instructions, found)]
    refresh_exposure(ctx, market, account_id)
    status, error_code = batch_status(reports)
    if reports and status != codes.FAILURE:  # a request that changed nothing keeps its ref
        dedup.remember(ctx, "cancel", account_id, customer_ref)
    return CancelExecutionReport(status=status, error_code=error_code, market_id=market_id,
                                 customer_ref=customer_ref, instruction_reports=reports)


def _cancel_one(ctx: Ctx, market: Market, account_id: str, ins: CancelInstruction,
                order: Order | None) -> CancelInstructionReport:
    error = bet_error(order, account_id, market)
    reduction = ins.size_reduction_minor
    if error is None and reduction is not None and reduction <= 0:
        error = InstrErr.INVALID_BET_SIZE
    if error is not None or order is None:
        return CancelInstructionReport(status=codes.FAILURE, instruction=ins, error_code=error or InstrErr.INVALID_BET_ID)
    by = order.remaining_minor if reduction is None else reduction
    done = reduce_unmatched(ctx, market, order, by, lapse=False)
    return CancelInstructionReport(status=codes.SUCCESS, instruction=ins, size_cancelled_minor=done,
                                   cancelled_ms=ctx.ts_ms)


def cancel_all_in_market(ctx: Ctx, market: Market, account_id: str) -> list[CancelInstructionReport]:
    reports = []
    for order in market.orders.values():
        if (order.account_id == account_id and order.order_type == codes.LIMIT
                and order.status == codes.EXECUTABLE and order.remaining_minor):
            done = reduce_unmatched(ctx, market, order, order.remaining_minor, lapse=False)
            reports.append(CancelInstructionReport(status=codes.SUCCESS, instruction=CancelInstruction(bet_id=order.bet_id),
                                                   size_cancelled_minor=done, cancelled_ms=ctx.ts_ms))
    if reports:
        refresh_exposure(ctx, market, account_id)
    return reports


# --- replaceOrders -------------------------------------------------------------------------------------


def _replace_failure(cmd: ReplaceOrders, code: str, instruction_code: str = InstrErr.ERROR_IN_ORDER
                     ) -> ReplaceExecutionReport:
    reports = [ReplaceInstructionReport(status=codes.FAILURE, error_code=instruction_code) for _ in cmd.instructions]
    return ReplaceExecutionReport(status=codes.FAILURE, error_code=code, market_id=cmd.market_id,
                                  customer_ref=cmd.customer_ref, instruction_reports=reports)


def replace_orders(ctx: Ctx, cmd: ReplaceOrders) -> ReplaceExecutionReport:
    """Cancel each bet, then place its replacement at the new price: the cancel phase instruction by
    instruction, never rolled back; the place phase atomic (003:L11174-11177)."""
    state = ctx.state
    market = state.markets.get(cmd.market_id)
    if market is None:
        return _replace_failure(cmd, ExecErr.INVALID_MARKET_ID)
    acct = state.accounts.get(cmd.account_id)
    if acct is None or acct.status != AccountStatus.ACTIVE:
        return _replace_failure(cmd, ExecErr.INVALID_ACCOUNT_STATE)
    refusal = _edit_refusal(ctx, "replace", market, cmd.account_id, [ins.bet_id for ins in cmd.instructions],
                            cmd.customer_ref, cmd.market_version)
    if refusal is not None:
        return _replace_failure(cmd, *refusal)
    reports: list[ReplaceInstructionReport] = []
    to_place: list[tuple[int, PlaceInstruction, Order]] = []
    for ins in cmd.instructions:
        report, replacement = _replace_cancel(ctx, market, cmd.account_id, ins)
        reports.append(report)
        if replacement is not None:
            to_place.append((len(reports) - 1, *replacement))
    if to_place:
        refresh_exposure(ctx, market, cmd.account_id)
        _replace_place(ctx, market, cmd, reports, to_place)
        dedup.remember(ctx, "replace", cmd.account_id, cmd.customer_ref)  # some bet was cancelled
    status, error_code = batch_status(reports)
    if all(r.error_code == InstrErr.NO_ACTION_REQUIRED for r in reports):
        # nothing would change, so nothing reached the matcher (003:L9797-9798)
        status, error_code = codes.FAILURE, ExecErr.NO_ACTION_REQUIRED
    return ReplaceExecutionReport(status=status, error_code=error_code, market_id=cmd.market_id,
                                  customer_ref=cmd.customer_ref, instruction_reports=reports)


def loc_edit_error(order: Order | None, account_id: str, market: Market, new_price_h: int) -> str | None:
    """A LIMIT_ON_CLOSE price may change until reconciliation, only towards being matched more
    easily: a lay's limit up, a back's down (INVALID_PRICE_EDIT, 003:L9863-9864)."""
    if order is None or order.account_id != account_id or order.market_id != market.market_id:
        return InstrErr.INVALID_BET_ID
    if order.status != codes.EXECUTABLE or market.inplay or market.bsp_reconciled:
        return InstrErr.BET_TAKEN_OR_LAPSED
    if (order.side == LAY and new_price_h < order.price_h) or (order.side == BACK and new_price_h > order.price_h):
        return InstrErr.INVALID_PRICE_EDIT
    return None


def _replace_cancel(ctx: Ctx, market: Market, account_id: str, ins: ReplaceInstruction
                    ) -> tuple[ReplaceInstructionReport, tuple[PlaceInstruction, Order] | None]:
    """The cancel phase of one instruction: its report, and the replacement to place if it cancelled."""
    order = ctx.state.orders.get(ins.bet_id)
    loc = order is not None and order.order_type == codes.LIMIT_ON_CLOSE
    error = loc_edit_error(order, account_id, market, ins.new_price_h) if loc else bet_error(order, account_id, market)
    if error is None and order is not None and ins.new_price_h == order.price_h:
        error = InstrErr.NO_ACTION_REQUIRED
    if error is not None or order is None:
        return ReplaceInstructionReport(status=codes.FAILURE, error_code=error), None
    if loc:
        # a LOC price edit is a cancellation of the whole bet and a new one (003:L6758-6764)
        liability = order.bsp_liability_minor
        reduce_unmatched(ctx, market, order, 0, lapse=False)
        done = 0
        new_ins = PlaceInstruction(
            order_type=codes.LIMIT_ON_CLOSE, selection_id=order.selection_id, handicap_h=order.handicap_h,
            side=order.side, limit_on_close=LimitOnCloseOrder(liability_minor=liability, price_h=ins.new_price_h),
            customer_order_ref=order.customer_order_ref)
    else:
        done = reduce_unmatched(ctx, market, order, order.remaining_minor, lapse=False)
        # the new bet keeps side, runner, persistence and refs, for the cancelled size (003:L12425-12430)
        persistence = None if order.time_in_force else order.persistence
        new_ins = PlaceInstruction(
            order_type=codes.LIMIT, selection_id=order.selection_id, handicap_h=order.handicap_h,
            side=order.side, limit=LimitOrder(price_h=ins.new_price_h, size_minor=done, persistence=persistence),
            customer_order_ref=order.customer_order_ref)
    cancel = CancelInstructionReport(status=codes.SUCCESS, instruction=CancelInstruction(bet_id=ins.bet_id),
                                     size_cancelled_minor=done, cancelled_ms=ctx.ts_ms)
    return ReplaceInstructionReport(status=codes.SUCCESS, cancel_report=cancel), (new_ins, order)


def _replace_place(ctx: Ctx, market: Market, cmd: ReplaceOrders, reports: list[ReplaceInstructionReport],
                   to_place: list[tuple[int, PlaceInstruction, Order]]) -> None:
    """The place phase: the replacements as one atomic batch; each report gets its placement, or
    CANCELLED_NOT_PLACED with why."""
    state = ctx.state
    prepared, errors = prepare(market, state.params, [t[1] for t in to_place])
    place_report: PlaceExecutionReport | None = None
    if not errors:
        place_report = place_prepared(ctx, market, state.accounts[cmd.account_id], prepared, None,
                                      [t[2].customer_strategy_ref for t in to_place], cmd.source_app_key,
                                      cmd.market_version, cmd.async_)
    for j, (ri, new_ins, _) in enumerate(to_place):
        if place_report is not None and place_report.status == codes.SUCCESS:
            placed = place_report.instruction_reports[j]
            if place_report.delayed_token is not None:
                placed.order_status = codes.PENDING
            reports[ri].place_report = placed
            continue
        code = errors.get(j, InstrErr.ERROR_IN_ORDER) if errors else (
            place_report.instruction_reports[j].error_code if place_report else InstrErr.ERROR_IN_ORDER)
        reports[ri].status = codes.FAILURE
        reports[ri].error_code = InstrErr.CANCELLED_NOT_PLACED
        reports[ri].place_report = (place_report.instruction_reports[j] if place_report is not None else
                                    PlaceInstructionReport(status=codes.FAILURE, instruction=new_ins, error_code=code))


# --- updateOrders --------------------------------------------------------------------------------------


def _update_failure(cmd: UpdateOrders, code: str, instruction_code: str = InstrErr.ERROR_IN_ORDER
                    ) -> UpdateExecutionReport:
    reports = [UpdateInstructionReport(status=codes.FAILURE, instruction=ins, error_code=instruction_code)
               for ins in cmd.instructions]
    return UpdateExecutionReport(status=codes.FAILURE, error_code=code, market_id=cmd.market_id,
                                 customer_ref=cmd.customer_ref, instruction_reports=reports)


def update_orders(ctx: Ctx, cmd: UpdateOrders) -> UpdateExecutionReport:
    """Change the persistence of unmatched bets (003:L11180-11210)."""
    state = ctx.state
    market = state.markets.get(cmd.market_id)
    if market is None:
        return _update_failure(cmd, ExecErr.INVALID_MARKET_ID)
    if cmd.account_id not in state.accounts:
        return _update_failure(cmd, ExecErr.INVALID_ACCOUNT_STATE)
    refusal = _edit_refusal(ctx, "update", market, cmd.account_id, [ins.bet_id for ins in cmd.instructions],
                            cmd.customer_ref)
    if refusal is not None:
        return _update_failure(cmd, *refusal)
    reports: list[UpdateInstructionReport] = []
    for ins in cmd.instructions:
        order = state.orders.get(ins.bet_id)
        error = _update_error(market, order, cmd.account_id, ins.new_persistence)
        if error is not None or order is None:
            reports.append(UpdateInstructionReport(status=codes.FAILURE, instruction=ins, error_code=error))
            continue
        order.persistence = ins.new_persistence
        ctx.events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
        reports.append(UpdateInstructionReport(status=codes.SUCCESS, instruction=ins))
    if any(r.status == codes.SUCCESS for r in reports):
        dedup.remember(ctx, "update", cmd.account_id, cmd.customer_ref)
    status, error_code = batch_status(reports)
    if all(r.error_code == InstrErr.NO_ACTION_REQUIRED for r in reports):
        status, error_code = codes.FAILURE, ExecErr.NO_CHANGE
    return UpdateExecutionReport(status=status, error_code=error_code, market_id=cmd.market_id,
                                 customer_ref=cmd.customer_ref, instruction_reports=reports)


def _update_error(market: Market, order: Order | None, account_id: str, new: str) -> str | None:
    error = bet_error(order, account_id, market)
    if error is not None or order is None:
        return error
    d = market.definition
    if new not in codes.PERSISTENCE_TYPES or order.time_in_force is not None:
        return InstrErr.INVALID_PERSISTENCE_TYPE
    if new == order.persistence:
        return InstrErr.NO_ACTION_REQUIRED
    if (new == codes.PERSIST and not d.persistence_enabled) or (
            new == codes.MARKET_ON_CLOSE and (not d.bsp_market or market.is_line or market.inplay)):
        return InstrErr.INVALID_PERSISTENCE_TYPE
    return None
