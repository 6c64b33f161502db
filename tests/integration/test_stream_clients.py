"""Unmodified betfairlightweight stream listeners against the real server (003:L5963-6894): after random
activity the stream caches equal what listMarketBook and listCurrentOrders return; reconnecting with the
clocks (also across a restart) ends with the same caches. Only the streams' host and port attributes
are pointed at the server."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import betfairlightweight
import pytest
from betfairlightweight import filters
from live_server import LiveServer
from stream_support import Stream, client_for, eventually, new_market

from backlay.core.commands import (
    CloseMarket,
    RemoveRunner,
    RunnerResult,
    SetMarketStatus,
    SettleMarket,
    TurnInPlay,
)

ALL_FIELDS = ["EX_ALL_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF"]
BEST_FIELDS = ["EX_BEST_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF"]
PRICES = [1.9, 2.0, 2.02, 2.04, 2.06, 2.1, 2.2, 2.5, 3.0, 3.5]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clients(live: LiveServer) -> dict[str, betfairlightweight.APIClient]:
    return {name: client_for(live, name) for name in ("alice", "bob", "carol")}


def market_stream(client: betfairlightweight.APIClient, live: LiveServer, market_ids: list[str],
                  fields: list[str] = ALL_FIELDS, levels: int | None = None, **kw: Any) -> Stream:
    s = Stream(client, live)
    s.stream.subscribe_to_markets(
        market_filter=filters.streaming_market_filter(market_ids=market_ids),
        market_data_filter=filters.streaming_market_data_filter(fields=fields, ladder_levels=levels), **kw)
    return s.start()


def order_stream(client: betfairlightweight.APIClient, live: LiveServer, **order_filter: Any) -> Stream:
    s = Stream(client, live)
    s.stream.subscribe_to_orders(order_filter=filters.streaming_order_filter(**order_filter))
    return s.start()


# --- the two views, normalised -------------------------------------------------------------------


def _ps(items: list[Any]) -> list[tuple[float, float]]:
    return [(p.price, p.size) for p in items]


def book_view(mb: Any, closed_ok: bool = False) -> dict[str, Any]:
    """What a MarketBook (from listMarketBook or from a stream cache) says, in comparable form."""
    return {
        "status": mb.status, "inplay": mb.inplay, "version": mb.version, "bet_delay": mb.bet_delay,
        "total_matched": mb.total_matched, "complete": mb.complete, "cross_matching": mb.cross_matching,
        "number_of_winners": mb.number_of_winners,
        "runners": {r.selection_id: {
            "status": r.status, "adjustment_factor": r.adjustment_factor,
            "removal_date": r.removal_date, "ltp": r.last_price_traded, "total_matched": r.total_matched,
            "back": _ps(r.ex.available_to_back), "lay": _ps(r.ex.available_to_lay),
            "traded": _ps(r.ex.traded_volume),
        } for r in mb.runners},
    }


def rest_book(client: betfairlightweight.APIClient, market_id: str, best: bool = False) -> dict[str, Any]:
    price_data = ["EX_BEST_OFFERS", "EX_TRADED"] if best else ["EX_ALL_OFFERS", "EX_TRADED"]
    books = client.betting.list_market_book([market_id], price_projection=filters.price_projection(
        price_data=price_data))
    assert len(books) == 1
    return book_view(books[0])


def assert_market_cache(stream: Stream, client: betfairlightweight.APIClient, market_id: str,
                        best: bool = False) -> None:
    snaps = stream.snap([market_id])
    assert snaps, f"{market_id} not in the stream cache"
    assert book_view(snaps[0]) == rest_book(client, market_id, best)


def order_view(o: Any) -> dict[str, Any]:
    placed = o.placed_date.replace(microsecond=0)  # listCurrentOrders: to the second (003:L11846)
    return {
        "status": o.status, "side": o.side, "price": o.price_size.price, "size": o.price_size.size,
        "persistence": o.persistence_type, "order_type": o.order_type, "placed": placed,
        "matched": o.size_matched, "remaining": o.size_remaining, "cancelled": o.size_cancelled,
        "lapsed": o.size_lapsed, "voided": o.size_voided, "avg": round(o.average_price_matched or 0.0, 6),
        "order_ref": o.customer_order_ref or None, "strategy_ref": o.customer_strategy_ref or None,
    }


def stream_orders(stream: Stream, market_ids: set[str]) -> dict[str, dict[str, Any]]:
    return {o.bet_id: order_view(o) for co in stream.snap() for o in co.orders if o.market_id in market_ids}


def rest_orders(client: betfairlightweight.APIClient, market_ids: set[str]) -> dict[str, dict[str, Any]]:
    report = client.betting.list_current_orders(market_ids=sorted(market_ids))
    return {o.bet_id: order_view(o) for o in report.orders}


# --- tests ---------------------------------------------------------------------------------------


def place(client: betfairlightweight.APIClient, market_id: str, selection: int, side: str, price: float,
          size: float, persistence: str = "LAPSE", strategy: str | None = None, ref: str | None = None) -> Any:
    return client.betting.place_orders(market_id, [filters.place_instruction(
        "LIMIT", selection, side, limit_order=filters.limit_order(size=size, price=price, persistence_type=persistence),
        customer_order_ref=ref)], customer_strategy_ref=strategy)


def test_image_then_deltas_match_list_market_book(live: LiveServer, clients: dict[str, Any]) -> None:
    """SUB_IMAGE (003:L6166-6168), deltas of only what changed (003:L6370), full marketDefinition on any
    change (003:L6366); the cache equals listMarketBook (EX_ALL_OFFERS full depth, EX_BEST_OFFERS 3 levels,
    003:L6317-6339)."""
    alice, bob = clients["alice"], clients["bob"]
    mid, sels = new_market(live)
    place(alice, mid, sels[0], "BACK", 2.5, 10)
    full = market_stream(alice, live, [mid])
    best = market_stream(bob, live, [mid], fields=BEST_FIELDS, levels=3)
    try:
        eventually(lambda: assert_market_cache(full, alice, mid))
        eventually(lambda: assert_market_cache(best, bob, mid, best=True))
        for i, price in enumerate([2.0, 2.02, 2.04, 2.06, 2.1]):
            place(alice, mid, sels[1], "LAY", price, 5 + i)
        place(bob, mid, sels[0], "LAY", 2.6, 4)  # matches alice's back at 2.5 (price improvement)
        eventually(lambda: assert_market_cache(full, alice, mid))
        eventually(lambda: assert_market_cache(best, bob, mid, best=True))
        snap = full.snap([mid])[0]
        assert snap.runners[0].ex.traded_volume[0].price == 2.5 and snap.total_matched == 4.0
    finally:
        full.stop()
        best.stop()
    assert full.error is None and best.error is None


def test_random_activity_caches_equal_rest(live: LiveServer, clients: dict[str, Any]) -> None:
    """After random place / cancel / replace / match / suspend / turn in-play / remove runner / settle, the
    market caches equal listMarketBook and each account's order cache equals its listCurrentOrders
    (orders in full on every change, EC sent once, 003:L6597-6607; positions mb/ml 003:L6591-6595)."""
    rng = random.Random(20261201)
    mid, sels = new_market(live, runners=4)
    names = ["alice", "bob", "carol"]
    full = market_stream(clients["alice"], live, [mid])
    best = market_stream(clients["bob"], live, [mid], fields=BEST_FIELDS, levels=3)
    orders = {n: order_stream(clients[n], live) for n in names}
    active = list(sels)
    try:
        def check_all() -> None:
            eventually(lambda: assert_market_cache(full, clients["alice"], mid))
            eventually(lambda: assert_market_cache(best, clients["bob"], mid, best=True))
            for n in names:
                eventually(lambda n=n: _assert_orders(orders[n], clients[n], {mid}))

        turned = removed = False
        for step in range(60):
            n = rng.choice(names)
            c = clients[n]
            roll = rng.random()
            if roll < 0.55:
                place(c, mid, rng.choice(active), rng.choice(["BACK", "LAY"]), rng.choice(PRICES),
                      rng.choice([2, 3.5, 5, 10]), persistence=rng.choice(["LAPSE", "PERSIST"]),
                      strategy=rng.choice([None, "s1", "s2"]), ref=f"r{step}")
            elif roll < 0.75:
                mine = [o for o in c.betting.list_current_orders(market_ids=[mid]).orders if o.status == "EXECUTABLE"]
                if mine:
                    o = rng.choice(mine)
                    reduction = rng.choice([None, 1.0])
                    c.betting.cancel_orders(mid, [filters.cancel_instruction(o.bet_id, size_reduction=reduction)])
            elif roll < 0.85:
                mine = [o for o in c.betting.list_current_orders(market_ids=[mid]).orders if o.status == "EXECUTABLE"]
                if mine:
                    o = rng.choice(mine)
                    c.betting.replace_orders(mid, [filters.replace_instruction(o.bet_id, rng.choice(PRICES))])
            elif roll < 0.9:
                live.submit(SetMarketStatus(market_id=mid, status="SUSPENDED"))
                check_all()
                live.submit(SetMarketStatus(market_id=mid, status="OPEN"))
            elif roll < 0.95 and not turned and step > 20:
                live.submit(TurnInPlay(market_id=mid, bet_delay_s=0))
                turned = True
            elif not removed and step > 30:
                live.submit(RemoveRunner(market_id=mid, selection_id=active[-1], adjustment_factor_bp=2000))
                active.pop()
                removed = True
            if step % 10 == 9:
                check_all()
        check_all()
        live.submit(CloseMarket(market_id=mid))
        live.submit(SettleMarket(market_id=mid, results=[RunnerResult(selection_id=active[0])]))

        def settled() -> None:
            snap = full.snap([mid])[0]
            assert snap.status == "CLOSED"
            assert {r.selection_id: r.status for r in snap.runners}[active[0]] == "WINNER"
            for n in names:
                assert orders[n].caches[mid].closed is True  # 003:L6548

        eventually(settled)
        assert mid not in live.call(lambda: live.server.hub.market_subs if live.server else {})  # dropped
    finally:
        for s in (full, best, *orders.values()):
            s.stop()
    assert all(s.error is None for s in (full, best, *orders.values()))


def _assert_orders(stream: Stream, client: betfairlightweight.APIClient, market_ids: set[str],
                   since_image: bool = False) -> None:
    """The order cache equals listCurrentOrders. `since_image`: the subscription started after some orders
    had completed, which an image leaves out (003:L6558-6559): then every order in the cache is as
    listCurrentOrders says, and every executable one is in the cache."""
    cached, rest = stream_orders(stream, market_ids), rest_orders(client, market_ids)
    if since_image:
        rest = {b: o for b, o in rest.items() if b in cached or o["status"] == "EXECUTABLE"}
    assert cached == rest


def test_order_stream_image_positions_and_filters(live: LiveServer, clients: dict[str, Any]) -> None:
    """The image holds executable orders and matched positions only (003:L6558-6559, L6675-6709);
    includeOverallPosition=false drops mb/ml, customerStrategyRefs filters orders (not the position),
    partitionMatchedByStrategyRef adds smc (003:L6529-6538)."""
    alice, bob = clients["alice"], clients["bob"]
    mid, sels = new_market(live)
    place(alice, mid, sels[0], "BACK", 3.0, 10, strategy="s1")
    place(alice, mid, sels[0], "BACK", 3.5, 4, strategy="s2")
    place(bob, mid, sels[0], "LAY", 3.0, 10)  # alice's first back is now fully matched (EC)
    s_all = order_stream(alice, live)
    s_pos = order_stream(alice, live, include_overall_position=False)
    s_ref = order_stream(alice, live, customer_strategy_refs=["s2"], partition_matched_by_strategy_ref=True)
    try:
        def image() -> None:
            assert s_ref.error is None, repr(s_ref.error)
            cache = s_all.caches[mid]
            runner = cache.runners[(sels[0], 0)]
            assert [o.status for o in runner.unmatched_orders.values()] == ["E"]  # the EC one is not in the image
            assert runner.matched_backs.serialised == [{"price": 3.0, "size": 10.0}]
            assert s_pos.caches[mid].runners[(sels[0], 0)].matched_backs.serialised == []
            ref_runner = s_ref.caches[mid].runners[(sels[0], 0)]
            assert [o.reference_strategy for o in ref_runner.unmatched_orders.values()] == ["s2"]
            assert ref_runner.matched_backs.serialised == [{"price": 3.0, "size": 10.0}]  # not filtered

        eventually(image)
        place(bob, mid, sels[0], "LAY", 3.5, 4)  # alice's s2 back matches

        def matched() -> None:
            runner = s_ref.caches[mid].runners[(sels[0], 0)]
            assert runner.matched_backs.serialised == [{"price": 3.0, "size": 10.0}, {"price": 3.5, "size": 4.0}]
            # betfairlightweight keeps smc only as sent: the last update carries the s2 position
            (change,) = [c for c in s_ref.caches[mid].streaming_update["orc"] if c["id"] == sels[0]]
            assert change["smc"] == {"s2": {"mb": [[3.5, 4.0]]}}  # restricted to the filter's refs
            assert [o.status for o in runner.unmatched_orders.values()] == ["EC"]  # the transient EC, once

        eventually(matched)
        eventually(lambda: _assert_orders(s_all, alice, {mid}, since_image=True))
    finally:
        for s in (s_all, s_pos, s_ref):
            s.stop()


def test_rule4_reduction_moves_matched_price(live: LiveServer, clients: dict[str, Any]) -> None:
    """A runner removal reduces the other runners' matched prices: the order is resent with the new avp
    and mb gains the reduced price while the old one goes to 0 (003:L6729-6757)."""
    alice, bob = clients["alice"], clients["bob"]
    mid, sels = new_market(live, event_type_id="7", market_type="WIN")
    place(alice, mid, sels[0], "BACK", 12.0, 2)
    place(bob, mid, sels[0], "LAY", 12.0, 2)
    s = order_stream(alice, live)
    try:
        def matched() -> None:
            assert s.caches[mid].runners[(sels[0], 0)].matched_backs.serialised == [{"price": 12.0, "size": 2.0}]

        eventually(matched)
        live.submit(RemoveRunner(market_id=mid, selection_id=sels[1], adjustment_factor_bp=2500))

        def reduced() -> None:
            runner = s.caches[mid].runners[(sels[0], 0)]
            assert runner.matched_backs.serialised == [{"price": 9.25, "size": 2.0}]
            (order,) = runner.unmatched_orders.values()
            assert order.average_price_matched == 9.25

        eventually(reduced)
        eventually(lambda: _assert_orders(s, alice, {mid}))
    finally:
        s.stop()


def test_new_market_appears_and_closed_market_is_dropped(live: LiveServer, clients: dict[str, Any]) -> None:
    """A filter without marketIds takes markets as they start to match (003:L6222-6224); a closed and
    settled market is sent with its final definition and then dropped."""
    alice = clients["alice"]
    s = Stream(alice, live)
    s.stream.subscribe_to_markets(market_filter=filters.streaming_market_filter(event_type_ids=["4339"]),
                                  market_data_filter=filters.streaming_market_data_filter(fields=ALL_FIELDS))
    s.start()
    try:
        mid, sels = new_market(live, event_type_id="4339", event_type_name="Greyhound Racing", market_type="WIN",
                               event_id="91000001")
        eventually(lambda: assert_market_cache(s, alice, mid))
        place(alice, mid, sels[0], "BACK", 4.0, 3)
        eventually(lambda: assert_market_cache(s, alice, mid))
        live.submit(CloseMarket(market_id=mid))
        live.submit(SettleMarket(market_id=mid, results=[RunnerResult(selection_id=sels[0])]))
        def closed() -> None:
            assert s.snap([mid])[0].status == "CLOSED"

        eventually(closed)
    finally:
        s.stop()


def test_resubscribe_with_clocks_patches_the_cache(live: LiveServer, clients: dict[str, Any]) -> None:
    """A client that drops and resubscribes with its initialClk and clk gets a RESUB_DELTA and ends with
    the same caches as one that never dropped (003:L6712-6722)."""
    alice, bob = clients["alice"], clients["bob"]
    mid, sels = new_market(live)
    other, _ = new_market(live)
    steady = market_stream(alice, live, [mid, other])
    flaky = market_stream(bob, live, [mid, other])
    steady_orders, flaky_orders = order_stream(alice, live), order_stream(alice, live)
    try:
        place(alice, mid, sels[0], "BACK", 2.5, 10)
        eventually(lambda: assert_market_cache(flaky, bob, mid))
        eventually(lambda: _assert_orders(flaky_orders, alice, {mid}))
        flaky.stop()
        flaky_orders.stop()
        place(bob, mid, sels[0], "LAY", 2.5, 4)
        place(alice, mid, sels[1], "LAY", 3.0, 7)
        flaky = _resubscribe_markets(flaky, bob, live, [mid, other])
        flaky_orders = _resubscribe_orders(flaky_orders, alice, live)
        eventually(lambda: assert_market_cache(flaky, bob, mid))
        eventually(lambda: _assert_orders(flaky_orders, alice, {mid}))
        for m in (mid, other):
            eventually(lambda m=m: _same(book_view(flaky.snap([m])[0]), book_view(steady.snap([m])[0])))
        eventually(lambda: _same(stream_orders(flaky_orders, {mid}), stream_orders(steady_orders, {mid})))
    finally:
        for s in (steady, flaky, steady_orders, flaky_orders):
            s.stop()


def _same(a: Any, b: Any) -> None:
    assert a == b


def _resubscribe_markets(old: Stream, client: Any, live: LiveServer, market_ids: list[str]) -> Stream:
    """What a betfairlightweight user does: a new connection, the same listener, the stored clocks."""
    stream_state = old.listener.stream
    new = Stream(client, live, listener=old.listener)
    new.stream.subscribe_to_markets(
        market_filter=filters.streaming_market_filter(market_ids=market_ids),
        market_data_filter=filters.streaming_market_data_filter(fields=ALL_FIELDS),
        initial_clk=stream_state._initial_clk, clk=stream_state._clk)
    return new.start()


def _resubscribe_orders(old: Stream, client: Any, live: LiveServer) -> Stream:
    stream_state = old.listener.stream
    new = Stream(client, live, listener=old.listener)
    new.stream.subscribe_to_orders(order_filter=filters.streaming_order_filter(),
                                   initial_clk=stream_state._initial_clk, clk=stream_state._clk)
    return new.start()


def test_resubscribe_across_a_restart(tmp_path: Path) -> None:
    """Clocks stay valid across a server restart: the resubscription is answered (no INVALID_CLOCK) and
    the caches end equal to the exchange's state (003:L6712-6722)."""
    live = LiveServer(tmp_path).start()
    alice, bob = client_for(live, "alice"), client_for(live, "bob")
    mid, sels = new_market(live)
    markets, orders = market_stream(bob, live, [mid]), order_stream(alice, live)
    place(alice, mid, sels[0], "BACK", 2.5, 10)
    eventually(lambda: assert_market_cache(markets, bob, mid))
    eventually(lambda: _assert_orders(orders, alice, {mid}))
    live.stop()
    markets.stop()
    orders.stop()
    live = LiveServer(tmp_path).start()  # same data dir: the journal, the sessions
    try:
        for c in (alice, bob):
            c.identity_uri, c.api_uri = f"{live.base}/api/", f"{live.base}/exchange/"
        place(bob, mid, sels[0], "LAY", 2.5, 4)
        markets = _resubscribe_markets(markets, bob, live, [mid])
        orders = _resubscribe_orders(orders, alice, live)
        eventually(lambda: assert_market_cache(markets, bob, mid))
        eventually(lambda: _assert_orders(orders, alice, {mid}))
        place(alice, mid, sels[1], "LAY", 3.0, 2)
        eventually(lambda: assert_market_cache(markets, bob, mid))
        eventually(lambda: _assert_orders(orders, alice, {mid}))
    finally:
        markets.stop()
        orders.stop()
        live.stop()
    assert markets.error is None and orders.error is None


