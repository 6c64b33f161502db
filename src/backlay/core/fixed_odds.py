"""Fixed-odds bets on the exchange's wallet (seed 002, the provider endpoint; docs/provider-api.md).

A betslip is placed whole or not at all: the account must be ACTIVE and not blocked (a cool-down or
self-exclusion), every bet id new to its provider, every stake within the account's limits (global
and per marketTypeId, the stricter applies), the potential liability per marketTypeId within its
limit, and the sum of the stakes within the available-to-bet balance, after exchange exposure. Then
each stake leaves the balance for the book (fixed_odds_book.py). A result pays the account from the
book; unsettle and resettle write compensating items; a rollback gives the stake back.

Every command carries the provider's idempotency key: the same key with the same request answers
the first result again and changes nothing; with another request it is IDEMPOTENCY_KEY_REUSED. Only
successful calls keep their key: a refused one changed nothing, so its retry is judged afresh.

Money: potentialPayout = floor(stake x decimalPrice) in minor units, computed exactly from the
price's decimal digits; a payout factor f (0 < f <= 1) pays floor(stake x decimalPrice x f).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .codes import AdminErr, FixedOddsErr
from .commands import (
    BetResult,
    FixedOddsBet,
    MarketTypeLimit,
    PlaceBetslip,
    ResultBets,
    RollbackBets,
    SetBettingLimits,
    UnsettleBets,
)
from .context import Ctx
from .events import FundsChanged
from .fixed_odds_book import OUTCOMES, PENDING, ROLLED_BACK, BettingLimits, FixedOddsRecord, KeyRecord
from .ledger import StatementItem
from .reports import OK, AdminResult, BetOutcome, FailedBet, FixedOddsResult, admin_error
from .wallet import Account, AccountStatus

MIN_STAKE_MINOR = 1  # without a configured minimum, a stake must be at least one minor unit
BLOCK_REASONS = ("COOL_DOWN", "SELF_EXCLUSION")


def pow10(n: int) -> int:
    """10**n for n >= 0, typed (mypy calls `10**n` Any, as a negative n would give a float)."""
    assert n >= 0
    result: int = 10**n
    return result


def potential_payout_minor(bet: FixedOddsBet) -> int:
    return bet.stake_minor * bet.price_units // pow10(bet.price_scale)


def _refused(ctx: Ctx, code: str, detail: str, failed: list[FailedBet] | None = None) -> FixedOddsResult:
    return FixedOddsResult(ok=False, ts_ms=ctx.ts_ms, error=code, detail=detail, failed_bets=failed or [])


def _remembered(ctx: Ctx, operation: str, provider_id: str, key: str, sha: str) -> FixedOddsResult | None:
    """The first answer under this key again, or the refusal of a reused key; None for a new key."""
    record = ctx.state.fixed_odds.keys.get((provider_id, key))
    if record is None:
        return None
    if record.operation != operation or record.request_sha256 != sha:
        return _refused(ctx, FixedOddsErr.IDEMPOTENCY_KEY_REUSED,
                        "this X-Idempotency-Key was used with another request")
    first = record.result
    return FixedOddsResult(ok=True, ts_ms=first.ts_ms, bets=first.bets, balance_minor=first.balance_minor,
                           replayed=True)


def _remember(ctx: Ctx, operation: str, provider_id: str, key: str, sha: str, result: FixedOddsResult) -> None:
    book = ctx.state.fixed_odds
    book.keys[(provider_id, key)] = KeyRecord(operation, sha, result, ctx.ts_ms)
    book.key_expiry.append((ctx.ts_ms, (provider_id, key)))
    book.prune(ctx.ts_ms)


def _statement(ctx: Ctx, acct: Account, amount_minor: int, record: FixedOddsRecord, what: str,
               win_lose: str = "RESULT_NOT_APPLICABLE") -> None:
    bet = record.bet
    assert bet is not None
    ctx.state.ledger.add_statement(acct.account_id, StatementItem(
        ref_id=str(ctx.new_statement_ref()), item_ms=ctx.ts_ms, amount_minor=amount_minor,
        balance_minor=acct.balance_minor, transaction_type="ACCOUNT_CREDIT" if amount_minor >= 0 else "ACCOUNT_DEBIT",
        win_lose=win_lose, placed_ms=record.placed_ms, bet_size_minor=bet.stake_minor,
        reference=f"FIXED_ODDS {record.provider_id} {bet.bet_id} {what}", fixed_odds=True))


def _move(ctx: Ctx, acct: Account, amount_minor: int) -> None:
    """Money between the account and the book (+: to the account)."""
    acct.balance_minor += amount_minor
    ctx.state.fixed_odds.book_minor -= amount_minor


# --- placement ---------------------------------------------------------------------------------


def place_betslip(ctx: Ctx, cmd: PlaceBetslip) -> FixedOddsResult:
    sha = cmd.request_sha256
    again = _remembered(ctx, "bet", cmd.provider_id, cmd.idempotency_key, sha)
    if again is not None:
        return again
    acct = ctx.state.accounts.get(cmd.account_id)
    if acct is None:
        return _refused(ctx, FixedOddsErr.INVALID_USER, f"no user {cmd.account_id}")
    refusal = _placement_refusal(ctx, cmd, acct)
    if refusal is not None:
        return refusal
    book = ctx.state.fixed_odds
    outcomes = []
    for bet in cmd.bets:
        record = FixedOddsRecord(cmd.provider_id, acct.account_id, bet, ctx.ts_ms, potential_payout_minor(bet))
        book.bets[(cmd.provider_id, bet.bet_id)] = record
        book.by_account.setdefault(acct.account_id, []).append((cmd.provider_id, bet.bet_id))
        book.add_liability(acct.account_id, bet.market_type_id, record.liability_minor)
        _move(ctx, acct, -bet.stake_minor)
        _statement(ctx, acct, -bet.stake_minor, record, "PLACED")
        outcomes.append(BetOutcome(bet_id=bet.bet_id, status=PENDING, amount_minor=-bet.stake_minor,
                                   potential_payout_minor=record.potential_payout_minor))
    ctx.events.append(FundsChanged(acct.account_id))
    result = FixedOddsResult(ok=True, ts_ms=ctx.ts_ms, bets=outcomes, balance_minor=acct.balance_minor)
    _remember(ctx, "bet", cmd.provider_id, cmd.idempotency_key, sha, result)
    return result


def _placement_refusal(ctx: Ctx, cmd: PlaceBetslip, acct: Account) -> FixedOddsResult | None:
    """The first of the placement's checks that fails: user, details, stakes (the regulatory limits),
    then funds (docs/provider-api.md), so that a limit is named even when the funds also fall short."""
    limits = ctx.state.fixed_odds.limits.get(acct.account_id)
    if acct.status != AccountStatus.ACTIVE:
        return _refused(ctx, FixedOddsErr.USER_BLOCKED, "the account is suspended")
    if limits is not None and limits.blocked_until_ms is not None and ctx.ts_ms < limits.blocked_until_ms:
        reason = (limits.block_reason or "COOL_DOWN").lower().replace("_", "-")
        return _refused(ctx, FixedOddsErr.USER_BLOCKED, f"the user is in a {reason} until {limits.blocked_until_ms}")
    detail = _details_refusal(ctx, cmd)
    if detail is not None:
        return _refused(ctx, FixedOddsErr.INVALID_BET_DETAILS, detail)
    failed = _stake_failures(ctx, cmd, limits)
    if failed:
        return _refused(ctx, FixedOddsErr.INVALID_STAKE, "a stake is outside the user's limits", failed)
    total = sum(b.stake_minor for b in cmd.bets)
    if total > acct.available_minor:
        return _refused(ctx, FixedOddsErr.INSUFFICIENT_FUNDS,
                        "the stakes exceed the available-to-bet balance")
    return None


def _details_refusal(ctx: Ctx, cmd: PlaceBetslip) -> str | None:
    if not cmd.bets:
        return "a betslip has at least one bet"
    seen: set[str] = set()
    for bet in cmd.bets:
        if bet.bet_id in seen:
            return f"betId {bet.bet_id} is repeated in the betslip"
        seen.add(bet.bet_id)
        if (cmd.provider_id, bet.bet_id) in ctx.state.fixed_odds.bets:
            return f"betId {bet.bet_id} was already used"
        if bet.price_scale < 0 or bet.price_units <= pow10(bet.price_scale):
            return f"bet {bet.bet_id}: decimalPrice must be above 1"
    return None


def _stake_bounds(limits: BettingLimits | None, market_type_id: str) -> tuple[int, int | None]:
    """The stricter of the global and the market type's stake limits."""
    lo: int = MIN_STAKE_MINOR
    hi: int | None = None  # annotated: mypyc infers a bare None as the type None, and refuses to compile
    if limits is None:
        return lo, hi
    per_type = limits.market_types.get(market_type_id)
    for low, high in ((limits.min_stake_minor, limits.max_stake_minor),
                      (per_type.min_stake_minor, per_type.max_stake_minor) if per_type else (None, None)):
        if low is not None:
            lo = max(lo, low)
        if high is not None:
            hi = high if hi is None else min(hi, high)
    return lo, hi


