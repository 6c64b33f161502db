"""The provider endpoint of seed 002 over a real server and real sockets (issue 17): a registered provider
signs its calls, places betslips for users who logged in through Betfair's login, results, unsettles,
resettles and rolls them back; every documented error answers its code and HTTP status and stores
nothing; the idempotency key makes a retry safe, also after a timeout (REQUEST_TIMED_OUT)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import betfairlightweight
import pytest
import requests
from live_server import ADMIN_AUTH, LiveServer, admin
from stream_support import login

from backlay.core.commands import Deposit
from backlay.provider.api import ProviderApi

PREFIX = "/provider/v1"
PROVIDER, SECRET = "acme-tests", "0123456789abcdef" * 3
PASSWORD = "provider-password"
_names = itertools.count(1)


# --- helpers ---------------------------------------------------------------------------------------------


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def sign(secret: str, ts: str, method: str, path: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), f"{ts}.{method}.{path}.".encode() + raw, hashlib.sha256).hexdigest()


def post(live: LiveServer, path: str, body: Any = None, *, raw: bytes | None = None, key: str | None = None,
         ts: str | None = None, provider: str = PROVIDER, secret: str = SECRET, sign_path: str | None = None,
         headers: dict[str, str] | None = None, drop: Sequence[str] = ()) -> requests.Response:
    """A signed provider call (`drop`: headers to leave out; `sign_path`: sign another path)."""
    data = raw if raw is not None else json.dumps(body).encode()
    stamp = ts or str(now_ms())
    sent = {"Content-Type": "application/json", "X-Provider-Id": provider, "X-Timestamp": stamp,
            "X-Signature": sign(secret, stamp, "POST", sign_path or PREFIX + path, data),
            "X-Idempotency-Key": key or str(uuid.uuid4()), **(headers or {})}
    for name in drop:
        sent.pop(name)
    return requests.post(live.base + PREFIX + path, data=data, headers=sent, timeout=30)


def failure(r: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == "FAILURE" and body["errorCode"] == code and body["errorMessage"], body
    return dict(body)


@dataclass
class User:
    name: str
    token: str
    client: betfairlightweight.APIClient

    def available(self) -> float:
        return float(self.client.account.get_account_funds().available_to_bet_balance)


def new_user(live: LiveServer, deposit: str = "100") -> User:
    name = f"punter{next(_names)}"
    admin(live, "POST", "/accounts", {"username": name, "password": PASSWORD, "deposit": deposit}, 201)
    keys = admin(live, "POST", f"/accounts/{name}/app-keys", {"appName": "provider-tests"}, 201)
    client = betfairlightweight.APIClient(name, PASSWORD, app_key=next(k["applicationKey"] for k in keys
                                                                        if not k["delayed"]))
    client.identity_uri = f"{live.base}/api/"
    client.api_uri = f"{live.base}/exchange/"
    client.login_interactive()
    return User(name, client.session_token, client)


def bet(stake: Any = "10", price: Any = 2.37, bet_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"betId": bet_id or str(uuid.uuid4()), "sportId": "1", "sportName": "Soccer",
            "sportDisplayName": "Soccer", "eventId": "e1", "eventName": "Arsenal v Spurs",
            "eventDisplayName": "Arsenal v Spurs", "eventStage": "PRE_PLAY", "competitionId": "c1",
            "competitionName": "Premier League", "competitionDisplayName": "Premier League",
            "marketTypeId": "MATCH_ODDS", "marketId": "m1", "marketName": "Match Odds",
            "marketDisplayName": "Match Odds", "marketStage": "PRE_PLAY", "selectionId": "s1",
            "selectionName": "Arsenal", "selectionDisplayName": "Arsenal", "decimalPrice": price, "stake": stake,
            **fields}


def slip(user: User, *bets: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"requestId": str(uuid.uuid4()), "userId": user.name, "sessionToken": user.token,
            "timestamp": str(now_ms()), "bets": list(bets), **fields}


def stored(live: LiveServer, user: User) -> tuple[int, int, int, int]:
    """What a refused call must not change: the user's balance, bets and the book's bets and keys."""
    def read() -> tuple[int, int, int, int]:
        assert live.server is not None
        ex = live.server.engine.exchange
        book = ex.fixed_odds
        return (ex.accounts[user.name].balance_minor, len(book.by_account.get(user.name, [])), len(book.bets),
                len(book.keys))
    return live.call(read)


def placed(live: LiveServer, user: User, *bets: dict[str, Any]) -> dict[str, Any]:
    r = post(live, "/bet", slip(user, *bets))
    assert r.status_code == 200, r.text
    return dict(r.json())


def follow(live: LiveServer, op: str, body: dict[str, Any], key: str | None = None) -> requests.Response:
    return post(live, f"/bet/{op}", {"requestId": str(uuid.uuid4()), "timestamp": str(now_ms()), **body}, key=key)


def result(live: LiveServer, *results: dict[str, Any], op: str = "result") -> dict[str, Any]:
    r = follow(live, op, {"results": list(results)})
    assert r.status_code == 200, r.text
    return dict(r.json())


@contextlib.contextmanager
def held_writer(live: LiveServer, pool: ThreadPoolExecutor) -> Iterator[Future[Any]]:
    """The sequencer's writer held inside the journal write of one deposit (as test_service_busy.py)."""
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
        assert entered.wait(10)
        yield blocker
    finally:
        gate.set()
        live.call(lambda: delattr(journal, "append_batch"))


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-provider"))).start()
    admin(server, "POST", "/providers", {"providerId": PROVIDER, "secret": SECRET}, 201)
    yield server
    server.stop()


