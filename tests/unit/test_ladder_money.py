"""Price ladders (001:L16-86, 003:L10971-10989, 003:L11973-11988), minimum stakes and currency
parameters (001:L226-511, 003:L10944-10952), and the money rounding that keeps both sides of a match
equal (003:L10915-10916, 003:L12355-12358)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from helpers import (
    BACK,
    LAY,
    SEL_A,
    limit_ins,
    make_exchange,
    place,
    place_many,
)

from backlay.core import codes
from backlay.core.codes import InstrErr
from backlay.core.commands import LimitOnCloseOrder, MarketOnCloseOrder, PlaceInstruction
from backlay.core.ladder import (
    CLASSIC_LADDER,
    FINEST_LADDER,
    ladder_for,
    line_range_ladder,
)
from backlay.core.money import CURRENCIES, div_round_half_away, lay_liability_reserve_minor, win_minor

# --- ladders -------------------------------------------------------------------------------------


def test_classic_has_350_ticks_from_1_01_to_1000() -> None:
    """001:L22-66 / 003:L10974-10985: CLASSIC runs 1.01 -> 1000 (350 prices with shared band edges)."""
    assert CLASSIC_LADDER.n_ticks == 350
    assert CLASSIC_LADDER.prices_h[0] == 101
    assert CLASSIC_LADDER.prices_h[-1] == 100_000
    assert CLASSIC_LADDER.prices_h == sorted(set(CLASSIC_LADDER.prices_h))


@pytest.mark.parametrize(
    ("lo", "hi", "step"),
    [(101, 200, 1), (200, 300, 2), (300, 400, 5), (400, 600, 10), (600, 1000, 20), (1000, 2000, 50),
     (2000, 3000, 100), (3000, 5000, 200), (5000, 10000, 500), (10000, 100000, 1000)],
)
def test_classic_band_increments(lo: int, hi: int, step: int) -> None:
    """001:L28-66 / 003:L10976-10985: each CLASSIC band steps by its increment, edges on the ladder."""
    band = [p for p in CLASSIC_LADDER.prices_h if lo <= p <= hi]
    assert band[0] == lo and band[-1] == hi
    assert all(b - a == step for a, b in pairwise(band))


@pytest.mark.parametrize(
    ("boundary", "next_price"),
    [(200, 202), (300, 305), (400, 410), (600, 620), (1000, 1050), (2000, 2100), (3000, 3200),
     (5000, 5500), (10000, 11000)],
)
def test_classic_band_boundaries_belong_to_the_ladder(boundary: int, next_price: int) -> None:
    """001:L28-66: a band edge (2, 3, 4, 6, 10, 20, 30, 50, 100) is valid and the next tick uses the
    upper band's increment."""
    t = CLASSIC_LADDER.tick(boundary)
    assert t is not None
    assert CLASSIC_LADDER.price_h(t + 1) == next_price


def test_classic_2_02_valid_2_01_invalid() -> None:
    """001:L18, 001:L32-34: 2 -> 3 goes in 0.02 steps, so 2.02 is a price and 2.01 is not."""
    assert CLASSIC_LADDER.tick(202) is not None
    assert CLASSIC_LADDER.tick(201) is None


@pytest.mark.parametrize("price_h", [100, 99, 0, 1001, 1015, 100_010, 101_000, -1])
def test_classic_off_ladder_prices(price_h: int) -> None:
    """001:L18: prices outside the increments (or outside 1.01..1000) are not on the ladder."""
    assert CLASSIC_LADDER.tick(price_h) is None


def test_finest_ladder_steps_by_0_01() -> None:
    """001:L68-76 / 003:L10986-10989: FINEST is 1.01 -> 1000 in 0.01 steps."""
    assert FINEST_LADDER.n_ticks == 99_900
    assert FINEST_LADDER.prices_h[0] == 101 and FINEST_LADDER.prices_h[-1] == 100_000
    assert FINEST_LADDER.tick(201) is not None
    assert FINEST_LADDER.tick(99_999) is not None
    assert FINEST_LADDER.tick(100) is None and FINEST_LADDER.tick(100_001) is None


