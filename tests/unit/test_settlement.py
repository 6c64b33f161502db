"""Settlement, commission, voiding, dead heats, LINE and Asian handicap markets, cleared orders,
resettlement and the 90-day history.

Spec: commission on net market winnings (001:L1063-1124, 003:L3320-3442); the resettlement lifecycle of
the account statement (001:L1052-1593); cleared-order statuses (003:L9923-9929, 003:L11993-12095); LINE
markets (003:L9646-9653, 003:L12307-12311); 90-day retention (003:L11221-11224). Inventory:
betting-api.md sections 5.7-5.10.
"""

from __future__ import annotations

from typing import Any

import pytest

from backlay.core import codes
from backlay.core.codes import BACK, LAY, AdminErr
from backlay.core.commands import (
    AdvanceTime,
    CancelInstruction,
    CancelOrders,
    CloseMarket,
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOrder,
    MarketDefinition,
    PlaceInstruction,
    PlaceOrders,
    RemoveRunner,
    RunnerDefinition,
    RunnerResult,
    SetMarketStatus,
    SettleMarket,
    UnsettleMarket,
    VoidMarket,
    Withdraw,
)
from backlay.core.exchange import Exchange
from backlay.core.ledger import ClearedOrder, StatementItem
from backlay.core.reports import AdminResult, PlaceExecutionReport
from backlay.core.settlement import asian_handicap_result, back_profit_minor

T0 = 1_700_000_000_000
DAY_MS = 24 * 3600 * 1000
MKT = "1.300"
FUNDS = 100_000


# --- helpers -------------------------------------------------------------------------------------


def run(ex: Exchange, cmd: Command, ts: int | None = None) -> Any:
    result, _ = ex.apply(cmd, ex.now_ms if ts is None else ts)
    return result


def admin(ex: Exchange, cmd: Command, ts: int | None = None) -> AdminResult:
    result = run(ex, cmd, ts)
    assert isinstance(result, AdminResult) and result.ok, result
    return result


def new_exchange(accounts: tuple[str, ...] = ("alice", "bob", "carol")) -> Exchange:
    ex = Exchange()
    admin(ex, AdvanceTime(), T0)
    for acct in accounts:
        admin(ex, CreateAccount(account_id=acct))
        admin(ex, Deposit(account_id=acct, amount_minor=FUNDS))
    return ex


def add_market(ex: Exchange, runners: list[tuple[int, int]] | list[int], market_id: str = MKT,
               **definition: Any) -> None:
    keys = [(r, 0) if isinstance(r, int) else r for r in runners]
    admin(ex, CreateMarket(
        market_id=market_id, definition=MarketDefinition(name="Match Odds", **definition),
        runners=[RunnerDefinition(selection_id=s, handicap_h=h, name=f"runner {s}") for s, h in keys]))
    admin(ex, SetMarketStatus(market_id=market_id, status=codes.OPEN))


def place(ex: Exchange, account: str, sel: int, side: int, price_h: int, size_minor: int, *,
          handicap_h: int = 0, market_id: str = MKT, ts: int | None = None) -> int:
    report = run(ex, PlaceOrders(account_id=account, market_id=market_id, instructions=[PlaceInstruction(
        order_type=codes.LIMIT, selection_id=sel, side=side, handicap_h=handicap_h,
        limit=LimitOrder(price_h=price_h, size_minor=size_minor))]), ts)
    assert isinstance(report, PlaceExecutionReport) and report.status == codes.SUCCESS, report
    bet_id = report.instruction_reports[0].bet_id
    assert bet_id is not None
    return bet_id


def matched(ex: Exchange, backer: str, layer: str, sel: int, price_h: int, size_minor: int, **kw: Any) -> tuple[int, int]:
    """A back and a lay of the same size and price, fully matched: returns (back id, lay id)."""
    back_id = place(ex, backer, sel, BACK, price_h, size_minor, **kw)
    lay_id = place(ex, layer, sel, LAY, price_h, size_minor, **kw)
    assert ex.orders[back_id].matched_minor == size_minor == ex.orders[lay_id].matched_minor
    return back_id, lay_id


def bal(ex: Exchange, account: str) -> int:
    return ex.accounts[account].balance_minor


