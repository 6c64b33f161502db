"""Market lifecycle, market version, turn in-play, the in-play bet delay and runner removal.

Spec: market states INACTIVE -> OPEN <-> SUSPENDED -> CLOSED (003:L9614-9620); the market version and
its minimum accepted version (003:L10853-10909); persistence at turn in-play (003:L9817-9838); the bet
delay (003:L11586-11590, PASSIVE model 003:L9958-9966, lapse reasons 003:L6830-6870); runner removal and
the Rule 4 reduction (003:L6729-6757). Inventory: betting-api.md sections 5.12-5.17.
"""

from __future__ import annotations

from typing import Any

import pytest

from backlay.core import codes
from backlay.core.codes import BACK, LAY, AdminErr, ExecErr, InstrErr
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
    MarketOnCloseOrder,
    PlaceInstruction,
    PlaceOrders,
    RemoveRunner,
    RunnerDefinition,
    RunnerResult,
    SetMarketStatus,
    SettleMarket,
    TurnInPlay,
    UpdateMarketDefinition,
)
from backlay.core.events import PlacementCompleted
from backlay.core.exchange import Exchange
from backlay.core.money import lay_liability_reserve_minor, win_minor
from backlay.core.reports import AdminResult, CancelExecutionReport, PlaceExecutionReport

T0 = 1_700_000_000_000
MKT = "1.200"
A, B, C = 11, 22, 33
FUNDS = 100_000


# --- helpers -------------------------------------------------------------------------------------


def run(ex: Exchange, cmd: Command, ts: int | None = None) -> tuple[Any, list[Any]]:
    return ex.apply(cmd, ex.now_ms if ts is None else ts)


def admin(ex: Exchange, cmd: Command, ts: int | None = None) -> AdminResult:
    result, _ = run(ex, cmd, ts)
    assert isinstance(result, AdminResult) and result.ok, result
    return result


def new_exchange(accounts: tuple[str, ...] = ("alice", "bob", "carol"), *, open_market: bool = True,
                 runners: tuple[int, ...] = (A, B, C), **definition: Any) -> Exchange:
    ex = Exchange()
    admin(ex, AdvanceTime(), T0)
    for acct in accounts:
        admin(ex, CreateAccount(account_id=acct))
        admin(ex, Deposit(account_id=acct, amount_minor=FUNDS))
    admin(ex, CreateMarket(market_id=MKT, definition=MarketDefinition(name="Race", **definition),
                           runners=[RunnerDefinition(selection_id=s, name=f"runner {s}") for s in runners]))
    if open_market:
        admin(ex, SetMarketStatus(market_id=MKT, status=codes.OPEN))
    return ex


def ins(sel: int, side: int, price_h: int, size_minor: int | None, **limit: Any) -> PlaceInstruction:
    return PlaceInstruction(order_type=codes.LIMIT, selection_id=sel, side=side,
                            limit=LimitOrder(price_h=price_h, size_minor=size_minor, **limit))


def place(ex: Exchange, account: str, sel: int, side: int, price_h: int, size_minor: int | None,
          ts: int | None = None, market_version: int | None = None, **limit: Any) -> PlaceExecutionReport:
    report, _ = run(ex, PlaceOrders(account_id=account, market_id=MKT, market_version=market_version,
                                    instructions=[ins(sel, side, price_h, size_minor, **limit)]), ts)
    assert isinstance(report, PlaceExecutionReport)
    return report


def bet(report: PlaceExecutionReport) -> int:
    assert report.status == codes.SUCCESS, report
    bet_id = report.instruction_reports[0].bet_id
    assert bet_id is not None
    return bet_id


def market(ex: Exchange) -> Any:
    return ex.markets[MKT]


def book(ex: Exchange, sel: int) -> Any:
    return market(ex).runners[(sel, 0)].book


def resting_ids(ex: Exchange, sel: int) -> set[int]:
    b = book(ex, sel)
    return {o.bet_id for side in (b.backs, b.lays) for lvl in side.levels.values() for o in lvl.live_orders()}


def exposure(ex: Exchange, account: str) -> int:
    return ex.accounts[account].exposure_minor


def assert_rejected_unchanged(ex: Exchange, cmd: Command, error: str | None = None) -> AdminResult:
    """An invalid operator command gives ok=False and changes nothing (the fingerprint includes now_ms,
    so the command is applied at the current time)."""
    before = ex.fingerprint()
    result, events = run(ex, cmd)
    assert isinstance(result, AdminResult) and not result.ok, result
    if error is not None:
        assert result.error == error, result
    assert ex.fingerprint() == before
    assert events == []
    return result


def completions(events: list[Any]) -> list[PlacementCompleted]:
    return [e for e in events if isinstance(e, PlacementCompleted)]


# --- lifecycle -----------------------------------------------------------------------------------


