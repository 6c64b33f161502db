"""cancelOrders (003:L10035-10066), replaceOrders (003:L11168-11211, 003:L12425-12450) and
updateOrders (003:L11142-11166, 003:L12461-12486)."""

from __future__ import annotations

import pytest
from helpers import (
    BACK,
    LAY,
    MARKET,
    SEL_A,
    SEL_B,
    add_account,
    add_market,
    available,
    balance,
    cancel,
    exposure,
    limit_ins,
    make_exchange,
    order,
    place,
    place_many,
    placed_id,
    replace,
    rest,
    to_back,
    to_lay,
    update,
)

from backlay.core import codes
from backlay.core.codes import ExecErr, InstrErr
from backlay.core.commands import CancelInstruction, MarketOnCloseOrder, PlaceInstruction, TurnInPlay

# --- cancelOrders --------------------------------------------------------------------------------


def test_full_cancel() -> None:
    """003:L10040-10041, 003:L12413-12414, 003:L12451-12460: no sizeReduction cancels the whole
    unmatched size: SUCCESS, sizeCancelled, cancelledDate; the bet leaves the book."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 350, 1000)
    ts = ex.now_ms + 1_000
    r = cancel(ex, "alice", bet, ts=ts)
    assert r.status == codes.SUCCESS and r.market_id == MARKET
    ir = r.instruction_reports[0]
    assert ir.status == codes.SUCCESS and ir.size_cancelled_minor == 1000 and ir.cancelled_ms == ts
    assert ir.instruction.bet_id == bet
    o = order(ex, bet)
    assert (o.remaining_minor, o.cancelled_minor, o.status) == (0, 1000, codes.EXECUTION_COMPLETE)
    assert to_back(ex, SEL_A) == []
    ex.check_invariants()


def test_partial_cancel_with_size_reduction() -> None:
    """003:L12413-12414: a sizeReduction is a partial cancel; the rest stays in the book, EXECUTABLE."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 1000)
    r = cancel(ex, "alice", CancelInstruction(bet_id=bet, size_reduction_minor=300))
    assert r.status == codes.SUCCESS
    assert r.instruction_reports[0].size_cancelled_minor == 300
    o = order(ex, bet)
    assert (o.remaining_minor, o.cancelled_minor, o.status) == (700, 300, codes.EXECUTABLE)
    assert to_lay(ex, SEL_A) == [(300, 700)]
    assert exposure(ex, "alice") == 700
    ex.check_invariants()


def test_partial_cancel_keeps_queue_position() -> None:
    """003:L4855-4856: reducing a bet leaves it where it is in the queue (it is not re-placed)."""
    ex = make_exchange()
    first = rest(ex, "alice", SEL_A, LAY, 350, 1000)
    second = rest(ex, "bob", SEL_A, LAY, 350, 1000)
    cancel(ex, "alice", CancelInstruction(bet_id=first, size_reduction_minor=500))
    rest(ex, "carol", SEL_A, BACK, 350, 500)
    assert order(ex, first).matched_minor == 500 and order(ex, second).matched_minor == 0
    ex.check_invariants()


def test_size_reduction_above_remaining_cancels_the_rest() -> None:
    """003:L12413-12414 (notes 2.9: a reduction >= sizeRemaining cancels what remains): sizeCancelled
    is the amount actually cancelled."""
    ex = make_exchange()
    maker = rest(ex, "alice", SEL_A, LAY, 300, 1000)
    rest(ex, "bob", SEL_A, BACK, 300, 400)
    r = cancel(ex, "alice", CancelInstruction(bet_id=maker, size_reduction_minor=5000))
    assert r.status == codes.SUCCESS
    assert r.instruction_reports[0].size_cancelled_minor == 600
    o = order(ex, maker)
    assert (o.matched_minor, o.remaining_minor, o.cancelled_minor, o.status) == (400, 0, 600, codes.EXECUTION_COMPLETE)
    assert to_back(ex, SEL_A) == []
    ex.check_invariants()


