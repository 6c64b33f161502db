"""Funds: exposure, available to bet, INSUFFICIENT_FUNDS, exposure limits and account state
(003:L9771-9776, 003:L9866-9867, 003:L10915-10916, 003:L12355-12358; notes 5.3)."""

from __future__ import annotations

from helpers import (
    BACK,
    LAY,
    MARKET,
    SEL_A,
    SEL_B,
    SEL_C,
    add_account,
    add_market,
    admin,
    apply,
    available,
    balance,
    cancel,
    exposure,
    limit_ins,
    make_exchange,
    order,
    place,
    place_many,
    replace,
    rest,
)

from backlay.core import codes
from backlay.core.codes import AdminErr, ExecErr, InstrErr
from backlay.core.commands import (
    CreateAccount,
    Deposit,
    RunnerResult,
    SetAccountStatus,
    SetExposureLimit,
    SetLossLimit,
    SettleMarket,
    Withdraw,
)
from backlay.core.exchange import Exchange
from backlay.core.reports import AdminResult


def money_state(ex: Exchange) -> tuple[object, ...]:
    """What a rejected placement must not change: bet ids, orders, books, balances, exposures and
    non-zero P&L entries."""
    return (
        ex.next_bet_id, ex.next_match_id, tuple(ex.orders),
        tuple(a.state_tuple() for a in ex.accounts.values()),
        tuple(r.book.queue_state() for m in ex.markets.values() for r in m.runners.values()),
        tuple(sorted((m.market_id, a, k, side, v)
                     for m in ex.markets.values() for a, p in m.positions.items()
                     for side, d in (("win", p.win), ("lose", p.lose)) for k, v in enumerate(d) if v)),
    )

# --- exposure ------------------------------------------------------------------------------------


def test_unmatched_back_exposure_is_its_stake() -> None:
    """notes 5.3 (003:L12304): a back can lose its stake: back 10 @ 3 -> exposure 10."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, BACK, 300, 1000)
    assert exposure(ex, "alice") == 1000
    ex.check_invariants()


def test_unmatched_lay_exposure_is_its_liability() -> None:
    """003:L10915-10916, 003:L12355-12358: a lay can lose size * (price - 1): lay 10 @ 3 -> 20."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, LAY, 300, 1000)
    assert exposure(ex, "alice") == 2000
    ex.check_invariants()


def test_available_is_balance_minus_exposure() -> None:
    """003:L9775-9776 (available to bet limit; notes 5.3): available = balance - exposure."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, LAY, 350, 1000)
    assert balance(ex, "alice") == 100_000
    assert exposure(ex, "alice") == 2500
    assert available(ex, "alice") == 100_000 - 2500
    ex.check_invariants()


def test_matched_back_and_unmatched_lay_at_same_price_exposure_10() -> None:
    """003:L9775-9776, 003:L12355-12358, notes 5.3 (worst case over outcomes, unmatched bets counted
    as matched or not, whichever is worse): back 10 @ 3 on A matched, then lay 10 @ 3 on A unmatched: if A wins 20 - 20 or 20 - 0,
    if A loses -10 + 10 or -10 -> exposure 10 (the lay cannot make it worse)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 300, 1000)
    rest(ex, "alice", SEL_A, BACK, 300, 1000)
    assert exposure(ex, "alice") == 1000
    lay = rest(ex, "alice", SEL_A, LAY, 300, 1000)
    assert order(ex, lay).remaining_minor == 1000
    assert exposure(ex, "alice") == 1000
    rest(ex, "carol", SEL_A, BACK, 300, 1000)  # the lay is matched: fully hedged
    assert exposure(ex, "alice") == 0
    ex.check_invariants()


def test_unmatched_back_and_lay_on_one_runner_worst_case() -> None:
    """003:L9775-9776, 003:L12355-12358, notes 5.3: back 10 @ 4 and lay 10 @ 3 on A, both unmatched: A wins -> the lay alone may be
    matched (-20); A loses -> the back alone (-10): exposure 20."""
    ex = make_exchange()
    r = place_many(ex, "alice", [limit_ins(SEL_A, BACK, 400, 1000), limit_ins(SEL_A, LAY, 300, 1000)])
    assert r.status == codes.SUCCESS
    assert exposure(ex, "alice") == 2000
    ex.check_invariants()


