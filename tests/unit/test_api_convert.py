"""The API conversion layer (backlay.betfair.http.convert, backlay.betfair.http.reads) on a real Exchange.

Citations: `003:Lnnnn` are lines of the Betting API seed; `§x` are sections of
/work/shared/spec/notes/betting-api.md.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import (
    BACK,
    LAY,
    MARKET,
    SEL_A,
    SEL_B,
    T0,
    add_market,
    admin,
    apply,
    make_exchange,
    place,
    rest,
)

from backlay.betfair.http import convert, reads
from backlay.betfair.http.errors import ApiError
from backlay.betfair.wire import betting as w
from backlay.betfair.wire import decode_params, encode
from backlay.betfair.wire.common import Instant
from backlay.core import codes
from backlay.core.commands import CloseMarket, CreateMarket, MarketDefinition, RunnerDefinition


def as_json(obj: Any) -> Any:
    return json.loads(encode(obj))


# --- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "h"), [(3, 300), (3.5, 350), (1.01, 101), (1000, 100000), (0.0, 0),
                                      (3.555, -1), (1.001, -1), (-2.0, -1), (float("nan"), -1), (float("inf"), -1)])
def test_to_price_h(x: float, h: int) -> None:
    """Exact hundredths or -1, which the core answers INVALID_ODDS (commands.py)."""
    assert convert.to_price_h(x) == h


@pytest.mark.parametrize(("x", "m"), [(2, 200), (0.5, 50), (10.01, 1001), (0.29, 29), (2.001, -1), (-1.0, -1)])
def test_to_minor(x: float, m: int) -> None:
    assert convert.to_minor(x) == m


def test_handicap_and_bet_ids_and_back_conversion() -> None:
    """handicap is a double, 0 when not applicable (003:L11646-11650); betId a string (003:L12594-12624)."""
    assert convert.to_handicap_h(-0.25) == -25
    assert convert.to_handicap_h(None) == 0
    assert convert.to_handicap_h(0.125) == convert.INVALID_HANDICAP_H
    assert convert.bet_id_from_wire("31242604945") == 31242604945
    assert convert.bet_id_from_wire("abc") == -1
    assert convert.bet_id_from_wire("-5") == -1
    assert convert.bet_id_from_wire("") == -1
    assert convert.from_price_h(350) == 3.5
    assert convert.from_minor(250) == 2.5


# --- placeOrders -----------------------------------------------------------------------------------

DOC_REQUEST = {  # 003:L10653-10672
    "marketId": "1.109850906",
    "instructions": [{"selectionId": "237486", "handicap": "0", "side": "LAY", "orderType": "LIMIT",
                      "limitOrder": {"size": "2", "price": "3", "persistenceType": "LAPSE"}}],
}


def test_documented_place_orders_round_trip() -> None:
    """The documented LIMIT LAY 2 @ 3 request gives the documented response shape (003:L10653-10705),
    plus orderStatus which newer responses carry (003:L10909)."""
    ex = make_exchange(market_id="1.109850906", runners=[237486])
    params = decode_params("placeOrders", json.dumps(DOC_REQUEST))
    assert isinstance(params, w.PlaceOrdersParams)
    cmd = convert.place_orders_command(params, "alice", "app-key")
    assert cmd.instructions[0].limit is not None
    assert (cmd.instructions[0].side, cmd.instructions[0].limit.price_h, cmd.instructions[0].limit.size_minor) == (
        LAY, 300, 200)
    assert cmd.source_app_key == "app-key" and cmd.account_id == "alice"
    report = apply(ex, cmd)
    got = as_json(convert.place_report_to_wire(report, params))
    assert got["status"] == "SUCCESS" and got["marketId"] == "1.109850906"
    (ir,) = got["instructionReports"]
    assert set(ir) == {"instruction", "betId", "placedDate", "averagePriceMatched", "sizeMatched", "status",
                       "orderStatus"}
    assert ir["instruction"] == {"selectionId": 237486, "handicap": 0, "orderType": "LIMIT", "side": "LAY",
                                 "limitOrder": {"size": 2, "price": 3, "persistenceType": "LAPSE"}}
    assert isinstance(ir["betId"], str) and ir["betId"].isdigit()
    assert ir["placedDate"] == Instant(T0).iso()  # "2013-10-30T14:22:47.000Z" form (003:L10695)
    assert (ir["averagePriceMatched"], ir["sizeMatched"], ir["orderStatus"]) == (0, 0, "EXECUTABLE")


def test_every_place_field_is_mapped() -> None:
    """Every PlaceOrdersParams field reaches the command (003:L10595-10641, L12240-12367)."""
    params = decode_params("placeOrders", {
        "marketId": "1.1", "customerRef": "ref-1", "marketVersion": {"version": "42"},
        "customerStrategyRef": "strat", "async": "true",
        "instructions": [
            {"selectionId": 1, "handicap": -0.25, "side": "BACK", "orderType": "LIMIT", "customerOrderRef": "c1",
             "limitOrder": {"size": 5.5, "price": 1.01, "persistenceType": "PERSIST", "timeInForce": "FILL_OR_KILL",
                            "minFillSize": 2, "betTargetType": "PAYOUT", "betTargetSize": 10}},
            {"selectionId": 2, "side": "LAY", "orderType": "LIMIT_ON_CLOSE",
             "limitOnCloseOrder": {"liability": 20, "price": 4.5}},
            {"selectionId": 3, "side": "BACK", "orderType": "MARKET_ON_CLOSE", "marketOnCloseOrder": {"liability": 10}},
        ]})
    assert isinstance(params, w.PlaceOrdersParams)
    cmd = convert.place_orders_command(params, "acct", None)
    assert (cmd.market_id, cmd.customer_ref, cmd.market_version, cmd.customer_strategy_ref, cmd.async_) == (
        "1.1", "ref-1", 42, "strat", True)
    a, b, c = cmd.instructions
    assert a.limit is not None and b.limit_on_close is not None and c.market_on_close is not None
    assert (a.side, a.handicap_h, a.customer_order_ref) == (BACK, -25, "c1")
    assert (a.limit.size_minor, a.limit.price_h, a.limit.persistence, a.limit.time_in_force, a.limit.min_fill_minor,
            a.limit.bet_target_type, a.limit.bet_target_minor) == (550, 101, "PERSIST", "FILL_OR_KILL", 200,
                                                                   "PAYOUT", 1000)
    assert (b.order_type, b.side, b.limit_on_close.liability_minor, b.limit_on_close.price_h) == (
        "LIMIT_ON_CLOSE", LAY, 2000, 450)
    assert (c.order_type, c.market_on_close.liability_minor) == ("MARKET_ON_CLOSE", 1000)


def test_price_off_the_two_decimal_grid_is_invalid_odds() -> None:
    """A price that is not a 2-dp number arrives as -1 and the core rejects it INVALID_ODDS; the batch
    fails atomically with BET_ACTION_ERROR (§2.8), and the echo keeps the price the client sent."""
    ex = make_exchange()
    params = decode_params("placeOrders", {"marketId": MARKET, "instructions": [
        {"selectionId": SEL_A, "side": "BACK", "orderType": "LIMIT", "limitOrder": {"size": 2, "price": 3.555}}]})
    assert isinstance(params, w.PlaceOrdersParams)
    got = as_json(convert.place_report_to_wire(apply(ex, convert.place_orders_command(params, "alice", None)), params))
    assert got["status"] == "FAILURE" and got["errorCode"] == "BET_ACTION_ERROR"
    (ir,) = got["instructionReports"]
    assert ir["status"] == "FAILURE" and ir["errorCode"] == "INVALID_ODDS"
    assert ir["instruction"]["limitOrder"]["price"] == 3.555
    assert "betId" not in ir


def test_size_with_three_decimals_is_invalid_bet_size() -> None:
    ex = make_exchange()
    params = decode_params("placeOrders", {"marketId": MARKET, "instructions": [
        {"selectionId": SEL_A, "side": "BACK", "orderType": "LIMIT", "limitOrder": {"size": 2.005, "price": 3}}]})
    assert isinstance(params, w.PlaceOrdersParams)
    got = as_json(convert.place_report_to_wire(apply(ex, convert.place_orders_command(params, "alice", None)), params))
    assert got["instructionReports"][0]["errorCode"] == "INVALID_BET_SIZE"
    assert got["instructionReports"][0]["instruction"]["limitOrder"]["size"] == 2.005


def test_matched_report_has_average_price() -> None:
    """averagePriceMatched = matched value / size (reports.py); a bet matched at two prices averages them."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 300, 100)
    rest(ex, "bob", SEL_A, LAY, 310, 100)
    got = as_json(convert.place_report_to_wire(place(ex, "alice", SEL_A, BACK, 300, 200)))
    ir = got["instructionReports"][0]
    assert ir["sizeMatched"] == 2.0
    assert ir["averagePriceMatched"] == pytest.approx(3.05)
    assert ir["orderStatus"] == "EXECUTION_COMPLETE"


