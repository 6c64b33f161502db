"""Accounts API handlers (003:L12626-13152)."""

from __future__ import annotations

from backlay.api.app import Context, Handler
from backlay.api.errors import ApiError
from backlay.wire import accounts as wa

EXCEPTION = "AccountAPINGException"


def _minor_to_wire(minor: int) -> float:
    return minor / 100


async def get_account_funds(ctx: Context, params: wa.GetAccountFundsParams) -> wa.AccountFundsResponse:
    acct = ctx.exchange.accounts.get(ctx.account_id)
    if acct is None:
        raise ApiError("INVALID_SESSION_INFORMATION", "no exchange account for this session", EXCEPTION)
    return wa.AccountFundsResponse(
        available_to_bet_balance=_minor_to_wire(acct.available_minor),
        exposure=_minor_to_wire(-acct.exposure_minor),  # Betfair reports exposure as a negative amount
        retained_commission=0.0,
        exposure_limit=_minor_to_wire(-acct.exposure_limit_minor) if acct.exposure_limit_minor is not None else None,
        discount_rate=0.0,
        points_balance=0,
        wallet="UK",
    )


async def get_account_details(ctx: Context, params: wa.GetAccountDetailsParams) -> wa.AccountDetailsResponse:
    acct = ctx.exchange.accounts.get(ctx.account_id)
    if acct is None:
        raise ApiError("INVALID_SESSION_INFORMATION", "no exchange account for this session", EXCEPTION)
    return wa.AccountDetailsResponse(
        currency_code=acct.currency, first_name=ctx.account_id, last_name="", locale_code="en", region="GBR",
        timezone="GMT", discount_rate=0.0, points_balance=0, country_code="GB")


HANDLERS: dict[str, Handler] = {
    "getAccountFunds": get_account_funds,
    "getAccountDetails": get_account_details,
}