def test_line_range_ladder_min_max_interval() -> None:
    """003:L11981-11986: minUnitValue=10, maxUnitValue=20, interval=0.5 -> 10, 10.5, 11, ... 20."""
    ladder = line_range_ladder(1000, 2000, 50)
    assert ladder.prices_h[:3] == [1000, 1050, 1100]
    assert ladder.prices_h[-1] == 2000
    assert ladder.n_ticks == 21
    assert ladder.tick(1025) is None and ladder.tick(950) is None and ladder.tick(2050) is None
    assert ladder_for("LINE_RANGE", 1000, 2000, 50).prices_h == ladder.prices_h


def test_line_range_needs_positive_interval() -> None:
    """003:L11981-11986: the ladder is defined by a positive interval between min and max."""
    with pytest.raises(ValueError):
        line_range_ladder(1000, 2000, 0)
    with pytest.raises(ValueError):
        line_range_ladder(2000, 1000, 50)


@pytest.mark.parametrize("price_h", [201, 1001, 100, 100_010, -1])
def test_off_ladder_price_is_invalid_odds(price_h: int) -> None:
    """001:L18 / 003:L10972-10973 / 003:L9865: a bet outside the increments gets INVALID_ODDS
    (-1 is the edge's marker for an unconvertible price, commands.py)."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, price_h, 200)
    assert r.status == codes.FAILURE
    assert r.error_code == "BET_ACTION_ERROR"
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_ODDS
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_finest_market_accepts_2_01() -> None:
    """001:L68-76: on a FINEST market every 0.01 is a valid price."""
    ex = make_exchange(price_ladder="FINEST")
    r = place(ex, "alice", SEL_A, BACK, 201, 200)
    assert r.status == codes.SUCCESS
    ex.check_invariants()


def test_line_market_prices_follow_the_line_range() -> None:
    """003:L11981-11986 / 001:L78-86: a LINE market accepts min + k*interval only."""
    ex = make_exchange(betting_type="LINE", price_ladder="LINE_RANGE", line_min_h=1000, line_max_h=2000,
                       line_interval_h=50)
    assert place(ex, "alice", SEL_A, BACK, 1050, 200).status == codes.SUCCESS
    r = place(ex, "alice", SEL_A, BACK, 1030, 200)
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_ODDS
    r = place(ex, "alice", SEL_A, BACK, 2050, 200)
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_ODDS
    ex.check_invariants()


# --- currency parameters and minimum stakes ------------------------------------------------------


def test_gbp_currency_parameters() -> None:
    """001:L249-261: GBP min bet size 1, min deposit 10, min BSP liability 10, min bet payout 10."""
    gbp = CURRENCIES["GBP"]
    assert (gbp.min_bet_size_minor, gbp.min_deposit_minor, gbp.min_bsp_liability_minor,
            gbp.min_bet_payout_minor) == (100, 1000, 1000, 1000)


@pytest.mark.parametrize(
    ("size_minor", "price_h"),
    [(100, 1000), (10, 10_000), (1, 100_000), (100, 101), (1000, 200)],
    ids=["1@10", "0.10@100", "0.01@1000", "1@1.01", "10@2"],
)
def test_min_stake_or_min_payout_is_valid(size_minor: int, price_h: int) -> None:
    """003:L10947-10950: valid if size >= Min Bet Size (£1) or size*price >= Min Bet Payout (£10):
    £1 @ 10, 10p @ 100 and 1p @ 1000 are all valid."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, BACK, price_h, size_minor)
    assert r.status == codes.SUCCESS, r
    ex.check_invariants()


@pytest.mark.parametrize(
    ("size_minor", "price_h"),
    [(1, 200), (99, 1000), (9, 10_000), (50, 1000), (99, 101)],
    ids=["0.01@2", "0.99@10", "0.09@100", "0.50@10", "0.99@1.01"],
)
def test_below_min_stake_and_min_payout_is_invalid_bet_size(size_minor: int, price_h: int) -> None:
    """003:L10947-10950 / 003:L9841: below £1 and a payout under £10 -> INVALID_BET_SIZE
    (the Java sample's 0.01 bet, 003:L3453-3454)."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, price_h, size_minor)
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_min_payout_applies_to_lays_by_backers_stake() -> None:
    """003:L10947-10950: size is the backer's stake on both sides, so a lay of 10p @ 100 is valid."""
    ex = make_exchange()
    assert place(ex, "alice", SEL_A, LAY, 10_000, 10).status == codes.SUCCESS
    r = place(ex, "alice", SEL_A, LAY, 200, 1)
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    ex.check_invariants()