def test_new_market_is_inactive_and_not_open_for_betting() -> None:
    """003:L9616 INACTIVE: created but not yet available; 003:L9778-9780 placing on a market that is not
    open gives MARKET_NOT_OPEN_FOR_BETTING."""
    ex = new_exchange(open_market=False)
    assert market(ex).status == codes.INACTIVE
    before = ex.fingerprint()
    report = place(ex, "alice", A, BACK, 300, 200)
    assert report.status == codes.FAILURE
    assert report.error_code == ExecErr.MARKET_NOT_OPEN_FOR_BETTING
    assert report.instruction_reports[0].bet_id is None
    assert ex.fingerprint() == before


def test_lifecycle_open_suspend_open_close_bumps_version_each_time() -> None:
    """003:L9614-9620 INACTIVE -> OPEN <-> SUSPENDED -> CLOSED; 003:L10863 the version is incremented for
    any and all changes to the market."""
    ex = new_exchange(open_market=False)
    m = market(ex)
    versions = [m.version]
    for cmd, status in [
        (SetMarketStatus(market_id=MKT, status=codes.OPEN), codes.OPEN),
        (SetMarketStatus(market_id=MKT, status=codes.SUSPENDED), codes.SUSPENDED),
        (SetMarketStatus(market_id=MKT, status=codes.OPEN), codes.OPEN),
        (SetMarketStatus(market_id=MKT, status=codes.SUSPENDED), codes.SUSPENDED),
        (CloseMarket(market_id=MKT), codes.CLOSED),
    ]:
        admin(ex, cmd)
        assert m.status == status
        assert m.version > versions[-1]
        versions.append(m.version)
    ex.check_invariants()


def test_placing_on_a_suspended_market_gives_market_suspended() -> None:
    """003:L9778-9780 MARKET_SUSPENDED at the execution level; nothing changes."""
    ex = new_exchange()
    admin(ex, SetMarketStatus(market_id=MKT, status=codes.SUSPENDED))
    before = ex.fingerprint()
    report = place(ex, "alice", A, BACK, 300, 200)
    assert (report.status, report.error_code) == (codes.FAILURE, ExecErr.MARKET_SUSPENDED)
    assert report.instruction_reports[0].error_code == InstrErr.MARKET_NOT_OPEN_FOR_BETTING
    assert ex.fingerprint() == before


@pytest.mark.parametrize(
    ("setup", "cmd"),
    [
        ([], SetMarketStatus(market_id=MKT, status=codes.OPEN)),  # OPEN -> OPEN
        ([], SetMarketStatus(market_id=MKT, status=codes.CLOSED)),  # closing is CloseMarket's job
        ([], SetMarketStatus(market_id=MKT, status="ACTIVE")),  # not a MarketStatus
        ([SetMarketStatus(market_id=MKT, status=codes.SUSPENDED)],
         SetMarketStatus(market_id=MKT, status=codes.SUSPENDED)),  # SUSPENDED -> SUSPENDED
        ([CloseMarket(market_id=MKT)], SetMarketStatus(market_id=MKT, status=codes.OPEN)),  # CLOSED -> OPEN
        ([CloseMarket(market_id=MKT)], SetMarketStatus(market_id=MKT, status=codes.SUSPENDED)),
        ([CloseMarket(market_id=MKT)], CloseMarket(market_id=MKT)),  # CLOSED -> CLOSED
        ([CloseMarket(market_id=MKT)], TurnInPlay(market_id=MKT)),
        ([TurnInPlay(market_id=MKT)], TurnInPlay(market_id=MKT)),  # in-play already
        ([CloseMarket(market_id=MKT)], RemoveRunner(market_id=MKT, selection_id=A)),
    ],
)
def test_invalid_transitions_are_rejected_and_change_nothing(setup: list[Command], cmd: Command) -> None:
    """003:L9614-9620: the only transitions are INACTIVE -> OPEN <-> SUSPENDED -> CLOSED; anything else
    is an AdminResult ok=False that leaves the state as it was."""
    ex = new_exchange()
    for s in setup:
        admin(ex, s)
    assert_rejected_unchanged(ex, cmd, AdminErr.INVALID_STATE_TRANSITION)


def test_inactive_market_cannot_turn_in_play_or_lose_runners() -> None:
    """003:L9614-9620: an INACTIVE market is not yet available: no turn in-play, no removal."""
    ex = new_exchange(open_market=False)
    assert_rejected_unchanged(ex, TurnInPlay(market_id=MKT), AdminErr.INVALID_STATE_TRANSITION)
    assert_rejected_unchanged(ex, RemoveRunner(market_id=MKT, selection_id=A), AdminErr.INVALID_STATE_TRANSITION)