def statement(ex: Exchange, account: str) -> list[StatementItem]:
    """Statement items of settlements (deposits and withdrawals left out), oldest first."""
    return [i for i in ex.ledger.statements.get(account, []) if i.market_id is not None]


def cleared(ex: Exchange, account: str, bet_id: int | None = None) -> list[ClearedOrder]:
    return [r for r in ex.ledger.cleared.get(account, []) if bet_id is None or r.bet_id == bet_id]


def assert_running_balances(ex: Exchange) -> None:
    """Every statement row's balance is the previous row's balance plus its amount (inventory 5.8:
    compute a running balance); the last one is the account balance."""
    for account_id, items in ex.ledger.statements.items():
        running = None
        for item in items:
            if running is not None:
                assert item.balance_minor == running + item.amount_minor, (account_id, item)
            running = item.balance_minor
        if running is not None:
            assert running == ex.accounts[account_id].balance_minor


def money_conserved(ex: Exchange) -> None:
    ex.check_invariants()
    deposits = sum(a.deposits_minor - a.withdrawals_minor for a in ex.accounts.values())
    assert sum(a.balance_minor for a in ex.accounts.values()) + ex.commission_collected_minor == deposits
    assert_running_balances(ex)


# --- winner / loser and commission ---------------------------------------------------------------


def test_winning_back_pays_net_win_and_commission_on_it() -> None:
    """001:L1063-1124: a winning back of 2.00 @ 10.0 is credited +18.00 (the net win, not stake + win)
    and commission at the 5% market base rate is debited: -0.90. The layer pays 18.00, no commission."""
    ex = new_exchange()
    add_market(ex, [130432, 999])
    back_id, lay_id = matched(ex, "alice", "bob", 130432, 1000, 200)
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=130432)]), T0 + 60_000)
    assert bal(ex, "alice") == FUNDS + 1800 - 90
    assert bal(ex, "bob") == FUNDS - 1800
    assert ex.commission_collected_minor == 90
    assert ex.accounts["alice"].commission_paid_minor == 90
    assert ex.markets[MKT].status == codes.CLOSED
    assert ex.markets[MKT].runners[(130432, 0)].status == codes.WINNER
    assert ex.markets[MKT].runners[(999, 0)].status == codes.LOSER
    (won,) = cleared(ex, "alice")
    assert (won.bet_id, won.bet_status, won.profit_minor, won.bet_outcome) == (back_id, codes.SETTLED, 1800, "WON")
    assert won.size_settled_minor == 200 and won.price_matched_h == 1000
    (lost,) = cleared(ex, "bob")
    assert (lost.bet_id, lost.bet_status, lost.profit_minor, lost.bet_outcome) == (lay_id, codes.SETTLED, -1800, "LOST")
    for acct in ex.accounts.values():
        assert acct.exposure_minor == 0
    money_conserved(ex)


@pytest.mark.parametrize(("price_h", "size_minor", "profit", "commission"),
                         [(128, 200, 56, 3), (218, 200, 236, 12), (142, 600, 252, 13)])
def test_commission_rounding_matches_cleared_order_examples(price_h: int, size_minor: int, profit: int,
                                                            commission: int) -> None:
    """003:L3320-3442: profit 0.56 -> commission 0.03; 2.36 -> 0.12; 2.52 -> 0.13 (5%, to the penny)."""
    ex = new_exchange()
    add_market(ex, [1, 2])
    matched(ex, "alice", "bob", 1, price_h, size_minor)
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=1)]))
    assert bal(ex, "alice") == FUNDS + profit - commission
    assert ex.ledger.market_commission[("alice", MKT)] == commission
    money_conserved(ex)


def test_commission_is_on_net_market_winnings() -> None:
    """Inventory 5.7 (001:L1063-1124): commission = base rate x the account's net positive profit in the
    market; a losing market pays none."""
    ex = new_exchange()
    add_market(ex, [1, 2, 3])
    matched(ex, "alice", "bob", 1, 1000, 200)  # alice +18.00 if 1 wins
    matched(ex, "alice", "carol", 2, 300, 600)  # alice -6.00 if 1 wins
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=1)]))
    assert bal(ex, "alice") == FUNDS + 1800 - 600 - 60  # 5% of the net 12.00
    assert bal(ex, "bob") == FUNDS - 1800
    assert bal(ex, "carol") == FUNDS + 600 - 30
    commission_rows = [i for i in statement(ex, "alice") if i.commission_rate_bp is not None]
    assert len(commission_rows) == 1
    assert commission_rows[0].amount_minor == -60 and commission_rows[0].gross_bet_amount_minor == 1200
    money_conserved(ex)