def test_virtual_prices_agree_on_the_stream_and_list_market_book(live: LiveServer, clients: dict[str, Any]) -> None:
    """EX_BEST_OFFERS_DISP (virtual offers included, 003:L6317-6325) equals listMarketBook with
    virtualise=true (003:L12498-12505): 001's first example, £40 @ 6.0 and £50 @ 3.75 on The Draw."""
    alice, bob, carol = clients["alice"], clients["bob"], clients["carol"]
    mid, (newcastle, chelsea, draw) = new_market(live, cross_matching=True)
    place(alice, mid, newcastle, "BACK", 2.0, 120)
    place(alice, mid, newcastle, "BACK", 2.5, 75)
    place(bob, mid, chelsea, "BACK", 3.0, 150)
    place(carol, mid, draw, "LAY", 5.0, 150)
    s = market_stream(alice, live, [mid], fields=["EX_BEST_OFFERS_DISP", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP",
                                                  "EX_MARKET_DEF"], levels=3)
    try:
        def agree() -> None:
            books = alice.betting.list_market_book([mid], price_projection=filters.price_projection(
                price_data=["EX_BEST_OFFERS", "EX_TRADED"], virtualise=True))
            assert book_view(s.snap([mid])[0]) == book_view(books[0])
            runner = {r.selection_id: r for r in books[0].runners}[draw]
            assert _ps(runner.ex.available_to_back) == [(6.0, 40.0), (5.0, 150.0), (3.75, 50.0)]

        eventually(agree)
        # bob's back takes the virtual £40 @ 6.0, then £60 of carol's £150 @ 5.0
        report = place(bob, mid, draw, "BACK", 3.75, 100)
        assert report.place_instruction_reports[0].size_matched == 100.0
        assert report.place_instruction_reports[0].average_price_matched == pytest.approx((40 * 6 + 60 * 5) / 100)

        def after() -> None:
            books = alice.betting.list_market_book([mid], price_projection=filters.price_projection(
                price_data=["EX_BEST_OFFERS", "EX_TRADED"], virtualise=True))
            assert book_view(s.snap([mid])[0]) == book_view(books[0])
            runner = {r.selection_id: r for r in books[0].runners}[draw]
            assert _ps(runner.ex.available_to_back)[:2] == [(5.0, 90.0), (3.75, 50.0)]

        eventually(after)
    finally:
        s.stop()