@pytest.mark.parametrize("reduction", [0, -1])
def test_non_positive_size_reduction_is_invalid_bet_size(reduction: int) -> None:
    """003:L12413-12414, 003:L9841: a sizeReduction must be a positive size -> else INVALID_BET_SIZE;
    the bet is unchanged."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    r = cancel(ex, "alice", CancelInstruction(bet_id=bet, size_reduction_minor=reduction))
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    assert order(ex, bet).remaining_minor == 500
    ex.check_invariants()


def test_cancel_unknown_bet_is_invalid_bet_id() -> None:
    """003:L9877: a bet id that does not exist -> INVALID_BET_ID."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = cancel(ex, "alice", 123)
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_ID
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_cannot_cancel_another_accounts_bet() -> None:
    """003:L9877: another account's bet is not found for this account -> INVALID_BET_ID; it stays."""
    ex = make_exchange()
    bobs = rest(ex, "bob", SEL_A, LAY, 350, 1000)
    bob_exposure = exposure(ex, "bob")
    r = cancel(ex, "alice", bobs)
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_ID
    assert order(ex, bobs).remaining_minor == 1000 and order(ex, bobs).cancelled_minor == 0
    assert exposure(ex, "bob") == bob_exposure
    r = cancel(ex, "alice", CancelInstruction(bet_id=bobs, size_reduction_minor=100))
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_ID
    assert order(ex, bobs).remaining_minor == 1000
    ex.check_invariants()


def test_cancel_all_does_not_touch_other_accounts() -> None:
    """003:L10040, 003:L10045-10049: cancel-all cancels the caller's bets only."""
    ex = make_exchange()
    bobs = rest(ex, "bob", SEL_A, LAY, 350, 1000)
    cancel(ex, "alice", all_bets=True)
    cancel(ex, "alice", market_id=None, all_bets=True)
    assert order(ex, bobs).remaining_minor == 1000
    ex.check_invariants()


def test_cancel_fully_matched_bet_is_taken() -> None:
    """003:L9844-9846: a bet that has been taken cannot be cancelled -> BET_TAKEN_OR_LAPSED."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    rest(ex, "bob", SEL_A, BACK, 300, 500)
    r = cancel(ex, "alice", bet)
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED
    assert order(ex, bet).matched_minor == 500 and order(ex, bet).cancelled_minor == 0
    ex.check_invariants()


def test_cancel_already_cancelled_bet() -> None:
    """003:L9844-9846: a bet that has been cancelled cannot be cancelled again -> BET_TAKEN_OR_LAPSED."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    cancel(ex, "alice", bet)
    r = cancel(ex, "alice", bet)
    assert r.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED
    assert order(ex, bet).cancelled_minor == 500
    ex.check_invariants()


def test_cancel_market_on_close_bet() -> None:
    """003:L10041, 003:L9844-9847: only LIMIT orders can be cancelled; a MARKET_ON_CLOSE bet ->
    BET_TAKEN_OR_LAPSED."""
    ex = make_exchange(bsp_market=True)
    ins = PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=SEL_A, side=BACK,
                           market_on_close=MarketOnCloseOrder(liability_minor=500))
    bet = placed_id(place_many(ex, "alice", [ins]))
    r = cancel(ex, "alice", bet)
    assert r.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED
    assert exposure(ex, "alice") == 500
    ex.check_invariants()


