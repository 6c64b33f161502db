"""Matching (003:L10912-10913 best execution, 003:L4855-4856 queue priority), traded volume, fill or
kill with a VWAP limit (003:L10824-10852), and bet targets (003:L10910-10943)."""

from __future__ import annotations

import gc
import random

from helpers import (
    BACK,
    LAY,
    MARKET,
    SEL_A,
    SEL_B,
    admin,
    book,
    exposure,
    make_exchange,
    order,
    place,
    placed_id,
    rest,
    to_back,
    to_lay,
)

from backlay.core import codes
from backlay.core.codes import ExecErr, InstrErr
from backlay.core.commands import SetBestExecution
from backlay.core.exchange import Exchange
from backlay.core.money import win_minor

FOK = codes.FILL_OR_KILL


def fragments_by_match(ex: Exchange) -> dict[int, list[tuple[int, int, int, int]]]:
    """match id -> [(bet id, side, price_h, size_minor)] over every order."""
    out: dict[int, list[tuple[int, int, int, int]]] = {}
    for o in ex.orders.values():
        for f in o.fragments:
            out.setdefault(f.match_id, []).append((o.bet_id, o.side, f.price_h, f.size_minor))
    return out


# --- price-time priority and best execution ------------------------------------------------------


def test_time_priority_at_one_price() -> None:
    """003:L4855-4856: at one price the order placed first is matched first (stay at the front of
    the queue)."""
    ex = make_exchange()
    first = rest(ex, "bob", SEL_A, LAY, 350, 500)
    second = rest(ex, "carol", SEL_A, LAY, 350, 500)
    rest(ex, "alice", SEL_A, BACK, 350, 500)
    assert order(ex, first).matched_minor == 500
    assert order(ex, second).matched_minor == 0
    rest(ex, "alice", SEL_A, BACK, 350, 300)
    assert order(ex, second).matched_minor == 300
    assert to_back(ex, SEL_A) == [(350, 200)]
    ex.check_invariants()


def test_price_priority_before_time() -> None:
    """003:L10912-10913: the best price is taken first (for a backer, the highest lay), whatever was
    placed earlier."""
    ex = make_exchange()
    early_worse = rest(ex, "bob", SEL_A, LAY, 340, 500)
    late_better = rest(ex, "carol", SEL_A, LAY, 350, 500)
    rest(ex, "alice", SEL_A, BACK, 300, 500)
    assert order(ex, late_better).matched_minor == 500
    assert order(ex, early_worse).matched_minor == 0
    ex.check_invariants()


def test_back_taker_gets_price_improvement() -> None:
    """003:L10912-10913: best execution: a back @ 3.0 against a lay offered @ 3.5 matches @ 3.5."""
    ex = make_exchange()
    maker = rest(ex, "bob", SEL_A, LAY, 350, 1000)
    r = place(ex, "alice", SEL_A, BACK, 300, 400)
    ir = r.instruction_reports[0]
    assert ir.size_matched_minor == 400
    assert ir.matched_value == 400 * 350  # average price matched 3.5
    assert [f.price_h for f in order(ex, placed_id(r)).fragments] == [350]
    assert [f.price_h for f in order(ex, maker).fragments] == [350]
    ex.check_invariants()


def test_lay_taker_gets_price_improvement() -> None:
    """003:L10912-10913: a lay @ 3.5 against a back offered @ 3.0 matches @ 3.0 (smaller liability)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, BACK, 300, 1000)
    r = place(ex, "alice", SEL_A, LAY, 350, 400)
    o = order(ex, placed_id(r))
    assert [(f.price_h, f.size_minor) for f in o.fragments] == [(300, 400)]
    assert exposure(ex, "alice") == win_minor(400, 300)
    ex.check_invariants()


def test_no_match_when_prices_do_not_cross() -> None:
    """003:L12307 (price is the limit): a back @ 3.6 does not take a lay offered @ 3.5; both rest."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 350, 500)
    r = place(ex, "alice", SEL_A, BACK, 360, 500)
    assert r.instruction_reports[0].size_matched_minor == 0
    assert to_back(ex, SEL_A) == [(350, 500)] and to_lay(ex, SEL_A) == [(360, 500)]
    ex.check_invariants()


