"""Random command sequences for the exchange core, and the checks the property tests share.

A scenario is drawn as abstract operations (which account, which market, which of its bets, a price
offset...). `run_scenario` turns each operation into a concrete command against the exchange state at
that moment (e.g. "cancel the 2nd open bet of account a1") and applies it, so the concrete
`(command, ts)` log it returns can be replayed on a fresh Exchange. Hypothesis shrinks the abstract
operations.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from backlay.core import codes
from backlay.core.codes import BACK, LAY
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
    ReplaceInstruction,
    ReplaceOrders,
    RunnerDefinition,
    RunnerResult,
    SetMarketStatus,
    SettleMarket,
    TurnInPlay,
    UnsettleMarket,
    UpdateInstruction,
    UpdateOrders,
    VoidMarket,
    Withdraw,
)
from backlay.core.crossmatch import HOUSE
from backlay.core.exchange import Exchange
from backlay.core.ladder import CLASSIC_LADDER
from backlay.core.money import div_round_half_away, win_minor
from backlay.core.reports import (
    AdminResult,
    CancelExecutionReport,
    PlaceExecutionReport,
    ReplaceExecutionReport,
    UpdateExecutionReport,
)

T0 = 1_700_000_000_000
ACCOUNTS = ("a0", "a1", "a2", "a3")
M1, M2 = "1.1", "1.2"  # 3-runner single winner; 4-runner, 2 winners
RUNNERS = {M1: (101, 102, 103), M2: (201, 202, 203, 204)}
MID_TICK = CLASSIC_LADDER.tick(300)
CUSTOMER_REF_WINDOW_MS = 60_000  # 003:L10611-10618
assert MID_TICK is not None


@dataclass(frozen=True)
class Scenario:
    funds: tuple[int, ...]  # one initial deposit per account (0: none)
    second_market: bool
    bsp: bool  # market 1 is a BSP market (MARKET_ON_CLOSE persistence and orders allowed)
    passive: bool  # market 1 uses the PASSIVE bet delay model
    ops: tuple[tuple[Any, ...], ...]
    crossing: bool = False  # market 1 cross-matches (virtual bets, 001:L998-1050)

    @property
    def accounts(self) -> tuple[str, ...]:
        return ACCOUNTS[: len(self.funds)]

    @property
    def markets(self) -> tuple[str, ...]:
        return (M1, M2) if self.second_market else (M1,)


# --- abstract operations ---------------------------------------------------------------------------

dts = st.one_of(st.just(0), st.integers(1, 2_000), st.integers(4_000, 8_000))
acct_idx = st.integers(0, 3)
mkt_idx = st.integers(0, 1)
pick = st.tuples(st.sampled_from(["open", "mine", "any"]), st.integers(0, 30))
sizes = st.one_of(st.sampled_from([100, 200, 500, 1_000, 2_000]), st.integers(1, 6_000))
VARIANTS = ["plain"] * 10 + ["persist"] * 3 + ["profit", "payout", "moc", "bsp", "bad_price"]
FOK_VARIANTS = ["fok", "fok_min"]
TARGET_VARIANTS = ("profit", "payout")

cancel_op = st.tuples(st.just("cancel"), dts, acct_idx, mkt_idx,
                      st.lists(st.tuples(pick, st.one_of(st.none(), st.integers(-1, 800))), min_size=0, max_size=3),
                      st.sampled_from(["market", "market", "market", "account"]))
replace_op = st.tuples(st.just("replace"), dts, acct_idx, mkt_idx, st.lists(st.tuples(pick, st.integers(-5, 5)),
                                                                             min_size=1, max_size=3))
update_op = st.tuples(st.just("update"), dts, acct_idx, mkt_idx, pick,
                      st.sampled_from([codes.LAPSE, codes.PERSIST, codes.MARKET_ON_CLOSE]))
funds_op = st.tuples(st.sampled_from(["deposit", "withdraw"]), dts, acct_idx,
                     st.one_of(st.just(0), st.integers(1, 5_000), st.integers(5_000, 200_000)))
status_op = st.tuples(st.sampled_from(["suspend", "suspend", "open", "open", "open"]), dts, mkt_idx, st.booleans())
inplay_op = st.tuples(st.just("inplay"), dts, mkt_idx, st.sampled_from([0, 0, 1, 5]))
remove_op = st.tuples(st.just("remove"), dts, mkt_idx, st.integers(0, 3),
                      st.sampled_from([None, 0, 1_000, 2_300]), st.sampled_from([None, 200, 2_300]))
settle_op = st.tuples(st.just("settle"), dts, mkt_idx, st.lists(st.integers(0, 3), min_size=0, max_size=2),
                      st.booleans())
market_op = st.tuples(st.sampled_from(["void", "unsettle", "unsettle", "unsettle", "close"]), dts, mkt_idx)
advance_op = st.tuples(st.just("advance"), dts)


def operations(fok: bool, targets: bool) -> st.SearchStrategy[tuple[Any, ...]]:
    """One abstract operation; `fok` adds FILL_OR_KILL placements (with and without minFillSize),
    `targets` bet-target placements (BACKERS_PROFIT / PAYOUT)."""
    variants = [v for v in VARIANTS if targets or v not in TARGET_VARIANTS] + (FOK_VARIANTS if fok else [])
    instruction = st.tuples(
        st.integers(0, 3),  # runner index
        st.sampled_from([BACK, LAY]),
        st.integers(-3, 3),  # ticks from the mid price
        sizes,
        st.sampled_from(variants),
    )
    # batches are atomic: mostly valid instructions in them, so that some succeed
    batch_instruction = st.tuples(
        st.integers(0, 3), st.sampled_from([BACK, LAY]), st.integers(-3, 3),
        st.sampled_from([100, 200, 500, 1_000, 2_000]), st.sampled_from(["plain", "plain", "persist"]),
    )
    place_op = st.tuples(
        st.just("place"), dts, acct_idx, mkt_idx,
        st.one_of(st.lists(instruction, min_size=1, max_size=1),
                  st.lists(batch_instruction, min_size=2, max_size=4),
                  st.lists(instruction, min_size=2, max_size=3)),
        st.sampled_from([None, None, None, "current"]),  # marketVersion
        st.sampled_from([None] * 6 + ["r1", "r2"]),  # customerRef
    )
    weighted = [
        *[place_op] * 16, *[cancel_op] * 3, *[replace_op] * 2, update_op, funds_op, status_op, status_op,
        inplay_op, remove_op, settle_op, market_op, advance_op, advance_op,
    ]
    # one_of would treat the repeated strategies as one: pick a branch by index instead
    return st.sampled_from(range(len(weighted))).flatmap(lambda i: weighted[i])


@st.composite
def scenarios(draw: st.DrawFn, min_ops: int = 10, max_ops: int = 60, fok: bool = True,
              targets: bool = True, crossing: bool | None = None) -> Scenario:
    n = draw(st.integers(2, 4))
    funds = tuple(draw(st.sampled_from([0, 2_000, 10_000, 100_000, 100_000])) for _ in range(n))
    return Scenario(
        funds=funds,
        second_market=draw(st.booleans()),
        bsp=draw(st.booleans()),
        passive=draw(st.booleans()),
        ops=tuple(draw(st.lists(operations(fok, targets), min_size=min_ops, max_size=max_ops))),
        crossing=draw(st.booleans()) if crossing is None else crossing,
    )


# --- turning operations into commands --------------------------------------------------------------


def setup_commands(scn: Scenario) -> list[Command]:
    cmds: list[Command] = [AdvanceTime()]
    for acct, amount in zip(scn.accounts, scn.funds):
        cmds.append(CreateAccount(account_id=acct))
        if amount:
            cmds.append(Deposit(account_id=acct, amount_minor=amount))
    cmds.append(CreateMarket(
        market_id=M1,
        definition=MarketDefinition(name="Win", bsp_market=scn.bsp, cross_matching=scn.crossing,
                                    bet_delay_models=["PASSIVE"] if scn.passive else []),
        runners=[RunnerDefinition(selection_id=s, name=str(s)) for s in RUNNERS[M1]]))
    if scn.second_market:
        cmds.append(CreateMarket(
            market_id=M2, definition=MarketDefinition(name="Place", market_type="PLACE", number_of_winners=2),
            runners=[RunnerDefinition(selection_id=s, name=str(s)) for s in RUNNERS[M2]]))
    for m in scn.markets:
        cmds.append(SetMarketStatus(market_id=m, status=codes.OPEN))
    return cmds


def _price(offset: int) -> int:
    return CLASSIC_LADDER.price_h(MID_TICK + offset)


def _bet_id(ex: Exchange, account: str, market_id: str, how: tuple[str, int]) -> int:
    kind, i = how
    if kind == "open":
        ids = [b for b, o in ex.orders.items() if o.account_id == account and o.market_id == market_id
               and o.status == codes.EXECUTABLE]
    elif kind == "mine":
        ids = [b for b, o in ex.orders.items() if o.account_id == account and o.market_id == market_id]
    else:
        ids = list(ex.orders)
    if not ids:
        return 999  # never a bet id
    return sorted(ids)[i % len(ids)]


def _spread(scn: Scenario, market_id: str) -> int:
    """Ticks per price offset: wider in a cross-matching market, where a virtual price made of two
    runners near 3.0 lies further from 3.0 than the plain offsets reach."""
    return 5 if scn.crossing and market_id == M1 else 1


def _instruction(market_id: str, spec: tuple[Any, ...], spread: int = 1) -> PlaceInstruction:
    r, side, offset, size, variant = spec
    sels = RUNNERS[market_id]
    sel = sels[r % len(sels)]
    price = _price(offset * spread)
    if variant == "bsp":
        return PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=sel, side=side,
                                market_on_close=MarketOnCloseOrder(liability_minor=size))
    kw: dict[str, Any] = {"price_h": price, "size_minor": size}
    if variant == "persist":
        kw["persistence"] = codes.PERSIST
    elif variant == "moc":
        kw["persistence"] = codes.MARKET_ON_CLOSE
    elif variant == "fok":
        kw["time_in_force"] = codes.FILL_OR_KILL
    elif variant == "fok_min":
        kw.update(time_in_force=codes.FILL_OR_KILL, min_fill_minor=max(size // 2, 1))
    elif variant in ("profit", "payout"):
        kw.update(size_minor=None, bet_target_minor=size,
                  bet_target_type=codes.BACKERS_PROFIT if variant == "profit" else codes.PAYOUT)
    elif variant == "bad_price":
        kw["price_h"] = price + 1 if price >= 200 else 100
    return PlaceInstruction(order_type=codes.LIMIT, selection_id=sel, side=side, limit=LimitOrder(**kw))


def to_command(ex: Exchange, scn: Scenario, operation: tuple[Any, ...]) -> Command:
    kind = operation[0]
    accounts, markets = scn.accounts, scn.markets
    if kind == "place":
        _, _, a, m, instrs, version, cref = operation
        account, market_id = accounts[a % len(accounts)], markets[m % len(markets)]
        mv = ex.markets[market_id].version if version == "current" and market_id in ex.markets else None
        return PlaceOrders(account_id=account, market_id=market_id, market_version=mv, customer_ref=cref,
                           instructions=[_instruction(market_id, i, _spread(scn, market_id)) for i in instrs])
    if kind == "cancel":
        _, _, a, m, picks, scope = operation
        account, market_id = accounts[a % len(accounts)], markets[m % len(markets)]
        if not picks:
            return CancelOrders(account_id=account, market_id=None if scope == "account" else market_id)
        seen: dict[int, CancelInstruction] = {}
        for how, reduction in picks:
            bid = _bet_id(ex, account, market_id, how)
            seen.setdefault(bid, CancelInstruction(bet_id=bid, size_reduction_minor=reduction))
        return CancelOrders(account_id=account, market_id=market_id, instructions=list(seen.values()))
    if kind == "replace":
        _, _, a, m, picks = operation
        account, market_id = accounts[a % len(accounts)], markets[m % len(markets)]
        by_bet: dict[int, ReplaceInstruction] = {}
        for how, offset in picks:
            bid = _bet_id(ex, account, market_id, how)
            by_bet.setdefault(bid, ReplaceInstruction(bet_id=bid, new_price_h=_price(offset)))
        return ReplaceOrders(account_id=account, market_id=market_id, instructions=list(by_bet.values()))
    if kind == "update":
        _, _, a, m, how, persistence = operation
        account, market_id = accounts[a % len(accounts)], markets[m % len(markets)]
        return UpdateOrders(account_id=account, market_id=market_id, instructions=[
            UpdateInstruction(bet_id=_bet_id(ex, account, market_id, how), new_persistence=persistence)])
    if kind in ("deposit", "withdraw"):
        _, _, a, amount = operation
        cls = Deposit if kind == "deposit" else Withdraw
        return cls(account_id=accounts[a % len(accounts)], amount_minor=amount)
    if kind in ("suspend", "open"):
        _, _, m, material = operation
        status = codes.SUSPENDED if kind == "suspend" else codes.OPEN
        return SetMarketStatus(market_id=markets[m % len(markets)], status=status,
                               material=material and kind == "suspend")
    if kind == "inplay":
        _, _, m, delay = operation
        return TurnInPlay(market_id=markets[m % len(markets)], bet_delay_s=delay)
    if kind == "remove":
        _, _, m, r, reduction, adjustment = operation
        market_id = markets[m % len(markets)]
        sels = RUNNERS[market_id]
        return RemoveRunner(market_id=market_id, selection_id=sels[r % len(sels)], reduction_factor_bp=reduction,
                            adjustment_factor_bp=adjustment)
    if kind == "settle":
        _, _, m, winners, dead_heat = operation
        market_id = markets[m % len(markets)]
        sels = RUNNERS[market_id]
        chosen = sorted({sels[w % len(sels)] for w in winners})
        if market_id == M1 and not dead_heat:
            chosen = chosen[:1]
        n = len(chosen) if dead_heat and len(chosen) > 1 else 1
        return SettleMarket(market_id=market_id,
                            results=[RunnerResult(selection_id=s, dead_heat_num=n) for s in chosen])
    if kind in ("void", "unsettle", "close"):
        _, _, m = operation
        market_id = markets[m % len(markets)]
        return {"void": VoidMarket, "unsettle": UnsettleMarket, "close": CloseMarket}[kind](market_id=market_id)
    assert kind == "advance"
    return AdvanceTime()


Step = Callable[[Exchange, Command, int], Any]


def default_step(ex: Exchange, cmd: Command, ts: int) -> Any:
    return ex.apply(cmd, ts)[0]


def run_scenario(scn: Scenario, step: Step = default_step) -> tuple[Exchange, list[tuple[Command, int]]]:
    """Apply the scenario (setup, then each operation at increasing times) through `step`; returns the
    exchange and the concrete command log."""
    ex = Exchange()
    log: list[tuple[Command, int]] = []
    for cmd in setup_commands(scn):
        result = ex.apply(cmd, T0)[0]
        assert isinstance(result, AdminResult) and result.ok, (cmd, result)
        log.append((cmd, T0))
    ts = T0
    for operation in scn.ops:
        ts += operation[1]
        cmd = to_command(ex, scn, operation)
        step(ex, cmd, ts)
        log.append((cmd, ts))
    return ex, log


def replay(log: list[tuple[Command, int]], ex: Exchange | None = None) -> Exchange:
    ex = ex if ex is not None else Exchange()
    for cmd, ts in log:
        ex.apply(cmd, ts)
    return ex


# --- checks ----------------------------------------------------------------------------------------


def check_matches(ex: Exchange) -> None:
    """Every match id pairs exactly one BACK fragment with one LAY fragment on the same runner, with the
    same size and price, so the backer's win equals the layer's liability."""
    frags: dict[int, list[tuple[int, str, tuple[int, int], int, int]]] = {}
    for order in ex.orders.values():
        for f in order.fragments:
            frags.setdefault(f.match_id, []).append(
                (order.side, order.market_id, order.key, f.size_minor, f.price_h))
    for match_id, pair in frags.items():
        assert len(pair) == 2, (match_id, pair)
        (s1, m1, k1, size1, p1), (s2, m2, k2, size2, p2) = sorted(pair)
        assert (s1, s2) == (BACK, LAY), (match_id, pair)
        assert (m1, k1) == (m2, k2), (match_id, pair)
        assert size1 == size2 > 0 and p1 == p2 > 100, (match_id, pair)
        assert win_minor(size1, p1) == win_minor(size2, p2)


def check_house(ex: Exchange) -> None:
    """The cross-matching book (crossmatch.py) is balanced: in no outcome does it lose more than one minor
    unit per leg it took, as long as no runner was removed (a removal voids its legs and reduces the
    others, for the house as for everyone)."""
    for market in ex.markets.values():
        pos = market.positions.get(HOUSE)
        if pos is None or market.settled or len(market.active) < len(market.runner_list):
            continue
        legs = sum(len(o.fragments) for o in market.orders.values() if o.account_id == HOUSE)
        assert pos.worst_minor(market.active) >= -legs, (market.market_id, pos.win, pos.lose, legs)


def check_books(ex: Exchange) -> None:
    """A LIMIT order is live in its runner's book iff it is EXECUTABLE iff it has a remaining size
    (003:L9654-9669, inventory 5.17; PENDING ones wait for the bet delay); no placement is overdue."""
    live: set[int] = set()
    for market in ex.markets.values():
        for runner in market.runners.values():
            for side in (runner.book.backs, runner.book.lays):
                for level in side.levels.values():
                    for o in level.live_orders():
                        assert o.bet_id not in live
                        live.add(o.bet_id)
    for order in ex.orders.values():
        in_book = order.order_type == codes.LIMIT and order.status == codes.EXECUTABLE
        assert (order.bet_id in live) == in_book, (order.bet_id, order.status, order.order_type)
        if order.order_type == codes.LIMIT and order.status != codes.PENDING:
            assert (order.status == codes.EXECUTABLE) == (order.remaining_minor > 0), order.bet_id
    for d in ex.delayed:
        assert d.due_ms > ex.now_ms


def market_pnl(ex: Exchange, market_id: str) -> dict[str, tuple[int, int]]:
    """Per account: (sum of the profits of its SETTLED cleared rows in the market, its commission)."""
    out: dict[str, tuple[int, int]] = {}
    for account_id, rows in ex.ledger.cleared.items():
        profit = sum(r.profit_minor for r in rows if r.market_id == market_id and r.bet_status == codes.SETTLED)
        commission = ex.ledger.market_commission.get((account_id, market_id), 0)
        if profit or commission:
            out[account_id] = (profit, commission)
    return out


def check_settlement_money(ex: Exchange, cmd: Command, ok: bool, before_balances: dict[str, int],
                           before_pnl: dict[str, tuple[int, int]] | None) -> None:
    """A settlement moves exactly the settled profits less commission, commission being the market base
    rate on a positive net (001:L1063-1124); an unsettlement moves exactly the reverse."""
    if not ok or not isinstance(cmd, SettleMarket | UnsettleMarket):
        return
    market = ex.markets[cmd.market_id]
    rate = market.definition.market_base_rate_bp
    # An account the command itself made had nothing before it: the house, when a placement released
    # from its bet delay at the command's time cross-matches before the settlement.
    before_balances = {a: before_balances.get(a, 0) for a in ex.accounts}
    if isinstance(cmd, SettleMarket):
        pnl = market_pnl(ex, cmd.market_id)
        for account_id, acct in ex.accounts.items():
            profit, commission = pnl.get(account_id, (0, 0))
            charged = profit > 0 and account_id != HOUSE  # the cross-matching book pays none
            assert commission == (div_round_half_away(profit * rate, 10_000) if charged else 0)
            assert acct.balance_minor - before_balances[account_id] == profit - commission, account_id
    else:
        assert before_pnl is not None
        for account_id, acct in ex.accounts.items():
            profit, commission = before_pnl.get(account_id, (0, 0))
            assert acct.balance_minor - before_balances[account_id] == commission - profit, account_id


def check_pending(ex: Exchange) -> None:
    """Every PENDING order belongs to a placement waiting for its bet delay."""
    waiting = {o.bet_id for d in ex.delayed for o in d.orders}
    for order in ex.orders.values():
        if order.status == codes.PENDING:
            assert order.bet_id in waiting, order.bet_id


def state_key(ex: Exchange, now_ms: int) -> str:
    """The fingerprint as it would read at `now_ms`: the clock set to it and customerRefs older than
    the 60 s window dropped (housekeeping that any later command does)."""
    view = copy.copy(ex)  # shallow: only the attributes replaced below differ
    view.now_ms = now_ms
    view.customer_refs = {k: t for k, t in ex.customer_refs.items() if t > now_ms - CUSTOMER_REF_WINDOW_MS}
    return view.fingerprint()


def is_rejection(result: Any) -> bool:
    """A command that should have changed nothing: an AdminResult ok=False, or an execution report with
    status FAILURE that allocated no bet and (replace) cancelled nothing."""
    if isinstance(result, AdminResult):
        return not result.ok
    if result.status != codes.FAILURE:
        return False
    if isinstance(result, PlaceExecutionReport):
        return all(r.bet_id is None for r in result.instruction_reports)
    if isinstance(result, ReplaceExecutionReport):
        return all(r.cancel_report is None and (r.place_report is None or r.place_report.bet_id is None)
                   for r in result.instruction_reports)
    assert isinstance(result, CancelExecutionReport | UpdateExecutionReport)
    return all(r.status == codes.FAILURE for r in result.instruction_reports)


def succeeded_order_command(cmd: Command, result: Any) -> bool:
    return isinstance(cmd, PlaceOrders | ReplaceOrders) and result.status != codes.FAILURE