def _stake_failures(ctx: Ctx, cmd: PlaceBetslip, limits: BettingLimits | None) -> list[FailedBet]:
    """Every bet whose stake breaks a limit, with that limit; the liability limit is a maximum stake."""
    failed = []
    liability: dict[str, int] = {}
    open_liability = ctx.state.fixed_odds.open_liability
    for i, bet in enumerate(cmd.bets):
        lo, hi = _stake_bounds(limits, bet.market_type_id)
        if bet.stake_minor < lo:
            failed.append(FailedBet(index=i, min_stake_minor=lo))
            continue
        if hi is not None and bet.stake_minor > hi:
            failed.append(FailedBet(index=i, max_stake_minor=hi))
            continue
        per_type = limits.market_types.get(bet.market_type_id) if limits is not None else None
        if per_type is None or per_type.max_liability_minor is None:
            continue
        used = liability.get(bet.market_type_id, open_liability.get((cmd.account_id, bet.market_type_id), 0))
        mine = max(0, potential_payout_minor(bet) - bet.stake_minor)
        if used + mine > per_type.max_liability_minor:
            failed.append(FailedBet(index=i, max_stake_minor=_max_stake(bet, per_type.max_liability_minor - used)))
            continue
        liability[bet.market_type_id] = used + mine
    return failed