def test_market_base_rate_is_per_market() -> None:
    """003:L11929-11938 marketBaseRate is per market: 2% here."""
    ex = new_exchange()
    add_market(ex, [1, 2], market_base_rate_bp=200)
    matched(ex, "alice", "bob", 1, 1000, 200)
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=1)]))
    assert bal(ex, "alice") == FUNDS + 1800 - 36


def test_multi_winner_place_market() -> None:
    """003:L6435 numberOfWinners: a place market with 3 winners settles each runner on its own; the
    backer of a placed runner wins, of an unplaced runner loses."""
    ex = new_exchange()
    add_market(ex, [1, 2, 3, 4, 5], market_type="PLACE", number_of_winners=3)
    matched(ex, "alice", "bob", 1, 200, 1000)
    matched(ex, "alice", "bob", 3, 300, 1000)
    matched(ex, "carol", "bob", 5, 400, 1000)
    # bob's exposure covers several winners at once (independent runners)
    assert ex.accounts["bob"].exposure_minor == 1000 + 2000 + 3000
    results = [RunnerResult(selection_id=s) for s in (1, 2, 3)]
    admin(ex, SettleMarket(market_id=MKT, results=results))
    assert bal(ex, "alice") == FUNDS + 1000 + 2000 - 150
    assert bal(ex, "carol") == FUNDS - 1000
    assert bal(ex, "bob") == FUNDS - 3000 + 1000 - 0
    assert [r.bet_outcome for r in cleared(ex, "alice")] == ["WON", "WON"]
    money_conserved(ex)


def test_more_winners_than_number_of_winners_is_rejected() -> None:
    """003:L6435 numberOfWinners: a result with more winners (and no dead heat) is invalid; nothing moves."""
    ex = new_exchange()
    add_market(ex, [1, 2, 3])
    matched(ex, "alice", "bob", 1, 200, 1000)
    before = ex.fingerprint()
    result = run(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=1), RunnerResult(selection_id=2)]))
    assert isinstance(result, AdminResult) and not result.ok and result.error == AdminErr.INVALID_RESULT
    assert ex.fingerprint() == before


@pytest.mark.parametrize("results", [
    [RunnerResult(selection_id=77)],  # unknown runner
    [RunnerResult(selection_id=1), RunnerResult(selection_id=1)],  # twice
    [RunnerResult(selection_id=1, win_quarters=4, void_quarters=1)],
    [RunnerResult(selection_id=1, dead_heat_num=0)],
    [RunnerResult(selection_id=1, status="REMOVED")],
], ids=["unknown", "twice", "quarters", "dead-heat", "status"])
def test_invalid_results_are_rejected(results: list[RunnerResult]) -> None:
    """003:L9622-9627 RunnerStatus results: WINNER / LOSER / PLACED for known active runners."""
    ex = new_exchange()
    add_market(ex, [1, 2])
    matched(ex, "alice", "bob", 1, 200, 1000)
    before = ex.fingerprint()
    result = run(ex, SettleMarket(market_id=MKT, results=results))
    assert isinstance(result, AdminResult) and not result.ok
    assert ex.fingerprint() == before


def test_settlement_state_errors() -> None:
    """003:L9614-9620: an INACTIVE market has nothing to settle; a settled market settles once (until
    unsettled); an unsettled market cannot be unsettled."""
    ex = new_exchange()
    admin(ex, CreateMarket(market_id="1.9", definition=MarketDefinition(name="x"),
                           runners=[RunnerDefinition(selection_id=1, name="a")]))
    for cmd in (SettleMarket(market_id="1.9"), VoidMarket(market_id="1.9"), UnsettleMarket(market_id="1.9")):
        before = ex.fingerprint()
        result = run(ex, cmd)
        assert isinstance(result, AdminResult) and result.error == AdminErr.INVALID_STATE_TRANSITION
        assert ex.fingerprint() == before
    add_market(ex, [1, 2])
    admin(ex, SettleMarket(market_id=MKT))
    for cmd in (SettleMarket(market_id=MKT), VoidMarket(market_id=MKT)):
        before = ex.fingerprint()
        result = run(ex, cmd)
        assert isinstance(result, AdminResult) and result.error == AdminErr.INVALID_STATE_TRANSITION
        assert ex.fingerprint() == before