def test_exposure_is_worst_outcome_across_runners() -> None:
    """003:L9775-9776, notes 5.3 (worst case over all outcomes of a one-winner market): lays of 10 @ 3 on A and on B
    cannot both lose -> exposure 20, not 40; backs of 10 on A and on B lose together when C wins
    -> 20."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, LAY, 300, 1000)
    rest(ex, "alice", SEL_B, LAY, 300, 1000)
    assert exposure(ex, "alice") == 2000
    rest(ex, "bob", SEL_A, BACK, 400, 1000)
    rest(ex, "bob", SEL_B, BACK, 400, 1000)
    assert exposure(ex, "bob") == 2000
    ex.check_invariants()


def test_exposure_sums_over_markets() -> None:
    """003:L9775-9776, notes 5.3: an account's exposure (and available to bet) adds up its markets."""
    ex = make_exchange()
    add_market(ex, "1.200")
    rest(ex, "alice", SEL_A, BACK, 300, 1000)
    rest(ex, "alice", SEL_A, LAY, 300, 1000, market_id="1.200")
    assert exposure(ex, "alice") == 3000
    assert available(ex, "alice") == balance(ex, "alice") - 3000
    ex.check_invariants()


def test_matching_keeps_lay_liability_reserved() -> None:
    """003:L12355-12358: a matched lay still holds its liability size*(price-1) (the matched price)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, BACK, 300, 1000)
    rest(ex, "alice", SEL_A, LAY, 350, 1000)  # matched @ 3.0
    assert exposure(ex, "alice") == 2000
    ex.check_invariants()


# --- INSUFFICIENT_FUNDS --------------------------------------------------------------------------


def test_lay_liability_above_available_is_insufficient_funds() -> None:
    """003:L9775-9776, 003:L9866-9867: a lay of 10 @ 3 (liability 20) with 10 available ->
    INSUFFICIENT_FUNDS; nothing stored."""
    ex = make_exchange()
    add_account(ex, "dave", 1000)
    before = money_state(ex)
    r = place(ex, "dave", SEL_A, LAY, 300, 1000)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.INSUFFICIENT_FUNDS
    assert r.instruction_reports[0].error_code == InstrErr.INSUFFICIENT_FUNDS
    assert r.instruction_reports[0].bet_id is None
    assert money_state(ex) == before
    assert not [o for o in ex.orders.values() if o.account_id == "dave"]
    assert exposure(ex, "dave") == 0 and balance(ex, "dave") == 1000
    ex.check_invariants()


def test_back_up_to_available_is_accepted() -> None:
    """003:L9775-9776: a back of exactly the available balance is accepted; 1p more is not."""
    ex = make_exchange()
    add_account(ex, "dave", 1000)
    r = place(ex, "dave", SEL_A, BACK, 300, 1001)
    assert r.error_code == ExecErr.INSUFFICIENT_FUNDS
    rest(ex, "dave", SEL_A, BACK, 300, 1000)
    assert available(ex, "dave") == 0
    ex.check_invariants()


def test_insufficient_funds_rejects_the_whole_batch() -> None:
    """003:L10601-10603, 003:L9866-9867, 003:L9875: two backs of 6 with 10 available: the batch is
    atomic: the instruction that breaks the limit gets INSUFFICIENT_FUNDS, the other ERROR_IN_ORDER,
    nothing stored."""
    ex = make_exchange()
    add_account(ex, "dave", 1000)
    before = money_state(ex)
    r = place_many(ex, "dave", [limit_ins(SEL_A, BACK, 300, 600), limit_ins(SEL_B, BACK, 300, 600)])
    assert r.status == codes.FAILURE and r.error_code == ExecErr.INSUFFICIENT_FUNDS
    assert [ir.error_code for ir in r.instruction_reports] == [InstrErr.ERROR_IN_ORDER, InstrErr.INSUFFICIENT_FUNDS]
    assert money_state(ex) == before
    assert exposure(ex, "dave") == 0 and available(ex, "dave") == 1000
    ex.check_invariants()


def test_insufficient_funds_rejection_changes_nothing() -> None:
    """003:L10601-10603 (atomic; exchange.py: "a rejection is a result that changes nothing"): the
    whole state, fingerprint included, is as before a rejected placement."""
    ex = make_exchange()
    add_account(ex, "dave", 1000)
    before = ex.fingerprint()
    r = place(ex, "dave", SEL_A, LAY, 300, 1000)
    assert r.error_code == ExecErr.INSUFFICIENT_FUNDS
    assert ex.fingerprint() == before
    ex.check_invariants()


def test_insufficient_funds_does_not_match() -> None:
    """003:L9775-9776: a rejected bet never reaches the book, even when it could have matched."""
    ex = make_exchange()
    add_account(ex, "dave", 1000)
    maker = rest(ex, "bob", SEL_A, BACK, 300, 5000)
    r = place(ex, "dave", SEL_A, LAY, 300, 1000)
    assert r.error_code == ExecErr.INSUFFICIENT_FUNDS
    assert order(ex, maker).matched_minor == 0
    ex.check_invariants()


def test_bet_that_reduces_exposure_is_accepted_with_no_available() -> None:
    """003:L9775-9776 (notes 5.3: only the worst case counts): with nothing available, a lay that
    hedges a matched back does not increase exposure, so it is accepted."""
    ex = make_exchange()
    add_account(ex, "dave", 1000)
    rest(ex, "bob", SEL_A, LAY, 300, 1000)
    rest(ex, "dave", SEL_A, BACK, 300, 1000)
    assert available(ex, "dave") == 0
    r = place(ex, "dave", SEL_A, LAY, 250, 1000)
    assert r.status == codes.SUCCESS, r
    assert exposure(ex, "dave") == 1000
    rest(ex, "carol", SEL_A, BACK, 250, 1000)  # hedge matched: A wins +20-15, A loses -10+10
    assert exposure(ex, "dave") == 0 and available(ex, "dave") == 1000
    ex.check_invariants()


def test_funds_freed_by_cancel_can_be_used() -> None:
    """003:L9775-9776 (notes 5.3: released on cancel): after a cancel the stake is available again."""
    ex = make_exchange()
    add_account(ex, "dave", 1000)
    bet = rest(ex, "dave", SEL_A, BACK, 300, 1000)
    assert place(ex, "dave", SEL_B, BACK, 300, 500).error_code == ExecErr.INSUFFICIENT_FUNDS
    cancel(ex, "dave", bet)
    rest(ex, "dave", SEL_B, BACK, 300, 500)
    ex.check_invariants()


# --- exposure limit and account state ------------------------------------------------------------


def test_exposure_limit() -> None:
    """003:L9775-9776: "exceeded its exposure limit": with a limit of 5, a back of 6 ->
    INSUFFICIENT_FUNDS even though the balance would cover it; 5 is accepted; no limit -> accepted."""
    ex = make_exchange()
    admin(ex, SetExposureLimit(account_id="alice", exposure_limit_minor=500))
    before = money_state(ex)
    r = place(ex, "alice", SEL_A, BACK, 300, 600)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.INSUFFICIENT_FUNDS
    assert money_state(ex) == before
    rest(ex, "alice", SEL_A, BACK, 300, 500)
    assert place(ex, "alice", SEL_B, BACK, 300, 100).error_code == ExecErr.INSUFFICIENT_FUNDS
    admin(ex, SetExposureLimit(account_id="alice", exposure_limit_minor=None))
    rest(ex, "alice", SEL_B, BACK, 300, 100)
    assert exposure(ex, "alice") == 600
    ex.check_invariants()


def test_exposure_limit_set_at_account_creation() -> None:
    """003:L9775-9776: the exposure limit applies from account creation."""
    ex = make_exchange()
    admin(ex, CreateAccount(account_id="erin", exposure_limit_minor=1500))
    admin(ex, Deposit(account_id="erin", amount_minor=10_000))
    assert place(ex, "erin", SEL_A, LAY, 300, 1000).error_code == ExecErr.INSUFFICIENT_FUNDS
    rest(ex, "erin", SEL_A, BACK, 300, 1500)
    ex.check_invariants()


def test_suspended_account_is_invalid_account_state() -> None:
    """003:L9771-9772: an order from a suspended account -> INVALID_ACCOUNT_STATE; nothing stored;
    reactivated it can bet again."""
    ex = make_exchange()
    admin(ex, SetAccountStatus(account_id="alice", status="SUSPENDED"))
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_A, BACK, 300, 200)
    assert r.status == codes.FAILURE and r.error_code == ExecErr.INVALID_ACCOUNT_STATE
    assert all(ir.status == codes.FAILURE for ir in r.instruction_reports)
    assert ex.fingerprint() == before
    admin(ex, SetAccountStatus(account_id="alice", status="ACTIVE"))
    rest(ex, "alice", SEL_A, BACK, 300, 200)
    ex.check_invariants()


def test_suspended_account_cannot_replace() -> None:
    """003:L9771-9772: replaceOrders places new bets, so a suspended account gets INVALID_ACCOUNT_STATE."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 200)
    admin(ex, SetAccountStatus(account_id="alice", status="SUSPENDED"))
    r = replace(ex, "alice", (bet, 320))
    assert r.status == codes.FAILURE and r.error_code == ExecErr.INVALID_ACCOUNT_STATE
    assert order(ex, bet).remaining_minor == 200
    ex.check_invariants()


