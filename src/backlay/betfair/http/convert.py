"""Wire <-> core conversion for the order operations (betting-api.md §1.4, §2.8-2.11).

Requests: a decoded `<Operation>Params` struct becomes a core command in core units (`_minor` pence,
`_h` hundredths, sides as ints, bet ids as ints). A number that is not exactly representable in those
units arrives in the command as -1 so that the core answers with the documented error inside its atomic
batch: INVALID_ODDS for a price, INVALID_BET_SIZE for a size (core/commands.py).

Reports: core execution reports become wire reports. The instruction is echoed in wire form (numbers as
JSON numbers, betId as a string, 003:L10676-10705); what the core leaves out (e.g. averagePriceMatched of
a MARKET_ON_CLOSE bet, 003:L10743-10755) stays out. When the original request is passed, values the
core could not convert (the -1 markers) are echoed as the client sent them.

Pure functions: no I/O, no state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, cast

from backlay.betfair.wire import betting as w
from backlay.betfair.wire.common import Instant
from backlay.core import codes
from backlay.core import commands as c
from backlay.core import reports as r
from backlay.core.money import GBP_RATES_MICRO
from backlay.core.orders import Order

__all__ = [
    "INVALID",
    "INVALID_HANDICAP_H",
    "bet_id_from_wire",
    "bet_id_to_wire",
    "cancel_orders_command",
    "cancel_report_to_wire",
    "from_handicap_h",
    "from_minor",
    "from_price_h",
    "place_orders_command",
    "place_report_to_wire",
    "replace_orders_command",
    "replace_report_to_wire",
    "side_from_wire",
    "side_to_wire",
    "source_id",
    "to_handicap_h",
    "to_minor",
    "to_price_h",
    "update_orders_command",
    "update_report_to_wire",
]

INVALID: Final = -1
"""The marker of a wire value with no exact core value (commands.py)."""

INVALID_HANDICAP_H: Final = -(2**62)
"""A handicap off the 2-dp grid: matches no runner, so the core answers INVALID_RUNNER."""

_MAX_H: Final = 2**53  # beyond this a double no longer holds every integer

def gbp_rate(currency: str) -> float:
    """The indicative rate from GBP of a currency of 001's table (core/money.py), for the wire."""
    return GBP_RATES_MICRO[currency] / 1_000_000


# --- numbers -------------------------------------------------------------------------------------


def _hundredths(x: float) -> int | None:
    """`x` * 100 exactly, when `x` (as the shortest decimal that reads back as it) has at most two
    decimals: 3.5 -> 350, 1.01 -> 101, 3.555 -> None, NaN -> None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    if isinstance(x, int):
        v = x * 100
        return v if -_MAX_H <= v <= _MAX_H else None
    if not math.isfinite(x):
        return None
    if -1e13 < x < 1e13:
        # r/100 is the double nearest to the decimal r/100, so it is x exactly when x's shortest
        # decimal has at most two places (the Decimal route below, without its cost)
        r = round(x * 100)
        return r if r / 100 == x else None
    try:
        d = Decimal(repr(x)) * 100
    except InvalidOperation:  # pragma: no cover - repr of a finite float is always a decimal
        return None
    if d != d.to_integral_value():
        return None
    v = int(d)
    return v if -_MAX_H <= v <= _MAX_H else None


def to_price_h(x: float) -> int:
    """A price in hundredths (3.5 -> 350), or -1 when it is negative or not a 2-decimal number: the
    core then answers INVALID_ODDS. Whether it is on the ladder is the core's question."""
    v = _hundredths(x)
    return INVALID if v is None or v < 0 else v


def to_minor(x: float) -> int:
    """A size in minor units (2 -> 200, 0.5 -> 50), or -1 when it is negative or has more than two
    decimals: the core then answers INVALID_BET_SIZE."""
    v = _hundredths(x)
    return INVALID if v is None or v < 0 else v


def to_handicap_h(x: float | None) -> int:
    """A handicap in hundredths (-0.25 -> -25; absent -> 0, 003:L11646-11650), or INVALID_HANDICAP_H
    when it is not a 2-decimal number (no runner has it, so the instruction fails INVALID_RUNNER)."""
    if x is None:
        return 0
    v = _hundredths(x)
    return INVALID_HANDICAP_H if v is None else v


def from_price_h(h: int | float) -> float:
    """Hundredths to the wire's double: 350 -> 3.5."""
    return h / 100