def test_partial_fill_rests_the_remainder() -> None:
    """003:L9663, 003:L12345-12348: what is not matched stays in the book; the order is EXECUTABLE."""
    ex = make_exchange()
    maker = rest(ex, "bob", SEL_A, LAY, 300, 500)
    r = place(ex, "alice", SEL_A, BACK, 300, 1200)
    ir = r.instruction_reports[0]
    assert ir.size_matched_minor == 500 and ir.order_status == codes.EXECUTABLE
    o = order(ex, placed_id(r))
    assert (o.matched_minor, o.remaining_minor, o.status) == (500, 700, codes.EXECUTABLE)
    assert order(ex, maker).status == codes.EXECUTION_COMPLETE
    assert to_back(ex, SEL_A) == [] and to_lay(ex, SEL_A) == [(300, 700)]
    ex.check_invariants()


def test_match_walks_several_levels_down_to_the_limit() -> None:
    """003:L10912-10913: a back takes the lays from the best price down to its limit, then rests."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 350, 200)
    rest(ex, "bob", SEL_A, LAY, 340, 300)
    rest(ex, "carol", SEL_A, LAY, 330, 400)
    r = place(ex, "alice", SEL_A, BACK, 340, 1000)
    o = order(ex, placed_id(r))
    assert [(f.price_h, f.size_minor) for f in o.fragments] == [(350, 200), (340, 300)]
    assert r.instruction_reports[0].matched_value == 200 * 350 + 300 * 340
    assert o.remaining_minor == 500
    assert to_back(ex, SEL_A) == [(330, 400)]
    assert to_lay(ex, SEL_A) == [(340, 500)]
    ex.check_invariants()


def test_each_match_has_one_id_on_both_orders() -> None:
    """003:L12594-12624 (matchId): every matched fragment is recorded on the back and on the lay under
    one match id, with the same price and size."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 350, 200)
    rest(ex, "carol", SEL_A, LAY, 350, 300)
    rest(ex, "carol", SEL_A, LAY, 340, 300)
    rest(ex, "alice", SEL_A, BACK, 340, 700)
    matches = fragments_by_match(ex)
    assert len(matches) == 3
    for frags in matches.values():
        assert len(frags) == 2
        (_, s1, p1, z1), (_, s2, p2, z2) = frags
        assert {s1, s2} == {BACK, LAY} and p1 == p2 and z1 == z2
    ex.check_invariants()


def test_fragment_records_match_time() -> None:
    """003:L12195-12199: matchedDate is the time of the match (the taker's command time)."""
    ex = make_exchange()
    maker = rest(ex, "bob", SEL_A, LAY, 300, 500)
    ts = ex.now_ms + 5_000
    rest(ex, "alice", SEL_A, BACK, 300, 200, ts=ts)
    assert order(ex, maker).fragments[0].matched_ms == ts
    assert order(ex, maker).matched_ms == ts
    ex.check_invariants()