def test_unknown_market_is_rejected() -> None:
    """003:L9614-9620 (operator commands on a market that does not exist fail without effect)."""
    ex = new_exchange()
    for cmd in (SetMarketStatus(market_id="1.999", status=codes.OPEN), CloseMarket(market_id="1.999"),
                TurnInPlay(market_id="1.999"), RemoveRunner(market_id="1.999", selection_id=A)):
        assert_rejected_unchanged(ex, cmd, AdminErr.NO_SUCH_MARKET)


def test_turn_in_play_not_enabled_is_rejected() -> None:
    """003:L6421 turnInPlayEnabled false: the market is not turned in-play."""
    ex = new_exchange(turn_in_play_enabled=False)
    assert_rejected_unchanged(ex, TurnInPlay(market_id=MKT), AdminErr.INVALID_STATE_TRANSITION)


# --- version / minimum version (003:L10853-10909) ------------------------------------------------


def test_version_table_market_activated_row() -> None:
    """003:L10866 'Market Activated 1234 1234': at activation the minimum accepted version is the
    activation version itself."""
    ex = new_exchange(open_market=False)
    admin(ex, SetMarketStatus(market_id=MKT, status=codes.OPEN))
    assert market(ex).min_version == market(ex).version


def test_version_table_non_material_then_material_rows() -> None:
    """003:L10853-10909: a start-time update (not suspended) bumps the version but not the minimum
    version; a runner removal and turning in-play are material: minimum version = version."""
    ex = new_exchange()
    m = market(ex)
    v0, min0 = m.version, m.min_version
    admin(ex, UpdateMarketDefinition(market_id=MKT, changes={"market_time_ms": T0 + 3_600_000}))
    assert (m.version, m.min_version) == (v0 + 1, min0)  # 'Start time updated 1235 1234'
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C))
    assert m.version > v0 + 1 and m.min_version == m.version  # 'Runner removed 1236 1236'
    v2 = m.version
    admin(ex, TurnInPlay(market_id=MKT))
    assert m.version > v2 and m.min_version == m.version  # 'Market turned in-play 1237 1237'


def test_non_material_suspension_keeps_min_version_and_unmatched_bets() -> None:
    """003:L10882-10892: only changes under suspension that are material (removal, turn in-play, lapsing
    or voiding bets) move the minimum version; a plain suspension does not, and bets stay."""
    ex = new_exchange()
    m = market(ex)
    bid = bet(place(ex, "alice", A, BACK, 300, 500))
    v0, min0 = m.version, m.min_version
    admin(ex, SetMarketStatus(market_id=MKT, status=codes.SUSPENDED))
    admin(ex, SetMarketStatus(market_id=MKT, status=codes.OPEN))
    assert m.version == v0 + 2 and m.min_version == min0
    assert ex.orders[bid].status == codes.EXECUTABLE and bid in resting_ids(ex, A)


def test_material_suspension_moves_min_version_and_lapses_lapse_bets_only() -> None:
    """003:L10888-10892 lapsing bets on a goal is a material change; 003:L9824-9828 PERSIST bets are not
    cancelled on a material event, LAPSE bets are."""
    ex = new_exchange()
    m = market(ex)
    admin(ex, TurnInPlay(market_id=MKT))
    lapse_id = bet(place(ex, "alice", A, BACK, 300, 500))
    keep_id = bet(place(ex, "alice", B, BACK, 400, 500, persistence=codes.PERSIST))
    assert exposure(ex, "alice") == 1000
    admin(ex, SetMarketStatus(market_id=MKT, status=codes.SUSPENDED, material=True, suspend_reason="Goal"))
    assert m.min_version == m.version
    lapsed = ex.orders[lapse_id]
    assert (lapsed.status, lapsed.lapsed_minor, lapsed.remaining_minor) == (codes.EXECUTION_COMPLETE, 500, 0)
    assert lapse_id not in resting_ids(ex, A)
    kept = ex.orders[keep_id]
    assert (kept.status, kept.remaining_minor) == (codes.EXECUTABLE, 500) and keep_id in resting_ids(ex, B)
    assert exposure(ex, "alice") == 500
    ex.check_invariants()


def test_placement_with_version_older_than_material_change_lapses_with_bet_id() -> None:
    """003:L10898-10909: placed with a version older than the last material change: FAILURE /
    BET_ACTION_ERROR, instruction BET_TAKEN_OR_LAPSED, a betId is allocated and the order is
    EXECUTION_COMPLETE (lapse reason MKT_VERSION, 003:L6853-6855)."""
    ex = new_exchange()
    old_version = market(ex).version
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C))
    report = place(ex, "alice", A, BACK, 300, 500, market_version=old_version)
    assert (report.status, report.error_code) == (codes.FAILURE, ExecErr.BET_ACTION_ERROR)
    ir = report.instruction_reports[0]
    assert ir.error_code == InstrErr.BET_TAKEN_OR_LAPSED and ir.bet_id is not None
    assert ir.order_status == codes.EXECUTION_COMPLETE
    order = ex.orders[ir.bet_id]
    assert (order.lapsed_minor, order.lapse_reason) == (500, codes.Lapse.MKT_VERSION)
    assert exposure(ex, "alice") == 0
    ex.check_invariants()


