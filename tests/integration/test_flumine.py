"""Unmodified flumine against the real server, end to end.

A flumine strategy (alice) logs in, streams market 1.900000001, places two BACK LIMIT orders through
flumine's order API and cancels one of them; bob (plain betfairlightweight over HTTP) lays against the
other, and flumine sees the match on its order stream. The operator settles the market; flumine's own
worker functions poll the cleared orders, and its blotter shows the orders, profit and commission that
the exchange reports through listClearedOrders and getAccountStatement.

Clients are pointed at the server only through their address attributes: betfairlightweight's
identity_uri and api_uri, and BetfairStream's host mapping and (name-mangled) port.
"""

from __future__ import annotations

import collections
import importlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import betfairlightweight
import pytest
from betfairlightweight import filters
from betfairlightweight.resources import bettingresources
from betfairlightweight.streaming.betfairstream import BetfairStream
from live_server import LiveServer

from backlay.core.commands import RunnerResult, SetMarketStatus, SettleMarket
from backlay.demo import DEMO_PASSWORD, demo_app_key

SOCCER = "1.900000001"
ARSENAL, CHELSEA, DRAW = 47999, 48044, 58805
PLAN = {"matched": (ARSENAL, 3.0, 5.0),  # bob lays against it
        "cancelled": (CHELSEA, 10.0, 2.0)}  # the strategy cancels it
START_BALANCE = 10_000.0
PROFIT = 5.0 * (3.0 - 1.0)  # the back wins its stake at the matched odds
COMMISSION = 0.5  # 5% (the market base rate) of the net win in the market (003:L3320-3442)
TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-flumine"))).start()
    yield server
    server.stop()