def test_traded_volume_last_traded_and_total_matched() -> None:
    """003:L2800-2851, 003:L11547-11551: tradedVolume per price (backer's stake), lastPriceTraded and
    totalMatched per runner and per market."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 350, 200)
    rest(ex, "bob", SEL_A, LAY, 340, 300)
    rest(ex, "alice", SEL_A, BACK, 340, 500)
    rest(ex, "bob", SEL_B, BACK, 500, 400)
    rest(ex, "carol", SEL_B, LAY, 500, 100)
    a, b = book(ex, SEL_A), book(ex, SEL_B)
    assert a.traded == {350: 200, 340: 300}
    assert a.last_traded_h == 340 and a.total_matched_minor == 500
    assert b.traded == {500: 100}
    assert b.last_traded_h == 500 and b.total_matched_minor == 100
    assert ex.markets[MARKET].total_matched_minor == 600
    assert ex.markets[MARKET].last_match_ms == ex.now_ms
    ex.check_invariants()


def test_matched_back_profit_equals_lay_liability() -> None:
    """003:L10915-10916, 003:L12355-12358: for every match the backer's stake*(price-1) is exactly the
    layer's liability: positions are equal and opposite (money.win_minor on both sides)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 155, 103)  # 1.03 @ 1.55: liability 56.65p, rounded once
    rest(ex, "bob", SEL_A, LAY, 150, 101)  # 1.01 @ 1.5: 50.5p, a half penny
    rest(ex, "bob", SEL_A, LAY, 640, 137)
    rest(ex, "alice", SEL_A, BACK, 150, 341)
    pa = ex.markets[MARKET].positions["alice"]
    pb = ex.markets[MARKET].positions["bob"]
    key = ex.markets[MARKET].runners[(SEL_A, 0)].index  # P&L vectors are per runner index
    expected = win_minor(137, 640) + win_minor(103, 155) + win_minor(101, 150)
    assert expected == 740 + 57 + 51
    assert pa.win[key] == expected and pb.win[key] == -expected
    assert pa.lose[key] == -341 and pb.lose[key] == 341
    for frags in fragments_by_match(ex).values():
        (_, _, price, size), _ = frags
        assert win_minor(size, price) == -win_minor(-size, price)
    assert exposure(ex, "bob") == expected
    ex.check_invariants()


def test_book_never_crossed() -> None:
    """003:L2800-2851 (best back < best lay), 003:L10912-10913: whatever arrives, matching leaves the
    best available-to-back price below the best available-to-lay price."""
    ex = make_exchange(funds_minor=10_000_000)
    rng = random.Random(7)
    prices = [300, 310, 320, 330, 340, 350, 360]
    for i in range(300):
        who = ("alice", "bob", "carol")[i % 3]
        rest(ex, who, SEL_A, rng.choice((BACK, LAY)), rng.choice(prices), rng.randint(100, 900))
        b = book(ex, SEL_A)
        assert not b.is_crossed()
        backs, lays = to_back(ex, SEL_A), to_lay(ex, SEL_A)
        if backs and lays:
            assert backs[0][0] < lays[0][0]
    ex.check_invariants()


# --- fill or kill --------------------------------------------------------------------------------


def test_fok_vwap_example() -> None:
    """003:L10829-10831: FOK price 5.4 size 10 may match £2 @ 5.5, £6 @ 5.4 and £2 @ 5.3 (the price is a
    lower limit on the VWAP, not on each fragment)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 550, 200)
    rest(ex, "bob", SEL_A, LAY, 540, 600)
    rest(ex, "carol", SEL_A, LAY, 530, 500)
    r = place(ex, "alice", SEL_A, BACK, 540, 1000, time_in_force=FOK)
    ir = r.instruction_reports[0]
    assert r.status == codes.SUCCESS
    assert ir.size_matched_minor == 1000
    assert ir.order_status == codes.EXECUTION_COMPLETE
    o = order(ex, placed_id(r))
    assert [(f.price_h, f.size_minor) for f in o.fragments] == [(550, 200), (540, 600), (530, 200)]
    assert o.matched_value >= 540 * 1000  # VWAP >= 5.4
    assert to_back(ex, SEL_A) == [(530, 300)]
    assert to_lay(ex, SEL_A) == []  # a FOK never rests
    ex.check_invariants()


def test_fok_lay_vwap_mirror() -> None:
    """003:L10829-10831 (mirrored for LAY): a FOK lay @ 5.4 may take 5.3, 5.4 and some 5.5 as long as
    its VWAP stays <= 5.4."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, BACK, 530, 200)
    rest(ex, "bob", SEL_A, BACK, 540, 600)
    rest(ex, "carol", SEL_A, BACK, 550, 500)
    r = place(ex, "alice", SEL_A, LAY, 540, 1000, time_in_force=FOK)
    o = order(ex, placed_id(r))
    assert [(f.price_h, f.size_minor) for f in o.fragments] == [(530, 200), (540, 600), (550, 200)]
    assert o.matched_value <= 540 * 1000
    ex.check_invariants()


