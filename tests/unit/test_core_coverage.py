"""Rules of the exchange-core issue that had no unit test of their own: the currency parameters of
every currency (001:L226-511), bet targets on the other side (003:L10910-10943), the error codes of
cancel/replace/update at the execution level and the codes no other test asserted
(TIME_IN_FORCE_CONFLICT, INVALID_PRICE_EDIT, replace's NO_ACTION_REQUIRED and BET_IN_PROGRESS,
003:L9759-9909), LIMIT_ON_CLOSE price edits (003:L12425-12430, 003:L6758-6764), replaceOrders'
marketVersion and bet delay (003:L11193-11198, 003:L11586-11590), averagePriceMatched and
matchedDate over several fragments (003:L12195-12208), and a second runner removal (003:L6729-6757).
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import (
    BACK,
    LAY,
    MARKET,
    SEL_A,
    SEL_B,
    SEL_C,
    T0,
    add_account,
    add_market,
    admin,
    apply,
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
from backlay.core.codes import ExecErr, InstrErr, Lapse
from backlay.core.commands import (
    AdvanceTime,
    CancelInstruction,
    CancelOrders,
    CloseMarket,
    LimitOnCloseOrder,
    MarketOnCloseOrder,
    PlaceInstruction,
    RemoveRunner,
    ReplaceInstruction,
    ReplaceOrders,
    SetMarketStatus,
    TurnInPlay,
    UpdateInstruction,
    UpdateOrders,
)
from backlay.core.events import PlacementCompleted
from backlay.core.exchange import Exchange
from backlay.core.money import CURRENCIES
from backlay.core.reports import (
    CancelExecutionReport,
    PlaceExecutionReport,
    ReplaceExecutionReport,
    UpdateExecutionReport,
)

# --- rule 1: currency parameters (001:L226-511) --------------------------------------------------

# (code, min bet size, min deposit, min BSP liability, min bet payout) in currency units, as the table
# of 001:L249-511 gives them (each code's row starts at the line in the id).
CURRENCY_TABLE = [
    ("GBP", 1, 10, 10, 10), ("EUR", 1, 15, 10, 20), ("USD", 1, 15, 20, 20), ("HKD", 10, 150, 125, 125),
    ("AUD", 1, 30, 30, 30), ("CAD", 2, 25, 30, 30), ("DKK", 15, 150, 150, 150), ("NOK", 10, 150, 150, 150),
    ("SEK", 15, 150, 150, 150), ("SGD", 2, 30, 30, 30), ("RON", 5, 40, 50, 50), ("BRL", 5, 40, 50, 50),
    ("MXN", 30, 50, 300, 300), ("PEN", 5, 50, 50, 50), ("HUF", 400, 25, 4000, 4000),
    ("ISK", 350, 25, 1750, 1750), ("NZD", 2, 25, 10, 10), ("ARS", 100, 50, 500, 500), ("GEL", 10, 50, 50, 50),
]
CURRENCY_ROW_LINE = {"GBP": 253, "EUR": 265, "USD": 279, "HKD": 293, "AUD": 305, "CAD": 319, "DKK": 333,
                     "NOK": 347, "SEK": 361, "SGD": 375, "RON": 389, "BRL": 405, "MXN": 417, "PEN": 431,
                     "HUF": 445, "ISK": 459, "NZD": 473, "ARS": 487, "GEL": 501}


@pytest.mark.parametrize(("code", "bet", "deposit", "bsp", "payout"), CURRENCY_TABLE,
                         ids=[f"{c[0]}-001:L{CURRENCY_ROW_LINE[c[0]]}" for c in CURRENCY_TABLE])
def test_every_currency_has_the_documented_parameters(code: str, bet: int, deposit: int, bsp: int,
                                                      payout: int) -> None:
    """001:L249-511: Min Bet Size, Min Deposit Size, Minimum BSP Liability and Minimum Bet Payout of every
    listed currency (RON's min deposit: the card figure, 40); no other currency is offered."""
    p = CURRENCIES[code]
    assert (p.min_bet_size_minor, p.min_deposit_minor, p.min_bsp_liability_minor, p.min_bet_payout_minor) == (
        bet * 100, deposit * 100, bsp * 100, payout * 100)
    assert set(CURRENCIES) == {c[0] for c in CURRENCY_TABLE}


def currency_exchange(currency: str, **definition: Any) -> Exchange:
    ex = Exchange(currency)
    admin(ex, AdvanceTime(), T0)
    add_account(ex, "alice", 100_000_000, currency=currency)
    add_market(ex, **definition)
    return ex


def size_error(report: PlaceExecutionReport) -> str | None:
    return report.instruction_reports[0].error_code


def test_min_bet_payout_follows_the_exchange_currency() -> None:
    """003:L10944-10952 with 001:L265 (EUR: Min Bet Size 1, Min Bet Payout 20): below the min bet size a
    LIMIT bet needs a payout of at least 20 EUR: 0.50 @ 30 (15.00) is INVALID_BET_SIZE, 0.50 @ 40 (20.00)
    is valid; GBP's payout of 10 would have accepted both."""
    ex = currency_exchange("EUR")
    r = place(ex, "alice", SEL_A, BACK, 3000, 50)
    assert r.status == codes.FAILURE and size_error(r) == InstrErr.INVALID_BET_SIZE
    assert place(ex, "alice", SEL_A, BACK, 4000, 50).status == codes.SUCCESS
    ex.check_invariants()


def test_min_bet_size_follows_the_exchange_currency() -> None:
    """003:L10944-10952 with 001:L293 (HKD: Min Bet Size 10, Min Bet Payout 125): 9.99 @ 2.0 is too small
    in both respects; 10.00 @ 2.0 is the min bet size; 1.25 @ 100 reaches the min payout."""
    ex = currency_exchange("HKD")
    r = place(ex, "alice", SEL_A, BACK, 200, 999)
    assert r.status == codes.FAILURE and size_error(r) == InstrErr.INVALID_BET_SIZE
    assert place(ex, "alice", SEL_A, BACK, 200, 1000).status == codes.SUCCESS
    assert place(ex, "alice", SEL_A, BACK, 10_000, 125).status == codes.SUCCESS
    r = place(ex, "alice", SEL_A, BACK, 10_000, 124)
    assert r.status == codes.FAILURE and size_error(r) == InstrErr.INVALID_BET_SIZE
    ex.check_invariants()


def test_min_bsp_liability_follows_the_exchange_currency() -> None:
    """001:L230, 001:L279 (USD: Minimum BSP Liability 20), 003:L10709-10710: a MARKET_ON_CLOSE lay needs a
    liability of 20 USD; 19.99 is INVALID_BET_SIZE (GBP's 10 would have accepted it)."""
    ex = currency_exchange("USD", bsp_market=True)

    def moc_lay(liability_minor: int) -> PlaceExecutionReport:
        return place_many(ex, "alice", [PlaceInstruction(
            order_type=codes.MARKET_ON_CLOSE, selection_id=SEL_A, side=LAY,
            market_on_close=MarketOnCloseOrder(liability_minor=liability_minor))])

    r = moc_lay(1999)
    assert r.status == codes.FAILURE and size_error(r) == InstrErr.INVALID_BET_SIZE
    assert moc_lay(2000).status == codes.SUCCESS
    ex.check_invariants()


# --- rule 3: bet targets on the other side (003:L10910-10943) ------------------------------------


def test_lay_backers_profit_target_is_the_layers_liability() -> None:
    """003:L10914-10921: BACKERS_PROFIT is "identical to layers' liability": a LAY targeting 10.00 @ limit
    5.0 takes a back offered @ 3.0 for 2.00 (liability 4.00); the unmatched 6.00 of liability is
    converted at the limit price, 6.00 / (5.0 - 1) = 1.50, and queued; the worst case is the target."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, BACK, 300, 200)
    r = place(ex, "alice", SEL_A, LAY, 500, None, bet_target_type=codes.BACKERS_PROFIT, bet_target_minor=1000)
    assert r.status == codes.SUCCESS, r
    ir = r.instruction_reports[0]
    assert ir.size_matched_minor == 200 and ir.matched_value == 200 * 300
    o = order(ex, placed_id(r))
    assert (o.matched_minor, o.remaining_minor, o.size_minor, o.status) == (200, 150, 350, codes.EXECUTABLE)
    assert to_lay(ex, SEL_A) == [] and to_back(ex, SEL_A) == [(500, 150)]
    assert exposure(ex, "alice") == 1000  # 2.00 * 2 matched + 1.50 * 4 unmatched
    ex.check_invariants()


def test_back_payout_target() -> None:
    """003:L10914-10921: a BACK targeting a PAYOUT of 10.00 @ limit 2.0 against a lay offered @ 4.0 is
    matched for 2.50 (2.50 * 4.0 = 10.00: the same payout to a smaller stake); nothing rests."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 400, 1000)
    r = place(ex, "alice", SEL_A, BACK, 200, None, bet_target_type=codes.PAYOUT, bet_target_minor=1000)
    assert r.status == codes.SUCCESS, r
    ir = r.instruction_reports[0]
    assert ir.size_matched_minor == 250 and ir.matched_value == 250 * 400
    assert ir.order_status == codes.EXECUTION_COMPLETE
    assert order(ex, placed_id(r)).remaining_minor == 0
    assert to_back(ex, SEL_A) == [(400, 750)] and to_lay(ex, SEL_A) == []
    assert exposure(ex, "alice") == 250
    ex.check_invariants()


# --- rule 3: instruction error codes no other test asserts (003:L9839-9909) ----------------------


def test_time_in_force_other_than_fill_or_kill_is_time_in_force_conflict() -> None:
    """003:L9883-9885 TIME_IN_FORCE_CONFLICT (decisions.md: a timeInForce that is not FILL_OR_KILL reaches
    the core only from a caller other than the API edge, which rejects unknown enum values): the
    instruction fails with it, the batch is atomic and nothing is stored."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place_many(ex, "alice", [limit_ins(SEL_B, BACK, 300, 200),
                                 limit_ins(SEL_A, BACK, 300, 200, time_in_force="GOOD_FOR_DAY")])
    assert (r.status, r.error_code) == (codes.FAILURE, ExecErr.BET_ACTION_ERROR)
    assert [ir.error_code for ir in r.instruction_reports] == [InstrErr.ERROR_IN_ORDER, InstrErr.TIME_IN_FORCE_CONFLICT]
    assert all(ir.bet_id is None for ir in r.instruction_reports)
    assert ex.fingerprint() == before


def loc(ex: Exchange, account: str, side: int, liability_minor: int, price_h: int) -> int:
    report = place_many(ex, account, [PlaceInstruction(
        order_type=codes.LIMIT_ON_CLOSE, selection_id=SEL_A, side=side,
        limit_on_close=LimitOnCloseOrder(liability_minor=liability_minor, price_h=price_h))])
    return placed_id(report)


def test_limit_on_close_price_edit_the_wrong_way_is_invalid_price_edit() -> None:
    """003:L9863-9864 INVALID_PRICE_EDIT: "Attempt to edit down the price of a bsp lay or edit up the price
    of a limit on close back": both fail, the bets are unchanged (still EXECUTABLE, liability held)."""
    ex = make_exchange(bsp_market=True)
    lay = loc(ex, "alice", LAY, 2000, 500)
    back = loc(ex, "bob", BACK, 500, 500)
    before = ex.fingerprint()
    r = replace(ex, "alice", (lay, 400))
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_PRICE_EDIT
    r = replace(ex, "bob", (back, 600))
    assert r.status == codes.FAILURE
    assert r.instruction_reports[0].error_code == InstrErr.INVALID_PRICE_EDIT
    assert ex.fingerprint() == before
    assert order(ex, lay).status == order(ex, back).status == codes.EXECUTABLE
    assert exposure(ex, "alice") == 2000 and exposure(ex, "bob") == 500
    ex.check_invariants()


def test_limit_on_close_price_edit_is_a_cancel_and_a_new_bet() -> None:
    """003:L12425-12430 (replaceOrders takes LIMIT or LIMIT_ON_CLOSE orders), 003:L6758-6764: a LOC limit
    price update is the cancellation of the original bet (a cancelledDate, no size cancelled) and a new
    bet at the new limit with the same liability; a lay's limit may go up, a back's down. The cancelled
    original cannot be replaced again (BET_TAKEN_OR_LAPSED, 003:L9844-9847)."""
    ex = make_exchange(bsp_market=True)
    lay = loc(ex, "alice", LAY, 2000, 500)
    back = loc(ex, "bob", BACK, 500, 500)
    ts = ex.now_ms + 1_000
    for account, bet, new_price, liability in (("alice", lay, 600, 2000), ("bob", back, 400, 500)):
        r = replace(ex, account, (bet, new_price), ts=ts)
        assert r.status == codes.SUCCESS, r
        ir = r.instruction_reports[0]
        assert ir.cancel_report is not None and ir.cancel_report.size_cancelled_minor == 0
        assert ir.cancel_report.cancelled_ms == ts
        old = order(ex, bet)
        assert old.cancelled_ms == ts and old.status == codes.EXECUTION_COMPLETE
        assert ir.place_report is not None and ir.place_report.bet_id is not None
        new = order(ex, ir.place_report.bet_id)
        assert new.bet_id > bet and new.order_type == codes.LIMIT_ON_CLOSE
        assert (new.price_h, new.bsp_liability_minor, new.side) == (new_price, liability, old.side)
        assert exposure(ex, account) == liability
    r = replace(ex, "alice", (lay, 700))
    assert r.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED
    ex.check_invariants()


def test_replace_at_the_same_price_is_no_action_required() -> None:
    """003:L9881-9882 NO_ACTION_REQUIRED "the action does not result in any state change": replacing a bet
    at its own price fails with it and leaves the bet where it is (same bet id, queue position kept). With
    nothing else in the request, the report's errorCode is NO_ACTION_REQUIRED too: "Order hasn't been passed
    to matcher as system detected there will be no state change" (003:L9797-9798)."""
    ex = make_exchange()
    first = rest(ex, "alice", SEL_A, BACK, 300, 500)
    rest(ex, "bob", SEL_A, BACK, 300, 500)
    before = ex.fingerprint()
    r = replace(ex, "alice", (first, 300))
    assert (r.status, r.error_code) == (codes.FAILURE, ExecErr.NO_ACTION_REQUIRED)
    ir = r.instruction_reports[0]
    assert ir.error_code == InstrErr.NO_ACTION_REQUIRED
    assert ir.cancel_report is None and ir.place_report is None
    assert ex.fingerprint() == before
    rest(ex, "carol", SEL_A, LAY, 300, 500)
    assert order(ex, first).matched_minor == 500  # still first in the queue


def test_replace_and_update_of_a_bet_in_its_bet_delay_is_bet_in_progress() -> None:
    """003:L9854-9855 BET_IN_PROGRESS: a bet still held for the in-play delay has not reached the matcher,
    so it cannot be replaced or updated yet; after the delay it can."""
    ex = make_exchange()
    admin(ex, TurnInPlay(market_id=MARKET, bet_delay_s=5))
    r = place(ex, "alice", SEL_A, BACK, 300, 500)
    bet = placed_id(r)
    assert order(ex, bet).status == codes.PENDING
    rr = replace(ex, "alice", (bet, 350))
    assert rr.status == codes.FAILURE and rr.instruction_reports[0].error_code == InstrErr.BET_IN_PROGRESS
    ur = update(ex, "alice", (bet, codes.PERSIST))
    assert ur.status == codes.FAILURE and ur.instruction_reports[0].error_code == InstrErr.BET_IN_PROGRESS
    assert order(ex, bet).persistence == codes.LAPSE
    admin(ex, AdvanceTime(), ex.now_ms + 5_000)
    assert order(ex, bet).status == codes.EXECUTABLE
    assert update(ex, "alice", (bet, codes.PERSIST)).status == codes.SUCCESS
    ex.check_invariants()


# --- rule 3: execution error codes of cancel, replace and update (003:L9759-9816) ----------------


def cancel_cmd(account: str, market_id: str, bet_ids: list[int], **kw: Any) -> CancelOrders:
    return CancelOrders(account_id=account, market_id=market_id,
                        instructions=[CancelInstruction(bet_id=b) for b in bet_ids], **kw)


def replace_cmd(account: str, market_id: str, bet_ids: list[int], price_h: int = 350, **kw: Any) -> ReplaceOrders:
    return ReplaceOrders(account_id=account, market_id=market_id,
                         instructions=[ReplaceInstruction(bet_id=b, new_price_h=price_h) for b in bet_ids], **kw)


def update_cmd(account: str, market_id: str, bet_ids: list[int], persistence: str = codes.PERSIST,
               **kw: Any) -> UpdateOrders:
    return UpdateOrders(account_id=account, market_id=market_id,
                        instructions=[UpdateInstruction(bet_id=b, new_persistence=persistence) for b in bet_ids],
                        **kw)


EDITS = [cancel_cmd, replace_cmd, update_cmd]
EDIT_IDS = ["cancel", "replace", "update"]


def assert_edit_rejected(ex: Exchange, cmd: Any, exec_error: str,
                         instruction_error: str = InstrErr.ERROR_IN_ORDER) -> None:
    """The whole request fails with `exec_error`, every instruction with `instruction_error`, and
    nothing changes."""
    before = ex.fingerprint()
    r = apply(ex, cmd)
    assert isinstance(r, CancelExecutionReport | ReplaceExecutionReport | UpdateExecutionReport)
    assert (r.status, r.error_code) == (codes.FAILURE, exec_error), r
    assert len(r.instruction_reports) == len(cmd.instructions)
    assert all(ir.status == codes.FAILURE and ir.error_code == instruction_error for ir in r.instruction_reports)
    assert ex.fingerprint() == before


@pytest.mark.parametrize("edit", EDITS, ids=EDIT_IDS)
def test_edit_on_an_unknown_market_is_invalid_market_id(edit: Any) -> None:
    """003:L9789 INVALID_MARKET_ID "Market doesn't exist", for cancelOrders, replaceOrders and updateOrders."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    assert_edit_rejected(ex, edit("alice", "1.999", [bet]), ExecErr.INVALID_MARKET_ID)


@pytest.mark.parametrize("edit", EDITS, ids=EDIT_IDS)
def test_edit_from_an_unknown_account_is_invalid_account_state(edit: Any) -> None:
    """003:L9771-9772 INVALID_ACCOUNT_STATE: a request from an account that does not exist (a suspended
    account's replace is in test_funds)."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    assert_edit_rejected(ex, edit("nobody", MARKET, [bet]), ExecErr.INVALID_ACCOUNT_STATE)


@pytest.mark.parametrize("edit", EDITS, ids=EDIT_IDS)
def test_edit_of_more_than_60_instructions_is_too_many_instructions(edit: Any) -> None:
    """003:L10056-10057 (cancel), 003:L11156-11158 (update), 003:L11186-11188 (replace): at most 60
    instructions per request; 61 -> TOO_MANY_INSTRUCTIONS (003:L9809-9810), nothing changes; 60 are
    processed (here they all name unknown bets: INVALID_BET_ID each)."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    assert_edit_rejected(ex, edit("alice", MARKET, [bet, *range(1, 61)]), ExecErr.TOO_MANY_INSTRUCTIONS)
    r = apply(ex, edit("alice", MARKET, list(range(1, 61))))
    assert (r.status, r.error_code) == (codes.FAILURE, ExecErr.BET_ACTION_ERROR)
    assert [ir.error_code for ir in r.instruction_reports] == [InstrErr.INVALID_BET_ID] * 60
    assert order(ex, bet).remaining_minor == 500


@pytest.mark.parametrize("edit", [replace_cmd, update_cmd], ids=["replace", "update"])
def test_replace_and_update_with_a_bet_id_twice_is_duplicate_betids(edit: Any) -> None:
    """003:L9794-9796 DUPLICATE_BETIDS ("the same betId more than once in a single ... request"; the cancel
    case is in test_cancel_replace_update): nothing is replaced or updated."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    assert_edit_rejected(ex, edit("alice", MARKET, [bet, bet]), ExecErr.DUPLICATE_BETIDS)


def test_replace_and_update_resubmitted_with_the_same_customer_ref() -> None:
    """003:L9781-9784 DUPLICATE_TRANSACTION, 003:L11189-11191 (replace) and 003:L11159-11160 (update)
    customerRef de-dupes re-submissions within 60 s: the second request is rejected and changes nothing;
    after the window the same ref is accepted again."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500, persistence=codes.LAPSE)
    r = apply(ex, replace_cmd("alice", MARKET, [bet], 350, customer_ref="r1"))
    assert r.status == codes.SUCCESS
    new_bet = r.instruction_reports[0].place_report.bet_id
    assert_edit_rejected(ex, replace_cmd("alice", MARKET, [new_bet], 400, customer_ref="r1"),
                         ExecErr.DUPLICATE_TRANSACTION)
    assert apply(ex, update_cmd("alice", MARKET, [new_bet], codes.PERSIST, customer_ref="u1")).status == codes.SUCCESS
    assert_edit_rejected(ex, update_cmd("alice", MARKET, [new_bet], codes.LAPSE, customer_ref="u1"),
                         ExecErr.DUPLICATE_TRANSACTION)
    assert order(ex, new_bet).persistence == codes.PERSIST
    later = ex.now_ms + 61_000
    assert apply(ex, update_cmd("alice", MARKET, [new_bet], codes.LAPSE, customer_ref="u1"), later).status == codes.SUCCESS
    assert apply(ex, replace_cmd("alice", MARKET, [new_bet], 400, customer_ref="r1")).status == codes.SUCCESS
    ex.check_invariants()


def test_replace_with_a_market_version_over_12_digits_is_invalid_market_version() -> None:
    """003:L9811-9812 INVALID_MARKET_VERSION "Max length allowed for market version is 12", for
    replaceOrders' marketVersion (003:L11193-11198) as for placeOrders': nothing is cancelled."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    assert_edit_rejected(ex, replace_cmd("alice", MARKET, [bet], market_version=10**12),
                         ExecErr.INVALID_MARKET_VERSION)


@pytest.mark.parametrize("edit", [replace_cmd, update_cmd], ids=["replace", "update"])
def test_replace_and_update_on_a_suspended_market(edit: Any) -> None:
    """003:L9778 MARKET_SUSPENDED at the execution level, 003:L9857 MARKET_NOT_OPEN_FOR_BETTING ("Attempt to
    edit a bet on a market that has ...") at the instruction level (betting-api.md 5.12, as placeOrders
    does); the bet is untouched and can be edited once the market reopens."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    admin(ex, SetMarketStatus(market_id=MARKET, status=codes.SUSPENDED))
    assert_edit_rejected(ex, edit("alice", MARKET, [bet]), ExecErr.MARKET_SUSPENDED,
                         InstrErr.MARKET_NOT_OPEN_FOR_BETTING)
    admin(ex, SetMarketStatus(market_id=MARKET, status=codes.OPEN))
    assert apply(ex, edit("alice", MARKET, [bet])).status == codes.SUCCESS
    ex.check_invariants()


@pytest.mark.parametrize("edit", [replace_cmd, update_cmd], ids=["replace", "update"])
def test_replace_and_update_on_a_closed_market(edit: Any) -> None:
    """003:L9779-9780 MARKET_NOT_OPEN_FOR_BETTING ("closed awaiting settlement") at the execution level and
    003:L9857 at the instruction level (betting-api.md 5.12)."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    admin(ex, CloseMarket(market_id=MARKET))
    assert_edit_rejected(ex, edit("alice", MARKET, [bet]), ExecErr.MARKET_NOT_OPEN_FOR_BETTING,
                         InstrErr.MARKET_NOT_OPEN_FOR_BETTING)


# --- rule 3 / rule 5: replaceOrders' marketVersion and the bet delay ------------------------------


def test_replace_with_an_older_market_version_cancels_and_lapses_the_new_bet() -> None:
    """003:L11193-11198: replaceOrders' marketVersion: "If the current market version is higher than that
    sent on an order, the bet will be lapsed" (after a material change, 003:L10898-10909); the cancel
    stands (003:L11174-11177): CANCELLED_NOT_PLACED, the place report BET_TAKEN_OR_LAPSED with a bet id,
    the new bet lapsed (MKT_VERSION) and never in the book."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500, persistence=codes.PERSIST)
    version = ex.markets[MARKET].version
    admin(ex, SetMarketStatus(market_id=MARKET, status=codes.SUSPENDED, material=True))
    admin(ex, SetMarketStatus(market_id=MARKET, status=codes.OPEN))
    assert order(ex, bet).remaining_minor == 500  # PERSIST survived the material event
    r = replace(ex, "alice", (bet, 350), market_version=version)
    assert r.status == codes.FAILURE
    ir = r.instruction_reports[0]
    assert ir.error_code == InstrErr.CANCELLED_NOT_PLACED
    assert ir.cancel_report is not None and ir.cancel_report.size_cancelled_minor == 500
    assert ir.place_report is not None and ir.place_report.error_code == InstrErr.BET_TAKEN_OR_LAPSED
    assert ir.place_report.bet_id is not None
    new = order(ex, ir.place_report.bet_id)
    assert (new.lapsed_minor, new.lapse_reason, new.status) == (500, Lapse.MKT_VERSION, codes.EXECUTION_COMPLETE)
    assert order(ex, bet).cancelled_minor == 500
    assert to_lay(ex, SEL_A) == [] and exposure(ex, "alice") == 0
    # the current version is accepted
    bet2 = rest(ex, "alice", SEL_A, BACK, 300, 500, persistence=codes.PERSIST)
    assert replace(ex, "alice", (bet2, 350), market_version=ex.markets[MARKET].version).status == codes.SUCCESS
    ex.check_invariants()


def test_replace_in_play_with_a_bet_delay_holds_the_new_bet() -> None:
    """003:L11586-11590 (orders are held betDelay seconds before they are submitted), decisions.md: the cancel
    is done at once, the new bet is PENDING in the place report and reaches the book after the delay."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500, persistence=codes.PERSIST)
    admin(ex, TurnInPlay(market_id=MARKET, bet_delay_s=5))
    r = replace(ex, "alice", (bet, 350))
    assert r.status == codes.SUCCESS, r
    ir = r.instruction_reports[0]
    assert ir.cancel_report is not None and ir.cancel_report.size_cancelled_minor == 500
    assert ir.place_report is not None and ir.place_report.order_status == codes.PENDING
    new_bet = ir.place_report.bet_id
    assert new_bet is not None and order(ex, new_bet).status == codes.PENDING
    assert to_lay(ex, SEL_A) == []
    _, events = ex.apply(AdvanceTime(), ex.now_ms + 5_000)
    assert [e.report.status for e in events if isinstance(e, PlacementCompleted)] == [codes.SUCCESS]
    assert order(ex, new_bet).status == codes.EXECUTABLE and order(ex, new_bet).persistence == codes.PERSIST
    assert to_lay(ex, SEL_A) == [(350, 500)]
    ex.check_invariants()


# --- rule 4: averagePriceMatched, matchedDate and the sizes over several fragments ---------------


def test_average_price_and_matched_date_over_several_fragments() -> None:
    """003:L12195-12208: placedDate is when the bet was placed, matchedDate the date of the LAST matched
    fragment, averagePriceMatched the size-weighted average: 2.00 @ 3.5 (taken with price improvement)
    then 3.00 @ 3.0 (as maker, later) -> 3.2; 003:L11861-11870 and betting-api.md 5.17: size = matched +
    remaining + lapsed + cancelled + voided, also after a cancel, which moves neither the average nor
    matchedDate."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 350, 200)
    t_place, t_match, t_cancel = T0 + 1_000, T0 + 5_000, T0 + 9_000
    r = place(ex, "alice", SEL_A, BACK, 300, 1000, ts=t_place)
    bet = placed_id(r)
    rest(ex, "carol", SEL_A, LAY, 300, 300, ts=t_match)
    o = order(ex, bet)
    assert [(f.price_h, f.size_minor, f.matched_ms) for f in o.fragments] == [(350, 200, t_place), (300, 300, t_match)]
    assert (o.matched_minor, o.remaining_minor, o.status) == (500, 500, codes.EXECUTABLE)
    assert o.avg_price_matched_h() == 320
    assert o.placed_ms == t_place and o.matched_ms == t_match
    cancel(ex, "alice", bet, ts=t_cancel)
    assert (o.matched_minor, o.remaining_minor, o.cancelled_minor, o.status) == (
        500, 0, 500, codes.EXECUTION_COMPLETE)
    assert o.size_minor == o.matched_minor + o.remaining_minor + o.lapsed_minor + o.cancelled_minor + o.voided_minor
    assert o.avg_price_matched_h() == 320 and o.matched_ms == t_match and o.cancelled_ms == t_cancel
    ex.check_invariants()


# --- rule 5: a second runner removal ---------------------------------------------------------------


def test_second_removal_keeps_the_first_adjustment_factor_and_reduces_earlier_matches_only() -> None:
    """003:L6729-6757, 003:L11678-11685 (adjustmentFactor of a removed runner): each removal reduces the
    matched bets on the remaining runners by its own factor; a bet matched at 12 after the first removal
    (23%) is not reduced by it but is by the second (10%): 1 + 11 * 0.9 = 10.90; the first removed
    runner keeps its adjustment factor and REMOVED status through the second removal."""
    sel_d = 44
    ex = make_exchange(runners=(SEL_A, SEL_B, SEL_C, sel_d))
    early = rest(ex, "alice", SEL_A, BACK, 1200, 200)
    rest(ex, "bob", SEL_A, LAY, 1200, 200)
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=SEL_C, adjustment_factor_bp=2300))
    assert [f.price_h for f in order(ex, early).fragments] == [947]
    late = rest(ex, "carol", SEL_A, BACK, 1200, 200)
    rest(ex, "bob", SEL_A, LAY, 1200, 200)
    assert [f.price_h for f in order(ex, late).fragments] == [1200]
    admin(ex, RemoveRunner(market_id=MARKET, selection_id=sel_d, adjustment_factor_bp=1000))
    assert [f.price_h for f in order(ex, late).fragments] == [1090]
    assert order(ex, late).price_reduced
    assert order(ex, early).fragments[0].price_h < 947  # reduced again: it was matched before both
    runners = ex.markets[MARKET].runners
    assert (runners[(SEL_C, 0)].status, runners[(SEL_C, 0)].adjustment_factor_bp) == (codes.REMOVED, 2300)
    assert (runners[(sel_d, 0)].status, runners[(sel_d, 0)].adjustment_factor_bp) == (codes.REMOVED, 1000)
    ex.check_invariants()