# --- cancel / replace / update ---------------------------------------------------------------------


def test_cancel_report_to_wire() -> None:
    """CancelInstructionReport echoes the instruction; sizeCancelled and cancelledDate on success
    (003:L12408-12460), absent on failure; a non-numeric bet id is echoed as sent."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    params = decode_params("cancelOrders", {"marketId": MARKET, "instructions": [
        {"betId": str(bet), "sizeReduction": 2}, {"betId": "not-a-bet"}]})
    assert isinstance(params, w.CancelOrdersParams)
    cmd = convert.cancel_orders_command(params, "alice")
    assert cmd.instructions is not None
    assert [(i.bet_id, i.size_reduction_minor) for i in cmd.instructions] == [(bet, 200), (-1, None)]
    got = as_json(convert.cancel_report_to_wire(apply(ex, cmd), params))
    assert got["status"] == "PROCESSED_WITH_ERRORS"
    ok, bad = got["instructionReports"]
    assert ok["status"] == "SUCCESS" and ok["instruction"] == {"betId": str(bet), "sizeReduction": 2}
    assert ok["sizeCancelled"] == 2 and ok["cancelledDate"].endswith("Z")
    assert bad["status"] == "FAILURE" and bad["instruction"] == {"betId": "not-a-bet"}
    assert "sizeCancelled" not in bad


def test_cancel_all_has_empty_instruction_reports() -> None:
    """Account-level cancel returns no instruction reports, but the list must be there (§1.7, 003:L12409-12410)."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, BACK, 300, 500)
    params = decode_params("cancelOrders", {})
    assert isinstance(params, w.CancelOrdersParams)
    cmd = convert.cancel_orders_command(params, "alice")
    assert cmd.market_id is None and cmd.instructions is None
    got = as_json(convert.cancel_report_to_wire(apply(ex, cmd), params))
    assert got["instructionReports"] == []


