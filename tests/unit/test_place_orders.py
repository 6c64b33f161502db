"""placeOrders (003:L10595-10641, 003:L10823-10909): atomic validation, instruction and execution
error codes, marketVersion, customerRef de-duplication, and the instruction echo."""

from __future__ import annotations

import pytest
from helpers import (
    BACK,
    LAY,
    MARKET,
    SEL_A,
    SEL_B,
    SEL_C,
    T0,
    admin,
    balance,
    cancel,
    exposure,
    limit_ins,
    make_exchange,
    order,
    place,
    place_many,
    placed_id,
    rest,
)

from backlay.core import codes
from backlay.core.codes import ExecErr, InstrErr
from backlay.core.commands import (
    AdvanceTime,
    CloseMarket,
    LimitOnCloseOrder,
    LimitOrder,
    MarketOnCloseOrder,
    PlaceInstruction,
    RemoveRunner,
    SetMarketStatus,
    UpdateMarketDefinition,
)
from backlay.core.exchange import Exchange


def assert_rejected_atomically(ex: Exchange, before: str, report: object, failing: dict[int, str],
                               exec_error: str = ExecErr.BET_ACTION_ERROR) -> None:
    """FAILURE with `exec_error`; instruction i fails with failing[i], the others ERROR_IN_ORDER;
    no bet id and nothing stored."""
    assert report.status == codes.FAILURE  # type: ignore[attr-defined]
    assert report.error_code == exec_error  # type: ignore[attr-defined]
    for i, ir in enumerate(report.instruction_reports):  # type: ignore[attr-defined]
        assert ir.status == codes.FAILURE
        assert ir.error_code == failing.get(i, InstrErr.ERROR_IN_ORDER), (i, ir)
        assert ir.bet_id is None
    assert ex.fingerprint() == before


# --- atomicity -----------------------------------------------------------------------------------


def test_one_bad_instruction_rejects_the_whole_batch() -> None:
    """003:L10601-10603, 003:L9767-9770, 003:L9875: placeOrders is atomic: FAILURE/BET_ACTION_ERROR,
    the bad instruction has its code, the others ERROR_IN_ORDER, nothing is stored."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 300, 500)  # something the good instructions could have matched
    before = ex.fingerprint()
    bal = balance(ex, "alice")
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200), limit_ins(SEL_B, BACK, 201, 200),
                                 limit_ins(SEL_C, LAY, 400, 200)])
    assert_rejected_atomically(ex, before, r, {1: InstrErr.INVALID_ODDS})
    assert not [o for o in ex.orders.values() if o.account_id == "alice"]
    assert exposure(ex, "alice") == 0 and balance(ex, "alice") == bal
    ex.check_invariants()


def test_invalid_runner() -> None:
    """003:L9842: a selection that is not in the market -> INVALID_RUNNER."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200), limit_ins(999, BACK, 300, 200)])
    assert_rejected_atomically(ex, before, r, {1: InstrErr.INVALID_RUNNER})
    ex.check_invariants()


