"""Fixed-odds bets (seed 002's bet placement endpoint; core/fixed_odds.py, core/fixed_odds_book.py;
notes/provider-protocol.md for the follow-up calls: result, resettle, unsettle, rollback).

Every command goes through `_run`, which checks the exchange's invariants after it (money conserved
with the book's takings: balances + commission + book = deposits - withdrawals); a refusal goes
through `_refuse`, which also checks that the fingerprint did not move.
"""

from __future__ import annotations

import copy
import itertools
import pickle
from decimal import Decimal
from typing import Any

import pytest
from helpers import (
    BACK,
    FUNDS,
    SEL_A,
    T0,
    add_account,
    admin,
    apply,
    available,
    balance,
    exposure,
    make_exchange,
    place,
    rest,
)

from backlay.core import codes
from backlay.core.codes import AdminErr, ExecErr, FixedOddsErr
from backlay.core.commands import (
    AdvanceTime,
    BetResult,
    Command,
    Deposit,
    FixedOddsBet,
    MarketTypeLimit,
    PlaceBetslip,
    ResultBets,
    RollbackBets,
    SetAccountStatus,
    SetBettingLimits,
    UnsettleBets,
)
from backlay.core.exchange import Exchange
from backlay.core.fixed_odds_book import BET_RETENTION_MS, IDEMPOTENCY_RETENTION_MS
from backlay.core.ledger import StatementItem
from backlay.core.reports import AdminResult, BetOutcome, FailedBet, FixedOddsResult
from backlay.engine.codec import decode_snapshot, encode_snapshot

PROVIDER = "prov-1"
MATCH_ODDS = "MATCH_ODDS"
OVER_UNDER = "OVER_UNDER_25"
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
_KEYS = itertools.count(1)


# --- helpers ------------------------------------------------------------------------------------------


def price(text: str) -> tuple[int, int]:
    """decimalPrice as the edge converts it: (units, scale) with price = units / 10**scale exactly."""
    d = Decimal(text)
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    return int(d.scaleb(scale)), scale


def fbet(bet_id: str, stake_minor: int, decimal_price: str = "2.0", market_type_id: str = MATCH_ODDS) -> FixedOddsBet:
    units, scale = price(decimal_price)
    return FixedOddsBet(bet_id=bet_id, market_type_id=market_type_id, stake_minor=stake_minor, price_units=units,
                        price_scale=scale, details=f'{{"betId":"{bet_id}"}}'.encode())


def _key(key: str | None, sha: str | None) -> tuple[str, str]:
    key = key if key is not None else f"00000000-0000-4000-8000-{next(_KEYS):012d}"
    return key, sha if sha is not None else f"sha-of-{key}"


def slip_cmd(account: str, *bets: FixedOddsBet, key: str | None = None, sha: str | None = None,
             provider: str = PROVIDER) -> PlaceBetslip:
    key, sha = _key(key, sha)
    return PlaceBetslip(provider_id=provider, idempotency_key=key, request_sha256=sha, account_id=account,
                        bets=list(bets))


def result_cmd(*results: BetResult, resettle: bool = False, key: str | None = None, sha: str | None = None,
               provider: str = PROVIDER) -> ResultBets:
    key, sha = _key(key, sha)
    return ResultBets(provider_id=provider, idempotency_key=key, request_sha256=sha, results=list(results),
                      resettle=resettle)


def unsettle_cmd(*bet_ids: str, key: str | None = None, sha: str | None = None,
                 provider: str = PROVIDER) -> UnsettleBets:
    key, sha = _key(key, sha)
    return UnsettleBets(provider_id=provider, idempotency_key=key, request_sha256=sha, bet_ids=list(bet_ids))


def rollback_cmd(*bet_ids: str, key: str | None = None, sha: str | None = None,
                 provider: str = PROVIDER) -> RollbackBets:
    key, sha = _key(key, sha)
    return RollbackBets(provider_id=provider, idempotency_key=key, request_sha256=sha, bet_ids=list(bet_ids))


def outcome(bet_id: str, what: str, factor: str | None = None, settled_ms: int | None = None) -> BetResult:
    units, scale = price(factor) if factor is not None else (1, 0)
    return BetResult(bet_id=bet_id, outcome=what, factor_units=units, factor_scale=scale, settled_ms=settled_ms)


def _run(ex: Exchange, cmd: Command, ts: int | None = None) -> Any:
    result = apply(ex, cmd, ts)
    ex.check_invariants()
    return result


def run(ex: Exchange, cmd: Command, ts: int | None = None) -> FixedOddsResult:
    """A fixed-odds command that must succeed."""
    result = _run(ex, cmd, ts)
    assert isinstance(result, FixedOddsResult) and result.ok, result
    return result


def fingerprint_at(ex: Exchange, now_ms: int) -> str:
    """The fingerprint with the clock read as `now_ms` (a command at a later time moves only the clock)."""
    view = copy.copy(ex)
    view.now_ms = now_ms
    return view.fingerprint()


def refuse(ex: Exchange, cmd: Command, code: str, ts: int | None = None) -> FixedOddsResult:
    """A fixed-odds command that must be refused with `code` and change nothing (002:L19)."""
    before_ts = ex.now_ms if ts is None else max(ts, ex.now_ms)
    before = fingerprint_at(ex, before_ts)
    statements = {a: list(items) for a, items in ex.ledger.statements.items()}
    result = _run(ex, cmd, ts)
    assert isinstance(result, FixedOddsResult), result
    assert not result.ok and result.error == code, result
    assert not result.bets and not result.replayed
    if code != FixedOddsErr.INVALID_STAKE:
        assert not result.failed_bets, "failedBets only for INVALID_STAKE (002:L152)"
    assert ex.fingerprint() == before, f"{code} changed the state"
    assert ex.ledger.statements == statements
    return result


def place_slip(ex: Exchange, account: str, *bets: FixedOddsBet, ts: int | None = None, **kw: Any) -> FixedOddsResult:
    return run(ex, slip_cmd(account, *bets, **kw), ts)


def fixed_odds_rows(ex: Exchange, account: str) -> list[StatementItem]:
    return [i for i in ex.ledger.statements.get(account, []) if i.fixed_odds]


def rows(ex: Exchange, account: str) -> list[tuple[int, int, str, str | None]]:
    """The account's fixed-odds statement rows as (amount, balance after, winLose, reference)."""
    return [(i.amount_minor, i.balance_minor, i.win_lose, i.reference) for i in fixed_odds_rows(ex, account)]


def ref(bet_id: str, what: str) -> str:
    return f"FIXED_ODDS {PROVIDER} {bet_id} {what}"


def limits(ex: Exchange, account: str, **kw: Any) -> None:
    admin(ex, SetBettingLimits(account_id=account, **kw))