def test_replace_report_success_and_failure_carry_both_nested_reports() -> None:
    """betfairlightweight builds both nested reports unconditionally (§1.7); the new bet has a new id and
    the carried-over size at the new price (§2.11)."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    params = decode_params("replaceOrders", {"marketId": MARKET, "instructions": [
        {"betId": str(bet), "newPrice": 3.5}, {"betId": "999999999", "newPrice": 4}]})
    assert isinstance(params, w.ReplaceOrdersParams)
    cmd = convert.replace_orders_command(params, "alice", None)
    assert [(i.bet_id, i.new_price_h) for i in cmd.instructions] == [(bet, 350), (999999999, 400)]
    report = apply(ex, cmd)
    got = as_json(convert.replace_report_to_wire(report, params, ex.orders))
    ok, bad = got["instructionReports"]
    assert ok["status"] == "SUCCESS"
    assert ok["cancelInstructionReport"]["instruction"] == {"betId": str(bet)}
    assert ok["cancelInstructionReport"]["sizeCancelled"] == 5
    pir = ok["placeInstructionReport"]
    assert pir["betId"] != str(bet)
    assert pir["instruction"]["limitOrder"] == {"size": 5, "price": 3.5, "persistenceType": "LAPSE"}
    assert bad["status"] == "FAILURE"
    assert bad["cancelInstructionReport"]["status"] == "FAILURE"
    assert bad["cancelInstructionReport"]["instruction"] == {"betId": "999999999"}
    assert bad["placeInstructionReport"]["status"] == "FAILURE"
    assert bad["placeInstructionReport"]["errorCode"] == "RELATED_ACTION_FAILED"
    assert bad["placeInstructionReport"]["instruction"]["limitOrder"]["price"] == 4


def test_replace_failure_echo_never_describes_another_accounts_bet() -> None:
    ex = make_exchange()
    bobs = rest(ex, "bob", SEL_B, LAY, 300, 500)
    params = decode_params("replaceOrders", {"marketId": MARKET, "instructions": [{"betId": str(bobs), "newPrice": 3.5}]})
    assert isinstance(params, w.ReplaceOrdersParams)
    cmd = convert.replace_orders_command(params, "alice", None)
    got = as_json(convert.replace_report_to_wire(apply(ex, cmd), cmd, ex.orders))
    (ir,) = got["instructionReports"]
    assert ir["status"] == "FAILURE"
    assert ir["placeInstructionReport"]["instruction"]["selectionId"] != SEL_B


def test_update_report_to_wire() -> None:
    """UpdateInstructionReport echoes {betId, newPersistenceType} (003:L12461-12486)."""
    ex = make_exchange()
    bet = rest(ex, "alice", SEL_A, BACK, 300, 500)
    params = decode_params("updateOrders", {"marketId": MARKET, "instructions": [
        {"betId": str(bet), "newPersistenceType": "PERSIST"}]})
    assert isinstance(params, w.UpdateOrdersParams)
    got = as_json(convert.update_report_to_wire(apply(ex, convert.update_orders_command(params, "alice")), params))
    assert got["status"] == "SUCCESS"
    assert got["instructionReports"] == [{"status": "SUCCESS",
                                          "instruction": {"betId": str(bet), "newPersistenceType": "PERSIST"}}]
    assert ex.orders[bet].persistence == codes.PERSIST


# --- listMarketBook --------------------------------------------------------------------------------


def _book_params(**kw: Any) -> w.ListMarketBookParams:
    p = decode_params("listMarketBook", {"marketIds": [MARKET], **kw})
    assert isinstance(p, w.ListMarketBookParams)
    return p


def _ladder(ex: Any) -> None:
    for p in (200, 202, 204, 206):  # resting lays: availableToBack
        rest(ex, "bob", SEL_A, LAY, p, 100 + p)
    for p in (300, 305, 310, 315):  # resting backs: availableToLay
        rest(ex, "carol", SEL_A, BACK, p, 100 + p)


def test_market_book_best_offers_sorted_as_documented() -> None:
    """availableToBack descending, availableToLay ascending, depth 3 by default (003:L2800-2851,
    003:L12517-12552)."""
    ex = make_exchange()
    _ladder(ex)
    (mb,) = as_json(reads.list_market_book(ex, _book_params(priceProjection={"priceData": ["EX_BEST_OFFERS"]}),
                                           "alice"))
    runner = next(r for r in mb["runners"] if r["selectionId"] == SEL_A)
    assert runner["ex"]["availableToBack"] == [{"price": 2.06, "size": 3.06}, {"price": 2.04, "size": 3.04},
                                               {"price": 2.02, "size": 3.02}]
    assert runner["ex"]["availableToLay"] == [{"price": 3.0, "size": 4.0}, {"price": 3.05, "size": 4.05},
                                              {"price": 3.1, "size": 4.1}]
    assert runner["ex"]["tradedVolume"] == []
    other = next(r for r in mb["runners"] if r["selectionId"] == SEL_B)
    assert other["ex"] == {"availableToBack": [], "availableToLay": [], "tradedVolume": []}
    assert {"marketId", "isMarketDataDelayed", "status", "betDelay", "inplay", "totalMatched", "totalAvailable",
            "version", "runners", "numberOfRunners", "numberOfActiveRunners"} <= set(mb)
    assert mb["status"] == "OPEN" and mb["isMarketDataDelayed"] is False
    assert "orders" not in runner


def test_market_book_depth_all_offers_and_traded() -> None:
    ex = make_exchange()
    _ladder(ex)
    place(ex, "alice", SEL_A, BACK, 206, 100)  # takes 1.00 at 2.06
    p = _book_params(priceProjection={"priceData": ["EX_BEST_OFFERS", "EX_TRADED"],
                                      "exBestOffersOverrides": {"bestPricesDepth": 1}})
    (mb,) = as_json(reads.list_market_book(ex, p, "alice"))
    runner = next(r for r in mb["runners"] if r["selectionId"] == SEL_A)
    assert runner["ex"]["availableToBack"] == [{"price": 2.06, "size": 2.06}]
    assert len(runner["ex"]["availableToLay"]) == 1
    assert runner["ex"]["tradedVolume"] == [{"price": 2.06, "size": 1.0}]
    assert runner["lastPriceTraded"] == 2.06
    (mb,) = as_json(reads.list_market_book(ex, _book_params(priceProjection={"priceData": ["EX_ALL_OFFERS"]}), "x"))
    runner = next(r for r in mb["runners"] if r["selectionId"] == SEL_A)
    assert [o["price"] for o in runner["ex"]["availableToBack"]] == [2.06, 2.04, 2.02, 2.0]
    assert [o["price"] for o in runner["ex"]["availableToLay"]] == [3.0, 3.05, 3.1, 3.15]


def test_market_book_orders_are_the_callers_only_with_rollups() -> None:
    """orderProjection returns the caller's orders; matchProjection their matches (003:L10248-10251).
    An account never sees another's orders."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 300, 300)
    rest(ex, "bob", SEL_A, LAY, 310, 300)
    mine = rest(ex, "alice", SEL_A, BACK, 300, 500)  # matches 3.00 @ 3.10, 2.00 @ 3.00
    p = _book_params(orderProjection="ALL", matchProjection="NO_ROLLUP")
    (mb,) = as_json(reads.list_market_book(ex, p, "alice"))
    runner = next(r for r in mb["runners"] if r["selectionId"] == SEL_A)
    (order,) = runner["orders"]
    assert order["betId"] == str(mine) and order["side"] == "BACK" and order["sizeMatched"] == 5
    assert {"betId", "avgPriceMatched", "bspLiability", "orderType", "persistenceType", "price", "side",
            "sizeCancelled", "sizeLapsed", "sizeMatched", "sizeRemaining", "sizeVoided", "status", "size"} <= set(order)
    assert sorted((m["price"], m["size"]) for m in runner["matches"]) == [(3.0, 2.0), (3.1, 3.0)]
    assert all(m["betId"] == str(mine) for m in runner["matches"])
    (mb,) = as_json(reads.list_market_book(ex, _book_params(orderProjection="ALL",
                                                            matchProjection="ROLLED_UP_BY_AVG_PRICE"), "alice"))
    runner = next(r for r in mb["runners"] if r["selectionId"] == SEL_A)
    (m,) = runner["matches"]
    assert m["side"] == "BACK" and m["size"] == 5.0 and m["price"] == pytest.approx((3.1 * 3 + 3.0 * 2) / 5)
    (mb,) = as_json(reads.list_market_book(ex, _book_params(orderProjection="ALL",
                                                            matchProjection="ROLLED_UP_BY_PRICE"), "bob"))
    runner = next(r for r in mb["runners"] if r["selectionId"] == SEL_A)
    assert all(o["side"] == "LAY" for o in runner["orders"]) and len(runner["orders"]) == 2
    assert [(m["side"], m["price"], m["size"]) for m in runner["matches"]] == [("LAY", 3.0, 2.0), ("LAY", 3.1, 3.0)]
    # a third account sees no orders at all, and asking for alice's bet id by id does not help
    (mb,) = as_json(reads.list_market_book(ex, _book_params(orderProjection="ALL", betIds=[str(mine)]), "carol"))
    assert all(r.get("orders") == [] for r in mb["runners"])
    # EXECUTABLE projection
    (mb,) = as_json(reads.list_market_book(ex, _book_params(orderProjection="EXECUTABLE"), "alice"))
    assert all(r["orders"] == [] for r in mb["runners"])