@pytest.fixture
def fl(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """flumine_support, imported here: importing flumine swaps betfairlightweight's runner price classes
    for its own (flumine/__init__.py). flumine runs with its classes, as always; the other tests, which
    use betfairlightweight alone, get betfairlightweight's back after this one."""
    for name in ("RunnerBookEX", "RunnerBookSP"):
        monkeypatch.setattr(bettingresources, name, getattr(bettingresources, name))
    module = importlib.import_module("flumine_support")
    patching = importlib.import_module("flumine.patching")
    monkeypatch.setattr(bettingresources, "RunnerBookEX", patching.EX)
    monkeypatch.setattr(bettingresources, "RunnerBookSP", patching.SP)
    return module


@pytest.fixture
def stream_at(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """betfairlightweight's stream host comes from BetfairStream.HOSTS (a defaultdict) and its port from
    a name-mangled class attribute (stream-identity-accounts.md §6.1 [EXT]): the server's TLS listener.
    The certificate is self-signed; betfairlightweight connects with CERT_NONE."""
    monkeypatch.setattr(BetfairStream, "HOSTS", collections.defaultdict(lambda: "127.0.0.1"))
    monkeypatch.setattr(BetfairStream, "_BetfairStream__port", live.stream_port)


def api_client(live: LiveServer, user: str) -> betfairlightweight.APIClient:
    client = betfairlightweight.APIClient(user, DEMO_PASSWORD, app_key=demo_app_key(user))
    client.identity_uri = f"{live.base}/api/"
    client.api_uri = f"{live.base}/exchange/"
    return client


def wait_for(what: str, condition: Callable[[], Any], timeout_s: float = TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return value


def runner_book(market: Any, selection_id: int) -> Any:
    return next(r for r in market.market_book.runners if r.selection_id == selection_id)


def stream_order(order: Any) -> Any:
    """The order as flumine last saw it on the order stream (betfairlightweight's CurrentOrder), or None."""
    return order.responses.current_order


@pytest.mark.usefixtures("stream_at")
@pytest.mark.filterwarnings("ignore:ssl.PROTOCOL_TLS is deprecated:DeprecationWarning")  # betfairlightweight's
def test_flumine_places_cancels_sees_the_match_and_clears(live: LiveServer, fl: ModuleType,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    OrderStatus = fl.OrderStatus
    flumine = fl.start(api_client(live, "alice"), SOCCER, PLAN)
    try:
        # interactive login (003:L5158-5243), both streams authenticated and subscribed (003:L6114-6139);
        # the strategy places on the first OPEN market book (placeOrders, 003:L10595-10705)
        market = wait_for("flumine's market from the market stream", lambda: flumine.market(SOCCER))
        strategy = flumine.strategy
        wait_for("the strategy's orders", lambda: len(strategy.orders) == len(PLAN))
        matched, cancelled = strategy.orders["matched"], strategy.orders["cancelled"]
        wait_for("the bet ids", lambda: matched.bet_id and cancelled.bet_id)
        wait_for("the orders on the order stream", lambda: stream_order(matched) and stream_order(cancelled))
        assert stream_order(matched).customer_order_ref == matched.customer_order_ref  # rfo (003:L6588)
        assert stream_order(matched).customer_strategy_ref == "BackAndCancel"  # rfs (003:L6589-6590)
        # alice's back is offered to layers on the market stream (availableToLay, 003:L6355-6389)
        wait_for("alice's back in the ladder",
                 lambda: runner_book(market, ARSENAL).ex.available_to_lay == [{"price": 3.0, "size": 5.0}])

        # the strategy's cancelOrders (003:L10035-10066) comes back on the order stream: EC with sc, sent
        # once on the change (003:L6558-6559, L6565-6566, L6584)
        wait_for("the cancel on the order stream", lambda: stream_order(cancelled).status == "EXECUTION_COMPLETE")
        assert OrderStatus.CANCELLING in cancelled.status_log
        assert cancelled.status == OrderStatus.EXECUTION_COMPLETE
        assert (cancelled.size_cancelled, cancelled.size_matched, cancelled.size_remaining) == (2.0, 0.0, 0.0)
        assert matched.status == OrderStatus.EXECUTABLE

        # bob lays against alice's back over HTTP; flumine learns of the match only from its order stream,
        # where the order is sent in full on the change (003:L6597-6598)
        bob = api_client(live, "bob")
        bob.login_interactive()
        lay = bob.betting.place_orders(SOCCER, instructions=[filters.place_instruction(
            order_type="LIMIT", selection_id=ARSENAL, side="LAY",
            limit_order=filters.limit_order(size=5.0, price=3.0, persistence_type="LAPSE"))])
        assert lay.status == "SUCCESS" and lay.place_instruction_reports[0].size_matched == 5.0
        wait_for("the match on the order stream", lambda: matched.status == OrderStatus.EXECUTION_COMPLETE)
        assert (matched.size_matched, matched.average_price_matched, matched.size_remaining) == (5.0, 3.0, 0.0)
        assert stream_order(matched).matched_date is not None  # md (003:L6572)
        # and the trade on the market stream: traded volume and last price traded (003:L6355-6389)
        wait_for("the trade on the market stream", lambda: runner_book(market, ARSENAL).last_price_traded == 3.0)
        arsenal = runner_book(market, ARSENAL)
        assert arsenal.ex.traded_volume == [{"price": 3.0, "size": 5.0}] and arsenal.ex.available_to_lay == []

        # the match ends; the operator settles it, Arsenal won. flumine sees the market CLOSED with the
        # runners' results in the definition (stream-identity-accounts.md §6.12 item 5)
        assert live.submit(SetMarketStatus(market_id=SOCCER, status="SUSPENDED")).ok  # type: ignore[union-attr]
        wait_for("SUSPENDED on the market stream", lambda: market.status == "SUSPENDED")
        assert live.submit(SettleMarket(market_id=SOCCER, results=[RunnerResult(selection_id=ARSENAL)])).ok  # type: ignore[union-attr]
        wait_for("the market's closure", lambda: market.closed)
        # flumine's poll_market_closure: listClearedOrders SETTLED, BET and MARKET level (003:L11213-11343)
        wait_for("the cleared orders", lambda: matched.cleared_order is not None)
        wait_for("the cleared market", lambda: flumine.recorder.cleared_markets)
        # flumine's poll_account_balance: getAccountFunds (003:L12724-12739)
        expected_balance = START_BALANCE + PROFIT - COMMISSION
        wait_for("the balance after settlement", lambda: expected_balance in flumine.recorder.balances)
    finally:
        flumine.stop()
    assert not flumine.thread.is_alive(), "flumine did not stop"
    assert flumine.framework.clients.get_default().betting_client.session_token is None  # logged out
    # nothing flumine or betfairlightweight did (streams, workers, executions) failed on the way
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records
              if r.levelno >= logging.ERROR and r.name.startswith(("flumine", "betfairlightweight"))]
    assert errors == []

    # what the exchange reports for alice, through a session of her own
    alice = api_client(live, "alice")
    alice.login_interactive()
    (by_bet,) = alice.betting.list_cleared_orders(bet_status="SETTLED", market_ids=[SOCCER]).orders
    assert (by_bet.bet_id, by_bet.customer_order_ref) == (matched.bet_id, matched.customer_order_ref)
    assert (by_bet.profit, by_bet.bet_outcome, by_bet.size_settled, by_bet.price_matched) == (PROFIT, "WON", 5.0, 3.0)
    (by_market,) = alice.betting.list_cleared_orders(bet_status="SETTLED", market_ids=[SOCCER],
                                                     group_by="MARKET").orders
    assert (by_market.profit, by_market.commission) == (PROFIT, COMMISSION)
    (cancelled_row,) = alice.betting.list_cleared_orders(bet_status="CANCELLED", market_ids=[SOCCER]).orders
    statement = [i for i in alice.account.get_account_statement().account_statement if i.ref_id == matched.bet_id]
    funds = alice.account.get_account_funds()

    # flumine's blotter and what its workers reported: the same numbers
    assert matched.cleared_order.bet_id == by_bet.bet_id
    assert matched.profit == by_bet.profit
    assert cancelled.cleared_order is None and cancelled.profit == 0.0  # not SETTLED: no row, no profit
    assert (cancelled_row.bet_id, cancelled_row.size_cancelled) == (cancelled.bet_id, cancelled.size_cancelled)
    assert sum(o.profit for o in market.blotter) == by_market.profit
    assert [set(meta) for meta in flumine.recorder.cleared_orders_meta] == [{matched, cancelled}]
    (reported,) = flumine.recorder.cleared_markets  # flumine's listClearedOrders groupBy MARKET
    assert (reported.profit, reported.commission, reported.bet_count) == (by_market.profit, by_market.commission, 1)
    # flumine's own estimate (profit x client.commission_base, 5%) agrees with the exchange's charge
    cleared = market.cleared(flumine.framework.clients.get_default())
    assert (cleared["profit"], cleared["commission"]) == (by_market.profit, by_market.commission)
    # the statement (001:L1052-1186): newest first, the commission, then the winning bet
    assert [(i.amount, i.legacy_data.win_lose) for i in statement] == [
        (-by_market.commission, "RESULT_NOT_APPLICABLE"), (matched.profit, "RESULT_WON")]
    assert funds.available_to_bet_balance == statement[0].balance == expected_balance
    assert flumine.recorder.balances[-1] == funds.available_to_bet_balance

    # the closed market book flumine processed: the results, and each order's runner status from it
    (closed_book,) = strategy.closed_market_books
    assert closed_book.status == "CLOSED"
    assert {r.selection_id: r.status for r in closed_book.runners} == {ARSENAL: "WINNER", CHELSEA: "LOSER",
                                                                        DRAW: "LOSER"}
    assert (matched.runner_status, cancelled.runner_status) == ("WINNER", "LOSER")