def exchange(funds_minor: int = FUNDS) -> Exchange:
    ex = make_exchange(("alice", "bob"), funds_minor)
    ex.check_invariants()
    return ex


# --- potentialPayout ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("stake_minor", "decimal_price", "payout_minor"), [
    (1000, "2.37", 2370),  # 10.00 at 2.37 -> 23.70
    (3, "1.333", 3),  # 0.03 at 1.333 = 0.03999 -> 0.03
    (1000, "1.0000000001", 1000),  # a 10-decimal price: 10.000000001 -> 10.00
    (12345, "3.1415926535", 38782),  # 123.45 x 3.1415926535 = 387.829113... -> 387.82
    (99999, "999.9999999999", 99998999),  # 999.99 x 999.9999999999 = 999989.9999... -> 999989.99
    (7, "2.5", 17),  # 0.07 x 2.5 = 0.175 -> 0.17
    (100, "2", 200),  # an integer price
    (1, "1.01", 1),
])
def test_potential_payout_is_stake_times_price_rounded_down(stake_minor: int, decimal_price: str,
                                                            payout_minor: int) -> None:
    """002:L13, 002:L15: potentialPayout = stake x decimalPrice, computed exactly from the price's
    decimal digits and rounded down to the minor unit (the book never promises a fraction of a penny)."""
    assert payout_minor == int(Decimal(stake_minor) * Decimal(decimal_price))  # the expectation itself
    ex = exchange()
    result = place_slip(ex, "alice", fbet("b1", stake_minor, decimal_price))
    assert result.bets == [BetOutcome(bet_id="b1", status="PENDING", amount_minor=-stake_minor,
                                      potential_payout_minor=payout_minor)]
    record = ex.fixed_odds.bets[(PROVIDER, "b1")]
    assert record.potential_payout_minor == payout_minor
    assert record.liability_minor == payout_minor - stake_minor


# --- placement ----------------------------------------------------------------------------------------


def test_a_placed_slip_stores_every_bet_pending_and_debits_each_stake() -> None:
    """002:L5 (a betslip of single bets), 002:L13 (each bet stored against the user, status pending, with
    its potentialPayout): each stake leaves the balance for the book, one statement row per bet."""
    ex = exchange()
    result = place_slip(ex, "alice", fbet("b1", 1000, "2.37"), fbet("b2", 250, "4", OVER_UNDER), ts=T0 + 5)
    assert result.ok and result.ts_ms == T0 + 5 and not result.replayed
    assert [(b.bet_id, b.status, b.amount_minor, b.potential_payout_minor) for b in result.bets] == [
        ("b1", "PENDING", -1000, 2370), ("b2", "PENDING", -250, 1000)]
    assert balance(ex, "alice") == result.balance_minor == FUNDS - 1250
    assert ex.fixed_odds.book_minor == 1250
    assert ex.fixed_odds.by_account["alice"] == [(PROVIDER, "b1"), (PROVIDER, "b2")]
    b1 = ex.fixed_odds.bets[(PROVIDER, "b1")]
    assert (b1.account_id, b1.status, b1.placed_ms, b1.paid_minor, b1.settled_ms, b1.closed_ms) == \
        ("alice", "PENDING", T0 + 5, 0, None, None)
    assert b1.bet is not None and b1.bet.details == b'{"betId":"b1"}'  # kept to echo it back
    assert ex.fixed_odds.open_liability == {("alice", MATCH_ODDS): 1370, ("alice", OVER_UNDER): 750}
    assert rows(ex, "alice") == [(-1000, FUNDS - 1000, "RESULT_NOT_APPLICABLE", ref("b1", "PLACED")),
                                 (-250, FUNDS - 1250, "RESULT_NOT_APPLICABLE", ref("b2", "PLACED"))]
    item = fixed_odds_rows(ex, "alice")[0]
    assert (item.transaction_type, item.bet_size_minor, item.placed_ms, item.item_ms) == \
        ("ACCOUNT_DEBIT", 1000, T0 + 5, T0 + 5)
    assert balance(ex, "bob") == FUNDS  # nobody else is touched


def test_a_slip_is_placed_whole_or_not_at_all() -> None:
    """002:L19: when any check fails, none of the slip's bets is stored, whichever bet fails."""
    ex = exchange()
    limits(ex, "alice", max_stake_minor=5000)
    good = fbet("ok", 100, "2.0")
    refuse(ex, slip_cmd("alice", good, fbet("bad-price", 100, "1.0")), FixedOddsErr.INVALID_BET_DETAILS)
    refuse(ex, slip_cmd("alice", good, fbet("too-big", 5001, "2.0")), FixedOddsErr.INVALID_STAKE)
    refuse(ex, slip_cmd("alice", good, fbet("x", 5000), *[fbet(f"y{i}", 5000) for i in range(19)]),
           FixedOddsErr.INSUFFICIENT_FUNDS)  # 20 x 50.00 + 1.00 > 1,000.00
    assert not ex.fixed_odds.bets and balance(ex, "alice") == FUNDS and ex.fixed_odds.book_minor == 0
    # the same good bet alone goes through: the refusals left no trace of it
    place_slip(ex, "alice", good)
    assert list(ex.fixed_odds.bets) == [(PROVIDER, "ok")]


def test_an_empty_slip_is_refused() -> None:
    """002:L5, 002:L66 (bets: an array of single bets, required): a slip without a bet places nothing."""
    ex = exchange()
    refuse(ex, slip_cmd("alice"), FixedOddsErr.INVALID_BET_DETAILS)


# --- refusals: the user -------------------------------------------------------------------------------


def test_an_unknown_user_is_invalid_user() -> None:
    """002:L7 (look the user up), 002:L159 INVALID_USER."""
    ex = exchange()
    refuse(ex, slip_cmd("nobody", fbet("b1", 100)), FixedOddsErr.INVALID_USER)


def test_a_suspended_account_is_user_blocked() -> None:
    """002:L11 (the user must be able to place the bet), 002:L175 USER_BLOCKED: a SUSPENDED account."""
    ex = exchange()
    admin(ex, SetAccountStatus(account_id="alice", status="SUSPENDED"))
    refuse(ex, slip_cmd("alice", fbet("b1", 100)), FixedOddsErr.USER_BLOCKED)
    admin(ex, SetAccountStatus(account_id="alice", status="ACTIVE"))
    place_slip(ex, "alice", fbet("b1", 100))


