"""The real server over a real socket, driven by unmodified betfairlightweight: only its URL attributes
are pointed at localhost (identity_uri, api_uri)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import betfairlightweight
import pytest
import requests
from betfairlightweight import filters
from betfairlightweight.exceptions import APIError, LoginError
from live_server import LiveServer

from backlay.demo import DEMO_PASSWORD, demo_app_key

SOCCER = "1.900000001"
ARSENAL = 47999


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay"))).start()
    yield server
    server.stop()


def client_for(live: LiveServer, user: str, app_key: str | None = None) -> betfairlightweight.APIClient:
    client = betfairlightweight.APIClient(user, DEMO_PASSWORD, app_key=app_key or demo_app_key(user))
    client.identity_uri = f"{live.base}/api/"
    client.api_uri = f"{live.base}/exchange/"
    return client


def test_login_funds_keepalive_logout(live: LiveServer) -> None:
    """003:L5158-5243 (login), L5044-5114 (keepAlive), L5115-5155 (logout), L12626-13152 (funds)."""
    client = client_for(live, "alice")
    client.login_interactive()
    assert client.session_token
    funds = client.account.get_account_funds()
    assert funds.available_to_bet_balance == 10_000.0 and funds.exposure == 0.0
    assert client.account.get_account_details().currency_code == "GBP"
    client.keep_alive()
    token = client.session_token
    client.logout()
    with pytest.raises(APIError, match="NO_SESSION"):  # the client dropped its token
        client.account.get_account_funds()
    client.set_session_token(token)  # a logged-out token is refused
    with pytest.raises(APIError, match="INVALID_SESSION_INFORMATION"):
        client.account.get_account_funds()


def test_wrong_password_is_refused(live: LiveServer) -> None:
    """003:L5274-5287: FAIL with INVALID_USERNAME_OR_PASSWORD and no token."""
    client = client_for(live, "bob")
    client.password = "wrong"
    with pytest.raises(LoginError, match="INVALID_USERNAME_OR_PASSWORD"):
        client.login_interactive()


def test_app_key_of_another_account_is_refused(live: LiveServer) -> None:
    """Security: a session works only with its own account's application key (INVALID_APP_KEY, 003:L9987)."""
    client = client_for(live, "carol", app_key=demo_app_key("alice"))
    client.login_interactive()
    with pytest.raises(APIError, match="INVALID_APP_KEY"):
        client.account.get_account_funds()


def test_jsonrpc_errors_without_session_or_app_key(live: LiveServer) -> None:
    """003:L9979-9987: NO_APP_KEY / NO_SESSION as APINGException (-32099) with HTTP 200; -32700 for bad
    JSON; -32601 for an unknown method; the request id is echoed."""
    url = f"{live.base}/exchange/betting/json-rpc/v1"
    r = requests.post(url, data=b'{"jsonrpc":"2.0","method":"SportsAPING/v1.0/cancelOrders","params":{},"id":7}')
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == 7 and body["error"]["code"] == -32099
    assert body["error"]["data"]["APINGException"]["errorCode"] == "NO_APP_KEY"
    r = requests.post(url, data=b"{nope", headers={"X-Application": demo_app_key("alice")})
    assert r.status_code == 200 and r.json()["error"]["code"] == -32700
    r = requests.post(url, data=b'[{"jsonrpc":"2.0","method":"SportsAPING/v1.0/noSuchThing","params":{},"id":1}]')
    assert r.status_code == 200 and r.json()[0]["error"]["code"] == -32601