def test_wrong_handicap_is_invalid_runner() -> None:
    """003:L9842, 003:L11646-11650: a runner is (selectionId, handicap); an unknown pair is INVALID_RUNNER."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200, handicap_h=150)])
    assert_rejected_atomically(ex, before, r, {0: InstrErr.INVALID_RUNNER})
    ex.check_invariants()


def test_removed_runner() -> None:
    """003:L9856: betting on a runner removed from the event -> RUNNER_REMOVED."""
    ex = make_exchange()
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=SEL_C))
    before = ex.fingerprint()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200), limit_ins(SEL_C, BACK, 300, 200)])
    assert_rejected_atomically(ex, before, r, {1: InstrErr.RUNNER_REMOVED})
    assert place(ex, "alice", SEL_A, BACK, 300, 200).status == codes.SUCCESS
    ex.check_invariants()


def test_vacant_trap_is_invalid_runner() -> None:
    """003:L9842-9843: INVALID_RUNNER includes vacant traps (REMOVED_VACANT) in greyhound racing."""
    ex = make_exchange()
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=SEL_C, vacant=True))
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_C, BACK, 300, 200)
    assert_rejected_atomically(ex, before, r, {0: InstrErr.INVALID_RUNNER})
    ex.check_invariants()


def test_limit_without_limit_order_is_invalid_bid_type() -> None:
    """003:L9876: orderType LIMIT with no limitOrder -> INVALID_BID_TYPE ("Bid type is mandatory")."""
    ex = make_exchange()
    before = ex.fingerprint()
    ins = PlaceInstruction(order_type=codes.LIMIT, selection_id=SEL_A, side=BACK)
    r = place_many(ex, "alice", [limit_ins(SEL_B, BACK, 300, 200), ins])
    assert_rejected_atomically(ex, before, r, {1: InstrErr.INVALID_BID_TYPE})
    ex.check_invariants()


def test_overlapping_back_and_lay_in_one_call() -> None:
    """003:L9872-9874: a back @ 3.0 and a lay @ 3.5 on one runner would self-match ->
    INVALID_BACK_LAY_COMBINATION, the whole call rejected."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200), limit_ins(SEL_A, LAY, 350, 200)])
    assert r.status == codes.FAILURE and r.error_code == ExecErr.BET_ACTION_ERROR
    codes_ = [ir.error_code for ir in r.instruction_reports]
    assert InstrErr.INVALID_BACK_LAY_COMBINATION in codes_
    assert set(codes_) <= {InstrErr.INVALID_BACK_LAY_COMBINATION, InstrErr.ERROR_IN_ORDER}
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_non_overlapping_back_and_lay_are_accepted() -> None:
    """003:L9872-9874: only overlapping prices on the same runner are rejected: back 3.5 + lay 3.0
    on one runner, and back/lay on different runners, are fine."""
    ex = make_exchange()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 350, 200), limit_ins(SEL_A, LAY, 300, 200),
                                 limit_ins(SEL_B, BACK, 300, 200), limit_ins(SEL_C, LAY, 350, 200)])
    assert r.status == codes.SUCCESS, r
    ex.check_invariants()


def test_overlapping_limit_on_close_back_and_lay() -> None:
    """003:L9872-9874: the back/lay overlap rule also applies to BSP LIMIT_ON_CLOSE bets."""
    ex = make_exchange(bsp_market=True)
    before = ex.fingerprint()

    def loc(side: int, price_h: int) -> PlaceInstruction:
        return PlaceInstruction(order_type=codes.LIMIT_ON_CLOSE, selection_id=SEL_A, side=side,
                                limit_on_close=LimitOnCloseOrder(liability_minor=1000, price_h=price_h))

    r = place_many(ex, "alice", [loc(BACK, 300), loc(LAY, 350)])
    assert r.status == codes.FAILURE and r.error_code == ExecErr.BET_ACTION_ERROR
    assert InstrErr.INVALID_BACK_LAY_COMBINATION in [ir.error_code for ir in r.instruction_reports]
    assert ex.fingerprint() == before
    assert place_many(ex, "alice", [loc(BACK, 350), loc(LAY, 300)]).status == codes.SUCCESS
    ex.check_invariants()


def test_persist_on_market_without_persistence_is_invalid() -> None:
    """003:L9868-9869, 003:L11903-11905: PERSIST needs persistenceEnabled -> INVALID_PERSISTENCE_TYPE."""
    ex = make_exchange(persistence_enabled=False)
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, persistence=codes.PERSIST)
    assert_rejected_atomically(ex, before, r, {0: InstrErr.INVALID_PERSISTENCE_TYPE})
    assert place(ex, "alice", SEL_A, BACK, 300, 200, persistence=codes.LAPSE).status == codes.SUCCESS
    ex.check_invariants()


def test_persist_is_accepted_when_enabled() -> None:
    """003:L9824-9828, 003:L10764-10767: a PERSIST (keep) bet is accepted and stored as PERSIST."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200, persistence=codes.PERSIST)
    assert order(ex, bet).persistence == codes.PERSIST
    ex.check_invariants()


def test_market_on_close_persistence_needs_a_bsp_market() -> None:
    """003:L9829, 003:L9868-9869: persistence MARKET_ON_CLOSE on a non-BSP market ->
    INVALID_PERSISTENCE_TYPE; on a BSP market it is accepted."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, persistence=codes.MARKET_ON_CLOSE)
    assert_rejected_atomically(ex, before, r, {0: InstrErr.INVALID_PERSISTENCE_TYPE})
    bsp = make_exchange(bsp_market=True)
    assert place(bsp, "alice", SEL_A, BACK, 300, 200, persistence=codes.MARKET_ON_CLOSE).status == codes.SUCCESS
    ex.check_invariants()
    bsp.check_invariants()


