"""The Betting and Accounts read operations as pure functions of `Exchange` state (no I/O).

Every function takes the calling account and only ever returns that account's own orders and funds:
another account's bets are invisible (a bet id of another account is treated as unknown).

Navigation (betting-api.md §2.1) and listMarketCatalogue (§2.2) list published markets only: CLOSED
and INACTIVE markets are left out (003:L10310-10314, 003:L9616).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple, TypeVar, cast

from backlay.betfair import ladders
from backlay.betfair.http.convert import (
    avg_price,
    bet_id_from_wire,
    bet_id_to_wire,
    from_handicap_h,
    from_minor,
    from_price_h,
    side_to_wire,
    source_id,
    to_handicap_h,
    to_the_second,
)
from backlay.betfair.http.errors import ApiError
from backlay.betfair.services.delayed_prices import DELAYED_LEVELS, DelayedPrices, MarketPrices, RunnerPrices
from backlay.betfair.wire import accounts as wa
from backlay.betfair.wire import betting as w
from backlay.betfair.wire.common import Instant, PriceSize, TimeRange
from backlay.core import bsp, codes
from backlay.core import crossmatch as cx
from backlay.core.exchange import Exchange
from backlay.core.market import Market
from backlay.core.market import Runner as CoreRunner
from backlay.core.money import CURRENCIES, GBP_RATES_MICRO
from backlay.core.orders import Order

__all__ = [
    "get_account_funds",
    "list_competitions",
    "list_countries",
    "list_current_orders",
    "list_event_types",
    "list_events",
    "list_market_book",
    "list_market_catalogue",
    "list_market_types",
    "list_time_ranges",
    "list_venues",
    "market_matches_filter",
]

MAX_CATALOGUE_RESULTS: Final = 1000  # 003:L10341-10343
MAX_CURRENT_ORDERS: Final = 1000  # 003:L10153-10157
DEFAULT_BEST_PRICES_DEPTH: Final = 3  # 003:L12517-12552

K = TypeVar("K")


# --- MarketFilter --------------------------------------------------------------------------------


def _text_matches(query: str, text: str) -> bool:
    """textQuery: case-insensitive; `*` is a wildcard (the whole name must match the pattern), without
    one the query is a substring of the name."""
    q = query.strip().lower()
    t = text.lower()
    if "*" not in q:
        return q in t
    pattern = ".*".join(re.escape(part) for part in q.split("*"))
    return re.fullmatch(pattern, t) is not None


def _account_orders(market: Market, account_id: str | None) -> Iterator[Order]:
    if account_id is None:
        return
    for o in market.orders.values():
        if o.account_id == account_id:
            yield o


def _in_range(ms: int | None, tr: TimeRange | None) -> bool:
    """Inclusive both ends (003:L10129-10135); an absent bound is open."""
    if tr is None:
        return True
    if ms is None:
        return False
    if tr.from_ is not None and ms < tr.from_.ms:
        return False
    return not (tr.to is not None and ms > tr.to.ms)


def market_matches_filter(market: Market, f: w.MarketFilter, account_id: str | None) -> bool:
    """Whether a published market passes every MarketFilter field (003:L11453-11534) the core's
    MarketDefinition supports. exchangeIds is ignored: there is one exchange."""
    if market.status in (codes.CLOSED, codes.INACTIVE):
        return False
    d = market.definition
    checks: list[tuple[Any, Callable[[Any], bool]]] = [
        (f.text_query, lambda q: _text_matches(q, d.event_name)),
        (f.event_type_ids, lambda ids: d.event_type_id in ids),
        (f.event_ids, lambda ids: d.event_id in ids),
        (f.competition_ids, lambda ids: d.competition_id is not None and d.competition_id in ids),
        (f.market_ids, lambda ids: market.market_id in ids),
        (f.venues, lambda vs: d.venue is not None and d.venue in vs),
        (f.bsp_only, lambda v: d.bsp_market == v),
        (f.turn_in_play_enabled, lambda v: d.turn_in_play_enabled == v),
        (f.in_play_only, lambda v: market.inplay == v),
        (f.market_betting_types, lambda ts: d.betting_type in ts),
        (f.market_countries, lambda cs: _country(market) in cs),
        (f.market_type_codes, lambda ts: d.market_type in ts),
        (f.market_start_time, lambda tr: _in_range(d.market_time_ms, tr)),
        (f.with_orders, lambda ss: any(o.status in ss for o in _account_orders(market, account_id))),
        # NO_VALUE: "when no valid race type has been mapped" (003:L11518-11524), as the stream has it
        (f.race_types, lambda rs: (d.race_type or "NO_VALUE") in rs),
    ]
    return all(value is None or check(value) for value, check in checks)


def _country(market: Market) -> str:
    """The market's country: "the default value is 'GB' when the correct country code cannot be
    determined" (003:L11497-11499), for marketCountries and listCountries alike."""
    return market.definition.country_code or "GB"


def check_filter(f: w.MarketFilter) -> None:
    """A textQuery may hold `*` "as long as it is not the first character" (003:L11456-11458)."""
    if f.text_query is not None and f.text_query.strip().startswith("*"):
        raise ApiError("INVALID_INPUT_DATA", "text query has invalid content: it may not begin with '*'")


