"""Property tests of fixed-odds bets (seed 002; core/fixed_odds.py) mixed with exchange trading.

A history is the exchange's random operations (strategies.py) interleaved with fixed-odds ones: betslips
(new, used and repeated bet ids, prices at and above 1, stakes inside and outside the limits), results,
resettles, unsettles and rollbacks of the bets so far (and of unknown ids), betting limits, account
suspensions, and jumps of a day or of 91 days (key and bet retention). Idempotency keys are new, a
replay of an earlier call (the same key and request) or an earlier key with another request.

Properties: after every command the invariants hold (money conserved: balances + commission + the book's
takings = deposits - withdrawals; open liability = that of the PENDING bets; the exchange's own checks);
a fixed-odds placement never takes an account's available-to-bet below zero; a refused or replayed
fixed-odds call changes nothing; the money a call reports moving is what moved; and the same commands
give the same state, applied to a fresh Exchange, after a journal encode/decode round trip, and across a
pickled snapshot.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from backlay.core.commands import (
    BetResult,
    Command,
    FixedOddsBet,
    MarketTypeLimit,
    PlaceBetslip,
    ResultBets,
    RollbackBets,
    SetAccountStatus,
    SetBettingLimits,
    UnsettleBets,
    UnsettleMarket,
)
from backlay.core.exchange import Exchange
from backlay.core.reports import AdminResult, FixedOddsResult
from backlay.engine.codec import canonical, decode_command, encode_command

from .strategies import (
    T0,
    Scenario,
    check_books,
    check_house,
    check_matches,
    check_pending,
    check_settlement_money,
    is_rejection,
    market_pnl,
    operations,
    setup_commands,
    state_key,
    to_command,
)

COMMON: dict[str, Any] = {"deadline": None,
                          "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
DAY_MS = 24 * 3600 * 1000
PROVIDERS = ("prov-a", "prov-b")
MARKET_TYPES = ("MATCH_ODDS", "OVER_UNDER_25", "CORRECT_SCORE")
PRICES = ("1.01", "1.5", "2", "2.37", "3.333", "10", "1.0000000001", "999.9999999999", "1", "0.9")
OUTCOMES = ("WON", "LOST", "VOID", "PUSH")
FO_KINDS = ("fo_slip", "fo_result", "fo_unsettle", "fo_rollback", "fo_limits", "fo_status")


@dataclass(frozen=True)
class History:
    setup: Scenario  # accounts, funds and markets (its own ops unused)
    ops: tuple[tuple[Any, ...], ...]  # exchange operations (strategies.py) and fixed-odds ones

    def account(self, i: int) -> str:
        """The i-th account; 9 is "ghost", who has none (INVALID_USER)."""
        return "ghost" if i == 9 else self.setup.accounts[i % len(self.setup.accounts)]


# --- abstract fixed-odds operations ------------------------------------------------------------------

dts = st.one_of(st.just(0), st.integers(1, 2_000))
acct = st.integers(0, 9)
provider = st.sampled_from([0, 0, 0, 1])
key_choice = st.one_of(st.just(("new", 0)), st.tuples(st.sampled_from(["new", "new", "replay", "reuse"]),
                                                      st.integers(0, 50)))
# a bet of the provider: among those whose status fits the call ("fit"; all if none does) or all of them
# ("any"), by an index into their sorted ids; -1: an unknown id
bet_pick = st.tuples(st.sampled_from(["fit", "fit", "fit", "any"]), st.integers(-1, 30))
stakes = st.one_of(st.sampled_from([100, 500, 1_000, 5_000]), st.integers(-1, 30_000))
slip_bet = st.tuples(
    st.sampled_from(["new"] * 14 + ["old", "dup"]), st.integers(0, 50),  # bet id: new, used or repeated
    st.integers(0, 2), stakes, st.sampled_from(PRICES[:8] * 5 + PRICES[8:]))
slip_op = st.tuples(st.just("fo_slip"), dts, acct, provider, st.lists(slip_bet, min_size=1, max_size=3), key_choice)
result_op = st.tuples(
    st.just("fo_result"), dts, provider,
    st.lists(st.tuples(bet_pick, st.sampled_from(OUTCOMES),
                       st.sampled_from([None, None, None, "0.5", "0.3333333333", "1", "0"])), min_size=1, max_size=2),
    st.sampled_from([False, False, True]), key_choice)  # resettle
ids_op = st.tuples(st.sampled_from(["fo_unsettle", "fo_rollback"]), dts, provider,
                   st.lists(bet_pick, min_size=1, max_size=2), key_choice)
amounts = st.sampled_from([None, None, 0, 100, 500, 2_000, 10_000])
limits_op = st.tuples(
    st.just("fo_limits"), dts, acct, amounts, amounts,
    st.lists(st.tuples(st.integers(0, 2), amounts, amounts, st.sampled_from([None, 0, 1_000, 5_000, 50_000])),
             max_size=2),
    st.one_of(st.none(), st.tuples(st.integers(1, 10_000), st.sampled_from([None, "COOL_DOWN", "SELF_EXCLUSION"]))))
status_op = st.tuples(st.just("fo_status"), dts, acct, st.sampled_from(["SUSPENDED", "ACTIVE", "ACTIVE"]))
jump_op = st.tuples(st.just("advance"), st.sampled_from([DAY_MS, 91 * DAY_MS]))  # strategies: AdvanceTime


def _ops() -> st.SearchStrategy[tuple[Any, ...]]:
    exchange_op = operations(fok=True, targets=True)
    weighted = [*[exchange_op] * 6, *[slip_op] * 6, *[result_op] * 3, *[ids_op] * 3, limits_op, status_op, jump_op]
    return st.sampled_from(range(len(weighted))).flatmap(lambda i: weighted[i])


@st.composite
def histories(draw: st.DrawFn, max_ops: int = 40) -> History:
    n = draw(st.integers(2, 4))
    funds = tuple(draw(st.sampled_from([0, 2_000, 10_000, 100_000, 100_000])) for _ in range(n))
    setup = Scenario(funds=funds, second_market=draw(st.booleans()), bsp=draw(st.booleans()),
                     passive=draw(st.booleans()), ops=(), crossing=draw(st.booleans()))
    first = draw(st.lists(slip_op, min_size=1, max_size=4))  # some bets for the calls after placement
    return History(setup, (*first, *draw(st.lists(_ops(), min_size=4, max_size=max_ops))))


# --- turning operations into commands ----------------------------------------------------------------


def _units(text: str) -> tuple[int, int]:
    d = Decimal(text)
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    return int(d.scaleb(scale)), scale


def _bet_ids(ex: Exchange, provider_id: str) -> list[str]:
    return sorted(b for p, b in ex.fixed_odds.bets if p == provider_id)


def _provider(ex: Exchange, p: int) -> str:
    """PROVIDERS[p], or the other one if only that one has bets (calls after placement need some)."""
    other = PROVIDERS[1 - p]
    return other if not _bet_ids(ex, PROVIDERS[p]) and _bet_ids(ex, other) else PROVIDERS[p]


def _pick(ex: Exchange, provider_id: str, how: tuple[str, int], fits: Callable[[str], bool] = bool) -> str:
    kind, i = how
    every = _bet_ids(ex, provider_id)
    ids = [b for b in every if kind == "any" or fits(ex.fixed_odds.bets[(provider_id, b)].status)] or every
    return f"unknown-{i}" if i < 0 or not ids else ids[i % len(ids)]


def _pending(status: str) -> bool:
    return status == "PENDING"


def _resulted(status: str) -> bool:
    return status in OUTCOMES


class Sent:
    """The fixed-odds calls sent so far (for replays and reused keys) and a counter for new bet ids."""

    def __init__(self) -> None:
        self.calls: list[Command] = []
        self.next_id = 0

    def new_id(self) -> str:
        self.next_id += 1
        return f"bet-{self.next_id}"


def _keyed(cmd: Any, key: str) -> Command:
    """The command under `key`, with the SHA-256 of the request itself (the key aside), as the edge does."""
    bare = msgspec.structs.replace(cmd, idempotency_key="", request_sha256="")
    keyed: Command = msgspec.structs.replace(cmd, idempotency_key=key,
                                             request_sha256=hashlib.sha256(encode_command(bare)).hexdigest())
    return keyed


def _with_key(sent: Sent, cmd: Any, choice: tuple[str, int]) -> Command:
    how, i = choice
    if how == "replay" and sent.calls:
        return sent.calls[i % len(sent.calls)]  # the very same call again
    if how == "reuse" and sent.calls:
        earlier: Any = sent.calls[i % len(sent.calls)]
        cmd = msgspec.structs.replace(cmd, provider_id=earlier.provider_id)
        return _keyed(cmd, earlier.idempotency_key)
    return _keyed(cmd, f"key-{len(sent.calls)}")


def _slip(ex: Exchange, h: History, sent: Sent, op: tuple[Any, ...]) -> Command:
    _, _, a, p, specs, choice = op
    provider_id = PROVIDERS[p]
    bets: list[FixedOddsBet] = []
    for how, i, m, stake, decimal_price in specs:
        if how == "old":
            bet_id = _pick(ex, provider_id, ("any", i))
        elif how == "dup" and bets:
            bet_id = bets[-1].bet_id
        else:
            bet_id = sent.new_id()
        units, scale = _units(decimal_price)
        bets.append(FixedOddsBet(bet_id=bet_id, market_type_id=MARKET_TYPES[m], stake_minor=stake,
                                 price_units=units, price_scale=scale, details=f'{{"betId":"{bet_id}"}}'.encode()))
    cmd = PlaceBetslip(provider_id=provider_id, idempotency_key="", request_sha256="",
                       account_id=h.account(a), bets=bets)
    return _with_key(sent, cmd, choice)


def _result(ex: Exchange, sent: Sent, op: tuple[Any, ...]) -> Command:
    _, _, p, specs, resettle, choice = op
    provider_id = _provider(ex, p)
    results = []
    for i, what, factor in specs:
        units, scale = _units(factor) if factor is not None and what == "WON" else (1, 0)
        results.append(BetResult(bet_id=_pick(ex, provider_id, i, _resulted if resettle else _pending), outcome=what, factor_units=units,
                                 factor_scale=scale))
    cmd = ResultBets(provider_id=provider_id, idempotency_key="", request_sha256="", results=results,
                     resettle=resettle)
    return _with_key(sent, cmd, choice)


def _ids(ex: Exchange, sent: Sent, op: tuple[Any, ...]) -> Command:
    kind, _, p, picks, choice = op
    provider_id = _provider(ex, p)
    fits = _resulted if kind == "fo_unsettle" else _pending
    bet_ids = list(dict.fromkeys(_pick(ex, provider_id, i, fits) for i in picks))
    cls = UnsettleBets if kind == "fo_unsettle" else RollbackBets
    return _with_key(sent, cls(provider_id=provider_id, idempotency_key="", request_sha256="", bet_ids=bet_ids), choice)


def _limits(ex: Exchange, h: History, op: tuple[Any, ...]) -> Command:
    _, _, a, lo, hi, per_type, block = op
    until, reason = block if block is not None else (None, None)
    return SetBettingLimits(
        account_id=h.account(a), min_stake_minor=lo, max_stake_minor=hi,
        market_types=[MarketTypeLimit(market_type_id=MARKET_TYPES[m], min_stake_minor=tlo, max_stake_minor=thi,
                                      max_liability_minor=liability) for m, tlo, thi, liability in per_type],
        blocked_until_ms=None if until is None else ex.now_ms + until, block_reason=reason)


def fixed_odds_command(ex: Exchange, h: History, sent: Sent, op: tuple[Any, ...]) -> Command:
    kind = op[0]
    if kind == "fo_slip":
        cmd = _slip(ex, h, sent, op)
    elif kind == "fo_result":
        cmd = _result(ex, sent, op)
    elif kind in ("fo_unsettle", "fo_rollback"):
        cmd = _ids(ex, sent, op)
    elif kind == "fo_limits":
        return _limits(ex, h, op)
    else:
        return SetAccountStatus(account_id=h.account(op[2]), status=op[3])
    sent.calls.append(cmd)
    return cmd


Step = Callable[[Exchange, Command, int], Any]


def run_history(h: History, step: Step) -> tuple[Exchange, list[tuple[Command, int]]]:
    """Apply the setup, then each operation at increasing times through `step`; returns the exchange
    and the concrete command log."""
    ex = Exchange()
    log: list[tuple[Command, int]] = []
    for cmd in setup_commands(h.setup):
        result = ex.apply(cmd, T0)[0]
        assert isinstance(result, AdminResult) and result.ok, (cmd, result)
        log.append((cmd, T0))
    sent = Sent()
    ts = T0
    for op in h.ops:
        ts += op[1]
        cmd = fixed_odds_command(ex, h, sent, op) if op[0] in FO_KINDS else to_command(ex, h.setup, op)
        step(ex, cmd, ts)
        log.append((cmd, ts))
    return ex, log


# --- the checks ----------------------------------------------------------------------------------------


def _money(ex: Exchange) -> tuple[dict[str, int], dict[str, int], int]:
    return ({a: x.balance_minor for a, x in ex.accounts.items()}, {a: x.available_minor for a, x in ex.accounts.items()},
            ex.fixed_odds.book_minor)


def _check_fixed_odds(ex: Exchange, cmd: Any, result: FixedOddsResult, before: tuple[Any, ...], quiet: bool) -> None:
    """The money a fixed-odds call moved; `quiet`: no delayed exchange placement ran before it."""
    balances0, available0, book0 = before
    balances, available, book = _money(ex)
    moved = {a: balances[a] - balances0.get(a, 0) for a in balances}
    if not result.ok or result.replayed:
        assert not any(moved.values()) and book == book0, (cmd, result)
        return
    assert sum(moved.values()) == book0 - book, "what the accounts got, the book paid"
    if isinstance(cmd, PlaceBetslip):
        total = sum(b.stake_minor for b in cmd.bets)
        assert total > 0 and moved == {a: -total if a == cmd.account_id else 0 for a in moved}
        assert [o.amount_minor for o in result.bets] == [-b.stake_minor for b in cmd.bets]
        # 002:L9: the stakes fit in what the user could bet, so it is never negative after
        assert available[cmd.account_id] >= 0, (cmd, result)
        assert not quiet or available[cmd.account_id] == available0[cmd.account_id] - total
        for o, b in zip(result.bets, cmd.bets, strict=True):
            assert o.potential_payout_minor == b.stake_minor * b.price_units // 10**b.price_scale
    else:
        assert sum(o.amount_minor for o in result.bets) == sum(moved.values())
    for o in result.bets:
        record = ex.fixed_odds.bets.get((cmd.provider_id, o.bet_id))
        if record is None:  # a second rollback of a bet closed long ago: pruned by this very call
            assert isinstance(cmd, RollbackBets) and o.status == "ROLLED_BACK" and o.amount_minor == 0
            continue
        assert record.status == o.status
        if record.status == "WON":
            assert 0 <= record.paid_minor <= record.potential_payout_minor


def checked_step(ex: Exchange, cmd: Command, ts: int) -> Any:
    """The command, then every invariant; a refused or replayed fixed-odds call (or a refused limit or
    status change) must leave the state as it was."""
    now = max(ts, ex.now_ms)
    due = ex.next_due_ms()
    quiet = due is None or due > now  # else a delayed exchange placement runs first
    before_state = state_key(ex, now) if quiet else None
    before_money = _money(ex)
    pnl = market_pnl(ex, cmd.market_id) if isinstance(cmd, UnsettleMarket) else None
    result, _ = ex.apply(cmd, ts)
    check_settlement_money(ex, cmd, isinstance(result, AdminResult) and result.ok, before_money[0], pnl)
    ex.check_invariants()
    check_books(ex)
    check_house(ex)
    check_pending(ex)
    check_matches(ex)
    unchanged = (isinstance(result, FixedOddsResult) and (not result.ok or result.replayed)) or \
        (isinstance(cmd, SetBettingLimits | SetAccountStatus) and is_rejection(result))
    if isinstance(result, FixedOddsResult):
        _check_fixed_odds(ex, cmd, result, before_money, quiet)
        assert not result.ok or result.error is None
        assert not result.failed_bets or result.error == "INVALID_STAKE"
    if unchanged and before_state is not None:
        assert state_key(ex, ex.now_ms) == before_state, (cmd, result)
    return result


# A history that exercises each path once: a slip, its replay and a reused key, a result, a resettle,
# an unsettle, a rollback (and one of an unknown id), then 91 days later a slip that prunes it all.
WALKTHROUGH = History(
    Scenario(funds=(100_000, 10_000), second_market=False, bsp=False, passive=False, ops=()),
    (
        ("fo_slip", 0, 0, 0, [("new", 0, 0, 1_000, "2.37"), ("new", 0, 1, 500, "3.333")], ("new", 0)),
        ("fo_slip", 1, 0, 0, [("new", 0, 0, 1_000, "2.37")], ("replay", 0)),
        ("fo_slip", 1, 1, 0, [("new", 0, 0, 100, "2")], ("reuse", 0)),
        ("fo_result", 5, 0, [(("any", 0), "WON", "0.5")], False, ("new", 0)),
        ("fo_result", 5, 0, [(("any", 0), "LOST", None)], True, ("new", 0)),
        ("fo_unsettle", 5, 0, [("any", 0)], ("new", 0)),
        ("fo_rollback", 5, 0, [("any", 0), ("any", -1)], ("new", 0)),
        ("fo_limits", 0, 1, 100, 2_000, [(0, None, None, 1_000)], (5_000, "COOL_DOWN")),
        ("fo_slip", 1, 1, 0, [("new", 0, 0, 1_000, "2.37")], ("new", 0)),
        ("place", 0, 0, 0, [(0, 0, 0, 500, "plain")], None, None),
        ("advance", 91 * DAY_MS),
        ("fo_slip", 1, 1, 0, [("new", 0, 0, 700, "2.37"), ("old", 0, 0, 100, "2")], ("new", 0)),
        ("fo_slip", 1, 1, 0, [("new", 0, 0, 700, "2.37")], ("new", 0)),
    ),
)


@settings(max_examples=150, **COMMON)
@given(histories())
@example(WALKTHROUGH)
def test_invariants_hold_with_fixed_odds_bets(h: History) -> None:
    """002:L9 (the stakes within the balance), 002:L13 (stakes held by the book until resulted), 002:L19
    (a refused slip stores nothing), 002:L27 (a replayed call is the first answer and changes nothing):
    after every command money is conserved with the book's takings and the exchange's invariants hold;
    a placement never takes available-to-bet below zero; refused and replayed calls change nothing."""
    ex, _ = run_history(h, checked_step)
    ex.check_invariants()


@settings(max_examples=100, **COMMON)
@given(histories(max_ops=30))
@example(WALKTHROUGH)
def test_fixed_odds_replay_is_deterministic(h: History) -> None:
    """002:L13 (the bets stored), exchange.py (the core is pure; journal replay): the same commands at the
    same times give the same results and fingerprint on a fresh Exchange, also after a journal
    encode/decode round trip of each command, and across a pickled snapshot midway."""
    outputs: list[Any] = []

    def recording(ex: Exchange, cmd: Command, ts: int) -> Any:
        result, events = ex.apply(cmd, ts)
        outputs.append((result, events))
        return result

    ex, log = run_history(h, recording)
    fp = ex.fingerprint()

    fresh = Exchange()
    again = [fresh.apply(cmd, ts) for cmd, ts in log]
    assert fresh.fingerprint() == fp
    assert again[len(log) - len(outputs):] == outputs

    journaled = Exchange()
    for cmd, ts in log:
        decoded, data = canonical(cmd)
        assert decoded == cmd and decode_command(data) == cmd
        journaled.apply(decoded, ts)
    assert journaled.fingerprint() == fp

    mid = len(log) - len(outputs) + len(h.ops) // 2
    first = Exchange()
    for cmd, ts in log[:mid]:
        first.apply(cmd, ts)
    restored = pickle.loads(pickle.dumps(first))
    assert restored.fingerprint() == first.fingerprint()
    for cmd, ts in log[mid:]:
        restored.apply(cmd, ts)
    assert restored.fingerprint() == fp
    restored.check_invariants()


def test_the_walkthrough_reaches_every_path() -> None:
    """The explicit example above does what it says: every kind of call succeeded once at least, a replay
    and a reused key were answered as such, and the 91-day jump pruned the closed bets."""
    seen: list[tuple[str, FixedOddsResult]] = []

    def step(ex: Exchange, cmd: Command, ts: int) -> Any:
        result = checked_step(ex, cmd, ts)
        if isinstance(result, FixedOddsResult):
            seen.append((type(cmd).__name__ + ("/resettle" if getattr(cmd, "resettle", False) else ""), result))
        return result

    ex, _ = run_history(WALKTHROUGH, step)
    ok = {name for name, r in seen if r.ok and not r.replayed}
    assert ok == {"PlaceBetslip", "ResultBets", "ResultBets/resettle", "UnsettleBets", "RollbackBets"}
    assert any(r.replayed for _, r in seen)
    assert [r.error for _, r in seen if not r.ok] == ["IDEMPOTENCY_KEY_REUSED", "USER_BLOCKED", "INVALID_BET_DETAILS"]
    assert ("prov-a", "bet-1") not in ex.fixed_odds.bets  # rolled back 91 days before: pruned
    assert ex.fixed_odds.bets[("prov-a", "bet-2")].status == "PENDING"  # never resulted: kept