def test_bsp_order_on_non_bsp_market() -> None:
    """003:L9861-9862: a MARKET_ON_CLOSE order where there is no BSP -> MARKET_NOT_OPEN_FOR_BSP_BETTING."""
    ex = make_exchange()
    before = ex.fingerprint()
    ins = PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=SEL_A, side=BACK,
                           market_on_close=MarketOnCloseOrder(liability_minor=200))
    r = place_many(ex, "alice", [ins])
    assert_rejected_atomically(ex, before, r, {0: InstrErr.MARKET_NOT_OPEN_FOR_BSP_BETTING})
    ex.check_invariants()


# --- fill or kill validation ---------------------------------------------------------------------


def test_fok_with_persist_is_unexpected_persistence_type() -> None:
    """003:L9886-9888: a persistence type on a FILL_OR_KILL order is nonsensical ->
    UNEXPECTED_PERSISTENCE_TYPE."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, time_in_force=codes.FILL_OR_KILL, persistence=codes.PERSIST)
    assert_rejected_atomically(ex, before, r, {0: InstrErr.UNEXPECTED_PERSISTENCE_TYPE})
    ex.check_invariants()


def test_fok_with_lapse_is_accepted() -> None:
    """003:L10835-10842, 003:L12316-12319: FILL_OR_KILL with persistenceType LAPSE succeeds (the
    persistence is ignored). (Filled here; a killed FOK is in test_matching.)"""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 2100, 500)
    r = place(ex, "alice", SEL_A, BACK, 2100, 500, time_in_force=codes.FILL_OR_KILL, min_fill_minor=500,
              persistence=codes.LAPSE)
    assert r.status == codes.SUCCESS
    assert r.instruction_reports[0].bet_id is not None
    assert r.instruction_reports[0].size_matched_minor == 500
    ex.check_invariants()


def test_fok_echo_omits_persistence() -> None:
    """003:L10837 vs 003:L10841: the request sends persistenceType LAPSE with FILL_OR_KILL; the
    instruction echo has minFillSize and timeInForce but no persistenceType."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 2100, 500)
    r = place(ex, "alice", SEL_A, BACK, 2100, 500, time_in_force=codes.FILL_OR_KILL, min_fill_minor=500,
              persistence=codes.LAPSE)
    echo = r.instruction_reports[0].instruction.limit
    assert echo is not None
    assert echo.time_in_force == codes.FILL_OR_KILL and echo.min_fill_minor == 500
    assert echo.persistence is None
    ex.check_invariants()


def test_fok_echo_without_persistence_stays_without() -> None:
    """003:L10841: a FILL_OR_KILL echo carries no persistenceType (none was sent here)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 2100, 500)
    r = place(ex, "alice", SEL_A, BACK, 2100, 500, time_in_force=codes.FILL_OR_KILL)
    assert r.status == codes.SUCCESS
    echo = r.instruction_reports[0].instruction.limit
    assert echo is not None and echo.persistence is None
    ex.check_invariants()


def test_min_fill_size_without_fok() -> None:
    """003:L9892-9895: minFillSize on a limit order whose time in force is not FILL_OR_KILL ->
    UNEXPECTED_MIN_FILL_SIZE."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 500, min_fill_minor=200)
    assert_rejected_atomically(ex, before, r, {0: InstrErr.UNEXPECTED_MIN_FILL_SIZE})
    ex.check_invariants()


@pytest.mark.parametrize("min_fill", [0, -1, 501, 50], ids=["zero", "negative", "above-size", "below-min-bet"])
def test_invalid_min_fill_size(min_fill: int) -> None:
    """003:L9897-9900, 003:L12333-12334: minFillSize must be > 0, <= size and not below the
    currency's min bet size -> else INVALID_MIN_FILL_SIZE."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 500, time_in_force=codes.FILL_OR_KILL, min_fill_minor=min_fill)
    assert_rejected_atomically(ex, before, r, {0: InstrErr.INVALID_MIN_FILL_SIZE})
    ex.check_invariants()


def test_fok_on_limit_on_close_is_invalid_order_type() -> None:
    """003:L9890-9891: a time in force of FILL_OR_KILL with a non-LIMIT order type -> INVALID_ORDER_TYPE."""
    ex = make_exchange(bsp_market=True)
    before = ex.fingerprint()
    ins = PlaceInstruction(order_type=codes.LIMIT_ON_CLOSE, selection_id=SEL_A, side=BACK,
                           limit=LimitOrder(price_h=300, size_minor=200, time_in_force=codes.FILL_OR_KILL),
                           limit_on_close=LimitOnCloseOrder(liability_minor=200, price_h=300))
    r = place_many(ex, "alice", [ins])
    assert_rejected_atomically(ex, before, r, {0: InstrErr.INVALID_ORDER_TYPE})
    ex.check_invariants()


# --- references ----------------------------------------------------------------------------------


def test_customer_order_ref_over_32_chars() -> None:
    """003:L12284-12290, 003:L9896: customerOrderRef is limited to 32 characters ->
    INVALID_CUSTOMER_ORDER_REF; exactly 32 is stored on the order."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, customer_order_ref="x" * 33)
    assert_rejected_atomically(ex, before, r, {0: InstrErr.INVALID_CUSTOMER_ORDER_REF})
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200, customer_order_ref="y" * 32)
    assert order(ex, bet).customer_order_ref == "y" * 32
    ex.check_invariants()


