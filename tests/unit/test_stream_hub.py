"""The stream hub on a core Exchange, with fake connections and a fake clock: shared renders, conflation,
heartbeats and their clocks, status 503, resubscription patches (003:L6128-6197, L6712-6722,
L6792-6829)."""

from __future__ import annotations

import json
from typing import Any

from helpers import BACK, LAY, MARKET, SEL_A, T0, add_market, limit_ins, make_exchange

from backlay.betfair.stream.clock import decode_clock
from backlay.betfair.stream.hub import LATENCY_503_MS, Hub
from backlay.betfair.wire import stream as ws
from backlay.core.commands import PlaceOrders, SetMarketStatus
from backlay.core.exchange import Exchange

FIELDS = ["EX_ALL_OFFERS", "EX_BEST_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF"]


class Conn:
    def __init__(self) -> None:
        self.paused = False
        self.messages: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.messages.extend(json.loads(line) for line in data.split(b"\r\n") if line)

    def take(self) -> list[dict[str, Any]]:
        out, self.messages = self.messages, []
        return out


class World:
    def __init__(self) -> None:
        self.ex: Exchange = make_exchange()
        self.seq = 100
        self.now = T0
        self.hub = Hub(lambda: self.ex, lambda: self.seq, lambda: self.now, schedule=lambda fn: None)

    def run(self, cmd: Any) -> Any:
        result, events = self.ex.apply(cmd, self.now)
        self.seq += 1
        self.hub.on_events(events)
        return result

    def subscribe(self, conn: Conn, req_id: int = 1, markets: tuple[str, ...] = (MARKET,), **extra: Any) -> None:
        msg = ws.MarketSubscriptionMessage(id=req_id, marketFilter=ws.MarketFilter(marketIds=list(markets)),
                                           marketDataFilter=ws.MarketDataFilter(fields=FIELDS), **extra)  # type: ignore[arg-type]
        self.hub.start_markets(self.hub.market_subscription(conn, msg, delayed=False), None)


def bet(account: str, side: int, price_h: int, size_minor: int, market_id: str = MARKET) -> PlaceOrders:
    return PlaceOrders(account_id=account, market_id=market_id,
                       instructions=[limit_ins(SEL_A, side, price_h, size_minor)])


def test_equal_subscriptions_get_the_same_change() -> None:
    """One render per market and shape, whatever the number of connections: the `mc` items are equal."""
    w = World()
    conns = [Conn() for _ in range(3)]
    for i, c in enumerate(conns):
        w.subscribe(c, req_id=i + 1)
        assert c.take()[0]["ct"] == "SUB_IMAGE"
    w.run(bet("alice", BACK, 300, 500))
    w.hub.publish()
    deltas = [c.take() for c in conns]
    assert all(len(d) == 1 for d in deltas)
    assert [d[0]["id"] for d in deltas] == [1, 2, 3]
    assert deltas[0][0]["mc"] == deltas[1][0]["mc"] == deltas[2][0]["mc"]