def test_duplicate_bet_ids() -> None:
    """003:L9794-9796: the same betId twice in one cancelOrders -> DUPLICATE_BETIDS, nothing cancelled."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    before = ex.fingerprint()
    r = cancel(ex, "alice", bet, CancelInstruction(bet_id=bet, size_reduction_minor=100))
    assert r.status == codes.FAILURE and r.error_code == ExecErr.DUPLICATE_BETIDS
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_instructions_on_another_market_is_invalid_order() -> None:
    """003:L10053, 003:L9785-9788: all instructions must be on the market given -> INVALID_ORDER."""
    ex = make_exchange()
    add_market(ex, "1.200")
    other = rest(ex, "alice", SEL_A, LAY, 300, 500, market_id="1.200")
    r = cancel(ex, "alice", other, market_id=MARKET)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.INVALID_ORDER
    assert order(ex, other).remaining_minor == 500
    ex.check_invariants()


def test_cancel_all_on_a_market() -> None:
    """003:L10053-10056: no instructions with a marketId cancels all the caller's unmatched bets on
    that market, fully; bets on other markets stay."""
    ex = make_exchange()
    add_market(ex, "1.200")
    a1 = rest(ex, "alice", SEL_A, LAY, 300, 500)
    a2 = rest(ex, "alice", SEL_B, BACK, 400, 700)
    partly = rest(ex, "alice", SEL_A, LAY, 320, 1000)
    assert place(ex, "bob", SEL_A, BACK, 320, 400).instruction_reports[0].size_matched_minor == 400
    elsewhere = rest(ex, "alice", SEL_A, BACK, 300, 500, market_id="1.200")
    r = cancel(ex, "alice", all_bets=True)
    assert r.status == codes.SUCCESS and r.market_id == MARKET
    got = {ir.instruction.bet_id: ir.size_cancelled_minor for ir in r.instruction_reports}
    assert got == {a1: 500, a2: 700, partly: 600}
    assert order(ex, partly).matched_minor == 400
    assert order(ex, elsewhere).remaining_minor == 500
    assert to_back(ex, SEL_A) == [] and to_lay(ex, SEL_B) == []
    ex.check_invariants()


def test_cancel_all_bets_of_the_account() -> None:
    """003:L10045-10046, 003:L12409-12410: no marketId and no instructions cancels every bet of the
    account; no instruction reports are returned (an empty list)."""
    ex = make_exchange()
    add_market(ex, "1.200")
    a1 = rest(ex, "alice", SEL_A, LAY, 300, 500)
    a2 = rest(ex, "alice", SEL_A, BACK, 300, 500, market_id="1.200")
    r = cancel(ex, "alice", market_id=None, all_bets=True)
    assert r.status == codes.SUCCESS
    assert r.market_id is None and r.instruction_reports == []
    assert order(ex, a1).cancelled_minor == 500 and order(ex, a2).cancelled_minor == 500
    assert exposure(ex, "alice") == 0
    ex.check_invariants()


def test_some_cancels_fail_processed_with_errors() -> None:
    """003:L9736-9739, 003:L9765-9766: cancelOrders is not atomic: one good and one bad instruction ->
    PROCESSED_WITH_ERRORS, the good one is cancelled."""
    ex = make_exchange()
    good = rest(ex, "alice", SEL_A, LAY, 300, 500)
    r = cancel(ex, "alice", good, 424242)
    assert r.status == codes.PROCESSED_WITH_ERRORS
    assert [ir.status for ir in r.instruction_reports] == [codes.SUCCESS, codes.FAILURE]
    assert r.instruction_reports[1].error_code == InstrErr.INVALID_BET_ID
    assert order(ex, good).cancelled_minor == 500
    ex.check_invariants()


def test_cancel_releases_exposure() -> None:
    """003:L9775-9776 (notes 5.3: funds are reserved at placement and released on cancel): a lay's
    liability comes back to the available balance when it is cancelled, in part or in full."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 350, 1000)
    assert exposure(ex, "alice") == 2500
    assert available(ex, "alice") == balance(ex, "alice") - 2500
    cancel(ex, "alice", CancelInstruction(bet_id=bet, size_reduction_minor=400))
    assert exposure(ex, "alice") == 1500
    cancel(ex, "alice", bet)
    assert exposure(ex, "alice") == 0 and available(ex, "alice") == balance(ex, "alice")
    ex.check_invariants()


# --- replaceOrders -------------------------------------------------------------------------------