def from_minor(m: int | float) -> float:
    """Minor units to the wire's double: 250 -> 2.5."""
    return m / 100


def from_handicap_h(h: int) -> float:
    return h / 100


def bet_id_from_wire(s: str) -> int:
    """A wire bet id ("31242604945") as the core's int, or -1 when it is not a bet id at all (the core
    then answers INVALID_BET_ID)."""
    if not isinstance(s, str) or not s.isascii() or not s.isdigit() or len(s) > 18:
        return INVALID
    return int(s)


def bet_id_to_wire(bet_id: int) -> str:
    return str(bet_id)


def side_from_wire(side: str) -> int:
    return codes.BACK if side == "BACK" else codes.LAY


def side_to_wire(side: int) -> str:
    return codes.SIDE_NAMES[side]


def avg_price(matched_value: int, size_minor: int) -> float:
    """Average matched price from sum(size_minor * price_h) (reports.py): value / size / 100."""
    return matched_value / (size_minor * 100) if size_minor else 0.0


SOURCE_ID_DESCRIPTION: Final = "API"  # every bet with an app key came through the API (003:L12236-12238)


def source_id(app_key: str | None, include: bool | None) -> tuple[str | None, str | None]:
    """sourceIdKey and sourceIdDescription, when asked for and known (003:L10169-10171, L11330-11334)."""
    if not include or app_key is None:
        return None, None
    return app_key, SOURCE_ID_DESCRIPTION


def to_the_second(ms: int) -> Instant:
    """placedDate and matchedDate are "to the second" (003:L11846-11847): emitted with .000Z."""
    return Instant(ms - ms % 1000)


def _strategy_ref(ref: str | None) -> str | None:
    """`""` means no strategy ref (003:L10624-10629)."""
    return ref or None


# --- requests -> commands ------------------------------------------------------------------------


def _place_instruction(ins: w.PlaceInstruction) -> c.PlaceInstruction:
    limit = None
    if ins.limit_order is not None:
        lo = ins.limit_order
        limit = c.LimitOrder(
            price_h=to_price_h(lo.price),
            size_minor=None if lo.size is None else to_minor(lo.size),
            persistence=lo.persistence_type,
            time_in_force=lo.time_in_force,
            min_fill_minor=None if lo.min_fill_size is None else to_minor(lo.min_fill_size),
            bet_target_type=lo.bet_target_type,
            bet_target_minor=None if lo.bet_target_size is None else to_minor(lo.bet_target_size),
        )
    loc = None
    if ins.limit_on_close_order is not None:
        loc = c.LimitOnCloseOrder(liability_minor=to_minor(ins.limit_on_close_order.liability),
                                  price_h=to_price_h(ins.limit_on_close_order.price))
    moc = None
    if ins.market_on_close_order is not None:
        moc = c.MarketOnCloseOrder(liability_minor=to_minor(ins.market_on_close_order.liability))
    return c.PlaceInstruction(
        order_type=ins.order_type,
        selection_id=ins.selection_id,
        side=side_from_wire(ins.side),
        handicap_h=to_handicap_h(ins.handicap),
        limit=limit,
        limit_on_close=loc,
        market_on_close=moc,
        customer_order_ref=ins.customer_order_ref,
    )


def place_orders_command(params: w.PlaceOrdersParams, account_id: str, app_key: str | None) -> c.PlaceOrders:
    """placeOrders params (003:L10595-10641) as the core's PlaceOrders for `account_id`."""
    return c.PlaceOrders(
        account_id=account_id,
        market_id=params.market_id,
        instructions=[_place_instruction(i) for i in params.instructions],
        customer_ref=params.customer_ref,
        market_version=None if params.market_version is None else params.market_version.version,
        customer_strategy_ref=_strategy_ref(params.customer_strategy_ref),
        async_=bool(params.async_),
        source_app_key=app_key,
    )


def cancel_orders_command(params: w.CancelOrdersParams, account_id: str) -> c.CancelOrders:
    """cancelOrders params (003:L10035-10066). No instructions: every unmatched bet of the market, or
    of the account when there is no marketId either."""
    instructions = None
    if params.instructions is not None:
        instructions = [
            c.CancelInstruction(
                bet_id=bet_id_from_wire(i.bet_id),
                size_reduction_minor=None if i.size_reduction is None else to_minor(i.size_reduction),
            )
            for i in params.instructions
        ]
    return c.CancelOrders(account_id=account_id, market_id=params.market_id, instructions=instructions,
                          customer_ref=params.customer_ref)