def test_market_book_ids_order_unknown_ids_and_closed_mix() -> None:
    """marketIds order kept, unknown ids left out (§2.3 [DERIVED]); OPEN with CLOSED returns only the
    OPEN ones (003:L10229-10230); a CLOSED one alone is returned with empty ex lists (003:L3133-3137)."""
    ex = make_exchange()
    add_market(ex, "1.200")
    add_market(ex, "1.300")
    admin(ex, CloseMarket(market_id="1.300"))
    p = decode_params("listMarketBook", {"marketIds": ["1.200", "1.999", MARKET, "1.300"],
                                         "priceProjection": {"priceData": ["EX_BEST_OFFERS"]}})
    assert isinstance(p, w.ListMarketBookParams)
    assert [b.market_id for b in reads.list_market_book(ex, p, "alice")] == ["1.200", MARKET]
    p = decode_params("listMarketBook", {"marketIds": ["1.300"]})
    assert isinstance(p, w.ListMarketBookParams)
    (closed,) = as_json(reads.list_market_book(ex, p, "alice"))
    assert closed["status"] == "CLOSED"
    assert all(r["ex"] == {"availableToBack": [], "availableToLay": [], "tradedVolume": []}
               for r in closed["runners"])


# --- listCurrentOrders -----------------------------------------------------------------------------


