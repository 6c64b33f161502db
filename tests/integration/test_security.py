"""Security over a real socket: one account can never see, cancel or change another account's orders,
funds or statement; expired, logged-out and wrong-application-key sessions are refused; the admin API
refuses anything but its own token.

Already covered elsewhere, not repeated here:
- tests/integration/test_http_clients.py: another account's application key (test_app_key_of_another_
  account_is_refused), a logged-out token on JSON-RPC (test_login_funds_keepalive_logout), JSON-RPC
  NO_APP_KEY on the Betting endpoint (test_jsonrpc_errors_without_session_or_app_key), another
  account's order absent from listCurrentOrders without a filter (test_navigation_catalogue_...).
- tests/integration/test_admin_api.py: every admin route without the token, with a wrong token and
  without the Bearer scheme (test_every_route_refuses_requests_without_the_token).
- tests/unit/test_identity_certs.py, tests/integration/test_certlogin.py: the lockout itself.

Clients are unmodified betfairlightweight where it can say what the attack needs; raw JSON-RPC / REST via
requests where it cannot (extra parameters, missing headers, a token with the wrong key).
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import betfairlightweight
import pytest
import requests
from betfairlightweight import filters
from betfairlightweight.exceptions import APIError, KeepAliveError, LoginError
from live_server import ADMIN_TOKEN, LiveServer

from backlay.core.commands import RunnerResult, SettleMarket
from backlay.demo import DEMO_PASSWORD, demo_app_key
from backlay.identity.store import MAX_FAILED_LOGINS, SESSION_TIMEOUT_MS

SOCCER, TENNIS, RACING = "1.900000001", "1.900000002", "1.900000003"
ARSENAL, CHELSEA, DRAW = 47999, 48044, 58805
ALCARAZ = 2249229
MADE_UP_BET = "999999999999"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "official"
# Every error code asserted in this module: (interface definition, enum or exception, code).
CODES = [
    ("SportsAPING.xml", "InstructionReportErrorCode", "INVALID_BET_ID"),
    ("SportsAPING.xml", "InstructionReportErrorCode", "RELATED_ACTION_FAILED"),
    ("SportsAPING.xml", "ExecutionReportErrorCode", "BET_ACTION_ERROR"),
    *[(xml, exc, code) for xml, exc in (("SportsAPING.xml", "APINGException"),
                                        ("AccountAPING.xml", "AccountAPINGException"),
                                        ("HeartbeatAPING.xml", "APINGException"))
      for code in ("INVALID_SESSION_INFORMATION", "NO_APP_KEY", "NO_SESSION", "INVALID_APP_KEY")],
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-security"))).start()
    yield server
    server.stop()


# --- helpers ---------------------------------------------------------------------------------------


def client_for(live: LiveServer, user: str, app_key: str | None = None, password: str = DEMO_PASSWORD,
               login: bool = True) -> betfairlightweight.APIClient:
    client = betfairlightweight.APIClient(user, password, app_key=app_key or demo_app_key(user))
    client.identity_uri = f"{live.base}/api/"
    client.api_uri = f"{live.base}/exchange/"
    if login:
        client.login_interactive()
    return client


def headers(app_key: str | None, token: str | None) -> dict[str, str]:
    out = {"Content-Type": "application/json"}
    if app_key is not None:
        out["X-Application"] = app_key
    if token is not None:
        out["X-Authentication"] = token
    return out


def creds(client: betfairlightweight.APIClient) -> dict[str, str]:
    return headers(client.app_key, client.session_token)


SERVICE = {"betting": "SportsAPING", "account": "AccountAPING", "heartbeat": "HeartbeatAPING"}


def rpc(live: LiveServer, endpoint: str, method: str, params: dict[str, Any], hdrs: dict[str, str]) -> Any:
    """One JSON-RPC call; always HTTP 200 (betting-api.md §1.5.6)."""
    r = requests.post(f"{live.base}/exchange/{endpoint}/json-rpc/v1", headers=hdrs, timeout=10, json={
        "jsonrpc": "2.0", "method": f"{SERVICE[endpoint]}/v1.0/{method}", "params": params, "id": 42})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == 42
    return body


def rpc_result(live: LiveServer, endpoint: str, method: str, params: dict[str, Any], hdrs: dict[str, str]) -> Any:
    body = rpc(live, endpoint, method, params, hdrs)
    assert "error" not in body, body
    return body["result"]


def rpc_error(live: LiveServer, endpoint: str, method: str, params: dict[str, Any], hdrs: dict[str, str],
              exception: str = "APINGException") -> str:
    """The errorCode of an operation's exception: JSON-RPC -32099, ANGX-00NN / AANGX-00NN, the exception
    under data (003:L8524-8531; betting-api.md §1.5.5-1.5.6)."""
    body = rpc(live, endpoint, method, params, hdrs)
    assert "result" not in body, body
    error = body["error"]
    assert error["code"] == -32099 and error["data"]["exceptionname"] == exception, error
    prefix = "AANGX-" if exception == "AccountAPINGException" else "ANGX-"
    assert error["message"].startswith(prefix)
    return str(error["data"][exception]["errorCode"])


def rest(live: LiveServer, endpoint: str, operation: str, params: dict[str, Any],
         hdrs: dict[str, str]) -> requests.Response:
    return requests.post(f"{live.base}/exchange/{endpoint}/rest/v1.0/{operation}/", headers=hdrs, json=params,
                         timeout=10)


def rest_error(r: requests.Response, exception: str = "APINGException") -> str:
    """A REST fault: HTTP 400, Client, the ANGX code as faultstring and the exception under detail
    (003:L8030-8173, L8583-8590; betting-api.md §1.5.4)."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"faultcode", "faultstring", "detail"} and body["faultcode"] == "Client"
    assert body["detail"]["exceptionname"] == exception
    prefix = "AANGX-" if exception == "AccountAPINGException" else "ANGX-"
    assert body["faultstring"].startswith(prefix)
    return str(body["detail"][exception]["errorCode"])


