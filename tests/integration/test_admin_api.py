"""The admin API over a real socket: an operator builds a world (accounts, catalogue, markets), a user
trades on it with unmodified betfairlightweight, and the operator runs the market's lifecycle to
settlement and resettlement; race statuses reach listRaceDetails. Bad input gets a documented error and
changes nothing; nothing works without the token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import betfairlightweight
import pytest
import requests
from betfairlightweight import filters
from live_server import ADMIN_AUTH as AUTH
from live_server import ADMIN_TOKEN, LiveServer, admin


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-admin"))).start()
    yield server
    server.stop()


def error(live: LiveServer, method: str, path: str, body: Any, status: int) -> str:
    reply = admin(live, method, path, body, status)
    assert set(reply) == {"error"} and reply["error"]["message"]
    return str(reply["error"]["code"])


def state(live: LiveServer) -> tuple[object, ...]:
    """The exchange state but its clock (a refused command still tells the core the time)."""
    assert live.server is not None
    ex = live.server.engine.exchange
    return (tuple(a.state_tuple() for a in ex.accounts.values()), tuple(m.state_tuple() for m in ex.markets.values()),
            ex.catalogue.state_tuple(), ex.ledger.state_tuple())


def login(live: LiveServer, username: str, password: str, app_key: str) -> betfairlightweight.APIClient:
    client = betfairlightweight.APIClient(username, password, app_key=app_key)
    client.identity_uri = f"{live.base}/api/"
    client.api_uri = f"{live.base}/exchange/"
    client.login_interactive()
    return client


def test_the_openapi_document_describes_every_route(live: LiveServer) -> None:
    doc = requests.get(f"{live.base}/admin/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.") and doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert ("POST", "/admin/v1/markets/{marketId}/settle") in ops and len(ops) == 39  # 6 of them fixed-odds
    assert all(p.startswith("/admin/v1/") for _, p in ops)


def test_every_route_refuses_requests_without_the_token(live: LiveServer) -> None:
    """The admin API refuses requests without its bearer token (401), and changes nothing."""
    doc = requests.get(f"{live.base}/admin/v1/openapi.json", timeout=10).json()
    before = live.server.engine.exchange.fingerprint() if live.server else ""
    for path, item in doc["paths"].items():
        concrete = path.replace("{selectionId}", "1").replace("{", "x").replace("}", "")
        for method in item:
            for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": ADMIN_TOKEN}):
                r = requests.request(method, f"{live.base}{concrete}", json={}, headers=headers, timeout=10)
                assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED", (method, path)
    assert live.server is not None and live.server.engine.exchange.fingerprint() == before


def test_an_operator_builds_a_world_that_a_client_trades_on(live: LiveServer) -> None:
    """Accounts, app keys, event type, competition, event and market through the admin API; the user logs
    in and trades with betfairlightweight; the catalogue shows the operator's names (003:L2244-2262)."""
    for name in ("dave", "erin"):
        acct = admin(live, "POST", "/accounts", {"username": name, "password": "correct horse", "deposit": "500.25"},
                     201)
        assert (acct["accountId"], acct["balance"], acct["availableToBet"]) == (name, 500.25, 500.25)
    keys = admin(live, "POST", "/accounts/dave/app-keys", {"appName": "bot"}, 201)
    assert sorted(k["delayed"] for k in keys) == [False, True]
    live_key = next(k["applicationKey"] for k in keys if not k["delayed"])
    erin_key = next(k["applicationKey"] for k in admin(live, "POST", "/accounts/erin/app-keys", {"appName": "x"}, 201)
                    if not k["delayed"])

    admin(live, "PUT", "/event-types/7", {"name": "Horse Racing"})
    admin(live, "PUT", "/competitions/55", {"name": "Flat", "eventTypeId": "7", "competitionRegion": "GBR"})
    admin(live, "PUT", "/events/3001", {"name": "Kempton 22nd Nov", "eventTypeId": "7", "competitionId": "55",
                                        "countryCode": "GB", "venue": "Kempton",
                                        "openDate": "2026-11-22T13:00:00.000Z"})
    market = admin(live, "POST", "/markets", {
        "marketId": "1.300000001", "marketName": "2m Hcap", "marketType": "WIN", "eventId": "3001",
        "marketTime": "2026-11-22T14:30:00.000Z", "marketBaseRate": 2.5, "open": True,
        "runners": [{"selectionId": 11, "runnerName": "Alpha"}, {"selectionId": 12, "runnerName": "Bravo"},
                    {"selectionId": 13, "runnerName": "Charlie"}]}, 201)
    assert market["status"] == "OPEN" and market["definition"]["eventName"] == "Kempton 22nd Nov"
    assert market["definition"]["marketBaseRate"] == 2.5 and market["definition"]["venue"] == "Kempton"

    dave = login(live, "dave", "correct horse", live_key)
    erin = login(live, "erin", "correct horse", erin_key)
    cat = dave.betting.list_market_catalogue(filter=filters.market_filter(market_ids=["1.300000001"]),
                                             market_projection=["EVENT", "EVENT_TYPE", "COMPETITION"])
    assert (cat[0].event.name, cat[0].event_type.name, cat[0].competition.name) == ("Kempton 22nd Nov",
                                                                                     "Horse Racing", "Flat")
    back = filters.place_instruction(order_type="LIMIT", selection_id=11, side="BACK",
                                     limit_order=filters.limit_order(size=10, price=4.0, persistence_type="LAPSE"))
    lay = filters.place_instruction(order_type="LIMIT", selection_id=11, side="LAY",
                                    limit_order=filters.limit_order(size=10, price=4.0, persistence_type="LAPSE"))
    assert dave.betting.place_orders(market_id="1.300000001", instructions=[back]).status == "SUCCESS"
    assert erin.betting.place_orders(market_id="1.300000001", instructions=[lay]).status == "SUCCESS"

    # the lifecycle: suspend, open, in-play, a non-runner, settle, resettle
    assert admin(live, "POST", "/markets/1.300000001/suspend", {"reason": "stewards"})["status"] == "SUSPENDED"
    assert admin(live, "POST", "/markets/1.300000001/open")["status"] == "OPEN"
    assert admin(live, "POST", "/markets/1.300000001/in-play", {"betDelay": 1})["inplay"] is True
    removed = admin(live, "POST", "/markets/1.300000001/runners/13/remove", {"adjustmentFactor": 10})
    assert next(r for r in removed["runners"] if r["selectionId"] == 13)["status"] == "REMOVED"
    settled = admin(live, "POST", "/markets/1.300000001/settle", {"winners": [11]})
    assert settled["settled"] and settled["status"] == "CLOSED"
    # Alpha won: dave's £10 at 4.0, its odds reduced by 10% (003:L6729-6757) to 3.7, wins £27 less 2.5%
    assert admin(live, "GET", "/accounts/dave")["balance"] == 500.25 + 26.32
    admin(live, "POST", "/markets/1.300000001/resettle", {"winners": [12]})
    assert admin(live, "GET", "/accounts/dave")["balance"] == 490.25
    assert admin(live, "GET", "/accounts/erin")["balance"] == 510.0
    cleared = dave.betting.list_cleared_orders(bet_status="SETTLED", market_ids=["1.300000001"])
    assert [o.bet_outcome for o in cleared.orders] == ["LOST"]