def test_current_orders_own_only_with_required_keys_and_paging() -> None:
    """Every size key and regulatorCode present (§2.6, §1.7); BY_BET EARLIEST_TO_LATEST by default
    (003:L10111-10114); paging with moreAvailable (003:L12154-12167)."""
    ex = make_exchange()
    mine = [rest(ex, "alice", SEL_A, BACK, 300 + 5 * i, 200) for i in range(3)]
    theirs = rest(ex, "bob", SEL_B, LAY, 200, 200)
    p = decode_params("listCurrentOrders", {})
    assert isinstance(p, w.ListCurrentOrdersParams)
    got = as_json(reads.list_current_orders(ex, p, "alice"))
    assert [o["betId"] for o in got["currentOrders"]] == [str(b) for b in mine]
    assert got["moreAvailable"] is False
    first = got["currentOrders"][0]
    assert {"betId", "averagePriceMatched", "bspLiability", "handicap", "marketId", "orderType", "persistenceType",
            "placedDate", "regulatorCode", "selectionId", "side", "sizeCancelled", "sizeLapsed", "sizeMatched",
            "sizeRemaining", "sizeVoided", "status", "priceSize"} <= set(first)
    assert first["regulatorCode"] == "GIBRALTAR REGULATOR"
    assert first["priceSize"] == {"price": 3.0, "size": 2.0}
    p = decode_params("listCurrentOrders", {"sortDir": "LATEST_TO_EARLIEST", "fromRecord": 0, "recordCount": 2})
    assert isinstance(p, w.ListCurrentOrdersParams)
    got = as_json(reads.list_current_orders(ex, p, "alice"))
    assert [o["betId"] for o in got["currentOrders"]] == [str(mine[2]), str(mine[1])]
    assert got["moreAvailable"] is True
    p = decode_params("listCurrentOrders", {"betIds": [str(theirs), str(mine[0])]})
    assert isinstance(p, w.ListCurrentOrdersParams)
    assert [o.bet_id for o in reads.list_current_orders(ex, p, "alice").current_orders] == [str(mine[0])]
    assert [o.bet_id for o in reads.list_current_orders(ex, p, "bob").current_orders] == [str(theirs)]
    p = decode_params("listCurrentOrders", {"orderBy": "BY_MATCH_TIME"})
    assert isinstance(p, w.ListCurrentOrdersParams)
    assert reads.list_current_orders(ex, p, "alice").current_orders == []  # nothing matched (003:L10136-10147)


