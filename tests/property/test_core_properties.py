"""Property tests of the exchange core over random command sequences (see strategies.py).

Properties: money is conserved and the books stay uncrossed after every command; both sides of every
match agree (back stake x (price - 1) = lay liability); replay and pickling are deterministic; a
rejected command changes nothing; a successful placement never takes an account's available-to-bet
below zero.
"""

from __future__ import annotations

import pickle
from typing import Any

from hypothesis import HealthCheck, example, given, settings

from backlay.core import codes
from backlay.core.codes import BACK, LAY, ExecErr
from backlay.core.commands import (
    AdvanceTime,
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOrder,
    MarketDefinition,
    PlaceInstruction,
    PlaceOrders,
    RunnerDefinition,
    SetMarketStatus,
    UnsettleMarket,
)
from backlay.core.crossmatch import HOUSE
from backlay.core.exchange import Exchange
from backlay.core.reports import AdminResult

from .strategies import (
    Scenario,
    check_books,
    check_house,
    check_matches,
    check_pending,
    check_settlement_money,
    is_rejection,
    market_pnl,
    replay,
    run_scenario,
    scenarios,
    state_key,
    succeeded_order_command,
)

COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

# A PERSIST bet waiting for the in-play bet delay when a material suspension happens (it once stayed
# PENDING for ever).
ORPHAN_PENDING = Scenario(
    funds=(100_000, 100_000), second_market=False, bsp=False, passive=False,
    ops=(
        ("inplay", 0, 0, 5),
        ("place", 1_000, 0, 0, [(0, BACK, 0, 500, "persist")], None, None),
        ("suspend", 1_000, 0, True),
        ("open", 1_000, 0, False),
        ("advance", 8_000),
    ),
)

# A placement refused for INSUFFICIENT_FUNDS by an account with no position in the market yet.
INSUFFICIENT = Scenario(
    funds=(500, 100_000), second_market=False, bsp=False, passive=False,
    ops=(("place", 0, 0, 0, [(0, BACK, 0, 1_000, "plain")], None, None),),
)

# A FILL_OR_KILL order with nothing to match (its kill once reduced a book level it was never in).
FOK_UNFILLED = Scenario(
    funds=(100_000, 100_000), second_market=False, bsp=False, passive=False,
    ops=(("place", 0, 0, 0, [(0, BACK, 0, 100, "fok")], None, None),),
)

# A lay with a BACKERS_PROFIT target whose limit reaches two resting back levels (it once stopped after
# the first level and rested its remainder across the second: a crossed book).
TARGET_CROSS = Scenario(
    funds=(100_000, 100_000), second_market=False, bsp=False, passive=False,
    ops=(
        ("place", 0, 0, 0, [(1, BACK, 0, 100, "plain")], None, None),
        ("place", 0, 0, 0, [(1, BACK, 1, 100, "plain")], None, None),
        ("place", 0, 1, 0, [(1, LAY, 1, 500, "profit")], None, None),
    ),
)

# In-play placements on all three runners of a cross-matching market, still in their bet delay when the
# settlement comes: released at its time, they cross-match first, and the house account is made by the
# settling command itself (the money check once looked its balance up from before the command).
_P = ("place", 0, 0, 0)
DELAYED_CROSS = Scenario(
    funds=(2000, 0), second_market=False, bsp=False, passive=False, crossing=True,
    ops=(
        (*_P, [(0, BACK, 0, 100, "plain")], None, None),
        ("inplay", 0, 0, 1),
        (*_P, [(2, BACK, 0, 100, "plain")], None, None),
        (*_P, [(0, BACK, 0, 100, "plain"), (1, BACK, 0, 100, "plain")], None, None),
        ("settle", 4000, 0, [], False),
    ),
)


# --- 1 and 2: invariants after every command -------------------------------------------------------


def _checked_step(ex: Exchange, cmd: Command, ts: int) -> Any:
    balances = {a: acct.balance_minor for a, acct in ex.accounts.items()}
    pnl = market_pnl(ex, cmd.market_id) if isinstance(cmd, UnsettleMarket) else None
    result, _ = ex.apply(cmd, ts)
    check_settlement_money(ex, cmd, isinstance(result, AdminResult) and result.ok, balances, pnl)
    ex.check_invariants()
    check_books(ex)
    check_house(ex)
    check_pending(ex)
    check_matches(ex)
    return result


