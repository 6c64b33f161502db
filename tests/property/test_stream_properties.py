"""The stream hub over random command sequences, read by betfairlightweight's own stream caches.

After every command of a random scenario (tests/property/strategies.py: placements of every kind,
cancels, replaces, suspensions, turn in-play, runner removals, settlement, voids...), the hub publishes
and each message goes through `StreamListener.on_data`, the path real clients use. Then:

- every market a subscription holds equals what listMarketBook returns for it (the same read function
  the HTTP API serves), in full depth, at 3 levels, and at 3 levels with virtual offers
  (EX_BEST_OFFERS_DISP against virtualise=true, 003:L6317-6325; 003:L6390-6400: the client's merge rules);
- every account's order cache equals its listCurrentOrders (orders in full on change, 003:L6597-6607);
- a subscription whose connection was held back (buffer full) catches up to the same state with one
  merged message per market (003:L6819-6829);
- the incremental snapshots the hub keeps equal a snapshot taken from scratch: the core's events name
  every change.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from betfairlightweight import resources
from betfairlightweight.streaming import StreamListener
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlay.betfair.http import reads
from backlay.betfair.stream import market_view as mv
from backlay.betfair.stream.hub import Hub
from backlay.betfair.wire import betting as w
from backlay.betfair.wire import stream as ws
from backlay.betfair.wire.common import encode
from backlay.core import codes
from backlay.core.commands import Command
from backlay.core.exchange import Exchange

from .strategies import Scenario, run_scenario, scenarios

COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
FULL = ["EX_ALL_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF", "SP_PROJECTED", "SP_TRADED"]
BEST = ["EX_BEST_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF"]
DISP = ["EX_BEST_OFFERS_DISP", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF"]


class Conn:
    """A connection that hands every line to a betfairlightweight listener."""

    def __init__(self, listener: StreamListener) -> None:
        self.listener = listener
        self.paused = False

    def write(self, data: bytes) -> None:
        for line in data.split(b"\r\n"):
            if line:
                assert self.listener.on_data(line.decode()) is not False, line


def _listener(op: str, req_id: int) -> StreamListener:
    listener = StreamListener(max_latency=None)
    listener.register_stream(req_id, op)
    return listener


def _view(mb: Any, sp: bool = False) -> dict[str, Any]:
    def ps(items: list[Any]) -> list[tuple[float, float]]:
        return [(p.price, p.size) for p in items]

    def sp_view(r: Any) -> Any:
        if not sp or r.sp is None:
            return None
        view = (r.sp.near_price, r.sp.far_price, r.sp.actual_sp, ps(r.sp.back_stake_taken),
                ps(r.sp.lay_liability_taken))
        return None if view == (None, None, None, [], []) else view

    return {
        "status": mb.status, "inplay": mb.inplay, "version": mb.version, "bet_delay": mb.bet_delay,
        "total_matched": mb.total_matched,
        "runners": {(r.selection_id, r.handicap): (r.status, r.adjustment_factor, r.last_price_traded,
                                                   r.total_matched, ps(r.ex.available_to_back),
                                                   ps(r.ex.available_to_lay), ps(r.ex.traded_volume), sp_view(r))
                    for r in mb.runners},
    }


def _rest_book(ex: Exchange, market_id: str, best: bool, virtualise: bool = False) -> dict[str, Any]:
    price_data: list[Any] = ["EX_BEST_OFFERS" if best else "EX_ALL_OFFERS", "EX_TRADED"] + ([] if best else ["SP_AVAILABLE"])
    params = w.ListMarketBookParams(market_ids=[market_id], price_projection=w.PriceProjection(
        price_data=price_data, virtualise=virtualise))
    (book,) = reads.list_market_book(ex, params, None)
    return _view(resources.MarketBook(**json.loads(encode(book))), sp=not best)


def _order(o: Any) -> tuple[Any, ...]:
    # the stream knows E and EC only (003:L6565-6566): an order waiting for its bet delay is executable
    # there, an EXPIRED one complete
    status = {"EXPIRED": "EXECUTION_COMPLETE", "PENDING": "EXECUTABLE"}.get(o.status, o.status)
    return (o.bet_id, status, o.side, o.price_size.price, o.price_size.size, o.persistence_type, o.order_type,
            o.size_matched, o.size_remaining, o.size_cancelled, o.size_lapsed, o.size_voided,
            round(o.average_price_matched or 0.0, 9), o.customer_order_ref or None, o.customer_strategy_ref or None,
            o.bsp_liability or 0.0)


def _rest_orders(ex: Exchange, account: str) -> set[tuple[Any, ...]]:
    report = reads.list_current_orders(ex, w.ListCurrentOrdersParams(), account)
    data = json.loads(encode(report))
    return {_order(o) for o in resources.CurrentOrders(**data).orders}


def _cached_orders(listener: StreamListener, ex: Exchange) -> set[tuple[Any, ...]]:
    out = set()
    for co in listener.snap():
        for o in co.orders:
            market = ex.markets.get(o.market_id)
            if market is not None and not market.settled:
                out.add(_order(o))
    return out


class Harness:
    """A hub on an Exchange, with market subscriptions (full depth, 3 levels, and a held-back one)
    and one order subscription per account, all subscribed before the first command (the market ones
    later, with `markets=False` and then `subscribe_markets`)."""

    def __init__(self, ex: Exchange, accounts: tuple[str, ...], markets: bool = True) -> None:
        self.ex = ex
        self.seq = 0
        self.hub = Hub(lambda: ex, lambda: self.seq, lambda: 0, schedule=lambda fn: None)
        self.markets: dict[str, tuple[Conn, bool]] = {}
        if markets:
            self.subscribe_markets()
        self.orders: dict[str, Conn] = {}
        for account in accounts:
            conn = Conn(_listener("orderSubscription", 1))
            sub = self.hub.order_subscription(conn, ws.OrderSubscriptionMessage(id=1), account, delayed=False)
            self.hub.start_orders(sub, None)
            self.orders[account] = conn

    def subscribe_markets(self) -> None:
        for name, fields, best in (("full", FULL, False), ("best", BEST, True), ("disp", DISP, True),
                                   ("held", FULL, False)):
            conn = Conn(_listener("marketSubscription", 1))
            sub = self.hub.market_subscription(conn, ws.MarketSubscriptionMessage(
                id=1, marketFilter=ws.MarketFilter(), marketDataFilter=ws.MarketDataFilter(
                    fields=fields, ladderLevels=3)), delayed=False)  # type: ignore[arg-type]
            self.hub.start_markets(sub, None)
            self.markets[name] = (conn, best)
        self.held = self.markets["held"][0]

    def step(self, ex: Exchange, cmd: Command, ts: int) -> Any:
        result, events = ex.apply(cmd, ts)
        self.seq += 1
        self.hub.on_events(events)
        self.hub.publish()
        return result

    def check(self, with_held: bool) -> None:
        for name, (conn, best) in self.markets.items():
            if name == "held" and not with_held:
                continue
            for mb in conn.listener.snap():
                market = self.ex.markets[mb.market_id]
                if market.status == codes.CLOSED:
                    continue  # listMarketBook empties a closed market; the stream sends it once, then drops it
                expected = _rest_book(self.ex, mb.market_id, best, virtualise=name == "disp")
                assert _view(mb, sp=not best) == expected, (name, mb.market_id)
        for account, conn in self.orders.items():
            assert _cached_orders(conn.listener, self.ex) == _rest_orders(self.ex, account), account
        for mid, snap in self.hub.snaps.items():
            market = self.ex.markets[mid]
            fresh = mv.snapshot(market)
            assert msgspec.json.decode(snap.definition) == msgspec.json.decode(fresh.definition)
            assert [(r.back, r.lay, r.vback, r.vlay, r.traded, r.ltp_h, r.tv_minor, r.sp) for r in snap.runners] == [
                (r.back, r.lay, r.vback, r.vlay, r.traded, r.ltp_h, r.tv_minor, r.sp) for r in fresh.runners]


@settings(max_examples=300, **COMMON)
@given(scenarios(min_ops=5, max_ops=50))
def test_stream_caches_equal_the_rest_reads(scn: Scenario) -> None:
    h: Harness | None = None

    def step(ex: Exchange, cmd: Command, ts: int) -> Any:
        nonlocal h
        if h is None:  # the setup is done: subscribe everything now
            h = Harness(ex, scn.accounts)
            h.held.paused = True
        result = h.step(ex, cmd, ts)
        h.check(with_held=False)
        return result

    run_scenario(scn, step)
    if h is None:
        return
    h.held.paused = False
    h.hub.resume(h.held)
    h.check(with_held=True)


@settings(max_examples=150, **COMMON)
@given(scenarios(min_ops=5, max_ops=40), st.integers(min_value=0, max_value=40))
def test_a_late_market_subscription_equals_the_rest_reads(scn: Scenario, late_at: int) -> None:
    """The markets subscribed part-way, after changes no market subscription took (the hub keeps no
    snapshot of a market nobody takes): the image, then every delta, still equal listMarketBook."""
    h: Harness | None = None
    steps = 0

    def step(ex: Exchange, cmd: Command, ts: int) -> Any:
        nonlocal h, steps
        if h is None:
            h = Harness(ex, scn.accounts, markets=False)
        if steps == late_at:
            h.subscribe_markets()
        steps += 1
        result = h.step(ex, cmd, ts)
        h.check(with_held=True)
        return result

    run_scenario(scn, step)


def test_runner_removal_voids_and_reduces_on_both_streams() -> None:
    """A non-runner: its matched bets void (sv) and its unmatched ones lapse, the other runners' matched
    prices are reduced (003:L6729-6757); both caches still equal the REST reads, the held-back one too."""
    from backlay.core.commands import (
        CreateAccount,
        CreateMarket,
        Deposit,
        LimitOrder,
        MarketDefinition,
        PlaceInstruction,
        PlaceOrders,
        RemoveRunner,
        RunnerDefinition,
        SetMarketStatus,
    )

    ex = Exchange()
    t = 1_700_000_000_000
    for a in ("a0", "a1"):
        ex.apply(CreateAccount(account_id=a), t)
        ex.apply(Deposit(account_id=a, amount_minor=100_000), t)
    ex.apply(CreateMarket(market_id="1.1", definition=MarketDefinition(name="Win", market_type="WIN"),
                          runners=[RunnerDefinition(selection_id=s, name=str(s)) for s in (101, 102, 103)]), t)
    ex.apply(SetMarketStatus(market_id="1.1", status="OPEN"), t)
    h = Harness(ex, ("a0", "a1"))
    h.held.paused = True

    def bet(account: str, selection: int, side: int, price_h: int, size_minor: int) -> PlaceOrders:
        return PlaceOrders(account_id=account, market_id="1.1", instructions=[PlaceInstruction(
            order_type="LIMIT", selection_id=selection, side=side,
            limit=LimitOrder(price_h=price_h, size_minor=size_minor, persistence="PERSIST"))])

    for cmd in (bet("a0", 101, codes.BACK, 400, 1_000), bet("a1", 101, codes.LAY, 400, 600),
                bet("a0", 102, codes.BACK, 1_200, 500), bet("a1", 102, codes.LAY, 1_200, 500),
                bet("a1", 103, codes.LAY, 300, 700),
                RemoveRunner(market_id="1.1", selection_id=101, adjustment_factor_bp=3_000)):
        h.step(ex, cmd, t)
        h.check(with_held=False)
    assert any(o.voided_minor for o in ex.orders.values())
    h.held.paused = False
    h.hub.resume(h.held)
    h.check(with_held=True)


def test_bsp_auction_on_both_streams() -> None:
    """A BSP market through its auction: spn/spf follow the near and far prices, spl/spb the money by
    price (requested, then matched at the SP, the old prices sent at 0), marketDefinition carries
    bspReconciled and each runner's bsp; the caches equal listMarketBook's StartingPrices
    (SP_AVAILABLE, 003:L11695-11736) before and after (003:L6345-6350, L6387-6388)."""
    from backlay.core.commands import (
        CreateAccount,
        CreateMarket,
        Deposit,
        LimitOnCloseOrder,
        LimitOrder,
        MarketDefinition,
        MarketOnCloseOrder,
        PlaceInstruction,
        PlaceOrders,
        RunnerDefinition,
        SetMarketStatus,
        TurnInPlay,
    )

    ex = Exchange()
    t = 1_700_000_000_000
    for a in ("a0", "a1"):
        ex.apply(CreateAccount(account_id=a), t)
        ex.apply(Deposit(account_id=a, amount_minor=10_000_000), t)
    ex.apply(CreateMarket(market_id="1.1", definition=MarketDefinition(name="Win", market_type="WIN", bsp_market=True),
                          runners=[RunnerDefinition(selection_id=s, name=str(s)) for s in (101, 102, 103)]), t)
    ex.apply(SetMarketStatus(market_id="1.1", status="OPEN"), t)
    h = Harness(ex, ("a0", "a1"))
    h.held.paused = True

    def sp(account: str, selection: int, side: int, liability: int, limit_h: int | None = None) -> PlaceOrders:
        ins = PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=selection, side=side,
                               market_on_close=MarketOnCloseOrder(liability_minor=liability)) if limit_h is None else \
            PlaceInstruction(order_type=codes.LIMIT_ON_CLOSE, selection_id=selection, side=side,
                             limit_on_close=LimitOnCloseOrder(liability_minor=liability, price_h=limit_h))
        return PlaceOrders(account_id=account, market_id="1.1", instructions=[ins])

    exchange_lay = PlaceOrders(account_id="a1", market_id="1.1", instructions=[PlaceInstruction(
        order_type=codes.LIMIT, selection_id=101, side=codes.LAY,
        limit=LimitOrder(price_h=400, size_minor=20_000, persistence=codes.PERSIST))])
    for cmd in (sp("a0", 101, codes.BACK, 100_000), sp("a1", 101, codes.LAY, 100_000), exchange_lay,
                sp("a0", 101, codes.BACK, 50_000, 500), sp("a1", 102, codes.LAY, 5_000, 300),
                TurnInPlay(market_id="1.1")):
        h.step(ex, cmd, t)
        h.check(with_held=False)
    assert ex.markets["1.1"].bsp_reconciled and ex.markets["1.1"].runners[(101, 0)].bsp_h is not None
    h.held.paused = False
    h.hub.resume(h.held)
    h.check(with_held=True)
