"""History reads (api/history.py): listClearedOrders, listMarketProfitAndLoss and getAccountStatement
over real core states built with the core commands.

Spec: betting-api.md §2.5 (listMarketProfitAndLoss, 003:L10461-10479), §2.7 (listClearedOrders,
003:L11213-11449, MARKET roll-up example 003:L3292-3447); stream-identity-accounts.md §11.3/§11.6
(getAccountStatement L12760-12801, StatementItem / StatementLegacyData L13051-13101); the resettlement
lifecycle example 001:L1052-1593.
"""

from __future__ import annotations

import json

import pytest
from helpers import BACK, LAY, MARKET, SEL_A, SEL_B, SEL_C, T0, add_market, admin, cancel, make_exchange, rest

from backlay.betfair.http.errors import ApiError
from backlay.betfair.http.history import (
    get_account_statement,
    list_cleared_orders,
    list_market_profit_and_loss,
)
from backlay.betfair.wire import accounts as wa
from backlay.betfair.wire import betting as w
from backlay.betfair.wire.common import Instant, TimeRange, encode
from backlay.core.commands import CancelInstruction, RunnerResult, SettleMarket, UnsettleMarket, VoidMarket
from backlay.core.exchange import Exchange

DAY_MS = 24 * 3600 * 1000


def settle(ex: Exchange, winner: int, market_id: str = MARKET, ts: int | None = None) -> None:
    admin(ex, SettleMarket(market_id=market_id, results=[RunnerResult(selection_id=winner)]), ts)


def statement(ex: Exchange, account: str = "alice", **kw: object) -> wa.AccountStatementReport:
    return get_account_statement(ex, wa.GetAccountStatementParams(**kw), account)  # type: ignore[arg-type]


def cleared(ex: Exchange, account: str = "alice", bet_status: str = "SETTLED",
            **kw: object) -> w.ClearedOrderSummaryReport:
    params = w.ListClearedOrdersParams(bet_status=bet_status, **kw)  # type: ignore[arg-type]
    return list_cleared_orders(ex, params, account)


# --- getAccountStatement -------------------------------------------------------------------------


