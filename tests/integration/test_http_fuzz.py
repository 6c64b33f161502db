"""Fuzzing the live HTTP API: whatever arrives, no 5xx, no stack trace, the documented error shapes
(003:L10028-10033 JSON-RPC codes; 001:L88-224 DSC faults), and nothing changes for a rejected request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import LiveServer

from backlay.betfair.wire import betting
from backlay.demo import DEMO_PASSWORD, demo_app_key

OPERATIONS = sorted(betting.PARAMS)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)
param_keys = st.sampled_from(["marketId", "marketIds", "instructions", "filter", "maxResults", "priceProjection",
                              "betIds", "customerRef", "selectionId", "orderProjection", "betStatus", "x"])


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    live = LiveServer(Path(tmp_path_factory.mktemp("fuzz"))).start()
    r = requests.post(f"{live.base}/api/login", data={"username": "alice", "password": DEMO_PASSWORD},
                      headers={"X-Application": demo_app_key("alice")})
    headers = {"X-Application": demo_app_key("alice"), "X-Authentication": r.json()["token"]}
    yield live, headers
    live.stop()


def _no_trace(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(OPERATIONS), params=st.dictionaries(param_keys, json_values, max_size=4),
       request_id=st.integers(0, 10**6) | st.text(max_size=6))
def test_jsonrpc_fuzz(session: tuple[LiveServer, dict[str, str]], op: str, params: dict[str, object],
                      request_id: object) -> None:
    live, headers = session
    before = live.server.engine.exchange.fingerprint() if live.server else None
    body = {"jsonrpc": "2.0", "method": f"SportsAPING/v1.0/{op}", "params": params, "id": request_id}
    r = requests.post(f"{live.base}/exchange/betting/json-rpc/v1", data=json.dumps(body), headers=headers)
    assert r.status_code == 200
    _no_trace(r.text)
    reply = r.json()
    assert reply["id"] == request_id and ("result" in reply) != ("error" in reply)
    if "error" in reply:
        assert reply["error"]["code"] in (-32700, -32600, -32601, -32602, -32099)
        if live.server is not None and op in ("placeOrders", "cancelOrders", "replaceOrders", "updateOrders"):
            # a request the edge rejected never reached the exchange
            assert live.server.engine.exchange.fingerprint() == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from([*OPERATIONS, "nope"]), raw=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_rest_fuzz(session: tuple[LiveServer, dict[str, str]], op: str, raw: bytes) -> None:
    live, headers = session
    r = requests.post(f"{live.base}/exchange/betting/rest/v1.0/{op}/", data=raw, headers=headers)
    assert r.status_code in (200, 400, 404)
    _no_trace(r.text)
    if r.status_code != 200:
        assert r.json()["faultcode"] in ("Client", "Server")
