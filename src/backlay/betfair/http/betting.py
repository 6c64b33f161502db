"""Betting API handlers (003:L9512-12625): orders go through the sequencer, reads read the state."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from backlay.betfair.http import convert, history, limits, reads
from backlay.betfair.http.app import Context, Handler
from backlay.betfair.http.errors import ApiError
from backlay.betfair.wire import betting as w
from backlay.core.commands import Command
from backlay.core.exchange import Exchange
from backlay.core.money import GBP_RATES_MICRO
from backlay.core.reports import PlaceExecutionReport, Result
from backlay.engine.sequencer import QueueFull

# Instructions per call (003:L10609-10610, L10056-10057, L11156-11158, L11186-11188): above them the
# request is INVALID_INPUT_DATA (003:L9976-9978).
MAX_PLACE = 200
MAX_EDIT = 60
CUSTOMER_REF = re.compile(r"^[A-Za-z0-9:\-._+*;~]{1,32}$")  # 003:L10611-10618


def _check_customer_ref(ref: str | None) -> None:
    if ref is not None and not CUSTOMER_REF.match(ref):
        raise ApiError("INVALID_INPUT_DATA", "customerRef: at most 32 of A-Z a-z 0-9 : - . _ + * ; ~")


def _check_count(n: int, limit: int, what: str, ctx: Context | None = None) -> None:
    if n > limit:
        raise ApiError("INVALID_INPUT_DATA", f"at most {limit} {what} instructions per request")
    if ctx is not None and ctx.instruction_rate is not None:
        ctx.instruction_rate.take(ctx.account_id, max(n, 1), ctx.now_ms)


async def _submit(ctx: Context, cmd: Command, n: int) -> Result:
    """Submit a command whose `n` instructions `_check_count` counted; a command the sequencer refuses
    (QueueFull: the app answers SERVICE_BUSY) gives them back, as it never reached the exchange."""
    try:
        return await ctx.submit(cmd)
    except QueueFull:
        if ctx.instruction_rate is not None:
            ctx.instruction_rate.give_back(ctx.account_id, max(n, 1))
        raise


async def _final_place(ctx: Context, report: Any, wait: bool) -> PlaceExecutionReport:
    """A placement held for the in-play bet delay answers when the delay is over (003:L11586-11590); an
    async one (`wait` false) at once, PENDING (003:L10630-10636)."""
    if wait and isinstance(report, PlaceExecutionReport) and report.delayed_token is not None and ctx.wait_placement:
        return await ctx.wait_placement(report.delayed_token)
    assert isinstance(report, PlaceExecutionReport)
    return report


async def place_orders(ctx: Context, params: w.PlaceOrdersParams) -> w.PlaceExecutionReport:
    _check_count(len(params.instructions), MAX_PLACE, "place", ctx)
    _check_customer_ref(params.customer_ref)
    app_key = ctx.app_key.app_key if ctx.app_key else None
    report = await _submit(ctx, convert.place_orders_command(params, ctx.account_id, app_key), len(params.instructions))
    return convert.place_report_to_wire(await _final_place(ctx, report, wait=not params.async_), params)


async def cancel_orders(ctx: Context, params: w.CancelOrdersParams) -> w.CancelExecutionReport:
    _check_count(len(params.instructions or []), MAX_EDIT, "cancel", ctx)
    _check_customer_ref(params.customer_ref)
    report = await _submit(ctx, convert.cancel_orders_command(params, ctx.account_id), len(params.instructions or []))
    return convert.cancel_report_to_wire(report, params)  # type: ignore[arg-type]


async def replace_orders(ctx: Context, params: w.ReplaceOrdersParams) -> w.ReplaceExecutionReport:
    _check_count(len(params.instructions), MAX_EDIT, "replace", ctx)
    _check_customer_ref(params.customer_ref)
    app_key = ctx.app_key.app_key if ctx.app_key else None
    report = await _submit(ctx, convert.replace_orders_command(params, ctx.account_id, app_key), len(params.instructions))
    return convert.replace_report_to_wire(report, params, ctx.exchange.orders, ctx.account_id)  # type: ignore[arg-type]


async def update_orders(ctx: Context, params: w.UpdateOrdersParams) -> w.UpdateExecutionReport:
    _check_count(len(params.instructions), MAX_EDIT, "update", ctx)
    _check_customer_ref(params.customer_ref)
    report = await _submit(ctx, convert.update_orders_command(params, ctx.account_id), len(params.instructions))
    return convert.update_report_to_wire(report, params)  # type: ignore[arg-type]


HANDLERS: dict[str, Handler] = {
    "placeOrders": place_orders,
    "cancelOrders": cancel_orders,
    "replaceOrders": replace_orders,
    "updateOrders": update_orders,
}


def _navigation(fn: Callable[[Exchange, w.MarketFilter, str | None], Any]) -> Handler:
    """listEventTypes, listCompetitions, ...: facets of the markets a MarketFilter selects (003:L10068-10593)."""
    async def handler(ctx: Context, params: Any) -> Any:
        reads.check_locale(params.locale)
        return fn(ctx.exchange, params.filter, ctx.account_id)
    return handler


def _read(fn: Callable[[Exchange, Any, str], Any], check: Callable[[Any], None] | None = None) -> Handler:
    async def handler(ctx: Context, params: Any) -> Any:
        reads.check_locale(getattr(params, "locale", None))
        if check is not None:
            check(params)
        return fn(ctx.exchange, params, ctx.account_id)
    return handler


def _book(fn: Callable[..., list[w.MarketBook]], check: Callable[[Any], None] | None = None) -> Handler:
    """listMarketBook / listRunnerBook: a delayed application key gets delayed prices (003:L4767-4813)."""
    async def handler(ctx: Context, params: Any) -> Any:
        reads.check_locale(params.locale)
        if check is not None:
            check(params)
        delayed = ctx.delayed_prices if ctx.app_key is not None and ctx.app_key.delayed else None
        books = fn(ctx.exchange, params, ctx.account_id, delayed, ctx.now_ms)
        if params.currency_code is not None and params.currency_code != ctx.exchange.currency:
            if params.currency_code not in GBP_RATES_MICRO:
                raise ApiError("INVALID_INPUT_DATA", "currency must use valid iso2 currency code name")
            rate = convert.gbp_rate(params.currency_code) / convert.gbp_rate(ctx.exchange.currency)
            books = reads.in_currency(books, rate)
        return books
    return handler


async def list_time_ranges(ctx: Context, params: w.ListTimeRangesParams) -> list[w.TimeRangeResult]:
    return reads.list_time_ranges(ctx.exchange, params.filter, params.granularity, ctx.account_id)


HANDLERS.update({
    "listEventTypes": _navigation(reads.list_event_types),
    "listCompetitions": _navigation(reads.list_competitions),
    "listEvents": _navigation(reads.list_events),
    "listMarketTypes": _navigation(reads.list_market_types),
    "listCountries": _navigation(reads.list_countries),
    "listVenues": _navigation(reads.list_venues),
    "listTimeRanges": list_time_ranges,
    "listMarketCatalogue": _read(reads.list_market_catalogue, limits.check_catalogue),
    "listMarketBook": _book(reads.list_market_book, limits.check_book),
    "listRunnerBook": _book(reads.list_runner_book, limits.check_runner_book),
    "listCurrentOrders": _read(reads.list_current_orders, limits.check_current_orders),
    "listClearedOrders": _read(history.list_cleared_orders),
    "listMarketProfitAndLoss": _read(history.list_market_profit_and_loss, limits.check_profit_and_loss),
})