# --- cleared orders --------------------------------------------------------------------------------


def test_cleared_rows_for_settled_lapsed_and_cancelled_parts() -> None:
    """003:L9923-9929: SETTLED (matched and settled), LAPSED (unmatched, cancelled by the exchange),
    CANCELLED (unmatched, cancelled by the customer); inventory 5.7: one bet can appear under several."""
    ex = new_exchange()
    add_market(ex, [1, 2])
    part = place(ex, "alice", 1, BACK, 400, 1000)
    place(ex, "bob", 1, LAY, 400, 400)  # 4.00 of it matched
    run(ex, CancelOrders(account_id="alice", market_id=MKT,
                         instructions=[CancelInstruction(bet_id=part, size_reduction_minor=200)]))
    left = place(ex, "alice", 2, LAY, 300, 500)  # never matched: lapses at settlement
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=2)]), T0 + 3_600_000)
    rows = {(r.bet_id, r.bet_status): r for r in cleared(ex, "alice")}
    assert set(rows) == {(part, codes.SETTLED), (part, codes.CANCELLED), (part, codes.LAPSED), (left, codes.LAPSED)}
    settled = rows[(part, codes.SETTLED)]
    assert (settled.size_settled_minor, settled.profit_minor, settled.bet_outcome) == (400, -400, "LOST")
    assert rows[(part, codes.CANCELLED)].size_cancelled_minor == 200
    assert rows[(part, codes.LAPSED)].size_cancelled_minor == 400
    assert rows[(left, codes.LAPSED)].size_cancelled_minor == 500
    for row in rows.values():
        assert row.settled_ms == T0 + 3_600_000 and row.placed_ms == T0
    assert bal(ex, "alice") == FUNDS - 400
    money_conserved(ex)


# --- void ----------------------------------------------------------------------------------------


def test_void_market_moves_no_money() -> None:
    """003:L9923-9929 VOIDED: matched then voided; unmatched parts lapse; no money moves and nothing stays
    at risk."""
    ex = new_exchange()
    add_market(ex, [1, 2])
    back_id, lay_id = matched(ex, "alice", "bob", 1, 1000, 200)
    extra = place(ex, "carol", 2, BACK, 300, 500)
    admin(ex, VoidMarket(market_id=MKT))
    for acct in ("alice", "bob", "carol"):
        assert bal(ex, acct) == FUNDS
        assert ex.accounts[acct].exposure_minor == 0
    assert ex.commission_collected_minor == 0
    back = ex.orders[back_id]
    assert (back.voided_minor, back.matched_minor) == (200, 0)
    assert [(r.bet_status, r.size_settled_minor, r.profit_minor) for r in cleared(ex, "alice")] == [
        (codes.VOIDED, 200, 0)]
    assert [r.bet_status for r in cleared(ex, "bob", lay_id)] == [codes.VOIDED]
    assert [r.bet_status for r in cleared(ex, "carol", extra)] == [codes.LAPSED]
    assert statement(ex, "alice") == []
    assert ex.markets[MKT].status == codes.CLOSED
    # a voided market is final
    result = run(ex, UnsettleMarket(market_id=MKT))
    assert isinstance(result, AdminResult) and not result.ok
    money_conserved(ex)


# --- dead heat -------------------------------------------------------------------------------------


def test_dead_heat_halves_the_stake_at_full_odds() -> None:
    """003:L9622-9627 (runner results), inventory 5.7: a 10.00 back at 5.0 on a dead-heat winner (two
    share first place) returns 10/2 * 5 - 10 = +15.00 profit; the layer pays 15.00."""
    assert back_profit_minor(1000, 500, RunnerResult(selection_id=1, dead_heat_num=2)) == 1500
    ex = new_exchange()
    add_market(ex, [1, 2, 3])
    matched(ex, "alice", "bob", 1, 500, 1000)
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=1, dead_heat_num=2),
                                                  RunnerResult(selection_id=2, dead_heat_num=2)]))
    assert bal(ex, "alice") == FUNDS + 1500 - 75
    assert bal(ex, "bob") == FUNDS - 1500
    assert [r.profit_minor for r in cleared(ex, "alice")] == [1500]
    money_conserved(ex)