def _max_stake(bet: FixedOddsBet, room_minor: int) -> int:
    """The largest stake whose liability (floor(stake x price) - stake) fits in `room_minor`."""
    scale = pow10(bet.price_scale)
    gain = bet.price_units - scale  # liability per unit of stake, x scale
    if room_minor < 0:
        return 0
    stake = (room_minor + 1) * scale // gain + 1  # above the answer: its liability exceeds the room
    while stake > 0 and stake * bet.price_units // scale - stake > room_minor:
        stake -= 1
    return stake


# --- after placement ---------------------------------------------------------------------------


def _open_record(ctx: Ctx, provider_id: str, bet_id: str) -> FixedOddsRecord | FixedOddsResult:
    record = ctx.state.fixed_odds.bets.get((provider_id, bet_id))
    if record is None:
        return _refused(ctx, FixedOddsErr.BET_NOT_FOUND, f"no bet {bet_id}")
    if record.status == ROLLED_BACK:
        return _refused(ctx, FixedOddsErr.BET_ROLLED_BACK, f"bet {bet_id} was rolled back")
    return record


def _payout_minor(record: FixedOddsRecord, result: BetResult) -> int:
    bet = record.bet
    assert bet is not None
    if result.outcome == "WON":
        return bet.stake_minor * bet.price_units * result.factor_units // pow10(bet.price_scale + result.factor_scale)
    return bet.stake_minor if result.outcome in ("VOID", "PUSH") else 0