@pytest.fixture
def user(live: LiveServer) -> User:
    return new_user(live)


# --- the document --------------------------------------------------------------------------------------


def test_the_openapi_document_describes_every_route(live: LiveServer) -> None:
    r = requests.get(f"{live.base}{PREFIX}/openapi.json", timeout=10)
    doc = r.json()
    assert r.status_code == 200 and doc["openapi"] == "3.1.0"
    ops = {(m.upper(), p[len(PREFIX):]) for p, item in doc["paths"].items() for m in item}
    assert ops == {("POST", "/bet"), ("POST", "/bet/result"), ("POST", "/bet/resettle"), ("POST", "/bet/unsettle"),
                   ("POST", "/bet/rollback"), ("GET", "/bets"), ("GET", "/openapi.json")}
    place = doc["paths"][PREFIX + "/bet"]["post"]
    assert set(place["responses"]) == {"200", "400", "401", "403", "409", "500", "503"}
    assert "Retry-After" in place["responses"]["503"]["headers"]
    details = doc["components"]["schemas"]["BetDetails"]["properties"]
    assert [t["type"] for t in details["stake"]["anyOf"]] == ["number", "string"]
    assert details["decimalPrice"]["anyOf"][0] == {"type": "number", "exclusiveMinimum": 1, "maximum": 1000}
    assert doc["components"]["schemas"]["PlacedBet"]["properties"]["potentialPayout"]["type"] == "number"


def test_the_same_document_is_built_without_a_server() -> None:
    api = ProviderApi(PREFIX, lambda: None, None, None, lambda: 0, 3000)  # type: ignore[arg-type]
    assert set(api.openapi()["paths"]) == {PREFIX + p for p in ("/bet", "/bet/result", "/bet/resettle",
                                                                "/bet/unsettle", "/bet/rollback", "/bets",
                                                                "/openapi.json")}


# --- placement -----------------------------------------------------------------------------------------


def test_a_one_bet_slip_is_placed(live: LiveServer, user: User) -> None:
    """002:L13-L17: the bet is stored pending with potentialPayout = stake x decimalPrice (10 x 2.37 =
    23.70 exactly), the stake leaves the balance (getAccountFunds); the response echoes the request
    (002:L72-L120) with potentialPayout, decimals as JSON numbers (2.37 stays 2.37, money with two places)."""
    body = slip(user, bet("10", 2.37, eventAltId="dde-77"))
    r = post(live, "/bet", body)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert (reply["requestId"], reply["userId"], reply["sessionToken"], reply["status"]) == \
        (body["requestId"], user.name, user.token, "PLACED")
    assert reply["timestamp"].isdigit() and abs(int(reply["timestamp"]) - now_ms()) < 60_000
    (out,) = reply["bets"]
    assert {k: v for k, v in out.items() if k not in ("stake", "potentialPayout")} == \
        {k: v for k, v in body["bets"][0].items() if k != "stake"}
    assert b'"decimalPrice":2.37,"stake":10.00,"potentialPayout":23.70}' in r.content
    assert user.available() == pytest.approx(90.0)