def _market_key(market_id: str) -> tuple[int, ...] | tuple[str]:
    """Market id order ("1.9" before "1.10")."""
    try:
        return tuple(int(p) for p in market_id.split("."))
    except ValueError:
        return (market_id,)


# ISO 639-1 language codes: a locale is one of them, optionally with a region ("en", "en_GB", "pt-BR")
_ISO_639_1_CODES: Final = """
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee
el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is
it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms
mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk
sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
yo za zh zu"""
ISO_639_1: Final = frozenset(_ISO_639_1_CODES.split())
_LOCALE: Final = re.compile(r"([A-Za-z]{2})(?:[_-][A-Za-z]{2})?")


def check_locale(locale: str | None, exception_name: str = "APINGException") -> None:
    """A locale names an ISO 639 language, else INVALID_INPUT_DATA with the documented details
    (003:L10015). Absent or empty: the account's (English); every text is English whatever it is."""
    if not locale:
        return
    m = _LOCALE.fullmatch(locale)
    if m is None or m[1].lower() not in ISO_639_1:
        raise ApiError("INVALID_INPUT_DATA", "locale must use valid iso-639 locale names", exception_name)


def _markets(ex: Exchange, f: w.MarketFilter, account_id: str | None) -> list[Market]:
    check_filter(f)
    ms = [m for m in ex.markets.values() if market_matches_filter(m, f, account_id)]
    ms.sort(key=lambda m: _market_key(m.market_id))
    return ms


def _count(markets: Iterable[Market], key: Callable[[Market], K | None]) -> list[tuple[K, int, Market]]:
    """(facet value, market count, first market with it), in first-seen order."""
    counts: dict[K, list[Any]] = {}
    for m in markets:
        k = key(m)
        if k is None:
            continue
        entry = counts.get(k)
        if entry is None:
            counts[k] = [1, m]
        else:
            entry[0] += 1
    return [(k, v[0], v[1]) for k, v in counts.items()]


# --- navigation (betting-api.md §2.1) ------------------------------------------------------------


def list_event_types(ex: Exchange, f: w.MarketFilter, account_id: str | None = None) -> list[w.EventTypeResult]:
    return [w.EventTypeResult(event_type=w.EventType(id=k, name=m.definition.event_type_name), market_count=n)
            for k, n, m in _count(_markets(ex, f, account_id), lambda m: m.definition.event_type_id)]


def list_competitions(ex: Exchange, f: w.MarketFilter, account_id: str | None = None) -> list[w.CompetitionResult]:
    return [w.CompetitionResult(competition=w.Competition(id=k, name=m.definition.competition_name), market_count=n)
            for k, n, m in _count(_markets(ex, f, account_id), lambda m: m.definition.competition_id)]


def _event(m: Market) -> w.Event:
    d = m.definition
    return w.Event(id=d.event_id, name=d.event_name, country_code=d.country_code, timezone=d.timezone,
                   venue=d.venue, open_date=Instant(d.open_date_ms))


def list_events(ex: Exchange, f: w.MarketFilter, account_id: str | None = None) -> list[w.EventResult]:
    return [w.EventResult(event=_event(m), market_count=n)
            for _k, n, m in _count(_markets(ex, f, account_id), lambda m: m.definition.event_id)]


def list_market_types(ex: Exchange, f: w.MarketFilter, account_id: str | None = None) -> list[w.MarketTypeResult]:
    return [w.MarketTypeResult(market_type=k, market_count=n)
            for k, n, _m in _count(_markets(ex, f, account_id), lambda m: m.definition.market_type)]


def list_countries(ex: Exchange, f: w.MarketFilter, account_id: str | None = None) -> list[w.CountryCodeResult]:
    return [w.CountryCodeResult(country_code=k, market_count=n)
            for k, n, _m in _count(_markets(ex, f, account_id), _country)]


def list_venues(ex: Exchange, f: w.MarketFilter, account_id: str | None = None) -> list[w.VenueResult]:
    return [w.VenueResult(venue=k, market_count=n)
            for k, n, _m in _count(_markets(ex, f, account_id), lambda m: m.definition.venue)]


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _bucket(ms: int, granularity: str) -> tuple[int, int]:
    """The UTC [from, to) range of the given granularity holding `ms`."""
    dt = _EPOCH + timedelta(milliseconds=ms)
    if granularity == "DAYS":
        start, step = dt.replace(hour=0, minute=0, second=0, microsecond=0), timedelta(days=1)
    elif granularity == "HOURS":
        start, step = dt.replace(minute=0, second=0, microsecond=0), timedelta(hours=1)
    else:
        start, step = dt.replace(second=0, microsecond=0), timedelta(minutes=1)
    a = (start - _EPOCH) // timedelta(milliseconds=1)
    return a, a + step // timedelta(milliseconds=1)