def test_fok_killed_when_vwap_would_fall_below_limit() -> None:
    """003:L10825-10831, 003:L10833-10842, 003:L9664-9668: only 6 @ 5.4 and 4 @ 5.3 for a FOK back of
    10 @ 5.4 (VWAP 5.36): killed: SUCCESS, betId, sizeMatched 0, order EXPIRED, size lapsed; the
    resting lays are untouched."""
    ex = make_exchange()
    m1 = rest(ex, "bob", SEL_A, LAY, 540, 600)
    m2 = rest(ex, "carol", SEL_A, LAY, 530, 400)
    r = place(ex, "alice", SEL_A, BACK, 540, 1000, time_in_force=FOK)
    ir = r.instruction_reports[0]
    assert r.status == codes.SUCCESS and ir.status == codes.SUCCESS
    assert ir.bet_id is not None and ir.size_matched_minor == 0 and ir.matched_value == 0
    o = order(ex, ir.bet_id)
    assert o.status == codes.EXPIRED
    assert (o.matched_minor, o.remaining_minor, o.lapsed_minor) == (0, 0, 1000)
    assert order(ex, m1).matched_minor == 0 and order(ex, m2).matched_minor == 0
    assert to_back(ex, SEL_A) == [(540, 600), (530, 400)]
    assert exposure(ex, "alice") == 0
    ex.check_invariants()


def test_killed_fok_does_not_touch_same_price_resting_orders() -> None:
    """003:L10827-10828: a killed FOK is cancelled immediately and never joins the book, so the resting
    backs at its price are unchanged."""
    ex = make_exchange()
    resting = rest(ex, "carol", SEL_A, BACK, 300, 1000)
    r = place(ex, "alice", SEL_A, BACK, 300, 500, time_in_force=FOK)
    assert order(ex, placed_id(r)).status == codes.EXPIRED
    assert order(ex, resting).remaining_minor == 1000
    assert to_lay(ex, SEL_A) == [(300, 1000)]
    ex.check_invariants()


def test_fok_min_fill_partial_fill() -> None:
    """003:L10826-10828, 003:L10843-10852: FOK size 5 minFillSize 3 with 3.44 available @ 21 matches
    3.44; the unmatched rest is cancelled at once: EXECUTION_COMPLETE, remainder lapsed."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 2100, 344)
    r = place(ex, "alice", SEL_A, BACK, 2100, 500, time_in_force=FOK, min_fill_minor=300)
    ir = r.instruction_reports[0]
    assert r.status == codes.SUCCESS and ir.size_matched_minor == 344
    o = order(ex, placed_id(r))
    assert o.status == codes.EXECUTION_COMPLETE
    assert (o.matched_minor, o.remaining_minor, o.lapsed_minor) == (344, 0, 156)
    assert to_lay(ex, SEL_A) == [] and to_back(ex, SEL_A) == []
    ex.check_invariants()


def test_fok_min_fill_not_reached_is_killed() -> None:
    """003:L10825-10828: with less than minFillSize available the FOK is killed (EXPIRED, nothing
    matched)."""
    ex = make_exchange()
    maker = rest(ex, "bob", SEL_A, LAY, 2100, 200)
    r = place(ex, "alice", SEL_A, BACK, 2100, 500, time_in_force=FOK, min_fill_minor=300)
    o = order(ex, placed_id(r))
    assert o.status == codes.EXPIRED and o.matched_minor == 0 and o.lapsed_minor == 500
    assert order(ex, maker).matched_minor == 0
    ex.check_invariants()


# --- bet targets ---------------------------------------------------------------------------------


def test_back_backers_profit_target_example() -> None:
    """003:L10924-10933: BACK, BACKERS_PROFIT 2.00 @ limit 2.0, a lay offered @ 6.4: matched 0.37 @ 6.4
    (0.37 * 5.4 ~ 2), order complete; the echo has the target and persistence LAPSE."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 640, 1000)
    r = place(ex, "alice", SEL_A, BACK, 200, None, bet_target_type=codes.BACKERS_PROFIT, bet_target_minor=200)
    ir = r.instruction_reports[0]
    assert r.status == codes.SUCCESS
    assert ir.size_matched_minor == 37
    assert ir.matched_value == 37 * 640
    echo = ir.instruction.limit
    assert echo is not None and echo.bet_target_type == codes.BACKERS_PROFIT and echo.bet_target_minor == 200
    assert echo.size_minor is None and echo.persistence == codes.LAPSE
    o = order(ex, placed_id(r))
    assert o.status == codes.EXECUTION_COMPLETE and o.size_minor == 37 and o.remaining_minor == 0
    ex.check_invariants()


