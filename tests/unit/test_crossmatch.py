"""Cross-matching (virtual bets), 001:L998-1050: both worked examples to the penny, and the rules around
them (best price wins, ticks, balance, funds, which markets cross-match)."""

from __future__ import annotations

from fractions import Fraction

from helpers import BACK, LAY, MARKET, admin, book, make_exchange, order, place, rest, to_back, to_lay
from hypothesis import given
from hypothesis import strategies as st

from backlay.core import codes
from backlay.core.commands import Deposit, RemoveRunner
from backlay.core.crossmatch import HOUSE, _OthersBook, virtual_levels
from backlay.core.exchange import Exchange

NEWCASTLE, CHELSEA, DRAW = 11, 22, 33  # the helpers' three runners, named as in 001


def crossing_exchange(**definition: object) -> Exchange:
    return make_exchange(("alice", "bob", "carol", "dave"), funds_minor=1_000_000, cross_matching=True,
                         **definition)


def virtual(ex: Exchange, sel: int, side: int, depth: int = 3) -> list[tuple[int, int]]:
    market = ex.markets[MARKET]
    return virtual_levels(market, market.runners[(sel, 0)].index, side, depth)


def example_1() -> Exchange:
    """001:L1010-1020: backs on Newcastle (£120 @ 2.0, £75 @ 2.5) and Chelsea (£150 @ 3.0) on the
    available-to-lay side; lays on The Draw: £150 @ 5.0, £250 @ 3.0, £999 @ 1.01."""
    ex = crossing_exchange()
    rest(ex, "alice", NEWCASTLE, BACK, 200, 12_000)
    rest(ex, "alice", NEWCASTLE, BACK, 250, 7_500)
    rest(ex, "bob", CHELSEA, BACK, 300, 15_000)
    rest(ex, "carol", DRAW, LAY, 500, 15_000)
    rest(ex, "carol", DRAW, LAY, 300, 25_000)
    rest(ex, "carol", DRAW, LAY, 101, 99_900)
    return ex


def test_example_1_virtual_backs() -> None:
    """The virtual backs on The Draw are £40 @ 6.0 (2.0, 3.0, 6.0 form a 100% book; stakes £120, £80,
    £40) and £50 @ 3.75 (2.5, 3.0, 3.75; stakes £75, £62.50, £50), merged with the real £150 @ 5.0 into
    the displayed best three (001:L1020-1032)."""
    ex = example_1()
    assert virtual(ex, DRAW, BACK) == [(600, 4_000), (375, 5_000)]
    merged = sorted(to_back(ex, DRAW) + virtual(ex, DRAW, BACK), reverse=True)[:3]
    assert merged == [(600, 4_000), (500, 15_000), (375, 5_000)]


def test_example_1_large_back_at_1_01() -> None:
    """The large back at 1.01 on The Draw: without cross-matching it would get £150 @ 5.0, £250 @ 3.0 and
    £999 @ 1.01; with it, £40 @ 6.0 and £50 @ 3.75 come in at their prices, best price first
    (001:L1012-1028). Each leg is a real match: Newcastle's backs and £142.50 of Chelsea's are matched."""
    ex = example_1()
    bet = rest(ex, "dave", DRAW, BACK, 101, 200_000)
    fills = [(f.price_h, f.size_minor) for f in order(ex, bet).fragments]
    assert fills == [(600, 4_000), (500, 15_000), (375, 5_000), (300, 25_000), (101, 99_900)]
    assert order(ex, bet).remaining_minor == 200_000 - 148_900  # rests at 1.01
    assert to_lay(ex, NEWCASTLE) == [] and to_lay(ex, CHELSEA) == [(300, 750)]
    assert book(ex, NEWCASTLE).traded == {200: 12_000, 250: 7_500}
    assert book(ex, CHELSEA).traded == {300: 14_250}
    assert book(ex, DRAW).traded == {600: 4_000, 500: 15_000, 375: 5_000, 300: 25_000, 101: 99_900}
    # the house's book is balanced: it neither wins nor loses whatever the result (001: "a 100% book")
    pos = ex.markets[MARKET].positions[HOUSE]
    assert [pos.win[i] - pos.lose[i] + sum(pos.lose) for i in range(3)] == [0, 0, 0]
    ex.check_invariants()