def _result_refusal(ctx: Ctx, cmd: ResultBets) -> FixedOddsResult | None:
    if not cmd.results:
        return _refused(ctx, FixedOddsErr.INVALID_RESULT, "name at least one bet")
    seen: set[str] = set()
    for r in cmd.results:
        found = _open_record(ctx, cmd.provider_id, r.bet_id)
        if isinstance(found, FixedOddsResult):
            return found
        if r.bet_id in seen:
            return _refused(ctx, FixedOddsErr.INVALID_RESULT, f"bet {r.bet_id} is named twice")
        seen.add(r.bet_id)
        if r.outcome not in OUTCOMES:
            return _refused(ctx, FixedOddsErr.INVALID_RESULT, f"outcome must be one of {', '.join(OUTCOMES)}")
        if r.factor_scale < 0 or not 0 < r.factor_units <= pow10(r.factor_scale):
            return _refused(ctx, FixedOddsErr.INVALID_RESULT, "payoutFactor must be above 0 and at most 1")
        if r.factor_units != pow10(r.factor_scale) and r.outcome != "WON":
            return _refused(ctx, FixedOddsErr.INVALID_RESULT, "a payoutFactor applies to WON only")
        if cmd.resettle != (found.status != PENDING):
            code = FixedOddsErr.BET_NOT_SETTLED if cmd.resettle else FixedOddsErr.BET_ALREADY_SETTLED
            return _refused(ctx, code, f"bet {r.bet_id} is {found.status}")
    return None


def _unsettle(ctx: Ctx, acct: Account, record: FixedOddsRecord) -> None:
    bet = record.bet
    assert bet is not None and record.status not in (PENDING, ROLLED_BACK)
    if record.paid_minor:
        _move(ctx, acct, -record.paid_minor)
        _statement(ctx, acct, -record.paid_minor, record, f"UNSETTLED {record.status}", "RESULT_ERR")
    record.status, record.paid_minor, record.settled_ms, record.closed_ms = PENDING, 0, None, None
    ctx.state.fixed_odds.add_liability(acct.account_id, bet.market_type_id, record.liability_minor)


def _settle(ctx: Ctx, acct: Account, record: FixedOddsRecord, result: BetResult) -> None:
    bet = record.bet
    assert bet is not None and record.status == PENDING
    paid = _payout_minor(record, result)
    ctx.state.fixed_odds.add_liability(acct.account_id, bet.market_type_id, -record.liability_minor)
    record.status, record.paid_minor, record.closed_ms = result.outcome, paid, ctx.ts_ms
    ctx.state.fixed_odds.closed((record.provider_id, bet.bet_id), record)
    record.settled_ms = ctx.ts_ms if result.settled_ms is None else result.settled_ms
    if paid:
        _move(ctx, acct, paid)
        win_lose = "RESULT_WON" if result.outcome == "WON" else "RESULT_NOT_APPLICABLE"
        _statement(ctx, acct, paid, record, result.outcome, win_lose)


def _follow_up(ctx: Ctx, operation: str, cmd: Any, refusal: Callable[[], FixedOddsResult | None],
               each: Callable[[Account, FixedOddsRecord, Any], None], items: list[Any]) -> FixedOddsResult:
    """The shape every call after placement shares: idempotency, checks, then each bet in turn."""
    again = _remembered(ctx, operation, cmd.provider_id, cmd.idempotency_key, cmd.request_sha256)
    if again is not None:
        return again
    refused = refusal()
    if refused is not None:
        return refused
    book = ctx.state.fixed_odds
    outcomes = []
    for item in items:
        bet_id = item if isinstance(item, str) else item.bet_id
        record = book.bets.get((cmd.provider_id, bet_id))
        acct = ctx.state.accounts.get(record.account_id) if record is not None else None
        before = acct.balance_minor if acct is not None else 0
        if record is None:  # only a rollback of an unknown id gets here: its tombstone blocks the id
            record = FixedOddsRecord(cmd.provider_id, "", None, ctx.ts_ms, 0)
            book.bets[(cmd.provider_id, bet_id)] = record
            book.closed((cmd.provider_id, bet_id), record)
        elif acct is not None:
            each(acct, record, item)
            ctx.events.append(FundsChanged(acct.account_id))
        outcomes.append(BetOutcome(bet_id=bet_id, status=record.status,
                                   amount_minor=(acct.balance_minor - before) if acct is not None else 0,
                                   potential_payout_minor=record.potential_payout_minor))
    result = FixedOddsResult(ok=True, ts_ms=ctx.ts_ms, bets=outcomes)
    _remember(ctx, operation, cmd.provider_id, cmd.idempotency_key, cmd.request_sha256, result)
    return result