@pytest.mark.parametrize(("reason", "word"), [("COOL_DOWN", "cool-down"), ("SELF_EXCLUSION", "self-exclusion")])
def test_a_block_holds_until_its_time_and_not_after(reason: str, word: str) -> None:
    """002:L11 (regulatory restrictions: cool down periods), 002:L175 USER_BLOCKED: blocked while
    now < blocked_until; at that time and after it the user bets again."""
    ex = exchange()
    until = T0 + 60_000
    limits(ex, "alice", blocked_until_ms=until, block_reason=reason)
    refused = refuse(ex, slip_cmd("alice", fbet("b1", 100)), FixedOddsErr.USER_BLOCKED)
    assert refused.detail is not None and word in refused.detail and str(until) in refused.detail
    refuse(ex, slip_cmd("alice", fbet("b1", 100)), FixedOddsErr.USER_BLOCKED, ts=until - 1)
    place_slip(ex, "bob", fbet("bob-1", 100), ts=until - 1)  # another user is not blocked
    place_slip(ex, "alice", fbet("b1", 100), ts=until)
    place_slip(ex, "alice", fbet("b2", 100), ts=until + DAY_MS)


def test_a_block_without_a_reason_is_a_cool_down() -> None:
    """002:L11: a block is a block, whatever its reason (COOL_DOWN by default)."""
    ex = exchange()
    limits(ex, "alice", blocked_until_ms=T0 + 1)
    refused = refuse(ex, slip_cmd("alice", fbet("b1", 100)), FixedOddsErr.USER_BLOCKED)
    assert refused.detail is not None and "cool-down" in refused.detail


def test_the_user_checks_come_before_the_bet_checks() -> None:
    """002:L7-L11: the user is validated first: a blocked user with a bad bet is USER_BLOCKED."""
    ex = exchange()
    admin(ex, SetAccountStatus(account_id="alice", status="SUSPENDED"))
    refuse(ex, slip_cmd("alice", fbet("b1", 100, "1.0")), FixedOddsErr.USER_BLOCKED)


# --- refusals: bet details ----------------------------------------------------------------------------


def test_a_bet_id_repeated_in_the_slip_is_invalid_bet_details() -> None:
    """002:L208 (betId, a UUID: one bet each), 002:L163 INVALID_BET_DETAILS."""
    ex = exchange()
    refuse(ex, slip_cmd("alice", fbet("b1", 100), fbet("b1", 200)), FixedOddsErr.INVALID_BET_DETAILS)


def test_a_bet_id_already_used_is_invalid_bet_details() -> None:
    """002:L208, 002:L163: a betId placed before (by anyone, whatever became of it) is refused; bet ids
    are the provider's, so another provider may use the same one."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 100))
    refused = refuse(ex, slip_cmd("bob", fbet("b2", 100), fbet("b1", 100)), FixedOddsErr.INVALID_BET_DETAILS)
    assert refused.detail is not None and "b1" in refused.detail
    run(ex, result_cmd(outcome("b1", "LOST")))
    refuse(ex, slip_cmd("alice", fbet("b1", 100)), FixedOddsErr.INVALID_BET_DETAILS)
    place_slip(ex, "bob", fbet("b1", 100), provider="prov-2")
    assert (("prov-2", "b1") in ex.fixed_odds.bets) and ex.fixed_odds.bets[("prov-2", "b1")].account_id == "bob"


@pytest.mark.parametrize("decimal_price", ["1", "1.0", "1.0000000000", "0.5", "0"])
def test_a_price_of_one_or_less_is_invalid_bet_details(decimal_price: str) -> None:
    """002:L328 (decimalPrice), 002:L163: a price of 1 or less pays nothing for the risk: refused."""
    ex = exchange()
    refuse(ex, slip_cmd("alice", fbet("b1", 100, decimal_price)), FixedOddsErr.INVALID_BET_DETAILS)


def test_a_negative_price_scale_is_invalid_bet_details() -> None:
    """002:L328: the core takes price_units / 10**price_scale, and a negative scale is no decimal."""
    ex = exchange()
    bad = FixedOddsBet(bet_id="b1", market_type_id=MATCH_ODDS, stake_minor=100, price_units=2, price_scale=-1)
    refuse(ex, slip_cmd("alice", bad), FixedOddsErr.INVALID_BET_DETAILS)


def test_the_smallest_price_above_one_is_accepted() -> None:
    """002:L328: decimalPrice just above 1 (ten decimals) is valid."""
    ex = exchange()
    result = place_slip(ex, "alice", fbet("b1", 100, "1.0000000001"))
    assert result.bets[0].potential_payout_minor == 100


# --- refusals: stakes ---------------------------------------------------------------------------------


def test_stakes_outside_the_global_limits_are_invalid_stake_with_the_limit() -> None:
    """002:L11 (max stakes), 002:L167 INVALID_STAKE, 002:L152 (failedBets required for it), 002:L342-L402
    (FailedBet, BetFailureReason: the value of the limit breached): every failing bet by its index."""
    ex = exchange()
    limits(ex, "alice", min_stake_minor=200, max_stake_minor=5000)
    refused = refuse(ex, slip_cmd("alice", fbet("low", 199), fbet("ok", 200), fbet("high", 5001), fbet("ok2", 5000)),
                     FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, min_stake_minor=200), FailedBet(index=2, max_stake_minor=5000)]
    place_slip(ex, "alice", fbet("ok", 200), fbet("ok2", 5000))


def test_a_stake_must_be_at_least_one_minor_unit() -> None:
    """002:L334 (stake), 002:L167: without a configured minimum, a stake of 0 (or less) breaches the
    minimum of one penny."""
    ex = exchange()
    refused = refuse(ex, slip_cmd("alice", fbet("b1", 0)), FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, min_stake_minor=1)]
    refused = refuse(ex, slip_cmd("alice", fbet("b1", -5)), FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, min_stake_minor=1)]


def test_per_market_type_stake_limits_and_the_stricter_applies() -> None:
    """002:L11 (max stakes per regulatory restrictions), 002:L402: the global and the marketTypeId's
    limits both apply; a FailedBet names the stricter one that was breached."""
    ex = exchange()
    limits(ex, "alice", min_stake_minor=100, max_stake_minor=5000, market_types=[
        MarketTypeLimit(market_type_id=MATCH_ODDS, min_stake_minor=500, max_stake_minor=2000),  # stricter
        MarketTypeLimit(market_type_id=OVER_UNDER, min_stake_minor=50, max_stake_minor=9000)])  # looser
    refused = refuse(ex, slip_cmd("alice",
                                  fbet("a", 400, market_type_id=MATCH_ODDS),  # below the type's min 500
                                  fbet("b", 2001, market_type_id=MATCH_ODDS),  # above the type's max 2000
                                  fbet("c", 99, market_type_id=OVER_UNDER),  # below the global min 100
                                  fbet("d", 5001, market_type_id=OVER_UNDER),  # above the global max 5000
                                  fbet("e", 3000, market_type_id="CORRECT_SCORE")),  # global only: fine
                     FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, min_stake_minor=500), FailedBet(index=1, max_stake_minor=2000),
                                   FailedBet(index=2, min_stake_minor=100), FailedBet(index=3, max_stake_minor=5000)]
    place_slip(ex, "alice", fbet("a", 500, market_type_id=MATCH_ODDS), fbet("b", 2000, market_type_id=MATCH_ODDS),
               fbet("c", 100, market_type_id=OVER_UNDER), fbet("d", 5000, market_type_id=OVER_UNDER),
               fbet("e", 3000, market_type_id="CORRECT_SCORE"))


def test_max_liability_per_market_type_gives_the_largest_stake_that_fits() -> None:
    """002:L11 (max liability per market type), 002:L402: a bet whose potential winnings (payout - stake)
    take the market type's open liability over its limit is INVALID_STAKE with maxStake = the largest
    stake whose liability still fits."""
    ex = exchange()
    limits(ex, "alice", market_types=[MarketTypeLimit(market_type_id=MATCH_ODDS, max_liability_minor=1000)])
    # at 2.37 a stake s risks floor(s x 2.37) - s: 730 -> 1000 fits, 731 -> 1001 does not
    refused = refuse(ex, slip_cmd("alice", fbet("b1", 1000, "2.37")), FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, max_stake_minor=730)]
    refused = refuse(ex, slip_cmd("alice", fbet("b1", 731, "2.37")), FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, max_stake_minor=730)]
    place_slip(ex, "alice", fbet("b1", 300, "3.0"))  # liability 600; 400 left
    assert ex.fixed_odds.open_liability[("alice", MATCH_ODDS)] == 600
    # the open bet counts, and so do the slip's earlier bets: 600 + 200 (b2) leaves 200 for b3 at 2.37
    refused = refuse(ex, slip_cmd("alice", fbet("b2", 200, "2.0"), fbet("b3", 200, "2.37")), FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=1, max_stake_minor=146)]  # floor(146 x 1.37) = 200
    place_slip(ex, "alice", fbet("b2", 200, "2.0"), fbet("b3", 146, "2.37"), fbet("other", 5000, "10", OVER_UNDER))
    assert ex.fixed_odds.open_liability[("alice", MATCH_ODDS)] == 1000
    refused = refuse(ex, slip_cmd("alice", fbet("b4", 100, "1.01")), FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, max_stake_minor=99)]  # 99 x 1.01 = 99.99 -> 99: 0 more
    place_slip(ex, "bob", fbet("bob-1", 5000, "50.0"))  # bob has no such limit
    # a resulted bet no longer counts: b1's 600 is freed
    run(ex, result_cmd(outcome("b1", "LOST")))
    assert ex.fixed_odds.open_liability[("alice", MATCH_ODDS)] == 400
    place_slip(ex, "alice", fbet("b5", 600, "2.0"))


def test_a_liability_limit_already_exceeded_leaves_a_max_stake_of_zero() -> None:
    """002:L402: limits lowered below the open liability: no stake fits any more, maxStake is 0."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000, "3.0"))  # liability 2000
    limits(ex, "alice", market_types=[MarketTypeLimit(market_type_id=MATCH_ODDS, max_liability_minor=500)])
    refused = refuse(ex, slip_cmd("alice", fbet("b2", 100, "2.0")), FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, max_stake_minor=0)]