def test_empty_customer_order_ref_is_null() -> None:
    """003:L12289-12290: an empty customerOrderRef is treated as null."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200, customer_order_ref="")
    assert order(ex, bet).customer_order_ref is None
    ex.check_invariants()


def test_customer_strategy_ref_is_stored_and_empty_is_null() -> None:
    """003:L10624-10629: customerStrategyRef (<= 15 chars) is stored on each order; "" is null."""
    ex = make_exchange()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200), limit_ins(SEL_B, BACK, 300, 200)],
                   customer_strategy_ref="strat-1")
    assert all(order(ex, ir.bet_id).customer_strategy_ref == "strat-1" for ir in r.instruction_reports)
    r = place_many(ex, "alice", [limit_ins(SEL_C, BACK, 300, 200)], customer_strategy_ref="")
    assert order(ex, placed_id(r)).customer_strategy_ref is None
    ex.check_invariants()


def test_customer_strategy_ref_over_15_chars_is_refused() -> None:
    """003:L10624-10629 (limited to 15 characters) and SportsAPING.xml's InstructionReportErrorCode
    INVALID_CUSTOMER_STRATEGY_REF, "The supplied customer strategy reference is too long": every instruction
    fails with it, the batch with BET_ACTION_ERROR, and nothing is stored."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200), limit_ins(SEL_B, BACK, 300, 200)],
                   customer_strategy_ref="s" * 16)
    assert (r.status, r.error_code) == (codes.FAILURE, ExecErr.BET_ACTION_ERROR)
    assert [ir.error_code for ir in r.instruction_reports] == [InstrErr.INVALID_CUSTOMER_STRATEGY_REF] * 2
    assert ex.fingerprint() == before
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200)], customer_strategy_ref="s" * 15)
    assert r.status == codes.SUCCESS and order(ex, placed_id(r)).customer_strategy_ref == "s" * 15