def test_place_and_cancel_orders(live: LiveServer) -> None:
    """003:L10595-10705: placeOrders through betfairlightweight; the bet rests, then cancelOrders."""
    client = client_for(live, "alice")
    client.login_interactive()
    report = client.betting.place_orders(SOCCER, instructions=[filters.place_instruction(
        order_type="LIMIT", selection_id=ARSENAL, side="BACK",
        limit_order=filters.limit_order(size=2.0, price=5.0, persistence_type="LAPSE"))])
    assert report.status == "SUCCESS"
    ir = report.place_instruction_reports[0]
    assert ir.status == "SUCCESS" and ir.bet_id and ir.size_matched == 0.0
    assert client.account.get_account_funds().exposure == -2.0
    cancel = client.betting.cancel_orders(SOCCER, instructions=[filters.cancel_instruction(ir.bet_id)])
    assert cancel.status == "SUCCESS" and cancel.cancel_instruction_reports[0].size_cancelled == 2.0
    assert client.account.get_account_funds().exposure == 0.0
    # an order that fails validation: the documented error, nothing stored
    bad = client.betting.place_orders(SOCCER, instructions=[filters.place_instruction(
        order_type="LIMIT", selection_id=ARSENAL, side="BACK",
        limit_order=filters.limit_order(size=2.0, price=5.05, persistence_type="LAPSE"))])
    assert bad.status == "FAILURE" and bad.error_code == "BET_ACTION_ERROR"
    assert bad.place_instruction_reports[0].error_code == "INVALID_ODDS"


def test_navigation_catalogue_book_and_current_orders(live: LiveServer) -> None:
    """003:L10198-10216 listEventTypes; L10304-10350 listMarketCatalogue; L10218-10302 listMarketBook
    (availableToBack best first); L10107-10176 listCurrentOrders: through betfairlightweight's resources."""
    client = client_for(live, "bob")
    client.login_interactive()
    names = {r.event_type.name for r in client.betting.list_event_types()}
    assert {"Soccer", "Tennis", "Horse Racing"} <= names
    cats = client.betting.list_market_catalogue(
        filter=filters.market_filter(event_type_ids=["1"]), max_results=10,
        market_projection=["RUNNER_DESCRIPTION", "EVENT", "MARKET_START_TIME", "MARKET_DESCRIPTION"])
    assert [c.market_id for c in cats] == [SOCCER]
    assert {r.runner_name for r in cats[0].runners} >= {"Arsenal", "Chelsea"}
    placed = client.betting.place_orders(SOCCER, instructions=[filters.place_instruction(
        order_type="LIMIT", selection_id=ARSENAL, side="LAY",
        limit_order=filters.limit_order(size=4.0, price=3.0, persistence_type="PERSIST"))])
    assert placed.status == "SUCCESS"
    books = client.betting.list_market_book(
        [SOCCER], price_projection=filters.price_projection(price_data=["EX_BEST_OFFERS", "EX_TRADED"]),
        order_projection="EXECUTABLE")
    runner = next(r for r in books[0].runners if r.selection_id == ARSENAL)
    assert runner.ex.available_to_back[0].price == 3.0 and runner.ex.available_to_back[0].size == 4.0
    assert [o.size for o in runner.orders] == [4.0]
    current = client.betting.list_current_orders()
    assert [o.bet_id for o in current.orders] == [placed.place_instruction_reports[0].bet_id]
    # another account sees the offer in the book but not bob's order
    alice = client_for(live, "alice")
    alice.login_interactive()
    assert not any(o.bet_id == placed.place_instruction_reports[0].bet_id
                   for o in alice.betting.list_current_orders().orders)