def test_unknown_account_is_invalid_account_state() -> None:
    """003:L9771-9772: no such account -> INVALID_ACCOUNT_STATE."""
    ex = make_exchange()
    before = ex.fingerprint()
    r = place(ex, "nobody", SEL_A, BACK, 300, 200)
    assert r.error_code == ExecErr.INVALID_ACCOUNT_STATE
    assert ex.fingerprint() == before
    ex.check_invariants()


# --- deposits and withdrawals --------------------------------------------------------------------


def test_withdraw_more_than_available_is_insufficient_funds() -> None:
    """003:L9775-9776 (notes 5.3: available = balance - exposure): a withdrawal may take the
    available balance only; more -> INSUFFICIENT_FUNDS, nothing changes."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, LAY, 300, 1000)  # exposure 20
    avail = available(ex, "alice")
    before = ex.fingerprint()
    r = apply(ex, Withdraw(account_id="alice", amount_minor=avail + 1))
    assert isinstance(r, AdminResult) and not r.ok and r.error == AdminErr.INSUFFICIENT_FUNDS
    assert ex.fingerprint() == before
    admin(ex, Withdraw(account_id="alice", amount_minor=avail))
    assert available(ex, "alice") == 0 and balance(ex, "alice") == 2000
    ex.check_invariants()


def test_deposit_and_withdraw_move_the_balance() -> None:
    """001:L249-261 (amounts in the account currency): deposits and withdrawals change the balance
    and money is conserved."""
    ex = make_exchange()
    admin(ex, Deposit(account_id="alice", amount_minor=2_500))
    admin(ex, Withdraw(account_id="alice", amount_minor=1_000))
    assert balance(ex, "alice") == 101_500
    r = apply(ex, Deposit(account_id="alice", amount_minor=0))
    assert isinstance(r, AdminResult) and r.error == AdminErr.INVALID_AMOUNT
    ex.check_invariants()


def test_no_betting_on_an_unfunded_account() -> None:
    """003:L9775-9776: an account with no balance has nothing available to bet."""
    ex = make_exchange()
    add_account(ex, "zed", 0)
    r = place(ex, "zed", SEL_C, BACK, 300, 100)
    assert r.error_code == ExecErr.INSUFFICIENT_FUNDS
    assert MARKET in ex.markets
    ex.check_invariants()


def test_loss_limit_counts_settled_losses_and_exposure() -> None:
    """003:L9777, L9859-9860: LOSS_LIMIT_EXCEEDED when an action takes the account past its
    self-imposed loss limit: losses settled since the limit was set plus the new worst-case exposure.
    Nothing is stored; a bet that lowers exposure is still accepted."""
    ex = make_exchange()
    admin(ex, SetLossLimit(account_id="alice", loss_limit_minor=1_500))
    rest(ex, "alice", SEL_A, BACK, 300, 1_000)  # exposure 10.00 within the 15.00 limit
    before = ex.fingerprint()
    r = place(ex, "alice", SEL_B, BACK, 300, 1_000)  # worst case would be 20.00 > 15.00
    assert r.status == codes.FAILURE and r.error_code == ExecErr.LOSS_LIMIT_EXCEEDED
    assert r.instruction_reports[0].error_code == InstrErr.LOSS_LIMIT_EXCEEDED
    assert ex.fingerprint() == before
    # bob lays alice's bet in full; SEL_B wins: alice loses 10.00, which now counts against the limit
    place(ex, "bob", SEL_A, LAY, 300, 1_000)
    admin(ex, SettleMarket(market_id=MARKET, results=[RunnerResult(selection_id=SEL_B)]))
    add_market(ex, "1.200", (1, 2))
    r = place(ex, "alice", 1, BACK, 300, 600, market_id="1.200")  # 10.00 lost + 6.00 > 15.00
    assert r.error_code == ExecErr.LOSS_LIMIT_EXCEEDED
    assert place(ex, "alice", 1, BACK, 300, 500, market_id="1.200").status == codes.SUCCESS
    ex.check_invariants()


def test_loss_limit_removed_and_validated() -> None:
    """The loss limit is an operator setting: None removes it, a negative one is refused."""
    ex = make_exchange()
    r = apply(ex, SetLossLimit(account_id="alice", loss_limit_minor=-1))
    assert isinstance(r, AdminResult) and r.error == AdminErr.INVALID_AMOUNT
    admin(ex, SetLossLimit(account_id="alice", loss_limit_minor=0))
    assert place(ex, "alice", 11, BACK, 300, 200).error_code == ExecErr.LOSS_LIMIT_EXCEEDED
    admin(ex, SetLossLimit(account_id="alice", loss_limit_minor=None))
    assert place(ex, "alice", 11, BACK, 300, 200).status == codes.SUCCESS