def list_time_ranges(ex: Exchange, f: w.MarketFilter, granularity: str,
                     account_id: str | None = None) -> list[w.TimeRangeResult]:
    """Market start times bucketed by DAYS / HOURS / MINUTES (003:L10553-10573), earliest first."""
    counted = _count(_markets(ex, f, account_id), lambda m: _bucket(m.definition.market_time_ms, granularity))
    counted.sort(key=lambda t: t[0])
    return [w.TimeRangeResult(time_range=TimeRange(from_=Instant(a), to=Instant(b)), market_count=n)
            for (a, b), n, _m in counted]


# --- listMarketCatalogue (betting-api.md §2.2) ---------------------------------------------------


def _total_available_minor(m: Market) -> int:
    total = 0
    for r in m.runner_list:
        total += sum(s for _p, s in r.book.available_to_back())
        total += sum(s for _p, s in r.book.available_to_lay())
    return total


def _description(m: Market) -> w.MarketDescription:
    d = m.definition
    line = None
    if d.betting_type == codes.LINE:
        line = w.MarketLineRangeInfo(max_unit_value=from_price_h(d.line_max_h), min_unit_value=from_price_h(d.line_min_h),
                                     interval=from_price_h(d.line_interval_h), market_unit=d.market_unit or "")
    return w.MarketDescription(
        persistence_enabled=d.persistence_enabled,
        bsp_market=d.bsp_market,
        market_time=Instant(d.market_time_ms),
        suspend_time=Instant(d.suspend_time_ms if d.suspend_time_ms is not None else d.market_time_ms),
        settle_time=None if m.settled_ms is None else Instant(m.settled_ms),
        betting_type=d.betting_type,
        turn_in_play_enabled=d.turn_in_play_enabled,
        market_type=d.market_type,
        regulator=d.regulator,
        market_base_rate=d.market_base_rate_bp / 100,
        discount_allowed=d.discount_allowed,
        wallet=d.wallet,
        rules=d.rules,
        rules_has_date=d.rules_has_date,
        clarifications=d.clarifications,
        each_way_divisor=None if d.each_way_divisor_h is None else d.each_way_divisor_h / 100,
        line_range_info=line,
        race_type=d.race_type,
        price_ladder_description=w.PriceLadderDescription(type=cast(Any, d.price_ladder)),
    )


_SORTS: Final[dict[str, tuple[Callable[[Market], Any], bool]]] = {
    "MINIMUM_TRADED": (lambda m: m.total_matched_minor, False),
    "MAXIMUM_TRADED": (lambda m: m.total_matched_minor, True),
    "MINIMUM_AVAILABLE": (_total_available_minor, False),
    "MAXIMUM_AVAILABLE": (_total_available_minor, True),
    "FIRST_TO_START": (lambda m: m.definition.market_time_ms, False),
    "LAST_TO_START": (lambda m: m.definition.market_time_ms, True),
}


def list_market_catalogue(ex: Exchange, params: w.ListMarketCatalogueParams,
                          account_id: str | None = None) -> list[w.MarketCatalogue]:
    """Published markets passing the filter, with the projected blocks (003:L9576-9593). Without a
    sort, markets come in market id order (the documented RANK breaks ties by market id,
    003:L10326-10340). maxResults must be 1..1000 (INVALID_INPUT_DATA otherwise)."""
    if not 0 < params.max_results <= MAX_CATALOGUE_RESULTS:
        raise ApiError("INVALID_INPUT_DATA", f"maxResults must be between 1 and {MAX_CATALOGUE_RESULTS}")
    markets = _markets(ex, params.filter, account_id)
    if params.sort is not None:
        key, reverse = _SORTS[params.sort]
        markets.sort(key=key, reverse=reverse)  # stable: market id order within ties
    proj = set(params.market_projection or ())
    runners = "RUNNER_DESCRIPTION" in proj or "RUNNER_METADATA" in proj  # metadata forces descriptions
    out = []
    for m in markets[: params.max_results]:
        d = m.definition
        out.append(w.MarketCatalogue(
            market_id=m.market_id,
            market_name=d.name,
            market_start_time=Instant(d.market_time_ms) if "MARKET_START_TIME" in proj else None,
            description=_description(m) if "MARKET_DESCRIPTION" in proj else None,
            total_matched=from_minor(m.total_matched_minor),
            runners=[
                w.RunnerCatalog(
                    selection_id=r.selection_id,
                    runner_name=r.definition.name,
                    handicap=from_handicap_h(r.handicap_h),
                    sort_priority=r.definition.sort_priority or r.index + 1,
                    metadata=dict(r.definition.metadata) if "RUNNER_METADATA" in proj else None,
                )
                for r in m.runner_list
            ] if runners else None,
            event_type=w.EventType(id=d.event_type_id, name=d.event_type_name) if "EVENT_TYPE" in proj else None,
            competition=w.Competition(id=d.competition_id, name=d.competition_name)
            if "COMPETITION" in proj and d.competition_id is not None else None,
            event=_event(m) if "EVENT" in proj else None,
        ))
    return out


# --- orders on the wire --------------------------------------------------------------------------


def _avg_price(o: Order) -> float:
    return avg_price(o.matched_value, o.matched_minor)


def _order_price(o: Order) -> float:
    return from_price_h(o.price_h) if o.price_h > 0 else 0.0


