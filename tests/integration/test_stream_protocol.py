"""The Stream API at the protocol level (003:L5963-6894, stream-identity-accounts.md §6): framing, the
handshake and its error codes, status messages, heartbeats, clocks, segmentation, conflation, limits,
timeouts and slow consumers, over real sockets against the real server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer
from stream_support import RawStream, client_for, eventually, login, new_market

from backlay.betfair.stream.server import StreamLimits
from backlay.demo import demo_app_key

FIELDS = ["EX_BEST_OFFERS", "EX_ALL_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP", "EX_MARKET_DEF"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay"))).start()
    yield server
    server.stop()


@pytest.fixture
def raw(live: LiveServer) -> Iterator[RawStream]:
    r = RawStream(live)
    yield r
    r.close()


def subscribe(r: RawStream, market_ids: list[str], **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    req_id = r.request("marketSubscription", marketFilter={"marketIds": market_ids},
                       marketDataFilter={"fields": FIELDS, "ladderLevels": 3}, **extra)
    status = r.recv()
    assert status == {"op": "status", "id": req_id, "statusCode": "SUCCESS", "connectionClosed": False}
    image = r.recv()
    assert image["op"] == "mcm" and image["id"] == req_id
    return status, image


# --- handshake -----------------------------------------------------------------------------------


def test_connection_message_comes_first_without_id(raw: RawStream) -> None:
    """Sent unprompted on connect: op=connection and a connectionId, no id (003:L6114-6117)."""
    msg = raw.recv()
    assert msg["op"] == "connection" and isinstance(msg["connectionId"], str) and "id" not in msg


def test_authentication_success_reports_connections_available(live: LiveServer, raw: RawStream) -> None:
    """003:L6118-6124; connectionsAvailable only in the answer to authentication (003:L6060-6061)."""
    status = raw.authenticate(live, "carol")
    assert status["connectionClosed"] is False and status["connectionsAvailable"] == 9


@pytest.mark.parametrize(("fields", "code"), [
    ({"session": "x"}, "NO_APP_KEY"),
    ({"appKey": "no-such-key", "session": "x"}, "INVALID_APP_KEY"),
    ({"appKey": demo_app_key("alice")}, "NO_SESSION"),
    ({"appKey": demo_app_key("alice"), "session": "not-a-session"}, "INVALID_SESSION_INFORMATION"),
])
def test_authentication_failures_close(raw: RawStream, fields: dict[str, str], code: str) -> None:
    """The authentication error codes (003:L6077-6090), then the connection closes (connectionClosed)."""
    raw.recv()
    req_id = raw.request("authentication", **fields)
    status = raw.recv()
    assert status["id"] == req_id and status["statusCode"] == "FAILURE" and status["errorCode"] == code
    assert status["connectionClosed"] is True
    assert raw.closed()


def test_app_key_of_another_account_is_refused(live: LiveServer, raw: RawStream) -> None:
    raw.recv()
    token, _key = login(live, "alice")
    raw.request("authentication", appKey=demo_app_key("bob"), session=token)
    assert raw.recv()["errorCode"] == "INVALID_APP_KEY"
    assert raw.closed()


def test_request_before_authentication_is_refused(raw: RawStream) -> None:
    """"you must be authenticated before any other request is processed" (003:L6118-6120)."""
    raw.recv()
    req_id = raw.request("marketSubscription", marketFilter={})
    status = raw.recv()
    assert status["id"] == req_id and status["errorCode"] == "NOT_AUTHORIZED" and status["connectionClosed"] is True
    assert raw.closed()


def test_malformed_message_is_invalid_input_without_id(raw: RawStream) -> None:
    """INVALID_INPUT: "could not deserialize the message", not linked to a request (003:L6069-6074)."""
    raw.recv()
    raw.send(b'{"op": "authentication", "id": 1,\r\n')
    status = raw.recv()
    assert status["errorCode"] == "INVALID_INPUT" and "id" not in status and status["connectionClosed"] is True
    assert raw.closed()


def test_heartbeat_with_and_without_id_and_pipelining(live: LiveServer, raw: RawStream) -> None:
    """An explicit heartbeat is answered by a status with its id (003:L6052, L6666-6669); requests may
    be pipelined in one write, and a bare LF ends a message as well as CRLF."""
    raw.recv()
    token, key = login(live, "alice")
    raw.send(json.dumps({"op": "authentication", "id": 1, "appKey": key, "session": token}).encode() + b"\n"
             + b'{"op":"heartbeat","id":2}\r\n{"op":"heartbeat"}\r\n')
    assert [raw.recv()["id"] for _ in range(2)] == [1, 2]
    last = raw.recv()
    assert last["statusCode"] == "SUCCESS" and "id" not in last


def test_unsupported_op_keeps_the_connection(live: LiveServer, raw: RawStream) -> None:
    """raceSubscription (betfairlightweight's sports-data stream) is not served here: a FAILURE status
    that leaves the connection open (stream-identity-accounts.md §6.2)."""
    raw.authenticate(live)
    req_id = raw.request("raceSubscription")
    status = raw.recv()
    assert status["id"] == req_id and status["statusCode"] == "FAILURE" and status["connectionClosed"] is False
    raw.request("heartbeat")
    assert raw.recv()["statusCode"] == "SUCCESS"


def test_bad_subscription_fields_are_invalid_input(live: LiveServer, raw: RawStream) -> None:
    raw.authenticate(live)
    req_id = raw.request("marketSubscription", marketDataFilter={"fields": ["EX_EVERYTHING"]})
    status = raw.recv()
    assert status["id"] == req_id and status["errorCode"] == "INVALID_INPUT" and status["connectionClosed"] is False


def test_connection_limit_per_app_key(live: LiveServer) -> None:
    """MAX_CONNECTION_LIMIT_EXCEEDED beyond the connections allowed per application key (003:L6091-6093);
    connectionsAvailable counts down (003:L6060-6061)."""
    conns = [RawStream(live) for _ in range(10)]
    try:
        available = [c.authenticate(live, "carol")["connectionsAvailable"] for c in conns]
        assert available == list(range(9, -1, -1))
        extra = RawStream(live)
        extra.recv()
        token, key = login(live, "carol")
        extra.request("authentication", appKey=key, session=token)
        status = extra.recv()
        assert status["errorCode"] == "MAX_CONNECTION_LIMIT_EXCEEDED" and status["connectionClosed"] is True
        conns.pop().close()  # a slot frees up when a connection goes

        def reconnect() -> None:
            c = RawStream(live)
            try:
                assert c.authenticate(live, "carol")["connectionsAvailable"] == 0
            finally:
                c.close()

        eventually(reconnect)
    finally:
        for c in conns:
            c.close()


def test_too_many_requests_closes(live: LiveServer, raw: RawStream) -> None:
    """TOO_MANY_REQUESTS: too many requests in a short time (003:L6094-6096)."""
    raw.authenticate(live)
    raw.send(b'{"op":"heartbeat"}\r\n' * 80)
    msg = raw.recv_until(lambda m: m.get("statusCode") == "FAILURE")
    assert msg["errorCode"] == "TOO_MANY_REQUESTS" and msg["connectionClosed"] is True
    assert raw.closed()


# --- market subscriptions ------------------------------------------------------------------------


def test_image_fields_and_bounds(live: LiveServer, raw: RawStream) -> None:
    """SUB_IMAGE with initialClk, clk, conflateMs, heartbeatMs and pt (003:L6618-6627); heartbeatMs
    clamped to 500..5000 and echoed (003:L6150-6153, L6184-6187); img and the full marketDefinition
    with every key betfairlightweight requires (stream-identity-accounts.md §6.11)."""
    mid, sels = new_market(live)
    raw.authenticate(live)
    _status, image = subscribe(raw, [mid], heartbeatMs=100, conflateMs=-5)
    assert image["ct"] == "SUB_IMAGE" and image["heartbeatMs"] == 500 and image["conflateMs"] == 0
    assert image["initialClk"] and image["clk"] and isinstance(image["pt"], int)
    (mc,) = image["mc"]
    assert mc["id"] == mid and mc["img"] is True and mc["tv"] == 0
    md = mc["marketDefinition"]
    for key in ("betDelay", "bettingType", "bspMarket", "bspReconciled", "complete", "crossMatching",
                "discountAllowed", "eventId", "eventTypeId", "inPlay", "marketBaseRate", "marketTime",
                "numberOfActiveRunners", "numberOfWinners", "persistenceEnabled", "regulators", "runnersVoidable",
                "status", "timezone", "turnInPlayEnabled", "version", "runners"):
        assert key in md, key
    assert md["status"] == "OPEN" and md["regulators"] == ["MR_INT"] and md["priceLadderDefinition"] == {
        "type": "CLASSIC"}
    assert [r["id"] for r in md["runners"]] == sels and all(r["status"] == "ACTIVE" for r in md["runners"])


def test_deltas_carry_only_changes_and_heartbeats_fill_gaps(live: LiveServer, raw: RawStream) -> None:
    """An update has no ct and carries id, clk and pt (003:L6173, L6736); only what changed (003:L6370);
    level ladders keyed by level, price ladders by price, size 0 deletes (003:L6395-6400); HEARTBEAT
    after heartbeatMs without a change (003:L6150-6153)."""
    alice = client_for(live, "alice")
    mid, sels = new_market(live)
    raw.authenticate(live)
    subscribe(raw, [mid], heartbeatMs=500)
    from test_stream_clients import place
    place(alice, mid, sels[0], "LAY", 2.0, 5)
    delta = raw.recv()
    assert "ct" not in delta and delta["id"] == 2 and delta["clk"] and delta["pt"]
    (mc,) = delta["mc"]
    assert "img" not in mc and "marketDefinition" not in mc
    (rc,) = mc["rc"]
    assert rc == {"id": sels[0], "batb": [[0, 2.0, 5.0]], "atb": [[2.0, 5.0]]}
    bets = alice.betting.list_current_orders(market_ids=[mid]).orders
    alice.betting.cancel_orders(mid, [{"betId": bets[0].bet_id}])
    (rc,) = raw.recv()["mc"][0]["rc"]
    assert rc == {"id": sels[0], "batb": [[0, 0.0, 0.0]], "atb": [[2.0, 0.0]]}
    hb = raw.recv(timeout_s=2)
    assert hb["ct"] == "HEARTBEAT" and hb["id"] == 2 and hb["clk"] and "mc" not in hb


def test_market_definition_is_resent_in_full_on_change(live: LiveServer, raw: RawStream) -> None:
    """The marketDefinition is sent in full, only when it changed (003:L6366); version increases."""
    from backlay.core.commands import SetMarketStatus
    mid, _sels = new_market(live)
    raw.authenticate(live)
    _s, image = subscribe(raw, [mid])
    version = image["mc"][0]["marketDefinition"]["version"]
    live.submit(SetMarketStatus(market_id=mid, status="SUSPENDED"))
    (mc,) = raw.recv()["mc"]
    assert mc["marketDefinition"]["status"] == "SUSPENDED" and mc["marketDefinition"]["version"] > version
    assert "runners" in mc["marketDefinition"] and "rc" not in mc


def test_subscription_limit(tmp_path: Path) -> None:
    """SUBSCRIPTION_LIMIT_EXCEEDED beyond 200 markets (003:L6097-6101); the connection stays."""
    live = LiveServer(tmp_path).start()
    try:
        for _ in range(199):  # the demo world has 3
            new_market(live, runners=1)
        r = RawStream(live)
        r.authenticate(live)
        req_id = r.request("marketSubscription", marketFilter={}, marketDataFilter={"fields": ["EX_MARKET_DEF"]})
        status = r.recv()
        assert status["id"] == req_id and status["errorCode"] == "SUBSCRIPTION_LIMIT_EXCEEDED"
        assert status["connectionClosed"] is False
        r.close()
    finally:
        live.stop()


def test_large_image_is_segmented(tmp_path: Path) -> None:
    """segmentationEnabled: a large image comes as SEG_START .. SEG_END, each with ct; initialClk on the
    first segment, clk only on SEG_END (003:L6143-6146, L6174-6178, L6716-6717)."""
    live = LiveServer(tmp_path).start()
    try:
        mids = [new_market(live, runners=40)[0] for _ in range(60)]
        r = RawStream(live)
        r.authenticate(live)
        req_id = r.request("marketSubscription", marketFilter={"marketIds": mids}, segmentationEnabled=True,
                           marketDataFilter={"fields": ["EX_MARKET_DEF", "EX_TRADED_VOL"]})
        assert r.recv()["statusCode"] == "SUCCESS"
        parts = [r.recv()]
        while parts[-1].get("segmentType") != "SEG_END":
            parts.append(r.recv())
        assert len(parts) >= 2 and parts[0]["segmentType"] == "SEG_START"
        assert all(p["ct"] == "SUB_IMAGE" and p["id"] == req_id for p in parts)
        assert "initialClk" in parts[0] and all("clk" not in p for p in parts[:-1]) and "clk" in parts[-1]
        assert sorted(m["id"] for p in parts for m in p["mc"]) == sorted(mids)
        r.close()
    finally:
        live.stop()


def test_conflation_merges_changes(live: LiveServer, raw: RawStream) -> None:
    """conflateMs: changes within the window arrive as one message with con=true (003:L6147-6149,
    L6819-6829)."""
    alice = client_for(live, "alice")
    mid, sels = new_market(live)
    raw.authenticate(live)
    _s, image = subscribe(raw, [mid], conflateMs=1000)
    assert image["conflateMs"] == 1000
    from test_stream_clients import place
    t0 = time.monotonic()
    for price in (2.0, 2.02, 2.04):
        place(alice, mid, sels[0], "LAY", price, 5)
    delta = raw.recv(timeout_s=3)
    assert time.monotonic() - t0 > 0.5
    (mc,) = delta["mc"]
    assert mc["con"] is True
    assert sorted(p for p, _s in mc["rc"][0]["atb"]) == [2.0, 2.02, 2.04]


def test_delayed_key_is_conflated(live: LiveServer, raw: RawStream) -> None:
    """A delayed application key's subscription runs at conflateMs 180000 (003:L6147-6149)."""
    raw.recv()
    token, key = login(live, "alice", app_key=demo_app_key("alice") + "-delayed")
    raw.request("authentication", appKey=key, session=token)
    assert raw.recv()["statusCode"] == "SUCCESS"
    _s, image = subscribe(raw, ["1.900000002"], conflateMs=0)
    assert image["conflateMs"] == 180_000


def test_invalid_clock_and_changed_criteria(live: LiveServer, raw: RawStream) -> None:
    """A clock that is not ours is INVALID_CLOCK (003:L6102-6104); a resubscription with other criteria
    gets every market as an image (003:L6714-6715, L6722)."""
    mid, _sels = new_market(live)
    raw.authenticate(live)
    req_id = raw.request("marketSubscription", marketFilter={"marketIds": [mid]}, initialClk="bogus!", clk="x")
    status = raw.recv()
    assert status["id"] == req_id and status["errorCode"] == "INVALID_CLOCK" and status["connectionClosed"] is False
    _s, image = subscribe(raw, [mid])
    _s, patch = subscribe(raw, [mid, "1.900000001"], initialClk=image["initialClk"], clk=image["clk"])
    assert patch["ct"] == "RESUB_DELTA"
    assert sorted(m["id"] for m in patch["mc"]) == sorted([mid, "1.900000001"]) and all(m["img"] for m in patch["mc"])


def test_resubscription_with_nothing_changed_is_empty(live: LiveServer, raw: RawStream) -> None:
    mid, _sels = new_market(live)
    raw.authenticate(live)
    _s, image = subscribe(raw, [mid])
    _s, patch = subscribe(raw, [mid], initialClk=image["initialClk"], clk=image["clk"])
    assert patch["ct"] == "RESUB_DELTA" and patch["mc"] == []


# --- timeouts and slow consumers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    limits = StreamLimits(auth_timeout_s=0.5, idle_timeout_s=0.5, buffer_high_bytes=32 * 1024,
                          buffer_low_bytes=8 * 1024, slow_consumer_s=1.0, socket_send_buffer_bytes=16 * 1024)
    server = LiveServer(Path(tmp_path_factory.mktemp("strict")), stream_limits=limits).start()
    yield server
    server.stop()