def test_customer_ref_is_echoed() -> None:
    """003:L12294-12295: the execution report echoes the customerRef."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, customer_ref="ref-1")
    assert r.customer_ref == "ref-1"
    ex.check_invariants()


# --- market state and request-level errors -------------------------------------------------------


def test_suspended_market() -> None:
    """003:L9778: a SUSPENDED market -> MARKET_SUSPENDED, nothing stored."""
    ex = make_exchange()
    admin(ex, SetMarketStatus(market_id=MARKET, status=codes.SUSPENDED))
    before = ex.fingerprint()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200), limit_ins(SEL_B, BACK, 300, 200)])
    assert r.status == codes.FAILURE and r.error_code == ExecErr.MARKET_SUSPENDED
    assert all(ir.status == codes.FAILURE and ir.bet_id is None for ir in r.instruction_reports)
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_inactive_market_is_not_open_for_betting() -> None:
    """003:L9779-9780, 003:L9615: a market not yet active -> MARKET_NOT_OPEN_FOR_BETTING."""
    ex = make_exchange(open_market=False)
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.MARKET_NOT_OPEN_FOR_BETTING
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_closed_market_is_not_open_for_betting() -> None:
    """003:L9779-9780: a market closed awaiting settlement -> MARKET_NOT_OPEN_FOR_BETTING."""
    ex = make_exchange()
    admin(ex, CloseMarket(market_id=MARKET))
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.MARKET_NOT_OPEN_FOR_BETTING
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_unknown_market() -> None:
    """003:L9789: a market that does not exist -> INVALID_MARKET_ID."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, market_id="1.999")
    assert r.status == codes.FAILURE and r.error_code == ExecErr.INVALID_MARKET_ID
    assert r.market_id == "1.999"
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_more_than_200_instructions() -> None:
    """003:L10609-10610, 003:L9809-9810: more than 200 place instructions -> TOO_MANY_INSTRUCTIONS;
    exactly 200 are accepted."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 100)] * 201)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.TOO_MANY_INSTRUCTIONS
    assert ex.fingerprint() == before
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 100)] * 200)
    assert r.status == codes.SUCCESS
    assert len({ir.bet_id for ir in r.instruction_reports}) == 200
    ex.check_invariants()


def test_duplicate_customer_ref_within_60_seconds() -> None:
    """003:L10611-10614, 003:L9781-9784: the same customerRef within 60 s -> DUPLICATE_TRANSACTION,
    nothing stored; after the 60 s window it is accepted again."""
    ex = make_exchange()
    assert place(ex, "alice", SEL_A, BACK, 300, 200, customer_ref="abc", ts=T0).status == codes.SUCCESS
    admin(ex, AdvanceTime(), T0 + 30_000)  # move the clock
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, customer_ref="abc", ts=T0 + 30_000)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.DUPLICATE_TRANSACTION
    assert ex.fingerprint() == before
    r = place(ex, "alice", SEL_A, BACK, 300, 200, customer_ref="abc", ts=T0 + 60_001)
    assert r.status == codes.SUCCESS
    ex.check_invariants()


def test_customer_ref_is_per_account() -> None:
    """003:L10611-10614: customerRef de-dupes one client's resubmissions; another account may use
    the same string."""
    ex = make_exchange()
    assert place(ex, "alice", SEL_A, BACK, 300, 200, customer_ref="abc").status == codes.SUCCESS
    assert place(ex, "bob", SEL_A, BACK, 300, 200, customer_ref="abc").status == codes.SUCCESS
    ex.check_invariants()


def test_customer_ref_of_a_place_does_not_block_a_cancel() -> None:
    """003:L10611-10614, 003:L10058-10060 (notes 5.15: scope per account and operation): customerRef
    de-dupes mistaken resubmissions of the same request; a cancelOrders is not a resubmission of a
    placeOrders that used the same string."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200, customer_ref="ref-7")
    r = cancel(ex, "alice", bet, customer_ref="ref-7")
    assert r.status == codes.SUCCESS
    ex.check_invariants()


def test_market_version_longer_than_12_digits() -> None:
    """003:L9811-9812: max length for market version is 12 -> INVALID_MARKET_VERSION."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, market_version=10**12)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.INVALID_MARKET_VERSION
    assert ex.fingerprint() == before
    assert place(ex, "alice", SEL_A, BACK, 300, 200, market_version=10**12 - 1).status == codes.SUCCESS
    ex.check_invariants()


def _material_change(ex: Exchange) -> None:
    """A change under suspension, e.g. a goal (003:L10889-10892)."""
    admin(ex, SetMarketStatus(market_id=MARKET, status=codes.SUSPENDED, material=True))
    admin(ex, SetMarketStatus(market_id=MARKET, status=codes.OPEN))


def test_stale_market_version_lapses_with_a_bet_id() -> None:
    """003:L10619-10623, 003:L10864-10865, 003:L10898-10909: placed with a version older than the last
    material change: FAILURE/BET_ACTION_ERROR, instruction FAILURE/BET_TAKEN_OR_LAPSED, a bet id is
    allocated, orderStatus EXECUTION_COMPLETE, sizeMatched 0, the whole size lapsed."""
    ex = make_exchange()
    maker = rest(ex, "bob", SEL_A, LAY, 300, 1000)
    old = ex.markets[MARKET].version
    _material_change(ex)
    bal = balance(ex, "alice")
    r = place(ex, "alice", SEL_A, BACK, 300, 200, market_version=old)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.BET_ACTION_ERROR
    ir = r.instruction_reports[0]
    assert ir.status == codes.FAILURE and ir.error_code == InstrErr.BET_TAKEN_OR_LAPSED
    assert ir.bet_id is not None
    assert ir.order_status == codes.EXECUTION_COMPLETE
    assert ir.size_matched_minor == 0
    assert ir.instruction.limit is not None and ir.instruction.limit.persistence == codes.LAPSE
    o = order(ex, ir.bet_id)
    assert o.status == codes.EXECUTION_COMPLETE
    assert (o.size_minor, o.lapsed_minor, o.matched_minor, o.remaining_minor) == (200, 200, 0, 0)
    assert o.lapse_reason == codes.Lapse.MKT_VERSION
    assert order(ex, maker).matched_minor == 0  # never reached the book
    assert exposure(ex, "alice") == 0 and balance(ex, "alice") == bal
    ex.check_invariants()


def test_runner_removal_is_material_for_market_version() -> None:
    """003:L10884-10887: runner removed -> minimum version moves up; older versions lapse."""
    ex = make_exchange()
    old = ex.markets[MARKET].version
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=SEL_C))
    r = place(ex, "alice", SEL_A, BACK, 300, 200, market_version=old)
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED
    r = place(ex, "alice", SEL_A, BACK, 300, 200, market_version=ex.markets[MARKET].version)
    assert r.status == codes.SUCCESS
    ex.check_invariants()


def test_non_material_change_does_not_lapse_older_version() -> None:
    """003:L10872-10875, 003:L10893: a start-time update bumps the version but is not material: bets
    placed with the previous version are processed normally (and match)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 300, 1000)
    old = ex.markets[MARKET].version
    admin(ex, UpdateMarketDefinition(market_id=MARKET, changes={"market_time_ms": T0 + 3_600_000}))
    assert ex.markets[MARKET].version > old
    r = place(ex, "alice", SEL_A, BACK, 300, 200, market_version=old)
    assert r.status == codes.SUCCESS
    assert r.instruction_reports[0].size_matched_minor == 200
    ex.check_invariants()


