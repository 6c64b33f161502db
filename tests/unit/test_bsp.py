"""Betfair Starting Price (003:L11115-11141, L11695-11736; betting-api.md §5.6): far and near prices,
LIMIT_ON_CLOSE limits, reconciliation at turn in-play, what lapses, removed runners, settlement."""

from __future__ import annotations

from fractions import Fraction

import pytest
from helpers import BACK, LAY, MARKET, SEL_A, SEL_B, admin, apply, make_exchange, order, place_many, rest

from backlay.core import bsp, codes
from backlay.core.commands import (
    CloseMarket,
    LimitOnCloseOrder,
    MarketOnCloseOrder,
    PlaceInstruction,
    RemoveRunner,
    RunnerResult,
    SettleMarket,
    TurnInPlay,
)
from backlay.core.exchange import Exchange


def bsp_exchange() -> Exchange:
    return make_exchange(("alice", "bob", "carol", "dave"), funds_minor=10_000_000, bsp_market=True)


def moc(ex: Exchange, account: str, side: int, liability_minor: int, sel: int = SEL_A) -> int:
    report = place_many(ex, account, [PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=sel, side=side,
                                                       market_on_close=MarketOnCloseOrder(liability_minor=liability_minor))])
    assert report.status == codes.SUCCESS, report
    bet_id = report.instruction_reports[0].bet_id
    assert bet_id is not None
    return bet_id


def loc(ex: Exchange, account: str, side: int, liability_minor: int, price_h: int, sel: int = SEL_A) -> int:
    report = place_many(ex, account, [PlaceInstruction(
        order_type=codes.LIMIT_ON_CLOSE, selection_id=sel, side=side,
        limit_on_close=LimitOnCloseOrder(liability_minor=liability_minor, price_h=price_h))])
    assert report.status == codes.SUCCESS, report
    bet_id = report.instruction_reports[0].bet_id
    assert bet_id is not None
    return bet_id


def runner(ex: Exchange, sel: int = SEL_A) -> object:
    return ex.markets[MARKET].runners[(sel, 0)]


def near(ex: Exchange, sel: int = SEL_A) -> object:
    m = ex.markets[MARKET]
    return bsp.near_price(m, m.runners[(sel, 0)])


def far(ex: Exchange, sel: int = SEL_A) -> object:
    m = ex.markets[MARKET]
    return bsp.far_price(m, m.runners[(sel, 0)])


def test_far_price_examples() -> None:
    """"£1000 worth of backers stakes ... and £6000 worth of layers liability ... an SP of 6/1 (7.0)";
    reversed, "1/6 (1.17)" (003:L11130-11136)."""
    ex = bsp_exchange()
    moc(ex, "alice", BACK, 100_000)
    moc(ex, "bob", LAY, 600_000)
    assert far(ex) == 7
    ex = bsp_exchange()
    moc(ex, "alice", BACK, 600_000)
    moc(ex, "bob", LAY, 100_000)
    assert far(ex) == Fraction(7, 6) and bsp.as_float(far(ex)) == 1.17  # type: ignore[arg-type]


def test_no_money_no_backers_no_layers() -> None:
    """Special doubles (003:L11705-11716): NaN with nothing to price, Infinity with only layers; with only
    backers the lowest price."""
    ex = bsp_exchange()
    assert far(ex) == bsp.NAN
    moc(ex, "bob", LAY, 10_000)
    assert far(ex) == bsp.INFINITY
    moc(ex, "alice", BACK, 10_000, sel=SEL_B)
    assert far(ex, SEL_B) == Fraction(101, 100)


def test_near_price_uses_the_exchanges_unmatched_money() -> None:
    """The near price includes the runner's unmatched exchange bets (003:L11700-11707): with £6000 of SP
    backs, £1000 of SP lay liability and an exchange lay of £2000 @ 4.0, backers get 1.25, not 1.17."""
    ex = bsp_exchange()
    moc(ex, "alice", BACK, 600_000)
    moc(ex, "bob", LAY, 100_000)
    rest(ex, "carol", SEL_A, LAY, 400, 200_000)
    assert far(ex) == Fraction(7, 6)
    assert near(ex) == Fraction(5, 4)


def test_limit_on_close_joins_only_within_its_limit() -> None:
    """A LOC back takes part only if the SP is at least its limit, a LOC lay only if at most
    (betting-api.md §5.6): a back limited to 8.0 stays out of a 7.0 auction, one limited to 5.0 is in."""
    ex = bsp_exchange()
    moc(ex, "alice", BACK, 100_000)
    moc(ex, "bob", LAY, 600_000)
    loc(ex, "carol", BACK, 50_000, 800)
    assert far(ex) == 7
    loc(ex, "dave", BACK, 50_000, 500)
    assert far(ex) == 5  # 1 + 6000/1500: still within the 5.0 limit


def test_limit_price_can_be_the_sp() -> None:
    """Where demand jumps past supply at a limit, that limit is the SP, and those at it are matched last:
    £1000 of SP backs against exchange lays of £500 @ 4.0 and £1000 @ 3.0 reconcile at 3.0."""
    ex = bsp_exchange()
    back = moc(ex, "alice", BACK, 100_000)
    high = rest(ex, "bob", SEL_A, LAY, 400, 50_000, persistence=codes.PERSIST)
    low = rest(ex, "carol", SEL_A, LAY, 300, 100_000, persistence=codes.PERSIST)
    assert near(ex) == 3
    admin(ex, TurnInPlay(market_id=MARKET))
    assert runner(ex).bsp_h == 300  # type: ignore[attr-defined]
    assert order(ex, back).matched_minor == 100_000 and order(ex, back).avg_price_matched_h() == 300
    assert order(ex, high).matched_minor == 50_000  # the more willing layer goes first, at 3.0 (better)
    assert order(ex, low).matched_minor == 50_000 and order(ex, low).remaining_minor == 50_000  # stays
    ex.check_invariants()