@settings(max_examples=1000, **COMMON)
@given(scenarios())
@example(ORPHAN_PENDING)
@example(FOK_UNFILLED)
@example(TARGET_CROSS)
def test_invariants_hold_after_every_command(scn: Scenario) -> None:
    """Money conserved (balances + commission = deposits - withdrawals; 001:L1063-1124 commission,
    003:L9923-9929 settlement), uncrossed books and resting orders = EXECUTABLE LIMIT orders
    (003:L9654-9669), size = matched + remaining + lapsed + cancelled + voided (003:L11861-11870),
    exposure >= 0 and consistent; a PENDING order is one still waiting for its bet delay
    (003:L11586-11590, 003:L6851-6852); and every match pairs a back and a lay of equal size and price,
    so the back's win equals the lay's liability (003:L11875-11891); a settlement pays exactly the
    settled profits less commission at the base rate on a positive net, and an unsettlement takes
    exactly that back (001:L1052-1593)."""
    ex, _ = run_scenario(scn, _checked_step)
    ex.check_invariants()
    check_matches(ex)


@settings(max_examples=300, **COMMON)
@given(scenarios(crossing=True))
@example(DELAYED_CROSS)
def test_invariants_hold_with_cross_matching(scn: Scenario) -> None:
    """The same invariants in a cross-matching market (001:L998-1050): money conserved with the
    cross-matching book as an account, books uncrossed, every match a BACK and a LAY of one size and price
    on one runner (each virtual leg is a real order against the house), and the house balanced."""
    ex, _ = run_scenario(scn, _checked_step)
    ex.check_invariants()
    check_matches(ex)


# --- 3: deterministic replay, pickling -------------------------------------------------------------


@settings(max_examples=400, **COMMON)
@given(scenarios(min_ops=2))
def test_replay_and_pickle_are_deterministic(scn: Scenario) -> None:
    """The core is pure (exchange.py docstring; journal replay): the same commands at the same times
    give the same results, events and fingerprint, also when the state is pickled midway (a snapshot)
    and the rest applied to the copy."""
    outputs: list[Any] = []

    def recording(ex: Exchange, cmd: Command, ts: int) -> Any:
        result, events = ex.apply(cmd, ts)
        outputs.append((result, events))
        return result

    ex, log = run_scenario(scn, recording)
    fp = ex.fingerprint()

    fresh = Exchange()
    again = [fresh.apply(cmd, ts) for cmd, ts in log]
    assert fresh.fingerprint() == fp
    setup = len(log) - len(outputs)
    assert [(r, e) for r, e in again[setup:]] == outputs

    mid = setup + len(scn.ops) // 2
    first = replay(log[:mid])
    restored = pickle.loads(pickle.dumps(first))
    assert restored.fingerprint() == first.fingerprint()
    replay(log[mid:], restored)
    assert restored.fingerprint() == fp
    restored.check_invariants()


# --- 4: rejections change nothing ------------------------------------------------------------------


@settings(max_examples=600, **COMMON)
@given(scenarios())
@example(INSUFFICIENT)
def test_rejected_commands_change_nothing(scn: Scenario) -> None:
    """exchange.py: 'A rejection is a result that changes nothing' (003:L9736-9739 placeOrders is atomic;
    003:L10898-10909 only a version lapse allocates a bet id on failure): the fingerprint is the same
    before and after, compared at the same clock and after the customerRef window housekeeping."""

    def step(ex: Exchange, cmd: Command, ts: int) -> Any:
        now = max(ts, ex.now_ms)
        due = ex.next_due_ms()
        # a delayed placement that falls due runs before the command: that is a legitimate change
        before = state_key(ex, now) if due is None or due > now else None
        result, _ = ex.apply(cmd, ts)
        if before is not None and is_rejection(result):
            assert state_key(ex, ex.now_ms) == before, (cmd, result)
        return result

    run_scenario(scn, step)


# --- 5: available to bet ---------------------------------------------------------------------------


@settings(max_examples=600, **COMMON)
@given(scenarios())
def test_successful_placement_never_overdraws(scn: Scenario) -> None:
    """003:L9775, L9866 INSUFFICIENT_FUNDS, inventory 5.3: a placement (or replacement) is accepted only if
    the account's exposure stays within its balance; other accounts are only matched, which never
    raises exposure. (After an unsettlement an account can already be below zero: then a successful
    order command must not raise its exposure.)"""

    def step(ex: Exchange, cmd: Command, ts: int) -> Any:
        before = {a: (acct.balance_minor, acct.exposure_minor) for a, acct in ex.accounts.items()}
        result, _ = ex.apply(cmd, ts)
        if succeeded_order_command(cmd, result):
            for account_id, acct in ex.accounts.items():
                if account_id == HOUSE:  # the exchange's own balanced book: see check_house
                    continue
                balance0, exposure0 = before[account_id]
                assert acct.balance_minor == balance0
                if balance0 >= exposure0:
                    assert acct.exposure_minor <= acct.balance_minor, (account_id, cmd, result)
                else:
                    assert acct.exposure_minor <= exposure0, (account_id, cmd, result)
        return result

    run_scenario(scn, step)