def test_heartbeat_and_developer_app_keys(live: LiveServer) -> None:
    """003:L13317-13342 heartbeat through betfairlightweight; 003:L12693-12722 createDeveloperAppKeys
    (a live and a delayed key) and getDeveloperAppKeys; the new live key works for this account."""
    client = client_for(live, "carol")
    client.login_interactive()
    # betfairlightweight has no heartbeat endpoint: the documented request, as a string (003:L13322-13323)
    def beat(seconds: str) -> dict[str, object]:
        r = requests.post(f"{live.base}/exchange/heartbeat/json-rpc/v1", headers=client.request_headers, json={
            "jsonrpc": "2.0", "method": "HeartbeatAPING/v1.0/heartbeat",
            "params": {"preferredTimeoutSeconds": seconds}, "id": 1})
        assert r.status_code == 200
        result: dict[str, object] = r.json()["result"]
        return result
    assert beat("5") == {"actionPerformed": "NONE", "actualTimeoutSeconds": 10}
    assert beat("0") == {"actionPerformed": "NONE", "actualTimeoutSeconds": 0}
    # nor app-key operations: JSON-RPC on the Accounts endpoint, no X-Application needed (003:L4738-4739)
    def account_call(method: str, params: dict[str, object]) -> dict[str, object]:
        r = requests.post(f"{live.base}/exchange/account/json-rpc/v1",
                          headers={"X-Authentication": client.session_token or ""},
                          json={"jsonrpc": "2.0", "method": f"AccountAPING/v1.0/{method}", "params": params, "id": 1})
        assert r.status_code == 200
        body: dict[str, object] = r.json()
        return body
    app = account_call("createDeveloperAppKeys", {"appName": "my-bot"})["result"]
    assert isinstance(app, dict) and app["appName"] == "my-bot"
    versions = app["appVersions"]
    assert isinstance(versions, list) and sorted(v["delayData"] for v in versions) == [False, True]
    apps = account_call("getDeveloperAppKeys", {})["result"]
    assert isinstance(apps, list) and {"demo", "my-bot"} <= {a["appName"] for a in apps}
    client.app_key = next(v["applicationKey"] for v in versions if not v["delayData"])
    assert client.account.get_account_funds().available_to_bet_balance == 2_500.0
    again = account_call("createDeveloperAppKeys", {"appName": "my-bot"})["error"]
    assert isinstance(again, dict) and again["data"]["AccountAPINGException"]["errorCode"] == "UNEXPECTED_ERROR"


def test_navigation_menu(live: LiveServer) -> None:
    """003:L8707-8854: GET .../rest/v1/en/navigation/menu.json: ROOT (id 0) -> EVENT_TYPE -> GROUP /
    EVENT -> MARKET, and RACE nodes for horse racing; through betfairlightweight's navigation endpoint."""
    client = client_for(live, "alice")
    client.navigation_uri = f"{live.base}/exchange/betting/rest/v1/en/navigation/menu.json"
    client.login_interactive()
    root = client.navigation.list_navigation()
    assert (root["id"], root["name"], root["type"]) == (0, "ROOT", "GROUP")
    by_name = {et["name"]: et for et in root["children"]}
    soccer = by_name["Soccer"]
    group = soccer["children"][0]
    assert group["type"] == "GROUP" and group["name"] == "English Premier League"
    event = group["children"][0]
    assert event["type"] == "EVENT" and event["children"][0]["id"] == SOCCER
    assert event["children"][0]["numberOfWinners"] == "1"  # a string here (003:L8843-8854)
    race = by_name["Horse Racing"]["children"][0]
    assert race["type"] == "RACE" and race["venue"] == "Ascot" and race["children"][0]["type"] == "MARKET"


def test_settled_market_history(live: LiveServer) -> None:
    """After settlement: listClearedOrders (003:L11213-11343) at BET and MARKET level,
    listMarketProfitAndLoss (003:L10461-10479) before it, getAccountStatement (001:L1052-1186 shape)."""
    from backlay.core.commands import RunnerResult, SettleMarket

    tennis, alcaraz = "1.900000002", 2249229
    backer, layer = client_for(live, "alice"), client_for(live, "bob")
    backer.login_interactive()
    layer.login_interactive()
    for client, side in ((layer, "LAY"), (backer, "BACK")):
        r = client.betting.place_orders(tennis, instructions=[filters.place_instruction(
            order_type="LIMIT", selection_id=alcaraz, side=side,
            limit_order=filters.limit_order(size=10.0, price=2.0, persistence_type="LAPSE"))])
        assert r.status == "SUCCESS"
    pnl = backer.betting.list_market_profit_and_loss([tennis])
    assert {p.selection_id: p.if_win for p in pnl[0].profit_and_losses}[alcaraz] == 10.0
    assert live.submit(SettleMarket(market_id=tennis, results=[RunnerResult(selection_id=alcaraz)])).ok  # type: ignore[union-attr]
    cleared = backer.betting.list_cleared_orders(bet_status="SETTLED", market_ids=[tennis])
    assert [(o.profit, o.bet_outcome) for o in cleared.orders] == [(10.0, "WON")]
    by_market = backer.betting.list_cleared_orders(bet_status="SETTLED", market_ids=[tennis], group_by="MARKET")
    assert by_market.orders[0].commission == 0.5
    lost = layer.betting.list_cleared_orders(bet_status="SETTLED", market_ids=[tennis])
    assert [o.profit for o in lost.orders] == [-10.0]
    statement = backer.account.get_account_statement()
    amounts = [item.amount for item in statement.account_statement[:2]]
    assert amounts == [-0.5, 10.0]  # newest first: commission, then the winning bet