def test_stake_limits_come_before_funds() -> None:
    """002:L11, 002:L167: a stake over its limit is INVALID_STAKE (with failedBets) even if the user
    could not afford it either."""
    ex = exchange(1000)
    limits(ex, "alice", max_stake_minor=5000)
    refused = refuse(ex, slip_cmd("alice", fbet("b1", 6000)), FixedOddsErr.INVALID_STAKE)
    assert refused.failed_bets == [FailedBet(index=0, max_stake_minor=5000)]


# --- refusals: funds ----------------------------------------------------------------------------------


def test_insufficient_funds_counts_the_exchange_exposure() -> None:
    """002:L9 (a sufficient balance to cover the sum of the stakes), 002:L171 INSUFFICIENT_FUNDS: what
    the user can bet is the balance less the exposure of its unmatched exchange bets."""
    ex = exchange(10_000)
    rest(ex, "alice", SEL_A, BACK, 300, 6000)  # an unmatched back: exposure 60.00
    assert exposure(ex, "alice") == 6000 and available(ex, "alice") == 4000
    refuse(ex, slip_cmd("alice", fbet("b1", 4001)), FixedOddsErr.INSUFFICIENT_FUNDS)
    refuse(ex, slip_cmd("alice", fbet("b1", 2000), fbet("b2", 2001)), FixedOddsErr.INSUFFICIENT_FUNDS)  # the sum
    place_slip(ex, "alice", fbet("b1", 2000), fbet("b2", 2000))
    assert balance(ex, "alice") == 6000 and available(ex, "alice") == 0
    refuse(ex, slip_cmd("alice", fbet("b3", 1)), FixedOddsErr.INSUFFICIENT_FUNDS)


def test_fixed_odds_stakes_reduce_what_the_exchange_lets_the_user_bet() -> None:
    """002:L13: a stake leaves the balance at placement, so the exchange (003:L9775) sees less to bet."""
    ex = exchange(10_000)
    place_slip(ex, "alice", fbet("b1", 9000))
    report = place(ex, "alice", SEL_A, BACK, 300, 1001)
    assert report.status == codes.FAILURE and report.error_code == ExecErr.INSUFFICIENT_FUNDS
    ex.check_invariants()
    rest(ex, "alice", SEL_A, BACK, 300, 1000)
    assert available(ex, "alice") == 0
    ex.check_invariants()


# --- idempotency --------------------------------------------------------------------------------------


def test_the_same_key_and_request_replays_the_first_result() -> None:
    """002:L27 (X-Idempotency-Key; notes/provider-protocol.md): the same key with the same request is the
    first answer again (its ts_ms, its bets) and changes nothing, even after the bet moved on."""
    ex = exchange()
    cmd = slip_cmd("alice", fbet("b1", 1000, "2.37"), key="k-1", sha="sha-1")
    first = run(ex, cmd, T0 + 10)
    later = T0 + 5_000
    before = fingerprint_at(ex, later)
    again = run(ex, cmd, later)
    assert again.replayed and again.ts_ms == T0 + 10
    assert again.bets == first.bets and again.balance_minor == first.balance_minor
    assert ex.fingerprint() == before and balance(ex, "alice") == FUNDS - 1000
    run(ex, result_cmd(outcome("b1", "WON")))
    before = fingerprint_at(ex, later + 1)
    again = run(ex, cmd, later + 1)
    assert again.replayed and again.bets == first.bets and ex.fingerprint() == before