def test_a_three_bet_slip_is_placed_whole(live: LiveServer, user: User) -> None:
    """002:L5, L13-L15: every bet of the slip placed; payouts rounded down to the penny (5 x 1.333 =
    6.665 -> 6.66); stake and decimalPrice accepted as numbers or numeric strings; the balance falls by
    the sum of the stakes (002:L9)."""
    bets = [bet("5.00", 1.333), bet(2.5, "3.1", marketTypeId="OVER_UNDER"), bet(20, "1.01")]
    reply = placed(live, user, *bets)
    assert [b["betId"] for b in reply["bets"]] == [b["betId"] for b in bets]
    assert [(b["stake"], b["decimalPrice"], b["potentialPayout"]) for b in reply["bets"]] == \
        [(5.0, 1.333, 6.66), (2.5, 3.1, 7.75), (20.0, 1.01, 20.2)]
    assert user.available() == pytest.approx(100 - 27.5)
    assert live.call(lambda: len(live.server.engine.exchange.fixed_odds.by_account[user.name])  # type: ignore[union-attr]
                     ) == 3


@pytest.mark.parametrize("case", ["not json", "no userId", "empty requestId", "no bets", "stake a bool",
                                  "timestamp a float", "timestamp not digits", "betId a number", "a list body",
                                  "no key", "key not a UUID"])
def test_missing_parameter(live: LiveServer, user: User, case: str) -> None:
    """002:L179-181 MISSING_PARAMETER 400 (002:L34-70, L202-338: the required fields), the idempotency
    key of 002:L25-27 included; nothing stored (002:L19)."""
    body = slip(user, bet())
    kw: dict[str, Any] = {}
    if case == "not json":
        kw["raw"] = b"{not json"
    elif case == "no userId":
        del body["userId"]
    elif case == "empty requestId":
        body["requestId"] = ""
    elif case == "no bets":
        body["bets"] = []
    elif case == "stake a bool":
        body["bets"][0]["stake"] = True
    elif case == "timestamp a float":
        body["timestamp"] = 1.5
    elif case == "timestamp not digits":
        body["timestamp"] = "yesterday"
    elif case == "betId a number":
        body["bets"][0]["betId"] = 7
    elif case == "a list body":
        kw["raw"] = b"[]"
    elif case == "no key":
        kw["drop"] = ["X-Idempotency-Key"]
    else:
        kw["key"] = "not-a-uuid"
    before = stored(live, user)
    failure(post(live, "/bet", body, **kw), 400, "MISSING_PARAMETER")
    assert stored(live, user) == before


def test_invalid_user(live: LiveServer, user: User) -> None:
    """002:L159-161 INVALID_USER 400: no such account."""
    before = stored(live, user)
    failure(post(live, "/bet", slip(user, bet(), userId="nobody-at-all")), 400, "INVALID_USER")
    assert stored(live, user) == before


def test_invalid_session(live: LiveServer, user: User) -> None:
    """002:L7, L183-185 INVALID_SESSION 401: an unknown token, another user's session, a logged-out one."""
    other = new_user(live)
    before = stored(live, user)
    failure(post(live, "/bet", slip(user, bet(), sessionToken="forged-token")), 401, "INVALID_SESSION")
    failure(post(live, "/bet", slip(user, bet(), sessionToken=other.token)), 401, "INVALID_SESSION")
    r = requests.post(f"{live.base}/api/logout", headers={"X-Application": other.client.app_key,
                                                           "X-Authentication": other.token,
                                                           "Accept": "application/json"}, timeout=10)
    assert r.json()["status"] == "SUCCESS"
    failure(post(live, "/bet", slip(other, bet())), 401, "INVALID_SESSION")
    assert stored(live, user) == before


@pytest.mark.parametrize("case", ["no signature", "no provider", "no timestamp", "wrong signature",
                                  "wrong secret", "unknown provider", "stale timestamp", "future timestamp",
                                  "another path signed", "tampered body", "timestamp not digits"])
def test_authentication_failed(live: LiveServer, user: User, case: str) -> None:
    """002:L187-189 AUTHENTICATION_FAILED 403 for anything but a fresh, correct signature of this very
    call; nothing stored."""
    body = slip(user, bet())
    kw: dict[str, Any] = {}
    if case == "no signature":
        kw["drop"] = ["X-Signature"]
    elif case == "no provider":
        kw["drop"] = ["X-Provider-Id"]
    elif case == "no timestamp":
        kw["drop"] = ["X-Timestamp"]
    elif case == "wrong signature":
        kw["headers"] = {"X-Signature": "0" * 64}
    elif case == "wrong secret":
        kw["secret"] = SECRET[::-1]
    elif case == "unknown provider":
        kw["provider"] = "nobody"
    elif case == "stale timestamp":
        kw["ts"] = str(now_ms() - 301_000)
    elif case == "future timestamp":
        kw["ts"] = str(now_ms() + 301_000)
    elif case == "another path signed":
        kw["sign_path"] = PREFIX + "/bet/rollback"
    elif case == "tampered body":
        good = json.dumps(body).encode()
        stamp = str(now_ms())
        kw["ts"] = stamp
        kw["headers"] = {"X-Signature": sign(SECRET, stamp, "POST", PREFIX + "/bet", good)}
        body["bets"][0]["stake"] = "1"
    else:
        kw["ts"] = "soon"
    before = stored(live, user)
    failure(post(live, "/bet", body, **kw), 403, "AUTHENTICATION_FAILED")
    assert stored(live, user) == before