def test_race_status_reaches_list_race_details(live: LiveServer) -> None:
    """003:L8856-9044: listRaceDetails by meetingIds / raceIds, statuses set by the operator."""
    admin(live, "PUT", "/races/3001.1430", {"raceStatus": "PARADING"})
    race = admin(live, "PUT", "/races/3001.1430", {"raceStatus": "GOINGDOWN"})
    assert race["sequence"] >= 2 and race["meetingId"] == "3001"
    admin(live, "PUT", "/races/3002.1500", {"raceStatus": "DORMANT"})
    assert error(live, "PUT", "/races/3001.2599", {"raceStatus": "OFF"}, 400) == "INVALID_RACE_STATUS"
    assert error(live, "PUT", "/races/3001.1430", {"raceStatus": "RUNNING"}, 400) == "INVALID_INPUT"
    client = login(live, "alice", "backlay-demo", "demo-alice-key")
    races = client.scores.list_race_details(meeting_ids=["3001"])
    assert [(r.race_id, r.race_status, r.response_code) for r in races] == [("3001.1430", "GOINGDOWN", "OK")]
    assert races[0].last_updated is not None
    assert len(client.scores.list_race_details()) == 2
    assert [r.race_id for r in client.scores.list_race_details(race_ids=["3002.1500"])] == ["3002.1500"]