def test_no_authentication_times_out(strict: LiveServer) -> None:
    """TIMEOUT when the client is too slow sending (003:L6075-6076)."""
    r = RawStream(strict)
    r.recv()
    status = r.recv(timeout_s=3)
    assert status["errorCode"] == "TIMEOUT" and status["connectionClosed"] is True
    assert r.closed()


def test_no_subscription_times_out(strict: LiveServer) -> None:
    r = RawStream(strict)
    r.authenticate(strict)
    status = r.recv(timeout_s=3)
    assert status["errorCode"] == "TIMEOUT" and status["connectionClosed"] is True


def test_slow_consumer_is_dropped_and_slows_nobody(strict: LiveServer) -> None:
    """A connection that stops reading is closed (CONNECTION_FAILED, connectionClosed) once its socket
    buffer has stayed full for slow_consumer_s; another connection on the same market receives every
    change meanwhile, in time."""
    from test_stream_clients import place
    alice = client_for(strict, "alice")
    mid, sels = new_market(strict, runners=1)

    connections = strict.stream_connections

    slow = RawStream(strict, tls=False, receive_buffer_bytes=4096)
    slow.authenticate(strict)
    slow.request("marketSubscription", marketFilter={"marketIds": [mid]},
                 marketDataFilter={"fields": ["EX_ALL_OFFERS", "EX_MARKET_DEF"]})
    fast = RawStream(strict)
    fast.authenticate(strict)
    subscribe(fast, [mid])
    before = connections()
    sizes: dict[float, float] = {}
    seen: dict[float, float] = {}
    n = 0
    deadline = time.monotonic() + 20
    while connections() == before and time.monotonic() < deadline:
        price = round(1.5 + 0.01 * (n % 50), 2)
        n += 1
        place(alice, mid, sels[0], "LAY", price, 2)
        sizes[price] = sizes.get(price, 0) + 2
        # the fast reader sees each change within a second, whatever the slow one does
        t0 = time.monotonic()
        while seen.get(price) != sizes[price]:
            msg = fast.recv(timeout_s=1)
            for mc in msg.get("mc") or ():
                for rc in mc.get("rc") or ():
                    seen.update({p: s for p, s in rc.get("atb", ())})
        assert time.monotonic() - t0 < 1
    assert connections() == before - 1, "the slow reader was not dropped"
    msgs = []
    try:
        while True:
            msgs.append(slow.recv(timeout_s=2))
    except (EOFError, TimeoutError):
        pass
    failures = [m for m in msgs if m.get("statusCode") == "FAILURE"]
    # the final status reaches the reader only if it catches up within the grace period
    assert not failures or (failures[-1]["errorCode"] == "CONNECTION_FAILED" and failures[-1]["connectionClosed"])
    fast.close()
    slow.close()
