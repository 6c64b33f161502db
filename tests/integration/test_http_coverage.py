"""HTTP-API behaviours the other live-server suites leave untested, over a real socket: gzip when asked,
HTTP/1.1 keep-alive (and pipelining), both JSON-RPC paths with a method suffix, REST with and without the
trailing slash, batches, -32600 / -32602 and the REST DSC faults with their HTTP statuses, null params,
listMarketBook / listRunnerBook `matchedSince`, listCurrentOrders ordering and paging end to end,
asynchronous placeOrders, the exact date format of every response, and the admin API's refusal of unknown
keys inside nested objects.

Already covered elsewhere, not repeated here: -32700 / -32601 / NO_APP_KEY (test_http_clients.py), the
APINGException REST fault (test_security.py rest_error), heartbeat clamping, account statement paging,
currency rates, the navigation menu, cancel-all, customerStrategyRefs (test_betfair_parser.py), lockout and
session expiry (test_security.py, test_certlogin.py), strings for numbers, null members, customerRef
de-duplication and the marketVersion lapse (tests/unit).

Raw HTTP (requests, http.client, a socket) throughout: these are wire-level checks.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from live_server import LiveServer, admin

from backlay.betfair.http.app import GZIP_MIN_BYTES
from backlay.betfair.wire.common import Instant
from backlay.demo import DEMO_PASSWORD, demo_app_key

SERVICE = {"betting": "SportsAPING", "account": "AccountAPING", "heartbeat": "HeartbeatAPING"}
SOCCER = "1.900000001"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
NOT_DATES = {"rulesHasDate"}  # a boolean: whether the rules mention a date


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-http-coverage"))).start()
    yield server
    server.stop()


# --- helpers ---------------------------------------------------------------------------------------


class Api:
    """One logged-in user over requests, answers never compressed (Accept-Encoding: identity)."""

    def __init__(self, live: LiveServer, user: str, app_key: str | None = None,
                 password: str = DEMO_PASSWORD) -> None:
        self.base = live.base
        self.app_key = app_key or demo_app_key(user)
        self.http = requests.Session()
        self.http.headers.update({"X-Application": self.app_key, "Accept-Encoding": "identity"})
        r = self.http.post(f"{self.base}/api/login", data={"username": user, "password": password}, timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "SUCCESS", r.text
        self.token: str = r.json()["token"]
        self.http.headers["X-Authentication"] = self.token

    def rpc(self, method: str, params: Any, endpoint: str = "betting", request_id: Any = 1) -> dict[str, Any]:
        r = self.http.post(f"{self.base}/exchange/{endpoint}/json-rpc/v1", timeout=10, json={
            "jsonrpc": "2.0", "method": f"{SERVICE[endpoint]}/v1.0/{method}", "params": params, "id": request_id})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert body["id"] == request_id
        return body

    def result(self, method: str, params: Any, endpoint: str = "betting") -> Any:
        body = self.rpc(method, params, endpoint)
        assert "error" not in body, body
        return body["result"]

    def place(self, market_id: str, selection_id: int, side: str, size: float, price: float, **kw: Any) -> str:
        report = self.result("placeOrders", {"marketId": market_id, "instructions": [{
            "selectionId": selection_id, "side": side, "orderType": "LIMIT",
            "limitOrder": {"size": size, "price": price, "persistenceType": "LAPSE"}}], **kw})
        assert report["status"] == "SUCCESS", report
        return str(report["instructionReports"][0]["betId"])


def new_market(live: LiveServer, market_id: str, selections: tuple[int, ...] = (1, 2, 3)) -> None:
    """An OPEN soccer market of the demo event, through the admin API."""
    admin(live, "POST", "/markets", {
        "marketId": market_id, "marketName": "Match Odds", "marketType": "MATCH_ODDS", "eventId": "90000001",
        "marketTime": Instant(int(time.time() * 1000) + 86_400_000).iso(), "open": True,
        "runners": [{"selectionId": s, "runnerName": f"Runner {s}"} for s in selections]}, 201)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def raw_post(live: LiveServer, path: str, body: bytes, headers: dict[str, str],
             method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    """One request with http.client, which never decompresses, with exactly `headers` (no Accept-Encoding
    unless given): (status, lower-cased headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# --- transport: gzip, keep-alive ---------------------------------------------------------------------


def test_gzip_when_asked(live: LiveServer) -> None:
    """003:L4884-4888 ("we would recommend that all Betfair API request are sent with the
    'Accept-Encoding: gzip, deflate' request header") and 003:L8760-8766 (the navigation request sends
    it): a large answer comes back `Content-Encoding: gzip`, and decompresses to the very bytes sent
    uncompressed; JSON-RPC, REST and the navigation GET alike."""
    api = Api(live, "alice")
    auth = {"X-Application": api.app_key, "X-Authentication": api.token, "Content-Type": "application/json"}
    catalogue = json.dumps({"filter": {}, "maxResults": 100, "marketProjection": [
        "COMPETITION", "EVENT", "EVENT_TYPE", "MARKET_DESCRIPTION", "MARKET_START_TIME", "RUNNER_DESCRIPTION",
        "RUNNER_METADATA"]}).encode()
    rpc = json.dumps({"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listMarketCatalogue",
                      "params": json.loads(catalogue), "id": 3}).encode()
    plains = {}
    for method, path, body in (("POST", "/exchange/betting/json-rpc/v1", rpc),
                               ("POST", "/exchange/betting/rest/v1.0/listMarketCatalogue/", catalogue),
                               ("GET", "/exchange/betting/rest/v1/en/navigation/menu.json", b"")):
        status, plain_headers, plain = raw_post(live, path, body, auth, method)
        plains[path] = plain
        assert status == 200 and "content-encoding" not in plain_headers
        assert len(plain) >= GZIP_MIN_BYTES, (path, len(plain))  # large enough to be compressed
        for accept in ("gzip, deflate", "gzip", "deflate, gzip;q=0.5"):
            status, headers, packed = raw_post(live, path, body, {**auth, "Accept-Encoding": accept}, method)
            assert status == 200 and headers["content-encoding"] == "gzip", (path, accept)
            assert int(headers["content-length"]) == len(packed) < len(plain)
            assert headers["content-type"] == "application/json"
            assert headers["vary"] == plain_headers["vary"] == "accept-encoding"  # RFC 9110 §12.5.5
            assert gzip.decompress(packed) == plain
    # what a client library does with it: requests asks for gzip by default and decompresses
    path = "/exchange/betting/rest/v1.0/listMarketCatalogue/"
    r = requests.post(f"{live.base}{path}", data=catalogue, headers=auth, timeout=10)
    assert r.headers["Content-Encoding"] == "gzip" and r.content == plains[path]


def test_small_answers_and_requests_without_gzip_are_not_compressed(live: LiveServer) -> None:
    """003:L4884-4888: compression is what the client asks for. Without `Accept-Encoding: gzip` (none,
    identity, deflate only, or gzip refused with q=0, RFC 9110 §12.5.3) nothing is compressed, however
    large; an answer under GZIP_MIN_BYTES is sent plain even when gzip is asked for."""
    api = Api(live, "bob")
    auth = {"X-Application": api.app_key, "X-Authentication": api.token}
    catalogue = json.dumps({"filter": {}, "maxResults": 100, "marketProjection": [
        "EVENT", "MARKET_DESCRIPTION", "RUNNER_DESCRIPTION"]}).encode()
    path = "/exchange/betting/rest/v1.0/listMarketCatalogue/"
    for accept in (None, "identity", "deflate", "br", "gzip;q=0", "deflate, gzip; q=0"):
        headers = dict(auth) if accept is None else {**auth, "Accept-Encoding": accept}
        status, got, body = raw_post(live, path, catalogue, headers)
        assert status == 200 and "content-encoding" not in got, accept
        assert len(body) >= GZIP_MIN_BYTES and json.loads(body)
    status, got, body = raw_post(live, "/exchange/account/rest/v1.0/getAccountFunds/", b"{}",
                                 {**auth, "Accept-Encoding": "gzip, deflate"})
    assert status == 200 and "content-encoding" not in got and len(body) < GZIP_MIN_BYTES
    assert json.loads(body)["availableToBetBalance"] > 0
    # an error answer, small, is plain too
    status, got, body = raw_post(live, "/exchange/betting/json-rpc/v1", b"{nope",
                                 {**auth, "Accept-Encoding": "gzip"})
    assert status == 200 and "content-encoding" not in got and json.loads(body)["error"]["code"] == -32700


def test_keep_alive_serves_many_requests_on_one_connection(live: LiveServer) -> None:
    """003:L4889-4892 ("we recommend that Connection: keep-alive header is set for all requests to
    guarantee a persistent connection"): login, JSON-RPC, REST, the navigation GET, an unknown path, a
    parse error and a gzip answer all on one HTTP/1.1 connection, which stays open after each."""
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    conn.connect()
    sock = conn.sock
    assert sock is not None
    local = sock.getsockname()
    key = demo_app_key("carol")

    def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn.request(method, path, body=body, headers={"Connection": "keep-alive", **headers})
        resp = conn.getresponse()
        data = resp.read()
        assert not resp.will_close and (resp.getheader("connection") or "").lower() != "close"
        assert conn.sock is sock and sock.getsockname() == local, f"{path}: the connection was not kept"
        return resp.status, data

    status, body = send("POST", "/api/login", f"username=carol&password={DEMO_PASSWORD}".encode(),
                        {"X-Application": key, "Content-Type": "application/x-www-form-urlencoded"})
    token = json.loads(body)["token"]
    assert status == 200 and token
    auth = {"X-Application": key, "X-Authentication": token, "Content-Type": "application/json"}
    for i in range(3):
        status, body = send("POST", "/exchange/betting/json-rpc/v1", json.dumps({
            "jsonrpc": "2.0", "method": "SportsAPING/v1.0/listEventTypes", "params": {"filter": {}},
            "id": i}).encode(), auth)
        assert status == 200 and json.loads(body)["id"] == i and json.loads(body)["result"]
    status, body = send("POST", "/exchange/account/rest/v1.0/getAccountFunds/", b"{}", auth)
    assert status == 200 and "availableToBetBalance" in json.loads(body)
    status, body = send("GET", "/exchange/betting/rest/v1/en/navigation/menu.json", b"", auth)
    assert status == 200 and json.loads(body)["name"] == "ROOT"
    status, body = send("POST", "/no/such/path", b"{}", auth)
    assert status == 404 and json.loads(body)["faultstring"] == "DSC-0021"
    status, body = send("POST", "/exchange/betting/json-rpc/v1", b"{nope", auth)
    assert status == 200 and json.loads(body)["error"]["code"] == -32700
    status, body = send("POST", "/exchange/betting/rest/v1.0/listMarketCatalogue/", json.dumps({
        "filter": {}, "maxResults": 50, "marketProjection": ["MARKET_DESCRIPTION", "RUNNER_DESCRIPTION"]}).encode(),
        {**auth, "Accept-Encoding": "gzip"})
    assert status == 200 and json.loads(gzip.decompress(body))
    status, body = send("POST", "/exchange/heartbeat/json-rpc/v1", json.dumps({
        "jsonrpc": "2.0", "method": "HeartbeatAPING/v1.0/heartbeat", "params": {"preferredTimeoutSeconds": 0},
        "id": 9}).encode(), auth)
    assert status == 200 and json.loads(body)["result"]["actualTimeoutSeconds"] == 0
    conn.close()


def _read_response(f: Any) -> tuple[int, bytes]:
    status_line = f.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    length = None
    while (line := f.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    assert length is not None
    return int(status_line.split()[1]), f.read(length)


def test_pipelined_requests_on_one_connection_are_answered_in_order(live: LiveServer) -> None:
    """003:L4889-4892, HTTP/1.1 persistence (RFC 9112 §9.3.2, pipelining): three JSON-RPC requests
    written at once on one socket get their three answers, in order, on the same connection."""
    api = Api(live, "alice")
    head = (f"POST /exchange/betting/jsonrpc/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Application: {api.app_key}\r\n"
            f"X-Authentication: {api.token}\r\nContent-Type: application/json\r\n")
    wire = b""
    for i in range(3):
        body = json.dumps({"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listCountries", "params": {"filter": {}},
                           "id": f"p{i}"}).encode()
        wire += (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as s:
        s.sendall(wire)
        f = s.makefile("rb")
        answers = [_read_response(f) for _ in range(3)]
        assert [(status, json.loads(body)["id"]) for status, body in answers] == [(200, "p0"), (200, "p1"), (200, "p2")]
        assert all(json.loads(body)["result"] for _, body in answers)
        # still open: one more on the same socket
        body = json.dumps({"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listCountries", "params": {},
                           "id": "p3"}).encode()
        s.sendall((head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
        status, body = _read_response(f)
        assert status == 200 and json.loads(body)["id"] == "p3"


# --- endpoints, batches, envelopes --------------------------------------------------------------------


def test_jsonrpc_at_both_paths_with_a_method_suffix(live: LiveServer) -> None:
    """003:L214-216 and L9525 (`/exchange/betting/jsonrpc/v1`), 003:L258-260 and L285 (`.../json-rpc/v1`):
    both spellings on the Betting, Accounts and Heartbeat endpoints (003:L229-235, L13322-13323), with or
    without a trailing slash, and with the method appended to the path (as some clients build the URL
    from the `<method>` column, 003:L214-217) the body's `method` still decides."""
    api = Api(live, "bob")
    calls = {"betting": ("listEventTypes", {"filter": {}}), "account": ("getAccountFunds", {}),
             "heartbeat": ("heartbeat", {"preferredTimeoutSeconds": 0})}
    for endpoint, (method, params) in calls.items():
        full = f"{SERVICE[endpoint]}/v1.0/{method}"
        for spelling in ("jsonrpc", "json-rpc"):
            for suffix in ("", "/", f"/{full}", "/SportsAPING/v1.0/listMarketBook"):
                r = api.http.post(f"{live.base}/exchange/{endpoint}/{spelling}/v1{suffix}", timeout=10,
                                  json={"jsonrpc": "2.0", "method": full, "params": params, "id": spelling + suffix})
                assert r.status_code == 200, (endpoint, spelling, suffix, r.text)
                body = r.json()
                assert body["id"] == spelling + suffix and body["jsonrpc"] == "2.0" and "result" in body, body
    assert api.result("listEventTypes", {"filter": {}}) == api.http.post(
        f"{live.base}/exchange/betting/jsonrpc/v1", timeout=10, json={
            "jsonrpc": "2.0", "method": "SportsAPING/v1.0/listEventTypes", "params": {"filter": {}}, "id": 1,
        }).json()["result"]
    # another version or a misspelt transport is no endpoint at all
    for path in ("/exchange/betting/json-rpc/v2", "/exchange/betting/jsonrpc", "/exchange/bets/json-rpc/v1"):
        r = api.http.post(f"{live.base}{path}", timeout=10, json={
            "jsonrpc": "2.0", "method": "SportsAPING/v1.0/listEventTypes", "params": {"filter": {}}, "id": 1})
        assert r.status_code == 404 and r.json()["faultstring"] == "DSC-0021", path


def test_rest_paths_with_and_without_the_trailing_slash(live: LiveServer) -> None:
    """003:L220, L240-256 and L9529: REST is `/exchange/betting/rest/v1.0/<operation>/` with the bare params
    as the body (003:L243-250), HTTP 200 and the bare result; the notes (betting-api.md §1.1) ask for
    the path without the trailing slash as well. Accounts REST at `/exchange/account/rest/v1.0/<op>`
    (003:L235, L12640). An empty body is `{}`. The answer equals the JSON-RPC result."""
    api = Api(live, "carol")
    params = {"filter": {"eventTypeIds": ["1"]}}
    expected = api.result("listEventTypes", params)
    for slash in ("/", ""):
        r = api.http.post(f"{live.base}/exchange/betting/rest/v1.0/listEventTypes{slash}", json=params, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
        assert r.json() == expected
        r = api.http.post(f"{live.base}/exchange/account/rest/v1.0/getAccountFunds{slash}", data=b"", timeout=10)
        assert r.status_code == 200 and r.json() == api.result("getAccountFunds", {}, "account")
        r = api.http.post(f"{live.base}/exchange/heartbeat/rest/v1.0/heartbeat{slash}", timeout=10,
                          json={"preferredTimeoutSeconds": "0"})
        assert r.status_code == 200 and r.json() == {"actionPerformed": "NONE", "actualTimeoutSeconds": 0}


def test_batch_requests_answer_in_order_echoing_each_id(live: LiveServer) -> None:
    """003:L535-545, L10653-10676 (a request array, an answer array); betting-api.md §1.2: each element
    answered in the same order with its own id, successes and errors side by side (-32601 for an
    unknown method or another service's, -32602 for bad params, -32099 for an operation's exception,
    -32600 for an element that is not a request object, its id null); a one-element batch is an array."""
    api = Api(live, "alice")
    batch = [
        {"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listEventTypes", "params": {"filter": {}}, "id": 1},
        {"jsonrpc": "2.0", "method": "SportsAPING/v1.0/noSuchOperation", "params": {}, "id": "two"},
        {"jsonrpc": "2.0", "method": "AccountAPING/v1.0/getAccountFunds", "params": {}, "id": 3},
        {"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listMarketBook", "params": {}, "id": 4},
        {"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listMarketCatalogue",
         "params": {"filter": {}, "maxResults": 5000}, "id": 5},
        7,
        {"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listCountries", "params": {"filter": {}}, "id": None},
        {"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listMarketBook", "params": {"marketIds": [SOCCER]},
         "id": 8},
    ]
    r = api.http.post(f"{live.base}/exchange/betting/json-rpc/v1", json=batch, timeout=10)
    assert r.status_code == 200
    answers = r.json()
    assert isinstance(answers, list) and [a.get("id") for a in answers] == [1, "two", 3, 4, 5, None, None, 8]
    assert all(a["jsonrpc"] == "2.0" for a in answers)
    outcome = [a["error"]["code"] if "error" in a else "result" for a in answers]
    assert outcome == ["result", -32601, -32601, -32602, -32099, -32600, "result", "result"]
    assert answers[3]["error"]["message"] == "DSC-0018"  # marketIds is mandatory
    assert answers[4]["error"]["data"]["APINGException"]["errorCode"] == "INVALID_INPUT_DATA"
    assert answers[7]["result"][0]["marketId"] == SOCCER
    one = api.http.post(f"{live.base}/exchange/betting/json-rpc/v1", json=batch[:1], timeout=10).json()
    assert isinstance(one, list) and len(one) == 1 and one[0]["id"] == 1 and one[0]["result"]
    # the Accounts endpoint takes batches too
    acct = api.http.post(f"{live.base}/exchange/account/json-rpc/v1", timeout=10, json=[
        {"jsonrpc": "2.0", "method": "AccountAPING/v1.0/getAccountFunds", "params": {}, "id": "a"},
        {"jsonrpc": "2.0", "method": "AccountAPING/v1.0/getAccountDetails", "params": {}, "id": "b"}]).json()
    assert [(a["id"], "result" in a) for a in acct] == [("a", True), ("b", True)]
    # an empty batch is one Invalid Request error, not an empty array (JSON-RPC 2.0, section 6)
    empty = api.http.post(f"{live.base}/exchange/betting/json-rpc/v1", json=[], timeout=10).json()
    assert empty["error"]["code"] == -32600 and empty["id"] is None


def test_parameter_errors_are_32602_with_their_dsc_code(live: LiveServer) -> None:
    """003:L10028-10033: -32602 "Problem parsing the parameters, or a mandatory parameter was not found";
    betting-api.md §1.5.6: the message is the DSC code, DSC-0018 for a missing mandatory parameter and
    DSC-0009 for a value of the wrong type or an unknown enum value (001:L88-224, L109-117); HTTP 200,
    the id echoed, no `data`. A body that is not a request object is -32600 with id null."""
    api = Api(live, "alice")
    cases: list[tuple[str, str, Any, str]] = [
        ("betting", "listMarketBook", {}, "DSC-0018"),
        ("betting", "listMarketBook", {"marketIds": None}, "DSC-0018"),  # null is absent
        ("betting", "placeOrders", {"marketId": SOCCER, "instructions": [{  # nested: the limit order's price
            "selectionId": 47999, "side": "BACK", "orderType": "LIMIT", "limitOrder": {"size": 2}}]}, "DSC-0018"),
        ("betting", "listMarketCatalogue", {"filter": {}, "maxResults": "many"}, "DSC-0009"),
        ("betting", "listCurrentOrders", {"orderProjection": "SOME"}, "DSC-0009"),
        ("betting", "listMarketCatalogue", {"filter": {"marketStartTime": {"from": "yesterday"}},
                                            "maxResults": 1}, "DSC-0009"),
        ("betting", "listCurrentOrders", [], "DSC-0009"),  # params must be an object
        ("account", "getAccountStatement", {"fromRecord": True}, "DSC-0009"),
        ("heartbeat", "heartbeat", {}, "DSC-0018"),
        ("heartbeat", "heartbeat", {"preferredTimeoutSeconds": "ten"}, "DSC-0009"),
    ]
    for i, (endpoint, method, params, dsc) in enumerate(cases):
        body = api.rpc(method, params, endpoint, request_id=100 + i)
        assert body.get("error") == {"code": -32602, "message": dsc}, (method, params, body)
        assert "result" not in body
    for raw in (b"7", b'"a string"', b"null", b"[7]"):
        r = api.http.post(f"{live.base}/exchange/betting/json-rpc/v1", data=raw, timeout=10)
        assert r.status_code == 200
        body = r.json()
        answer = body[0] if raw.startswith(b"[") else body
        assert answer == {"jsonrpc": "2.0", "error": {"code": -32600, "message": "DSC-0008"}, "id": None}, raw


def test_null_params_mean_absent(live: LiveServer) -> None:
    """A null member is an absent one: CancelInstruction's sizeReduction "should be set to 'null' if no size
    reduction is required" (003:L12413-12414; betting-api.md §2.9: null is a full cancel);
    listCurrentOrders without parameters lists every current order (003:L10111-10114), so `"params":
    null`, no `params` key and null members all answer as `{}` over JSON-RPC, single or batched."""
    api = Api(live, "carol")
    expected = api.result("listCurrentOrders", {})
    url = f"{live.base}/exchange/betting/json-rpc/v1"
    for envelope in ({"params": None}, {}, {"params": {"betIds": None, "orderProjection": None, "fromRecord": None}}):
        r = api.http.post(url, timeout=10, json={"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listCurrentOrders",
                                                 "id": 5, **envelope})
        assert r.status_code == 200 and r.json() == {"jsonrpc": "2.0", "result": expected, "id": 5}, envelope
    for envelope in ({"params": None}, {}):  # in a batch, the general path
        r = api.http.post(url, timeout=10, json=[{"jsonrpc": "2.0", "method": "AccountAPING/v1.0/getAccountFunds",
                                                  "id": 6, **envelope}])
        assert r.json()[0]["error"]["code"] == -32601  # the Accounts method on the Betting endpoint
        r = api.http.post(f"{live.base}/exchange/account/json-rpc/v1", timeout=10, json=[{
            "jsonrpc": "2.0", "method": "AccountAPING/v1.0/getAccountFunds", "id": 6, **envelope}])
        assert r.json()[0]["result"] == api.result("getAccountFunds", {}, "account")
    bet = api.place(SOCCER, 48044, "BACK", 3, 900.0)
    report = api.result("cancelOrders", {"marketId": SOCCER, "customerRef": None,
                                         "instructions": [{"betId": bet, "sizeReduction": None}]})
    [ir] = report["instructionReports"]
    assert (report["status"], ir["sizeCancelled"]) == ("SUCCESS", 3.0) and "customerRef" not in report


def test_rest_transport_faults_and_their_http_status(live: LiveServer) -> None:
    """REST faults (003:L8028-8173; betting-api.md §1.5.3-1.5.4): a non-200 status and
    {faultcode, faultstring, detail}. Transport faults carry the DSC code and no exception in `detail`
    (003:L8119-8123): DSC-0008 malformed JSON 400, DSC-0018 mandatory missing 400, DSC-0009 wrong type
    or enum 400, DSC-0021 no such operation 404 (001:L88-224); an operation's exception is a Client
    fault with HTTP 400 (INVALID_INPUT_DATA, 003:L9975-9978)."""
    api = Api(live, "bob")
    rest = f"{live.base}/exchange/betting/rest/v1.0"
    cases: list[tuple[str, bytes, int, str]] = [
        ("listMarketBook/", b"{nope", 400, "DSC-0008"),
        ("listMarketBook/", b'{"marketIds": ', 400, "DSC-0008"),
        ("listMarketBook/", b"{}", 400, "DSC-0018"),
        ("listMarketCatalogue/", b'{"filter": {}, "maxResults": "lots"}', 400, "DSC-0009"),
        ("listCurrentOrders/", b'{"orderBy": "BY_MOOD"}', 400, "DSC-0009"),
        ("listCurrentOrders/", b"[1, 2]", 400, "DSC-0009"),
        ("noSuchOperation/", b"{}", 404, "DSC-0021"),
        ("listMarketBook/extra/", b"{}", 404, "DSC-0021"),
    ]
    for op, raw, status, dsc in cases:
        r = api.http.post(f"{rest}/{op}", data=raw, headers={"Content-Type": "application/json"}, timeout=10)
        assert (r.status_code, r.headers["Content-Type"]) == (status, "application/json"), (op, raw, r.text)
        assert r.json() == {"faultcode": "Client", "faultstring": dsc, "detail": {}}, (op, raw)
    r = api.http.post(f"{live.base}/exchange/account/rest/v1.0/noSuchThing/", json={}, timeout=10)
    assert r.status_code == 404 and r.json()["faultstring"] == "DSC-0021"
    r = api.http.post(f"{rest}/listMarketCatalogue/", json={"filter": {}, "maxResults": 5000}, timeout=10)
    body = r.json()
    assert r.status_code == 400 and body["faultcode"] == "Client" and body["faultstring"] == "ANGX-0002"
    assert body["detail"]["APINGException"]["errorCode"] == "INVALID_INPUT_DATA"
    # REST is POST only, like every operation (003:L208)
    r = api.http.get(f"{rest}/listEventTypes/", timeout=10)
    assert r.status_code == 404 and r.json()["faultstring"] == "DSC-0021"


# --- listMarketBook / listRunnerBook matchedSince ------------------------------------------------------


def test_matched_since_keeps_executable_orders_and_those_matched_since(live: LiveServer) -> None:
    """003:L10278-10289 (listMarketBook) and 003:L10530-10535 (listRunnerBook) matchedSince: "If you ask
    for orders, restricts the results to orders that have at least one fragment matched since the
    specified date (all matched fragments of such an order will be returned even if some were matched
    before the specified date). All EXECUTABLE orders will be returned regardless of matched date."
    Without orderProjection ("the orders you want to receive", 003:L10247-10248) no orders at all."""
    market = "1.950000001"
    new_market(live, market, (11, 12, 13))
    alice, bob = Api(live, "alice"), Api(live, "bob")
    done_before = alice.place(market, 11, "BACK", 2, 3.0)
    bob.place(market, 11, "LAY", 2, 3.0)  # done_before: EXECUTION_COMPLETE, matched before `since`
    part_before = alice.place(market, 12, "BACK", 4, 5.0)
    bob.place(market, 12, "LAY", 2, 5.0)  # part_before: half matched, still EXECUTABLE
    both_sides = alice.place(market, 13, "BACK", 4, 6.0)
    bob.place(market, 13, "LAY", 2, 6.0)  # both_sides: half matched before `since` ...
    unmatched = alice.place(market, 11, "BACK", 2, 10.0)  # EXECUTABLE, never matched
    cancelled = alice.place(market, 11, "BACK", 2, 20.0)
    assert alice.result("cancelOrders", {"marketId": market, "instructions": [{"betId": cancelled}]})["status"] == \
        "SUCCESS"  # EXECUTION_COMPLETE without a fragment
    time.sleep(0.05)
    since = now_ms()
    time.sleep(0.05)
    bob.place(market, 13, "LAY", 2, 6.0)  # ... and the other half after: EXECUTION_COMPLETE
    done_after = alice.place(market, 12, "BACK", 2, 4.0)
    bob.place(market, 12, "LAY", 2, 4.0)  # done_after: EXECUTION_COMPLETE, matched after `since`

    def book(**kw: Any) -> dict[int, Any]:
        [mb] = alice.result("listMarketBook", {"marketIds": [market], **kw})
        return {r["selectionId"]: r for r in mb["runners"]}

    def orders(runners: dict[int, Any]) -> dict[str, str]:
        return {o["betId"]: o["status"] for r in runners.values() for o in r.get("orders", [])}

    everything = orders(book(orderProjection="ALL"))
    assert set(everything) == {done_before, part_before, both_sides, unmatched, cancelled, done_after}
    runners = book(orderProjection="ALL", matchProjection="NO_ROLLUP", matchedSince=Instant(since).iso())
    assert orders(runners) == {part_before: "EXECUTABLE", unmatched: "EXECUTABLE",
                               both_sides: "EXECUTION_COMPLETE", done_after: "EXECUTION_COMPLETE"}
    # both_sides' fragments are all there, the one matched before `since` too
    [order] = runners[13]["orders"]
    assert (order["sizeMatched"], order["avgPriceMatched"]) == (4.0, 6.0)
    assert sorted((m["price"], m["size"]) for m in runners[13]["matches"]) == [(6.0, 2.0), (6.0, 2.0)]
    # orders are listed by bet id within a runner
    assert [o["betId"] for o in runners[11]["orders"]] == [unmatched]
    assert [o["betId"] for o in runners[12]["orders"]] == sorted([part_before, done_after], key=int)
    # a date in the future: only the executable ones
    later = Instant(now_ms() + 3_600_000).iso()
    assert orders(book(orderProjection="ALL", matchedSince=later)) == {part_before: "EXECUTABLE",
                                                                       unmatched: "EXECUTABLE"}
    assert orders(book(orderProjection="EXECUTION_COMPLETE", matchedSince=Instant(since).iso())) == {
        both_sides: "EXECUTION_COMPLETE", done_after: "EXECUTION_COMPLETE"}
    # before everything: every order that ever matched, and the executable ones
    assert set(orders(book(orderProjection="ALL", matchedSince=Instant(since - 3_600_000).iso()))) == \
        set(everything) - {cancelled}
    # no orderProjection: no orders, whatever matchedSince says
    assert all("orders" not in r for r in book(matchedSince=Instant(since).iso()).values())
    # listRunnerBook: the same rule on one runner; the request's date may omit the milliseconds
    [rb] = alice.result("listRunnerBook", {"marketId": market, "selectionId": 13, "orderProjection": "ALL",
                                           "matchedSince": Instant(since).iso()})
    assert [o["betId"] for r in rb["runners"] for o in r["orders"]] == [both_sides]
    [rb] = alice.result("listRunnerBook", {"marketId": market, "selectionId": 11, "orderProjection": "ALL",
                                           "matchedSince": Instant(since + 1000 - since % 1000).iso()[:19] + "Z"})
    assert [o["betId"] for r in rb["runners"] for o in r["orders"]] == [unmatched]
    # another account's matchedSince sees only its own orders
    mine = {o["betId"] for r in bob.result("listMarketBook", {
        "marketIds": [market], "orderProjection": "ALL", "matchedSince": Instant(since).iso()})[0]["runners"]
        for o in r.get("orders", [])}
    assert mine and not mine & set(everything)


# --- listCurrentOrders: ordering and paging -------------------------------------------------------------


def test_current_orders_ordering_and_paging(live: LiveServer) -> None:
    """003:L10107-10176 listCurrentOrders: BY_BET EARLIEST_TO_LATEST by default (003:L10111-10114); OrderBy
    (003:L9670-9687): BY_MARKET is market id, then placed time, then bet id; BY_PLACE_TIME placed time,
    then bet id; BY_MATCH_TIME by the last matched fragment and only orders with a matched date; SortDir
    (003:L9688-9694) reverses; fromRecord from index 0, recordCount 0 = all from fromRecord up to 1000
    (003:L10151-10157), moreAvailable (003:L12154-12167)."""
    m_late, m_early = "1.950000010", "1.950000009"  # market id order is the reverse of first use
    new_market(live, m_late, (21, 22))
    new_market(live, m_early, (31, 32))
    carol, bob = Api(live, "carol"), Api(live, "bob")
    b1 = carol.place(m_late, 21, "BACK", 2, 10.0)
    b2 = carol.place(m_early, 31, "BACK", 2, 10.0)
    b3 = carol.place(m_late, 22, "BACK", 2, 10.0)
    b4 = carol.place(m_early, 32, "BACK", 2, 3.0)
    b5 = carol.place(m_late, 21, "BACK", 2, 12.0)
    bob.place(m_early, 32, "LAY", 2, 3.0)  # b4 matched first
    time.sleep(0.01)
    bob.place(m_late, 21, "LAY", 2, 10.0)  # then b1 (b5 at 12.0 is out of the lay's reach)
    assert [int(b) for b in (b1, b2, b3, b4, b5)] == sorted(int(b) for b in (b1, b2, b3, b4, b5))
    markets = [m_late, m_early]

    def page(**kw: Any) -> tuple[list[str], bool]:
        report = carol.result("listCurrentOrders", {"marketIds": markets, **kw})
        return [o["betId"] for o in report["currentOrders"]], report["moreAvailable"]

    assert page() == ([b1, b2, b3, b4, b5], False)
    assert page(orderBy="BY_BET", sortDir="EARLIEST_TO_LATEST") == ([b1, b2, b3, b4, b5], False)
    assert page(sortDir="LATEST_TO_EARLIEST") == ([b5, b4, b3, b2, b1], False)
    assert page(orderBy="BY_PLACE_TIME") == ([b1, b2, b3, b4, b5], False)
    assert page(orderBy="BY_PLACE_TIME", sortDir="LATEST_TO_EARLIEST") == ([b5, b4, b3, b2, b1], False)
    assert page(orderBy="BY_MARKET") == ([b2, b4, b1, b3, b5], False)
    assert page(orderBy="BY_MARKET", sortDir="LATEST_TO_EARLIEST") == ([b5, b3, b1, b4, b2], False)
    assert page(orderBy="BY_MATCH_TIME") == ([b4, b1], False)
    assert page(orderBy="BY_MATCH_TIME", sortDir="LATEST_TO_EARLIEST") == ([b1, b4], False)
    assert page(orderBy="BY_MARKET", orderProjection="EXECUTABLE") == ([b2, b3, b5], False)
    # paging walks the same order
    assert page(fromRecord=0, recordCount=2) == ([b1, b2], True)
    assert page(fromRecord=2, recordCount=2) == ([b3, b4], True)
    assert page(fromRecord=4, recordCount=2) == ([b5], False)
    assert page(fromRecord=3, recordCount=2) == ([b4, b5], False)  # exactly the last page
    assert page(fromRecord=1, recordCount=0) == ([b2, b3, b4, b5], False)  # 0: all from fromRecord
    assert page(fromRecord=5, recordCount=10) == ([], False)
    assert page(fromRecord=50) == ([], False)
    assert page(orderBy="BY_MARKET", fromRecord=1, recordCount=3) == ([b4, b1, b3], True)
    assert page(orderBy="BY_MARKET", sortDir="LATEST_TO_EARLIEST", fromRecord=3, recordCount=1) == ([b4], True)
    assert page(fromRecord="1", recordCount="2", sortDir="LATEST_TO_EARLIEST") == ([b4, b3], True)  # strings
    walked: list[str] = []
    for start in range(0, 5, 2):
        got, more = page(orderBy="BY_MARKET", fromRecord=start, recordCount=2)
        walked += got
        assert more == (start + 2 < 5)
    assert walked == [b2, b4, b1, b3, b5]


def test_current_orders_by_void_time(live: LiveServer) -> None:
    """003:L9684-9686 BY_VOID_TIME: by the time of the last voided fragment, then last match time, placed
    time and bet id; only orders with a voided part; dateRange on the voided date. A matched bet on a
    removed runner is voided (003:L6729-6757)."""
    market = "1.950000011"
    new_market(live, market, (41, 42, 43))
    carol, bob = Api(live, "carol"), Api(live, "bob")
    v1 = carol.place(market, 41, "BACK", 2, 4.0)
    v2 = carol.place(market, 42, "BACK", 2, 4.0)
    kept = carol.place(market, 43, "BACK", 2, 4.0)
    unmatched = carol.place(market, 41, "BACK", 2, 20.0)
    for selection in (42, 41, 43):  # v2 matched before v1
        bob.place(market, selection, "LAY", 2, 4.0)
        time.sleep(0.005)

    def page(**kw: Any) -> list[str]:
        report = carol.result("listCurrentOrders", {"marketIds": [market], "orderBy": "BY_VOID_TIME", **kw})
        return [o["betId"] for o in report["currentOrders"]]

    assert page() == []
    before_first = now_ms()
    admin(live, "POST", f"/markets/{market}/runners/41/remove", {"adjustmentFactor": 10})
    time.sleep(0.01)
    between = now_ms()
    time.sleep(0.01)
    admin(live, "POST", f"/markets/{market}/runners/42/remove", {"adjustmentFactor": 10})
    assert page() == [v1, v2]  # voided in that order, whatever the order they matched in
    assert page(sortDir="LATEST_TO_EARLIEST") == [v2, v1]
    assert page(dateRange={"from": Instant(between).iso()}) == [v2]
    assert page(dateRange={"from": Instant(before_first).iso(), "to": Instant(between).iso()}) == [v1]
    orders = {o["betId"]: o for o in carol.result("listCurrentOrders", {"marketIds": [market]})["currentOrders"]}
    assert orders[v1]["sizeVoided"] == 2.0 and orders[v2]["sizeVoided"] == 2.0
    assert kept in orders and orders[kept]["sizeVoided"] == 0.0 and unmatched not in page()


# --- placeOrders async --------------------------------------------------------------------------------


def test_async_place_orders_answer_pending_without_a_bet_id(live: LiveServer) -> None:
    """003:L10630-10636 async: "An order's status will be PENDING and no bet ID will be returned", the
    order tracked by its customerOrderRef; PlaceInstructionReport (003:L12376-12406): betId "null ... if
    the order was placed asynchronously", placedDate, averagePriceMatched and sizeMatched likewise. The
    order itself is placed as a synchronous one would be (found by customerOrderRefs, 003:L10125-10126).
    Without async (false, or absent) the report has the bet id. replaceOrders' async likewise
    (003:L11198-11205). On an in-play market with a bet delay (003:L11586-11590) an async placement
    answers at once, PENDING, rather than after the delay as a synchronous one does."""
    market = "1.950000020"
    new_market(live, market, (41, 42))
    alice, bob = Api(live, "alice"), Api(live, "bob")
    bob.place(market, 42, "LAY", 3, 2.0)

    def place(ref: str, selection_id: int, price: float, **kw: Any) -> dict[str, Any]:
        report: dict[str, Any] = alice.result("placeOrders", {"marketId": market, "customerRef": f"ref-{ref}", **kw,
                                                              "instructions": [{
            "selectionId": selection_id, "side": "BACK", "orderType": "LIMIT", "customerOrderRef": ref,
            "limitOrder": {"size": 3, "price": price, "persistenceType": "LAPSE"}}]})
        return report

    for ref, selection_id, price, status in (("async-rest", 41, 8.0, "EXECUTABLE"),
                                             ("async-match", 42, 2.0, "EXECUTION_COMPLETE")):
        report = place(ref, selection_id, price, **{"async": True})
        assert (report["status"], report["marketId"], report["customerRef"]) == ("SUCCESS", market, f"ref-{ref}")
        [ir] = report["instructionReports"]
        assert (ir["status"], ir["orderStatus"]) == ("SUCCESS", "PENDING")
        assert not {"betId", "placedDate", "averagePriceMatched", "sizeMatched", "errorCode"} & set(ir), ir
        assert ir["instruction"]["customerOrderRef"] == ref and ir["instruction"]["limitOrder"]["price"] == price
        [order] = alice.result("listCurrentOrders", {"customerOrderRefs": [ref]})["currentOrders"]
        assert (order["status"], order["marketId"], order["selectionId"]) == (status, market, selection_id)
    assert place("async-string", 41, 9.0, **{"async": "true"})["instructionReports"][0]["orderStatus"] == "PENDING"
    for flag in ({"async": False}, {}):
        [ir] = place(f"sync-{len(flag)}", 41, 11.0, **flag)["instructionReports"]
        assert ir["orderStatus"] == "EXECUTABLE" and ir["betId"] and DATE.fullmatch(ir["placedDate"])
    # replaceOrders async (003:L11198-11205): the new bet's place report is PENDING without a bet id too
    resting = alice.place(market, 41, "BACK", 2, 15.0)
    replaced = alice.result("replaceOrders", {"marketId": market, "async": True, "instructions": [
        {"betId": resting, "newPrice": 16.0}]})
    [rir] = replaced["instructionReports"]
    assert (replaced["status"], rir["cancelInstructionReport"]["sizeCancelled"]) == ("SUCCESS", 2.0)
    new = rir["placeInstructionReport"]
    assert new["orderStatus"] == "PENDING" and not {"betId", "placedDate"} & set(new), new
    assert {o["priceSize"]["price"] for o in alice.result("listCurrentOrders", {
        "marketIds": [market], "orderProjection": "EXECUTABLE"})["currentOrders"]} >= {16.0}
    # in play with a bet delay: answered at once rather than after the delay, the order PENDING until then
    admin(live, "POST", f"/markets/{market}/in-play", {"betDelay": 1})
    started = time.monotonic()
    [ir] = place("async-delayed", 41, 7.0, **{"async": True})["instructionReports"]
    assert time.monotonic() - started < 0.9 and ir["orderStatus"] == "PENDING" and "betId" not in ir
    [order] = alice.result("listCurrentOrders", {"customerOrderRefs": ["async-delayed"]})["currentOrders"]
    assert order["status"] == "PENDING"
    deadline = time.monotonic() + 10
    while order["status"] == "PENDING":
        assert time.monotonic() < deadline, "the delayed async order never left PENDING"
        time.sleep(0.1)
        [order] = alice.result("listCurrentOrders", {"customerOrderRefs": ["async-delayed"]})["currentOrders"]
    assert order["status"] == "EXECUTABLE" and time.monotonic() - started >= 0.9
    # a failed async batch is a failure as any other: no bet, the error code
    bad = alice.result("placeOrders", {"marketId": market, "async": True, "instructions": [{
        "selectionId": 41, "side": "BACK", "orderType": "LIMIT",
        "limitOrder": {"size": 3, "price": 5.05, "persistenceType": "LAPSE"}}]})
    assert (bad["status"], bad["errorCode"]) == ("FAILURE", "BET_ACTION_ERROR")
    assert bad["instructionReports"][0]["errorCode"] == "INVALID_ODDS" and "betId" not in bad["instructionReports"][0]


# --- dates ----------------------------------------------------------------------------------------------


def test_every_date_on_the_wire_has_milliseconds_and_z(live: LiveServer) -> None:
    """betting-api.md §1.4: dates are ISO-8601 UTC with milliseconds and `Z`, exactly
    `YYYY-MM-DDTHH:MM:SS.mmmZ` ("2013-10-30T14:22:47.000Z", 003:L10695; "All times are returned in GMT and
    are in ISO 8601", 001:L826; lastMatchTime "2016-10-28T12:25:30.235Z", 003:L2787): every date of every
    kind of answer (order reports, books, catalogue, navigation, current and cleared orders, the account
    statement and its JSON-encoded legacy item, race details, the admin API), found by key and by shape."""
    market, winner, loser = "1.950000030", 51, 52
    new_market(live, market, (winner, loser))
    alice, bob = Api(live, "alice"), Api(live, "bob")
    answers: list[Any] = []

    def keep(value: Any) -> Any:
        answers.append(value)
        return value

    keep(alice.result("placeOrders", {"marketId": market, "instructions": [{
        "selectionId": winner, "side": "BACK", "orderType": "LIMIT",
        "limitOrder": {"size": 4, "price": 2.5, "persistenceType": "LAPSE"}}]}))
    bob.place(market, winner, "LAY", 4, 2.5)
    resting = alice.place(market, loser, "BACK", 2, 30.0)
    keep(alice.result("cancelOrders", {"marketId": market, "instructions": [{"betId": resting, "sizeReduction": 1}]}))
    current = keep(alice.result("listCurrentOrders", {"marketIds": [market]}))
    keep(alice.result("listMarketBook", {"marketIds": [market], "orderProjection": "ALL",
                                         "matchProjection": "NO_ROLLUP"}))
    keep(alice.result("listMarketCatalogue", {"filter": {}, "maxResults": 100, "marketProjection": [
        "COMPETITION", "EVENT", "EVENT_TYPE", "MARKET_DESCRIPTION", "MARKET_START_TIME", "RUNNER_DESCRIPTION"]}))
    keep(alice.result("listEvents", {"filter": {}}))
    for granularity in ("DAYS", "HOURS", "MINUTES"):
        keep(alice.result("listTimeRanges", {"filter": {}, "granularity": granularity}))
    keep(alice.http.get(f"{live.base}/exchange/betting/rest/v1/en/navigation/menu.json", timeout=10).json())
    admin(live, "PUT", "/races/90000003.1430", {"raceStatus": "DORMANT"})
    r = alice.http.post(f"{live.base}/exchange/scores/json-rpc/v1", timeout=10, json={
        "jsonrpc": "2.0", "method": "ScoresAPING/v1.0/listRaceDetails", "params": {}, "id": 1})
    keep(r.json()["result"])
    admin(live, "POST", f"/markets/{market}/settle", {"winners": [winner]})
    keep(admin(live, "GET", f"/markets/{market}"))
    keep(alice.result("listClearedOrders", {"betStatus": "SETTLED", "marketIds": [market]}))
    keep(alice.result("listClearedOrders", {"betStatus": "SETTLED", "marketIds": [market], "groupBy": "MARKET"}))
    keep(alice.result("listClearedOrders", {"betStatus": "CANCELLED", "marketIds": [market]}))
    statement = keep(alice.result("getAccountStatement", {"recordCount": 10}, "account"))
    for item in statement["accountStatement"]:  # the legacy item as a JSON string (001:L1052-1186)
        keep(json.loads(item["itemClassData"]["unknownStatementItem"]))

    seen: dict[str, int] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif value is None:  # no date (the admin API and the legacy statement item write nulls)
            return
        elif (key.endswith(("Date", "Time", "Updated")) and key not in NOT_DATES) or key in ("from", "to") or (
                isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\d", value)):
            assert isinstance(value, str) and DATE.fullmatch(value), (key, value)
            seen[key] = seen.get(key, 0) + 1

    walk(answers, "")
    assert {"placedDate", "cancelledDate", "matchedDate", "lastMatchTime", "marketStartTime", "openDate",
            "marketTime", "suspendTime", "from", "to", "startTime", "lastUpdated", "settledDate",
            "lastMatchedDate", "itemDate", "startDate"} <= set(seen), seen
    assert sum(seen.values()) > 50
    # placedDate and matchedDate are to the second (003:L11846-11847, L12195-12199): still with .000
    orders = current["currentOrders"]
    assert len(orders) == 2 and all(o[k].endswith(".000Z") for o in orders for k in ("placedDate", "matchedDate")
                                    if k in o)


# --- unknown keys -----------------------------------------------------------------------------------------


def test_the_admin_api_refuses_unknown_keys_inside_nested_objects(live: LiveServer) -> None:
    """docs/admin-api.md (Errors): 400 INVALID_INPUT for a body with an unknown field, "a misspelling is an
    error, not a default", at any depth: a runner of a new market, a result of a settlement; and a refused
    request changes nothing (no market is made, the market stays unsettled)."""
    market = "1.950000040"
    body = {"marketId": market, "marketName": "Match Odds", "eventId": "90000001", "open": True,
            "marketTime": Instant(now_ms() + 86_400_000).iso(),
            "runners": [{"selectionId": 61, "runnerName": "Home"},
                        {"selectionId": 62, "runnerName": "Away", "sortPriorty": 2}]}
    reply = admin(live, "POST", "/markets", body, 400)
    assert reply["error"]["code"] == "INVALID_INPUT" and "sortPriorty" in reply["error"]["message"]
    assert admin(live, "GET", f"/markets/{market}", status=404)["error"]["code"] == "NO_SUCH_MARKET"
    body["runners"][1] = {"selectionId": 62, "runnerName": "Away", "sortPriority": 2}
    assert admin(live, "POST", "/markets", body, 201)["status"] == "OPEN"
    reply = admin(live, "POST", f"/markets/{market}/settle", {"results": [{"selectionId": 61, "stauts": "WINNER"}]},
                  400)
    assert reply["error"]["code"] == "INVALID_INPUT" and "stauts" in reply["error"]["message"]
    assert admin(live, "GET", f"/markets/{market}")["settled"] is False
    assert admin(live, "POST", f"/markets/{market}/settle", {"results": [{"selectionId": 61}]})["settled"] is True