def test_reconciliation_at_turn_in_play() -> None:
    """003:L11137-11138: at turn in-play each runner's SP is set and its auction matched, SP bets' leftovers
    lapse, unmatched LOC bets lapse, bspReconciled; no more BSP bets (MARKET_NOT_OPEN_FOR_BSP_BETTING)."""
    ex = bsp_exchange()
    b = moc(ex, "alice", BACK, 100_000)
    lay = moc(ex, "bob", LAY, 600_000)
    out = loc(ex, "carol", BACK, 50_000, 800)
    admin(ex, TurnInPlay(market_id=MARKET))
    market = ex.markets[MARKET]
    assert market.bsp_reconciled and runner(ex).bsp_h == 700  # type: ignore[attr-defined]
    assert order(ex, b).matched_minor == 100_000 and order(ex, b).status == codes.EXECUTION_COMPLETE
    assert order(ex, lay).matched_minor == 100_000 and order(ex, lay).size_minor == 100_000  # £6000 / (7 - 1)
    assert order(ex, out).matched_minor == 0 and order(ex, out).lapsed_minor == 50_000
    assert [(f.price_h, f.size_minor) for f in order(ex, b).fragments] == [(700, 100_000)]
    assert ex.accounts["carol"].exposure_minor == 0
    r = runner(ex)
    assert (r.sp_back_minor, r.sp_lay_minor) == (100_000, 600_000)  # type: ignore[attr-defined]
    report = place_many(ex, "dave", [PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=SEL_A,
                                                      side=BACK, market_on_close=MarketOnCloseOrder(liability_minor=500))])
    assert report.instruction_reports[0].error_code == "MARKET_NOT_OPEN_FOR_BSP_BETTING"
    ex.check_invariants()


def test_removed_runner_sp_is_nan_and_other_sp_bets_stay() -> None:
    """A removed runner's actualSP is 'NaN' (003:L11731-11736); its SP bets lapse; the other runners' SP
    bets stay in the auction."""
    ex = bsp_exchange()
    gone = moc(ex, "alice", BACK, 10_000, sel=SEL_B)
    stays = moc(ex, "alice", BACK, 10_000)
    moc(ex, "bob", LAY, 20_000)
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=SEL_B, adjustment_factor_bp=1_000))
    assert order(ex, gone).status == codes.EXECUTION_COMPLETE and order(ex, stays).status == codes.EXECUTABLE
    admin(ex, TurnInPlay(market_id=MARKET))
    assert runner(ex, SEL_B).bsp_special == bsp.NAN  # type: ignore[attr-defined]
    assert order(ex, stays).matched_minor == 10_000 and runner(ex).bsp_h == 300  # type: ignore[attr-defined]
    ex.check_invariants()


def test_sp_bets_settle_at_the_sp() -> None:
    """An SP back that wins is paid at the SP: £10 at 7.0 wins £60, less 5% commission on the market's net."""
    ex = bsp_exchange()
    moc(ex, "alice", BACK, 1_000)
    moc(ex, "bob", LAY, 6_000)
    admin(ex, TurnInPlay(market_id=MARKET))
    before = ex.accounts["alice"].balance_minor
    admin(ex, SettleMarket(market_id=MARKET, results=[RunnerResult(selection_id=SEL_A)]))
    assert ex.accounts["alice"].balance_minor - before == 6_000 - 300
    ex.check_invariants()


def test_closing_a_market_that_never_went_in_play_reconciles_it() -> None:
    """A BSP market that is closed without turning in-play is reconciled at the close."""
    ex = bsp_exchange()
    b = moc(ex, "alice", BACK, 1_000)
    moc(ex, "bob", LAY, 1_000)
    admin(ex, CloseMarket(market_id=MARKET))
    assert ex.markets[MARKET].bsp_reconciled and order(ex, b).avg_price_matched_h() == 200


def test_requested_money_before_reconciliation() -> None:
    """Before reconciliation backStakeTaken shows MOC backs at 1.01 and LOC backs at their limits;
    layLiabilityTaken MOC lays at 1000 and LOC lays at their limits (003:L11717-11730)."""
    ex = bsp_exchange()
    moc(ex, "alice", BACK, 1_000)
    loc(ex, "alice", BACK, 2_000, 500)
    moc(ex, "bob", LAY, 3_000)
    loc(ex, "bob", LAY, 4_000, 300)
    m = ex.markets[MARKET]
    assert bsp.requested(m, m.runners[(SEL_A, 0)]) == ([(101, 1_000), (500, 2_000)], [(300, 4_000), (100_000, 3_000)])


@pytest.mark.parametrize("side", [BACK, LAY])
def test_sp_bets_cannot_be_cancelled(side: int) -> None:
    """BSP bets cannot be cancelled (003:L10041): BET_TAKEN_OR_LAPSED."""
    from backlay.core.commands import CancelInstruction, CancelOrders

    ex = bsp_exchange()
    bet = moc(ex, "alice", side, 1_000)
    report = apply(ex, CancelOrders(account_id="alice", market_id=MARKET,
                                    instructions=[CancelInstruction(bet_id=bet)]))
    assert report.instruction_reports[0].error_code == "BET_TAKEN_OR_LAPSED"