def test_currency_rates(live: LiveServer) -> None:
    """003:L12803-12816: rates from GBP, the only base currency."""
    client = client_for(live, "bob")
    client.login_interactive()
    rates = {r.currency_code: r.rate for r in client.account.list_currency_rates()}
    assert rates["GBP"] == 1.0 and {"EUR", "USD", "AUD", "SEK"} <= set(rates)
    with pytest.raises(APIError, match="INVALID_INPUT_DATA"):
        client.account.list_currency_rates(from_currency="EUR")


def test_a_delayed_key_sees_delayed_prices(live: LiveServer) -> None:
    """003:L4767-4813: a delayed application key gets delayed prices (isMarketDataDelayed, 003:L11568-11576),
    3 levels, no total matched by selection; a live key of the same account sees them at once."""
    import time

    from live_server import DELAYED_DATA_S

    soccer, draw = "1.900000001", 58805
    carol = client_for(live, "carol")
    carol.login_interactive()
    delayed = client_for(live, "carol", app_key=demo_app_key("carol") + "-delayed")
    delayed.login_interactive()
    lay = filters.place_instruction(order_type="LIMIT", selection_id=draw, side="LAY",
                                    limit_order=filters.limit_order(size=2, price=1.37, persistence_type="LAPSE"))
    placed_at = time.monotonic()  # before: the exchange applies the bet some time after this
    assert carol.betting.place_orders(market_id=soccer, instructions=[lay]).status == "SUCCESS"
    projection = filters.price_projection(price_data=["EX_BEST_OFFERS", "EX_TRADED"],
                                          ex_best_offers_overrides={"bestPricesDepth": 10})

    def best_back(client: betfairlightweight.APIClient) -> list[float]:
        (mb,) = client.betting.list_market_book(market_ids=[soccer], price_projection=projection)
        runner = next(r for r in mb.runners if r.selection_id == draw)
        assert mb.is_market_data_delayed is (client is delayed)
        if client is delayed:
            assert runner.total_matched is None and len(runner.ex.available_to_back) <= 3
        return [p.price for p in runner.ex.available_to_back]

    assert 1.37 in best_back(carol)
    if time.monotonic() - placed_at < DELAYED_DATA_S * 0.5:
        assert 1.37 not in best_back(delayed)
    deadline = time.monotonic() + DELAYED_DATA_S + 5
    while 1.37 not in best_back(delayed):
        assert time.monotonic() < deadline, "the delayed key never saw the price"
        time.sleep(0.2)
    assert time.monotonic() - placed_at >= DELAYED_DATA_S * 0.9


def test_market_book_in_another_currency(live: LiveServer) -> None:
    """003:L10271-10273 currencyCode; an unknown one is INVALID_INPUT_DATA (003:L10016-10017)."""
    client = client_for(live, "alice")
    client.login_interactive()
    pp = filters.price_projection(price_data=["EX_BEST_OFFERS"])
    (gbp,) = client.betting.list_market_book(market_ids=["1.900000001"], price_projection=pp)
    (usd,) = client.betting.list_market_book(market_ids=["1.900000001"], price_projection=pp, currency_code="USD")
    assert usd.total_matched == round(gbp.total_matched * 1.27, 2)
    with pytest.raises(APIError, match="INVALID_INPUT_DATA"):
        client.betting.list_market_book(market_ids=["1.900000001"], currency_code="XXX")