def test_a_signature_with_its_prefix_and_upper_case_hex_is_accepted(live: LiveServer, user: User) -> None:
    body = slip(user, bet("1"))
    raw = json.dumps(body).encode()
    stamp = str(now_ms())
    sig = "sha256=" + sign(SECRET, stamp, "POST", PREFIX + "/bet", raw).upper()
    assert post(live, "/bet", raw=raw, ts=stamp, headers={"X-Signature": sig}).status_code == 200


def test_user_blocked(live: LiveServer, user: User) -> None:
    """002:L11, L175-177 USER_BLOCKED 400 for a suspended account; reactivated, it bets again."""
    admin(live, "PUT", f"/accounts/{user.name}/status", {"status": "SUSPENDED"})
    before = stored(live, user)
    failure(post(live, "/bet", slip(user, bet())), 400, "USER_BLOCKED")
    assert stored(live, user) == before
    admin(live, "PUT", f"/accounts/{user.name}/status", {"status": "ACTIVE"})
    placed(live, user, bet())


@pytest.mark.parametrize("case", ["price 1", "price below 1", "price above 1000", "price 11 places",
                                  "price not finite", "stake 3 places", "bad event stage", "bad market stage",
                                  "betId repeated", "betId used", "101 bets", "text over 256"])
def test_invalid_bet_details(live: LiveServer, user: User, case: str) -> None:
    """002:L163-165 INVALID_BET_DETAILS 400 (002:L202-338 BetDetails, L404-410 Stage); the whole slip
    is refused and nothing of it stored (002:L19)."""
    good = bet("1")
    bad = bet("1")
    if case == "price 1":
        bad["decimalPrice"] = 1
    elif case == "price below 1":
        bad["decimalPrice"] = "0.5"
    elif case == "price above 1000":
        bad["decimalPrice"] = 1000.01
    elif case == "price 11 places":
        bad["decimalPrice"] = "2.12345678901"
    elif case == "price not finite":
        bad["decimalPrice"] = "Infinity"
    elif case == "stake 3 places":
        bad["stake"] = "1.005"
    elif case == "bad event stage":
        bad["eventStage"] = "LIVE"
    elif case == "bad market stage":
        bad["marketStage"] = "in_play"
    elif case == "betId repeated":
        bad["betId"] = good["betId"]
    elif case == "betId used":
        bad["betId"] = placed(live, user, bet("1"))["bets"][0]["betId"]
    elif case == "text over 256":
        bad["selectionName"] = "x" * 257
    bets = [good] + ([bet("0.01") for _ in range(100)] if case == "101 bets" else [bad])
    before = stored(live, user)
    failure(post(live, "/bet", slip(user, *bets)), 400, "INVALID_BET_DETAILS")
    assert stored(live, user) == before


def test_trailing_zeros_do_not_count_as_places(live: LiveServer, user: User) -> None:
    """10.000 is a stake of two places, 2.500000000000 a price of one: both placed."""
    reply = placed(live, user, bet("10.000", "2.500000000000"))
    assert (reply["bets"][0]["stake"], reply["bets"][0]["decimalPrice"], reply["bets"][0]["potentialPayout"]) == \
        (10.0, 2.5, 25.0)


def test_invalid_stake_lists_the_failed_bets(live: LiveServer, user: User) -> None:
    """002:L167-169 INVALID_STAKE 400 with failedBets (002:L148-152, L342-382): each failing bet's ids and
    reason.minStake, the limit breached (002:L384-402): 0.01 without configured limits."""
    ok, zero, negative = bet("1"), bet("0"), bet("-5")
    before = stored(live, user)
    reply = failure(post(live, "/bet", slip(user, ok, zero, negative)), 400, "INVALID_STAKE")
    assert reply["failedBets"] == [
        {"betId": b["betId"], "sportId": "1", "eventId": "e1", "marketId": "m1", "selectionId": "s1",
         "reason": {"minStake": 0.01}} for b in (zero, negative)]
    assert stored(live, user) == before
    assert "failedBets" not in failure(post(live, "/bet", slip(user, bet("1", 0.5))), 400, "INVALID_BET_DETAILS")


