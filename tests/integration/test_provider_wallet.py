"""The provider endpoint on the exchange's one wallet (issue 17, items 3 and 4), over the real server.

* 002:L7-L9: "confirm that the user has a sufficient balance to cover the sum total of all the individual
  bet stakes": two betslips and an exchange placeOrders that each fit the balance alone but no two together
  race; exactly one of them succeeds, whichever the sequencer takes first, and the funds add up.
* 002:L13, L25-L27: a placed slip is journaled before it is answered: after a restart the same
  X-Idempotency-Key with the same request answers the very same response (status and body) and places
  nothing again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import betfairlightweight
import pytest
import requests
from live_server import LiveServer, admin

PREFIX = "/provider/v1"
PROVIDER, SECRET = "wallet-test", "s" * 40
SOCCER, ARSENAL = "1.900000001", 47999
PASSWORD = "wallet-password"


def signed(live: LiveServer, path: str, body: dict[str, Any], key: str | None = None) -> requests.Response:
    raw = json.dumps(body).encode()
    ts = str(time.time_ns() // 1_000_000)
    sig = hmac.new(SECRET.encode(), f"{ts}.POST.{path}.".encode() + raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Provider-Id": PROVIDER, "X-Timestamp": ts,
               "X-Signature": sig, "X-Idempotency-Key": key or str(uuid.uuid4())}
    return requests.post(live.base + path, data=raw, headers=headers, timeout=10)


def new_user(live: LiveServer, name: str, deposit: str) -> betfairlightweight.APIClient:
    admin(live, "POST", "/accounts", {"username": name, "password": PASSWORD, "deposit": deposit}, 201)
    keys = admin(live, "POST", f"/accounts/{name}/app-keys", {"appName": "wallet"}, 201)
    client = betfairlightweight.APIClient(name, PASSWORD, app_key=next(k["applicationKey"] for k in keys
                                                                        if not k["delayed"]))
    client.identity_uri = f"{live.base}/api/"
    client.api_uri = f"{live.base}/exchange/"
    client.login_interactive()
    return client


def bet(stake: str, bet_id: str | None = None, price: str = "2.5") -> dict[str, Any]:
    return {"betId": bet_id or str(uuid.uuid4()), "sportId": "1", "sportName": "Soccer", "sportDisplayName": "Soccer",
            "eventId": "e1", "eventName": "Arsenal v Spurs", "eventDisplayName": "Arsenal v Spurs",
            "eventStage": "PRE_PLAY", "competitionId": "c1", "competitionName": "Premier League",
            "competitionDisplayName": "Premier League", "marketTypeId": "MATCH_ODDS", "marketId": "m1",
            "marketName": "Match Odds", "marketDisplayName": "Match Odds", "marketStage": "PRE_PLAY",
            "selectionId": "s1", "selectionName": "Arsenal", "selectionDisplayName": "Arsenal",
            "decimalPrice": json.loads(price), "stake": json.loads(stake)}


def slip(client: betfairlightweight.APIClient, *bets: dict[str, Any]) -> dict[str, Any]:
    return {"requestId": str(uuid.uuid4()), "userId": client.username, "sessionToken": client.session_token,
            "timestamp": str(time.time_ns() // 1_000_000), "bets": list(bets)}


def funds(client: betfairlightweight.APIClient) -> tuple[float, float]:
    f = client.account.get_account_funds()
    return f.available_to_bet_balance, f.exposure


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-wallet"))).start()
    admin(server, "POST", "/providers", {"providerId": PROVIDER, "secret": SECRET}, 201)
    yield server
    server.stop()


def _place_exchange(client: betfairlightweight.APIClient) -> bool:
    report = client.betting.place_orders(SOCCER, [{
        "orderType": "LIMIT", "selectionId": ARSENAL, "side": "BACK",
        "limitOrder": {"size": 60.0, "price": 1000.0, "persistenceType": "LAPSE"}}])
    return bool(report.status == "SUCCESS")


@pytest.mark.parametrize("round_no", range(6))
def test_slips_and_exchange_bets_never_spend_the_same_money(live: LiveServer, round_no: int) -> None:
    """£100 and three claims of £60 each (two slips, one unmatched exchange back): one succeeds."""
    client = new_user(live, f"wallet{round_no}", "100")
    path = PREFIX + "/bet"
    calls = [lambda: signed(live, path, slip(client, bet("60"))).status_code == 200,
             lambda: signed(live, path, slip(client, bet("60"))).status_code == 200,
             lambda: _place_exchange(client)]
    order = calls[round_no % 3:] + calls[:round_no % 3]  # each claim goes first in some round
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(lambda f: f(), order))
    assert sum(outcomes) == 1, outcomes
    available, exposure = funds(client)
    assert available == pytest.approx(40.0)
    exchange_won = outcomes[order.index(calls[2])]
    assert abs(exposure) == pytest.approx(60.0 if exchange_won else 0.0)  # Betfair shows it negative
    mine = requests.get(live.base + PREFIX + "/bets", headers={"X-Authentication": client.session_token},
                        timeout=10).json()["bets"]
    assert len(mine) == (0 if exchange_won else 1)


def test_a_placed_slip_answers_the_same_after_a_restart(tmp_path: Path) -> None:
    first = LiveServer(tmp_path).start()
    try:
        admin(first, "POST", "/providers", {"providerId": PROVIDER, "secret": SECRET}, 201)
        client = new_user(first, "restart", "50")
        body, key = slip(client, bet("10.00", price="2.37"), bet("5", price="1.333")), str(uuid.uuid4())
        answer = signed(first, PREFIX + "/bet", body, key)
        assert answer.status_code == 200, answer.text
        assert [b["potentialPayout"] for b in answer.json()["bets"]] == [23.7, 6.66]
    finally:
        first.stop()
    second = LiveServer(tmp_path).start()
    try:
        again = signed(second, PREFIX + "/bet", body, key)
        assert (again.status_code, again.content) == (answer.status_code, answer.content)
        other = signed(second, PREFIX + "/bet", {**body, "requestId": str(uuid.uuid4())}, key)
        assert other.status_code == 409 and other.json()["errorCode"] == "IDEMPOTENCY_KEY_REUSED"
        account = admin(second, "GET", "/accounts/restart")
        assert account["balance"] == pytest.approx(35.0)  # the two stakes, once
        assert len(admin(second, "GET", "/accounts/restart/fixed-odds-bets")) == 2
    finally:
        second.stop()