def test_the_same_key_with_another_request_is_refused() -> None:
    """002:L27: a key names one request: with another sha (or for another operation) it is
    IDEMPOTENCY_KEY_REUSED, and nothing changes."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000), key="k-1", sha="sha-1")
    refuse(ex, slip_cmd("alice", fbet("b2", 1000), key="k-1", sha="sha-2"), FixedOddsErr.IDEMPOTENCY_KEY_REUSED)
    refuse(ex, rollback_cmd("b1", key="k-1", sha="sha-1"), FixedOddsErr.IDEMPOTENCY_KEY_REUSED)
    refuse(ex, result_cmd(outcome("b1", "LOST"), key="k-1", sha="sha-1"), FixedOddsErr.IDEMPOTENCY_KEY_REUSED)
    run(ex, result_cmd(outcome("b1", "LOST"), key="k-2", sha="sha-r"))
    refuse(ex, result_cmd(outcome("b1", "WON"), resettle=True, key="k-2", sha="sha-r"),
           FixedOddsErr.IDEMPOTENCY_KEY_REUSED)  # result and resettle are two operations
    # keys are per provider: another provider's k-1 is a new key
    place_slip(ex, "alice", fbet("b1", 1000), key="k-1", sha="sha-1", provider="prov-2")


def test_a_refused_call_keeps_no_key() -> None:
    """002:L19, 002:L27: a refused call stored nothing, its key neither: the retry is judged afresh."""
    ex = exchange(500)
    cmd = slip_cmd("alice", fbet("b1", 1000), key="k-1", sha="sha-1")
    refuse(ex, cmd, FixedOddsErr.INSUFFICIENT_FUNDS)
    assert not ex.fixed_odds.keys
    admin(ex, Deposit(account_id="alice", amount_minor=500))
    result = run(ex, cmd)
    assert not result.replayed and balance(ex, "alice") == 0


def test_a_key_is_forgotten_after_24_hours_and_the_bet_id_still_blocks() -> None:
    """002:L27 (idempotency, 24 hours: core IDEMPOTENCY_RETENTION_MS), 002:L208: a key answers for 24 hours;
    once forgotten (at the next successful call after that), its retry is a new request, which the
    betId-already-used check refuses: a bet is never placed twice."""
    assert IDEMPOTENCY_RETENTION_MS == DAY_MS
    ex = exchange()
    cmd = slip_cmd("alice", fbet("b1", 1000), key="k-1", sha="sha-1")
    run(ex, cmd, T0)
    place_slip(ex, "bob", fbet("x1", 100), ts=T0 + DAY_MS - 1)  # a success prunes, but k-1 is not due yet
    assert run(ex, cmd, T0 + DAY_MS - 1).replayed
    place_slip(ex, "bob", fbet("x2", 100), ts=T0 + DAY_MS)  # now it is
    assert (PROVIDER, "k-1") not in ex.fixed_odds.keys
    refuse(ex, cmd, FixedOddsErr.INVALID_BET_DETAILS)
    assert balance(ex, "alice") == FUNDS - 1000  # placed once


# --- results ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("what", "paid", "win_lose"), [
    ("WON", 2370, "RESULT_WON"), ("LOST", 0, None), ("VOID", 1000, "RESULT_NOT_APPLICABLE"),
    ("PUSH", 1000, "RESULT_NOT_APPLICABLE")])
def test_a_result_pays_the_account_from_the_book(what: str, paid: int, win_lose: str | None) -> None:
    """002:L13 (pending until resulted; potentialPayout saved to facilitate resulting): WON pays the
    potentialPayout, LOST nothing, VOID and PUSH the stake back; the liability is released."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000, "2.37"), ts=T0 + 1)
    result = run(ex, result_cmd(outcome("b1", what)), T0 + 50)
    assert result.bets == [BetOutcome(bet_id="b1", status=what, amount_minor=paid, potential_payout_minor=2370)]
    record = ex.fixed_odds.bets[(PROVIDER, "b1")]
    assert (record.status, record.paid_minor, record.settled_ms, record.closed_ms) == (what, paid, T0 + 50, T0 + 50)
    assert balance(ex, "alice") == FUNDS - 1000 + paid
    assert ex.fixed_odds.book_minor == 1000 - paid
    assert not ex.fixed_odds.open_liability
    expected = [(-1000, FUNDS - 1000, "RESULT_NOT_APPLICABLE", ref("b1", "PLACED"))]
    if win_lose is not None:
        expected.append((paid, FUNDS - 1000 + paid, win_lose, ref("b1", what)))
    assert rows(ex, "alice") == expected


def test_a_result_keeps_the_provider_s_settled_at() -> None:
    """002:L13: the provider may say when the event was settled; closed is when the result came."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000))
    run(ex, result_cmd(outcome("b1", "LOST", settled_ms=T0 - 7)), T0 + 9)
    record = ex.fixed_odds.bets[(PROVIDER, "b1")]
    assert (record.settled_ms, record.closed_ms) == (T0 - 7, T0 + 9)


@pytest.mark.parametrize(("stake", "decimal_price", "factor", "paid"), [
    (1000, "2.37", "0.5", 1185),  # a dead heat of two: half of 23.70
    (333, "2.5", "0.5", 416),  # 3.33 x 2.5 x 0.5 = 4.1625 -> 4.16
    (1000, "3.0", "0.3333333333", 999),  # a dead heat of three (10 decimals)
    (3, "1.3", "0.9", 3),  # floor(0.03 x 1.3 x 0.9 = 0.0351): from the exact product, not floor(payout) x f
    (1000, "2.37", "1", 2370),
])
def test_a_payout_factor_pays_its_share_rounded_down(stake: int, decimal_price: str, factor: str, paid: int) -> None:
    """002:L13, 002:L15 (core/fixed_odds.py: a payout factor 0 < f <= 1 pays floor(stake x price x f)):
    dead heats and partial results."""
    assert paid == int(Decimal(stake) * Decimal(decimal_price) * Decimal(factor))
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", stake, decimal_price))
    result = run(ex, result_cmd(outcome("b1", "WON", factor)))
    assert result.bets[0].amount_minor == paid == ex.fixed_odds.bets[(PROVIDER, "b1")].paid_minor
    assert balance(ex, "alice") == FUNDS - stake + paid


@pytest.mark.parametrize("result", [
    outcome("b1", "WON", "0"), outcome("b1", "WON", "1.01"), outcome("b1", "WON", "-0.5"),
    outcome("b1", "LOST", "0.5"), outcome("b1", "VOID", "0.5"),
    BetResult(bet_id="b1", outcome="WON", factor_units=1, factor_scale=-1),
    outcome("b1", "HALF_WON"), outcome("b1", "won"),
])
def test_an_invalid_result_is_refused(result: BetResult) -> None:
    """002:L13 (notes/provider-protocol.md /bet/result): an outcome is WON, LOST, VOID or PUSH; a payout
    factor is above 0, at most 1, and for WON only: INVALID_RESULT otherwise, and nothing changes."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000))
    refuse(ex, result_cmd(result), FixedOddsErr.INVALID_RESULT)