def test_starting_prices_agree_on_the_stream_and_list_market_book(live: LiveServer, clients: dict[str, Any]) -> None:
    """BSP through betfairlightweight: near and far prices and the auction's money before reconciliation,
    the actual SP and what matched at it after (StartingPrices, 003:L11695-11736); the stream's spn/spf/
    spb/spl and marketDefinition bsp give the same cache (003:L6345-6350)."""
    alice, bob = clients["alice"], clients["bob"]
    mid, sels = new_market(live, bsp_market=True, event_type_id="7", market_type="WIN", event_id="91000002")
    sp_fields = [*ALL_FIELDS, "SP_PROJECTED", "SP_TRADED"]
    s = market_stream(alice, live, [mid], fields=sp_fields)

    def moc(client: Any, side: str, liability: float) -> None:
        report = client.betting.place_orders(mid, [filters.place_instruction(
            "MARKET_ON_CLOSE", sels[0], side, market_on_close_order=filters.market_on_close_order(liability=liability))])
        assert report.status == "SUCCESS", report

    def sp_of(mb: Any) -> Any:
        r = {r.selection_id: r for r in mb.runners}[sels[0]]
        return (r.sp.near_price, r.sp.far_price, r.sp.actual_sp, _ps(r.sp.back_stake_taken),
                _ps(r.sp.lay_liability_taken))

    def rest() -> Any:
        (mb,) = alice.betting.list_market_book([mid], price_projection=filters.price_projection(
            price_data=["EX_ALL_OFFERS", "EX_TRADED", "SP_AVAILABLE", "SP_TRADED"]))
        return mb

    try:
        moc(alice, "BACK", 10)
        moc(bob, "LAY", 60)
        assert sp_of(rest()) == (7.0, 7.0, None, [(1.01, 10.0)], [(1000.0, 60.0)])  # 003:L11132-11136
        eventually(lambda: _same(sp_of(s.snap([mid])[0]), sp_of(rest())))
        live.submit(TurnInPlay(market_id=mid))
        assert sp_of(rest()) == (7.0, 7.0, 7.0, [(7.0, 10.0)], [(7.0, 60.0)])
        eventually(lambda: _same(sp_of(s.snap([mid])[0]), sp_of(rest())))
        eventually(lambda: _same(book_view(s.snap([mid])[0]), book_view(rest())))
    finally:
        s.stop()