def test_insufficient_funds(live: LiveServer) -> None:
    """002:L9, L171-173 INSUFFICIENT_FUNDS 400: the sum of the stakes above the balance; the exact
    balance is enough."""
    user = new_user(live, "10")
    before = stored(live, user)
    failure(post(live, "/bet", slip(user, bet("6"), bet("4.01"))), 400, "INSUFFICIENT_FUNDS")
    assert stored(live, user) == before and user.available() == pytest.approx(10.0)
    placed(live, user, bet("6"), bet("4"))
    assert user.available() == pytest.approx(0.0)


def test_an_unexpected_fault_is_a_general_exception_that_says_nothing(live: LiveServer, user: User) -> None:
    """002:L191-193 GENERAL_EXCEPTION 500: a fault below the shell (here: the sequencer fails) answers
    a generic message; its text never reaches the wire."""
    assert live.server is not None
    api = live.server.app.mounts[PREFIX].__self__  # type: ignore[attr-defined]
    original = api._submit

    async def broken(cmd: Any) -> Any:
        raise RuntimeError("secret internals /var/lib/backlay")

    live.call(lambda: setattr(api, "_submit", broken))
    try:
        r = post(live, "/bet", slip(user, bet()))
    finally:
        live.call(lambda: setattr(api, "_submit", original))
    failure(r, 500, "GENERAL_EXCEPTION")
    assert "secret" not in r.text and "RuntimeError" not in r.text and "/var" not in r.text


def test_unknown_routes_and_methods(live: LiveServer) -> None:
    failure(requests.get(f"{live.base}{PREFIX}/nothing", timeout=10), 404, "NOT_FOUND")
    failure(requests.get(f"{live.base}{PREFIX}/bet", timeout=10), 405, "METHOD_NOT_ALLOWED")


# --- idempotency ---------------------------------------------------------------------------------------


def test_the_same_key_and_request_answer_the_same_bytes_and_place_once(live: LiveServer, user: User) -> None:
    """002:L25-27: a retry with the same X-Idempotency-Key and the same request answers byte for byte the
    first response and places nothing again, however the JSON is spaced or ordered, and after the session
    ended; with another request the key is IDEMPOTENCY_KEY_REUSED (409)."""
    key = str(uuid.uuid4())
    body = slip(user, bet("10"), bet("5", "1.5"))
    first = post(live, "/bet", body, key=key)
    assert first.status_code == 200
    after_first = stored(live, user)
    again = post(live, "/bet", body, key=key.upper())  # any case: the same key
    reordered = post(live, "/bet", raw=json.dumps(dict(reversed(body.items())), indent=2).encode(), key=key)
    for r in (again, reordered):
        assert (r.status_code, r.content) == (200, first.content)
    assert stored(live, user) == after_first and user.available() == pytest.approx(85.0)
    failure(post(live, "/bet", {**body, "requestId": "another"}, key=key), 409, "IDEMPOTENCY_KEY_REUSED")
    failure(follow(live, "rollback", {"betIds": [body["bets"][0]["betId"]]}, key=key), 409,
            "IDEMPOTENCY_KEY_REUSED")
    requests.post(f"{live.base}/api/logout", headers={"X-Application": user.client.app_key,
                                                       "X-Authentication": user.token}, timeout=10)
    late = post(live, "/bet", body, key=key)
    assert (late.status_code, late.content) == (200, first.content)
    assert stored(live, user) == after_first


def test_a_refused_call_keeps_no_key(live: LiveServer) -> None:
    """002:L19, L25-27: a refused slip stores nothing, not even its key: after a deposit its retry with
    the same key is judged afresh and placed."""
    user = new_user(live, "5")
    key = str(uuid.uuid4())
    body = slip(user, bet("8"))
    failure(post(live, "/bet", body, key=key), 400, "INSUFFICIENT_FUNDS")
    admin(live, "POST", f"/accounts/{user.name}/deposits", {"amount": "5"})
    r = post(live, "/bet", body, key=key)
    assert r.status_code == 200, r.text
    assert user.available() == pytest.approx(2.0)


