"""The stream hub: turns the sequencer's events into market and order change messages.

The sequencer calls `on_events` once per durable batch, on the event loop. The hub only notes what
changed (markets, runners, orders) and schedules one publish cycle; a cycle that runs after several
batches covers them all. A cycle:

1. takes a new `MarketSnap` of every changed market (reusing the unchanged runners) and recomputes the
   changed runners' positions of every subscribed account;
2. for each subscription that saw a change, renders the change from what that subscription last
   received to now and writes one message. Renders are shared: subscriptions with the same shape that
   received the same snapshot get the same bytes (the common case: one render per market and shape,
   whatever the number of connections).

A subscription remembers, per market (per runner for orders), the snapshot it last received. So a
subscription that is held back (conflateMs, or a connection whose socket buffer is full) simply
receives, when it can be written again, one change from what it has to what is current: deltas are
absolute values, so nothing is lost and nothing is sent twice in a way that matters. Such a message
carries `con: true` when it merges more than one publish cycle (003:L6819-6829).

Clocks (`clk`) carry the seq of the last batch a message reflects (clock.py). The hub records, per
market and per (account, market, runner), the seq of its last change, so a resubscription with a clock
is patched with exactly what changed since (RESUB_DELTA, 003:L6712-6722): images of the markets that
changed (img: true), and each changed runner of the order stream in full. Clocks from before the hub
started (a server restart) cannot be patched from memory: every market then comes as an image, which
the spec allows for markets that "can't be patched" (003:L6722) — never an INVALID_CLOCK loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol, cast

import msgspec

from backlay.betfair.stream import market_view as mv
from backlay.betfair.stream import order_view as ov
from backlay.betfair.stream.clock import Clock, InvalidClock, criteria_hash, decode_clock, encode_clock
from backlay.betfair.stream.subscriptions import MarketCriteria, conflate_ms, heartbeat_ms, shape_of, visible
from backlay.betfair.wire import stream as ws
from backlay.core import codes
from backlay.core.crossmatch import HOUSE
from backlay.core.events import MarketChanged, MarketSettled, OrderChanged, RunnerChanged
from backlay.core.exchange import Exchange
from backlay.core.market import Market
from backlay.core.orders import Order

log = logging.getLogger(__name__)

MAX_SUBSCRIBED_MARKETS: Final = 200  # SUBSCRIPTION_LIMIT_EXCEEDED beyond (003:L6097-6101)
SEGMENT_BYTES: Final = 128 * 1024  # a message larger than this is segmented when the client allows it
LATENCY_503_MS: Final = 1000  # publish latency above which messages carry status 503 (003:L6182-6183)
TICK_S: Final = 0.05  # heartbeats and conflation are checked this often

_MISSING: Final[Any] = object()


def _render(cache: dict[Any, Any], market: Market, old: mv.MarketSnap | None, new: mv.MarketSnap,
            shape: mv.Shape, con: bool) -> bytes | None:
    """`render_change`, once per cycle for each (shape, market, snapshot last sent, con): subscriptions
    in the same state share the bytes."""
    key = (shape, market.market_id, id(old), con)
    data = cache.get(key, _MISSING)
    if data is _MISSING:
        data = cache[key] = mv.render_change(market, old, new, shape, con=con)
    return cast("bytes | None", data)


def _update_tail(clk: bytes, now: int, status: int | None, op: str, items: bytes) -> bytes:
    """An ordinary update's bytes after its id: the same for every subscription of a cycle."""
    status_part = b"" if status is None else b',"status":%d' % status
    return b',"clk":"%s","pt":%d%s,"%s":[%s]}\r\n' % (clk, now, status_part, b"mc" if op == "mcm" else b"oc", items)