def replace_orders_command(params: w.ReplaceOrdersParams, account_id: str, app_key: str | None) -> c.ReplaceOrders:
    """replaceOrders params (003:L11168-11211)."""
    return c.ReplaceOrders(
        account_id=account_id,
        market_id=params.market_id,
        instructions=[c.ReplaceInstruction(bet_id=bet_id_from_wire(i.bet_id), new_price_h=to_price_h(i.new_price))
                      for i in params.instructions],
        customer_ref=params.customer_ref,
        market_version=None if params.market_version is None else params.market_version.version,
        async_=bool(params.async_),
        source_app_key=app_key,
    )


def update_orders_command(params: w.UpdateOrdersParams, account_id: str) -> c.UpdateOrders:
    """updateOrders params (003:L11142-11166)."""
    return c.UpdateOrders(
        account_id=account_id,
        market_id=params.market_id,
        instructions=[c.UpdateInstruction(bet_id=bet_id_from_wire(i.bet_id), new_persistence=i.new_persistence_type)
                      for i in params.instructions],
        customer_ref=params.customer_ref,
    )


# --- reports -> wire -----------------------------------------------------------------------------


def _num(h: int | None, original: float | None, scale: float = 100) -> float | None:
    """A core number as a wire double; an invalid one (-1) as the client sent it, when known."""
    if h is None:
        return original
    if h == INVALID and original is not None:
        return original
    return h / scale


def _place_instruction_to_wire(ins: c.PlaceInstruction, original: w.PlaceInstruction | None = None) -> w.PlaceInstruction:
    limit = None
    if ins.limit is not None:
        lo = ins.limit
        olo = original.limit_order if original is not None else None
        price = _num(lo.price_h, olo.price if olo else None)
        limit = w.LimitOrder(
            size=_num(lo.size_minor, olo.size if olo else None) if lo.size_minor is not None else None,
            price=price if price is not None else 0.0,
            persistence_type=cast(Any, lo.persistence),
            time_in_force=cast(Any, lo.time_in_force),
            min_fill_size=_num(lo.min_fill_minor, olo.min_fill_size if olo else None)
            if lo.min_fill_minor is not None else None,
            bet_target_type=cast(Any, lo.bet_target_type),
            bet_target_size=_num(lo.bet_target_minor, olo.bet_target_size if olo else None)
            if lo.bet_target_minor is not None else None,
        )
    loc = None
    if ins.limit_on_close is not None:
        oloc = original.limit_on_close_order if original is not None else None
        loc = w.LimitOnCloseOrder(
            liability=_num(ins.limit_on_close.liability_minor, oloc.liability if oloc else None) or 0.0,
            price=_num(ins.limit_on_close.price_h, oloc.price if oloc else None) or 0.0,
        )
    moc = None
    if ins.market_on_close is not None:
        omoc = original.market_on_close_order if original is not None else None
        moc = w.MarketOnCloseOrder(
            liability=_num(ins.market_on_close.liability_minor, omoc.liability if omoc else None) or 0.0)
    handicap = from_handicap_h(ins.handicap_h)
    if ins.handicap_h == INVALID_HANDICAP_H and original is not None and original.handicap is not None:
        handicap = original.handicap
    return w.PlaceInstruction(
        order_type=cast(Any, ins.order_type),
        selection_id=ins.selection_id,
        handicap=handicap,
        side=cast(Any, side_to_wire(ins.side)),
        limit_order=limit,
        limit_on_close_order=loc,
        market_on_close_order=moc,
        customer_order_ref=ins.customer_order_ref,
    )


def _place_instruction_report(rep: r.PlaceInstructionReport, original: w.PlaceInstruction | None = None,
                              placed_async: bool = False) -> w.PlaceInstructionReport:
    """`placed_async`: the request had async=true; its PENDING reports carry no betId and no placedDate
    (003:L10630-10636, L12376-12406)."""
    hidden = placed_async and rep.order_status == codes.PENDING
    avg = size = None
    if rep.size_matched_minor is not None:
        size = from_minor(rep.size_matched_minor)
        avg = avg_price(rep.matched_value or 0, rep.size_matched_minor)
    return w.PlaceInstructionReport(
        status=rep.status,
        error_code=rep.error_code,
        order_status=cast(Any, rep.order_status),
        instruction=_place_instruction_to_wire(rep.instruction, original),
        bet_id=None if rep.bet_id is None or hidden else bet_id_to_wire(rep.bet_id),
        placed_date=None if rep.placed_ms is None or hidden else to_the_second(rep.placed_ms),
        average_price_matched=avg,
        size_matched=size,
    )