# --- explicit regressions of failures the properties found (fixed in the core since) -------------------------------------------------


def _one_market(funds: int) -> Exchange:
    ex = Exchange()
    ex.apply(AdvanceTime(), 1_000)
    ex.apply(CreateAccount(account_id="a"), 1_000)
    ex.apply(Deposit(account_id="a", amount_minor=funds), 1_000)
    ex.apply(CreateMarket(market_id="1.1", definition=MarketDefinition(name="m"),
                          runners=[RunnerDefinition(selection_id=s, name=str(s)) for s in (1, 2, 3)]), 1_000)
    ex.apply(SetMarketStatus(market_id="1.1", status=codes.OPEN), 1_000)
    return ex


def test_regression_insufficient_funds_leaves_no_trace() -> None:
    """exchange.py 'A rejection is a result that changes nothing' (003:L9775, L9866 INSUFFICIENT_FUNDS)."""
    ex = _one_market(500)
    before = ex.fingerprint()
    result, _ = ex.apply(PlaceOrders(account_id="a", market_id="1.1", instructions=[PlaceInstruction(
        order_type=codes.LIMIT, selection_id=1, side=LAY, limit=LimitOrder(price_h=300, size_minor=1_000))]), 1_000)
    assert result.error_code == ExecErr.INSUFFICIENT_FUNDS
    assert ex.fingerprint() == before


def _place(ex: Exchange, account: str, side: int, size: int | None, ts: int, price_h: int = 300,
           **limit: Any) -> Any:
    result, _ = ex.apply(PlaceOrders(account_id=account, market_id="1.1", instructions=[PlaceInstruction(
        order_type=codes.LIMIT, selection_id=1, side=side, limit=LimitOrder(price_h=price_h, size_minor=size,
                                                                            **limit))]), ts)
    return result


def test_regression_unfilled_fill_or_kill_on_an_empty_book() -> None:
    """003:L10824-10852: a FOK back with nothing to match is killed: EXPIRED, sizeLapsed = size."""
    ex = _one_market(10_000)
    result = _place(ex, "a", BACK, 100, 1_000, time_in_force=codes.FILL_OR_KILL)
    order = ex.orders[result.instruction_reports[0].bet_id]
    assert (order.status, order.lapsed_minor, order.matched_minor) == (codes.EXPIRED, 100, 0)
    ex.check_invariants()


def test_regression_unfilled_fill_or_kill_leaves_the_resting_orders_alone() -> None:
    """003:L10824-10852: a killed FOK order never rests, and the orders resting at its price keep their
    size (here: a 5.00 back at 3.0 and a FOK back of 1.00 at 3.0 with no lay to match)."""
    ex = _one_market(10_000)
    ex.apply(CreateAccount(account_id="b"), 1_000)
    ex.apply(Deposit(account_id="b", amount_minor=10_000), 1_000)
    _place(ex, "b", BACK, 500, 1_000)
    _place(ex, "a", BACK, 100, 1_000, time_in_force=codes.FILL_OR_KILL)
    assert ex.markets["1.1"].runners[(1, 0)].book.available_to_lay() == [(300, 500)]
    ex.check_invariants()


def test_regression_bet_target_matches_every_level_within_its_limit() -> None:
    """003:L10910-10943: a lay with a BACKERS_PROFIT target of 5.00 and limit 3.05, against resting backs of
    1.00 at 3.0 and 1.00 at 3.05, takes both before resting what is left; the book stays uncrossed."""
    ex = _one_market(10_000)
    ex.apply(CreateAccount(account_id="b"), 1_000)
    ex.apply(Deposit(account_id="b", amount_minor=10_000), 1_000)
    _place(ex, "b", BACK, 100, 1_000)
    _place(ex, "b", BACK, 100, 1_000, price_h=305)
    result = _place(ex, "a", LAY, None, 1_000, price_h=305, bet_target_type=codes.BACKERS_PROFIT,
                    bet_target_minor=500)
    order = ex.orders[result.instruction_reports[0].bet_id]
    assert order.matched_minor == 200
    assert ex.markets["1.1"].runners[(1, 0)].book.available_to_lay() == []
    ex.check_invariants()