# --- navigation and catalogue ----------------------------------------------------------------------


def _nav_exchange() -> Any:
    ex = make_exchange(event_type_id="7", event_type_name="Horse Racing", event_id="E1",
                       event_name="Ascot 1st Jan", venue="Ascot", country_code="GB", market_type="WIN",
                       bsp_market=True, market_time_ms=T0 + 3_600_000)
    add_market(ex, "1.200", event_type_id="1", event_type_name="Soccer", event_id="E2",
               event_name="Arsenal v Chelsea", competition_id="C1", competition_name="Premier League",
               country_code="GB", market_time_ms=T0 + 7_200_000)
    add_market(ex, "1.300", event_type_id="1", event_type_name="Soccer", event_id="E3",
               event_name="Real Madrid v Barcelona", competition_id="C2", competition_name="La Liga",
               country_code="ES", market_type="OVER_UNDER_25", market_time_ms=T0 + 90_000_000)
    add_market(ex, "1.400", open_market=False, event_type_id="1", event_name="Inactive v Market")
    add_market(ex, "1.500", event_type_id="1", event_name="Closed v Market")
    admin(ex, CloseMarket(market_id="1.500"))
    return ex


def _filter(**kw: Any) -> w.MarketFilter:
    p = decode_params("listEventTypes", {"filter": kw})
    assert isinstance(p, w.ListEventTypesParams)
    return p.filter