def test_dead_heat_can_make_a_winning_back_lose() -> None:
    """Inventory 5.7: a back at 1.5 with a dead heat of 3 returns 10/3 * 1.5 = 5.00 of a 10.00 stake: -5.00."""
    assert back_profit_minor(1000, 150, RunnerResult(selection_id=1, dead_heat_num=3)) == -500


# --- LINE markets (003:L9646-9653, 003:L12307-12311) -----------------------------------------------


def line_exchange() -> Exchange:
    ex = new_exchange()
    add_market(ex, [7], betting_type=codes.LINE, price_ladder="LINE_RANGE", market_type="TOTAL_POINTS",
               line_min_h=0, line_max_h=20_000, line_interval_h=50)
    return ex


@pytest.mark.parametrize(("outcome_h", "alice", "bob"), [(2400, 1000, -1000), (2600, -1000, 1000), (2500, 0, 0)],
                         ids=["below", "above", "on-the-line"])
def test_line_market_settles_at_evens(outcome_h: int, alice: int, bob: int) -> None:
    """003:L9646-9653: BACK (SELL) wins if the outcome is less than the line, LAY (BUY) wins if it is
    more; 003:L12307-12311 struck and settled at 2.0 (evens); on the line the stake is returned."""
    ex = line_exchange()
    matched(ex, "alice", "bob", 7, 2500, 1000)  # alice sells 25.0 for 10.00, bob buys
    assert ex.accounts["alice"].exposure_minor == 1000 == ex.accounts["bob"].exposure_minor
    admin(ex, SettleMarket(market_id=MKT, line_outcome_h=outcome_h))
    assert bal(ex, "alice") == FUNDS + alice - (alice * 5 // 100 if alice > 0 else 0)
    assert bal(ex, "bob") == FUNDS + bob - (bob * 5 // 100 if bob > 0 else 0)
    assert ex.markets[MKT].line_outcome_h == outcome_h
    money_conserved(ex)


def test_line_market_needs_a_line_outcome() -> None:
    """003:L9646-9653: a LINE market is settled by its outcome value, not by runner results."""
    ex = line_exchange()
    before = ex.fingerprint()
    result = run(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=7)]))
    assert isinstance(result, AdminResult) and result.error == AdminErr.INVALID_RESULT
    assert ex.fingerprint() == before


# --- Asian handicap ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("handicap_h", "margin", "win_q", "void_q"), [
    (-75, 1, 2, 2),  # -0.75, won by one: half won, half void
    (-25, 0, 0, 2),  # -0.25, a draw: half lost, half void
    (-25, 1, 4, 0),
    (25, 0, 2, 2),  # +0.25, a draw: half won, half void
    (-50, 0, 0, 0),
    (-100, 1, 0, 4),  # whole line: push
    (50, -1, 0, 0),
    (75, -1, 0, 2),  # +0.75 lost by one: half void, half lost
])
def test_asian_handicap_quarter_lines(handicap_h: int, margin: int, win_q: int, void_q: int) -> None:
    """Inventory 5.9 (003:L2188-2601 handicaps in quarters): a quarter line splits the stake over the two
    neighbouring lines; -0.75 with a one-goal win is half win half void, -0.25 with a draw is half loss."""
    r = asian_handicap_result(5, handicap_h, margin)
    assert (r.selection_id, r.handicap_h, r.win_quarters, r.void_quarters) == (5, handicap_h, win_q, void_q)


def test_asian_handicap_market_settlement() -> None:
    """Inventory 5.9: runners are keyed by (selectionId, handicap); a 10.00 back at 2.0 on Home -0.75 when
    Home wins by one is half won (+5.00) and half void; on Home -0.25 after a draw it is half lost (-5.00)."""
    ex = new_exchange()
    runners = [(1, -75), (2, 75), (1, -25), (2, 25)]
    add_market(ex, runners, betting_type=codes.ASIAN_HANDICAP_DOUBLE_LINE, market_type="ASIAN_HANDICAP",
               price_ladder="FINEST", number_of_winners=0)
    matched(ex, "alice", "bob", 1, 200, 1000, handicap_h=-75)
    matched(ex, "carol", "bob", 1, 200, 1000, handicap_h=-25)
    results = [asian_handicap_result(1, -75, 1), asian_handicap_result(2, 75, -1),
               asian_handicap_result(1, -25, 0), asian_handicap_result(2, 25, 0)]
    admin(ex, SettleMarket(market_id=MKT, results=results))
    assert bal(ex, "alice") == FUNDS + 500 - 25
    assert bal(ex, "carol") == FUNDS - 500
    assert bal(ex, "bob") == FUNDS - 500 + 500
    money_conserved(ex)