def test_each_cycle_sends_one_message_per_subscription() -> None:
    """A cycle's changes reach a subscription as one message whichever way it is sent: written at once to
    the subscriptions that can take it (the fan-out), merged when two of a subscription's markets changed
    in the cycle, held for a paused connection and for a conflating subscription (003:L6160-6197)."""
    w = World()
    other = "1.200"
    add_market(w.ex, other)
    one, both, paused, conflating = Conn(), Conn(), Conn(), Conn()
    w.subscribe(one, req_id=1)
    w.subscribe(both, req_id=2, markets=(MARKET, other))
    w.subscribe(paused, req_id=3)
    w.subscribe(conflating, req_id=4, conflateMs=1000)
    for c in (one, both, paused, conflating):
        assert c.take()[0]["ct"] == "SUB_IMAGE"
    paused.paused = True
    w.run(bet("alice", BACK, 300, 500))
    w.hub.publish()
    (m1,) = one.take()
    (m2,) = both.take()
    assert [mc["id"] for mc in m1["mc"]] == [mc["id"] for mc in m2["mc"]] == [MARKET]
    assert m1["mc"] == m2["mc"] and m1["clk"] == m2["clk"]
    assert paused.take() == [] and conflating.take() == []
    w.run(bet("alice", BACK, 310, 500))
    w.run(bet("bob", LAY, 200, 500, market_id=other))
    w.hub.publish()
    (merged,) = both.take()
    assert sorted(mc["id"] for mc in merged["mc"]) == [MARKET, other]
    (single,) = one.take()
    assert [mc["id"] for mc in single["mc"]] == [MARKET]
    paused.paused = False
    w.hub.resume(paused)
    (caught_up,) = paused.take()
    assert caught_up["mc"][0]["con"] is True and caught_up["clk"] == merged["clk"]
    w.now += 1000
    w.hub.tick()
    (flushed,) = conflating.take()
    assert flushed["clk"] == merged["clk"]
    w.run(bet("carol", BACK, 400, 500))  # the caught-up connection is back on the fan-out
    w.hub.publish()
    assert [len(c.take()) for c in (one, both, paused, conflating)] == [1, 1, 1, 0]


def test_held_back_connection_gets_one_merged_change() -> None:
    """A paused connection (its socket buffer is full) gets nothing; when it drains, one message per
    market carries everything, with con=true (003:L6819-6829)."""
    w = World()
    c = Conn()
    w.subscribe(c)
    c.take()
    c.paused = True
    for price in (300, 310, 320):
        w.run(bet("alice", BACK, price, 500))
        w.hub.publish()
    assert c.take() == []
    c.paused = False
    w.hub.resume(c)
    (msg,) = c.take()
    (mc,) = msg["mc"]
    assert mc["con"] is True
    assert sorted(p for p, _s in mc["rc"][0]["atl"]) == [3.0, 3.1, 3.2]


def test_conflated_subscription_flushes_on_the_tick() -> None:
    """conflateMs: changes wait for the window, then arrive merged (003:L6147-6149)."""
    w = World()
    c = Conn()
    w.subscribe(c, conflateMs=500)
    assert c.take()[0]["conflateMs"] == 500
    w.now += 10
    w.run(bet("alice", BACK, 300, 500))
    w.hub.publish()
    w.run(bet("alice", BACK, 310, 500))
    w.hub.publish()
    w.hub.tick()
    assert c.take() == []  # the window opened at the image is still running
    w.now += 500
    w.hub.tick()
    (msg,) = c.take()
    assert msg["mc"][0]["con"] is True and len(msg["mc"][0]["rc"][0]["atl"]) == 2


def test_heartbeat_clock_waits_for_pending_changes() -> None:
    """A heartbeat's clk moves on only when the client has everything up to it: a held-back subscription
    keeps its last clock (003:L6150-6153, L6716-6717)."""
    w = World()
    c = Conn()
    w.subscribe(c, heartbeatMs=500)
    image_clk = decode_clock(c.take()[0]["clk"])
    w.now += 600
    w.hub.tick()
    (hb,) = c.take()
    assert hb["ct"] == "HEARTBEAT" and decode_clock(hb["clk"]).seq == image_clk.seq
    w.run(bet("alice", BACK, 300, 500))
    c.paused = True
    w.hub.publish()
    c.paused = False
    w.now += 600
    w.hub.tick()  # catches up first, then no heartbeat is due
    (delta,) = c.take()
    assert "ct" not in delta and decode_clock(delta["clk"]).seq == w.seq


def test_status_503_while_publishing_lags() -> None:
    """status 503 when the stream is late with the exchange's changes; null (absent) once it is not
    (003:L6182-6183, L6792-6808)."""
    w = World()
    c = Conn()
    w.subscribe(c)
    c.take()
    w.run(bet("alice", BACK, 300, 500))
    w.now += LATENCY_503_MS + 1
    w.hub.publish()
    assert c.take()[0]["status"] == 503
    w.run(bet("alice", BACK, 310, 500))
    w.hub.publish()
    assert "status" not in c.take()[0]