def example_2() -> Exchange:
    """001:L1036-1044: lays on Newcastle (£300 @ 2.0) and Chelsea (£150 @ 3.0, £250 @ 2.4) on the
    available-to-back side; backs on The Draw: £100 @ 10.0, £50 @ 50.0, £2 @ 1000."""
    ex = crossing_exchange()
    rest(ex, "alice", NEWCASTLE, LAY, 200, 30_000)
    rest(ex, "bob", CHELSEA, LAY, 300, 15_000)
    rest(ex, "bob", CHELSEA, LAY, 240, 25_000)
    rest(ex, "carol", DRAW, BACK, 1_000, 10_000)
    rest(ex, "carol", DRAW, BACK, 5_000, 5_000)
    rest(ex, "carol", DRAW, BACK, 100_000, 200)
    return ex


def test_example_2_virtual_lays() -> None:
    """The virtual lays on The Draw are £75 @ 6.0 (take £225 of Newcastle's £300 @ 2.0 and all of Chelsea's
    £150 @ 3.0) and then £12.50 @ 12.0 (Newcastle's £75 @ 2.0, £62.50 of Chelsea's £250 @ 2.4); after
    that no price makes a 100% book (001:L1040-1050)."""
    ex = example_2()
    assert virtual(ex, DRAW, LAY) == [(600, 7_500), (1_200, 1_250)]
    merged = sorted(to_lay(ex, DRAW) + virtual(ex, DRAW, LAY))[:3]
    assert merged == [(600, 7_500), (1_000, 10_000), (1_200, 1_250)]


def test_example_2_large_lay_at_1000() -> None:
    """The large lay at 1000 on The Draw takes £75 @ 6.0, £100 @ 10.0, £12.50 @ 12.0, £50 @ 50.0 and
    £2 @ 1000; the market then looks as the text describes: Newcastle's lays gone, £187.50 of Chelsea's
    £250 @ 2.4 left (001:L1036-1050)."""
    ex = example_2()
    admin(ex, Deposit(account_id="dave", amount_minor=30_000_000))  # a lay at 1000 needs a large liability
    bet = rest(ex, "dave", DRAW, LAY, 100_000, 30_000)
    fills = [(f.price_h, f.size_minor) for f in order(ex, bet).fragments]
    assert fills == [(600, 7_500), (1_000, 10_000), (1_200, 1_250), (5_000, 5_000), (100_000, 200)]
    assert order(ex, bet).remaining_minor == 30_000 - 23_950
    assert to_back(ex, NEWCASTLE) == [] and to_back(ex, CHELSEA) == [(240, 18_750)]
    assert book(ex, NEWCASTLE).traded == {200: 30_000} and book(ex, CHELSEA).traded == {300: 15_000, 240: 6_250}
    pos = ex.markets[MARKET].positions[HOUSE]
    assert [pos.win[i] - pos.lose[i] + sum(pos.lose) for i in range(3)] == [0, 0, 0]
    ex.check_invariants()


def test_example_2_first_step_state() -> None:
    """"Assuming these bets got matched, the market would look like this": Newcastle £75 @ 2.0 and
    Chelsea £250 @ 2.4 left to back (001:L1042-1044)."""
    ex = example_2()
    rest(ex, "dave", DRAW, LAY, 600, 7_500)
    assert to_back(ex, NEWCASTLE) == [(200, 7_500)] and to_back(ex, CHELSEA) == [(240, 25_000)]
    assert virtual(ex, DRAW, LAY) == [(1_200, 1_250)]


def test_direct_price_wins_ties_and_better_prices() -> None:
    """The best price always wins, direct or virtual; at the same price the direct offer goes first."""
    ex = example_1()
    rest(ex, "bob", DRAW, LAY, 600, 1_000)  # a direct £10 @ 6.0, as good as the virtual
    bet = rest(ex, "dave", DRAW, BACK, 600, 2_000)
    assert [(f.price_h, f.size_minor) for f in order(ex, bet).fragments] == [(600, 1_000), (600, 1_000)]
    # the second £10 was virtual: payout £60, legs £30 @ 2.0 and £20 @ 3.0
    assert book(ex, NEWCASTLE).traded == {200: 3_000} and book(ex, CHELSEA).traded == {300: 2_000}