def test_stale_version_placement_at_an_occupied_price_leaves_the_book_alone() -> None:
    """003:L10898-10909: a bet placed with a version older than the last material change is lapsed and
    never reaches the book; the resting bets at its price are unaffected."""
    ex = new_exchange()
    old_version = market(ex).version
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C))
    resting = bet(place(ex, "bob", A, BACK, 300, 1000))
    report = place(ex, "alice", A, BACK, 300, 500, market_version=old_version)
    assert report.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED
    assert book(ex, A).available_to_lay() == [(300, 1000)]
    assert ex.orders[resting].remaining_minor == 1000
    ex.check_invariants()


def test_placement_with_version_older_than_non_material_change_is_processed() -> None:
    """003:L10866-10870: 'Non-material change, bets placed before change but received after will be
    processed normally'."""
    ex = new_exchange()
    old_version = market(ex).version
    admin(ex, UpdateMarketDefinition(market_id=MKT, changes={"market_time_ms": T0 + 60_000}))
    report = place(ex, "alice", A, BACK, 300, 500, market_version=old_version)
    assert report.status == codes.SUCCESS
    assert report.instruction_reports[0].order_status == codes.EXECUTABLE


# --- turn in-play ----------------------------------------------------------------------------------


def test_turn_in_play_lapses_lapse_bets_and_keeps_persist_bets() -> None:
    """003:L9822-9829 LAPSE: lapsed when the market turns in play if unmatched; PERSIST: placed into the
    in-play market. Matched parts are untouched; the lapsed part's exposure is released; the order is
    EXECUTION_COMPLETE with sizeLapsed (003:L11861-11870)."""
    ex = new_exchange()
    lapse_id = bet(place(ex, "alice", A, BACK, 300, 1000))  # LAPSE by default
    place(ex, "bob", A, LAY, 300, 400)  # matches 4.00 of it
    persist_id = bet(place(ex, "alice", B, LAY, 500, 600, persistence=codes.PERSIST))
    before = exposure(ex, "alice")
    admin(ex, TurnInPlay(market_id=MKT))
    m = market(ex)
    assert m.inplay and m.min_version == m.version
    lapsed = ex.orders[lapse_id]
    assert lapsed.matched_minor == 400 and lapsed.lapsed_minor == 600 and lapsed.remaining_minor == 0
    assert lapsed.status == codes.EXECUTION_COMPLETE
    assert [f.size_minor for f in lapsed.fragments] == [400]
    assert lapse_id not in resting_ids(ex, A)
    kept = ex.orders[persist_id]
    assert kept.status == codes.EXECUTABLE and kept.remaining_minor == 600 and persist_id in resting_ids(ex, B)
    # alice's unmatched back stake of 6.00 is no longer at risk
    assert exposure(ex, "alice") < before
    ex.check_invariants()


@pytest.mark.parametrize("side", [BACK, LAY])
def test_turn_in_play_moves_market_on_close_persistence_to_sp(side: int) -> None:
    """003:L9829 MARKET_ON_CLOSE persistence: the unmatched part goes into the SP auction at turn in-play:
    it leaves the book and becomes a MARKET_ON_CLOSE bet holding the same liability. The auction is
    reconciled at once (003:L11137-11138); with no one on the other side nothing matches and the SP
    bet's part lapses, releasing what it held (bsp.py)."""
    ex = new_exchange(bsp_market=True)
    bid = bet(place(ex, "alice", A, side, 400, 1000, persistence=codes.MARKET_ON_CLOSE))
    place(ex, "bob", A, LAY if side == BACK else BACK, 400, 300)  # 3.00 matched
    held = 700 if side == BACK else lay_liability_reserve_minor(700, 400)
    order = ex.orders[bid]
    assert order.reserved_minor == held
    exposure_before = exposure(ex, "alice")
    admin(ex, TurnInPlay(market_id=MKT))
    order = ex.orders[bid]
    assert order.order_type == codes.MARKET_ON_CLOSE and order.bsp_liability_minor == held
    assert bid not in resting_ids(ex, A)
    assert order.matched_minor == 300 and order.status == codes.EXECUTION_COMPLETE and order.reserved_minor == 0
    runner = ex.markets[MKT].runners[(A, 0)]
    if side == BACK:  # backers only: the lowest price, and nothing to match at it
        assert runner.bsp_h == 101 and order.lapsed_minor == 700 and order.size_minor == 1000
    else:  # layers only: no SP can be calculated (003:L11731-11736)
        assert runner.bsp_special == "Infinity" and order.lapsed_minor == 0 and order.size_minor == 300
    assert exposure(ex, "alice") < exposure_before
    assert ex.markets[MKT].bsp_reconciled
    ex.check_invariants()