def test_lay_payout_target_example() -> None:
    """003:L10934-10943: LAY, PAYOUT 10.00 @ limit 10, a back offered @ 4.2: matched 2.38 @ 4.2
    (2.38 * 4.2 ~ 10)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, BACK, 420, 1000)
    r = place(ex, "alice", SEL_A, LAY, 1000, None, bet_target_type=codes.PAYOUT, bet_target_minor=1000)
    ir = r.instruction_reports[0]
    assert r.status == codes.SUCCESS
    assert ir.size_matched_minor == 238
    assert ir.matched_value == 238 * 420
    assert order(ex, placed_id(r)).status == codes.EXECUTION_COMPLETE
    ex.check_invariants()


def test_size_with_bet_target_is_invalid_bet_size() -> None:
    """003:L12340-12341: it is invalid to specify both a size and a betTargetType -> INVALID_BET_SIZE."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 200, 500, bet_target_type=codes.BACKERS_PROFIT, bet_target_minor=200)
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_bet_target_without_target_size_is_invalid() -> None:
    """003:L12351-12352: betTargetSize must be specified with betTargetType."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, BACK, 200, None, bet_target_type=codes.PAYOUT)
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    assert not ex.orders
    ex.check_invariants()


def test_bet_target_invalid_on_line_market() -> None:
    """003:L9947-9948, 003:L12349-12350: BetTargetType bets are invalid for LINE markets."""
    ex = make_exchange(betting_type="LINE", price_ladder="LINE_RANGE", line_min_h=1000, line_max_h=2000,
                       line_interval_h=50)
    r = place(ex, "alice", SEL_A, BACK, 1500, None, bet_target_type=codes.PAYOUT, bet_target_minor=1000)
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    ex.check_invariants()


def test_bet_target_remainder_rests_as_a_normal_bet() -> None:
    """003:L10919-10921, 003:L12345-12348: what is unmatched is converted to a stake at the limit price
    (remaining profit / (price - 1)) and queued; it then behaves like any other bet."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 400, 100)  # £1 @ 4.0: £3 of the £10 profit
    r = place(ex, "alice", SEL_A, BACK, 300, None, bet_target_type=codes.BACKERS_PROFIT, bet_target_minor=1000)
    o = order(ex, placed_id(r))
    assert o.matched_minor == 100
    assert o.remaining_minor == 350  # £7 profit left / 2.0
    assert o.size_minor == 450 and o.status == codes.EXECUTABLE
    assert to_lay(ex, SEL_A) == [(300, 350)]
    rest(ex, "carol", SEL_A, LAY, 300, 350)
    assert o.matched_minor == 450 and o.status == codes.EXECUTION_COMPLETE
    ex.check_invariants()