def order_to_wire(o: Order) -> w.Order:
    """An order as listMarketBook shows it (003:L11814-11874), every size field present (§1.7)."""
    return w.Order(
        bet_id=bet_id_to_wire(o.bet_id),
        order_type=o.order_type,
        status=o.status,
        persistence_type=o.persistence,
        side=side_to_wire(o.side),
        price=_order_price(o),
        size=from_minor(o.size_minor),
        bsp_liability=from_minor(o.bsp_liability_minor),
        placed_date=to_the_second(o.placed_ms),
        avg_price_matched=_avg_price(o),
        size_matched=from_minor(o.matched_minor),
        size_remaining=from_minor(o.remaining_minor),
        size_lapsed=from_minor(o.lapsed_minor),
        size_cancelled=from_minor(o.cancelled_minor),
        size_voided=from_minor(o.voided_minor),
        customer_order_ref=o.customer_order_ref,
        customer_strategy_ref=o.customer_strategy_ref,
    )


def current_order_to_wire(o: Order, market: Market, item_description: bool | None = None,
                          include_source_id: bool | None = None) -> w.CurrentOrderSummary:
    """An order as listCurrentOrders shows it (003:L12168-12239; every size key and regulatorCode, §1.7).
    `item_description`: with currentItemDescription, the market version the bet was placed at
    (003:L12139-12145); `include_source_id`: with the app key that placed it (003:L12236-12238)."""
    key, description = source_id(o.source_app_key, include_source_id)
    return w.CurrentOrderSummary(
        bet_id=bet_id_to_wire(o.bet_id),
        market_id=o.market_id,
        selection_id=o.selection_id,
        handicap=from_handicap_h(o.handicap_h),
        price_size=PriceSize(price=_order_price(o), size=from_minor(o.size_minor)),
        bsp_liability=from_minor(o.bsp_liability_minor),
        side=side_to_wire(o.side),
        status=o.status,
        persistence_type=o.persistence,
        order_type=o.order_type,
        placed_date=to_the_second(o.placed_ms),
        matched_date=None if o.matched_ms is None else to_the_second(o.matched_ms),
        average_price_matched=_avg_price(o),
        size_matched=from_minor(o.matched_minor),
        size_remaining=from_minor(o.remaining_minor),
        size_lapsed=from_minor(o.lapsed_minor),
        size_cancelled=from_minor(o.cancelled_minor),
        size_voided=from_minor(o.voided_minor),
        regulator_code=market.definition.regulator,
        customer_order_ref=o.customer_order_ref,
        customer_strategy_ref=o.customer_strategy_ref,
        current_item_description=w.CurrentItemDescription(market_version=w.MarketVersion(version=o.placed_version))
        if item_description else None,
        source_id_key=key,
        source_id_description=description,
    )


def _projection_allows(o: Order, projection: str | None) -> bool:
    if projection is None or projection == "ALL":
        return True
    if projection == codes.EXECUTABLE:
        return o.status in (codes.EXECUTABLE, codes.PENDING)
    return o.status == codes.EXECUTION_COMPLETE


# --- listMarketBook (betting-api.md §2.3) --------------------------------------------------------


def _rollup(orders: list[Order], projection: str) -> list[w.Match]:
    """The caller's matches on one runner (003:L11875-11891): one per fragment (NO_ROLLUP), per side
    and price (ROLLED_UP_BY_PRICE) or per side at the average price (ROLLED_UP_BY_AVG_PRICE)."""
    if projection == "NO_ROLLUP":
        frags = [(o, f) for o in orders for f in o.fragments]
        frags.sort(key=lambda of: (of[1].matched_ms, of[1].match_id))
        return [w.Match(bet_id=bet_id_to_wire(o.bet_id), match_id=str(f.match_id), side=side_to_wire(o.side),
                        price=from_price_h(f.price_h), size=from_minor(f.size_minor), match_date=Instant(f.matched_ms))
                for o, f in frags]
    by_price = projection == "ROLLED_UP_BY_PRICE"
    groups: dict[tuple[int, float], list[int]] = {}  # (side, price_h or 0) -> [size, value]
    for o in orders:
        for f in o.fragments:
            g = groups.setdefault((o.side, f.price_h if by_price else 0), [0, 0])
            g[0] += f.size_minor
            g[1] += f.size_minor * f.price_h
    out = []
    for (side, price_h), (size, value) in sorted(groups.items()):
        if size <= 0:
            continue
        price = from_price_h(price_h) if by_price else value / (size * 100)
        out.append(w.Match(side=side_to_wire(side), price=price, size=from_minor(size)))
    return out


VIRTUAL_ALL_OFFERS_DEPTH: Final = 100  # virtual prices shown with EX_ALL_OFFERS and virtualise
MAX_BEST_PRICES_DEPTH: Final = 10  # "The maximum returned price depth returned is 10" (003:L12520-12523)
# virtual prices merged in before a best-offers rollup: as many as the stream's EX_BEST_OFFERS_DISP
# takes, so that both show the same levels (the rollup may reach past the requested depth)
VIRTUAL_BEST_DEPTH: Final = 10

Ladder = Sequence[tuple[int, int]]