# --- the instruction report ----------------------------------------------------------------------


def test_missing_persistence_is_echoed_as_lapse() -> None:
    """003:L10927 vs 003:L10932, 003:L10897 vs 003:L10908: the echo adds persistenceType LAPSE when
    none was sent; the order is LAPSE."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, BACK, 300, 200)
    echo = r.instruction_reports[0].instruction
    assert echo.limit is not None and echo.limit.persistence == codes.LAPSE
    assert (echo.selection_id, echo.side, echo.limit.price_h, echo.limit.size_minor) == (SEL_A, BACK, 300, 200)
    assert order(ex, placed_id(r)).persistence == codes.LAPSE
    ex.check_invariants()


def test_resting_bet_report() -> None:
    """003:L10676-10705: an unmatched LIMIT bet: SUCCESS, a betId, sizeMatched 0, averagePrice 0,
    orderStatus EXECUTABLE (003:L9663)."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, LAY, 300, 200)
    assert r.status == codes.SUCCESS and r.error_code is None and r.market_id == MARKET
    ir = r.instruction_reports[0]
    assert ir.status == codes.SUCCESS and ir.error_code is None
    assert ir.size_matched_minor == 0 and ir.matched_value == 0
    assert ir.order_status == codes.EXECUTABLE
    ex.check_invariants()


def test_bet_ids_are_increasing_numbers() -> None:
    """003:L12389, 003:L9690-9691: each bet gets a new numeric betId; lowest betId is earliest."""
    ex = make_exchange()
    r1 = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 300, 200), limit_ins(SEL_B, BACK, 300, 200)])
    r2 = place(ex, "bob", SEL_C, LAY, 300, 200)
    ids = [ir.bet_id for ir in r1.instruction_reports + r2.instruction_reports]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert all(str(i).isdigit() for i in ids)
    ex.check_invariants()


def test_placed_date_is_the_command_time() -> None:
    """003:L12393-12395: placedDate is when the order was placed (the command's time)."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, BACK, 300, 200, ts=T0 + 12_345)
    ir = r.instruction_reports[0]
    assert ir.placed_ms == T0 + 12_345
    assert order(ex, placed_id(r)).placed_ms == T0 + 12_345
    ex.check_invariants()


def test_bsp_report_has_no_size_matched_or_order_status() -> None:
    """003:L10743-10755, 003:L12382-12386: a MARKET_ON_CLOSE report has betId and placedDate but no
    sizeMatched/averagePriceMatched, and no orderStatus by default."""
    ex = make_exchange(bsp_market=True)
    ins = PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=SEL_A, side=BACK,
                           market_on_close=MarketOnCloseOrder(liability_minor=200))
    r = place_many(ex, "alice", [ins])
    ir = r.instruction_reports[0]
    assert r.status == codes.SUCCESS and ir.bet_id is not None and ir.placed_ms is not None
    assert ir.size_matched_minor is None and ir.matched_value is None and ir.order_status is None
    ex.check_invariants()