def test_resubscription_patches_only_changed_markets() -> None:
    """RESUB_DELTA with an image of each market changed since the clock, nothing for the others
    (003:L6712-6722)."""
    w = World()
    c = Conn()
    w.subscribe(c)
    image = c.take()[0]
    w.run(SetMarketStatus(market_id=MARKET, status="SUSPENDED"))
    w.hub.publish()
    (delta,) = c.take()
    again = Conn()
    w.subscribe(again, initialClk=image["initialClk"], clk=image["clk"])
    (patch,) = again.take()
    assert patch["ct"] == "RESUB_DELTA" and patch["mc"][0]["img"] is True
    assert patch["mc"][0]["marketDefinition"]["status"] == "SUSPENDED"
    latest = Conn()
    w.subscribe(latest, initialClk=image["initialClk"], clk=delta["clk"])
    assert latest.take()[0]["mc"] == []


def test_order_stream_sends_a_completed_order_once() -> None:
    """The transient EXECUTION_COMPLETE is sent, once; the image holds executable orders only
    (003:L6558-6559)."""
    w = World()
    c = Conn()
    w.hub.start_orders(w.hub.order_subscription(c, ws.OrderSubscriptionMessage(id=7), "alice", delayed=False), None)
    assert c.take()[0]["oc"] == []
    w.run(bet("alice", BACK, 300, 500))
    w.hub.publish()
    (placed,) = c.take()
    (order,) = placed["oc"][0]["orc"][0]["uo"]
    assert order["status"] == "E" and order["rfo"] == "" and order["rfs"] == "" and order["sm"] == 0.0
    w.run(bet("bob", LAY, 300, 500))
    w.hub.publish()
    (matched,) = c.take()
    orc = matched["oc"][0]["orc"][0]
    assert orc["uo"][0]["status"] == "EC" and orc["mb"] == [[3.0, 5.0]]
    w.run(bet("bob", BACK, 500, 100))  # another account's bet: nothing for a1
    w.hub.publish()
    assert c.take() == []
    fresh = Conn()
    w.hub.start_orders(w.hub.order_subscription(fresh, ws.OrderSubscriptionMessage(id=8), "alice", delayed=False), None)
    (image,) = fresh.take()
    assert image["oc"][0]["orc"][0] == {"id": SEL_A, "fullImage": True, "mb": [[3.0, 5.0]]}


def test_update_bytes_equal_the_encoded_message() -> None:
    """The shared bytes of an ordinary update (built once per cycle, only the id differs) are exactly
    what encoding the MarketChangeMessage / OrderChangeMessage struct gives, with and without status 503."""
    import msgspec

    from backlay.betfair.stream.hub import MarketSub, OrderSub
    from backlay.betfair.stream.market_view import Shape
    from backlay.betfair.stream.subscriptions import MarketCriteria

    w = World()

    class Raw:
        paused = False

        def __init__(self) -> None:
            self.data = b""

        def write(self, data: bytes) -> None:
            self.data += data

    items = [b'{"id":"1.1","tv":2.5}', b'{"id":"1.2","rc":[{"id":7,"ltp":3.0}]}']
    for status in (None, 503):
        w.hub._status = status
        for op, msg_type in (("mcm", ws.MarketChangeMessage), ("ocm", ws.OrderChangeMessage)):
            fast, slow = Raw(), Raw()
            sub = MarketSub(fast, 42, MarketCriteria.of(None), Shape(frozenset(), 3), 0, 5000, False, 0) \
                if op == "mcm" else OrderSub(fast, 42, "alice", True, False, None, 0, 5000, False, 0)
            w.hub._send(sub, op, items, 1_700_000_000_123, cache={})
            clk = w.hub._clock()
            fields = {"mc" if op == "mcm" else "oc": [msgspec.Raw(b) for b in items]}
            slow.write(ws.encode(msg_type(id=42, clk=clk, pt=1_700_000_000_123, status=status, **fields)) + b"\r\n")
            assert fast.data == slow.data