# --- resettlement lifecycle (001:L1052-1593) -------------------------------------------------------

PLACED_MS = T0 + 1_000
SETTLED_MS = T0 + 3 * 3600 * 1000
UNSETTLED_MS = SETTLED_MS + 4 * 3600 * 1000
RESETTLED_MS = UNSETTLED_MS + 10 * 60 * 1000
LANDSKRONA, GAIS = 130432, 4700101


def landskrona() -> tuple[Exchange, int]:
    """001:L1062-1124: a back of 2.00 on Landskrona at 10.0, in a Match Odds market at 5%."""
    ex = new_exchange()
    add_market(ex, [LANDSKRONA, GAIS], event_type_id="1", event_id="102828127",
               event_name="Landskrona v GAIS")
    back_id, _ = matched(ex, "alice", "bob", LANDSKRONA, 1000, 200, ts=PLACED_MS)
    return ex, back_id


def test_resettlement_lifecycle() -> None:
    """001:L1052-1593: (1) settled as a winner: a bet row +18 RESULT_WON and a commission row -0.90; (2)
    unsettled: those rows become RESULT_ERR and new rows -18 RESULT_FIX and +0.90 COMMISSION_REVERSAL
    RESULT_FIX undo them; (3) resettled with the bet losing: one new row -2 RESULT_LOST carrying the
    original placed date, and no commission row. Balances run; money is conserved at each step."""
    ex, back_id = landskrona()
    start = bal(ex, "alice")

    # 1. initial settlement
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=LANDSKRONA)]), SETTLED_MS)
    rows = statement(ex, "alice")
    assert [(r.amount_minor, r.transaction_type, r.win_lose) for r in rows] == [
        (1800, "ACCOUNT_CREDIT", "RESULT_WON"),
        (-90, "ACCOUNT_DEBIT", "RESULT_NOT_APPLICABLE"),
    ]
    win_row, commission_row = rows
    assert win_row.ref_id == str(back_id)
    assert (win_row.avg_price_h, win_row.bet_size_minor, win_row.selection_id) == (1000, 200, LANDSKRONA)
    assert (win_row.bet_type, win_row.bet_category_type, win_row.market_type) == ("B", "E", "O")
    assert win_row.placed_ms == PLACED_MS and win_row.item_ms == SETTLED_MS
    assert win_row.commission_rate_bp is None
    assert (commission_row.commission_rate_bp, commission_row.gross_bet_amount_minor) == (500, 1800)
    assert (commission_row.bet_category_type, commission_row.selection_id) == ("NONE", 0)
    assert commission_row.item_ms == SETTLED_MS
    assert [r.balance_minor for r in rows] == [start + 1800, start + 1710]
    money_conserved(ex)

    # 2. unsettled
    admin(ex, UnsettleMarket(market_id=MKT), UNSETTLED_MS)
    rows = statement(ex, "alice")
    assert [(r.amount_minor, r.transaction_type, r.win_lose) for r in rows] == [
        (1800, "ACCOUNT_CREDIT", "RESULT_ERR"),
        (-90, "ACCOUNT_DEBIT", "RESULT_ERR"),
        (-1800, "ACCOUNT_DEBIT", "RESULT_FIX"),
        (90, "COMMISSION_REVERSAL", "RESULT_FIX"),
    ]
    for fix in rows[2:]:
        assert fix.item_ms == UNSETTLED_MS and fix.placed_ms == UNSETTLED_MS
        assert fix.bet_category_type == "E"
    assert bal(ex, "alice") == start
    assert ex.commission_collected_minor == 0 and ex.accounts["alice"].commission_paid_minor == 0
    assert ex.markets[MKT].status == codes.CLOSED
    # the bet is open again: alice's 2.00 and bob's 18.00 are at risk
    assert ex.accounts["alice"].exposure_minor == 200 and ex.accounts["bob"].exposure_minor == 1800
    assert cleared(ex, "alice") == []
    money_conserved(ex)

    # 3. resettled: Landskrona lost
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=GAIS)]), RESETTLED_MS)
    rows = statement(ex, "alice")
    assert [(r.amount_minor, r.transaction_type, r.win_lose) for r in rows] == [
        (1800, "ACCOUNT_CREDIT", "RESULT_ERR"),
        (-90, "ACCOUNT_DEBIT", "RESULT_ERR"),
        (-1800, "ACCOUNT_DEBIT", "RESULT_FIX"),
        (90, "COMMISSION_REVERSAL", "RESULT_FIX"),
        (-200, "ACCOUNT_DEBIT", "RESULT_LOST"),
    ]
    lost = rows[-1]
    assert lost.ref_id == str(back_id) and lost.placed_ms == PLACED_MS and lost.item_ms == RESETTLED_MS
    assert (lost.avg_price_h, lost.bet_size_minor, lost.selection_id, lost.bet_category_type) == (
        1000, 200, LANDSKRONA, "E")
    assert bal(ex, "alice") == start - 200
    assert bal(ex, "bob") == FUNDS + 200 - 10
    (row,) = cleared(ex, "alice")
    assert (row.bet_status, row.profit_minor, row.bet_outcome) == (codes.SETTLED, -200, "LOST")
    # the layer's side mirrors it: lost 18.00, reversed, then won 2.00 less 5% commission
    assert [(r.amount_minor, r.win_lose) for r in statement(ex, "bob")] == [
        (-1800, "RESULT_ERR"), (1800, "RESULT_FIX"), (200, "RESULT_WON"), (-10, "RESULT_NOT_APPLICABLE")]
    money_conserved(ex)