def test_replace_places_new_bet_at_new_price() -> None:
    """003:L11174-11177, 003:L12425-12427: the original is cancelled and a new bet (new betId) placed at
    the new price for the remaining stake, same runner, side and persistence."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 1000, persistence=codes.PERSIST)
    r = replace(ex, "alice", (bet, 320))
    assert r.status == codes.SUCCESS, r
    ir = r.instruction_reports[0]
    assert ir.status == codes.SUCCESS
    assert ir.cancel_report is not None and ir.cancel_report.size_cancelled_minor == 1000
    assert ir.place_report is not None and ir.place_report.status == codes.SUCCESS
    new = ir.place_report.bet_id
    assert new is not None and new != bet
    n = order(ex, new)
    assert (n.selection_id, n.side, n.price_h, n.size_minor, n.persistence) == (SEL_A, LAY, 320, 1000, codes.PERSIST)
    echo = ir.place_report.instruction.limit
    assert echo is not None and (echo.price_h, echo.size_minor, echo.persistence) == (320, 1000, codes.PERSIST)
    old = order(ex, bet)
    assert (old.cancelled_minor, old.status) == (1000, codes.EXECUTION_COMPLETE)
    assert to_back(ex, SEL_A) == [(320, 1000)]
    assert exposure(ex, "alice") == 2200
    ex.check_invariants()


def test_replace_partly_matched_bet_moves_only_the_remainder() -> None:
    """003:L12426-12427: the new bet is for the remaining (unmatched) stake."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 1000)
    rest(ex, "bob", SEL_A, BACK, 300, 400)
    r = replace(ex, "alice", (bet, 280))
    new = r.instruction_reports[0].place_report.bet_id  # type: ignore[union-attr]
    assert order(ex, new).size_minor == 600
    assert order(ex, bet).matched_minor == 400 and order(ex, bet).cancelled_minor == 600
    ex.check_invariants()


def test_replace_keeps_customer_order_ref_and_strategy_ref() -> None:
    """003:L12425-12427 (notes 2.11: the new bet inherits customerOrderRef and customerStrategyRef)."""
    ex = make_exchange()
    bet = placed_id(place_many(ex, "alice", [limit_ins(SEL_A, LAY, 300, 500, customer_order_ref="my-ref")],
                               customer_strategy_ref="strat"))
    r = replace(ex, "alice", (bet, 320))
    new = order(ex, r.instruction_reports[0].place_report.bet_id)  # type: ignore[union-attr]
    assert new.customer_order_ref == "my-ref" and new.customer_strategy_ref == "strat"
    ex.check_invariants()


def test_replace_keeps_each_orders_strategy_ref() -> None:
    """003:L10624-10629, 003:L12425-12427 (notes 2.11): each replacement inherits its own original's
    customerStrategyRef, also when one call replaces bets of different strategies."""
    ex = make_exchange()
    b1 = placed_id(place_many(ex, "alice", [limit_ins(SEL_A, LAY, 300, 500)], customer_strategy_ref="s1"))
    b2 = placed_id(place_many(ex, "alice", [limit_ins(SEL_B, LAY, 300, 500)], customer_strategy_ref="s2"))
    r = replace(ex, "alice", (b1, 320), (b2, 320))
    refs = [order(ex, ir.place_report.bet_id).customer_strategy_ref  # type: ignore[union-attr]
            for ir in r.instruction_reports]
    assert refs == ["s1", "s2"]
    ex.check_invariants()


def test_replace_loses_queue_position() -> None:
    """003:L4855-4856, 003:L11174-11175: a replace is a cancel and a new placement, so the new bet
    joins the back of the queue at its price."""
    ex = make_exchange()
    moved = rest(ex, "alice", SEL_A, LAY, 350, 500)
    waiting = rest(ex, "bob", SEL_A, LAY, 340, 500)
    r = replace(ex, "alice", (moved, 340))
    new = r.instruction_reports[0].place_report.bet_id  # type: ignore[union-attr]
    rest(ex, "carol", SEL_A, BACK, 340, 500)
    assert order(ex, waiting).matched_minor == 500
    assert order(ex, new).matched_minor == 0
    ex.check_invariants()


def test_replace_to_a_crossing_price_matches() -> None:
    """003:L11174-11175, 003:L10912-10913: the new bet is placed like any other and matches at once
    when the new price crosses the book."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, BACK, 320, 1000)
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    r = replace(ex, "alice", (bet, 330))
    pr = r.instruction_reports[0].place_report
    assert pr is not None and pr.size_matched_minor == 500 and pr.matched_value == 500 * 320
    ex.check_invariants()


def test_replacement_below_min_stake_is_cancelled_not_placed() -> None:
    """003:L11175-11177, 003:L9878: the cancel is not rolled back when the new bet cannot be placed
    (0.40 left after a partial match is below the min stake/payout at 4.0) -> CANCELLED_NOT_PLACED."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 140)
    assert place(ex, "bob", SEL_A, BACK, 300, 100).instruction_reports[0].size_matched_minor == 100
    r = replace(ex, "alice", (bet, 400))
    assert r.status == codes.FAILURE
    ir = r.instruction_reports[0]
    assert ir.status == codes.FAILURE and ir.error_code == InstrErr.CANCELLED_NOT_PLACED
    assert ir.cancel_report is not None and ir.cancel_report.size_cancelled_minor == 40
    assert ir.place_report is not None and ir.place_report.error_code == InstrErr.INVALID_BET_SIZE
    o = order(ex, bet)
    assert (o.matched_minor, o.remaining_minor, o.cancelled_minor) == (100, 0, 40)
    assert len([x for x in ex.orders.values() if x.account_id == "alice"]) == 1
    assert to_back(ex, SEL_A) == []
    ex.check_invariants()