def test_keys_are_per_provider(live: LiveServer, user: User) -> None:
    other, other_secret = "acme-other", "f" * 40
    admin(live, "POST", "/providers", {"providerId": other, "secret": other_secret}, 201)
    key = str(uuid.uuid4())
    assert post(live, "/bet", slip(user, bet("1")), key=key).status_code == 200
    r = post(live, "/bet", slip(user, bet("1")), key=key, provider=other, secret=other_secret)
    assert r.status_code == 200 and user.available() == pytest.approx(98.0)


# --- after placement -----------------------------------------------------------------------------------


def test_results_won_lost_void_push_and_a_dead_heat(live: LiveServer, user: User) -> None:
    """WON pays potentialPayout, LOST nothing, VOID and PUSH the stake back; a dead heat of two
    (payoutFactor 0.5) half the potentialPayout; the money is moved in one call (atomic)."""
    bets = [bet("10", 2.37), bet("10", 3), bet("10", 4), bet("10", 5), bet("10", "2.5")]
    placed(live, user, *bets)
    assert user.available() == pytest.approx(50.0)
    outcomes = [("WON", None), ("LOST", None), ("VOID", None), ("PUSH", None), ("WON", 0.5)]
    reply = result(live, *[{"betId": b["betId"], "outcome": o, **({"payoutFactor": f} if f else {})}
                           for b, (o, f) in zip(bets, outcomes, strict=True)])
    assert reply["status"] == "RESULTED" and reply["timestamp"].isdigit()
    assert [(b["betId"], b["status"], b["amount"], b["potentialPayout"]) for b in reply["bets"]] == [
        (bets[0]["betId"], "WON", 23.7, 23.7), (bets[1]["betId"], "LOST", 0, 30), (bets[2]["betId"], "VOID", 10, 40),
        (bets[3]["betId"], "PUSH", 10, 50), (bets[4]["betId"], "WON", 12.5, 25)]
    assert user.available() == pytest.approx(50 + 23.7 + 10 + 10 + 12.5)
    failure(follow(live, "result", {"results": [{"betId": bets[1]["betId"], "outcome": "WON"}]}), 409,
            "BET_ALREADY_SETTLED")


@pytest.mark.parametrize("results, status, code", [
    ([{"betId": "no-such-bet", "outcome": "WON"}], 404, "BET_NOT_FOUND"),
    ([{"betId": "BET", "outcome": "DRAW"}], 400, "INVALID_RESULT"),
    ([{"betId": "BET", "outcome": "LOST", "payoutFactor": 0.5}], 400, "INVALID_RESULT"),
    ([{"betId": "BET", "outcome": "WON", "payoutFactor": 1.5}], 400, "INVALID_RESULT"),
    ([{"betId": "BET", "outcome": "WON", "payoutFactor": 0}], 400, "INVALID_RESULT"),
    ([{"betId": "BET", "outcome": "WON"}, {"betId": "BET", "outcome": "LOST"}], 400, "INVALID_RESULT"),
    ([{"betId": "BET", "outcome": "WON"}, {"betId": "no-such-bet", "outcome": "WON"}], 404, "BET_NOT_FOUND"),
    ([], 400, "MISSING_PARAMETER"),
])
def test_a_refused_result_changes_nothing(live: LiveServer, user: User, results: list[dict[str, Any]], status: int,
                                          code: str) -> None:
    bet_id = placed(live, user, bet("10"))["bets"][0]["betId"]
    before = stored(live, user)
    results = [{**r, "betId": bet_id if r["betId"] == "BET" else r["betId"]} for r in results]
    failure(follow(live, "result", {"results": results}), status, code)
    assert stored(live, user) == before
    assert result(live, {"betId": bet_id, "outcome": "LOST"})["bets"][0]["status"] == "LOST"


