"""History reads as pure functions of `Exchange` state (no I/O): listClearedOrders (betting-api.md §2.7),
listMarketProfitAndLoss (§2.5) and getAccountStatement (stream-identity-accounts.md §11.3).

Every function takes the calling account and only ever reads that account's rows: another account's
cleared orders, positions and statement items are invisible.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from backlay.betfair.http.convert import (
    bet_id_to_wire,
    from_handicap_h,
    from_minor,
    from_price_h,
    side_to_wire,
    source_id,
    to_handicap_h,
)
from backlay.betfair.http.errors import ApiError
from backlay.betfair.wire import accounts as wa
from backlay.betfair.wire import betting as w
from backlay.betfair.wire.common import Instant, TimeRange
from backlay.core import codes
from backlay.core.exchange import Exchange
from backlay.core.ledger import RETENTION_MS, ClearedOrder
from backlay.core.ledger import StatementItem as CoreStatementItem
from backlay.core.market import Market
from backlay.core.money import div_round_half_away

__all__ = [
    "MAX_CLEARED_ORDERS",
    "MAX_STATEMENT_ITEMS",
    "get_account_statement",
    "list_cleared_orders",
    "list_market_profit_and_loss",
]

MAX_CLEARED_ORDERS: Final = 1000  # page limit, 003:L11317-11329
MAX_CLEARED_BET_IDS: Final = 1000  # 003:L11249-11254
MAX_STATEMENT_ITEMS: Final = 100  # page limit, L12774-12776
UNKNOWN_DATE: Final = Instant(-62135596800000)  # 0001-01-01T00:00:00.000Z, 001:L1075 "startDate"

# roll-up levels, lowest first (003:L11360-11449). RUNNER sits between SIDE and MARKET (hoisting text,
# 003:L11347-11357); STRATEGY groups by customerStrategyRef and is treated like EXCHANGE otherwise.
_BET, _SIDE, _RUNNER, _MARKET, _EVENT, _EVENT_TYPE, _EXCHANGE = range(7)
_LEVELS: Final = {"BET": _BET, "SIDE": _SIDE, "RUNNER": _RUNNER, "MARKET": _MARKET, "EVENT": _EVENT,
                  "EVENT_TYPE": _EVENT_TYPE, "EXCHANGE": _EXCHANGE, "STRATEGY": _EXCHANGE}


def _bad(details: str, exception_name: str = "APINGException") -> ApiError:
    return ApiError("INVALID_INPUT_DATA", details, exception_name=exception_name)


def _in_range(ms: int, tr: TimeRange | None) -> bool:
    """Inclusive to the millisecond at both ends; an absent bound is open (003:L11266-11294)."""
    if tr is None:
        return True
    if tr.from_ is not None and ms < tr.from_.ms:
        return False
    return not (tr.to is not None and ms > tr.to.ms)


def _page(from_record: int | None, record_count: int | None, limit: int,
          exception_name: str = "APINGException") -> tuple[int, int]:
    start = from_record or 0
    if start < 0:
        raise _bad("fromRecord must be >= 0", exception_name)
    count = record_count or 0
    if count < 0:
        raise _bad("recordCount must be >= 0", exception_name)
    return start, min(count, limit) if count else limit


# --- listClearedOrders ---------------------------------------------------------------------------


def _row_filter(ex: Exchange, p: w.ListClearedOrdersParams) -> Callable[[ClearedOrder], bool]:
    if p.bet_ids is not None and len(p.bet_ids) > MAX_CLEARED_BET_IDS:
        raise _bad(f"at most {MAX_CLEARED_BET_IDS} betIds")
    event_types = None if p.event_type_ids is None else set(p.event_type_ids)
    events = None if p.event_ids is None else set(p.event_ids)
    markets = None if p.market_ids is None else set(p.market_ids)
    bets = None if p.bet_ids is None else set(p.bet_ids)
    order_refs = None if p.customer_order_refs is None else set(p.customer_order_refs)
    strategy_refs = None if p.customer_strategy_refs is None else set(p.customer_strategy_refs)
    runners: set[tuple[str, int, int | None]] | None = None
    if p.runner_ids is not None:
        runners = {(r.market_id, r.selection_id, None if r.handicap is None else to_handicap_h(r.handicap))
                   for r in p.runner_ids}
    # by default the last 90 days (003:L11221-11224)
    date_range = p.settled_date_range
    if date_range is None or date_range.from_ is None:
        date_range = TimeRange(from_=Instant(ex.now_ms - RETENTION_MS), to=date_range.to if date_range else None)

    def keep(r: ClearedOrder) -> bool:
        if r.bet_status != p.bet_status:
            return False
        if event_types is not None and r.event_type_id not in event_types:
            return False
        if events is not None and r.event_id not in events:
            return False
        if markets is not None and r.market_id not in markets:
            return False
        if bets is not None and bet_id_to_wire(r.bet_id) not in bets:
            return False
        if order_refs is not None and r.customer_order_ref not in order_refs:
            return False
        if strategy_refs is not None and r.customer_strategy_ref not in strategy_refs:
            return False
        if p.side is not None and side_to_wire(r.side) != p.side:
            return False
        if runners is not None and (r.market_id, r.selection_id, r.handicap_h) not in runners \
                and (r.market_id, r.selection_id, None) not in runners:
            return False
        return _in_range(r.settled_ms, date_range)

    return keep


def _group_key(level: int, by_strategy: bool, i: int, r: ClearedOrder) -> tuple[object, ...]:
    if by_strategy:
        return (r.customer_strategy_ref,)
    if level == _BET:
        return (i,)
    if level == _SIDE:
        return (r.market_id, r.selection_id, r.handicap_h, r.side)
    if level == _RUNNER:
        return (r.market_id, r.selection_id, r.handicap_h)
    if level == _MARKET:
        return (r.market_id,)
    if level == _EVENT:
        return (r.event_type_id, r.event_id)
    if level == _EVENT_TYPE:
        return (r.event_type_id,)
    return ()


def _same(rows: Sequence[ClearedOrder], attr: Callable[[ClearedOrder], Any]) -> tuple[bool, Any]:
    first = attr(rows[0])
    return all(attr(r) == first for r in rows[1:]), first


def _avg(values: Iterable[tuple[float, int]]) -> float:
    """Size-weighted average of (price_h, size_minor) pairs (a plain mean when no size), as a wire price."""
    pairs = list(values)
    total = sum(s for _, s in pairs)
    if total:
        return from_price_h(sum(p * s for p, s in pairs) / total)
    return from_price_h(sum(p for p, _ in pairs) / len(pairs)) if pairs else 0.0


def _item_description(ex: Exchange, level: int, rows: Sequence[ClearedOrder]) -> w.ItemDescription | None:
    """From the market definition while the market is still held (003:L12110-12138)."""
    market: Market | None = next((ex.markets[r.market_id] for r in rows if r.market_id in ex.markets), None)
    if market is None or level > _EVENT_TYPE:
        return None
    d = market.definition
    desc = w.ItemDescription(event_type_desc=d.event_type_name)
    if level <= _EVENT:
        desc.event_desc = d.event_name
    if level <= _MARKET:
        desc.market_desc = d.name
        desc.market_type = d.market_type
        desc.market_start_time = Instant(d.market_time_ms)
    single = len(rows) == 1 and level <= _MARKET
    if level == _BET or single:
        runner = market.runners.get((rows[0].selection_id, rows[0].handicap_h))
        if runner is not None:
            desc.runner_desc = runner.definition.name
        desc.number_of_winners = d.number_of_winners
        if d.each_way_divisor_h is not None:
            desc.each_way_divisor = from_price_h(d.each_way_divisor_h)
    return desc


def _bet_summary(r: ClearedOrder, status: str) -> w.ClearedOrderSummary:
    """A BET-level row (003:L11993-12095): no commission at BET level (003:L11360-11449)."""
    settled = status in (codes.SETTLED, codes.VOIDED)
    return w.ClearedOrderSummary(
        event_type_id=r.event_type_id, event_id=r.event_id, market_id=r.market_id, selection_id=r.selection_id,
        handicap=from_handicap_h(r.handicap_h), bet_id=bet_id_to_wire(r.bet_id), placed_date=Instant(r.placed_ms),
        persistence_type=r.persistence, order_type=r.order_type, side=side_to_wire(r.side),
        bet_outcome=r.bet_outcome, price_requested=from_price_h(r.price_requested_h),
        settled_date=Instant(r.settled_ms),
        last_matched_date=None if r.last_matched_ms is None else Instant(r.last_matched_ms),
        bet_count=1, price_matched=from_price_h(r.price_matched_h), price_reduced=r.price_reduced,
        size_settled=from_minor(r.size_settled_minor) if settled else None,
        profit=from_minor(r.profit_minor),
        size_cancelled=None if settled else from_minor(r.size_cancelled_minor),
        customer_order_ref=r.customer_order_ref, customer_strategy_ref=r.customer_strategy_ref)


def _rollup(ex: Exchange, account_id: str, level: int, status: str,
            rows: Sequence[ClearedOrder]) -> w.ClearedOrderSummary:
    """One roll-up row per the field table and the hoisting rules (003:L11347-11449)."""
    if level == _BET:
        return _bet_summary(rows[0], status)
    single = len(rows) == 1 and level <= _MARKET
    if single:  # one bet: every field is unambiguous and is hoisted, betId included (003:L11347-11350)
        out = _bet_summary(rows[0], status)
    else:
        out = w.ClearedOrderSummary()
        if level <= _EVENT_TYPE:
            out.event_type_id = rows[0].event_type_id
        if level <= _EVENT:
            out.event_id = rows[0].event_id
        if level <= _MARKET:
            out.market_id = rows[0].market_id
            same_sel, _ = _same(rows, lambda r: (r.selection_id, r.handicap_h))
            same_side, side = _same(rows, lambda r: r.side)
            if same_sel:
                out.selection_id = rows[0].selection_id
                out.handicap = from_handicap_h(rows[0].handicap_h)
            if same_side:
                out.side = side_to_wire(side)
            if same_sel and same_side:
                out.price_requested = _avg((r.price_requested_h, r.size_settled_minor) for r in rows)
                out.price_matched = _avg((r.price_matched_h, r.size_settled_minor) for r in rows)
                if status in (codes.SETTLED, codes.VOIDED):
                    out.size_settled = from_minor(sum(r.size_settled_minor for r in rows))
            out.placed_date = Instant(max(r.placed_ms for r in rows))
            out.price_reduced = any(r.price_reduced for r in rows)
            same_p, persistence = _same(rows, lambda r: r.persistence)
            if same_p:
                out.persistence_type = persistence
            same_o, order_type = _same(rows, lambda r: r.order_type)
            if same_o:
                out.order_type = order_type
            matched = [r.last_matched_ms for r in rows if r.last_matched_ms is not None]
            if matched:
                out.last_matched_date = Instant(max(matched))
            if status == codes.SETTLED:  # the MARKET example carries it (003:L3303-3315)
                out.bet_outcome = "WON" if sum(r.profit_minor for r in rows) > 0 else "LOST"
        same_s, strategy = _same(rows, lambda r: r.customer_strategy_ref)
        if same_s:
            out.customer_strategy_ref = strategy
        out.settled_date = Instant(max(r.settled_ms for r in rows))
        out.bet_count = len(rows)
        out.profit = from_minor(sum(r.profit_minor for r in rows))
    if status == codes.SETTLED and level >= _MARKET:
        markets = {r.market_id for r in rows}
        out.commission = from_minor(sum(ex.ledger.market_commission.get((account_id, m), 0) for m in markets))
    return out


def list_cleared_orders(ex: Exchange, params: w.ListClearedOrdersParams, account_id: str) -> w.ClearedOrderSummaryReport:
    """listClearedOrders (betting-api.md §2.7, 003:L11213-11449) over the account's cleared rows.

    Latest settled first, like the documented MARKET roll-up response (003:L3292-3447). groupBy applies
    to SETTLED only (003:L11295-11301); other statuses are listed bet by bet. Commission comes from the
    ledger (net market commission) at MARKET level and above.
    """
    keep = _row_filter(ex, params)
    rows = [r for r in ex.ledger.cleared.get(account_id, []) if keep(r)]
    level = _LEVELS[params.group_by or "BET"] if params.bet_status == codes.SETTLED else _BET
    by_strategy = params.group_by == "STRATEGY" and params.bet_status == codes.SETTLED
    groups: dict[tuple[object, ...], list[ClearedOrder]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(_group_key(level, by_strategy, i, r), []).append(r)
    ordered = sorted(enumerate(groups.values()), key=lambda ig: (-max(r.settled_ms for r in ig[1]), ig[0]))
    start, count = _page(params.from_record, params.record_count, MAX_CLEARED_ORDERS)
    page = ordered[start:start + count]
    out = []
    for _, group in page:
        summary = _rollup(ex, account_id, level, params.bet_status, group)
        if params.include_item_description:
            summary.item_description = _item_description(ex, level, group)
        if params.include_source_id:  # hoisted when every bet of the group has the same (003:L11347-11357)
            same, key = _same(group, lambda r: r.source_app_key)
            summary.source_id_key, summary.source_id_description = source_id(key if same else None, True)
        out.append(summary)
    return w.ClearedOrderSummaryReport(cleared_orders=out, more_available=start + count < len(ordered))


# --- listMarketProfitAndLoss ---------------------------------------------------------------------


def _market_pnl(ex: Exchange, market: Market, account_id: str, include_bsp: bool,
                net_of_commission: bool) -> w.MarketProfitAndLoss:
    """ifWin / ifLose from matched fragments, in minor units times 100 (size_minor * price_h) so that
    the only rounding is the final one to pence (betting-api.md §2.5 [DERIVED] formulas)."""
    d = market.definition
    multi = d.number_of_winners > 1
    n = len(market.runner_list)
    win_on = [0] * n  # P&L on bets on runner i if i wins (x100)
    lose_on = [0] * n  # P&L on bets on runner i if i loses (x100)
    for order in market.orders.values():
        if order.account_id != account_id or not order.matched_minor:
            continue
        if order.is_bsp() and not include_bsp:
            continue
        i = market.runners[order.key].index
        sign = 1 if order.side == codes.BACK else -1
        for frag in order.fragments:
            win_on[i] += sign * frag.size_minor * (frag.price_h - 100)
            lose_on[i] -= sign * frag.size_minor * 100
    total_lose = sum(lose_on)
    rate_bp = d.market_base_rate_bp

    def money(x100: int) -> float:
        minor = div_round_half_away(x100, 100)
        if net_of_commission and minor > 0:
            minor -= div_round_half_away(minor * rate_bp, 10_000)
        return from_minor(minor)

    pnls = []
    for r in market.runner_list:
        i = r.index
        if multi:  # each runner wins or loses on its own (ifLose for multi-winner markets only)
            pnls.append(w.RunnerProfitAndLoss(selection_id=r.selection_id, if_win=money(win_on[i]),
                                              if_lose=money(lose_on[i])))
        else:
            pnls.append(w.RunnerProfitAndLoss(selection_id=r.selection_id,
                                              if_win=money(win_on[i] + total_lose - lose_on[i])))
    return w.MarketProfitAndLoss(market_id=market.market_id,
                                 commission_applied=rate_bp / 100 if net_of_commission else None,
                                 profit_and_losses=pnls)


def list_market_profit_and_loss(ex: Exchange, params: w.ListMarketProfitAndLossParams,
                                account_id: str) -> list[w.MarketProfitAndLoss]:
    """listMarketProfitAndLoss (betting-api.md §2.5, 003:L10461-10479): ODDS markets only, others
    silently left out, as are unknown market ids. Matched bets only; BSP bets when includeBspBets.
    A settled market has no open position: it is listed only with includeSettledBets, from its matched
    bets (003:L10464-10466 point CLOSED markets at listClearedOrders)."""
    out = []
    seen: set[str] = set()
    for market_id in params.market_ids:
        market = ex.markets.get(market_id)
        if market is None or market_id in seen or market.definition.betting_type != codes.ODDS:
            continue
        seen.add(market_id)
        if market.settled and not params.include_settled_bets:
            continue
        out.append(_market_pnl(ex, market, account_id, bool(params.include_bsp_bets),
                               bool(params.net_of_commission)))
    return out


# --- getAccountStatement -------------------------------------------------------------------------


def _int_id(text: str | None) -> int | None:
    if text is None:
        return None
    tail = text.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _rate(bp: int | None) -> str | None:
    """Commission rate as the legacy string: 500 -> "5%", 250 -> "2.5%" (001:L1075)."""
    if bp is None:
        return None
    whole, frac = divmod(bp, 100)
    return f"{whole}%" if not frac else f"{bp / 100:g}%"


def _legacy_values(item: CoreStatementItem) -> dict[str, Any]:
    """The legacy fields in the documented order (001:L1075), with None where not applicable. eventId is
    the market id without the exchange id (L13070-13101)."""
    start = Instant(item.start_ms) if item.start_ms else UNKNOWN_DATE
    return {
        "avgPrice": from_price_h(item.avg_price_h),
        "betSize": from_minor(item.bet_size_minor),
        "betType": item.bet_type,
        "betCategoryType": item.bet_category_type,
        "commissionRate": _rate(item.commission_rate_bp),
        "eventId": _int_id(item.market_id),
        "eventTypeId": _int_id(item.event_type_id),
        "fullMarketName": item.full_market_name,
        "grossBetAmount": from_minor(item.gross_bet_amount_minor),
        "marketName": item.market_name,
        "marketType": item.market_type,
        "placedDate": None if item.placed_ms is None else Instant(item.placed_ms),
        "selectionId": item.selection_id,
        "selectionName": item.selection_name,
        "startDate": start,
        "transactionType": item.transaction_type,
        "transactionId": 0,
        "winLose": item.win_lose,
    }


def _statement_item(item: CoreStatementItem) -> wa.StatementItem:
    v = _legacy_values(item)
    unknown = json.dumps({k: (x.iso() if isinstance(x, Instant) else x) for k, x in v.items()},
                         separators=(",", ":"))
    legacy = wa.StatementLegacyData(
        avg_price=v["avgPrice"], bet_size=v["betSize"], bet_type=v["betType"],
        bet_category_type=v["betCategoryType"], commission_rate=v["commissionRate"], event_id=v["eventId"],
        event_type_id=v["eventTypeId"], full_market_name=v["fullMarketName"], gross_bet_amount=v["grossBetAmount"],
        market_name=v["marketName"], market_type=v["marketType"], placed_date=v["placedDate"],
        selection_id=v["selectionId"], selection_name=v["selectionName"], start_date=v["startDate"],
        transaction_type=v["transactionType"], transaction_id=v["transactionId"], win_lose=v["winLose"])
    return wa.StatementItem(ref_id=item.ref_id, item_date=Instant(item.item_ms), amount=from_minor(item.amount_minor),
                            balance=from_minor(item.balance_minor), item_class="UNKNOWN",
                            item_class_data={"unknownStatementItem": unknown}, legacy_data=legacy)


def get_account_statement(ex: Exchange, params: wa.GetAccountStatementParams,
                          account_id: str) -> wa.AccountStatementReport:
    """getAccountStatement (stream-identity-accounts.md §11.3, L12760-12801): the account's items newest
    first, as in the resettlement example (001:L1052-1593). itemDateRange applies when includeItem is ALL
    or absent (L12777-12786); only the last 90 days are kept. EXCHANGE = bet and commission rows (those
    with a market), DEPOSITS_WITHDRAWALS = rows without one (fixed-odds bets' rows appear under ALL only), POKER_ROOM = none. Only the UK wallet exists."""
    start, count = _page(params.from_record, params.record_count, MAX_STATEMENT_ITEMS, "AccountAPINGException")
    include = params.include_item or "ALL"
    items: list[CoreStatementItem] = []
    if include != "POKER_ROOM" and (params.wallet or "UK") == "UK":
        horizon = ex.now_ms - RETENTION_MS
        for item in ex.ledger.statements.get(account_id, []):
            if item.item_ms < horizon:
                continue
            if include == "ALL" and not _in_range(item.item_ms, params.item_date_range):
                continue
            if include == "EXCHANGE" and item.market_id is None:
                continue
            if include == "DEPOSITS_WITHDRAWALS" and (item.market_id is not None or item.fixed_odds):
                continue
            items.append(item)
    # newest first; items written together keep the reverse of their writing order (001:L1063-1124)
    newest = sorted(reversed(items), key=lambda i: -i.item_ms)
    page = newest[start:start + count]
    return wa.AccountStatementReport(account_statement=[_statement_item(i) for i in page],
                                     more_available=start + count < len(newest))