def test_navigation_counts_and_filters() -> None:
    """Facets with marketCount over published markets only (§2.1; CLOSED and INACTIVE left out)."""
    ex = _nav_exchange()
    assert as_json(reads.list_event_types(ex, _filter())) == [
        {"eventType": {"id": "7", "name": "Horse Racing"}, "marketCount": 1},
        {"eventType": {"id": "1", "name": "Soccer"}, "marketCount": 2}]
    assert as_json(reads.list_competitions(ex, _filter(eventTypeIds=[1]))) == [
        {"competition": {"id": "C1", "name": "Premier League"}, "marketCount": 1},
        {"competition": {"id": "C2", "name": "La Liga"}, "marketCount": 1}]
    assert as_json(reads.list_countries(ex, _filter())) == [{"countryCode": "GB", "marketCount": 2},
                                                            {"countryCode": "ES", "marketCount": 1}]
    assert as_json(reads.list_venues(ex, _filter())) == [{"venue": "Ascot", "marketCount": 1}]
    assert {r.market_type for r in reads.list_market_types(ex, _filter())} == {"WIN", "MATCH_ODDS", "OVER_UNDER_25"}
    (ev,) = as_json(reads.list_events(ex, _filter(textQuery="arsenal*")))
    assert ev["event"] == {"id": "E2", "name": "Arsenal v Chelsea", "countryCode": "GB", "timezone": "GMT",
                           "openDate": Instant(0).iso()}
    assert [e.event.id for e in reads.list_events(ex, _filter(textQuery="madrid")) if e.event] == ["E3"]
    assert [e.event.id for e in reads.list_events(ex, _filter(marketCountries=["ES"])) if e.event] == ["E3"]
    assert [e.event.id for e in reads.list_events(ex, _filter(bspOnly=True)) if e.event] == ["E1"]
    assert [e.event.id for e in reads.list_events(ex, _filter(venues=["Ascot"])) if e.event] == ["E1"]
    assert [e.event.id for e in reads.list_events(ex, _filter(marketTypeCodes=["OVER_UNDER_25"])) if e.event] == ["E3"]
    assert [e.event.id for e in reads.list_events(ex, _filter(competitionIds=["C1"])) if e.event] == ["E2"]
    assert [e.event.id for e in reads.list_events(ex, _filter(marketIds=["1.200", "1.500"])) if e.event] == ["E2"]
    assert reads.list_events(ex, _filter(inPlayOnly=True)) == []
    window = {"from": Instant(T0).iso(), "to": Instant(T0 + 7_200_000).iso()}
    assert [e.event.id for e in reads.list_events(ex, _filter(marketStartTime=window)) if e.event] == ["E1", "E2"]
    ranges = reads.list_time_ranges(ex, _filter(), "DAYS")
    assert sum(r.market_count or 0 for r in ranges) == 3