def test_market_on_close_persistence_is_matched_in_the_auction() -> None:
    """The remainder that joined the auction is matched at the SP against the other side's SP money:
    £7 of backers' stake against £21 of layers' liability gives 4.0 (1 + 21/7, 003:L11132-11136)."""
    ex = new_exchange(bsp_market=True)
    bid = bet(place(ex, "alice", A, BACK, 400, 1000, persistence=codes.MARKET_ON_CLOSE))
    place(ex, "bob", A, LAY, 400, 300)
    report, _ = run(ex, PlaceOrders(account_id="carol", market_id=MKT, instructions=[PlaceInstruction(
        order_type=codes.MARKET_ON_CLOSE, selection_id=A, side=LAY,
        market_on_close=MarketOnCloseOrder(liability_minor=2100))]))
    lay = bet(report)
    admin(ex, TurnInPlay(market_id=MKT))
    order, sp_lay = ex.orders[bid], ex.orders[lay]
    assert ex.markets[MKT].runners[(A, 0)].bsp_h == 400
    assert [(f.price_h, f.size_minor) for f in order.fragments] == [(400, 300), (400, 700)]
    assert order.matched_minor == 1000 and order.lapsed_minor == 0
    assert sp_lay.matched_minor == 700 and sp_lay.size_minor == 700 and sp_lay.status == codes.EXECUTION_COMPLETE
    ex.check_invariants()


# --- in-play bet delay (003:L11586-11590) ----------------------------------------------------------


def delayed_exchange(**definition: Any) -> Exchange:
    ex = new_exchange(**definition)
    admin(ex, TurnInPlay(market_id=MKT, bet_delay_s=5))
    return ex


def test_bet_delay_holds_the_placement_then_matches_it() -> None:
    """003:L11586-11590 betDelay: orders are held that many seconds before they are submitted into the
    market; the final report follows in a PlacementCompleted event."""
    ex = delayed_exchange()
    t = T0 + 1_000
    resting = bet(place(ex, "bob", A, LAY, 300, 1000, ts=t))  # delayed too
    assert ex.next_due_ms() == t + 5_000
    _, events = run(ex, AdvanceTime(), t + 5_000)
    assert len(completions(events)) == 1 and resting in resting_ids(ex, A)

    t2 = t + 10_000
    report = place(ex, "alice", A, BACK, 300, 400, ts=t2)
    assert report.status == codes.SUCCESS
    assert report.delayed_token is not None and report.delayed_until_ms == t2 + 5_000
    ir = report.instruction_reports[0]
    assert ir.order_status == codes.PENDING and ir.bet_id is not None
    pending = ex.orders[ir.bet_id]
    assert pending.status == codes.PENDING and pending.matched_minor == 0
    assert ir.bet_id not in resting_ids(ex, A) and ex.orders[resting].matched_minor == 0
    assert exposure(ex, "alice") == 400  # the stake is held during the delay
    assert ex.next_due_ms() == t2 + 5_000

    _, events = run(ex, AdvanceTime(), t2 + 4_999)
    assert completions(events) == [] and pending.status == codes.PENDING

    _, events = run(ex, AdvanceTime(), t2 + 5_000)
    done = completions(events)
    assert len(done) == 1 and done[0].token == report.delayed_token and done[0].account_id == "alice"
    final = done[0].report
    assert final.status == codes.SUCCESS
    assert final.instruction_reports[0].bet_id == ir.bet_id
    assert final.instruction_reports[0].size_matched_minor == 400
    assert final.instruction_reports[0].order_status == codes.EXECUTION_COMPLETE
    assert pending.matched_minor == 400 and ex.orders[resting].matched_minor == 400
    assert ex.next_due_ms() is None
    ex.check_invariants()


def test_bet_delay_unmatched_remainder_rests_after_the_delay() -> None:
    """003:L11586-11590: after the delay the bet is submitted into the market: what does not match rests."""
    ex = delayed_exchange()
    report = place(ex, "alice", A, BACK, 300, 400, ts=T0 + 1_000)
    _, events = run(ex, AdvanceTime(), T0 + 7_000)
    assert len(completions(events)) == 1
    bid = report.instruction_reports[0].bet_id
    assert bid is not None and ex.orders[bid].status == codes.EXECUTABLE and bid in resting_ids(ex, A)


def test_bet_delay_completes_on_any_later_command() -> None:
    """003:L11586-11590: the delay ends by time, so any command stamped after it first releases the bet."""
    ex = delayed_exchange()
    report = place(ex, "alice", A, BACK, 300, 400, ts=T0 + 1_000)
    _, events = run(ex, Deposit(account_id="bob", amount_minor=1_000), T0 + 6_000)
    assert [c.token for c in completions(events)] == [report.delayed_token]