def test_resettlement_rows_carry_the_documented_legacy_fields() -> None:
    """001:L1062-1376, inventory 5.8: every entry of one bet has the same refId; the commission row's
    placedDate is the bet's placed date; the RESULT_FIX debit row has selectionId 0, betSize 0 and
    avgPrice 0."""
    ex, back_id = landskrona()
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=LANDSKRONA)]), SETTLED_MS)
    admin(ex, UnsettleMarket(market_id=MKT), UNSETTLED_MS)
    rows = statement(ex, "alice")
    assert {r.ref_id for r in rows} == {str(back_id)}
    commission_row = rows[1]
    assert commission_row.placed_ms == PLACED_MS
    fix = rows[2]
    assert (fix.selection_id, fix.bet_size_minor, fix.avg_price_h) == (0, 0, 0)


def test_withdrawn_winnings_then_unsettle_still_conserves_money() -> None:
    """001:L1188-1376: the unsettle reverses the money exactly, even if it leaves the balance below the
    exposure (the winnings were withdrawn meanwhile)."""
    ex, _ = landskrona()
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=LANDSKRONA)]), SETTLED_MS)
    admin(ex, Withdraw(account_id="alice", amount_minor=FUNDS + 1710))
    admin(ex, UnsettleMarket(market_id=MKT), UNSETTLED_MS)
    assert bal(ex, "alice") == -1710
    money_conserved(ex)
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=LANDSKRONA)]), RESETTLED_MS)
    assert bal(ex, "alice") == 0
    money_conserved(ex)


def test_unsettle_and_resettle_twice() -> None:
    """001:L1052-1593: each resettlement reverses only the rows of the settlement before it."""
    ex, _ = landskrona()
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=LANDSKRONA)]), SETTLED_MS)
    admin(ex, UnsettleMarket(market_id=MKT), UNSETTLED_MS)
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=GAIS)]), RESETTLED_MS)
    admin(ex, UnsettleMarket(market_id=MKT), RESETTLED_MS + 1_000)
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=LANDSKRONA)]), RESETTLED_MS + 2_000)
    assert bal(ex, "alice") == FUNDS + 1710
    assert bal(ex, "bob") == FUNDS - 1800
    assert [r.win_lose for r in statement(ex, "alice")] == [
        "RESULT_ERR", "RESULT_ERR", "RESULT_FIX", "RESULT_FIX", "RESULT_ERR", "RESULT_FIX", "RESULT_WON",
        "RESULT_NOT_APPLICABLE"]
    money_conserved(ex)


# --- 90-day history (003:L11221-11224) --------------------------------------------------------------


