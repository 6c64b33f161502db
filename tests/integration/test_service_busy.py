"""A full sequencer queue over the real server (issue 16, item 4): the server runs with
`max_pending_commands` = 4 and its writer is held inside one batch's journal write, so the queue fills.
Every placeOrders is then answered either with its normal report or at once with Betfair's SERVICE_BUSY
(003:L9997: "The service is currently too busy to service this request"), over JSON-RPC (-32099,
ANGX-0009, HTTP 200) and REST (the Server fault, HTTP 500); a SERVICE_BUSY placed nothing, every
success is in listCurrentOrders; the admin API answers 503 SERVICE_BUSY with Retry-After: 1."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import betfairlightweight
import pytest
import requests
from betfairlightweight import filters
from betfairlightweight.exceptions import APIError
from live_server import ADMIN_AUTH, LiveServer
from stream_support import client_for

from backlay.betfair.http.app import Context
from backlay.core.commands import Deposit

SOCCER = "1.900000001"
ARSENAL = 47999
MAX_PENDING = 4
N_CALLS = 10
RPC = "/exchange/betting/json-rpc/v1"
REST = "/exchange/betting/rest/v1.0/placeOrders"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-busy")),
                        config={"max_pending_commands": MAX_PENDING}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(live: LiveServer) -> betfairlightweight.APIClient:
    return client_for(live, "alice")


def headers(client: betfairlightweight.APIClient) -> dict[str, str]:
    return {"X-Application": client.app_key, "X-Authentication": client.session_token}


def place_params(ref: str, async_: bool = False) -> dict[str, Any]:
    return {"marketId": SOCCER, "async": async_, "instructions": [{
        "orderType": "LIMIT", "selectionId": ARSENAL, "side": "BACK", "customerOrderRef": ref,
        "limitOrder": {"size": 2.0, "price": 50.0, "persistenceType": "LAPSE"}}]}


def rpc(live: LiveServer, client: betfairlightweight.APIClient, method: str, params: Any, rid: int = 1) -> Any:
    call = {"jsonrpc": "2.0", "method": f"SportsAPING/v1.0/{method}", "params": params, "id": rid}
    r = requests.post(live.base + RPC, json=call, headers=headers(client), timeout=30)
    assert r.status_code == 200  # JSON-RPC outcomes always travel with HTTP 200 (errors.py)
    return r.json()


def pending(live: LiveServer) -> int:
    return live.call(lambda: live.server.sequencer.pending if live.server else -1)


@contextlib.contextmanager
def held_writer(live: LiveServer, pool: ThreadPoolExecutor) -> Iterator[Future[Any]]:
    """The writer task held inside the journal write of one operator deposit (yielded: its future),
    with an empty queue behind it; released on exit."""
    assert live.server is not None
    journal = live.server.engine.journal
    inner = journal.append_batch
    gate, entered = threading.Event(), threading.Event()

    def held(entries: Sequence[tuple[int, int, bytes]]) -> None:
        entered.set()
        gate.wait(30)
        inner(entries)

    live.call(lambda: setattr(journal, "append_batch", held))
    try:
        blocker = pool.submit(live.submit, Deposit(account_id="bob", amount_minor=1))
        assert entered.wait(10) and pending(live) == 0
        yield blocker
    finally:
        gate.set()
        live.call(lambda: delattr(journal, "append_batch"))


def wait_until(predicate: Any, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def is_busy_rpc(reply: dict[str, Any], exception: str = "APINGException") -> bool:
    error = reply.get("error")
    if error is None:
        return False
    assert error["code"] == -32099 and error["data"]["exceptionname"] == exception, reply
    body = error["data"][exception]
    assert body["errorCode"] == "SERVICE_BUSY" and body["errorDetails"] and body["requestUUID"], reply
    return True


def test_a_full_queue_answers_service_busy_and_places_nothing(live: LiveServer,
                                                              client: betfairlightweight.APIClient) -> None:
    """003:L9997 SERVICE_BUSY. Ten concurrent JSON-RPC placeOrders behind a held writer: four are queued
    (the limit) and answer SUCCESS once it is released, six answer SERVICE_BUSY at once; while full, REST
    placeOrders (also async, 003:L10630-10636) is the Server fault with HTTP 500, betfairlightweight raises
    APIError naming SERVICE_BUSY, a JSON-RPC batch answers each call on its own (a read still works),
    the admin API answers 503 with Retry-After: 1 and changes nothing; afterwards listCurrentOrders holds
    exactly the successes and the queue accepts again."""
    assert live.server is not None
    balance = live.call(lambda: live.server.engine.exchange.accounts["carol"].balance_minor if live.server else 0)
    with ThreadPoolExecutor(N_CALLS + 2) as pool:
        with held_writer(live, pool) as blocker:
            calls = [pool.submit(rpc, live, client, "placeOrders", place_params(f"busy-{i}"), i)
                     for i in range(N_CALLS)]
            wait_until(lambda: sum(f.done() for f in calls) == N_CALLS - MAX_PENDING)
            assert pending(live) == MAX_PENDING
            busy_refs = {f"busy-{i}" for i, f in enumerate(calls) if f.done()}
            assert all(is_busy_rpc(f.result()) for f in calls if f.done())
            check_rest_and_clients_while_full(live, client)
            r = requests.post(f"{live.base}/admin/v1/accounts/carol/deposits", json={"amount": 5},
                              headers=ADMIN_AUTH, timeout=10)
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert r.json()["error"]["code"] == "SERVICE_BUSY" and r.json()["error"]["message"]
        blocker.result(timeout=10)
        replies = [f.result(timeout=10) for f in calls]
    placed = {f"busy-{i}" for i, reply in enumerate(replies) if not is_busy_rpc(reply)}
    assert len(placed) == MAX_PENDING and placed.isdisjoint(busy_refs)
    assert all(replies[int(ref[5:])]["result"]["status"] == "SUCCESS" for ref in placed)
    current = client.betting.list_current_orders(market_ids=[SOCCER])
    assert {o.customer_order_ref for o in current.orders if o.customer_order_ref} == placed
    assert live.call(lambda: live.server.engine.exchange.accounts["carol"].balance_minor if live.server else 0) \
        == balance  # the refused admin deposit did nothing
    assert rpc(live, client, "placeOrders", place_params("after"))["result"]["status"] == "SUCCESS"
    live.server.engine.exchange.check_invariants()


def check_rest_and_clients_while_full(live: LiveServer, client: betfairlightweight.APIClient) -> None:
    for async_ in (False, True):
        r = requests.post(live.base + REST, json=place_params("rest", async_), headers=headers(client), timeout=10)
        assert r.status_code == 500, r.text
        fault = r.json()
        assert (fault["faultcode"], fault["faultstring"]) == ("Server", "ANGX-0009")
        assert fault["detail"]["exceptionname"] == "APINGException"
        assert fault["detail"]["APINGException"]["errorCode"] == "SERVICE_BUSY"
    with pytest.raises(APIError, match="SERVICE_BUSY"):
        client.betting.place_orders(SOCCER, instructions=[filters.place_instruction(
            order_type="LIMIT", selection_id=ARSENAL, side="BACK", customer_order_ref="bflw",
            limit_order=filters.limit_order(size=2.0, price=50.0, persistence_type="LAPSE"))])
    batch = [{"jsonrpc": "2.0", "method": "SportsAPING/v1.0/placeOrders", "params": place_params("batch"), "id": 1},
             {"jsonrpc": "2.0", "method": "SportsAPING/v1.0/listCurrentOrders", "params": {}, "id": 2}]
    r = requests.post(live.base + RPC, json=batch, headers=headers(client), timeout=10)
    first, second = r.json()
    assert r.status_code == 200 and is_busy_rpc(first) and first["id"] == 1
    assert second["id"] == 2 and "currentOrders" in second["result"]


def test_an_accounts_operation_that_submits_answers_account_apingexception(
        live: LiveServer, client: betfairlightweight.APIClient) -> None:
    """No Accounts operation submits today; one that did would answer SERVICE_BUSY as the Accounts API's
    AccountAPINGException (003:L12820, L12834-12835), prefix AANGX. A test handler stands in for it."""
    assert live.server is not None
    handlers = live.server.app.handlers["AccountAPING"]
    original = handlers["getAccountFunds"]

    async def submitting(ctx: Context, params: Any) -> Any:
        await ctx.submit(Deposit(account_id=ctx.account_id, amount_minor=1))
        return await original(ctx, params)

    live.call(lambda: handlers.__setitem__("getAccountFunds", submitting))
    try:
        with ThreadPoolExecutor(MAX_PENDING + 1) as pool, held_writer(live, pool):
            fill = [pool.submit(live.submit, Deposit(account_id="bob", amount_minor=1)) for _ in range(MAX_PENDING)]
            wait_until(lambda: pending(live) == MAX_PENDING)
            call = {"jsonrpc": "2.0", "method": "AccountAPING/v1.0/getAccountFunds", "params": {}, "id": 3}
            r = requests.post(f"{live.base}/exchange/account/json-rpc/v1", json=call, headers=headers(client),
                              timeout=10)
            assert is_busy_rpc(r.json(), "AccountAPINGException")
            assert r.json()["error"]["message"].startswith("AANGX-")
        for f in fill:
            f.result(timeout=10)
    finally:
        live.call(lambda: handlers.__setitem__("getAccountFunds", original))
