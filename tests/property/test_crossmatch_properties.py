"""Cross-matching under random trading (001:L998-1050): a market whose runners' prices make a book near
100% (so virtual offers are common), random backs, lays, cancels and FILL_OR_KILLs from funded
accounts. After every command: money is conserved (the house is an account), no book is crossed, every
match pairs a BACK and a LAY of one size and price, the house's book is balanced, and no placement
leaves a virtual offer it could take within its limit. Replay is deterministic."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlay.core import codes
from backlay.core.codes import BACK, LAY
from backlay.core.commands import (
    AdvanceTime,
    CancelOrders,
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
)
from backlay.core.crossmatch import crossing, leg_sizes, real_heads, virtual_offer, within
from backlay.core.exchange import Exchange
from backlay.core.ladder import CLASSIC_LADDER
from backlay.core.reports import PlaceExecutionReport

from .strategies import check_books, check_house, check_matches

COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
T0 = 1_700_000_000_000
ACCOUNTS = ("a", "b", "c", "d")
# a fair book: 1/2 + 1/4 + 1/5 + 1/20 = 1
MIDS_H = (200, 400, 500, 2_000)


def setup(n_runners: int) -> tuple[Exchange, list[tuple[Command, int]]]:
    ex = Exchange()
    log: list[tuple[Command, int]] = []
    cmds: list[Command] = [AdvanceTime()]
    for a in ACCOUNTS:
        cmds += [CreateAccount(account_id=a), Deposit(account_id=a, amount_minor=5_000_000)]
    cmds += [CreateMarket(market_id="1.1", definition=MarketDefinition(name="Win", cross_matching=True),
                          runners=[RunnerDefinition(selection_id=i + 1, name=str(i)) for i in range(n_runners)]),
             SetMarketStatus(market_id="1.1", status=codes.OPEN)]
    for cmd in cmds:
        ex.apply(cmd, T0)
        log.append((cmd, T0))
    return ex, log


op = st.tuples(
    st.sampled_from(["place"] * 6 + ["fok", "cancel"]),
    st.integers(0, 3),  # account
    st.integers(0, 3),  # runner
    st.sampled_from([BACK, LAY]),
    st.integers(-12, 12),  # ticks from the runner's fair price
    st.sampled_from([100, 250, 1_000, 2_500, 10_000]),
)


def to_command(n_runners: int, o: tuple[Any, ...]) -> Command:
    kind, a, r, side, offset, size = o
    account = ACCOUNTS[a]
    if kind == "cancel":
        return CancelOrders(account_id=account, market_id="1.1")
    runner = r % n_runners
    tick = CLASSIC_LADDER.tick(MIDS_H[runner])
    assert tick is not None
    price = CLASSIC_LADDER.price_h(max(0, min(CLASSIC_LADDER.n_ticks - 1, tick + offset)))
    limit = LimitOrder(price_h=price, size_minor=size, time_in_force=codes.FILL_OR_KILL if kind == "fok" else None)
    return PlaceOrders(account_id=account, market_id="1.1", instructions=[PlaceInstruction(
        order_type=codes.LIMIT, selection_id=runner + 1, side=side, limit=limit)])


def check_no_better_offer_left(ex: Exchange, result: Any) -> None:
    """A bet that rests after its placement has no virtual offer within its limit that it could take:
    the best price always wins, and matching stops only at the limit or when the bet is matched (an
    offer too small to split into legs of a minor unit each is no offer). Direct offers are covered by
    check_books. (Another runner's resting bet can find itself facing a crumb of a virtual offer that
    the placement, at its own price, could not take: stakes are whole minor units.)"""
    if not isinstance(result, PlaceExecutionReport):
        return
    market = ex.markets["1.1"]
    for report in result.instruction_reports:
        o = market.orders.get(report.bet_id) if report.bet_id is not None else None
        if o is None or o.status != codes.EXECUTABLE:
            continue
        heads = real_heads(market, o.runner_index, o.side)
        offer = virtual_offer(market, o.side, heads) if heads is not None else None
        if offer is not None and within(o.side, offer.tick, o.tick):
            legs = leg_sizes(offer, o.side, min(o.remaining_minor, offer.max_minor))
            assert min(legs) <= 0, (o.bet_id, o.side, o.price_h, offer.price_h, offer.max_minor)


@settings(max_examples=300, **COMMON)
@given(st.integers(3, 4), st.lists(op, min_size=5, max_size=60))
def test_cross_matching_invariants(n_runners: int, ops: list[tuple[Any, ...]]) -> None:
    ex, log = setup(n_runners)
    assert crossing(ex.markets["1.1"])
    ts = T0
    for o in ops:
        ts += 10
        cmd = to_command(n_runners, o)
        result, _events = ex.apply(cmd, ts)
        log.append((cmd, ts))
        ex.check_invariants()
        check_books(ex)
        check_matches(ex)
        check_house(ex)
        check_no_better_offer_left(ex, result)
    again = Exchange()
    for cmd, t in log:
        again.apply(cmd, t)
    assert again.fingerprint() == ex.fingerprint()