def test_result_refusals_are_all_or_nothing() -> None:
    """002:L13, 002:L19 (notes/provider-protocol.md: all atomic): one bad bet in a result call and no bet
    is resulted: BET_NOT_FOUND, BET_ALREADY_SETTLED, a bet named twice, BET_NOT_SETTLED for a resettle
    of a pending bet, BET_ROLLED_BACK."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000), fbet("b2", 1000), fbet("b3", 1000))
    refuse(ex, result_cmd(outcome("b1", "WON"), outcome("nope", "WON")), FixedOddsErr.BET_NOT_FOUND)
    refuse(ex, result_cmd(outcome("b1", "WON"), outcome("b1", "LOST")), FixedOddsErr.INVALID_RESULT)
    refuse(ex, result_cmd(outcome("b1", "WON"), resettle=True), FixedOddsErr.BET_NOT_SETTLED)
    refuse(ex, result_cmd(outcome("b1", "WON"), provider="prov-2"), FixedOddsErr.BET_NOT_FOUND)
    run(ex, result_cmd(outcome("b2", "LOST")))
    refuse(ex, result_cmd(outcome("b1", "WON"), outcome("b2", "WON")), FixedOddsErr.BET_ALREADY_SETTLED)
    run(ex, rollback_cmd("b3"))
    refuse(ex, result_cmd(outcome("b1", "WON"), outcome("b3", "WON")), FixedOddsErr.BET_ROLLED_BACK)
    assert ex.fixed_odds.bets[(PROVIDER, "b1")].status == "PENDING"
    run(ex, result_cmd(outcome("b1", "WON")))


def test_a_result_call_names_at_least_one_bet() -> None:
    """002:L13 (notes/provider-protocol.md: results, like betIds, name the bets): an empty call is
    INVALID_RESULT, as for unsettle and rollback, and keeps no key."""
    ex = exchange()
    refuse(ex, result_cmd(), FixedOddsErr.INVALID_RESULT)
    refuse(ex, result_cmd(resettle=True), FixedOddsErr.INVALID_RESULT)
    refuse(ex, unsettle_cmd(), FixedOddsErr.INVALID_RESULT)
    refuse(ex, rollback_cmd(), FixedOddsErr.INVALID_RESULT)


def test_results_across_accounts_in_one_call() -> None:
    """002:L13: one call results bets of several users, each paid on its own account."""
    ex = exchange()
    place_slip(ex, "alice", fbet("a1", 1000, "3.0"))
    place_slip(ex, "bob", fbet("b1", 500, "2.0"))
    result = run(ex, result_cmd(outcome("a1", "WON"), outcome("b1", "VOID")))
    assert [(b.bet_id, b.amount_minor) for b in result.bets] == [("a1", 3000), ("b1", 500)]
    assert balance(ex, "alice") == FUNDS + 2000 and balance(ex, "bob") == FUNDS
    assert ex.fixed_odds.book_minor == -2000  # the operator's takings: it paid out more than it took


# --- resettle and unsettle ----------------------------------------------------------------------------


def test_a_resettle_writes_compensating_items() -> None:
    """002:L13 (notes/provider-protocol.md /bet/resettle): a new result for a resulted bet reverses the old
    payout (RESULT_ERR) and pays the new one: the statement shows both, with the running balance."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000, "2.37"))
    run(ex, result_cmd(outcome("b1", "WON")))
    result = run(ex, result_cmd(outcome("b1", "VOID"), resettle=True))
    assert result.bets == [BetOutcome(bet_id="b1", status="VOID", amount_minor=1000 - 2370, potential_payout_minor=2370)]
    result = run(ex, result_cmd(outcome("b1", "LOST"), resettle=True))
    assert result.bets[0].amount_minor == -1000
    result = run(ex, result_cmd(outcome("b1", "WON", "0.5"), resettle=True))
    assert result.bets[0].amount_minor == 1185
    base = FUNDS - 1000
    assert rows(ex, "alice") == [
        (-1000, base, "RESULT_NOT_APPLICABLE", ref("b1", "PLACED")),
        (2370, base + 2370, "RESULT_WON", ref("b1", "WON")),
        (-2370, base, "RESULT_ERR", ref("b1", "UNSETTLED WON")),
        (1000, base + 1000, "RESULT_NOT_APPLICABLE", ref("b1", "VOID")),
        (-1000, base, "RESULT_ERR", ref("b1", "UNSETTLED VOID")),  # LOST pays nothing: no row of its own
        (1185, base + 1185, "RESULT_WON", ref("b1", "WON")),
    ]
    assert [i.transaction_type for i in fixed_odds_rows(ex, "alice")] == [
        "ACCOUNT_DEBIT", "ACCOUNT_CREDIT", "ACCOUNT_DEBIT", "ACCOUNT_CREDIT", "ACCOUNT_DEBIT", "ACCOUNT_CREDIT"]
    assert balance(ex, "alice") == base + 1185 and ex.fixed_odds.book_minor == 1000 - 1185
    assert not ex.fixed_odds.open_liability


def test_an_unsettle_reverses_the_payout_and_the_bet_is_pending_again() -> None:
    """002:L13 (notes/provider-protocol.md /bet/unsettle): the payout is taken back with a RESULT_ERR item,
    the bet is PENDING (its liability open again) and can be resulted anew."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000, "2.37"), fbet("b2", 500, "2.0"))
    run(ex, result_cmd(outcome("b1", "WON"), outcome("b2", "LOST")))
    result = run(ex, unsettle_cmd("b1", "b2"))
    assert [(b.bet_id, b.status, b.amount_minor) for b in result.bets] == [("b1", "PENDING", -2370),
                                                                           ("b2", "PENDING", 0)]
    for bet_id in ("b1", "b2"):
        record = ex.fixed_odds.bets[(PROVIDER, bet_id)]
        assert (record.status, record.paid_minor, record.settled_ms, record.closed_ms) == ("PENDING", 0, None, None)
    assert ex.fixed_odds.open_liability == {("alice", MATCH_ODDS): 1370 + 500}
    assert balance(ex, "alice") == FUNDS - 1500
    assert rows(ex, "alice")[-1] == (-2370, FUNDS - 1500, "RESULT_ERR", ref("b1", "UNSETTLED WON"))
    assert len(rows(ex, "alice")) == 4  # 2 placements, the WON payout, its reversal (LOST moved nothing)
    run(ex, result_cmd(outcome("b1", "PUSH"), outcome("b2", "WON")))
    assert balance(ex, "alice") == FUNDS - 1500 + 1000 + 1000


def test_unsettle_refusals() -> None:
    """002:L13, 002:L19 (notes/provider-protocol.md: atomic): BET_NOT_SETTLED for a pending bet,
    BET_NOT_FOUND, BET_ROLLED_BACK, a bet named twice: nothing changes."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000), fbet("b2", 1000), fbet("b3", 1000))
    run(ex, result_cmd(outcome("b1", "WON")))
    run(ex, rollback_cmd("b3"))
    refuse(ex, unsettle_cmd("b1", "b2"), FixedOddsErr.BET_NOT_SETTLED)
    refuse(ex, unsettle_cmd("b1", "nope"), FixedOddsErr.BET_NOT_FOUND)
    refuse(ex, unsettle_cmd("b1", "b3"), FixedOddsErr.BET_ROLLED_BACK)
    refuse(ex, unsettle_cmd("b1", "b1"), FixedOddsErr.INVALID_RESULT)
    refuse(ex, result_cmd(outcome("b3", "WON"), resettle=True), FixedOddsErr.BET_ROLLED_BACK)