def test_virtual_price_is_on_the_ladder_in_the_exchanges_favour() -> None:
    """Prices are ticks of the market's ladder (001:L16-86): a virtual back is rounded down, a virtual
    lay up, so the book stays at or over 100% for backs and at or under for lays; the house keeps the
    difference."""
    ex = crossing_exchange()
    rest(ex, "alice", NEWCASTLE, BACK, 210, 10_000)
    rest(ex, "bob", CHELSEA, BACK, 330, 10_000)  # 1/(1 - 1/2.1 - 1/3.3) = 4.529 -> 4.5
    assert virtual(ex, DRAW, BACK, depth=1)[0][0] == 450
    rest(ex, "alice", NEWCASTLE, LAY, 200, 10_000)
    rest(ex, "bob", CHELSEA, LAY, 320, 10_000)  # 1/(1 - 1/2.0 - 1/3.2) = 5.333 -> 5.4
    assert virtual(ex, DRAW, LAY, depth=1)[0][0] == 540
    bet = rest(ex, "dave", DRAW, BACK, 450, 1_000)
    assert order(ex, bet).matched_minor == 1_000
    pos = ex.markets[MARKET].positions[HOUSE]
    assert min(pos.win[i] - pos.lose[i] + sum(pos.lose) for i in range(3)) >= 0  # over-round: a surplus
    ex.check_invariants()


def test_no_cross_matching_when_off_or_not_single_winner() -> None:
    """Only single-winner ODDS markets with crossMatching on (003:L11611-11612) cross-match."""
    for definition in ({"cross_matching": False}, {"cross_matching": True, "number_of_winners": 2}):
        ex = make_exchange(("alice", "bob", "dave"), funds_minor=1_000_000, **definition)  # type: ignore[arg-type]
        rest(ex, "alice", NEWCASTLE, BACK, 200, 12_000)
        rest(ex, "bob", CHELSEA, BACK, 300, 15_000)
        bet = rest(ex, "dave", DRAW, BACK, 600, 4_000)
        assert order(ex, bet).matched_minor == 0
        assert virtual(ex, DRAW, BACK) == []


def test_removed_runner_takes_no_part() -> None:
    """Virtual offers come from the runners that can still win: with one removed, the two others make the
    book."""
    ex = crossing_exchange()
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=CHELSEA))
    rest(ex, "alice", NEWCASTLE, BACK, 200, 12_000)
    assert virtual(ex, DRAW, BACK) == [(200, 12_000)]  # 1/(1 - 1/2) = 2.0


def test_fill_or_kill_and_funds_see_virtual_offers() -> None:
    """FILL_OR_KILL counts virtual offers (003:L10824-10852); the taker's exposure is what it matched."""
    ex = example_1()
    report = place(ex, "dave", DRAW, BACK, 375, 24_000, time_in_force=codes.FILL_OR_KILL)
    (ins,) = report.instruction_reports
    assert ins.status == codes.SUCCESS and ins.size_matched_minor == 24_000  # 40 + 150 + 50
    assert ex.accounts["dave"].exposure_minor == 24_000
    # what is left at 3.0 or better (£250 @ 3.0, no virtual offer: Newcastle is taken) cannot fill £500
    killed = place(ex, "dave", DRAW, BACK, 300, 50_000, time_in_force=codes.FILL_OR_KILL)
    assert killed.instruction_reports[0].size_matched_minor == 0
    ex.check_invariants()


def test_a_lone_active_runner_has_no_virtual_offers() -> None:
    """With every other runner removed there is nothing to cross-match against (found by the stream
    property test: a dry run over no other runners)."""
    ex = crossing_exchange()
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=CHELSEA))
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=DRAW))
    assert virtual(ex, NEWCASTLE, BACK) == [] and virtual(ex, NEWCASTLE, LAY) == []
    rest(ex, "alice", NEWCASTLE, BACK, 200, 1_000)
    ex.check_invariants()


PRICE_H = st.one_of(st.integers(101, 100_000), st.sampled_from([101, 150, 200, 300, 400, 500, 600, 1000, 1200]))


@given(price_h=PRICE_H, others_h=st.lists(PRICE_H, min_size=1, max_size=25))
def test_book_percentage_check_is_exact(price_h: int, others_h: list[int]) -> None:
    """A virtual price makes a 100% book with the other runners' prices, or is the nearest ladder price on
    the exchange's side of one (001:L1024, L1030, L1050): the check at a candidate price is the exact sign
    of 1/p + Σ 1/q − 1, equality included."""
    exact = Fraction(100, price_h) + sum(Fraction(100, q) for q in others_h) - 1
    assert _OthersBook(others_h).with_price_vs_one(price_h) == (exact > 0) - (exact < 0)