@pytest.mark.parametrize("size_minor", [-1, 0])
def test_unconvertible_or_zero_size_is_invalid_bet_size(size_minor: int) -> None:
    """003:L9841 (commands.py: an unconvertible wire size arrives as -1): INVALID_BET_SIZE."""
    ex = make_exchange()
    r = place(ex, "alice", SEL_A, BACK, 300, size_minor)
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    assert not ex.orders
    ex.check_invariants()


def _bsp(side: int, liability_minor: int, price_h: int | None = None) -> PlaceInstruction:
    if price_h is None:
        return PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=SEL_A, side=side,
                                market_on_close=MarketOnCloseOrder(liability_minor=liability_minor))
    return PlaceInstruction(order_type=codes.LIMIT_ON_CLOSE, selection_id=SEL_A, side=side,
                            limit_on_close=LimitOnCloseOrder(liability_minor=liability_minor, price_h=price_h))


@pytest.mark.parametrize("price_h", [None, 500], ids=["MOC", "LOC"])
def test_min_bsp_liability_for_lays(price_h: int | None) -> None:
    """001:L230, 001:L259 / 003:L10709-10710: BSP LAY bets need the Minimum BSP Liability (£10)."""
    ex = make_exchange(bsp_market=True)
    r = place_many(ex, "alice", [_bsp(LAY, 999, price_h)])
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    r = place_many(ex, "alice", [_bsp(LAY, 1000, price_h)])
    assert r.status == codes.SUCCESS, r
    ex.check_invariants()


def test_bsp_back_uses_min_bet_size_not_min_bsp_liability() -> None:
    """003:L10710-10711, L10747-10754: a £2 BACK MARKET_ON_CLOSE is accepted; below £1 it is not."""
    ex = make_exchange(bsp_market=True)
    assert place_many(ex, "alice", [_bsp(BACK, 200)]).status == codes.SUCCESS
    r = place_many(ex, "alice", [_bsp(BACK, 99)])
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    ex.check_invariants()


def test_min_payout_exception_is_for_limit_orders_only() -> None:
    """003:L10951: the min payout rule is for LIMIT only: a 10p LOC back @ 100 is still too small."""
    ex = make_exchange(bsp_market=True)
    r = place_many(ex, "alice", [_bsp(BACK, 10, 10_000)])
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_BET_SIZE
    assert place_many(ex, "alice", [limit_ins(SEL_A, BACK, 10_000, 10)]).status == codes.SUCCESS
    ex.check_invariants()


# --- money rounding ------------------------------------------------------------------------------


def test_win_minor_is_stake_times_price_minus_one() -> None:
    """003:L10915-10916: backer's profit = size * (price - 1) = the layer's liability."""
    assert win_minor(1000, 350) == 2500
    assert win_minor(37, 640) == 200  # 0.37 * 5.4 = 1.998 -> 2.00
    assert win_minor(238, 420) == 762  # 2.38 * 3.2 = 7.616 -> 7.62


def test_rounding_is_symmetric_half_away_from_zero() -> None:
    """003:L10915-10916: the backer's win and the layer's loss are the same amount, rounded once."""
    assert div_round_half_away(50, 100) == 1
    assert div_round_half_away(-50, 100) == -1
    assert div_round_half_away(49, 100) == 0
    for n in range(-500, 501):
        assert div_round_half_away(-n, 100) == -div_round_half_away(n, 100)


def test_lay_reserve_covers_the_settled_liability() -> None:
    """003:L12355-12358: a lay's liability is size*(price-1); the reserve for an unmatched lay is
    never below what the matched lay can lose, and at most 1p above it."""
    for price_h in CLASSIC_LADDER.prices_h[::7]:
        for size in (1, 2, 3, 7, 33, 101, 999):
            reserve = lay_liability_reserve_minor(size, price_h)
            assert 0 <= reserve - win_minor(size, price_h) <= 1
    assert lay_liability_reserve_minor(1, 150) == 1
    assert lay_liability_reserve_minor(1, 101) == 1
    assert lay_liability_reserve_minor(1000, 300) == 2000