def place_report_to_wire(report: r.PlaceExecutionReport,
                         request: w.PlaceOrdersParams | None = None) -> w.PlaceExecutionReport:
    """A core PlaceExecutionReport as the wire's (003:L12291-12406). `request`, when given, supplies
    the echo of values the core could not convert (a price of 3.555 is echoed as 3.555, not -0.01)."""
    originals: list[w.PlaceInstruction | None] = [None] * len(report.instruction_reports)
    if request is not None and len(request.instructions) == len(report.instruction_reports):
        originals = list(request.instructions)
    return w.PlaceExecutionReport(
        customer_ref=report.customer_ref,
        status=report.status,
        error_code=report.error_code,
        market_id=report.market_id,
        instruction_reports=[_place_instruction_report(rep, o, bool(request is not None and request.async_))
                             for rep, o in zip(report.instruction_reports, originals)],
    )


def _cancel_instruction_report(rep: r.CancelInstructionReport,
                               original: w.CancelInstruction | None = None) -> w.CancelInstructionReport:
    ins = rep.instruction
    bet_id = original.bet_id if ins.bet_id == INVALID and original is not None else bet_id_to_wire(ins.bet_id)
    reduction = None
    if ins.size_reduction_minor is not None:
        reduction = _num(ins.size_reduction_minor, original.size_reduction if original else None)
    return w.CancelInstructionReport(
        status=rep.status,
        error_code=rep.error_code,
        instruction=w.CancelInstruction(bet_id=bet_id, size_reduction=reduction),
        size_cancelled=None if rep.size_cancelled_minor is None else from_minor(rep.size_cancelled_minor),
        cancelled_date=None if rep.cancelled_ms is None else Instant(rep.cancelled_ms),
    )


def cancel_report_to_wire(report: r.CancelExecutionReport,
                          request: w.CancelOrdersParams | None = None) -> w.CancelExecutionReport:
    """A core CancelExecutionReport as the wire's (003:L12408-12460); `instructionReports` is `[]` for
    cancel-all (betting-api.md §1.7)."""
    reports = report.instruction_reports
    originals: list[w.CancelInstruction | None] = [None] * len(reports)
    if request is not None and request.instructions is not None and len(request.instructions) == len(reports):
        originals = list(request.instructions)
    return w.CancelExecutionReport(
        customer_ref=report.customer_ref,
        status=report.status,
        error_code=report.error_code,
        market_id=report.market_id,
        instruction_reports=[_cancel_instruction_report(rep, o) for rep, o in zip(reports, originals)],
    )


def _replace_place_echo(ins: c.ReplaceInstruction, original: w.ReplaceInstruction | None,
                        order: Order | None) -> w.PlaceInstruction:
    """The place echo of a replace that never reached its placement: the bet as it would have been
    replaced (side, runner, persistence, remaining size at the new price, 003:L12425-12430) when the
    bet is known, else a LIMIT instruction carrying only the new price."""
    price = _num(ins.new_price_h, original.new_price if original else None) or 0.0
    if order is None:
        return w.PlaceInstruction(order_type="LIMIT", selection_id=0, side="BACK",
                                  limit_order=w.LimitOrder(price=price))
    if order.order_type == codes.LIMIT_ON_CLOSE:
        return w.PlaceInstruction(
            order_type="LIMIT_ON_CLOSE", selection_id=order.selection_id, handicap=from_handicap_h(order.handicap_h),
            side=cast(Any, side_to_wire(order.side)),
            limit_on_close_order=w.LimitOnCloseOrder(liability=from_minor(order.bsp_liability_minor), price=price),
            customer_order_ref=order.customer_order_ref)
    persistence = None if order.time_in_force else order.persistence
    return w.PlaceInstruction(
        order_type=cast(Any, order.order_type), selection_id=order.selection_id,
        handicap=from_handicap_h(order.handicap_h), side=cast(Any, side_to_wire(order.side)),
        limit_order=w.LimitOrder(size=from_minor(order.remaining_minor), price=price,
                                 persistence_type=cast(Any, persistence)),
        customer_order_ref=order.customer_order_ref)