def test_cancel_during_bet_delay_is_bet_in_progress() -> None:
    """003:L9854-9855 BET_IN_PROGRESS: the bet has not yet been processed by the matcher."""
    ex = delayed_exchange()
    bid = place(ex, "alice", A, BACK, 300, 400, ts=T0 + 1_000).instruction_reports[0].bet_id
    assert bid is not None
    report, _ = run(ex, CancelOrders(account_id="alice", market_id=MKT,
                                     instructions=[CancelInstruction(bet_id=bid)]))
    assert isinstance(report, CancelExecutionReport)
    assert report.instruction_reports[0].error_code == InstrErr.BET_IN_PROGRESS
    assert ex.orders[bid].status == codes.PENDING


def test_suspension_during_bet_delay_lapses_the_bet() -> None:
    """003:L6851-6852 MKT_SUSPENDED: the market was suspended at the time the bet came to be matched
    (suspended and reopened during the delay counts); the stake is released."""
    ex = delayed_exchange()
    bid = place(ex, "alice", A, BACK, 300, 400, ts=T0 + 1_000).instruction_reports[0].bet_id
    assert bid is not None
    admin(ex, SetMarketStatus(market_id=MKT, status=codes.SUSPENDED), T0 + 2_000)
    admin(ex, SetMarketStatus(market_id=MKT, status=codes.OPEN), T0 + 3_000)
    _, events = run(ex, AdvanceTime(), T0 + 6_000)
    done = completions(events)
    assert len(done) == 1
    assert done[0].report.status == codes.FAILURE
    assert done[0].report.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED
    order = ex.orders[bid]
    assert (order.status, order.lapsed_minor, order.lapse_reason) == (
        codes.EXECUTION_COMPLETE, 400, codes.Lapse.MKT_SUSPENDED)
    assert bid not in resting_ids(ex, A) and exposure(ex, "alice") == 0
    ex.check_invariants()


def test_still_suspended_when_the_delay_ends_lapses_the_bet() -> None:
    """003:L6851-6852 MKT_SUSPENDED: the market is suspended when the bet comes to be matched."""
    ex = delayed_exchange()
    bid = place(ex, "alice", A, BACK, 300, 400, ts=T0 + 1_000).instruction_reports[0].bet_id
    assert bid is not None
    admin(ex, SetMarketStatus(market_id=MKT, status=codes.SUSPENDED), T0 + 2_000)
    _, events = run(ex, AdvanceTime(), T0 + 6_000)
    assert len(completions(events)) == 1
    assert ex.orders[bid].lapse_reason == codes.Lapse.MKT_SUSPENDED


def test_material_suspension_during_bet_delay_lapses_a_persist_bet() -> None:
    """003:L6851-6852 (MKT_SUSPENDED), inventory 5.14: the market state is re-checked after the delay and a
    bet whose market suspended meanwhile lapses; the delayed placement always completes."""
    ex = delayed_exchange()
    report = place(ex, "alice", A, BACK, 300, 400, ts=T0 + 1_000, persistence=codes.PERSIST)
    bid = report.instruction_reports[0].bet_id
    assert bid is not None
    _, ev1 = run(ex, SetMarketStatus(market_id=MKT, status=codes.SUSPENDED, material=True), T0 + 2_000)
    _, ev2 = run(ex, SetMarketStatus(market_id=MKT, status=codes.OPEN), T0 + 3_000)
    _, ev3 = run(ex, AdvanceTime(), T0 + 6_000)
    assert [c.token for c in completions(ev1 + ev2 + ev3)] == [report.delayed_token]
    order = ex.orders[bid]
    assert order.status == codes.EXECUTION_COMPLETE and order.lapse_reason == codes.Lapse.MKT_SUSPENDED


@pytest.mark.parametrize("interrupt", [
    SetMarketStatus(market_id=MKT, status=codes.SUSPENDED, material=True),
    RemoveRunner(market_id=MKT, selection_id=C),
    CloseMarket(market_id=MKT),
], ids=["material-suspend", "remove-runner", "close"])
def test_delayed_placement_always_gets_its_final_report(interrupt: Command) -> None:
    """003:L11586-11590 / reports.PlaceExecutionReport.delayed_token: a placement held for the bet delay
    gets its final report; if the bet lapsed meanwhile the report says so (BET_TAKEN_OR_LAPSED)."""
    ex = delayed_exchange()
    report = place(ex, "alice", A, BACK, 300, 400, ts=T0 + 1_000)
    _, ev1 = run(ex, interrupt, T0 + 2_000)
    _, ev2 = run(ex, AdvanceTime(), T0 + 10_000)
    done = completions(ev1 + ev2)
    assert [c.token for c in done] == [report.delayed_token]
    assert done[0].report.instruction_reports[0].error_code == InstrErr.BET_TAKEN_OR_LAPSED