def test_with_orders_filter_uses_the_callers_orders_only() -> None:
    """withOrders (003:L11453-11534) looks at the calling account's orders only."""
    ex = _nav_exchange()
    rest(ex, "bob", SEL_A, BACK, 300, 200, market_id="1.200")
    f = _filter(withOrders=["EXECUTABLE"])
    assert [r.event_type.id for r in reads.list_event_types(ex, f, "bob") if r.event_type] == ["1"]
    assert reads.list_event_types(ex, f, "alice") == []
    assert reads.list_event_types(ex, f, None) == []


def test_market_catalogue_projections_sort_and_max_results() -> None:
    """marketId, marketName, totalMatched always; the rest per projection (003:L9576-9593);
    RUNNER_METADATA forces RUNNER_DESCRIPTION; maxResults 1..1000 (003:L10341-10343)."""
    ex = _nav_exchange()
    p = decode_params("listMarketCatalogue", {"filter": {}, "maxResults": "10"})
    assert isinstance(p, w.ListMarketCatalogueParams)
    got = as_json(reads.list_market_catalogue(ex, p))
    assert [m["marketId"] for m in got] == [MARKET, "1.200", "1.300"]
    assert set(got[0]) == {"marketId", "marketName", "totalMatched"}
    p = decode_params("listMarketCatalogue", {"filter": {}, "maxResults": 2, "sort": "LAST_TO_START",
                                              "marketProjection": ["RUNNER_METADATA", "EVENT", "EVENT_TYPE",
                                                                   "COMPETITION", "MARKET_START_TIME",
                                                                   "MARKET_DESCRIPTION"]})
    assert isinstance(p, w.ListMarketCatalogueParams)
    got = as_json(reads.list_market_catalogue(ex, p))
    assert [m["marketId"] for m in got] == ["1.300", "1.200"]
    m = got[0]
    assert m["competition"] == {"id": "C2", "name": "La Liga"}
    assert m["eventType"] == {"id": "1", "name": "Soccer"}
    assert m["marketStartTime"] == Instant(T0 + 90_000_000).iso()
    assert {"bettingType", "bspMarket", "marketTime", "suspendTime", "turnInPlayEnabled"} <= set(m["description"])
    assert m["description"]["marketBaseRate"] == 5.0
    assert m["runners"][0] == {"selectionId": SEL_A, "runnerName": f"runner {SEL_A}", "handicap": 0.0,
                               "sortPriority": 1, "metadata": {}}
    p = decode_params("listMarketCatalogue", {"filter": {}, "maxResults": 0})
    assert isinstance(p, w.ListMarketCatalogueParams)
    with pytest.raises(ApiError) as err:
        reads.list_market_catalogue(ex, p)
    assert err.value.code == "INVALID_INPUT_DATA"


def test_catalogue_handicap_runners() -> None:
    ex = make_exchange()
    admin(ex, CreateMarket(market_id="1.700", definition=MarketDefinition(
        name="AH", betting_type="ASIAN_HANDICAP_DOUBLE_LINE"), runners=[
        RunnerDefinition(selection_id=5, name="Home", handicap_h=-25, sort_priority=1),
        RunnerDefinition(selection_id=5, name="Home", handicap_h=25, sort_priority=2)]))
    p = decode_params("listRunnerBook", {"marketId": "1.700", "selectionId": 5, "handicap": 0.25})
    assert isinstance(p, w.ListRunnerBookParams)
    (mb,) = reads.list_runner_book(ex, p, "alice")
    assert [(r.selection_id, r.handicap) for r in mb.runners] == [(5, 0.25)]


# --- getAccountFunds -------------------------------------------------------------------------------


def test_account_funds() -> None:
    """availableToBetBalance = balance - exposure; exposure reported negative, as Betfair does."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, BACK, 300, 500)
    got = as_json(reads.get_account_funds(ex, "alice"))
    assert got["availableToBetBalance"] == 995.0
    assert got["exposure"] == -5.0
    assert got["wallet"] == "UK"
    assert as_json(reads.get_account_funds(ex, "bob"))["exposure"] == 0.0
    with pytest.raises(ApiError):
        reads.get_account_funds(ex, "nobody")