# --- rollback -----------------------------------------------------------------------------------------


def test_a_rollback_gives_the_stake_back() -> None:
    """002:L13, 002:L19 (notes/provider-protocol.md /bet/rollback, the provider's path after a timeout):
    a pending bet is cancelled, its stake back; rolled back again, nothing more moves."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000, "2.37"))
    result = run(ex, rollback_cmd("b1"), T0 + 3)
    assert result.bets == [BetOutcome(bet_id="b1", status="ROLLED_BACK", amount_minor=1000,
                                      potential_payout_minor=2370)]
    record = ex.fixed_odds.bets[(PROVIDER, "b1")]
    assert (record.status, record.closed_ms) == ("ROLLED_BACK", T0 + 3)
    assert balance(ex, "alice") == FUNDS and ex.fixed_odds.book_minor == 0 and not ex.fixed_odds.open_liability
    assert rows(ex, "alice")[-1] == (1000, FUNDS, "RESULT_NOT_APPLICABLE", ref("b1", "ROLLED_BACK"))
    again = run(ex, rollback_cmd("b1"))
    assert again.bets[0].amount_minor == 0 and balance(ex, "alice") == FUNDS and len(rows(ex, "alice")) == 2
    refuse(ex, slip_cmd("alice", fbet("b1", 1000)), FixedOddsErr.INVALID_BET_DETAILS)  # its id stays used


def test_a_rollback_of_an_unknown_bet_succeeds_and_blocks_the_id() -> None:
    """002:L208, 002:L19 (notes/provider-protocol.md: unknown betId -> success, and that betId is blocked
    for later placement): the provider timed out on a placement that never arrived; if it arrives late
    it must not be placed."""
    ex = exchange()
    result = run(ex, rollback_cmd("late"))
    assert result.bets == [BetOutcome(bet_id="late", status="ROLLED_BACK", amount_minor=0, potential_payout_minor=0)]
    assert ex.fixed_odds.bets[(PROVIDER, "late")].bet is None
    refuse(ex, slip_cmd("alice", fbet("late", 1000)), FixedOddsErr.INVALID_BET_DETAILS)
    refuse(ex, result_cmd(outcome("late", "WON")), FixedOddsErr.BET_ROLLED_BACK)
    refuse(ex, unsettle_cmd("late"), FixedOddsErr.BET_ROLLED_BACK)
    run(ex, rollback_cmd("late"))  # again: still a success
    place_slip(ex, "alice", fbet("late", 1000), provider="prov-2")  # only this provider's id


def test_a_settled_bet_cannot_be_rolled_back() -> None:
    """002:L13 (notes/provider-protocol.md: BET_ALREADY_SETTLED): a resulted bet must be unsettled first;
    after that it rolls back like any pending bet."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000, "2.0"), fbet("b2", 1000, "2.0"))
    run(ex, result_cmd(outcome("b1", "WON")))
    refuse(ex, rollback_cmd("b2", "b1"), FixedOddsErr.BET_ALREADY_SETTLED)
    refuse(ex, rollback_cmd("b2", "b2"), FixedOddsErr.INVALID_RESULT)
    assert ex.fixed_odds.bets[(PROVIDER, "b2")].status == "PENDING"
    run(ex, unsettle_cmd("b1"))
    run(ex, rollback_cmd("b1", "b2"))
    assert balance(ex, "alice") == FUNDS and ex.fixed_odds.book_minor == 0


# --- limits (operator) --------------------------------------------------------------------------------


def test_betting_limits_are_validated_and_replace_the_old_ones() -> None:
    """002:L11: the operator sets the regulatory limits; negative amounts, an unknown block reason or a
    market type given twice are refused; a new setting replaces the old one whole."""
    ex = exchange()

    def refused(cmd: SetBettingLimits, code: str) -> None:
        before = ex.fingerprint()
        result = apply(ex, cmd)
        assert isinstance(result, AdminResult) and not result.ok and result.error == code, result
        assert ex.fingerprint() == before

    refused(SetBettingLimits(account_id="alice", max_stake_minor=-1), AdminErr.INVALID_AMOUNT)
    refused(SetBettingLimits(account_id="alice", market_types=[
        MarketTypeLimit(market_type_id=MATCH_ODDS, max_liability_minor=-1)]), AdminErr.INVALID_AMOUNT)
    refused(SetBettingLimits(account_id="alice", market_types=[
        MarketTypeLimit(market_type_id=MATCH_ODDS), MarketTypeLimit(market_type_id=MATCH_ODDS)]),
        AdminErr.INVALID_AMOUNT)
    refused(SetBettingLimits(account_id="alice", blocked_until_ms=T0 + 1, block_reason="HOLIDAY"),
            AdminErr.INVALID_STATUS)
    refused(SetBettingLimits(account_id="nobody"), AdminErr.NO_SUCH_ACCOUNT)
    limits(ex, "alice", max_stake_minor=100)
    refuse(ex, slip_cmd("alice", fbet("b1", 101)), FixedOddsErr.INVALID_STAKE)
    limits(ex, "alice", min_stake_minor=50)  # the old maximum is gone
    place_slip(ex, "alice", fbet("b1", 5000))
    refuse(ex, slip_cmd("alice", fbet("b2", 49)), FixedOddsErr.INVALID_STAKE)


# --- retention ----------------------------------------------------------------------------------------