def resettlement_state() -> Exchange:
    """alice backs 2.00 @ 10.0 on SEL_A, bob lays it (the Landskrona bet of 001:L1063-1124)."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, BACK, 1000, 200, ts=T0 + 1000)
    rest(ex, "bob", SEL_A, LAY, 1000, 200, ts=T0 + 2000)
    return ex


def test_statement_initial_settlement_matches_001_example() -> None:
    """001:L1063-1124: newest first, the commission row (-0.90, "5%", NONE, selectionId 0, grossBetAmount
    18) before the RESULT_WON row (+18, E, the selection); startDate 0001-01-01 when unknown; transactionId
    0; itemClassData.unknownStatementItem is the legacy data as a JSON string including nulls, legacyData
    leaves the optional nulls out."""
    ex = resettlement_state()
    settle(ex, SEL_A, ts=T0 + 10_000)
    report = statement(ex)
    assert report.more_available is False
    items = report.account_statement
    assert [i.amount for i in items] == [-0.9, 18.0, 1000.0]
    assert [i.balance for i in items] == [1017.1, 1018.0, 1000.0]
    commission, won, deposit = items
    assert commission.ref_id == won.ref_id
    assert commission.item_class == "UNKNOWN"
    assert commission.item_date == Instant(T0 + 10_000)
    lc = commission.legacy_data
    assert (lc.commission_rate, lc.bet_category_type, lc.selection_id, lc.gross_bet_amount, lc.win_lose,
            lc.transaction_type, lc.market_type, lc.transaction_id, lc.bet_type) == (
        "5%", "NONE", 0, 18.0, "RESULT_NOT_APPLICABLE", "ACCOUNT_DEBIT", "O", 0, "B")
    assert lc.start_date is not None and lc.start_date.iso() == "0001-01-01T00:00:00.000Z"
    assert lc.placed_date == Instant(T0 + 1000)
    lw = won.legacy_data
    assert (lw.avg_price, lw.bet_size, lw.bet_category_type, lw.selection_id, lw.selection_name, lw.win_lose,
            lw.transaction_type, lw.commission_rate, lw.event_id, lw.event_type_id) == (
        10.0, 2.0, "E", SEL_A, f"runner {SEL_A}", "RESULT_WON", "ACCOUNT_CREDIT", None, 100, 1)
    assert lw.full_market_name == "Soccer /  / market 1.100"
    unknown = json.loads(won.item_class_data["unknownStatementItem"])
    assert list(unknown) == ["avgPrice", "betSize", "betType", "betCategoryType", "commissionRate", "eventId",
                             "eventTypeId", "fullMarketName", "grossBetAmount", "marketName", "marketType",
                             "placedDate", "selectionId", "selectionName", "startDate", "transactionType",
                             "transactionId", "winLose"]
    assert unknown["commissionRate"] is None and unknown["startDate"] == "0001-01-01T00:00:00.000Z"
    assert '"avgPrice":10.0' in won.item_class_data["unknownStatementItem"]  # 001:L1102 writes 10.0
    assert deposit.legacy_data.market_type == "NOT_APPLICABLE" and deposit.legacy_data.event_id is None
    # on the wire: optional nulls (commissionRate, selectionName) left out, required ones kept
    body = json.loads(encode(report))
    wl = body["accountStatement"][1]["legacyData"]
    assert "commissionRate" not in wl and wl["selectionName"] == f"runner {SEL_A}"
    cl = body["accountStatement"][0]["legacyData"]
    assert "selectionName" not in cl and cl["commissionRate"] == "5%"
    assert body["accountStatement"][0]["itemDate"] == Instant(T0 + 10_000).iso()
    assert set(body["accountStatement"][0]) == {"refId", "itemDate", "amount", "balance", "itemClass",
                                                "itemClassData", "legacyData"}


def test_statement_resettlement_lifecycle_001() -> None:
    """001:L1188-1376 (unsettled: RESULT_ERR on the old rows, RESULT_FIX -18 and COMMISSION_REVERSAL +0.90,
    the reversal listed first) then 001:L1378-1593 (resettled as a loser: -2 RESULT_LOST on top)."""
    ex = resettlement_state()
    settle(ex, SEL_A, ts=T0 + 10_000)
    admin(ex, UnsettleMarket(market_id=MARKET), T0 + 20_000)
    items = statement(ex).account_statement
    assert [(i.amount, i.legacy_data.transaction_type, i.legacy_data.win_lose) for i in items] == [
        (0.9, "COMMISSION_REVERSAL", "RESULT_FIX"),
        (-18.0, "ACCOUNT_DEBIT", "RESULT_FIX"),
        (-0.9, "ACCOUNT_DEBIT", "RESULT_ERR"),
        (18.0, "ACCOUNT_CREDIT", "RESULT_ERR"),
        (1000.0, "ACCOUNT_CREDIT", "RESULT_NOT_APPLICABLE"),
    ]
    fix = items[1].legacy_data
    assert (fix.selection_id, fix.bet_category_type, fix.placed_date) == (0, "E", Instant(T0 + 20_000))
    assert items[2].legacy_data.commission_rate == "5%"

    settle(ex, SEL_B, ts=T0 + 30_000)
    items = statement(ex).account_statement
    assert len(items) == 6
    lost = items[0]
    assert (lost.amount, lost.balance, lost.legacy_data.win_lose, lost.legacy_data.transaction_type) == (
        -2.0, 998.0, "RESULT_LOST", "ACCOUNT_DEBIT")
    assert lost.legacy_data.selection_id == SEL_A
    assert [i.legacy_data.win_lose for i in items[1:]] == [
        "RESULT_FIX", "RESULT_FIX", "RESULT_ERR", "RESULT_ERR", "RESULT_NOT_APPLICABLE"]


def test_statement_include_item_date_range_and_paging() -> None:
    """includeItem EXCHANGE / DEPOSITS_WITHDRAWALS / POKER_ROOM, itemDateRange inclusive (applied for ALL,
    L12777-12786), recordCount page limit 100 and moreAvailable (L12771-12798)."""
    ex = resettlement_state()
    settle(ex, SEL_A, ts=T0 + 10_000)
    assert [i.amount for i in statement(ex, include_item="EXCHANGE").account_statement] == [-0.9, 18.0]
    assert [i.amount for i in statement(ex, include_item="DEPOSITS_WITHDRAWALS").account_statement] == [1000.0]
    assert statement(ex, include_item="POKER_ROOM").account_statement == []
    ranged = statement(ex, item_date_range=TimeRange(from_=Instant(T0 + 10_000), to=Instant(T0 + 10_000)))
    assert [i.amount for i in ranged.account_statement] == [-0.9, 18.0]
    first = statement(ex, record_count=2)
    assert [i.amount for i in first.account_statement] == [-0.9, 18.0] and first.more_available
    rest_ = statement(ex, from_record=2, record_count=2)
    assert [i.amount for i in rest_.account_statement] == [1000.0] and not rest_.more_available
    assert len(statement(ex, record_count=500).account_statement) == 3
    with pytest.raises(ApiError) as err:
        statement(ex, from_record=-1)
    assert err.value.code == "INVALID_INPUT_DATA" and err.value.exception_name == "AccountAPINGException"


def test_statement_never_shows_another_account() -> None:
    ex = resettlement_state()
    settle(ex, SEL_A, ts=T0 + 10_000)
    bob = statement(ex, "bob").account_statement
    assert [i.amount for i in bob] == [-18.0, 1000.0]  # no commission on a loss
    assert statement(ex, "carol").account_statement[0].amount == 1000.0
    assert len(statement(ex, "carol").account_statement) == 1


# --- listClearedOrders ---------------------------------------------------------------------------


def test_cleared_market_rollup_with_commission() -> None:
    """003:L3416-3442 shape: two 3.0 backs @ 1.42 that win -> betCount 2, profit 2.52 summed, commission
    0.13 (5% of net winnings), selection/side hoisted, prices averaged, sizeSettled summed, betId left out."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, BACK, 142, 300)
    rest(ex, "alice", SEL_A, BACK, 142, 300)
    rest(ex, "bob", SEL_A, LAY, 142, 600)
    settle(ex, SEL_A, ts=T0 + 10_000)
    report = cleared(ex, group_by="MARKET")
    assert not report.more_available
    (row,) = report.cleared_orders
    assert (row.bet_count, row.profit, row.commission, row.market_id, row.event_id, row.event_type_id) == (
        2, 2.52, 0.13, MARKET, "1", "1")
    assert (row.selection_id, row.side, row.price_matched, row.price_requested, row.size_settled) == (
        SEL_A, "BACK", 1.42, 1.42, 6.0)
    assert row.bet_id is None and row.bet_outcome == "WON" and row.settled_date == Instant(T0 + 10_000)
    assert row.order_type == "LIMIT" and row.price_reduced is False
    # BET level: no commission (003:L11360-11449)
    bets = cleared(ex).cleared_orders
    assert [(b.bet_count, b.profit, b.commission, b.bet_outcome) for b in bets] == [(1, 1.26, None, "WON")] * 2
    # bob lost: commission 0.0 at MARKET level (003:L3303-3315)
    (bob,) = cleared(ex, "bob", group_by="MARKET").cleared_orders
    assert (bob.profit, bob.commission, bob.bet_outcome, bob.bet_id is not None) == (-2.52, 0.0, "LOST", True)