def test_unsettle_and_resettle(live: LiveServer, user: User) -> None:
    """A WON bet unsettled gives its payout back (PENDING again) and can be resulted anew; resettle
    changes a result in one call; the wrong state is BET_NOT_SETTLED / BET_ALREADY_SETTLED (409)."""
    bet_id = placed(live, user, bet("10", 2))["bets"][0]["betId"]
    ids = {"betIds": [bet_id]}
    failure(follow(live, "unsettle", ids), 409, "BET_NOT_SETTLED")
    failure(follow(live, "resettle", {"results": [{"betId": bet_id, "outcome": "WON"}]}), 409, "BET_NOT_SETTLED")
    result(live, {"betId": bet_id, "outcome": "WON"})
    assert user.available() == pytest.approx(110.0)
    r = follow(live, "unsettle", ids)
    assert r.status_code == 200 and r.json()["status"] == "UNSETTLED"
    assert r.json()["bets"] == [{"betId": bet_id, "status": "PENDING", "amount": -20.0, "potentialPayout": 20.0}]
    assert user.available() == pytest.approx(90.0)
    result(live, {"betId": bet_id, "outcome": "LOST"})
    assert user.available() == pytest.approx(90.0)
    reply = result(live, {"betId": bet_id, "outcome": "VOID"}, op="resettle")
    assert reply["status"] == "RESETTLED" and reply["bets"][0]["amount"] == 10.0
    reply = result(live, {"betId": bet_id, "outcome": "WON", "payoutFactor": "0.5"}, op="resettle")
    assert (reply["bets"][0]["status"], reply["bets"][0]["amount"]) == ("WON", 0.0)  # 10 back, 10 paid
    assert user.available() == pytest.approx(100.0)
    failure(follow(live, "rollback", ids), 409, "BET_ALREADY_SETTLED")


def test_rollback(live: LiveServer, user: User) -> None:
    """A pending bet rolled back gives the stake back and cannot be resulted (BET_ROLLED_BACK); an
    unknown betId rolls back with success and cannot be placed afterwards (INVALID_BET_DETAILS)."""
    bet_id = placed(live, user, bet("10"))["bets"][0]["betId"]
    unknown = str(uuid.uuid4())
    r = follow(live, "rollback", {"betIds": [bet_id, unknown]})
    assert r.status_code == 200 and r.json()["status"] == "ROLLED_BACK", r.text
    assert r.json()["bets"] == [{"betId": bet_id, "status": "ROLLED_BACK", "amount": 10.0, "potentialPayout": 23.7},
                                {"betId": unknown, "status": "ROLLED_BACK", "amount": 0, "potentialPayout": 0}]
    assert user.available() == pytest.approx(100.0)
    failure(follow(live, "result", {"results": [{"betId": bet_id, "outcome": "WON"}]}), 409, "BET_ROLLED_BACK")
    failure(follow(live, "unsettle", {"betIds": [bet_id]}), 409, "BET_ROLLED_BACK")
    before = stored(live, user)
    failure(post(live, "/bet", slip(user, bet("1", bet_id=unknown))), 400, "INVALID_BET_DETAILS")
    assert stored(live, user) == before
    again = follow(live, "rollback", {"betIds": [bet_id]})  # already rolled back: nothing more
    assert again.status_code == 200 and again.json()["bets"][0]["amount"] == 0
    failure(follow(live, "rollback", {"betIds": [bet_id, bet_id]}), 400, "INVALID_RESULT")
    failure(follow(live, "rollback", {"betIds": []}), 400, "MISSING_PARAMETER")


def test_follow_up_replays_answer_the_same_bytes(live: LiveServer, user: User) -> None:
    bet_id = placed(live, user, bet("10"))["bets"][0]["betId"]
    key = str(uuid.uuid4())
    body = {"results": [{"betId": bet_id, "outcome": "WON"}]}
    first = follow(live, "result", {**body, "requestId": "r-1", "timestamp": "1"}, key=key)
    again = follow(live, "result", {**body, "requestId": "r-1", "timestamp": 1}, key=key)
    assert first.status_code == 200 and again.content == first.content
    assert user.available() == pytest.approx(113.7)
    failure(follow(live, "resettle", {**body, "requestId": "r-1", "timestamp": "1"}, key=key), 409,
            "IDEMPOTENCY_KEY_REUSED")


# --- the user's list -------------------------------------------------------------------------------------


def test_the_users_bets_newest_first(live: LiveServer, user: User) -> None:
    """GET {prefix}/bets with the user's session: their bets only, newest first, by status, in pages."""
    other = new_user(live)
    placed(live, other, bet("1"))
    first = placed(live, user, bet("10", 2.37))["bets"][0]["betId"]
    second, third = (b["betId"] for b in placed(live, user, bet("2", 3), bet("3", 4))["bets"])
    result(live, {"betId": first, "outcome": "WON"})

    def bets(query: str = "", token: str = user.token) -> requests.Response:
        return requests.get(f"{live.base}{PREFIX}/bets{query}", headers={"X-Authentication": token}, timeout=10)

    reply = bets().json()
    assert [b["betId"] for b in reply["bets"]] == [third, second, first] and reply["moreAvailable"] is False
    won = reply["bets"][2]
    assert (won["status"], won["stake"], won["decimalPrice"], won["potentialPayout"], won["payout"]) == \
        ("WON", 10.0, 2.37, 23.7, 23.7)
    assert won["providerId"] == PROVIDER and won["userId"] == user.name and won["details"]["betId"] == first
    assert won["placedAt"].endswith("Z") and won["settledAt"].endswith("Z") and "settledAt" not in reply["bets"][0]
    assert [b["betId"] for b in bets("?status=PENDING").json()["bets"]] == [third, second]
    page = bets("?fromRecord=1&recordCount=1").json()
    assert [b["betId"] for b in page["bets"]] == [second] and page["moreAvailable"] is True
    failure(bets(token="nope"), 401, "INVALID_SESSION")
    failure(requests.get(f"{live.base}{PREFIX}/bets", timeout=10), 401, "INVALID_SESSION")
    for query in ("?status=OPEN", "?recordCount=0", "?recordCount=1001", "?fromRecord=-1"):
        failure(bets(query), 400, "MISSING_PARAMETER")