def test_replacement_without_funds_is_cancelled_not_placed() -> None:
    """003:L11175-11177, 003:L9866-9867: a lay moved up needs more liability than the account has; the
    cancel stands and the place fails -> CANCELLED_NOT_PLACED, exposure released."""
    ex = make_exchange()
    add_account(ex, "dave", 1000)
    bet = rest(ex, "dave", SEL_A, LAY, 400, 300)  # liability 9.00 of 10.00
    r = replace(ex, "dave", (bet, 500))  # would need 12.00
    ir = r.instruction_reports[0]
    assert ir.error_code == InstrErr.CANCELLED_NOT_PLACED
    assert ir.place_report is not None and ir.place_report.error_code == InstrErr.INSUFFICIENT_FUNDS
    assert order(ex, bet).cancelled_minor == 300
    assert exposure(ex, "dave") == 0 and available(ex, "dave") == 1000
    ex.check_invariants()


def test_replacement_at_off_ladder_price_is_cancelled_not_placed() -> None:
    """003:L11174-11177, 003:L9878, 003:L9865: the cancel is completed first; the new bet at an
    off-ladder price cannot be placed -> CANCELLED_NOT_PLACED (place report INVALID_ODDS), and the
    cancellation is not rolled back."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    r = replace(ex, "alice", (bet, 301))
    ir = r.instruction_reports[0]
    assert ir.error_code == InstrErr.CANCELLED_NOT_PLACED
    assert ir.place_report is not None and ir.place_report.error_code == InstrErr.INVALID_ODDS
    assert order(ex, bet).cancelled_minor == 500
    ex.check_invariants()


def test_replace_failures_are_not_rolled_back_across_instructions() -> None:
    """003:L11174-11177, 003:L9736-9739: one replace of a taken bet fails (BET_TAKEN_OR_LAPSED) while
    another goes through -> PROCESSED_WITH_ERRORS."""
    ex = make_exchange()
    taken = rest(ex, "alice", SEL_A, LAY, 300, 500)
    rest(ex, "bob", SEL_A, BACK, 300, 500)
    moving = rest(ex, "alice", SEL_B, LAY, 300, 500)
    r = replace(ex, "alice", (taken, 320), (moving, 320))
    assert r.status == codes.PROCESSED_WITH_ERRORS
    assert r.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED
    assert r.instruction_reports[1].status == codes.SUCCESS
    assert order(ex, moving).cancelled_minor == 500
    ex.check_invariants()


def test_replace_another_accounts_bet_is_invalid_bet_id() -> None:
    """003:L9877: an account cannot replace another account's bet -> INVALID_BET_ID; the bet stays."""
    ex = make_exchange()
    bobs = rest(ex, "bob", SEL_A, LAY, 300, 500)
    r = replace(ex, "alice", (bobs, 320))
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_ID
    assert order(ex, bobs).remaining_minor == 500 and order(ex, bobs).price_h == 300
    assert not [o for o in ex.orders.values() if o.account_id == "alice"]
    ex.check_invariants()


# --- updateOrders --------------------------------------------------------------------------------


