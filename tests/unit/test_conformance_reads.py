"""Parameters of the read operations that are honoured as the spec says (issue 16, item 9): the
best-offer rollup and depth, MarketFilter raceTypes / marketCountries / textQuery, listCurrentOrders'
and listClearedOrders' extra fields, a delayed key's BSP prices, locale, getAccountFunds' wallet, and
listRunnerBook's request limits. Each test cites its 003 line."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
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
    limit_ins,
    make_exchange,
    place_many,
    rest,
)

from backlay.betfair import ladders
from backlay.betfair.http import history, limits, reads
from backlay.betfair.http.errors import ApiError
from backlay.betfair.services.delayed_prices import DelayedPrices
from backlay.betfair.stream.hub import Hub
from backlay.betfair.wire import betting as w
from backlay.betfair.wire import decode_params, encode
from backlay.betfair.wire import stream as ws
from backlay.core import codes
from backlay.core.commands import (
    MarketOnCloseOrder,
    PlaceInstruction,
    PlaceOrders,
    RunnerResult,
    SettleMarket,
)
from backlay.core.exchange import Exchange

HISTORICAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "historical"
needs_history = pytest.mark.skipif(
    not HISTORICAL.is_dir(), reason=f"Betfair historical files not found: {HISTORICAL} (../shared is absent)")


def book(ex: Exchange, account: str | None = "alice", **params: Any) -> dict[str, Any]:
    decoded = decode_params("listMarketBook", {"marketIds": [MARKET], **params})
    assert isinstance(decoded, w.ListMarketBookParams)
    limits.check_book(decoded)
    (mb,) = json.loads(encode(reads.list_market_book(ex, decoded, account)))
    return mb  # type: ignore[no-any-return]


def to_lay(ex: Exchange, sel: int = SEL_A, **overrides: Any) -> list[tuple[float, float]]:
    """availableToLay of EX_BEST_OFFERS with these exBestOffersOverrides."""
    pp: dict[str, Any] = {"priceData": ["EX_BEST_OFFERS"]}
    if overrides:
        pp["exBestOffersOverrides"] = overrides
    r = next(r for r in book(ex, priceProjection=pp)["runners"] if r["selectionId"] == sel)
    return [(p["price"], p["size"]) for p in r["ex"]["availableToLay"]]


def small_levels() -> Exchange:
    """Backs (availableToLay) of £0.50 @ 20, £5 @ 21, £6 @ 22 and £20 @ 23: £0.50 @ 20 is a legal bet
    (its payout reaches £10, 001's minimum payout) below the £1 minimum stake."""
    ex = make_exchange()
    for price_h, size in ((2000, 50), (2100, 500), (2200, 600), (2300, 2000)):
        rest(ex, "bob", SEL_A, BACK, price_h, size)
    return ex


# --- rollup ----------------------------------------------------------------------------------------


def test_default_rollup_is_stake_at_the_minimum_stake() -> None:
    """003:L12524-12528: "If unspecified defaults to STAKE rollup model with rollupLimit of minimum stake
    in the specified currency": the £0.50 @ 20 is summed into the next level, shown at its price."""
    ex = small_levels()
    assert to_lay(ex) == [(21.0, 5.5), (22.0, 6.0), (23.0, 20.0)]
    assert to_lay(ex, rollupLimit=10) == to_lay(ex)  # "Ignored if no rollup model is specified" (L12533-12534)


def test_stake_rollup_with_a_limit() -> None:
    """003:L12529-12534, SportsAPING.xml RollupModel STAKE: "rolled up to the minimum value which is >=
    rollupLimit"; a tail that never reaches it is not shown."""
    ex = small_levels()
    assert to_lay(ex, rollupModel="STAKE", rollupLimit=10) == [(22.0, 11.5), (23.0, 20.0)]
    assert to_lay(ex, rollupModel="STAKE", rollupLimit=40) == []
    assert to_lay(ex, rollupModel="STAKE", rollupLimit=0) == [(20.0, 0.5), (21.0, 5.0), (22.0, 6.0)]
    # MANAGED_LIABILITY is "Not supported as yet" (L12535-12552): its stake-based part
    assert to_lay(ex, rollupModel="MANAGED_LIABILITY", rollupLimit=10) == [(22.0, 11.5), (23.0, 20.0)]


def test_payout_and_none_rollups() -> None:
    """003:L12524-12534 with SportsAPING.xml's RollupModel: PAYOUT rolls until price * volume >=
    rollupLimit; NONE rolls nothing but leaves out volumes below the currency's minimum stake."""
    ex = small_levels()
    assert to_lay(ex, rollupModel="PAYOUT", rollupLimit=200) == [(22.0, 11.5), (23.0, 20.0)]
    assert to_lay(ex, rollupModel="PAYOUT", rollupLimit=10) == [(20.0, 0.5), (21.0, 5.0), (22.0, 6.0)]
    assert to_lay(ex, rollupModel="NONE", rollupLimit=10) == [(21.0, 5.0), (22.0, 6.0), (23.0, 20.0)]


def test_payout_on_a_line_market_counts_the_price_as_two() -> None:
    """SportsAPING.xml RollupModel PAYOUT: "On a LINE market, volumes will be rolled up where payout(
    2.0 * volume ) is >= rollupLimit" (003:L12524-12534)."""
    rollup = ladders.Rollup(ladders.PAYOUT, 1000, line=True)  # £10
    assert list(ladders.roll([(1050, 300), (1100, 300), (1150, 500)], rollup, 3)) == [(1100, 600), (1150, 500)]


def test_all_offers_are_never_rolled_up() -> None:
    """003:L12517-12519: exBestOffersOverrides is "Applicable to EX_BEST_OFFERS priceData selection"."""
    ex = small_levels()
    r = next(r for r in book(ex, priceProjection={"priceData": ["EX_ALL_OFFERS"]})["runners"]
             if r["selectionId"] == SEL_A)
    assert r["ex"]["availableToLay"][0] == {"price": 20.0, "size": 0.5}


def test_the_rollup_limit_is_in_the_requested_currency() -> None:
    """003:L12526-12528 "minimum stake in the specified currency", currencyCode 003:L10271-10273: €1 is
    less than £1, so £0.90 is a level of its own in EUR and rolled up in GBP."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, BACK, 2000, 90)
    rest(ex, "bob", SEL_A, BACK, 2100, 500)
    pp = {"priceData": ["EX_BEST_OFFERS"]}
    gbp = next(r for r in book(ex, priceProjection=pp)["runners"] if r["selectionId"] == SEL_A)
    eur = next(r for r in book(ex, priceProjection=pp, currencyCode="EUR")["runners"] if r["selectionId"] == SEL_A)
    assert [p["price"] for p in gbp["ex"]["availableToLay"]] == [21.0]
    assert [p["price"] for p in eur["ex"]["availableToLay"]] == [20.0, 21.0]  # sizes converted by the handler


def test_virtual_offers_are_rolled_up_with_the_rest() -> None:
    """003:L12498-12505 (virtualise) with L12524-12528: the display's ladder, virtual offers merged in,
    has no level below the minimum stake (as Betfair's recorded bdatb/bdatl never do)."""
    ex = make_exchange(runners=(SEL_A, SEL_B), cross_matching=True)
    rest(ex, "bob", SEL_B, LAY, 150, 150)  # a lay of £1.50 @ 1.5 on B: a virtual back of £0.75 @ 3.0 on A
    rest(ex, "carol", SEL_A, BACK, 310, 200)
    pp = {"priceData": ["EX_BEST_OFFERS"], "virtualise": True}
    r = next(r for r in book(ex, priceProjection=pp)["runners"] if r["selectionId"] == SEL_A)
    raw = next(r for r in book(ex, priceProjection={**pp, "exBestOffersOverrides": {"rollupModel": "STAKE",
                                                                                    "rollupLimit": 0}})["runners"]
               if r["selectionId"] == SEL_A)
    assert raw["ex"]["availableToLay"] == [{"price": 3.0, "size": 0.75}, {"price": 3.1, "size": 2.0}]
    assert r["ex"]["availableToLay"] == [{"price": 3.1, "size": 2.75}]


def test_at_most_ten_levels_and_bad_overrides() -> None:
    """003:L12520-12523: "The maximum returned price depth returned is 10"; a depth below 1 and a negative
    rollupLimit are INVALID_INPUT_DATA."""
    ex = make_exchange()
    for i in range(12):
        rest(ex, "bob", SEL_A, BACK, 300 + 10 * i, 200)
    assert len(to_lay(ex, bestPricesDepth=20)) == 10
    for bad in ({"bestPricesDepth": 0}, {"rollupModel": "STAKE", "rollupLimit": -1}):
        with pytest.raises(ApiError, match="INVALID_INPUT_DATA"):
            to_lay(ex, **bad)


def test_the_stream_shows_the_same_rollup() -> None:
    """003:L6317-6330 (EX_BEST_OFFERS_DISP, EX_BEST_OFFERS) with L12524-12528: the stream's best-offer
    ladders are rolled up as listMarketBook's default; EX_ALL_OFFERS (atb/atl) stays raw."""
    ex = small_levels()
    hub = Hub(lambda: ex, lambda: 1, lambda: T0, schedule=lambda fn: None)
    sent: list[dict[str, Any]] = []

    class Conn:
        paused = False

        def write(self, data: bytes) -> None:
            sent.extend(json.loads(line) for line in data.split(b"\r\n") if line)

    msg = ws.MarketSubscriptionMessage(id=1, marketFilter=ws.MarketFilter(marketIds=[MARKET]),
                                       marketDataFilter=ws.MarketDataFilter(
                                           fields=["EX_BEST_OFFERS_DISP", "EX_BEST_OFFERS", "EX_ALL_OFFERS"]))
    hub.start_markets(hub.market_subscription(Conn(), msg, delayed=False), None)
    rc = next(rc for rc in sent[0]["mc"][0]["rc"] if rc["id"] == SEL_A)
    assert rc["bdatl"] == rc["batl"] == [[0, 21.0, 5.5], [1, 22.0, 6.0], [2, 23.0, 20.0]]
    assert [20.0, 0.5] in rc["atl"]


@needs_history
def test_betfairs_recorded_display_is_rolled_up() -> None:
    """003:L12524-12528, checked on Betfair's own PRO files (bdatb/bdatl against atb/atl): when the best
    raw level is below £1, the display's best price is the raw ladder's STAKE rollup at £1 (virtual
    offers aside), and no displayed size is ever below £1. 0.89 @ 23 and 36.35 @ 24 show as 37.24 @ 24."""
    rollup = ladders.Rollup(ladders.STAKE, 100)
    rolled_first = raw_first = cases = 0
    for name in ("1.197931750", "1.197931751"):
        raw: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
        shown: dict[tuple[int, str], dict[int, tuple[int, int]]] = defaultdict(dict)
        for line in (HISTORICAL / name).read_text().splitlines():
            for mc in json.loads(line).get("mc", []):
                for rc in mc.get("rc", []):
                    for key in ("atb", "atl"):
                        for p, s in rc.get(key, []):
                            raw[rc["id"], key].pop(round(p * 100), None) if s == 0 else \
                                raw[rc["id"], key].__setitem__(round(p * 100), round(s * 100))
                    for key in ("bdatb", "bdatl"):
                        for lv, p, s in rc.get(key, []):
                            assert s == 0 or s >= 1, (name, rc["id"], key, s)
                            shown[rc["id"], key[2:]].pop(lv, None) if s == 0 else \
                                shown[rc["id"], key[2:]].__setitem__(lv, (round(p * 100), round(s * 100)))
                for rc in mc.get("rc", []):
                    for key in ("atb", "atl"):
                        ladder = sorted(raw[rc["id"], key].items(), reverse=key == "atb")
                        disp = shown[rc["id"], key]
                        if not ladder or not disp or ladder[0][1] >= 100:
                            continue
                        cases += 1
                        best = disp[min(disp)][0]
                        rolled_first += ladders.roll(ladder, rollup, 1)[0][0] == best
                        raw_first += ladder[0][0] == best
    assert cases > 200
    assert rolled_first >= 0.9 * cases and raw_first <= 0.1 * cases
    assert list(ladders.roll([(2300, 89), (2400, 3635)], rollup, 10)) == [(2400, 3724)]
    assert list(ladders.roll([(7000, 71), (6500, 47), (6000, 307)], rollup, 10)) == [(6500, 118), (6000, 307)]


# --- delayed keys ----------------------------------------------------------------------------------


def test_a_delayed_key_has_no_bsp_near_and_far_prices() -> None:
    """003:L4808: "BSP Far & Near Price Not Available" to a delayed application key; the live key has them.
    The delayed key's best offers are rolled up too (003:L12524-12528)."""
    ex = make_exchange(bsp_market=True)
    rest(ex, "bob", SEL_A, LAY, 300, 1000)
    rest(ex, "carol", SEL_A, BACK, 400, 1000)
    moc = PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=SEL_A, side=BACK,
                           market_on_close=MarketOnCloseOrder(liability_minor=500))
    assert place_many(ex, "alice", [moc]).status == codes.SUCCESS
    rest(ex, "bob", SEL_A, BACK, 2000, 50)
    prices = DelayedPrices(lambda: ex, lambda: 0, 1_000)
    prices.sample(T0)
    params = decode_params("listMarketBook", {"marketIds": [MARKET], "priceProjection": {
        "priceData": ["SP_AVAILABLE", "SP_TRADED", "EX_BEST_OFFERS"]}})
    assert isinstance(params, w.ListMarketBookParams)
    live = json.loads(encode(reads.list_market_book(ex, params, "alice")))[0]["runners"][0]
    late = json.loads(encode(reads.list_market_book(ex, params, "alice", prices, T0 + 5_000)))[0]["runners"][0]
    assert live["sp"]["nearPrice"] == 3.0 and "farPrice" in live["sp"]
    assert "nearPrice" not in late["sp"] and "farPrice" not in late["sp"]
    assert late["sp"]["backStakeTaken"] == live["sp"]["backStakeTaken"]
    assert late["ex"]["availableToLay"] == live["ex"]["availableToLay"]  # 0.50 @ 20 rolled into 4.0
    assert all(p["size"] >= 1 for p in late["ex"]["availableToLay"])


def test_a_delayed_stream_subscription_gets_no_projected_sp() -> None:
    """003:L4808 on the stream: SP_PROJECTED (spn/spf, 003:L6346-6350) is dropped for a delayed key."""
    ex = make_exchange(bsp_market=True)
    hub = Hub(lambda: ex, lambda: 1, lambda: T0, schedule=lambda fn: None)
    f = ws.MarketDataFilter(fields=["SP_PROJECTED", "SP_TRADED", "EX_BEST_OFFERS"])
    msg = ws.MarketSubscriptionMessage(id=1, marketDataFilter=f)
    assert "SP_PROJECTED" not in hub.market_subscription(object(), msg, delayed=True).shape.fields  # type: ignore[arg-type]
    assert "SP_PROJECTED" in hub.market_subscription(object(), msg, delayed=False).shape.fields  # type: ignore[arg-type]


# --- MarketFilter ----------------------------------------------------------------------------------


def filtered(ex: Exchange, **f: Any) -> list[str]:
    params = decode_params("listMarketCatalogue", {"filter": f, "maxResults": 100})
    assert isinstance(params, w.ListMarketCatalogueParams)
    return [m.market_id for m in reads.list_market_catalogue(ex, params)]


def test_race_type_no_value_matches_markets_without_one() -> None:
    """003:L11518-11524: NO_VALUE "when no valid race type has been mapped", as the stream has it."""
    ex = make_exchange()
    add_market(ex, "1.200", race_type="Flat")
    assert filtered(ex, raceTypes=["NO_VALUE"]) == [MARKET]
    assert filtered(ex, raceTypes=["Flat"]) == ["1.200"]
    assert filtered(ex, raceTypes=["Flat", "NO_VALUE"]) == [MARKET, "1.200"]


def test_a_market_without_a_country_is_gb() -> None:
    """003:L11497-11499: "the default value is 'GB' when the correct country code cannot be determined",
    for marketCountries and listCountries."""
    ex = make_exchange(country_code="IE")
    add_market(ex, "1.200", country_code=None)
    assert filtered(ex, marketCountries=["GB"]) == ["1.200"]
    assert filtered(ex, marketCountries=["IE"]) == [MARKET]
    counts = {c.country_code: c.market_count for c in reads.list_countries(ex, w.MarketFilter())}
    assert counts == {"IE": 1, "GB": 1}


def test_a_text_query_may_not_begin_with_a_wildcard() -> None:
    """003:L11456-11458: a wildcard "as long as it is not the first character"; else INVALID_INPUT_DATA
    with "text query has invalid content" (003:L10017)."""
    ex = make_exchange()
    with pytest.raises(ApiError, match="text query has invalid content"):
        filtered(ex, textQuery="*market")
    with pytest.raises(ApiError, match="INVALID_INPUT_DATA"):
        reads.list_event_types(ex, w.MarketFilter(text_query=" *x"))
    filtered(ex, textQuery="mar*")  # not first: fine


# --- orders ----------------------------------------------------------------------------------------


def test_current_orders_item_description_and_source_id() -> None:
    """003:L10158-10171 (includeItemDescription, includeSourceId), L12139-12145 (CurrentItemDescription
    .marketVersion), L12233-12238 (currentItemDescription, sourceIdKey, sourceIdDescription)."""
    ex = make_exchange()
    version = ex.markets[MARKET].version
    apply(ex, PlaceOrders(account_id="alice", market_id=MARKET, instructions=[limit_ins(SEL_A, BACK, 300, 200)],
                          source_app_key="app-1"))

    def orders(**params: Any) -> list[dict[str, Any]]:
        p = decode_params("listCurrentOrders", params)
        assert isinstance(p, w.ListCurrentOrdersParams)
        return json.loads(encode(reads.list_current_orders(ex, p, "alice")))["currentOrders"]  # type: ignore[no-any-return]

    (plain,) = orders()
    assert not {"currentItemDescription", "sourceIdKey", "sourceIdDescription"} & set(plain)
    (full,) = orders(includeItemDescription=True, includeSourceId=True)
    assert full["currentItemDescription"] == {"marketVersion": {"version": version}}
    assert (full["sourceIdKey"], full["sourceIdDescription"]) == ("app-1", "API")


def test_cleared_orders_source_id() -> None:
    """003:L11330-11334 (includeSourceId), L12093-12095 (sourceIdKey, sourceIdDescription): hoisted to a
    roll-up when every bet of it has the same (003:L11347-11357)."""
    ex = make_exchange()
    for account, side in (("alice", BACK), ("bob", LAY)):
        apply(ex, PlaceOrders(account_id=account, market_id=MARKET, source_app_key=f"{account}-app",
                              instructions=[limit_ins(SEL_A, side, 300, 200)]))
    admin(ex, SettleMarket(market_id=MARKET, results=[RunnerResult(selection_id=SEL_A)]))

    def cleared(**params: Any) -> list[dict[str, Any]]:
        p = decode_params("listClearedOrders", {"betStatus": "SETTLED", **params})
        assert isinstance(p, w.ListClearedOrdersParams)
        return json.loads(encode(history.list_cleared_orders(ex, p, "alice")))["clearedOrders"]  # type: ignore[no-any-return]

    assert "sourceIdKey" not in cleared()[0]
    (bet,) = cleared(includeSourceId=True)
    assert (bet["sourceIdKey"], bet["sourceIdDescription"]) == ("alice-app", "API")
    assert cleared(includeSourceId=True, groupBy="MARKET")[0]["sourceIdKey"] == "alice-app"


# --- locale, wallet, listRunnerBook ----------------------------------------------------------------


def test_locale_must_be_an_iso_639_language() -> None:
    """003:L10015: "locale must use valid iso-639 locale names" (INVALID_INPUT_DATA)."""
    for ok in (None, "", "en", "en_GB", "pt-BR", "ES"):
        reads.check_locale(ok)
    for bad in ("xx", "english", "en_", "e", "en_GBR", "12"):
        with pytest.raises(ApiError, match="locale must use valid iso-639 locale names") as err:
            reads.check_locale(bad, "AccountAPINGException")
        assert err.value.code == "INVALID_INPUT_DATA" and err.value.exception_name == "AccountAPINGException"


def test_account_funds_of_a_wallet() -> None:
    """003:L12732-12733: wallet, the Global (UK) wallet by default; the other wallet holds nothing."""
    ex = make_exchange()
    uk = reads.get_account_funds(ex, "alice")
    assert uk == reads.get_account_funds(ex, "alice", "UK") and uk.wallet == "UK" and uk.available_to_bet_balance
    aus = reads.get_account_funds(ex, "alice", "AUSTRALIAN")
    assert (aus.wallet, aus.available_to_bet_balance, aus.exposure) == ("AUSTRALIAN", 0.0, 0.0)


def test_runner_book_has_the_market_book_limits() -> None:
    """003:L10295-10297 (at most 250 betIds) and L4954-4993 (the weights of "listMarketBook/
    listRunnerBook"); the overrides are checked as listMarketBook's (003:L12520-12523)."""
    base = {"marketId": MARKET, "selectionId": SEL_A}
    ok = decode_params("listRunnerBook", {**base, "betIds": [str(i) for i in range(250)]})
    assert isinstance(ok, w.ListRunnerBookParams)
    limits.check_runner_book(ok)
    too_many = decode_params("listRunnerBook", {**base, "betIds": [str(i) for i in range(300)]})
    with pytest.raises(ApiError, match="REQUEST_SIZE_EXCEEDS_LIMIT"):
        limits.check_runner_book(too_many)  # type: ignore[arg-type]
    heavy = decode_params("listRunnerBook", {**base, "priceProjection": {
        "priceData": ["EX_BEST_OFFERS", "EX_TRADED"], "exBestOffersOverrides": {"bestPricesDepth": 31}}})
    with pytest.raises(ApiError, match="TOO_MUCH_DATA"):  # 20 * 31/3 > 200
        limits.check_runner_book(heavy)  # type: ignore[arg-type]