def result_bets(ctx: Ctx, cmd: ResultBets) -> FixedOddsResult:
    def each(acct: Account, record: FixedOddsRecord, result: BetResult) -> None:
        if cmd.resettle:
            _unsettle(ctx, acct, record)
        _settle(ctx, acct, record, result)
    return _follow_up(ctx, "resettle" if cmd.resettle else "result", cmd, lambda: _result_refusal(ctx, cmd),
                      each, list(cmd.results))


def unsettle_bets(ctx: Ctx, cmd: UnsettleBets) -> FixedOddsResult:
    def refusal() -> FixedOddsResult | None:
        for bet_id in cmd.bet_ids:
            found = _open_record(ctx, cmd.provider_id, bet_id)
            if isinstance(found, FixedOddsResult):
                return found
            if found.status == PENDING:
                return _refused(ctx, FixedOddsErr.BET_NOT_SETTLED, f"bet {bet_id} is PENDING")
        return _duplicate(ctx, cmd.bet_ids)
    return _follow_up(ctx, "unsettle", cmd, refusal, lambda acct, record, _: _unsettle(ctx, acct, record),
                      list(cmd.bet_ids))


def _duplicate(ctx: Ctx, bet_ids: list[str]) -> FixedOddsResult | None:
    if not bet_ids:
        return _refused(ctx, FixedOddsErr.INVALID_RESULT, "name at least one bet")
    if len(set(bet_ids)) != len(bet_ids):
        return _refused(ctx, FixedOddsErr.INVALID_RESULT, "a bet is named twice")
    return None


def _roll_back(ctx: Ctx, acct: Account, record: FixedOddsRecord) -> None:
    bet = record.bet
    if record.status == ROLLED_BACK or bet is None:
        return  # rolled back before: nothing more to do
    ctx.state.fixed_odds.add_liability(acct.account_id, bet.market_type_id, -record.liability_minor)
    record.status, record.paid_minor, record.closed_ms = ROLLED_BACK, bet.stake_minor, ctx.ts_ms
    ctx.state.fixed_odds.closed((record.provider_id, bet.bet_id), record)
    _move(ctx, acct, bet.stake_minor)
    _statement(ctx, acct, bet.stake_minor, record, "ROLLED_BACK")


def rollback_bets(ctx: Ctx, cmd: RollbackBets) -> FixedOddsResult:
    def refusal() -> FixedOddsResult | None:
        for bet_id in cmd.bet_ids:
            record = ctx.state.fixed_odds.bets.get((cmd.provider_id, bet_id))
            if record is not None and record.status not in (PENDING, ROLLED_BACK):
                return _refused(ctx, FixedOddsErr.BET_ALREADY_SETTLED,
                                f"bet {bet_id} is {record.status}: unsettle it first")
        return _duplicate(ctx, cmd.bet_ids)
    return _follow_up(ctx, "rollback", cmd, refusal, lambda acct, record, _: _roll_back(ctx, acct, record),
                      list(cmd.bet_ids))


# --- limits (operator) -------------------------------------------------------------------------


def set_betting_limits(ctx: Ctx, cmd: SetBettingLimits, acct: Account) -> AdminResult:
    amounts: list[int | None] = [cmd.min_stake_minor, cmd.max_stake_minor]
    for m in cmd.market_types:
        amounts += [m.min_stake_minor, m.max_stake_minor, m.max_liability_minor]
    if any(a is not None and a < 0 for a in amounts):
        return admin_error(AdminErr.INVALID_AMOUNT, "limits must be >= 0")
    if cmd.block_reason is not None and cmd.block_reason not in BLOCK_REASONS:
        return admin_error(AdminErr.INVALID_STATUS, f"blockReason must be one of {', '.join(BLOCK_REASONS)}")
    by_type: dict[str, MarketTypeLimit] = {}
    for m in cmd.market_types:
        if m.market_type_id in by_type:
            return admin_error(AdminErr.INVALID_AMOUNT, f"market type {m.market_type_id} is given twice")
        by_type[m.market_type_id] = m
    ctx.state.fixed_odds.limits[acct.account_id] = BettingLimits(
        cmd.min_stake_minor, cmd.max_stake_minor, by_type, cmd.blocked_until_ms, cmd.block_reason)
    return OK