def test_closed_bets_are_forgotten_after_their_retention_and_pending_ones_never() -> None:
    """002:L13 (bets stored to facilitate resulting; core BET_RETENTION_MS, like statements): a closed bet
    and a rollback's tombstone are kept 90 days after they closed, then pruned (at the next successful
    call); a pending bet is kept however old."""
    assert BET_RETENTION_MS == 90 * DAY_MS
    ex = exchange()
    place_slip(ex, "alice", fbet("old", 1000), ts=T0)
    place_slip(ex, "bob", fbet("pending", 1000), fbet("later", 100), ts=T0)
    run(ex, result_cmd(outcome("old", "LOST")), T0 + 10)
    run(ex, rollback_cmd("ghost"), T0 + 10)
    run(ex, result_cmd(outcome("later", "LOST")), T0 + 20)
    admin(ex, AdvanceTime(), T0 + 10 + BET_RETENTION_MS + DAY_MS)  # not a fixed-odds success: no pruning
    assert (PROVIDER, "old") in ex.fixed_odds.bets
    place_slip(ex, "alice", fbet("new", 100), ts=T0 + 10 + BET_RETENTION_MS + DAY_MS)
    bets = ex.fixed_odds.bets
    assert (PROVIDER, "old") not in bets and (PROVIDER, "ghost") not in bets
    assert (PROVIDER, "pending") in bets and (PROVIDER, "new") in bets
    assert ex.fixed_odds.by_account["alice"] == [(PROVIDER, "new")]
    # bob's older bet is still pending: his closed one goes all the same
    assert (PROVIDER, "later") not in bets and ex.fixed_odds.by_account["bob"] == [(PROVIDER, "pending")]
    assert len(ex.fixed_odds.keys) == 1  # the keys of a day ago are all gone: only this call's
    # a pending bet is still resulted and paid after all that time
    run(ex, result_cmd(outcome("pending", "VOID")))
    assert balance(ex, "bob") == FUNDS - 100


def test_a_closed_bet_is_kept_exactly_its_retention() -> None:
    """002:L13, core BET_RETENTION_MS: a bet closed at t is still known at t + 90 days, not after."""
    ex = exchange()
    place_slip(ex, "alice", fbet("b1", 1000), ts=T0)
    run(ex, result_cmd(outcome("b1", "LOST")), T0 + 10)
    place_slip(ex, "bob", fbet("x1", 100), ts=T0 + 10 + BET_RETENTION_MS)
    assert (PROVIDER, "b1") in ex.fixed_odds.bets
    place_slip(ex, "bob", fbet("x2", 100), ts=T0 + 11 + BET_RETENTION_MS)
    assert (PROVIDER, "b1") not in ex.fixed_odds.bets and ex.fixed_odds.by_account["alice"] == []
    # the money and the statement rows are not the book's to prune
    assert balance(ex, "alice") == FUNDS - 1000 and len(fixed_odds_rows(ex, "alice")) == 1


# --- snapshots ----------------------------------------------------------------------------------------


def _busy_book() -> tuple[Exchange, list[tuple[Command, int]]]:
    """Pending, won, resettled, rolled back bets, a tombstone, limits and keys; and more to apply after."""
    ex = exchange()
    limits(ex, "alice", max_stake_minor=50_000, market_types=[
        MarketTypeLimit(market_type_id=MATCH_ODDS, max_liability_minor=90_000)], blocked_until_ms=T0 - 1)
    place_slip(ex, "alice", fbet("a1", 1000, "2.37"), fbet("a2", 500, "3.5", OVER_UNDER), key="k-a", sha="s-a")
    place_slip(ex, "bob", fbet("b1", 700, "1.9"), fbet("b2", 300, "5"))
    run(ex, result_cmd(outcome("a1", "WON", "0.5"), outcome("b1", "LOST")))
    run(ex, result_cmd(outcome("a1", "VOID"), resettle=True))
    run(ex, rollback_cmd("b2", "ghost"))
    rest(ex, "bob", SEL_A, BACK, 300, 2000)
    after: list[tuple[Command, int]] = [
        (slip_cmd("alice", fbet("a1", 1000, "2.37"), fbet("a2", 500, "3.5", OVER_UNDER), key="k-a", sha="s-a"),
         T0 + 100),  # a replay
        (unsettle_cmd("a1", key="k-u"), T0 + 200),
        (result_cmd(outcome("a1", "WON"), outcome("a2", "PUSH"), key="k-r"), T0 + 300),
        (slip_cmd("alice", fbet("a3", 100, "7.25"), key="k-3"), T0 + 400),
        (slip_cmd("bob", fbet("b3", 100, "2"), key="k-4"), T0 + 400 + 2 * DAY_MS),  # prunes the keys
    ]
    return ex, after


def test_a_snapshot_keeps_the_fixed_odds_book() -> None:
    """002:L13 (the stored bets must outlive a restart): pickling the state (a snapshot, with the codec's
    header) keeps the fingerprint, the idempotency keys' answers and everything after behaves the same."""
    ex, after = _busy_book()
    restored = pickle.loads(pickle.dumps(ex))
    assert restored.fingerprint() == ex.fingerprint()
    restored.check_invariants()
    snap = decode_snapshot(encode_snapshot(ex, 7, ex.now_ms))
    assert snap.exchange.fingerprint() == ex.fingerprint()
    assert snap.exchange.fixed_odds.by_account == ex.fixed_odds.by_account
    assert list(snap.exchange.fixed_odds.key_expiry) == list(ex.fixed_odds.key_expiry)
    for cmd, ts in after:
        r1, r2, r3 = _run(ex, cmd, ts), _run(restored, cmd, ts), _run(snap.exchange, cmd, ts)
        assert r1 == r2 == r3 and isinstance(r1, FixedOddsResult) and r1.ok, r1
        assert ex.fingerprint() == restored.fingerprint() == snap.exchange.fingerprint()
    assert r1.bets[0].bet_id == "b3"


def test_the_fingerprint_sees_the_fixed_odds_book() -> None:
    """002:L13: a placed bet is state: two exchanges differing only by it differ in fingerprint."""
    ex1, ex2 = exchange(), exchange()
    assert ex1.fingerprint() == ex2.fingerprint()
    place_slip(ex1, "alice", fbet("b1", 1000))
    assert ex1.fingerprint() != ex2.fingerprint()


def test_a_new_account_can_bet_after_a_deposit() -> None:
    """002:L7, 002:L9: a fresh account with no money is INSUFFICIENT_FUNDS; after a deposit it bets."""
    ex = exchange()
    add_account(ex, "carol", 0)
    refuse(ex, slip_cmd("carol", fbet("c1", 1)), FixedOddsErr.INSUFFICIENT_FUNDS)
    admin(ex, Deposit(account_id="carol", amount_minor=1))
    place_slip(ex, "carol", fbet("c1", 1, "1000"))
    assert balance(ex, "carol") == 0 and ex.fixed_odds.bets[(PROVIDER, "c1")].potential_payout_minor == 1000