class BestOffers(NamedTuple):
    """EX_BEST_OFFERS as requested (003:L12487-12552): levels per side, the rollup, virtual offers."""

    depth: int
    rollup: ladders.Rollup
    virtualise: bool


def _exchange_minor(minor: int, currency: str, exchange_currency: str) -> int:
    """`minor` units of `currency` in the exchange's minor units, rounded up: a size reaches the
    converted limit exactly when its shown (converted) amount reaches the limit."""
    return -(-minor * GBP_RATES_MICRO[exchange_currency] // GBP_RATES_MICRO[currency])


def best_offers(ex: Exchange, pp: w.PriceProjection | None, currency_code: str | None = None) -> BestOffers:
    """The depth (default 3, at most 10) and the rollup of exBestOffersOverrides: by default STAKE at
    the minimum stake of the requested currency; rollupLimit is in that currency's units and "Ignored
    if no rollup model is specified" (003:L12520-12535). MANAGED_LIABILITY is rolled as STAKE."""
    currency = currency_code if currency_code in CURRENCIES else ex.currency
    assert currency is not None
    min_stake = _exchange_minor(CURRENCIES[currency].min_bet_size_minor, currency, ex.currency)
    depth, rollup = DEFAULT_BEST_PRICES_DEPTH, ladders.Rollup(ladders.STAKE, min_stake)
    o = pp.ex_best_offers_overrides if pp is not None else None
    if o is not None:
        if o.best_prices_depth:
            depth = min(MAX_BEST_PRICES_DEPTH, max(1, o.best_prices_depth))
        if o.rollup_model == ladders.NONE:
            rollup = ladders.Rollup(ladders.NONE, min_stake)
        elif o.rollup_model is not None:
            limit = min_stake if o.rollup_limit is None else \
                _exchange_minor(max(0, o.rollup_limit) * 100, currency, ex.currency)
            rollup = ladders.Rollup(ladders.PAYOUT if o.rollup_model == ladders.PAYOUT else ladders.STAKE, limit)
    return BestOffers(depth, rollup, bool(pp is not None and pp.virtualise))


def best_ladders(market: Market, runner: CoreRunner, best: BestOffers) -> tuple[Ladder, Ladder]:
    """One runner's EX_BEST_OFFERS: its ladders, with the virtual offers of cross-matching merged in
    when asked (003:L12498-12505, 001:L998-1050), rolled up and cut to the depth."""
    rollup = best.rollup._replace(line=market.definition.betting_type == codes.LINE)
    back, lay = runner.book.available_to_back(), runner.book.available_to_lay()
    if best.virtualise and cx.crossing(market):
        vback = cx.virtual_levels(market, runner.index, codes.BACK, VIRTUAL_BEST_DEPTH)
        vlay = cx.virtual_levels(market, runner.index, codes.LAY, VIRTUAL_BEST_DEPTH)
        back = cx.merge_levels(back, vback, codes.BACK, None)
        lay = cx.merge_levels(lay, vlay, codes.LAY, None)
    n = best.depth
    return ladders.roll(back, rollup, n)[:n], ladders.roll(lay, rollup, n)[:n]


def _all_ladders(market: Market, runner: CoreRunner, virtualise: bool) -> tuple[Ladder, Ladder]:
    """EX_ALL_OFFERS: every level as it is, no rollup (the overrides are for EX_BEST_OFFERS only)."""
    back, lay = runner.book.available_to_back(), runner.book.available_to_lay()
    if virtualise and cx.crossing(market):
        n = VIRTUAL_ALL_OFFERS_DEPTH
        back = cx.merge_levels(back, cx.virtual_levels(market, runner.index, codes.BACK, n), codes.BACK, None)
        lay = cx.merge_levels(lay, cx.virtual_levels(market, runner.index, codes.LAY, n), codes.LAY, None)
    return back, lay


def _delayed_ladders(market: Market, prices: RunnerPrices, best: BestOffers) -> tuple[Ladder, Ladder]:
    """A delayed key's snapshot, as best offers of at most 3 levels (003:L4775, L4805), rolled up."""
    rollup = best.rollup._replace(line=market.definition.betting_type == codes.LINE)
    n = min(best.depth, DELAYED_LEVELS)
    return ladders.roll(prices.back, rollup, n)[:n], ladders.roll(prices.lay, rollup, n)[:n]


def _ex(runner: CoreRunner, market: Market, price_data: set[str], best: BestOffers,
        delayed: RunnerPrices | bool | None = False) -> w.ExchangePrices:
    """The three lists, always present, possibly empty (003:L3133-3137): availableToBack highest
    first, availableToLay lowest first, tradedVolume by price ascending (003:L2800-2851).
    `delayed` (a delayed key): the snapshot to show, 3 levels at most, no traded volume and no
    EX_ALL_OFFERS (003:L4775, L4805-4806); None when there is no snapshot yet."""
    if market.status == codes.CLOSED:
        return w.ExchangePrices(available_to_back=[], available_to_lay=[], traded_volume=[])
    back: Ladder = ()
    lay: Ladder = ()
    traded: list[tuple[int, int]] = []
    if delayed is not False:
        if isinstance(delayed, RunnerPrices) and price_data & {"EX_ALL_OFFERS", "EX_BEST_OFFERS"}:
            back, lay = _delayed_ladders(market, delayed, best)
    elif "EX_ALL_OFFERS" in price_data:  # trumps EX_BEST_OFFERS (003:L9594-9601)
        back, lay = _all_ladders(market, runner, best.virtualise)
    elif "EX_BEST_OFFERS" in price_data:
        back, lay = best_ladders(market, runner, best)
    if "EX_TRADED" in price_data and delayed is False:
        traded = sorted(runner.book.traded.items())
    return w.ExchangePrices(
        available_to_back=[PriceSize(price=from_price_h(p), size=from_minor(s)) for p, s in back],
        available_to_lay=[PriceSize(price=from_price_h(p), size=from_minor(s)) for p, s in lay],
        traded_volume=[PriceSize(price=from_price_h(p), size=from_minor(s)) for p, s in traded if s > 0],
    )


def _book_orders(market: Market, runner: CoreRunner, params: w.ListMarketBookParams | w.ListRunnerBookParams,
                 account_id: str | None) -> list[Order]:
    bet_ids = None if params.bet_ids is None else {bet_id_from_wire(b) for b in params.bet_ids}
    refs = set(params.customer_strategy_refs) if params.customer_strategy_refs else None  # empty = omitted
    since = params.matched_since.ms if params.matched_since is not None else None
    out = []
    for o in _account_orders(market, account_id):
        if o.key != runner.key or not _projection_allows(o, params.order_projection):
            continue
        if bet_ids is not None and o.bet_id not in bet_ids:
            continue
        if refs is not None and o.customer_strategy_ref not in refs:
            continue
        # matchedSince: executable orders always; others with a fragment matched since (003:L10278-10289)
        if since is not None and o.status != codes.EXECUTABLE and not any(f.matched_ms >= since for f in o.fragments):
            continue
        out.append(o)
    out.sort(key=lambda o: o.bet_id)
    return out


def starting_prices(market: Market, runner: CoreRunner, projected: bool = True) -> w.StartingPrices:
    """StartingPrices (003:L11695-11736), from bsp.view. Without `projected`, no near and far prices:
    "BSP Far & Near Price Not Available" to a delayed key (003:L4808)."""
    v = bsp.view(market, runner)

    def ladder(items: tuple[tuple[int, int], ...]) -> list[PriceSize]:
        return [PriceSize(price=from_price_h(p), size=from_minor(s)) for p, s in items]

    return w.StartingPrices(near_price=v.near if projected else None, far_price=v.far if projected else None,
                            actual_sp=v.actual,
                            back_stake_taken=ladder(v.back_stake), lay_liability_taken=ladder(v.lay_liability))


def _runner_to_wire(market: Market, runner: CoreRunner, params: w.ListMarketBookParams | w.ListRunnerBookParams,
                    account_id: str | None, best: BestOffers, prices: MarketPrices | bool | None = False) -> w.Runner:
    pp = params.price_projection
    price_data: set[str] = set(pp.price_data or ()) if pp is not None else set()
    book = runner.book
    closed = market.status == codes.CLOSED
    delayed: RunnerPrices | bool | None = False
    last_traded_h, total_matched = book.last_traded_h, None if closed else from_minor(book.total_matched_minor)
    if prices is not False:
        delayed = prices.runners.get(runner.key) if isinstance(prices, MarketPrices) else None
        last_traded_h = delayed.last_traded_h if isinstance(delayed, RunnerPrices) else None
        total_matched = None  # "Total Matched by Selection: Not Available" (003:L4806)
    sp = None
    if price_data & {"SP_AVAILABLE", "SP_TRADED"} and market.definition.bsp_market:
        sp = starting_prices(market, runner, projected=prices is False)
    orders = matches = by_strategy = None
    if params.order_projection is not None:
        mine = _book_orders(market, runner, params, account_id)
        orders = [order_to_wire(o) for o in mine]
        if params.match_projection is not None:
            matches = _rollup(mine, params.match_projection) if params.include_overall_position is not False else None
            if params.partition_matched_by_strategy_ref:
                refs = sorted({o.customer_strategy_ref for o in mine if o.customer_strategy_ref is not None})
                by_strategy = {ref: w.Matches(matches=_rollup([o for o in mine if o.customer_strategy_ref == ref],
                                                              params.match_projection)) for ref in refs}
    return w.Runner(
        selection_id=runner.selection_id,
        handicap=from_handicap_h(runner.handicap_h),
        status=runner.status,
        adjustment_factor=None if runner.adjustment_factor_bp is None else runner.adjustment_factor_bp / 100,
        last_price_traded=None if closed or last_traded_h is None else from_price_h(last_traded_h),
        total_matched=total_matched,
        removal_date=None if runner.removal_ms is None else Instant(runner.removal_ms),
        sp=sp,
        ex=_ex(runner, market, price_data, best, delayed),
        orders=orders,
        matches=matches,
        matches_by_strategy=by_strategy,
    )


def _market_book(market: Market, runners: list[CoreRunner],
                 params: w.ListMarketBookParams | w.ListRunnerBookParams, account_id: str | None, best: BestOffers,
                 delayed: DelayedPrices | None = None, now_ms: int = 0) -> w.MarketBook:
    """`delayed`: the caller uses a delayed application key: isMarketDataDelayed and delayed prices
    (003:L11568-11576, L4767-4813)."""
    d = market.definition
    closed = market.status == codes.CLOSED
    prices: MarketPrices | bool | None = False
    last_match_ms, total_matched_minor = market.last_match_ms, market.total_matched_minor
    total_available_minor = 0 if closed else _total_available_minor(market)
    if delayed is not None:
        prices = delayed.view(market.market_id, now_ms)
        last_match_ms, total_matched_minor, total_available_minor = \
            (prices.last_match_ms, prices.total_matched_minor, prices.total_available_minor) if prices else (None, 0, 0)
    return w.MarketBook(
        market_id=market.market_id,
        is_market_data_delayed=delayed is not None,
        status=market.status,
        bet_delay=market.bet_delay_s,
        bsp_reconciled=market.bsp_reconciled,
        complete=market.complete,
        inplay=market.inplay,
        number_of_winners=d.number_of_winners,
        number_of_runners=len(market.runner_list),
        number_of_active_runners=0 if closed else sum(1 for r in market.runner_list if r.status == codes.ACTIVE),
        last_match_time=None if last_match_ms is None else Instant(last_match_ms),
        total_matched=0.0 if closed else from_minor(total_matched_minor),
        total_available=0.0 if closed else from_minor(total_available_minor),
        cross_matching=d.cross_matching,
        runners_voidable=d.runners_voidable,
        version=market.version,
        runners=[_runner_to_wire(market, r, params, account_id, best, prices) for r in runners],
    )


def list_market_book(ex: Exchange, params: w.ListMarketBookParams, account_id: str | None,
                     delayed: DelayedPrices | None = None, now_ms: int = 0) -> list[w.MarketBook]:
    """One MarketBook per known market id, in the request's order; unknown ids are left out. A request
    naming OPEN and CLOSED markets gets only the ones that are not CLOSED (003:L10229-10230).
    Orders (`orderProjection`) and matches (`matchProjection`) are the caller's own only."""
    seen: set[str] = set()
    markets: list[Market] = []
    for mid in params.market_ids:
        m = ex.markets.get(mid)
        if m is not None and mid not in seen:
            seen.add(mid)
            markets.append(m)
    if any(m.status == codes.CLOSED for m in markets) and any(m.status != codes.CLOSED for m in markets):
        markets = [m for m in markets if m.status != codes.CLOSED]
    best = best_offers(ex, params.price_projection, params.currency_code)
    return [_market_book(m, m.runner_list, params, account_id, best, delayed, now_ms) for m in markets]


def list_runner_book(ex: Exchange, params: w.ListRunnerBookParams, account_id: str | None,
                     delayed: DelayedPrices | None = None, now_ms: int = 0) -> list[w.MarketBook]:
    """listRunnerBook (003:L10500-10551): the market with just the requested runner, or no runners
    when the selection is not in the market; [] for an unknown market."""
    m = ex.markets.get(params.market_id)
    if m is None:
        return []
    r = m.runner(params.selection_id, to_handicap_h(params.handicap))
    best = best_offers(ex, params.price_projection, params.currency_code)
    return [_market_book(m, [r] if r is not None else [], params, account_id, best, delayed, now_ms)]


def in_currency(books: list[w.MarketBook], factor: float) -> list[w.MarketBook]:
    """The books with every amount multiplied by `factor` (listMarketBook's currencyCode, 003:L10271-10273),
    to 2 decimals. Display only: the exchange keeps one currency."""
    def amount(x: float | None) -> float | None:
        return None if x is None else round(x * factor, 2)

    def sizes(items: list[PriceSize]) -> list[PriceSize]:
        return [PriceSize(price=p.price, size=round(p.size * factor, 2)) for p in items]

    for mb in books:
        mb.total_matched, mb.total_available = amount(mb.total_matched), amount(mb.total_available)
        for r in mb.runners or ():
            r.total_matched = amount(r.total_matched)
            if r.ex is not None:
                r.ex = w.ExchangePrices(available_to_back=sizes(r.ex.available_to_back),
                                        available_to_lay=sizes(r.ex.available_to_lay),
                                        traded_volume=sizes(r.ex.traded_volume))
            if r.sp is not None:
                r.sp = w.StartingPrices(near_price=r.sp.near_price, far_price=r.sp.far_price,
                                        actual_sp=r.sp.actual_sp, back_stake_taken=sizes(r.sp.back_stake_taken),
                                        lay_liability_taken=sizes(r.sp.lay_liability_taken))
            for o in r.orders or ():
                for field in ("size", "bsp_liability", "size_matched", "size_remaining", "size_lapsed",
                              "size_cancelled", "size_voided"):
                    setattr(o, field, amount(getattr(o, field)))
            for m in r.matches or ():
                m.size = round(m.size * factor, 2)
            for ms in (r.matches_by_strategy or {}).values():
                for m in ms.matches or ():
                    m.size = round(m.size * factor, 2)
    return books


# --- listCurrentOrders (betting-api.md §2.6) -----------------------------------------------------


def _order_date(o: Order, order_by: str) -> int | None:
    if order_by == "BY_MATCH_TIME":
        return o.matched_ms
    if order_by == "BY_VOID_TIME":
        return o.voided_ms
    return o.placed_ms


def list_current_orders(ex: Exchange, params: w.ListCurrentOrdersParams, account_id: str) -> w.CurrentOrderSummaryReport:
    """The account's orders on markets not yet settled (003:L10107-10176). orderBy (default BY_BET)
    also filters: BY_MATCH_TIME keeps matched orders, BY_VOID_TIME voided ones, BY_SETTLED_TIME none
    (no partially settled markets here). dateRange applies to the orderBy date (placed date for
    BY_BET / BY_MARKET / BY_PLACE_TIME), inclusive; paging with fromRecord / recordCount (0 = up to
    1000) and moreAvailable."""
    order_by = params.order_by or "BY_BET"
    bet_ids = None if params.bet_ids is None else {bet_id_from_wire(b) for b in params.bet_ids}
    market_ids = set(params.market_ids) if params.market_ids is not None else None
    order_refs = set(params.customer_order_refs) if params.customer_order_refs else None
    strategy_refs = set(params.customer_strategy_refs) if params.customer_strategy_refs else None
    rows: list[tuple[Order, Market]] = []
    for o in ex.orders.values():
        if o.account_id != account_id:
            continue
        market = ex.markets.get(o.market_id)
        if market is None or market.settled:
            continue
        if bet_ids is not None and o.bet_id not in bet_ids:
            continue
        if market_ids is not None and o.market_id not in market_ids:
            continue
        if not _projection_allows(o, params.order_projection):
            continue
        if order_refs is not None and o.customer_order_ref not in order_refs:
            continue
        if strategy_refs is not None and o.customer_strategy_ref not in strategy_refs:
            continue
        if not _in_range(o.placed_ms, params.placed_date_range):
            continue
        if order_by == "BY_MATCH_TIME" and o.matched_ms is None:
            continue
        if order_by == "BY_VOID_TIME" and o.voided_ms is None:
            continue
        if order_by == "BY_SETTLED_TIME":
            continue
        if params.date_range is not None and not _in_range(_order_date(o, order_by), params.date_range):
            continue
        rows.append((o, market))
    keys: dict[str, Callable[[Order], Any]] = {
        "BY_BET": lambda o: o.bet_id,
        "BY_MARKET": lambda o: (_market_key(o.market_id), o.placed_ms, o.bet_id),
        "BY_PLACE_TIME": lambda o: (o.placed_ms, o.bet_id),
        # the last matched (voided) fragment's time, then placed time, then bet id (003:L9675-9686)
        "BY_MATCH_TIME": lambda o: (o.matched_ms or 0, o.placed_ms, o.bet_id),
        "BY_VOID_TIME": lambda o: (o.voided_ms or 0, o.matched_ms or 0, o.placed_ms, o.bet_id),
    }
    key = keys.get(order_by, keys["BY_BET"])
    rows.sort(key=lambda om: key(om[0]), reverse=params.sort_dir == "LATEST_TO_EARLIEST")
    start = max(0, params.from_record or 0)
    count = params.record_count or MAX_CURRENT_ORDERS
    count = min(max(count, 0), MAX_CURRENT_ORDERS)
    page = rows[start:start + count]
    return w.CurrentOrderSummaryReport(
        current_orders=[current_order_to_wire(o, m, params.include_item_description, params.include_source_id)
                        for o, m in page],
        more_available=start + count < len(rows),
    )


# --- getAccountFunds -----------------------------------------------------------------------------


def get_account_funds(ex: Exchange, account_id: str, wallet: str | None = None) -> wa.AccountFundsResponse:
    """getAccountFunds (stream-identity-accounts.md §11.6, L13011-13028). Betfair reports exposure and
    the exposure limit as negative amounts. An unknown account is INVALID_SESSION_INFORMATION. `wallet`
    (003:L12732-12733): UK, the Global wallet, by default; the only one that holds money here, so the
    AUSTRALIAN wallet is empty (as getAccountStatement has no items for it)."""
    acct = ex.accounts.get(account_id)
    if acct is None:
        raise ApiError("INVALID_SESSION_INFORMATION", "no such account", "AccountAPINGException")
    if wallet not in (None, "UK"):
        return wa.AccountFundsResponse(available_to_bet_balance=0.0, exposure=0.0, retained_commission=0.0,
                                       discount_rate=0.0, points_balance=0, wallet=wallet)
    return wa.AccountFundsResponse(
        available_to_bet_balance=from_minor(acct.available_minor),
        exposure=-from_minor(acct.exposure_minor) if acct.exposure_minor else 0.0,
        retained_commission=0.0,
        exposure_limit=None if acct.exposure_limit_minor is None else -from_minor(acct.exposure_limit_minor),
        discount_rate=0.0,
        points_balance=0,
        wallet="UK",
    )