def test_bad_input_gets_a_documented_error_and_changes_nothing(live: LiveServer) -> None:
    before = state(live)
    assert error(live, "GET", "/accounts/nobody", None, 404) == "NO_SUCH_ACCOUNT"
    assert error(live, "POST", "/accounts/alice/deposits", {"amount": "1.234"}, 400) == "INVALID_INPUT"
    assert error(live, "POST", "/accounts/alice/deposits", {"amount": -5}, 400) == "INVALID_AMOUNT"
    assert error(live, "POST", "/accounts/alice/deposits", {"amount": "NaN"}, 400) == "INVALID_INPUT"
    assert error(live, "POST", "/accounts/alice/deposits", {"amount": 5, "amuont": 6}, 400) == "INVALID_INPUT"
    assert error(live, "POST", "/accounts/nobody/deposits", {"amount": 5}, 404) == "NO_SUCH_ACCOUNT"
    assert error(live, "POST", "/accounts/carol/withdrawals", {"amount": 10**9}, 409) == "INSUFFICIENT_FUNDS"
    assert error(live, "POST", "/accounts", {"username": "alice", "password": "12345678"}, 409) == "USERNAME_EXISTS"
    assert error(live, "POST", "/accounts", {"username": "zed", "password": "12345678", "accountId": "alice"},
                 409) == "ACCOUNT_EXISTS"
    assert error(live, "POST", "/markets/1.900000001/settle", {"winners": [999]}, 400) == "INVALID_RESULT"
    assert error(live, "POST", "/markets/1.900000001/unsettle", None, 409) == "INVALID_STATE_TRANSITION"
    assert error(live, "PATCH", "/markets/1.900000001", {"bettingType": "LINE"}, 400) == "INVALID_MARKET_DEFINITION"
    assert error(live, "POST", "/markets/1.999/open", None, 404) == "NO_SUCH_MARKET"
    assert error(live, "DELETE", "/markets/1.900000001", None, 405) == "METHOD_NOT_ALLOWED"
    assert error(live, "GET", "/nothing-here", None, 404) == "NOT_FOUND"
    assert error(live, "PUT", "/events/9", {"name": "X", "eventTypeId": "999"}, 400) == "INVALID_CATALOGUE_ENTRY"
    r = requests.post(f"{live.base}/admin/v1/accounts", data=b"{not json", headers=AUTH, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_INPUT"
    assert state(live) == before


def test_patch_changes_a_market_definition_with_a_new_version(live: LiveServer) -> None:
    """003:L10853-10909: a definition change bumps marketVersion."""
    market = admin(live, "GET", "/markets/1.900000002")
    patched = admin(live, "PATCH", "/markets/1.900000002", {"marketTime": "2026-12-01T12:00:00Z",
                                                            "clarifications": "start moved"})
    assert patched["version"] == market["version"] + 1
    assert patched["definition"]["marketTime"] == "2026-12-01T12:00:00.000Z"
    assert patched["definition"]["clarifications"] == "start moved"


def test_account_limits_and_status(live: LiveServer) -> None:
    acct = admin(live, "PUT", "/accounts/carol/limits", {"exposureLimit": 50, "lossLimit": "20.50",
                                                         "maxPriceImprovementTicks": 3})
    assert (acct["exposureLimit"], acct["lossLimit"], acct["maxPriceImprovementTicks"]) == (50, 20.5, 3)
    acct = admin(live, "PUT", "/accounts/carol/limits", {"lossLimit": None})
    assert "lossLimit" not in acct and acct["exposureLimit"] == 50
    assert admin(live, "PUT", "/accounts/carol/status", {"status": "SUSPENDED"})["status"] == "SUSPENDED"
    assert admin(live, "PUT", "/accounts/carol/status", {"status": "ACTIVE"})["status"] == "ACTIVE"


def test_a_certificate_registered_through_the_admin_api_logs_in(live: LiveServer, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """003:L5376-5612: certlogin with a client certificate linked to the account (here through the admin
    API, 003:L5437-5445), on the cert host over HTTPS; unmodified betfairlightweight `login()`."""
    from backlay.identity import tls

    pem, key = tls.generate_client_cert("bob-bot")
    (tmp_path / "client-2048.crt").write_text(pem)
    (tmp_path / "client-2048.key").write_text(key)
    assert error(live, "POST", "/accounts/bob/certificates", {"pem": "not a certificate"}, 400) == "INVALID_CERTIFICATE"
    info = admin(live, "POST", "/accounts/bob/certificates", {"pem": pem}, 201)
    assert [c["fingerprint"] for c in admin(live, "GET", "/accounts/bob/certificates")] == [info["fingerprint"]]
    assert live.server is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(live.server.tls_cert_path))
    client = betfairlightweight.APIClient("bob", "backlay-demo", app_key="demo-bob-key", certs=str(tmp_path))
    client.identity_cert_uri = f"https://127.0.0.1:{live.cert_port}/api/"
    client.api_uri = f"{live.base}/exchange/"
    client.login()
    assert client.account.get_account_funds().available_to_bet_balance > 0
    admin(live, "DELETE", f"/accounts/bob/certificates/{info['fingerprint']}")
    assert admin(live, "GET", "/accounts/bob/certificates") == []
    with pytest.raises(betfairlightweight.exceptions.LoginError, match="CERT_AUTH_REQUIRED"):
        client.login()


def test_plain_http_certlogin_only_in_dev_mode(live: LiveServer, tmp_path: Path) -> None:
    """certlogin needs HTTPS and a client certificate; over plain HTTP it exists only in dev mode."""
    import asyncio

    from backlay.betfair.http.app import App
    from backlay.identity.store import IdentityStore

    r = requests.post(f"{live.base}/api/certlogin", data={"username": "bob", "password": "backlay-demo"},
                      headers={"X-Application": "demo-bob-key"}, timeout=10)
    assert r.status_code == 404
    identity = IdentityStore(tmp_path / "identity.db")
    identity.create_user("dev", "dev-password", "dev")
    app = App(lambda: None, None, identity, {}, dev_mode=True)  # type: ignore[arg-type]
    status, body = asyncio.run(app._route("POST", "/api/certlogin", {"x-application": "k"},
                                          b"username=dev&password=dev-password"))
    assert status == 200 and body["loginStatus"] == "SUCCESS" and body["sessionToken"]
    identity.close()


def test_providers_are_registered_listed_and_removed(live: LiveServer) -> None:
    """Issue 17 item 5: providers (id, secret) through the admin API; the secret is shown once."""
    made = admin(live, "POST", "/providers", {"providerId": "acme-admin"}, 201)
    assert made["providerId"] == "acme-admin" and len(made["secret"]) >= 32
    given = admin(live, "POST", "/providers", {"providerId": "acme-given", "secret": "k" * 32}, 201)
    assert given["secret"] == "k" * 32
    assert admin(live, "POST", "/providers", {"providerId": "acme-admin"}, 409)["error"]["code"] == "PROVIDER_EXISTS"
    assert admin(live, "POST", "/providers", {"providerId": "short", "secret": "x"}, 400)["error"]["code"]
    listed = {p["providerId"]: p for p in admin(live, "GET", "/providers")}
    assert {"acme-admin", "acme-given"} <= set(listed) and "secret" not in listed["acme-admin"]
    assert admin(live, "DELETE", "/providers/acme-given") == {"ok": True}
    assert admin(live, "DELETE", "/providers/acme-given", status=404)["error"]["code"] == "NO_SUCH_PROVIDER"


def test_betting_limits_round_trip(live: LiveServer) -> None:
    """Issue 17 item 6: a user's fixed-odds limits are set (replacing the old ones) and read back."""
    limits = {"minStake": "0.50", "maxStake": 500, "blockedUntil": "2030-01-01T00:00:00.000Z",
              "blockReason": "SELF_EXCLUSION",
              "marketTypes": [{"marketTypeId": "MATCH_ODDS", "maxStake": "100", "maxLiability": "250.00"}]}
    got = admin(live, "PUT", "/accounts/carol/betting-limits", limits)
    assert got == {"minStake": 0.5, "maxStake": 500.0, "blockedUntil": "2030-01-01T00:00:00.000Z",
                   "blockReason": "SELF_EXCLUSION",
                   "marketTypes": [{"marketTypeId": "MATCH_ODDS", "maxStake": 100.0, "maxLiability": 250.0}]}
    assert admin(live, "GET", "/accounts/carol/betting-limits") == got
    assert admin(live, "PUT", "/accounts/carol/betting-limits", {}) == {}  # no limits: nothing to show
    bad = admin(live, "PUT", "/accounts/carol/betting-limits", {"maxStake": "-1"}, 400)
    assert bad["error"]["code"] == "INVALID_AMOUNT"
    assert admin(live, "GET", "/accounts/nobody/betting-limits", status=404)["error"]["code"] == "NO_SUCH_ACCOUNT"
    assert admin(live, "GET", "/accounts/carol/fixed-odds-bets") == []
