"""What a delayed application key sees (003:L4767-4813, L11568-11576): isMarketDataDelayed, prices
`delay` old, at most 3 levels, no traded volume or total matched by selection, no EX_ALL_OFFERS;
its own orders stay live."""

from __future__ import annotations

import json
from typing import Any

from helpers import BACK, LAY, MARKET, SEL_A, T0, make_exchange, place, rest

from backlay.betfair.http import reads
from backlay.betfair.services.delayed_prices import DelayedPrices
from backlay.betfair.wire import betting as w
from backlay.betfair.wire import decode_params, encode
from backlay.core.events import MarketChanged, RunnerChanged
from backlay.core.exchange import Exchange

DELAY_MS = 5_000
BEST = {"priceProjection": {"priceData": ["EX_BEST_OFFERS"]}}


def book(ex: Exchange, delayed: DelayedPrices | None, now_ms: int, **kw: Any) -> Any:
    params = decode_params("listMarketBook", {"marketIds": [MARKET], **kw})
    assert isinstance(params, w.ListMarketBookParams)
    (mb,) = json.loads(encode(reads.list_market_book(ex, params, "alice", delayed, now_ms)))
    return mb


def runner_a(mb: Any) -> Any:
    return next(r for r in mb["runners"] if r["selectionId"] == SEL_A)


def test_a_delayed_key_sees_the_prices_of_delay_ago() -> None:
    """003:L4770-4771: delayed price data; 003:L11568-11576: isMarketDataDelayed."""
    ex = make_exchange()
    prices = DelayedPrices(lambda: ex, lambda: 0, DELAY_MS)
    prices.sample(T0)  # the first sample takes every market
    rest(ex, "bob", SEL_A, LAY, 300, 1000)
    prices.sample(T0 + 500)  # nothing reported changed: nothing new
    assert runner_a(book(ex, prices, T0 + 500 + DELAY_MS, **BEST))["ex"]["availableToBack"] == []
    prices.on_events([RunnerChanged(MARKET, SEL_A, 0)])
    prices.sample(T0 + 1_000)
    early = book(ex, prices, T0 + 3_000, **BEST)
    assert early["isMarketDataDelayed"] is True
    assert runner_a(early)["ex"]["availableToBack"] == []
    later = book(ex, prices, T0 + 1_000 + DELAY_MS, **BEST)
    assert runner_a(later)["ex"]["availableToBack"] == [{"price": 3.0, "size": 10.0}]
    live = book(ex, None, T0 + 3_000, **BEST)
    assert live["isMarketDataDelayed"] is False and runner_a(live)["ex"]["availableToBack"] != []


def test_three_levels_no_traded_volume_no_total_matched_by_selection_and_live_orders() -> None:
    """003:L4775 (no traded volume, no EX_ALL_OFFERS), L4805 (3 levels), L4806 (no total matched by
    selection; by market yes)."""
    ex = make_exchange()
    for i in range(5):
        rest(ex, "bob", SEL_A, LAY, 300 - 10 * i, 1000)
    place(ex, "alice", SEL_A, BACK, 300, 500)  # matches: traded volume, total matched, alice's order
    prices = DelayedPrices(lambda: ex, lambda: 0, DELAY_MS)
    prices.sample(T0)
    mb = book(ex, prices, T0 + DELAY_MS, orderProjection="ALL",
              priceProjection={"priceData": ["EX_ALL_OFFERS", "EX_TRADED"]})
    r = runner_a(mb)
    assert [p["price"] for p in r["ex"]["availableToBack"]] == [3.0, 2.9, 2.8]
    assert r["ex"]["tradedVolume"] == [] and "totalMatched" not in r
    assert r["lastPriceTraded"] == 3.0 and mb["totalMatched"] == 5.0
    assert [o["sizeMatched"] for o in r["orders"]] == [5.0]  # the caller's orders are live
    deep = book(ex, prices, T0 + DELAY_MS, priceProjection={"priceData": ["EX_BEST_OFFERS"],
                                                           "exBestOffersOverrides": {"bestPricesDepth": 10}})
    assert len(runner_a(deep)["ex"]["availableToBack"]) == 3


def test_history_keeps_only_what_the_delay_needs() -> None:
    ex = make_exchange()
    prices = DelayedPrices(lambda: ex, lambda: 0, DELAY_MS)
    for s in range(20):
        prices.on_events([MarketChanged(MARKET)])
        prices.sample(T0 + s * 1_000)
    assert len(prices._history[MARKET]) <= DELAY_MS // 1_000 + 1


def test_currency_code_converts_every_amount_of_the_book() -> None:
    """003:L10271-10273: listMarketBook amounts in the requested currency (default the account's)."""
    ex = make_exchange()
    rest(ex, "bob", SEL_A, LAY, 300, 1000)
    place(ex, "alice", SEL_A, BACK, 300, 400)
    gbp = book(ex, None, T0, orderProjection="ALL", matchProjection="NO_ROLLUP",
               priceProjection={"priceData": ["EX_BEST_OFFERS", "EX_TRADED"]})
    eur = json.loads(encode(reads.in_currency(
        reads.list_market_book(ex, decode_params("listMarketBook", {  # type: ignore[arg-type]
            "marketIds": [MARKET], "orderProjection": "ALL", "matchProjection": "NO_ROLLUP",
            "priceProjection": {"priceData": ["EX_BEST_OFFERS", "EX_TRADED"]}}), "alice"), 1.17)))[0]
    r_gbp, r_eur = runner_a(gbp), runner_a(eur)
    assert r_eur["ex"]["availableToBack"] == [{"price": 3.0, "size": round(6.0 * 1.17, 2)}]
    assert r_eur["ex"]["tradedVolume"] == [{"price": 3.0, "size": round(4.0 * 1.17, 2)}]
    assert r_eur["orders"][0]["sizeMatched"] == round(r_gbp["orders"][0]["sizeMatched"] * 1.17, 2)
    assert r_eur["matches"][0]["size"] == round(4.0 * 1.17, 2)
    assert eur["totalMatched"] == round(gbp["totalMatched"] * 1.17, 2)
    assert r_eur["ex"]["availableToBack"][0]["price"] == r_gbp["ex"]["availableToBack"][0]["price"]