def test_history_older_than_90_days_is_pruned_at_a_later_settlement() -> None:
    """003:L11221-11224: listClearedOrders returns the last 90 days; older cleared orders and statement
    items go when a later settlement runs, newer ones stay."""
    ex = new_exchange()
    add_market(ex, [1, 2], market_id="1.old")
    matched(ex, "alice", "bob", 1, 300, 500, market_id="1.old")
    admin(ex, SettleMarket(market_id="1.old", results=[RunnerResult(selection_id=1)]), T0 + DAY_MS)
    assert cleared(ex, "alice") and statement(ex, "alice")

    add_market(ex, [1, 2], market_id="1.mid")
    matched(ex, "alice", "bob", 1, 300, 500, market_id="1.mid")
    admin(ex, SettleMarket(market_id="1.mid", results=[RunnerResult(selection_id=1)]), T0 + 50 * DAY_MS)

    add_market(ex, [1, 2], market_id="1.new")
    matched(ex, "alice", "bob", 1, 300, 500, market_id="1.new")
    admin(ex, SettleMarket(market_id="1.new", results=[RunnerResult(selection_id=2)]), T0 + 92 * DAY_MS)
    assert {r.market_id for r in cleared(ex, "alice")} == {"1.mid", "1.new"}
    assert {r.market_id for r in statement(ex, "alice")} == {"1.mid", "1.new"}
    horizon = T0 + 2 * DAY_MS
    for items in ex.ledger.statements.values():
        assert all(i.item_ms >= horizon for i in items)
    for rows in ex.ledger.cleared.values():
        assert all(r.settled_ms >= horizon for r in rows)
    # balances are not history: they keep everything
    assert bal(ex, "alice") == FUNDS + 2 * (1000 - 50) - 500
    assert "1.old" not in ex.markets  # settled markets go with their history
    money_conserved(ex)


def test_history_at_exactly_90_days_is_kept() -> None:
    """003:L11221-11224: 'the last 90 days' includes an item exactly 90 days old."""
    ex = new_exchange()
    add_market(ex, [1, 2], market_id="1.a")
    matched(ex, "alice", "bob", 1, 300, 500, market_id="1.a")
    admin(ex, SettleMarket(market_id="1.a", results=[RunnerResult(selection_id=1)]), T0 + DAY_MS)
    add_market(ex, [1, 2], market_id="1.b")
    admin(ex, SettleMarket(market_id="1.b"), T0 + 91 * DAY_MS)
    assert {r.market_id for r in cleared(ex, "alice")} == {"1.a"}


# --- close, then settle ---------------------------------------------------------------------------------


def test_close_then_settle_lapses_unmatched_at_close() -> None:
    """003:L9620 CLOSED; inventory 5.12: unmatched bets lapse when the market closes; settlement of a
    closed market settles the matched parts."""
    ex = new_exchange()
    add_market(ex, [1, 2])
    back_id = place(ex, "alice", 1, BACK, 300, 1000)
    place(ex, "bob", 1, LAY, 300, 400)
    admin(ex, CloseMarket(market_id=MKT), T0 + 10_000)
    order = ex.orders[back_id]
    assert (order.lapsed_minor, order.status, order.lapsed_ms) == (600, codes.EXECUTION_COMPLETE, T0 + 10_000)
    assert ex.accounts["alice"].exposure_minor == 400
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=1)]), T0 + 20_000)
    assert bal(ex, "alice") == FUNDS + 800 - 40
    money_conserved(ex)


def test_removed_runner_bets_clear_as_voided() -> None:
    """003:L6756-6757, 003:L9923-9929: matched bets on a removed runner are VOIDED in the cleared orders."""
    ex = new_exchange()
    add_market(ex, [1, 2, 3])
    back_id, _ = matched(ex, "alice", "bob", 3, 500, 1000)
    admin(ex, RemoveRunner(market_id=MKT, selection_id=3))
    admin(ex, SettleMarket(market_id=MKT, results=[RunnerResult(selection_id=1)]))
    assert [(r.bet_status, r.size_settled_minor, r.profit_minor) for r in cleared(ex, "alice", back_id)] == [
        (codes.VOIDED, 1000, 0)]
    assert bal(ex, "alice") == FUNDS and bal(ex, "bob") == FUNDS
    money_conserved(ex)