class StreamError(Exception):
    """A request refused with a stream error code (003:L6062-6113)."""

    def __init__(self, code: str, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close = close


class Connection(Protocol):
    """What the hub needs of a connection (stream/server.py)."""

    paused: bool  # its socket buffer is above the high-water mark: write nothing more for now

    def write(self, data: bytes) -> None: ...


class _Sub:
    """Common to market and order subscriptions. Slotted: the fan-out touches every one each cycle."""

    __slots__ = (
        "active",
        "clk_seq",
        "clk_ts_ms",
        "conflate_ms",
        "conn",
        "criteria",
        "head",
        "heartbeat_ms",
        "id",
        "last_write_ms",
        "next_flush_ms",
        "resume_point",
        "segmentation",
    )

    def __init__(self, conn: Connection, req_id: int, conflate: int, heartbeat: int, segmentation: bool,
                 criteria: int) -> None:
        self.conn = conn
        self.id = req_id
        self.conflate_ms = conflate
        self.heartbeat_ms = heartbeat
        self.segmentation = segmentation
        self.criteria = criteria
        self.active = False
        self.last_write_ms = 0
        self.next_flush_ms = 0
        self.clk_seq = 0  # seq of the state this subscription's client has
        self.clk_ts_ms = 0
        self.resume_point: Clock | None = None  # a resubscription's clock (set before `start_*`)
        self.head = b'{"op":"%s","id":%d' % (b"mcm" if isinstance(self, MarketSub) else b"ocm", req_id)

    def has_pending(self) -> bool:
        raise NotImplementedError

    def ready(self, now_ms: int) -> bool:
        return self.active and not self.conn.paused and (self.conflate_ms == 0 or now_ms >= self.next_flush_ms)


class MarketSub(_Sub):
    __slots__ = ("dirty", "market_criteria", "markets", "matched", "sent", "shape")

    def __init__(self, conn: Connection, req_id: int, criteria: MarketCriteria, shape: mv.Shape, conflate: int,
                 heartbeat: int, segmentation: bool, criteria_hash: int) -> None:
        super().__init__(conn, req_id, conflate, heartbeat, segmentation, criteria_hash)
        self.market_criteria = criteria
        self.shape = shape
        self.markets: set[str] = set()
        self.sent: dict[str, mv.MarketSnap] = {}
        self.dirty: dict[str, int] = {}  # market id -> publish cycles not yet sent
        self.matched: list[Market] = []  # the markets of its image (set before `start_markets`)

    def has_pending(self) -> bool:
        return bool(self.dirty)


class OrderSub(_Sub):
    __slots__ = ("account_id", "closed_sent", "overall", "pending", "refs", "sent", "strategy")

    def __init__(self, conn: Connection, req_id: int, account_id: str, overall: bool, strategy: bool,
                 refs: frozenset[str] | None, conflate: int, heartbeat: int, segmentation: bool,
                 criteria_hash: int) -> None:
        super().__init__(conn, req_id, conflate, heartbeat, segmentation, criteria_hash)
        self.account_id = account_id
        self.overall = overall
        self.strategy = strategy
        self.refs = refs
        self.sent: dict[tuple[str, int], ov.Position] = {}  # (market, runner index) -> last position sent
        self.pending: dict[str, dict[int, set[int]]] = {}  # market -> runner index -> changed bet ids
        self.closed_sent: set[str] = set()

    def has_pending(self) -> bool:
        return bool(self.pending)

    def wants(self, o: Order) -> bool:
        return self.refs is None or (o.customer_strategy_ref or "") in self.refs


RunnerKey = tuple[str, str, int]  # (account, market, runner index)


class Hub:
    def __init__(self, exchange: Callable[[], Exchange], applied_seq: Callable[[], int],
                 clock_ms: Callable[[], int], max_markets: int = MAX_SUBSCRIBED_MARKETS,
                 schedule: Callable[[Callable[[], None]], object] | None = None) -> None:
        """`schedule(fn)` runs the publish cycle soon (default: the running loop's call_soon; tests pass
        their own and call `publish` themselves)."""
        self._exchange = exchange
        self._schedule = schedule
        self._applied_seq = applied_seq
        self._clock_ms = clock_ms
        self.max_markets = max_markets
        self.base_seq = applied_seq()  # clocks older than this cannot be patched from memory
        self.published_seq = self.base_seq
        self.published_ts_ms = clock_ms()
        # markets
        self.snaps: dict[str, mv.MarketSnap] = {}
        self.market_seq: dict[str, int] = {}
        self.market_subs: dict[str, set[MarketSub]] = {}
        self.open_subs: set[MarketSub] = set()  # subscriptions that take markets as they appear
        # orders: every account's orders on markets not yet settled, by market and runner
        self.order_index: dict[str, dict[str, dict[int, set[int]]]] = {}
        self.market_accounts: dict[str, set[str]] = {}
        self.positions: dict[RunnerKey, ov.Position] = {}
        self.runner_seq: dict[RunnerKey, int] = {}
        self.order_subs: dict[str, set[OrderSub]] = {}
        # noted since the last cycle
        self._dirty_runners: dict[str, set[int]] = {}
        self._dirty_definitions: set[str] = set()
        self._dirty_orders: dict[str, dict[str, dict[int, set[int]]]] = {}
        self._settled: set[str] = set()
        self._dirty_since_ms: int | None = None
        self._scheduled = False
        self._status: int | None = None  # 503 while publishing lags
        self._task: asyncio.Task[None] | None = None
        self._all_subs: set[_Sub] = set()
        self._clk_key: tuple[int, int] = (-1, -1)
        self._clk = ""
        # one object per distinct shape, so that the fan-out tells equal shapes apart by identity
        self._shapes: dict[mv.Shape, mv.Shape] = {}
        self._build_order_index()

    # --- events ------------------------------------------------------------------------------------

    def _build_order_index(self) -> None:
        ex = self._exchange()
        for market in ex.markets.values():
            if market.settled:
                continue
            for order in market.orders.values():
                self._index(market.market_id, order)

    def _index(self, market_id: str, order: Order) -> None:
        if order.account_id == HOUSE:  # the cross-matching book has no login, so no subscriber
            return
        runners = self.order_index.setdefault(order.account_id, {}).setdefault(market_id, {})
        runners.setdefault(order.runner_index, set()).add(order.bet_id)
        self.market_accounts.setdefault(market_id, set()).add(order.account_id)

    def on_events(self, events: list[Any]) -> None:
        """The sequencer's listener: note what changed, publish soon."""
        ex = self._exchange()
        noted = False
        for ev in events:
            cls = type(ev)
            if cls is OrderChanged:
                market = ex.markets.get(ev.market_id)
                order = market.orders.get(ev.bet_id) if market is not None else None
                if order is None or ev.account_id == HOUSE:
                    continue
                self._index(ev.market_id, order)
                (self._dirty_orders.setdefault(ev.account_id, {}).setdefault(ev.market_id, {})
                 .setdefault(order.runner_index, set()).add(ev.bet_id))
            elif cls is RunnerChanged:
                market = ex.markets.get(ev.market_id)
                runner = market.runner(ev.selection_id, ev.handicap_h) if market is not None else None
                if runner is None:
                    continue
                self._dirty_runners.setdefault(ev.market_id, set()).add(runner.index)
            elif cls is MarketChanged:
                self._dirty_runners.setdefault(ev.market_id, set())
                self._dirty_definitions.add(ev.market_id)
            elif cls is MarketSettled:
                self._settled.add(ev.market_id)
            else:
                continue
            noted = True
        if noted:
            if self._dirty_since_ms is None:
                self._dirty_since_ms = self._clock_ms()
            if not self._scheduled:
                self._scheduled = True
                if self._schedule is not None:
                    self._schedule(self.publish)
                else:
                    asyncio.get_running_loop().call_soon(self.publish)

    # --- the publish cycle -------------------------------------------------------------------------

    def publish(self) -> None:
        self._scheduled = False
        ex = self._exchange()
        seq = self._applied_seq()
        now = self._clock_ms()
        if self._dirty_since_ms is not None:
            self._status = 503 if now - self._dirty_since_ms > LATENCY_503_MS else None
            self._dirty_since_ms = None
        dirty_runners, self._dirty_runners = self._dirty_runners, {}
        definitions, self._dirty_definitions = self._dirty_definitions, set()
        dirty_orders, self._dirty_orders = self._dirty_orders, {}
        settled, self._settled = self._settled, set()
        touched: dict[_Sub, None] = {}
        self.published_seq, self.published_ts_ms = seq, now
        cache: dict[Any, Any] = {}
        orders: dict[int, ws.Order] = {}
        status = self._status
        one_market = len(dirty_runners) == 1
        for mid, runners in dirty_runners.items():
            market = ex.markets.get(mid)
            if market is None:
                continue
            self.market_seq[mid] = seq
            if mid not in definitions and not self.market_subs.get(mid):
                # nobody takes this market, so nothing to diff against later: a subscriber that comes
                # gets a fresh snapshot (_snap_now)
                self.snaps.pop(mid, None)
                continue
            new = mv.snapshot(market, self.snaps.get(mid), runners, mid in definitions, ex.params.min_bet_size_minor)
            self.snaps[mid] = new
            if mid in definitions:
                self._offer_market(market, touched)
                if market.status == codes.CLOSED:
                    for acct in self.market_accounts.get(mid, ()):
                        for osub in self.order_subs.get(acct, ()):
                            osub.pending.setdefault(mid, {})
                            touched[osub] = None
            msubs = self.market_subs.get(mid)
            if msubs:
                if status is None and new.status != codes.CLOSED:
                    self._fan_out(market, new, msubs, one_market, touched, cache, now)
                else:
                    for msub in msubs:
                        msub.dirty[mid] = msub.dirty.get(mid, 0) + 1
                        touched[msub] = None
        for acct, markets in dirty_orders.items():
            subs = self.order_subs.get(acct)
            for mid, changed in markets.items():
                for idx in changed:
                    key = (acct, mid, idx)
                    self.runner_seq[key] = seq
                    if subs:
                        self.positions[key] = self._position(key)
                    else:
                        self.positions.pop(key, None)
                for osub in subs or ():
                    pend = osub.pending.setdefault(mid, {})
                    for idx, bets in changed.items():
                        pend.setdefault(idx, set()).update(bets)
                    touched[osub] = None
        for tsub in touched:  # what the fan-out left: conflation, held-back connections, several markets
            if tsub.ready(now):
                self._flush(tsub, now, cache, orders)
        for mid in settled:
            self._drop_settled(mid)

    def _fan_out(self, market: Market, new: mv.MarketSnap, subs: set[MarketSub], one_market: bool,
                 touched: dict[_Sub, None], cache: dict[Any, Any], now: int) -> None:
        """A changed market's update, written at once to every subscription that can take it as it is:
        active, not conflating, its connection not held back, nothing else pending, and no other
        changed market of this cycle it would share a message with. The rest are marked dirty, for
        `_flush`. Kept tight: this loop runs once per subscription per change."""
        mid = market.market_id
        seq = self.published_seq
        clk = self._clock().encode()
        last_shape: mv.Shape | None = None
        last_old: Any = _MISSING
        data: bytes | None = None
        last_data: bytes | None = None
        tail = b""
        for msub in subs:
            if (msub.conflate_ms or msub.dirty or not msub.active or msub.conn.paused
                    or not (one_market or len(msub.markets) == 1)):
                msub.dirty[mid] = msub.dirty.get(mid, 0) + 1
                touched[msub] = None
                continue
            sent = msub.sent
            old = sent.get(mid)
            if old is not last_old or msub.shape is not last_shape:
                last_old, last_shape = old, msub.shape
                data = _render(cache, market, old, new, last_shape, False)
                if data is not None and data is not last_data:
                    last_data, tail = data, _update_tail(clk, now, None, "mcm", data)
            sent[mid] = new
            if data is None:
                continue  # nothing this subscription's fields see
            if msub.segmentation and len(data) > SEGMENT_BYTES:
                self._send(msub, "mcm", [data], now, cache=cache)
                continue
            msub.conn.write(msub.head + tail)
            msub.last_write_ms = now
            msub.clk_seq = seq
            msub.clk_ts_ms = now

    def _offer_market(self, market: Market, touched: dict[_Sub, None]) -> None:
        """A market whose definition changed may now match subscriptions that take new markets."""
        if not visible(market):
            return
        mid = market.market_id
        for sub in self.open_subs:
            if mid not in sub.markets and len(sub.markets) < self.max_markets and sub.market_criteria.matches(market):
                self._attach(sub, mid)
                sub.dirty[mid] = sub.dirty.get(mid, 0) + 1  # no snapshot sent yet: an image
                touched[sub] = None

    def _attach(self, sub: MarketSub, mid: str) -> None:
        sub.markets.add(mid)
        self.market_subs.setdefault(mid, set()).add(sub)

    def _detach(self, sub: MarketSub, mid: str) -> None:
        sub.markets.discard(mid)
        sub.sent.pop(mid, None)
        sub.dirty.pop(mid, None)
        subs = self.market_subs.get(mid)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.market_subs[mid]

    def _drop_settled(self, mid: str) -> None:
        """A settled market leaves the order index; market subscriptions drop it once sent (`_flush`)."""
        for acct in self.market_accounts.pop(mid, ()):
            markets = self.order_index.get(acct)
            runners = markets.pop(mid, None) if markets is not None else None
            for idx in runners or ():
                self.positions.pop((acct, mid, idx), None)
                self.runner_seq.pop((acct, mid, idx), None)
            for osub in self.order_subs.get(acct, ()):
                for key in [k for k in osub.sent if k[0] == mid]:
                    del osub.sent[key]
                osub.closed_sent.discard(mid)

    def _position(self, key: RunnerKey) -> ov.Position:
        acct, mid, idx = key
        market = self._exchange().markets.get(mid)
        bets = self.order_index.get(acct, {}).get(mid, {}).get(idx, ())
        if market is None or not bets:
            return ov.EMPTY_POSITION
        return ov.position(market.orders[b] for b in bets if b in market.orders)

    def _current_position(self, key: RunnerKey) -> ov.Position:
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = self._position(key)
        return pos

    def _flush(self, sub: _Sub, now: int, cache: dict[Any, bytes | None], orders: dict[int, ws.Order]) -> None:
        if isinstance(sub, MarketSub):
            self._flush_markets(sub, now, cache)
        elif isinstance(sub, OrderSub):
            self._flush_orders(sub, now, orders)

    def _flush_markets(self, sub: MarketSub, now: int, cache: dict[Any, bytes | None]) -> None:
        if not sub.dirty:
            return
        ex = self._exchange()
        items: list[bytes] = []
        drop: list[str] = []
        for mid, cycles in sub.dirty.items():
            market = ex.markets.get(mid)
            new = self.snaps.get(mid)
            if market is None or new is None:
                continue
            old = sub.sent.get(mid)
            con = cycles > 1 and old is not None
            data = _render(cache, market, old, new, sub.shape, con)
            if data is not None:
                items.append(data)
            sub.sent[mid] = new
            if market.status == codes.CLOSED and (market.settled or market.voided):
                drop.append(mid)  # "closed markets are sent and dropped"
        sub.dirty.clear()
        for mid in drop:
            self._detach(sub, mid)
        if items:
            self._send(sub, "mcm", items, now, cache=cache)

    def _order_item(self, market: Market, bet_id: int, orders: dict[int, ws.Order]) -> ws.Order | None:
        item = orders.get(bet_id)
        if item is None:
            o = market.orders.get(bet_id)
            if o is None:
                return None
            item = orders[bet_id] = ov.order_to_stream(o, market.definition.regulator)
        return item

    def _flush_orders(self, sub: OrderSub, now: int, orders: dict[int, ws.Order]) -> None:
        if not sub.pending:
            return
        ex = self._exchange()
        oc: list[ws.OrderMarketChange] = []
        for mid, runners in sub.pending.items():
            market = ex.markets.get(mid)
            if market is None:
                continue
            orcs = []
            for idx in sorted(runners):
                runner = market.runner_list[idx]
                key = (sub.account_id, mid, idx)
                new = self._current_position(key)
                uo = []
                for b in sorted(runners[idx]):
                    o = market.orders.get(b)
                    if o is not None and sub.wants(o):
                        item = self._order_item(market, b, orders)
                        if item is not None:
                            uo.append(item)
                orc = ov.runner_change(runner.selection_id, runner.handicap_h, uo, sub.sent.get((mid, idx)), new,
                                       overall=sub.overall, strategy=sub.strategy, refs=sub.refs)
                sub.sent[(mid, idx)] = new
                if orc is not None:
                    orcs.append(orc)
            closed = market.status == codes.CLOSED and mid not in sub.closed_sent
            if closed:
                sub.closed_sent.add(mid)
            if orcs or closed:
                oc.append(ws.OrderMarketChange(id=mid, closed=True if closed else None, orc=orcs or None))
        sub.pending.clear()
        if oc:
            self._send(sub, "ocm", [ws.encode(c) for c in oc], now)

    # --- writing -----------------------------------------------------------------------------------

    def _clock(self) -> str:
        """The clk of everything published so far (encoded once per cycle: every message shares it)."""
        key = (self.published_seq, self.published_ts_ms)
        if self._clk_key != key:
            self._clk_key, self._clk = key, encode_clock(Clock(*key))
        return self._clk

    def _send(self, sub: _Sub, op: str, items: list[bytes], now: int, ct: str | None = None,
              initial_clk: str | None = None, cache: dict[Any, Any] | None = None) -> None:
        """One change message (segmented if it is large and the client allows it). An ordinary update
        differs between subscriptions only by its id: its bytes after the id are built once per cycle
        (`cache`) and equal what encoding the message struct gives (tests/unit/test_stream_hub.py)."""
        clk = self._clock()
        if ct is None and not (sub.segmentation and sum(len(b) for b in items) > SEGMENT_BYTES):
            key = (op, clk, now, self._status, tuple(map(id, items)))
            tail = cache.get(key) if cache is not None else None
            if tail is None:
                tail = _update_tail(clk.encode(), now, self._status, op, b",".join(items))
                if cache is not None:
                    cache[key] = tail
            sub.conn.write(sub.head + tail)
        else:
            self._send_encoded(sub, op, items, now, clk, ct, initial_clk)
        sub.last_write_ms = now
        sub.clk_seq, sub.clk_ts_ms = self.published_seq, self.published_ts_ms
        if sub.conflate_ms:
            sub.next_flush_ms = now + sub.conflate_ms

    def _send_encoded(self, sub: _Sub, op: str, items: list[bytes], now: int, clk: str, ct: str | None,
                      initial_clk: str | None) -> None:
        segments = [items]
        if sub.segmentation and sum(len(b) for b in items) > SEGMENT_BYTES:
            segments, size = [], 0
            part: list[bytes] = []
            for b in items:
                if part and size + len(b) > SEGMENT_BYTES:
                    segments.append(part)
                    part, size = [], 0
                part.append(b)
                size += len(b)
            segments.append(part)
        image = ct is not None
        msg_type = ws.MarketChangeMessage if op == "mcm" else ws.OrderChangeMessage
        out = []
        last = len(segments) - 1
        for i, seg in enumerate(segments):
            seg_type = None if last == 0 else ("SEG_START" if i == 0 else "SEG_END" if i == last else "SEG")
            fields: dict[str, Any] = {
                "id": sub.id, "ct": ct, "segmentType": seg_type,
                "initialClk": initial_clk if i == 0 else None,
                "clk": clk if i == last else None,  # on non-segmented messages and SEG_END (003:L6716-6717)
                "conflateMs": sub.conflate_ms if image else None,
                "heartbeatMs": sub.heartbeat_ms if image else None,
                "pt": now, "status": self._status,
                ("mc" if op == "mcm" else "oc"): [msgspec.Raw(b) for b in seg],
            }
            out.append(ws.encode(msg_type(**fields)) + b"\r\n")
        sub.conn.write(b"".join(out))

    def _heartbeat(self, sub: _Sub, now: int) -> None:
        # the clock may move on only when the client has everything up to it
        seq, ts = (sub.clk_seq, sub.clk_ts_ms) if sub.has_pending() else (self.published_seq, self.published_ts_ms)
        msg_type = ws.MarketChangeMessage if isinstance(sub, MarketSub) else ws.OrderChangeMessage
        sub.conn.write(ws.encode(msg_type(id=sub.id, ct="HEARTBEAT", clk=encode_clock(Clock(seq, ts)), pt=now,
                                          status=self._status)) + b"\r\n")
        sub.last_write_ms = now
        sub.clk_seq, sub.clk_ts_ms = seq, ts

    def tick(self) -> None:
        """Heartbeats (003:L6150-6153) and conflated flushes that are due."""
        now = self._clock_ms()
        cache: dict[Any, bytes | None] = {}
        orders: dict[int, ws.Order] = {}
        for sub in list(self._all_subs):
            if not sub.active or sub.conn.paused:
                continue
            if sub.has_pending() and sub.ready(now):
                self._flush(sub, now, cache, orders)
            if now - sub.last_write_ms >= sub.heartbeat_ms:
                self._heartbeat(sub, now)

    def resume(self, conn: Connection) -> None:
        """The connection's buffer drained: catch its subscriptions up."""
        now = self._clock_ms()
        for sub in [s for s in self._all_subs if s.conn is conn]:
            if sub.ready(now):
                self._flush(sub, now, {}, {})

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self.tick()
            except Exception:
                log.exception("stream hub tick failed")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="backlay-stream-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # --- subscriptions -----------------------------------------------------------------------------

    def _resume_point(self, initial_clk: str | None, clk: str | None, criteria: int) -> Clock | None:
        """The clock to patch from, None for a fresh image. A resubscription is one with both clocks
        (as betfairlightweight decides, stream-identity-accounts.md §6.6)."""
        if not initial_clk or not clk:
            return None
        try:
            initial, current = decode_clock(initial_clk), decode_clock(clk)
        except InvalidClock as exc:
            raise StreamError("INVALID_CLOCK", str(exc)) from None
        if initial.criteria != criteria:
            return Clock(-1, current.ts_ms)  # other criteria: nothing can be patched
        return current

    def _patchable(self, point: Clock) -> bool:
        return self.base_seq <= point.seq <= self.published_seq

    def market_subscription(self, conn: Connection, msg: ws.MarketSubscriptionMessage, delayed: bool) -> MarketSub:
        """Validate a marketSubscription; raises StreamError. `start` sends its image."""
        criteria = MarketCriteria.of(msg.marketFilter)
        shape = shape_of(msg.marketDataFilter)
        if delayed and "SP_PROJECTED" in shape.fields:  # "BSP Far & Near Price Not Available" (003:L4808)
            shape = shape._replace(fields=shape.fields - {"SP_PROJECTED"})
        shape = self._shapes.setdefault(shape, shape)
        canon = ws.encode([msg.marketFilter, sorted(shape.fields), shape.levels])
        crit = criteria_hash(canon)
        sub = MarketSub(conn, msg.id or 0, criteria, shape, conflate_ms(msg.conflateMs, delayed),
                        heartbeat_ms(msg.heartbeatMs), bool(msg.segmentationEnabled), crit)
        sub.resume_point = self._resume_point(msg.initialClk, msg.clk, crit)
        ex = self._exchange()
        if criteria.market_ids is not None:
            candidates: Iterable[Market] = (ex.markets[m] for m in sorted(criteria.market_ids) if m in ex.markets)
        else:
            candidates = ex.markets.values()
        matched = [m for m in candidates if visible(m) and criteria.matches(m)]
        if len(matched) > self.max_markets:
            raise StreamError("SUBSCRIPTION_LIMIT_EXCEEDED",
                              f"the filter matches {len(matched)} markets; at most {self.max_markets} may be subscribed")
        sub.matched = matched
        return sub

    def start_markets(self, sub: MarketSub, previous: MarketSub | None) -> None:
        """Replace `previous` with `sub` and send its image or, for a resubscription, its patch."""
        if previous is not None:
            self.end(previous)
        ex = self._exchange()
        now = self._clock_ms()
        point = sub.resume_point
        markets, sub.matched = sub.matched, []
        send_all = point is None or not self._patchable(point)
        if point is not None:
            # markets closed since the client's clock: their final state, once
            for m in ex.markets.values():
                if m.status == codes.CLOSED and sub.market_criteria.matches(m) and (
                        self.market_seq.get(m.market_id, -1) > point.seq if not send_all
                        else (m.closed_ms or 0) >= point.ts_ms):
                    markets.append(m)
        items = []
        for m in markets:
            mid = m.market_id
            self._attach(sub, mid)
            if send_all or self.market_seq.get(mid, -1) > point.seq:  # type: ignore[union-attr]
                snap = self._snap_now(m)
                data = mv.render_change(m, None, snap, sub.shape)
                if data is not None:
                    items.append(data)
                sub.sent[mid] = snap
            else:
                sub.sent[mid] = self.snaps[mid] if mid in self.snaps else self._snap_now(m)
        self.open_subs.add(sub)  # named markets too may appear later (created or published after this)
        self._activate(sub, "mcm", items, now, "SUB_IMAGE" if point is None else "RESUB_DELTA")
        for m in markets:
            if m.status == codes.CLOSED and (m.settled or m.voided):
                self._detach(sub, m.market_id)

    def _snap_now(self, market: Market) -> mv.MarketSnap:
        mid = market.market_id
        snap = self.snaps.get(mid)
        if snap is not None and mid not in self._dirty_runners:
            return snap
        snap = mv.snapshot(market, rollup_minor=self._exchange().params.min_bet_size_minor)
        if mid not in self._dirty_runners:
            self.snaps[mid] = snap
        return snap

    def _activate(self, sub: _Sub, op: str, items: list[bytes], now: int, ct: str) -> None:
        sub.active = True
        self._all_subs.add(sub)
        initial = encode_clock(Clock(self.published_seq, self.published_ts_ms, sub.criteria))
        self._send(sub, op, items, now, ct=ct, initial_clk=initial)

    def order_subscription(self, conn: Connection, msg: ws.OrderSubscriptionMessage, account_id: str,
                           delayed: bool) -> OrderSub:
        f = msg.orderFilter or ws.OrderFilter()
        if f.accountIds:
            raise StreamError("INVALID_INPUT", "orderFilter.accountIds is for internal use only and must not be set")
        refs = frozenset(f.customerStrategyRefs) if f.customerStrategyRefs else None
        overall = f.includeOverallPosition is not False
        strategy = bool(f.partitionMatchedByStrategyRef)
        crit = criteria_hash(ws.encode([overall, strategy, sorted(refs) if refs else None]))
        sub = OrderSub(conn, msg.id or 0, account_id, overall, strategy, refs, conflate_ms(msg.conflateMs, delayed),
                       heartbeat_ms(msg.heartbeatMs), bool(msg.segmentationEnabled), crit)
        sub.resume_point = self._resume_point(msg.initialClk, msg.clk, crit)
        return sub

    def start_orders(self, sub: OrderSub, previous: OrderSub | None) -> None:
        """Replace `previous` with `sub` and send the account's image (executable orders and positions,
        003:L6612-6709) or, for a resubscription, every runner changed since the client's clock in full."""
        if previous is not None:
            self.end(previous)
        ex = self._exchange()
        now = self._clock_ms()
        point = sub.resume_point
        patch = point is not None and self._patchable(point)
        items: list[bytes] = []
        for mid, runners in sorted(self.order_index.get(sub.account_id, {}).items()):
            market = ex.markets.get(mid)
            if market is None:
                continue
            closed = market.status == codes.CLOSED
            if point is None and closed:
                continue
            orcs = []
            for idx in sorted(runners):
                key = (sub.account_id, mid, idx)
                if patch and self.runner_seq.get(key, -1) <= point.seq:  # type: ignore[union-attr]
                    sub.sent[(mid, idx)] = self._current_position(key)
                    continue
                pos = self._current_position(key)
                orders = [market.orders[b] for b in sorted(runners[idx]) if b in market.orders]
                uo = [ov.order_to_stream(o, market.definition.regulator) for o in orders
                      if sub.wants(o) and (point is not None or ov.is_executable(o))]
                sub.sent[(mid, idx)] = pos
                if not uo and pos.is_empty() and point is None:
                    continue
                runner = market.runner_list[idx]
                orc = ov.runner_change(runner.selection_id, runner.handicap_h, uo, None, pos, overall=sub.overall,
                                       strategy=sub.strategy, refs=sub.refs, full_image=True)
                if orc is not None:
                    orcs.append(orc)
            show_closed = closed and (point is None or not patch or self.market_seq.get(mid, -1) > point.seq)
            if closed:
                sub.closed_sent.add(mid)
            if orcs or show_closed:
                items.append(ws.encode(ws.OrderMarketChange(
                    id=mid, fullImage=True if point is None else None,
                    closed=True if show_closed else None, orc=orcs or None)))
        self.order_subs.setdefault(sub.account_id, set()).add(sub)
        self._activate(sub, "ocm", items, now, "SUB_IMAGE" if point is None else "RESUB_DELTA")

    def end(self, sub: _Sub) -> None:
        """The subscription is replaced or its connection closed."""
        sub.active = False
        self._all_subs.discard(sub)
        if isinstance(sub, MarketSub):
            for mid in list(sub.markets):
                self._detach(sub, mid)
            self.open_subs.discard(sub)
        elif isinstance(sub, OrderSub):
            subs = self.order_subs.get(sub.account_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.order_subs[sub.account_id]

