"""Request limits (003:L4954-4993 market data weights; L10005-10006 ids; L9993-9995 instructions/s)."""

from __future__ import annotations

import pytest

from backlay.betfair.http import limits
from backlay.betfair.http.errors import ApiError
from backlay.betfair.wire import betting as w


def pp(*data: str, depth: int | None = None) -> w.PriceProjection:
    overrides = w.ExBestOffersOverrides(best_prices_depth=depth) if depth else None
    return w.PriceProjection(price_data=list(data), ex_best_offers_overrides=overrides)  # type: ignore[arg-type]


def test_book_weights_as_documented() -> None:
    """003:L4976-4989: null 2, SP_AVAILABLE 3, SP_TRADED 7, EX_BEST_OFFERS 5, EX_ALL_OFFERS 17, EX_TRADED 17,
    EX_BEST_OFFERS+EX_TRADED 20, EX_ALL_OFFERS+EX_TRADED 32, best offers scaled by depth/3."""
    assert limits.book_weight(None) == 2
    assert [limits.book_weight(pp(d)) for d in ("SP_AVAILABLE", "SP_TRADED", "EX_BEST_OFFERS", "EX_ALL_OFFERS",
                                                "EX_TRADED")] == [3, 7, 5, 17, 17]
    assert limits.book_weight(pp("EX_BEST_OFFERS", "EX_TRADED")) == 20
    assert limits.book_weight(pp("EX_ALL_OFFERS", "EX_TRADED")) == 32
    assert limits.book_weight(pp("EX_BEST_OFFERS", depth=6)) == 10


def test_too_much_data_and_too_many_ids() -> None:
    """003:L4962-4965: weight x markets <= 200, else TOO_MUCH_DATA; 003:L10005-10006: > 250 ids is
    REQUEST_SIZE_EXCEEDS_LIMIT."""
    ok = w.ListMarketBookParams(market_ids=[f"1.{i}" for i in range(40)], price_projection=pp("EX_BEST_OFFERS"))
    limits.check_book(ok)
    with pytest.raises(ApiError, match="TOO_MUCH_DATA"):
        limits.check_book(w.ListMarketBookParams(market_ids=[f"1.{i}" for i in range(41)],
                                                 price_projection=pp("EX_BEST_OFFERS")))
    with pytest.raises(ApiError, match="TOO_MUCH_DATA"):
        limits.check_catalogue(w.ListMarketCatalogueParams(filter=w.MarketFilter(), max_results=201,
                                                           market_projection=["MARKET_DESCRIPTION"]))
    limits.check_catalogue(w.ListMarketCatalogueParams(filter=w.MarketFilter(), max_results=1000,
                                                       market_projection=["RUNNER_DESCRIPTION", "EVENT"]))
    with pytest.raises(ApiError, match="REQUEST_SIZE_EXCEEDS_LIMIT"):
        limits.check_current_orders(w.ListCurrentOrdersParams(bet_ids=["1"] * 200, market_ids=["1.1"] * 51))
    with pytest.raises(ApiError, match="TOO_MUCH_DATA"):
        limits.check_profit_and_loss(w.ListMarketProfitAndLossParams(market_ids=["1.1"] * 51))


def test_more_than_1000_instructions_a_second_is_too_many_requests() -> None:
    """003:L9993-9995: TOO_MANY_REQUESTS above 1,000 instructions in one second, per account."""
    rate = limits.InstructionRate()
    for i in range(5):
        rate.take("alice", 200, 1_000 + i)
    with pytest.raises(ApiError, match="TOO_MANY_REQUESTS"):
        rate.take("alice", 1, 1_500)
    rate.take("bob", 200, 1_500)  # another account has its own budget
    rate.take("alice", 200, 2_001)  # a second later the window has moved on


def test_a_call_refused_as_busy_gives_its_instructions_back() -> None:
    """003:L9993-9995 counts instructions the exchange takes; a call refused with SERVICE_BUSY
    (003:L9997) never reached it, so its instructions are given back."""
    rate = limits.InstructionRate()
    for i in range(4):
        rate.take("alice", 200, 1_000 + i)
    rate.take("alice", 200, 1_010)
    rate.give_back("alice", 200)  # that last call was refused: the sequencer's queue was full
    rate.take("alice", 200, 1_020)  # so there is room for another
    with pytest.raises(ApiError, match="TOO_MANY_REQUESTS"):
        rate.take("alice", 1, 1_030)
