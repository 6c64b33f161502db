"""The admin API's fixed-odds routes (docs/provider-api.md): betting content providers (id and HMAC secret,
kept in the identity store), a user's responsible-gambling limits (a core command, journaled) and the
operator's view of a user's fixed-odds bets."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from backlay.admin import wire as t
from backlay.betfair.wire import Instant
from backlay.core import commands as c

if TYPE_CHECKING:
    from backlay.admin.api import AdminApi, Route


def _minor(x: Any, what: str) -> int | None:
    from backlay.admin.api import limit_minor
    return limit_minor(x, what)


def _provider_view(p: Any, secret: str | None = None) -> t.Provider:
    return t.Provider(provider_id=p.provider_id, created=Instant(p.created_ms).iso(), secret=secret)


def limits_command(account_id: str, body: t.BettingLimits) -> c.SetBettingLimits:
    from backlay.admin.api import date_ms
    return c.SetBettingLimits(
        account_id=account_id, min_stake_minor=_minor(body.min_stake, "minStake"),
        max_stake_minor=_minor(body.max_stake, "maxStake"),
        market_types=[c.MarketTypeLimit(market_type_id=m.market_type_id,
                                        min_stake_minor=_minor(m.min_stake, "minStake"),
                                        max_stake_minor=_minor(m.max_stake, "maxStake"),
                                        max_liability_minor=_minor(m.max_liability, "maxLiability"))
                      for m in body.market_types],
        blocked_until_ms=None if body.blocked_until is None else date_ms(body.blocked_until, "blockedUntil"),
        block_reason=body.block_reason)


def _money(minor: int | None) -> float | None:
    return None if minor is None else minor / 100


def limits_view(api: AdminApi, account_id: str) -> t.BettingLimits:
    lim = api.exchange.fixed_odds.limits.get(account_id)
    if lim is None:
        return t.BettingLimits()
    return t.BettingLimits(
        min_stake=_money(lim.min_stake_minor), max_stake=_money(lim.max_stake_minor),
        market_types=[t.MarketTypeLimit(market_type_id=m.market_type_id, min_stake=_money(m.min_stake_minor),
                                        max_stake=_money(m.max_stake_minor),
                                        max_liability=_money(m.max_liability_minor))
                      for _, m in sorted(lim.market_types.items())],
        blocked_until=None if lim.blocked_until_ms is None else Instant(lim.blocked_until_ms).iso(),
        block_reason=lim.block_reason)  # type: ignore[arg-type]


def routes(api: AdminApi, prefix: str) -> list[Route]:
    from backlay.admin.api import AdminError, Route
    from backlay.provider import wire as pw
    from backlay.provider.views import bet_views
    acct = prefix + "/accounts/{accountId}"

    async def create_provider(params: dict[str, str], body: t.CreateProvider) -> tuple[int, Any]:
        secret = body.secret or secrets.token_urlsafe(32)
        if not api.identity.create_provider(body.provider_id, secret, api.now_ms()):
            raise AdminError(409, "PROVIDER_EXISTS", f"provider {body.provider_id} exists")
        created = next(p for p in api.identity.providers() if p.provider_id == body.provider_id)
        return 201, _provider_view(created, secret)

    async def list_providers(params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, [_provider_view(p) for p in api.identity.providers()]

    async def remove_provider(params: dict[str, str], body: None) -> tuple[int, Any]:
        if not api.identity.remove_provider(params["providerId"]):
            raise AdminError(404, "NO_SUCH_PROVIDER", f"no provider {params['providerId']}")
        return 200, t.Ok(ok=True)

    async def get_limits(params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, limits_view(api, api.account_id(params))

    async def put_limits(params: dict[str, str], body: t.BettingLimits) -> tuple[int, Any]:
        account_id = api.account_id(params)
        await api.run(limits_command(account_id, body))
        return 200, limits_view(api, account_id)

    async def list_bets(params: dict[str, str], body: None) -> tuple[int, Any]:
        # provider/wire's encoder: its decimals are JSON numbers, as the provider API shows them
        return 200, pw.encode(bet_views(api.exchange, api.account_id(params), None))

    return [
        Route("POST", prefix + "/providers", "Register a betting content provider (its secret signs its calls)",
              create_provider, t.CreateProvider, t.Provider, 201, submits=False),
        Route("GET", prefix + "/providers", "List providers (without secrets)", list_providers, None,
              list[t.Provider]),
        Route("DELETE", prefix + "/providers/{providerId}", "Remove a provider: its calls are refused from now",
              remove_provider, None, t.Ok, submits=False),
        Route("GET", acct + "/betting-limits", "A user's fixed-odds limits, cool-down and self-exclusion",
              get_limits, None, t.BettingLimits),
        Route("PUT", acct + "/betting-limits", "Set a user's fixed-odds limits (replaces them all)", put_limits,
              t.BettingLimits, t.BettingLimits),
        Route("GET", acct + "/fixed-odds-bets", "A user's fixed-odds bets, newest first", list_bets, None,
              list[pw.BetView]),
    ]
