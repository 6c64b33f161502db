"""Read parameters honoured end to end (issue 16, item 9), as a new user would try them on the demo
server: with unmodified betfairlightweight where it sends the parameter, raw JSON-RPC where it does
not. Each test cites its 003 line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import betfairlightweight
import pytest
import requests
from betfairlightweight import filters
from betfairlightweight.exceptions import APIError
from live_server import LiveServer
from stream_support import client_for

from backlay.demo import demo_app_key

SOCCER = "1.900000001"
CHELSEA = 48044


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-conformance"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def carol(live: LiveServer) -> betfairlightweight.APIClient:
    return client_for(live, "carol")


def rpc(live: LiveServer, client: betfairlightweight.APIClient, method: str, params: Any,
        service: str = "betting") -> dict[str, Any]:
    api = {"betting": "SportsAPING", "account": "AccountAPING"}[service]
    r = requests.post(f"{live.base}/exchange/{service}/json-rpc/v1", timeout=10,
                      headers={"X-Application": client.app_key, "X-Authentication": client.session_token},
                      json={"jsonrpc": "2.0", "method": f"{api}/v1.0/{method}", "params": params, "id": 1})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def error_of(body: dict[str, Any]) -> tuple[str, str]:
    data = body["error"]["data"]
    exc = data[data["exceptionname"]]
    return exc["errorCode"], exc["errorDetails"]


def back(client: betfairlightweight.APIClient, price: float, size: float) -> str:
    ins = filters.place_instruction(order_type="LIMIT", selection_id=CHELSEA, side="BACK",
                                    limit_order=filters.limit_order(size=size, price=price, persistence_type="LAPSE"))
    report = client.betting.place_orders(market_id=SOCCER, instructions=[ins])
    assert report.status == "SUCCESS", report.error_code
    return str(report.place_instruction_reports[0].bet_id)


def test_a_small_level_is_rolled_up(live: LiveServer, carol: betfairlightweight.APIClient) -> None:
    """003:L12524-12535: EX_BEST_OFFERS defaults to a STAKE rollup at the minimum stake, and rollupModel /
    rollupLimit change it; 003:L12520-12523: at most 10 levels."""
    back(carol, 20, 0.5)
    back(carol, 21, 5)
    back(carol, 22, 6)

    def lay_side(**overrides: Any) -> list[tuple[float, float]]:
        pp = filters.price_projection(price_data=["EX_BEST_OFFERS"], ex_best_offers_overrides=overrides)
        (mb,) = carol.betting.list_market_book(market_ids=[SOCCER], price_projection=pp)
        runner = next(r for r in mb.runners if r.selection_id == CHELSEA)
        return [(p.price, p.size) for p in runner.ex.available_to_lay]

    assert lay_side() == [(21.0, 5.5), (22.0, 6.0)]
    assert lay_side(rollupModel="STAKE", rollupLimit=10) == [(22.0, 11.5)]
    assert lay_side(rollupModel="NONE") == [(21.0, 5.0), (22.0, 6.0)]
    (rb,) = carol.betting.list_runner_book(market_id=SOCCER, selection_id=CHELSEA, price_projection=filters.price_projection(
        price_data=["EX_BEST_OFFERS"], ex_best_offers_overrides={"bestPricesDepth": 20}))
    assert [(p.price, p.size) for p in rb.runners[0].ex.available_to_lay] == [(21.0, 5.5), (22.0, 6.0)]


def test_current_order_item_description_and_source_id(live: LiveServer, carol: betfairlightweight.APIClient) -> None:
    """003:L10158-10171 (includeItemDescription, includeSourceId), L12139-12145, L12233-12238:
    betfairlightweight reads currentItemDescription; sourceIdKey is the placing app key."""
    bet_id = back(carol, 30, 2)
    orders = carol.betting.list_current_orders(bet_ids=[bet_id], include_item_description=True)
    (order,) = orders.orders
    assert isinstance(order.current_item_description.market_version["version"], int)
    body = rpc(live, carol, "listCurrentOrders", {"betIds": [bet_id], "includeSourceId": True})
    (raw,) = body["result"]["currentOrders"]
    assert (raw["sourceIdKey"], raw["sourceIdDescription"]) == (demo_app_key("carol"), "API")
    assert "currentItemDescription" not in raw


def test_filters_and_bad_input(live: LiveServer, carol: betfairlightweight.APIClient) -> None:
    """003:L11518-11524 (raceTypes NO_VALUE), L11497-11499 (no country is GB), L11456-11458 and L10017
    (textQuery may not begin with *), L10015 (locale)."""
    soccer = carol.betting.list_market_catalogue(filter=filters.market_filter(race_types=["NO_VALUE"]),
                                                 max_results=100)
    assert SOCCER in {m.market_id for m in soccer}
    ascot = carol.betting.list_market_catalogue(filter=filters.market_filter(race_types=["Flat"]), max_results=100)
    assert [m.market_id for m in ascot] == ["1.900000003"]
    with pytest.raises(APIError):
        carol.betting.list_market_catalogue(filter=filters.market_filter(text_query="*Chelsea"), max_results=10)
    body = rpc(live, carol, "listMarketCatalogue", {"filter": {"textQuery": "*Chelsea"}, "maxResults": 10})
    assert error_of(body)[0] == "INVALID_INPUT_DATA" and "text query has invalid content" in error_of(body)[1]
    body = rpc(live, carol, "listEventTypes", {"filter": {}, "locale": "klingon"})
    assert error_of(body) == ("INVALID_INPUT_DATA", "locale must use valid iso-639 locale names")
    assert "result" in rpc(live, carol, "listEventTypes", {"filter": {}, "locale": "en_GB"})
    body = rpc(live, carol, "getAccountStatement", {"locale": "zz"}, service="account")
    assert error_of(body)[0] == "INVALID_INPUT_DATA"


def test_funds_wallet_and_runner_book_limits(live: LiveServer, carol: betfairlightweight.APIClient) -> None:
    """003:L12732-12733 (getAccountFunds wallet), L10295-10297 (at most 250 betIds on listRunnerBook)."""
    assert carol.account.get_account_funds().wallet == "UK"
    aus = carol.account.get_account_funds(wallet="AUSTRALIAN")
    assert (aus.wallet, aus.available_to_bet_balance) == ("AUSTRALIAN", 0.0)
    body = rpc(live, carol, "listRunnerBook", {"marketId": SOCCER, "selectionId": CHELSEA,
                                               "betIds": [str(i) for i in range(1, 301)]})
    assert error_of(body)[0] == "REQUEST_SIZE_EXCEEDS_LIMIT"