def test_bet_target_with_empty_book_rests_whole_target() -> None:
    """003:L10919-10921: nothing to match: the whole payout target becomes a stake at the price
    (PAYOUT 10.00 @ 4.0 -> 2.50)."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, BACK, 400, None, bet_target_type=codes.PAYOUT, bet_target_minor=1000)
    o = order(ex, placed_id(r))
    assert (o.size_minor, o.remaining_minor, o.status) == (250, 250, codes.EXECUTABLE)
    assert exposure(ex, "alice") == 250
    ex.check_invariants()


def test_bet_target_with_fill_or_kill_never_rests() -> None:
    """003:L12335-12337 (betTargetType with FILL_OR_KILL is a valid order), 003:L9940-9941,
    003:L10827-10828: a FOK order that cannot be filled is cancelled at once; nothing rests."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, BACK, 300, None, bet_target_type=codes.BACKERS_PROFIT, bet_target_minor=1000,
              time_in_force=FOK)
    assert r.status == codes.SUCCESS
    o = order(ex, placed_id(r))
    assert o.status == codes.EXPIRED and o.remaining_minor == 0
    assert to_lay(ex, SEL_A) == []
    assert exposure(ex, "alice") == 0
    ex.check_invariants()


def test_price_improvement_beyond_the_accounts_preference_lapses_the_bet() -> None:
    """003:L9901-9909, 003:L6866-6870: with best execution limited by the account's preference, a bet
    that would match at odds more ticks better than allowed lapses (PRICE_IMP_TOO_LARGE) with
    BET_LAPSED_PRICE_IMPROVEMENT_TOO_LARGE; within the preference it matches with improvement."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 350, 1_000)  # a back at 3.0 could match at 3.5: 10 ticks better
    admin(ex, SetBestExecution(account_id="alice", max_price_improvement_ticks=5))
    r = place(ex, "alice", SEL_A, BACK, 300, 200)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.BET_ACTION_ERROR
    ir = r.instruction_reports[0]
    assert ir.error_code == InstrErr.BET_LAPSED_PRICE_IMPROVEMENT_TOO_LARGE and ir.bet_id is not None
    o = order(ex, ir.bet_id)
    assert o.lapsed_minor == 200 and o.matched_minor == 0 and o.lapse_reason == "PRICE_IMP_TOO_LARGE"
    r = place(ex, "alice", SEL_A, BACK, 330, 200)  # 4 ticks better: accepted, matched at 3.5
    assert r.status == codes.SUCCESS and r.instruction_reports[0].size_matched_minor == 200
    admin(ex, SetBestExecution(account_id="alice", max_price_improvement_ticks=None))
    assert place(ex, "alice", SEL_A, BACK, 300, 200).instruction_reports[0].size_matched_minor == 200
    ex.check_invariants()


def test_a_resting_bet_is_one_object_for_the_collector() -> None:
    """Not a spec rule: a live book is mostly bets that never matched, and every full collection walks
    each tracked object, so such a bet holds no container of its own (its fragments are the shared ())."""
    ex = make_exchange(funds_minor=10**7)
    rest(ex, "alice", SEL_A, BACK, 300, 200)  # the price level exists before counting
    gc.collect()
    before = len(gc.get_objects())
    bet_ids = [rest(ex, "alice", SEL_A, BACK, 300, 200) for _ in range(500)]
    gc.collect()
    assert order(ex, bet_ids[0]).fragments == ()
    assert len(gc.get_objects()) - before <= 500 + 20  # the bets, and a few containers that grew
    taker = place(ex, "bob", SEL_A, LAY, 300, 400)
    assert taker.status == "SUCCESS"
    assert [f.size_minor for f in order(ex, bet_ids[0]).fragments] == [200]  # 003:L11848-11851 fragments