def test_update_lapse_to_persist() -> None:
    """003:L12461-12467, 003:L9824-9828: LAPSE -> PERSIST succeeds; the bet then survives turn in-play."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    exp = exposure(ex, "alice")
    r = update(ex, "alice", (bet, codes.PERSIST))
    assert r.status == codes.SUCCESS and r.instruction_reports[0].status == codes.SUCCESS
    assert order(ex, bet).persistence == codes.PERSIST
    assert exposure(ex, "alice") == exp  # 003:L11147: non-exposure changing
    apply_turn = ex.apply(TurnInPlay(market_id=MARKET), ex.now_ms)[0]
    assert apply_turn.ok  # type: ignore[union-attr]
    assert order(ex, bet).remaining_minor == 500 and order(ex, bet).status == codes.EXECUTABLE
    ex.check_invariants()


def test_update_to_same_persistence_is_no_change() -> None:
    """003:L9815-9816, 003:L9881-9882: updating to the current persistence: instruction
    NO_ACTION_REQUIRED, execution report errorCode NO_CHANGE."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    r = update(ex, "alice", (bet, codes.LAPSE))
    assert r.status == codes.FAILURE and r.error_code == ExecErr.NO_CHANGE
    assert r.instruction_reports[0].error_code == InstrErr.NO_ACTION_REQUIRED
    assert order(ex, bet).persistence == codes.LAPSE
    ex.check_invariants()


def test_update_to_persist_without_persistence_enabled() -> None:
    """003:L9868-9869, 003:L11903-11905: PERSIST on a market without persistence ->
    INVALID_PERSISTENCE_TYPE."""
    ex = make_exchange(persistence_enabled=False)
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    r = update(ex, "alice", (bet, codes.PERSIST))
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_PERSISTENCE_TYPE
    assert order(ex, bet).persistence == codes.LAPSE
    ex.check_invariants()


def test_update_to_market_on_close_needs_bsp() -> None:
    """003:L9829, 003:L9868-9869: MARKET_ON_CLOSE on a non-BSP market -> INVALID_PERSISTENCE_TYPE."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, LAY, 300, 500)
    r = update(ex, "alice", (bet, codes.MARKET_ON_CLOSE))
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_PERSISTENCE_TYPE
    bsp = make_exchange(bsp_market=True)
    bet = rest(bsp, "alice", SEL_A, LAY, 300, 500)
    assert update(bsp, "alice", (bet, codes.MARKET_ON_CLOSE)).status == codes.SUCCESS
    ex.check_invariants()
    bsp.check_invariants()


def test_update_completed_bet_is_taken_or_lapsed() -> None:
    """003:L9844-9846: a fully matched (or cancelled) bet cannot be modified -> BET_TAKEN_OR_LAPSED."""
    ex = make_exchange()
    matched = rest(ex, "alice", SEL_A, LAY, 300, 500)
    rest(ex, "bob", SEL_A, BACK, 300, 500)
    cancelled = rest(ex, "alice", SEL_B, LAY, 300, 500)
    cancel(ex, "alice", cancelled)
    r = update(ex, "alice", (matched, codes.PERSIST), (cancelled, codes.PERSIST))
    assert r.status == codes.FAILURE
    assert [ir.error_code for ir in r.instruction_reports] == [InstrErr.BET_TAKEN_OR_LAPSED] * 2
    assert order(ex, matched).persistence == codes.LAPSE
    ex.check_invariants()


def test_update_another_accounts_bet_is_invalid_bet_id() -> None:
    """003:L9877: an account cannot update another account's bet -> INVALID_BET_ID."""
    ex = make_exchange()
    bobs = rest(ex, "bob", SEL_A, LAY, 300, 500)
    r = update(ex, "alice", (bobs, codes.PERSIST))
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_ID
    assert order(ex, bobs).persistence == codes.LAPSE
    ex.check_invariants()


def test_cancel_that_changed_nothing_keeps_its_customer_ref() -> None:
    """003:L10611-10618: customerRef de-dupes resubmissions that took effect. A cancel whose every
    instruction failed changed nothing, so resending it with the same ref is processed again (as a
    rejected placeOrders is); one that cancelled something is a DUPLICATE_TRANSACTION within 60 s."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200)
    r = cancel(ex, "alice", 999, customer_ref="c1")  # unknown bet: nothing happens
    assert r.status == codes.FAILURE
    r = cancel(ex, "alice", bet, customer_ref="c1")
    assert r.status == codes.SUCCESS
    r = cancel(ex, "alice", bet, customer_ref="c1")
    assert r.error_code == ExecErr.DUPLICATE_TRANSACTION
    ex.check_invariants()