def test_passive_bet_delay_places_non_marketable_limit_orders_at_once() -> None:
    """003:L9958-9966 PASSIVE: in-play with betDelay > 0, orders guaranteed not to match immediately are
    accepted straight away (plain LIMIT, LAPSE or PERSIST)."""
    ex = delayed_exchange(bet_delay_models=["PASSIVE"])
    lay_id = bet(place(ex, "bob", A, LAY, 300, 1000, ts=T0 + 1_000, persistence=codes.PERSIST))
    assert ex.orders[lay_id].status == codes.EXECUTABLE and lay_id in resting_ids(ex, A)
    assert ex.next_due_ms() is None
    # not marketable: a back above the best lay
    report = place(ex, "alice", A, BACK, 320, 500)
    assert report.delayed_token is None
    assert report.instruction_reports[0].order_status == codes.EXECUTABLE
    # marketable: waits for the delay
    report = place(ex, "alice", A, BACK, 300, 500)
    assert report.delayed_token is not None
    assert report.instruction_reports[0].order_status == codes.PENDING
    ex.check_invariants()


@pytest.mark.parametrize("limit", [
    {"size_minor": 500, "time_in_force": codes.FILL_OR_KILL},
    {"size_minor": None, "bet_target_type": codes.BACKERS_PROFIT, "bet_target_minor": 1000},
], ids=["fok", "target"])
def test_passive_bet_delay_does_not_apply_to_fok_or_targets(limit: dict[str, Any]) -> None:
    """003:L9962-9966: only plain LIMIT orders; timeInForce, minFillSize and betTargetType are not
    supported by PASSIVE, so those orders wait for the delay."""
    ex = delayed_exchange(bet_delay_models=["PASSIVE"])
    size = limit.pop("size_minor")
    report = place(ex, "alice", A, BACK, 1000, size, ts=T0 + 1_000, **limit)
    assert report.status == codes.SUCCESS and report.delayed_token is not None


def test_no_delay_before_turn_in_play() -> None:
    """003:L11586-11590: orders are usually delayed when the market is in-play (not before)."""
    ex = new_exchange()
    report = place(ex, "alice", A, BACK, 300, 500)
    assert report.delayed_token is None and ex.next_due_ms() is None


# --- runner removal (003:L6729-6757) ---------------------------------------------------------------


def removal_setup() -> tuple[Exchange, dict[str, int]]:
    """alice backs A 2.00 @ 12 against bob's lay; carol has matched and unmatched bets on C; alice has an
    unmatched back on B."""
    ex = new_exchange()
    ids = {
        "a_back": bet(place(ex, "alice", A, BACK, 1200, 200)),
        "a_lay": bet(place(ex, "bob", A, LAY, 1200, 200)),
        "c_back": bet(place(ex, "carol", C, BACK, 400, 1000)),
        "c_lay": bet(place(ex, "bob", C, LAY, 400, 600)),  # 6.00 of carol's back matched
        "b_back": bet(place(ex, "alice", B, BACK, 500, 300)),  # unmatched
    }
    ex.check_invariants()
    return ex, ids


def test_remove_runner_voids_its_matched_bets_and_lapses_unmatched() -> None:
    """003:L6756-6757: bets on the removed runner are voided/lapsed (matched/unmatched); inventory 5.13:
    unmatched bets elsewhere in the market lapse; the runner is REMOVED; removal is material."""
    ex, ids = removal_setup()
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C, reduction_factor_bp=0))
    m = market(ex)
    assert m.runners[(C, 0)].status == codes.REMOVED
    assert m.min_version == m.version
    c_back, c_lay = ex.orders[ids["c_back"]], ex.orders[ids["c_lay"]]
    assert (c_back.voided_minor, c_back.matched_minor, c_back.lapsed_minor) == (600, 0, 400)
    assert (c_lay.voided_minor, c_lay.matched_minor) == (600, 0)
    assert c_back.status == codes.EXECUTION_COMPLETE
    b_back = ex.orders[ids["b_back"]]
    assert (b_back.lapsed_minor, b_back.status) == (300, codes.EXECUTION_COMPLETE)
    assert resting_ids(ex, B) == set() and resting_ids(ex, C) == set()
    # the match on A is untouched
    assert ex.orders[ids["a_back"]].matched_minor == 200
    assert not ex.orders[ids["a_back"]].price_reduced
    # carol's only bets were voided/lapsed: nothing at risk
    assert exposure(ex, "carol") == 0
    ex.check_invariants()


def test_rule4_reduction_example_12_becomes_9_47() -> None:
    """003:L6729-6755: a back matched at 12, after a removal with a 23% reduction factor, is reduced to
    9.47 (new = 1 + (12 - 1) * 0.77); the lay side of the same match too; priceReduced (003:L12073-12076);
    exposure recomputed at the new price."""
    ex, ids = removal_setup()
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C, reduction_factor_bp=2300))
    back, lay = ex.orders[ids["a_back"]], ex.orders[ids["a_lay"]]
    for order in (back, lay):
        assert [(f.price_h, f.size_minor) for f in order.fragments] == [(947, 200)]
        assert order.avg_price_matched_h() == 947
        assert order.price_reduced
        assert order.matched_minor == 200
    assert book(ex, A).traded == {947: 200}
    # bob's liability on A is now 2 * 8.47 = 16.94 (was 22.00); his C lay was voided
    assert win_minor(200, 947) == 1694
    assert exposure(ex, "bob") == 1694
    ex.check_invariants()