def test_cleared_single_bet_market_rollup_hoists_everything() -> None:
    """One bet in the roll-up: betId, selection, side, prices, sizeSettled hoisted (003:L11347-11350, the
    2.0 @ 2.18 row of 003:L3292-3447: profit 2.36, commission 0.12)."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 218, 200, customer_order_ref="ref-1")
    rest(ex, "bob", SEL_A, LAY, 218, 200)
    settle(ex, SEL_A, ts=T0 + 5000)
    (row,) = cleared(ex, group_by="MARKET").cleared_orders
    assert (row.bet_id, row.selection_id, row.handicap, row.side, row.price_requested, row.price_matched,
            row.size_settled, row.profit, row.commission, row.bet_count, row.customer_order_ref) == (
        str(bet), SEL_A, 0.0, "BACK", 2.18, 2.18, 2.0, 2.36, 0.12, 1, "ref-1")


def test_cleared_bet_rows_for_each_status() -> None:
    """BET-level rows for SETTLED / LAPSED / CANCELLED / VOIDED (003:L9923-9929, 003:L11993-12095);
    sizeCancelled for LAPSED and CANCELLED, sizeSettled for SETTLED and VOIDED."""
    ex = make_exchange()
    matched = rest(ex, "alice", SEL_A, BACK, 300, 200)
    rest(ex, "bob", SEL_A, LAY, 300, 200)
    lapsing = rest(ex, "alice", SEL_B, BACK, 500, 150)  # unmatched LAPSE bet: lapses at close
    cancelled = rest(ex, "alice", SEL_C, BACK, 600, 100)
    cancel(ex, "alice", CancelInstruction(bet_id=cancelled))
    settle(ex, SEL_B, ts=T0 + 5000)

    (s,) = cleared(ex).cleared_orders
    assert (s.bet_id, s.bet_outcome, s.profit, s.size_settled, s.size_cancelled, s.price_matched,
            s.placed_date is not None, s.last_matched_date is not None) == (
        str(matched), "LOST", -2.0, 2.0, None, 3.0, True, True)
    (lapsed,) = cleared(ex, bet_status="LAPSED").cleared_orders
    assert (lapsed.bet_id, lapsed.size_cancelled, lapsed.profit, lapsed.size_settled) == (str(lapsing), 1.5, 0.0, None)
    (canc,) = cleared(ex, bet_status="CANCELLED").cleared_orders
    assert (canc.bet_id, canc.size_cancelled) == (str(cancelled), 1.0)
    # groupBy applies to SETTLED only (003:L11295-11301)
    assert cleared(ex, bet_status="LAPSED", group_by="MARKET").cleared_orders[0].bet_id == str(lapsing)

    add_market(ex, "1.200")
    void_bet = rest(ex, "alice", SEL_A, LAY, 200, 400, market_id="1.200")
    rest(ex, "carol", SEL_A, BACK, 200, 400, market_id="1.200")
    admin(ex, VoidMarket(market_id="1.200"), T0 + 9000)
    (v,) = cleared(ex, bet_status="VOIDED").cleared_orders
    assert (v.bet_id, v.market_id, v.size_settled, v.profit, v.side, v.bet_outcome) == (
        str(void_bet), "1.200", 4.0, 0.0, "LAY", None)


def two_market_state() -> tuple[Exchange, list[int]]:
    """alice: one winning back on 1.100 (settled at T0+5000), a losing back and a winning lay on 1.200
    (event 2, settled at T0+9000)."""
    ex = make_exchange()
    add_market(ex, "1.200", event_id="2", event_name="Other")
    bets = [rest(ex, "alice", SEL_A, BACK, 300, 200)]
    rest(ex, "bob", SEL_A, LAY, 300, 200)
    bets.append(rest(ex, "alice", SEL_A, BACK, 400, 100, market_id="1.200"))
    rest(ex, "bob", SEL_A, LAY, 400, 100, market_id="1.200")
    bets.append(rest(ex, "alice", SEL_B, LAY, 250, 200, market_id="1.200", customer_order_ref="x"))
    rest(ex, "carol", SEL_B, BACK, 250, 200, market_id="1.200")
    settle(ex, SEL_A, ts=T0 + 5000)
    settle(ex, SEL_C, market_id="1.200", ts=T0 + 9000)
    return ex, bets


def test_cleared_filters_ordering_and_paging() -> None:
    """Latest settled first (003:L3292-3447); marketIds, betIds, side, runnerIds, customerOrderRefs and an
    inclusive settledDateRange (003:L11266-11294); fromRecord/recordCount with moreAvailable."""
    ex, (b1, b2, b3) = two_market_state()
    assert [r.bet_id for r in cleared(ex).cleared_orders] == [str(b2), str(b3), str(b1)]
    assert [r.bet_id for r in cleared(ex, market_ids=["1.100"]).cleared_orders] == [str(b1)]
    assert [r.bet_id for r in cleared(ex, bet_ids=[str(b3)]).cleared_orders] == [str(b3)]
    assert [r.bet_id for r in cleared(ex, side="LAY").cleared_orders] == [str(b3)]
    assert [r.bet_id for r in cleared(ex, customer_order_refs=["x"]).cleared_orders] == [str(b3)]
    assert [r.bet_id for r in cleared(ex, event_ids=["2"]).cleared_orders] == [str(b2), str(b3)]
    runner = w.RunnerId(market_id="1.200", selection_id=SEL_B, handicap=0.0)
    assert [r.bet_id for r in cleared(ex, runner_ids=[runner]).cleared_orders] == [str(b3)]
    at = TimeRange(from_=Instant(T0 + 5000), to=Instant(T0 + 5000))
    assert [r.bet_id for r in cleared(ex, settled_date_range=at).cleared_orders] == [str(b1)]
    backwards = TimeRange(from_=Instant(T0 + 9000), to=Instant(T0 + 5000))
    assert cleared(ex, settled_date_range=backwards).cleared_orders == []
    page1 = cleared(ex, record_count=2)
    assert [r.bet_id for r in page1.cleared_orders] == [str(b2), str(b3)] and page1.more_available
    page2 = cleared(ex, from_record=2, record_count=2)
    assert [r.bet_id for r in page2.cleared_orders] == [str(b1)] and not page2.more_available
    with pytest.raises(ApiError):
        cleared(ex, from_record=-1)


def test_cleared_rollup_levels() -> None:
    """SIDE (per runner and side), EVENT, EVENT_TYPE and EXCHANGE roll-ups: profit SUM, settledDate MAX,
    commission SUM at EVENT and above, ids dropped above their level (003:L11360-11449)."""
    ex, (b1, b2, b3) = two_market_state()
    # 1.100: +4.00, commission 0.20; 1.200: -1.00 + 2.00 = +1.00, commission 0.05
    markets = cleared(ex, group_by="MARKET").cleared_orders
    assert [(m.market_id, m.profit, m.commission, m.bet_count) for m in markets] == [
        ("1.200", 1.0, 0.05, 2), ("1.100", 4.0, 0.2, 1)]
    assert markets[0].selection_id is None and markets[0].side is None and markets[0].size_settled is None
    sides = cleared(ex, group_by="SIDE").cleared_orders
    assert [(s.market_id, s.selection_id, s.side, s.bet_id, s.commission) for s in sides] == [
        ("1.200", SEL_A, "BACK", str(b2), None), ("1.200", SEL_B, "LAY", str(b3), None),
        ("1.100", SEL_A, "BACK", str(b1), None)]
    events = cleared(ex, group_by="EVENT").cleared_orders
    assert [(e.event_id, e.market_id, e.profit, e.commission, e.bet_count) for e in events] == [
        ("2", None, 1.0, 0.05, 2), ("1", None, 4.0, 0.2, 1)]
    assert events[1].bet_id is None  # no hoisting above MARKET
    (etype,) = cleared(ex, group_by="EVENT_TYPE").cleared_orders
    assert (etype.event_type_id, etype.event_id, etype.profit, etype.commission, etype.bet_count,
            etype.settled_date) == ("1", None, 5.0, 0.25, 3, Instant(T0 + 9000))
    (exch,) = cleared(ex, group_by="EXCHANGE").cleared_orders
    assert (exch.event_type_id, exch.profit, exch.commission, exch.bet_count) == (None, 5.0, 0.25, 3)
    runners = cleared(ex, group_by="RUNNER", market_ids=["1.200"]).cleared_orders
    assert [(r.selection_id, r.side, r.bet_count) for r in runners] == [(SEL_A, "BACK", 1), (SEL_B, "LAY", 1)]


def test_cleared_item_description_and_isolation() -> None:
    """includeItemDescription from the market definition (003:L12110-12138); bob sees only his own rows."""
    ex, (b1, _, _) = two_market_state()
    (row,) = cleared(ex, market_ids=["1.100"], include_item_description=True).cleared_orders
    d = row.item_description
    assert d is not None
    assert (d.event_type_desc, d.market_desc, d.market_type, d.runner_desc, d.number_of_winners,
            d.market_start_time) == ("Soccer", "market 1.100", "MATCH_ODDS", f"runner {SEL_A}", 1, Instant(0))
    (m,) = cleared(ex, market_ids=["1.200"], group_by="MARKET", include_item_description=True).cleared_orders
    assert m.item_description is not None and m.item_description.runner_desc is None
    assert m.item_description.event_desc == "Other"
    assert cleared(ex).cleared_orders[0].item_description is None
    bob_ids = {r.bet_id for r in cleared(ex, "bob").cleared_orders}
    assert len(bob_ids) == 2 and str(b1) not in bob_ids
    assert cleared(ex, "carol", bet_ids=[str(b1)]).cleared_orders == []
    body = json.loads(encode(cleared(ex, group_by="MARKET")))
    assert body["moreAvailable"] is False and body["clearedOrders"][1]["commission"] == 0.2
    assert body["clearedOrders"][1]["settledDate"] == Instant(T0 + 5000).iso()


def test_cleared_default_last_90_days() -> None:
    """Without settledDateRange.from only the last 90 days are returned (003:L11221-11224)."""
    ex, _ = two_market_state()
    add_market(ex, "1.300")
    rest(ex, "alice", SEL_A, BACK, 300, 100, market_id="1.300", ts=T0 + 91 * DAY_MS)
    assert len(cleared(ex).cleared_orders) == 0  # now is 91 days on: the old settlements are out of range
    old = TimeRange(from_=Instant(T0))
    assert len(cleared(ex, settled_date_range=old).cleared_orders) == 3


# --- listMarketProfitAndLoss ---------------------------------------------------------------------


def test_profit_and_loss_if_win() -> None:
    """betting-api.md §2.5: back 2.00 @ 3.0 on A and lay 1.00 @ 2.0 on B -> ifWin A 4+1 = 5, B -2-1 = -3,
    C -2+1 = -1; unmatched bets ignored; netOfCommission takes 5% off winnings, commissionApplied 5.0."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, BACK, 300, 200)
    rest(ex, "bob", SEL_A, LAY, 300, 200)
    rest(ex, "alice", SEL_B, LAY, 200, 100)
    rest(ex, "carol", SEL_B, BACK, 200, 100)
    rest(ex, "alice", SEL_C, BACK, 1000, 500)  # unmatched
    params = w.ListMarketProfitAndLossParams(market_ids=[MARKET, "1.999"])
    (pnl,) = list_market_profit_and_loss(ex, params, "alice")
    assert pnl.market_id == MARKET and pnl.commission_applied is None
    assert [(p.selection_id, p.if_win, p.if_lose) for p in pnl.profit_and_losses] == [
        (SEL_A, 5.0, None), (SEL_B, -3.0, None), (SEL_C, -1.0, None)]
    (net,) = list_market_profit_and_loss(ex, w.ListMarketProfitAndLossParams(
        market_ids=[MARKET], net_of_commission=True), "alice")
    assert net.commission_applied == 5.0
    assert [p.if_win for p in net.profit_and_losses] == [4.75, -3.0, -1.0]
    (bob,) = list_market_profit_and_loss(ex, params, "bob")
    assert [p.if_win for p in bob.profit_and_losses] == [-4.0, 2.0, 2.0]
    (carol,) = list_market_profit_and_loss(ex, params, "carol")
    assert [p.if_win for p in carol.profit_and_losses] == [-1.0, 1.0, -1.0]
    body = json.loads(encode(list_market_profit_and_loss(ex, params, "alice")))
    assert body == [{"marketId": MARKET, "profitAndLosses": [
        {"selectionId": SEL_A, "ifWin": 5.0}, {"selectionId": SEL_B, "ifWin": -3.0},
        {"selectionId": SEL_C, "ifWin": -1.0}]}]


