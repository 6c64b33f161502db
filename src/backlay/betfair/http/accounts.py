"""Accounts API handlers (003:L12626-13152)."""

from __future__ import annotations

import zlib

from backlay.betfair.http import history, reads
from backlay.betfair.http.app import Context, Handler
from backlay.betfair.http.convert import gbp_rate
from backlay.betfair.http.errors import ApiError
from backlay.betfair.wire import accounts as wa
from backlay.core.money import GBP_RATES_MICRO

EXCEPTION = "AccountAPINGException"



async def get_account_funds(ctx: Context, params: wa.GetAccountFundsParams) -> wa.AccountFundsResponse:
    return reads.get_account_funds(ctx.exchange, ctx.account_id, params.wallet)


async def get_account_details(ctx: Context, params: wa.GetAccountDetailsParams) -> wa.AccountDetailsResponse:
    acct = ctx.exchange.accounts.get(ctx.account_id)
    if acct is None:
        raise ApiError("INVALID_SESSION_INFORMATION", "no exchange account for this session", EXCEPTION)
    return wa.AccountDetailsResponse(
        currency_code=acct.currency, first_name=ctx.account_id, last_name="", locale_code="en", region="GBR",
        timezone="GMT", discount_rate=0.0, points_balance=0, country_code="GB")


def _developer_apps(ctx: Context) -> list[wa.DeveloperApp]:
    owner = ctx.identity.username_of(ctx.account_id) or ctx.account_id
    apps: dict[str, list[wa.DeveloperAppVersion]] = {}
    for key in ctx.identity.app_keys_of(ctx.account_id):
        apps.setdefault(key.name, []).append(wa.DeveloperAppVersion(
            owner=owner, version_id=zlib.crc32(key.app_key.encode()), version="1.0-DELAY" if key.delayed else "1.0",
            application_key=key.app_key, delay_data=key.delayed, subscription_required=False, owner_managed=False,
            active=True))
    return [wa.DeveloperApp(app_name=name, app_id=zlib.crc32(f"{ctx.account_id}/{name}".encode()),
                            app_versions=versions) for name, versions in apps.items()]


async def create_developer_app_keys(ctx: Context, params: wa.CreateDeveloperAppKeysParams) -> wa.DeveloperApp:
    """Two keys, one live and one delayed (003:L12693-12709); the name must be unique for the account
    and must not contain the username, else UNEXPECTED_ERROR."""
    name = params.app_name.strip()
    owner = ctx.identity.username_of(ctx.account_id) or ctx.account_id
    if not name or owner.lower() in name.lower() or any(k.name == name for k in ctx.identity.app_keys_of(ctx.account_id)):
        raise ApiError("UNEXPECTED_ERROR", "appName must be new for this account and not contain the username",
                       EXCEPTION)
    ctx.identity.create_app_key(ctx.account_id, name, delayed=False)
    ctx.identity.create_app_key(ctx.account_id, name, delayed=True)
    return next(app for app in _developer_apps(ctx) if app.app_name == name)


async def get_developer_app_keys(ctx: Context, params: wa.GetDeveloperAppKeysParams) -> list[wa.DeveloperApp]:
    return _developer_apps(ctx)


async def list_currency_rates(ctx: Context, params: wa.ListCurrencyRatesParams) -> list[wa.CurrencyRate]:
    """Rates from GBP, "currently the only based currency" (003:L12803-12816); another is INVALID_INPUT_DATA."""
    if params.from_currency not in (None, "", "GBP"):
        raise ApiError("INVALID_INPUT_DATA", "fromCurrency: GBP is the only base currency", EXCEPTION)
    return [wa.CurrencyRate(currency_code=code, rate=gbp_rate(code)) for code in GBP_RATES_MICRO]


async def get_account_statement(ctx: Context, params: wa.GetAccountStatementParams) -> wa.AccountStatementReport:
    reads.check_locale(params.locale, EXCEPTION)
    return history.get_account_statement(ctx.exchange, params, ctx.account_id)


HANDLERS: dict[str, Handler] = {
    "getAccountFunds": get_account_funds,
    "getAccountDetails": get_account_details,
    "createDeveloperAppKeys": create_developer_app_keys,
    "getDeveloperAppKeys": get_developer_app_keys,
    "getAccountStatement": get_account_statement,
    "listCurrencyRates": list_currency_rates,
}