# --- the deadline -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-provider-slow")),
                        config={"provider_deadline_ms": 300, "max_pending_commands": 2}).start()
    admin(server, "POST", "/providers", {"providerId": PROVIDER, "secret": SECRET}, 201)
    yield server
    server.stop()


def test_request_timed_out_and_a_retry_with_the_same_key(slow: LiveServer) -> None:
    """002:L195-197 REQUEST_TIMED_OUT 503 with Retry-After: 1, when the slip is not durable within the
    deadline (it may still land) or the queue is full (nothing happened); the retry with the same key
    answers the landed slip, or places it, and each slip is placed exactly once."""
    token, _ = login(slow, "alice")
    alice = User("alice", token, None)  # type: ignore[arg-type]
    balance = slow.call(lambda: slow.server.engine.exchange.accounts["alice"].balance_minor)  # type: ignore[union-attr]
    late, refused = slip(alice, bet("10")), slip(alice, bet("20"))
    late_key, refused_key = str(uuid.uuid4()), str(uuid.uuid4())
    with ThreadPoolExecutor(4) as pool:
        with held_writer(slow, pool) as blocker:
            r = post(slow, "/bet", late, key=late_key)
            failure(r, 503, "REQUEST_TIMED_OUT")
            assert r.headers["retry-after"] == "1"
            fill = pool.submit(slow.submit, Deposit(account_id="bob", amount_minor=1))  # the queue is full now
            deadline = time.monotonic() + 10
            while slow.call(lambda: slow.server.sequencer.pending if slow.server else 0) < 2:  # type: ignore[union-attr]
                assert time.monotonic() < deadline
                time.sleep(0.01)
            r = post(slow, "/bet", refused, key=refused_key)
            failure(r, 503, "REQUEST_TIMED_OUT")
            assert r.headers["retry-after"] == "1"
        blocker.result(timeout=10)
        fill.result(timeout=10)
    retried = post(slow, "/bet", late, key=late_key)
    assert retried.status_code == 200, retried.text
    assert post(slow, "/bet", refused, key=refused_key).status_code == 200
    placed_ids = slow.call(lambda: [k[1] for k in slow.server.engine.exchange.fixed_odds.by_account["alice"]])  # type: ignore[union-attr]
    assert sorted(placed_ids) == sorted([late["bets"][0]["betId"], refused["bets"][0]["betId"]])
    r = requests.get(f"{slow.base}/admin/v1/accounts/alice", headers=ADMIN_AUTH, timeout=10)
    assert r.json()["balance"] == pytest.approx(balance / 100 - 30)


def test_a_placement_extends_a_session_about_to_expire(live: LiveServer, user: User) -> None:
    """002:L98-100 "Original or refreshed": the same token comes back; a session with less than ten
    minutes left is extended (identity keepAlive), one with more is left alone."""
    assert live.server is not None
    identity = live.server.identity

    def expire_in(ms: int) -> None:
        identity._conn.execute("UPDATE sessions SET expires_ms = ? WHERE token = ?", (now_ms() + ms, user.token))
        identity._sessions.pop(user.token, None)

    def expires_ms() -> int:
        session = identity.session(user.token, now_ms())
        assert session is not None
        return session.expires_ms

    live.call(lambda: expire_in(5 * 60_000))
    assert placed(live, user, bet("1"))["sessionToken"] == user.token
    assert live.call(expires_ms) > now_ms() + 3600_000
    live.call(lambda: expire_in(30 * 60_000))
    placed(live, user, bet("1"))
    assert live.call(expires_ms) < now_ms() + 31 * 60_000