@pytest.mark.parametrize(("adjustment_bp", "expected_h"), [(200, 1200), (249, 1200), (250, 1173), (2300, 947)])
def test_reduction_defaults_to_adjustment_factor_from_2_5_percent(adjustment_bp: int, expected_h: int) -> None:
    """003:L6729-6755 (reduction factor) and inventory 5.13: without an explicit reduction factor the
    removed runner's adjustment factor applies, and only when it is at least 2.5%."""
    ex, ids = removal_setup()
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C, adjustment_factor_bp=adjustment_bp))
    back = ex.orders[ids["a_back"]]
    assert back.fragments[0].price_h == expected_h
    assert back.price_reduced == (expected_h != 1200)
    assert market(ex).runners[(C, 0)].adjustment_factor_bp == adjustment_bp


def test_placing_on_a_removed_runner_is_runner_removed() -> None:
    """003:L9856 RUNNER_REMOVED; a vacant trap is INVALID_RUNNER (003:L9842-9843)."""
    ex, _ = removal_setup()
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C))
    admin(ex, RemoveRunner(market_id=MKT, selection_id=B, vacant=True))
    assert market(ex).runners[(B, 0)].status == codes.REMOVED_VACANT
    before = ex.fingerprint()
    for sel, code in ((C, InstrErr.RUNNER_REMOVED), (B, InstrErr.INVALID_RUNNER)):
        report = place(ex, "alice", sel, BACK, 300, 500)
        assert report.status == codes.FAILURE
        assert report.instruction_reports[0].error_code == code
    assert ex.fingerprint() == before


def test_removing_a_runner_twice_or_an_unknown_runner_is_rejected() -> None:
    """003:L6756-6757: only an active runner can be removed."""
    ex, _ = removal_setup()
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C))
    assert_rejected_unchanged(ex, RemoveRunner(market_id=MKT, selection_id=C), AdminErr.INVALID_STATE_TRANSITION)
    assert_rejected_unchanged(ex, RemoveRunner(market_id=MKT, selection_id=99), AdminErr.NO_SUCH_RUNNER)
    assert_rejected_unchanged(ex, RemoveRunner(market_id=MKT, selection_id=A, reduction_factor_bp=10_000),
                              AdminErr.INVALID_RESULT)


def test_removal_exposure_treats_the_removed_runner_as_unable_to_win() -> None:
    """003:L6756-6757, inventory 5.3: exposure is the worst case over the runners that can still win;
    a lay on the last remaining contender of a two-horse race is exposed at its (reduced) liability."""
    ex = new_exchange(runners=(A, B))
    bet(place(ex, "alice", A, BACK, 200, 1000))
    bet(place(ex, "bob", A, LAY, 200, 1000))
    assert exposure(ex, "bob") == 1000
    admin(ex, RemoveRunner(market_id=MKT, selection_id=B, reduction_factor_bp=5000))
    # 2.0 reduced by 50% -> 1.5; bob now loses 5.00 in the only remaining outcome
    assert exposure(ex, "bob") == 500
    ex.check_invariants()


@pytest.mark.parametrize("a_wins", [True, False])
def test_removal_then_settlement_pays_the_reduced_price(a_wins: bool) -> None:
    """003:L6729-6755: the reduced price is the price the bet settles at: a back of 2.00 matched at 12,
    reduced to 9.47, wins 16.94 (commission 5% of it, 001:L1063-1124) or loses its 2.00 stake; the voided
    bets on the removed runner move no money."""
    ex, _ = removal_setup()
    admin(ex, RemoveRunner(market_id=MKT, selection_id=C, reduction_factor_bp=2300))
    bal = {a: ex.accounts[a].balance_minor for a in ("alice", "bob", "carol")}
    results = [RunnerResult(selection_id=A)] if a_wins else [RunnerResult(selection_id=B)]
    admin(ex, SettleMarket(market_id=MKT, results=results), T0 + 60_000)
    if a_wins:
        assert ex.accounts["alice"].balance_minor == bal["alice"] + 1694 - 85
        assert ex.accounts["bob"].balance_minor == bal["bob"] - 1694
    else:
        assert ex.accounts["alice"].balance_minor == bal["alice"] - 200
        assert ex.accounts["bob"].balance_minor == bal["bob"] + 200 - 10
    assert ex.accounts["carol"].balance_minor == bal["carol"]
    for acct in ex.accounts.values():
        assert acct.exposure_minor == 0
    ex.check_invariants()