def test_profit_and_loss_multi_winner_and_settled() -> None:
    """ifLose only for multi-winner ODDS markets (003:L12553-12576); a settled market needs
    includeSettledBets."""
    ex = make_exchange(number_of_winners=2)
    rest(ex, "alice", SEL_A, BACK, 300, 200)
    rest(ex, "bob", SEL_A, LAY, 300, 200)
    params = w.ListMarketProfitAndLossParams(market_ids=[MARKET])
    (pnl,) = list_market_profit_and_loss(ex, params, "alice")
    assert [(p.selection_id, p.if_win, p.if_lose) for p in pnl.profit_and_losses] == [
        (SEL_A, 4.0, -2.0), (SEL_B, 0.0, 0.0), (SEL_C, 0.0, 0.0)]
    admin(ex, SettleMarket(market_id=MARKET, results=[RunnerResult(selection_id=SEL_A),
                                                      RunnerResult(selection_id=SEL_B)]), T0 + 5000)
    assert list_market_profit_and_loss(ex, params, "alice") == []
    with_settled = w.ListMarketProfitAndLossParams(market_ids=[MARKET], include_settled_bets=True)
    assert list_market_profit_and_loss(ex, with_settled, "alice")[0].profit_and_losses[0].if_win == 4.0


def test_profit_and_loss_skips_non_odds_markets() -> None:
    """Only ODDS markets; other betting types are silently left out (003:L10461-10479)."""
    ex = make_exchange()
    add_market(ex, "1.500", betting_type="ASIAN_HANDICAP_SINGLE_LINE")
    got = list_market_profit_and_loss(ex, w.ListMarketProfitAndLossParams(market_ids=["1.500", MARKET]), "alice")
    assert [m.market_id for m in got] == [MARKET]