def limit(selection_id: int, side: str, size: float, price: float, persistence: str = "LAPSE",
          customer_order_ref: str | None = None) -> dict[str, Any]:
    return filters.place_instruction(order_type="LIMIT", selection_id=selection_id, side=side,
                                     limit_order=filters.limit_order(size=size, price=price,
                                                                     persistence_type=persistence),
                                     customer_order_ref=customer_order_ref)


def place(client: betfairlightweight.APIClient, market_id: str, *instructions: dict[str, Any],
          strategy: str | None = None) -> list[str]:
    report = client.betting.place_orders(market_id, instructions=list(instructions), customer_strategy_ref=strategy)
    assert report.status == "SUCCESS", report.error_code
    return [ir.bet_id for ir in report.place_instruction_reports]


def current(client: betfairlightweight.APIClient, **kw: Any) -> list[dict[str, Any]]:
    report = client.betting.list_current_orders(lightweight=True, **kw)
    orders: list[dict[str, Any]] = report["currentOrders"]
    return orders


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def admin(live: LiveServer, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    r = requests.request(method, f"{live.base}/admin/v1{path}", json=body, headers=ADMIN, timeout=10)
    assert r.status_code == status, r.text
    return r.json()


def new_user(live: LiveServer, username: str, password: str, jurisdiction: str = "INT") -> str:
    """An account and login through the admin API; returns its live application key."""
    admin(live, "POST", "/accounts", {"username": username, "password": password, "deposit": "100",
                                      "jurisdiction": jurisdiction}, 201)
    keys = admin(live, "POST", f"/accounts/{username}/app-keys", {"appName": "bot"}, 201)
    return str(next(k["applicationKey"] for k in keys if not k["delayed"]))


def fingerprint(live: LiveServer) -> str:
    assert live.server is not None
    return live.server.engine.exchange.fingerprint()


# --- orders: cancel, replace, update ------------------------------------------------------------------


def test_another_account_cannot_cancel_replace_or_update_a_bet(live: LiveServer) -> None:
    """cancelOrders (003:L10035-10066), replaceOrders (003:L11168-11211) and updateOrders (003:L11142-11166)
    on another account's bet: INVALID_BET_ID, "Bet for id supplied has not been found" (003:L9877), under
    BET_ACTION_ERROR, answered exactly as for a bet id that does not exist, so the answer does not even
    tell that the bet exists: not BET_TAKEN_OR_LAPSED (003:L9844) for a matched one, nor the bet's
    runner, side, size or refs in replace's place echo. Cancel by market and cancel-all (003:L10045-10057)
    touch only the caller's bets. Alice's bets and funds are unchanged, seen through her own session."""
    alice, bob, carol = client_for(live, "alice"), client_for(live, "bob"), client_for(live, "carol")
    (resting,) = place(alice, SOCCER, limit(ARSENAL, "BACK", 3, 7.0, "PERSIST", customer_order_ref="alice-private"),
                       strategy="alice-strategy")
    place(carol, SOCCER, limit(DRAW, "LAY", 2, 3.0))
    (matched,) = place(alice, SOCCER, limit(DRAW, "BACK", 2, 3.0))
    before = current(alice, bet_ids=[resting, matched])
    assert {o["betId"]: o["status"] for o in before} == {resting: "EXECUTABLE", matched: "EXECUTION_COMPLETE"}
    alice_funds = alice.account.get_account_funds(lightweight=True)

    attacks: dict[str, Any] = {
        "cancel": lambda bet: bob.betting.cancel_orders(SOCCER, [filters.cancel_instruction(bet)], lightweight=True),
        "cancel part": lambda bet: bob.betting.cancel_orders(
            SOCCER, [filters.cancel_instruction(bet, size_reduction=1.0)], lightweight=True),
        "cancel elsewhere": lambda bet: bob.betting.cancel_orders(
            TENNIS, [filters.cancel_instruction(bet)], lightweight=True),
        "replace": lambda bet: bob.betting.replace_orders(
            SOCCER, [filters.replace_instruction(bet, 8.0)], lightweight=True),
        "update": lambda bet: bob.betting.update_orders(
            SOCCER, [filters.update_instruction(bet, "LAPSE")], lightweight=True),
    }
    for name, attack in attacks.items():
        unknown = json.dumps(attack(MADE_UP_BET))
        for bet in (resting, matched):
            report = attack(bet)
            assert report["status"] == "FAILURE" and report["errorCode"] == "BET_ACTION_ERROR", (name, report)
            (ir,) = report["instructionReports"]
            assert ir["status"] == "FAILURE" and ir["errorCode"] == "INVALID_BET_ID", (name, ir)
            if name == "replace":
                assert ir["cancelInstructionReport"]["errorCode"] == "INVALID_BET_ID"
                assert ir["placeInstructionReport"]["errorCode"] == "RELATED_ACTION_FAILED"
            # not a word more than for a bet that does not exist
            assert json.dumps(report).replace(bet, MADE_UP_BET) == unknown, (name, report)

    # cancel by market and cancel-all: SUCCESS on bob's own bets only
    (own,) = place(bob, SOCCER, limit(CHELSEA, "BACK", 2, 9.0))
    by_market = bob.betting.cancel_orders(SOCCER, lightweight=True)
    assert by_market["status"] == "SUCCESS"
    assert [r["instruction"]["betId"] for r in by_market["instructionReports"]] == [own]
    (own,) = place(bob, SOCCER, limit(CHELSEA, "BACK", 2, 9.0))
    everything = bob.betting.cancel_orders(lightweight=True)
    assert everything["status"] == "SUCCESS" and everything["instructionReports"] == []
    assert current(bob, bet_ids=[own])[0]["status"] == "EXECUTION_COMPLETE"

    assert current(alice, bet_ids=[resting, matched]) == before
    assert alice.account.get_account_funds(lightweight=True) == alice_funds


def test_customer_refs_are_per_account(live: LiveServer) -> None:
    """customerRef de-duplicates one account's re-submissions (003:L10611-10618): another account using
    the same ref is not refused as DUPLICATE_TRANSACTION, which would tell it the ref was used."""
    alice, bob = client_for(live, "alice"), client_for(live, "bob")
    ref = "shared-ref-1"
    for client in (alice, bob):
        report = client.betting.place_orders(SOCCER, [limit(CHELSEA, "BACK", 2, 11.0)], customer_ref=ref)
        assert report.status == "SUCCESS" and report.customer_ref == ref
    again = bob.betting.place_orders(SOCCER, [limit(CHELSEA, "BACK", 2, 11.0)], customer_ref=ref)
    assert again.status == "FAILURE" and again.error_code == "DUPLICATE_TRANSACTION"  # bob's own, refused
    assert bob.betting.cancel_orders(SOCCER).status == "SUCCESS"
    assert alice.betting.cancel_orders(SOCCER, customer_ref=ref).status == "SUCCESS"


# --- orders: reading -------------------------------------------------------------------------------


def test_another_accounts_orders_positions_and_history_are_invisible(live: LiveServer) -> None:
    """Orders and matches are the caller's own only: listCurrentOrders (003:L10107-10176) by betIds,
    marketIds, strategy refs or no filter; listMarketBook (003:L10218-10302) and listRunnerBook
    (003:L10500-10551) with orderProjection / matchProjection; listMarketProfitAndLoss (003:L10461-10479);
    after settlement listClearedOrders (003:L11213-11343) and getAccountStatement (003:L12760-12801)."""
    alice, bob, carol = client_for(live, "alice"), client_for(live, "bob"), client_for(live, "carol")
    place(carol, RACING, limit(101, "LAY", 10, 4.0), limit(102, "LAY", 5, 5.0))
    (alice_matched,) = place(alice, RACING, limit(101, "BACK", 10, 4.0))
    (alice_resting,) = place(alice, RACING, limit(103, "LAY", 5, 2.0), strategy="alice-strat")
    (bob_matched,) = place(bob, RACING, limit(102, "BACK", 5, 5.0))
    (bob_resting,) = place(bob, RACING, limit(104, "BACK", 2, 20.0), strategy="bob-strat")
    alices, bobs = {alice_matched, alice_resting}, {bob_matched, bob_resting}

    # listCurrentOrders
    assert current(bob, bet_ids=sorted(alices)) == []
    assert {o["betId"] for o in current(bob, market_ids=[RACING])} == bobs
    assert {o["betId"] for o in current(bob)}.isdisjoint(alices)
    assert current(bob, customer_strategy_refs=["alice-strat"]) == []
    assert {o["betId"] for o in current(alice, market_ids=[RACING])} == alices  # the control

    # listMarketBook / listRunnerBook with orders and matches
    def books(**kw: Any) -> list[dict[str, Any]]:
        (book,) = bob.betting.list_market_book([RACING], order_projection="ALL", lightweight=True, **kw)
        runners: list[dict[str, Any]] = book["runners"]
        return runners

    for projection in ("NO_ROLLUP", "ROLLED_UP_BY_PRICE", "ROLLED_UP_BY_AVG_PRICE"):
        runners = {r["selectionId"]: r for r in books(match_projection=projection,
                                                      partition_matched_by_strategy_ref=True)}
        assert {o["betId"] for r in runners.values() for o in r["orders"]} == bobs
        for sel in (101, 103):  # only alice's bets on these runners
            assert runners[sel]["orders"] == [] and runners[sel]["matches"] == [], runners[sel]
            assert not runners[sel].get("matchesByStrategy")
        assert "alice-strat" not in json.dumps(runners)
    assert all(r["orders"] == [] for r in books(bet_ids=sorted(alices)))
    for sel in (101, 103):
        (book,) = bob.betting.list_runner_book(RACING, sel, order_projection="ALL", match_projection="NO_ROLLUP",
                                               lightweight=True)
        (runner,) = book["runners"]
        assert runner["orders"] == [] and runner["matches"] == []
    (alices_view,) = alice.betting.list_runner_book(RACING, 101, order_projection="ALL", lightweight=True)
    assert [o["betId"] for o in alices_view["runners"][0]["orders"]] == [alice_matched]  # the control

    # listMarketProfitAndLoss: bob's position only (£5 backed at 5.0 on 102), never alice's £10 at 4.0 on 101
    (pnl,) = bob.betting.list_market_profit_and_loss([RACING], lightweight=True)
    if_win = {p["selectionId"]: p["ifWin"] for p in pnl["profitAndLosses"]}
    assert if_win == {sel: (20.0 if sel == 102 else -5.0) for sel in range(101, 107)}
    (pnl,) = alice.betting.list_market_profit_and_loss([RACING], lightweight=True)
    assert {p["selectionId"]: p["ifWin"] for p in pnl["profitAndLosses"]}[101] == 30.0

    # settled: alice won on 101, bob lost on 102; the unmatched bets lapsed
    assert live.submit(SettleMarket(market_id=RACING, results=[RunnerResult(selection_id=101)])).ok  # type: ignore[union-attr]
    for status in ("SETTLED", "LAPSED", "CANCELLED", "VOIDED"):
        assert bob.betting.list_cleared_orders(bet_status=status, bet_ids=sorted(alices)).orders == []
        for group_by in (None, "MARKET", "RUNNER", "SIDE", "EVENT", "EVENT_TYPE"):
            cleared = bob.betting.list_cleared_orders(bet_status=status, market_ids=[RACING], group_by=group_by,
                                                      lightweight=True)
            text = json.dumps(cleared)
            assert alice_matched not in text and alice_resting not in text and "alice" not in text
    settled = bob.betting.list_cleared_orders(bet_status="SETTLED", market_ids=[RACING])
    assert [(o.bet_id, o.profit) for o in settled.orders] == [(bob_matched, -5.0)]
    by_market = bob.betting.list_cleared_orders(bet_status="SETTLED", market_ids=[RACING], group_by="MARKET")
    assert [o.profit for o in by_market.orders] == [-5.0]
    assert [o.bet_id for o in alice.betting.list_cleared_orders(bet_ids=[alice_matched]).orders] == [alice_matched]

    refs = {item.ref_id for item in bob.account.get_account_statement().account_statement}
    assert bob_matched in refs and refs.isdisjoint(alices)
    assert alice_matched in {item.ref_id for item in alice.account.get_account_statement().account_statement}


# --- funds, details, statement ---------------------------------------------------------------------


SELECTORS = {"accountId": "alice", "accountIds": ["alice"], "account": "alice", "username": "alice",
             "customerId": "alice", "userName": "alice", "wallet": "UK"}


def test_funds_details_and_statement_answer_only_for_the_session_account(live: LiveServer) -> None:
    """getAccountFunds, getAccountDetails, getAccountStatement (003:L12658-12691, L12724-12801) take no
    account parameter: the session's account is the only one. Parameters that might name another account
    are ignored (unknown keys, betting-api.md §1.4) on JSON-RPC and REST alike; so is accountId on
    listCurrentOrders. Alice's new exposure never shows in bob's funds; bob's getDeveloperAppKeys
    (003:L12693-12722) lists only bob's keys, and a markets filter withOrders (003:L11453-11534) looks at
    the caller's orders only."""
    alice, bob = client_for(live, "alice"), client_for(live, "bob")
    h = creds(bob)
    ops = ("getAccountFunds", "getAccountDetails", "getAccountStatement")
    baseline = {op: rpc_result(live, "account", op, {}, h) for op in ops}
    assert baseline["getAccountDetails"]["firstName"] == "bob"

    exposure = alice.account.get_account_funds().exposure
    (bet,) = place(alice, TENNIS, limit(ALCARAZ, "BACK", 500, 1.5))
    assert alice.account.get_account_funds().exposure == exposure - 500.0
    for op in ops:
        assert rpc_result(live, "account", op, {}, h) == baseline[op], op
        assert rpc_result(live, "account", op, SELECTORS, h) == baseline[op], op
        r = rest(live, "account", op, SELECTORS, h)
        assert r.status_code == 200 and r.json() == baseline[op], op
    orders = rpc_result(live, "betting", "listCurrentOrders", {"accountId": "alice", "betIds": [bet]}, h)
    assert orders["currentOrders"] == []
    r = rest(live, "betting", "listCurrentOrders", {"accountId": "alice"}, h)
    assert r.status_code == 200 and bet not in r.text

    apps = rpc_result(live, "account", "getDeveloperAppKeys", SELECTORS, {"X-Authentication": bob.session_token or ""})
    keys = {v["applicationKey"] for app in apps for v in app["appVersions"]}
    assert keys == {demo_app_key("bob"), demo_app_key("bob") + "-delayed"}

    def with_orders(client: betfairlightweight.APIClient) -> set[str]:
        cats = client.betting.list_market_catalogue(filter=filters.market_filter(with_orders=["EXECUTABLE"]),
                                                    max_results=100)
        return {c.market_id for c in cats}

    assert TENNIS in with_orders(alice) and TENNIS not in with_orders(bob)
    assert alice.betting.cancel_orders(TENNIS).status == "SUCCESS"


# --- sessions ----------------------------------------------------------------------------------------


def test_an_expired_session_is_refused_everywhere(live: LiveServer) -> None:
    """A session expires after its jurisdiction's timeout, 12 hours on the international exchange
    (003:L5046-5053): then INVALID_SESSION_INFORMATION, "invalid or has expired" (003:L9979-9980,
    L12828-12830), on every endpoint; keepAlive and logout answer FAIL / NO_SESSION (003:L5085-5098,
    L12842-12847) and do not revive it. The session is made through the store with a login time 12 hours
    in the past: the same code path as a login then, and no wait."""
    assert live.server is not None
    identity = live.server.identity
    key = demo_app_key("alice")
    alice = client_for(live, "alice")
    exposure = alice.account.get_account_funds().exposure
    (bet,) = place(alice, TENNIS, limit(ALCARAZ, "BACK", 2, 1.9))
    old = identity.login("alice", DEMO_PASSWORD, key, wall_ms() - SESSION_TIMEOUT_MS["INT"] - 1_000)
    almost = identity.login("alice", DEMO_PASSWORD, key, wall_ms() - SESSION_TIMEOUT_MS["INT"] + 60_000)
    assert old.status == almost.status == "SUCCESS"
    assert identity.session(old.token, wall_ms()) is None

    def refused(token: str) -> None:
        h = headers(key, token)
        assert rpc_error(live, "betting", "listCurrentOrders", {}, h) == "INVALID_SESSION_INFORMATION"
        assert rpc_error(live, "betting", "cancelOrders", {}, h) == "INVALID_SESSION_INFORMATION"
        assert rpc_error(live, "account", "getAccountFunds", {}, h,
                         "AccountAPINGException") == "INVALID_SESSION_INFORMATION"
        assert rpc_error(live, "account", "getDeveloperAppKeys", {}, {"X-Authentication": token},
                         "AccountAPINGException") == "INVALID_SESSION_INFORMATION"
        assert rpc_error(live, "heartbeat", "heartbeat", {"preferredTimeoutSeconds": 10}, h) \
            == "INVALID_SESSION_INFORMATION"
        assert rest_error(rest(live, "betting", "listCurrentOrders", {}, h)) == "INVALID_SESSION_INFORMATION"
        assert rest_error(rest(live, "account", "getAccountStatement", {}, h),
                          "AccountAPINGException") == "INVALID_SESSION_INFORMATION"
        client = client_for(live, "alice", login=False)
        client.set_session_token(token)
        with pytest.raises(APIError, match="INVALID_SESSION_INFORMATION"):
            client.betting.list_current_orders()
        for op in ("keepAlive", "logout"):
            r = requests.post(f"{live.base}/api/{op}", headers={**h, "Accept": "application/json"}, timeout=10)
            assert r.status_code == 200
            assert r.json() == {"token": token, "product": key, "status": "FAIL", "error": "NO_SESSION"}
        with pytest.raises(KeepAliveError, match="NO_SESSION"):
            client.keep_alive()

    refused(old.token)
    refused(old.token)  # keepAlive did not bring it back
    assert rpc_result(live, "account", "getAccountFunds", {}, headers(key, almost.token))["exposure"] == exposure - 2
    # the refused cancel-all did nothing
    assert [o["betId"] for o in current(alice, market_ids=[TENNIS], order_projection="EXECUTABLE")] == [bet]
    assert alice.betting.cancel_orders(TENNIS).status == "SUCCESS"


def test_the_session_timeout_follows_the_jurisdiction(live: LiveServer) -> None:
    """20 minutes on the Italian and Spanish exchanges, 12 hours elsewhere (003:L5046-5053): a session
    of an IT user that logged in 21 minutes ago is refused while bob's of the same age works; keepAlive
    extends a live IT session by 20 minutes from now (003:L5044-5045)."""
    assert live.server is not None
    identity = live.server.identity
    key = new_user(live, "giulia", "password-of-giulia", jurisdiction="IT")
    ago = wall_ms() - 21 * 60_000
    it_old = identity.login("giulia", "password-of-giulia", key, ago).token
    int_old = identity.login("bob", DEMO_PASSWORD, demo_app_key("bob"), ago).token
    assert rpc_error(live, "account", "getAccountFunds", {}, headers(key, it_old),
                     "AccountAPINGException") == "INVALID_SESSION_INFORMATION"
    assert rpc_result(live, "account", "getAccountDetails", {}, headers(demo_app_key("bob"), int_old))["firstName"] \
        == "bob"

    giulia = client_for(live, "giulia", app_key=key, password="password-of-giulia")
    token = giulia.session_token or ""
    assert giulia.account.get_account_funds().available_to_bet_balance == 100.0
    now = wall_ms()
    assert identity.session(token, now + 19 * 60_000) is not None
    assert identity.session(token, now + 21 * 60_000) is None
    time.sleep(0.05)
    giulia.keep_alive()
    assert giulia.session_token == token
    extended = identity.session(token, wall_ms())
    assert extended is not None and now + 20 * 60_000 < extended.expires_ms <= wall_ms() + 20 * 60_000


def test_a_logged_out_token_is_refused_on_rest_and_by_keepalive(live: LiveServer) -> None:
    """After logout (003:L5115-5155) the token is dead on REST as on JSON-RPC (stream-identity-accounts.md
    §5.5): INVALID_SESSION_INFORMATION, and keepAlive / a second logout answer NO_SESSION. Another session
    of the same user is not ended by it."""
    alice, other = client_for(live, "alice"), client_for(live, "alice")
    token = alice.session_token or ""
    alice.logout()
    h = headers(demo_app_key("alice"), token)
    assert rest_error(rest(live, "betting", "listCurrentOrders", {}, h)) == "INVALID_SESSION_INFORMATION"
    assert rest_error(rest(live, "betting", "placeOrders", {"marketId": TENNIS, "instructions": [
        limit(ALCARAZ, "BACK", 2, 1.9)]}, h)) == "INVALID_SESSION_INFORMATION"
    assert rest_error(rest(live, "account", "getAccountFunds", {}, h),
                      "AccountAPINGException") == "INVALID_SESSION_INFORMATION"
    for op in ("keepAlive", "logout"):
        r = requests.post(f"{live.base}/api/{op}", headers={**h, "Accept": "application/json"}, timeout=10)
        assert r.json()["status"] == "FAIL" and r.json()["error"] == "NO_SESSION"
    # the refused placeOrders placed nothing
    assert current(other, market_ids=[TENNIS], order_projection="EXECUTABLE") == []
    other.keep_alive()
    assert other.account.get_account_details().first_name == "alice"


def test_a_lockout_keeps_existing_sessions_valid(live: LiveServer) -> None:
    """Ten wrong passwords lock the login for 20 minutes: ACCOUNT_NOW_LOCKED, then ACCOUNT_ALREADY_LOCKED
    even with the right one (003:L5495-5499), but existing sessions stay valid, as the spec says of the
    20-minute login block (003:L4848-4849) and the identity store's docstring of its lockout: the session
    made before the lockout still reads, bets and keeps alive.
    Another user's login is not affected."""
    key = new_user(live, "lena", "password-of-lena")
    lena = client_for(live, "lena", app_key=key, password="password-of-lena")
    statuses = []
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(LoginError) as e:
            client_for(live, "lena", app_key=key, password="a-guess")
        statuses.append(str(e.value))
    assert all("INVALID_USERNAME_OR_PASSWORD" in s for s in statuses[:-1]) and "ACCOUNT_NOW_LOCKED" in statuses[-1]
    with pytest.raises(LoginError, match="ACCOUNT_ALREADY_LOCKED"):
        client_for(live, "lena", app_key=key, password="password-of-lena")

    assert lena.account.get_account_funds().available_to_bet_balance == 100.0
    (bet,) = place(lena, TENNIS, limit(ALCARAZ, "BACK", 2, 1.9))
    lena.keep_alive()
    assert lena.betting.cancel_orders(TENNIS, [filters.cancel_instruction(bet)]).status == "SUCCESS"
    assert client_for(live, "bob").session_token


# --- application keys and headers -------------------------------------------------------------------


def test_an_application_key_works_only_with_its_own_accounts_sessions(live: LiveServer) -> None:
    """INVALID_APP_KEY, "invalid or is not present" (003:L9987, L12833): an application key of another
    account (live or delayed, 003:L4717-4719), a made-up one, or the admin token as one; and the admin
    token or an application key is no session token (INVALID_SESSION_INFORMATION). A refused cancel-all
    cancels nothing; bob's own delayed key with bob's session works (the control)."""
    alice, bob = client_for(live, "alice"), client_for(live, "bob")
    (bet,) = place(alice, TENNIS, limit(ALCARAZ, "BACK", 2, 1.9))
    a_token, b_token = alice.session_token, bob.session_token

    for app_key, token in ((demo_app_key("bob"), a_token), (demo_app_key("bob") + "-delayed", a_token),
                           (demo_app_key("alice") + "-delayed", b_token), (demo_app_key("alice"), b_token),
                           ("made-up-application-key", a_token), (ADMIN_TOKEN, a_token)):
        h = headers(app_key, token)
        assert rpc_error(live, "betting", "cancelOrders", {}, h) == "INVALID_APP_KEY", app_key
        assert rpc_error(live, "betting", "listCurrentOrders", {"betIds": [bet]}, h) == "INVALID_APP_KEY"
        assert rpc_error(live, "heartbeat", "heartbeat", {"preferredTimeoutSeconds": 10}, h) == "INVALID_APP_KEY"
        assert rpc_error(live, "account", "getAccountFunds", {}, h, "AccountAPINGException") == "INVALID_APP_KEY"
        assert rest_error(rest(live, "betting", "cancelOrders", {}, h)) == "INVALID_APP_KEY"
        assert rest_error(rest(live, "account", "getAccountStatement", {}, h),
                          "AccountAPINGException") == "INVALID_APP_KEY"

    delayed = client_for(live, "bob", login=False, app_key=demo_app_key("alice") + "-delayed")
    delayed.set_session_token(b_token)
    with pytest.raises(APIError, match="INVALID_APP_KEY"):
        delayed.betting.list_market_book([TENNIS], order_projection="ALL")

    for not_a_session in (ADMIN_TOKEN, demo_app_key("alice"), ""):
        h = headers(demo_app_key("alice"), not_a_session)
        code = rpc_error(live, "betting", "listCurrentOrders", {}, h)
        assert code == ("NO_SESSION" if not not_a_session else "INVALID_SESSION_INFORMATION"), not_a_session

    assert [o["betId"] for o in current(alice, market_ids=[TENNIS], order_projection="EXECUTABLE")] == [bet]
    own_delayed = client_for(live, "bob", login=False, app_key=demo_app_key("bob") + "-delayed")
    own_delayed.set_session_token(b_token)
    assert own_delayed.account.get_account_details().first_name == "bob"
    assert alice.betting.cancel_orders(TENNIS).status == "SUCCESS"


def test_missing_headers_on_every_endpoint(live: LiveServer) -> None:
    """No X-Application: NO_APP_KEY; no X-Authentication: NO_SESSION (003:L9981-9984, Accounts
    L12842-12850), as JSON-RPC -32099 with HTTP 200 (betting-api.md §1.5.6) and as a REST fault with
    HTTP 400 (§1.5.4), on the Accounts and Heartbeat endpoints and Betting REST (Betting JSON-RPC is in
    test_http_clients.py). createDeveloperAppKeys / getDeveloperAppKeys need no application key
    (003:L4738-4739) but still a session. The navigation menu (003:L8713-8721) needs both."""
    key = demo_app_key("carol")
    none: dict[str, str] = headers(None, None)
    key_only = headers(key, None)
    assert rpc_error(live, "account", "getAccountFunds", {}, none, "AccountAPINGException") == "NO_APP_KEY"
    assert rpc_error(live, "account", "getAccountFunds", {}, key_only, "AccountAPINGException") == "NO_SESSION"
    assert rpc_error(live, "account", "getDeveloperAppKeys", {}, none, "AccountAPINGException") == "NO_SESSION"
    assert rpc_error(live, "account", "createDeveloperAppKeys", {"appName": "x"}, none,
                     "AccountAPINGException") == "NO_SESSION"
    assert rpc_error(live, "heartbeat", "heartbeat", {"preferredTimeoutSeconds": 10}, none) == "NO_APP_KEY"
    assert rpc_error(live, "heartbeat", "heartbeat", {"preferredTimeoutSeconds": 10}, key_only) == "NO_SESSION"
    assert rpc_error(live, "betting", "placeOrders", {"marketId": TENNIS, "instructions": [
        limit(ALCARAZ, "BACK", 2, 1.9)]}, key_only) == "NO_SESSION"

    assert rest_error(rest(live, "betting", "listCurrentOrders", {}, none)) == "NO_APP_KEY"
    assert rest_error(rest(live, "betting", "cancelOrders", {}, key_only)) == "NO_SESSION"
    assert rest_error(rest(live, "account", "getAccountFunds", {}, none), "AccountAPINGException") == "NO_APP_KEY"
    assert rest_error(rest(live, "account", "getAccountStatement", {}, key_only),
                      "AccountAPINGException") == "NO_SESSION"
    assert rest_error(rest(live, "account", "getDeveloperAppKeys", {}, none), "AccountAPINGException") == "NO_SESSION"

    menu = f"{live.base}/exchange/betting/rest/v1/en/navigation/menu.json"
    assert rest_error(requests.get(menu, headers=none, timeout=10)) == "NO_APP_KEY"
    assert rest_error(requests.get(menu, headers=key_only, timeout=10)) == "NO_SESSION"


# --- the admin API ----------------------------------------------------------------------------------


def test_the_admin_api_refuses_user_credentials(live: LiveServer) -> None:
    """The admin API takes only its own bearer token (docs/admin-api.md, Authentication): a user's session
    token, application key or password as the bearer token, the admin token in Betfair's X-Authentication
    header or under another scheme: 401 UNAUTHORIZED, and nothing changes."""
    alice = client_for(live, "alice")
    before = fingerprint(live)
    attempts = [{"Authorization": f"Bearer {alice.session_token}"},
                {"Authorization": f"Bearer {demo_app_key('alice')}"},
                {"Authorization": f"Bearer {DEMO_PASSWORD}"},
                {**creds(alice)},
                {"X-Authentication": ADMIN_TOKEN, "X-Application": ADMIN_TOKEN},
                {"Authorization": f"Basic {ADMIN_TOKEN}"},
                {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"},
                {"Authorization": f"Bearer {ADMIN_TOKEN}x"}]
    routes = [("GET", "/accounts", None), ("GET", "/accounts/alice", None),
              ("GET", "/accounts/alice/app-keys", None),
              ("POST", "/accounts/alice/withdrawals", {"amount": "1"}),
              ("POST", "/accounts/alice/app-keys", {"appName": "stolen"}),
              ("PUT", "/accounts/bob/status", {"status": "SUSPENDED"}),
              ("POST", f"/markets/{SOCCER}/suspend", {}),
              ("POST", "/accounts", {"username": "mallory", "password": "password-of-mallory"})]
    for hdrs in attempts:
        for method, path, body in routes:
            r = requests.request(method, f"{live.base}/admin/v1{path}", json=body, headers=hdrs, timeout=10)
            assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED", (hdrs, method, path)
            assert "alice" not in r.text and "balance" not in r.text
    assert fingerprint(live) == before
    assert [k["applicationKey"] for k in admin(live, "GET", "/accounts/alice/app-keys")] == \
        [demo_app_key("alice"), demo_app_key("alice") + "-delayed"]
    with pytest.raises(LoginError):
        client_for(live, "mallory", password="password-of-mallory")


def test_the_openapi_document_is_public_but_reveals_no_data(live: LiveServer) -> None:
    """GET /admin/v1/openapi.json needs no token (docs/admin-api.md) and describes routes only: no account,
    key, token, password, market or balance of this exchange appears in it."""
    alice = client_for(live, "alice")
    r = requests.get(f"{live.base}/admin/v1/openapi.json", timeout=10)
    assert r.status_code == 200 and r.json()["openapi"].startswith("3.")
    text = r.text.lower()
    secrets = [ADMIN_TOKEN, alice.session_token or "?", DEMO_PASSWORD, "demo-alice-key", "demo-",
               "alice", "carol", "bob\"", SOCCER, TENNIS, RACING, "arsenal", "alcaraz"]
    assert [s for s in secrets if s.lower() in text] == []
    # the same document with the token: it is not a per-caller view
    assert requests.get(f"{live.base}/admin/v1/openapi.json", headers=ADMIN, timeout=10).text == r.text


# --- the codes asserted above ------------------------------------------------------------------------


@pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"interface definitions not found: {SPEC_DIR}")
@pytest.mark.parametrize(("xml", "enum", "code"), CODES)
def test_every_code_asserted_here_is_documented(xml: str, enum: str, code: str) -> None:
    """Each error code this module expects is a value of the enum the official interface definition
    declares for it (../shared/spec/official)."""
    root = ET.parse(SPEC_DIR / xml).getroot()
    ns = root.tag.partition("}")[0] + "}" if root.tag.startswith("{") else ""
    values: set[str] = set()
    for node in root.iter():
        if node.tag in (f"{ns}simpleType", f"{ns}exceptionType") and node.get("name") == enum:
            values |= {v.get("name", "") for v in node.iter(f"{ns}value")}
    assert code in values, (xml, enum, sorted(values))