def replace_report_to_wire(report: r.ReplaceExecutionReport, request: w.ReplaceOrdersParams | c.ReplaceOrders,
                           orders: Mapping[int, Order] | None = None,
                           account_id: str | None = None) -> w.ReplaceExecutionReport:
    """A core ReplaceExecutionReport as the wire's (003:L12431-12450). Every instruction report carries
    both nested reports, which betfairlightweight requires (betting-api.md §1.7): when the core has
    none (the bet was not cancelled), a FAILURE cancel report with the instruction's error and a FAILURE
    place report with RELATED_ACTION_FAILED (003:L9879-9880), each echoing the instruction. `orders`
    (Exchange.orders) makes the place echo name the bet's runner and side; pass the state as it was
    before the command, or after it (a failed replace leaves the bet alone). Only a bet of the caller
    (`account_id`, else the core command's) is ever described: without a known caller, none is."""
    if isinstance(request, c.ReplaceOrders):
        core_ins = list(request.instructions)
        wire_ins: list[w.ReplaceInstruction | None] = [None] * len(core_ins)
    else:
        wire_ins = list(request.instructions)
        core_ins = [c.ReplaceInstruction(bet_id=bet_id_from_wire(i.bet_id), new_price_h=to_price_h(i.new_price))
                    for i in request.instructions]
    out: list[w.ReplaceInstructionReport] = []
    for k, rep in enumerate(report.instruction_reports):
        ins = core_ins[k] if k < len(core_ins) else c.ReplaceInstruction(bet_id=INVALID, new_price_h=INVALID)
        orig = wire_ins[k] if k < len(wire_ins) else None
        wire_bet_id = orig.bet_id if orig is not None else bet_id_to_wire(ins.bet_id)
        if rep.cancel_report is not None:
            cancel = _cancel_instruction_report(
                rep.cancel_report, w.CancelInstruction(bet_id=wire_bet_id) if orig is not None else None)
        else:
            cancel = w.CancelInstructionReport(status=codes.FAILURE, error_code=rep.error_code,
                                               instruction=w.CancelInstruction(bet_id=wire_bet_id))
        if rep.place_report is not None:
            place = _place_instruction_report(rep.place_report, placed_async=bool(request.async_))
        else:
            order = orders.get(ins.bet_id) if orders is not None else None
            if order is not None and order.account_id != (account_id or getattr(request, "account_id", None)):
                order = None  # never describe another account's bet
            place = w.PlaceInstructionReport(status=codes.FAILURE, error_code=codes.InstrErr.RELATED_ACTION_FAILED,
                                             instruction=_replace_place_echo(ins, orig, order))
        out.append(w.ReplaceInstructionReport(status=rep.status, error_code=rep.error_code,
                                              cancel_instruction_report=cancel, place_instruction_report=place))
    return w.ReplaceExecutionReport(customer_ref=report.customer_ref, status=report.status,
                                    error_code=report.error_code, market_id=report.market_id,
                                    instruction_reports=out)


def update_report_to_wire(report: r.UpdateExecutionReport,
                          request: w.UpdateOrdersParams | None = None) -> w.UpdateExecutionReport:
    """A core UpdateExecutionReport as the wire's (003:L12461-12486)."""
    reports = report.instruction_reports
    originals: list[w.UpdateInstruction | None] = [None] * len(reports)
    if request is not None and len(request.instructions) == len(reports):
        originals = list(request.instructions)
    out = []
    for rep, orig in zip(reports, originals):
        bet_id = orig.bet_id if orig is not None and rep.instruction.bet_id == INVALID \
            else bet_id_to_wire(rep.instruction.bet_id)
        out.append(w.UpdateInstructionReport(
            status=rep.status, error_code=rep.error_code,
            instruction=w.UpdateInstruction(bet_id=bet_id,
                                            new_persistence_type=cast(Any, rep.instruction.new_persistence))))
    # The core's NO_CHANGE (003:L9815-9816, prose only) is not in SportsAPING.xml's ExecutionReportErrorCode
    # and betfair-parser refuses it; the XML's NO_ACTION_REQUIRED says the same (decisions.md).
    error_code = codes.ExecErr.NO_ACTION_REQUIRED if report.error_code == codes.ExecErr.NO_CHANGE else report.error_code
    return w.UpdateExecutionReport(customer_ref=report.customer_ref, status=report.status,
                                   error_code=error_code, market_id=report.market_id,
                                   instruction_reports=out)
