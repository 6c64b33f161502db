"""The operator's admin API: JSON under `/admin/v1`, bearer token, described by its own OpenAPI document.

One route table drives the routing, the body decoding and `GET /admin/v1/openapi.json`. Changes to
exchange state are core commands through the sequencer (journaled like any bet); logins, app keys and
client certificates live in the identity store. Errors are `{"error": {"code", "message"}}` with
400 (bad input), 401 (no or wrong token), 404 (no such thing), 405, 409 (conflict with current state),
and 503 SERVICE_BUSY with `Retry-After: 1` when the sequencer's queue is full (nothing was done).
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any
from urllib.parse import unquote

import msgspec
from msgspec import UNSET

from backlay.admin import providers
from backlay.admin import wire as t
from backlay.betfair.http.app import WithHeaders
from backlay.betfair.wire import Instant
from backlay.core import commands as c
from backlay.core.codes import AdminErr
from backlay.core.exchange import Exchange
from backlay.core.market import Market
from backlay.core.reports import AdminResult, Result
from backlay.engine.sequencer import QueueFull
from backlay.identity.store import IdentityStore
from backlay.provider import wire as provider_wire

PREFIX = "/admin/v1"
NOT_FOUND_CODES = {AdminErr.NO_SUCH_ACCOUNT, AdminErr.NO_SUCH_MARKET, AdminErr.NO_SUCH_RUNNER}
CONFLICT_CODES = {AdminErr.ACCOUNT_EXISTS, AdminErr.MARKET_EXISTS, AdminErr.INVALID_STATE_TRANSITION,
                  AdminErr.INSUFFICIENT_FUNDS}
BUSY_CODE = "SERVICE_BUSY"
RETRY_AFTER = ((b"retry-after", b"1"),)  # seconds; the queue drains a batch per fsync


class AdminError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad(message: str, code: str = "INVALID_INPUT") -> AdminError:
    return AdminError(400, code, message)


# --- units at the edge -------------------------------------------------------------------------------


def _decimal(x: Any, what: str) -> Decimal:
    try:
        d = Decimal(str(x).strip())
    except InvalidOperation:
        raise bad(f"{what} must be a decimal number") from None
    if not d.is_finite() or abs(d) > Decimal(10) ** 12:
        raise bad(f"{what} must be a finite number below 10^12")
    return d


def hundredths(x: Any, what: str) -> int:
    """A decimal with at most two places to an integer count of hundredths (minor units, `_h`, `_bp`)."""
    d = _decimal(x, what) * 100
    if d != d.to_integral_value():
        raise bad(f"{what} has more than two decimal places")
    return int(d)


def amount_minor(x: Any, what: str = "amount") -> int:
    minor = hundredths(x, what)
    if minor <= 0:
        raise bad(f"{what} must be positive", AdminErr.INVALID_AMOUNT)
    return minor


def limit_minor(x: Any, what: str) -> int | None:
    if x is None:
        return None
    minor = hundredths(x, what)
    if minor < 0:
        raise bad(f"{what} must not be negative", AdminErr.INVALID_AMOUNT)
    return minor


def date_ms(x: str, what: str) -> int:
    try:
        return Instant.parse(x).ms
    except ValueError:
        raise bad(f"{what}: expected an ISO-8601 date such as 2026-11-22T15:30:00.000Z") from None


def _iso(ms: int | None) -> str | None:
    return None if ms is None else Instant(ms).iso()


# Definition fields: admin name -> (core name, to core, from core).
_SAME = (lambda v, name: v, lambda v: v)
_DATE = (lambda v, name: date_ms(v, name), _iso)
_DATE_OPT = (lambda v, name: None if v is None else date_ms(v, name), _iso)
_H = (lambda v, name: hundredths(v, name), lambda v: v / 100)
_H_OPT = (lambda v, name: None if v is None else hundredths(v, name), lambda v: None if v is None else v / 100)
DEFINITION_FIELDS: dict[str, tuple[str, Any]] = {
    "market_name": ("name", _SAME), "market_type": ("market_type", _SAME), "betting_type": ("betting_type", _SAME),
    "event_type_id": ("event_type_id", _SAME), "event_type_name": ("event_type_name", _SAME),
    "event_id": ("event_id", _SAME), "event_name": ("event_name", _SAME),
    "competition_id": ("competition_id", _SAME), "competition_name": ("competition_name", _SAME),
    "country_code": ("country_code", _SAME), "timezone": ("timezone", _SAME), "venue": ("venue", _SAME),
    "open_date": ("open_date_ms", _DATE), "market_time": ("market_time_ms", _DATE),
    "suspend_time": ("suspend_time_ms", _DATE_OPT), "number_of_winners": ("number_of_winners", _SAME),
    "price_ladder_type": ("price_ladder", _SAME), "line_min_unit": ("line_min_h", _H),
    "line_max_unit": ("line_max_h", _H), "line_interval": ("line_interval_h", _H),
    "market_unit": ("market_unit", _SAME), "bsp_market": ("bsp_market", _SAME),
    "persistence_enabled": ("persistence_enabled", _SAME), "turn_in_play_enabled": ("turn_in_play_enabled", _SAME),
    "cross_matching": ("cross_matching", _SAME), "runners_voidable": ("runners_voidable", _SAME),
    "discount_allowed": ("discount_allowed", _SAME), "market_base_rate": ("market_base_rate_bp", _H),
    "each_way_divisor": ("each_way_divisor_h", _H_OPT), "race_type": ("race_type", _SAME),
    "regulator": ("regulator", _SAME), "wallet": ("wallet", _SAME), "rules": ("rules", _SAME),
    "rules_has_date": ("rules_has_date", _SAME), "clarifications": ("clarifications", _SAME),
    "bet_delay_models": ("bet_delay_models", _SAME),
}
_CAMEL = {name: msgspec.structs.fields(t.Definition)[i].encode_name
          for i, name in enumerate(f.name for f in msgspec.structs.fields(t.Definition))}


def definition_changes(body: t.Definition) -> dict[str, Any]:
    """The core fields of the definition fields the body gives (UNSET ones left out)."""
    changes = {}
    for name, (core_name, (to_core, _)) in DEFINITION_FIELDS.items():
        value = getattr(body, name)
        if value is not UNSET:
            changes[core_name] = to_core(value, _CAMEL[name])
    return changes


def definition_view(d: c.MarketDefinition) -> dict[str, Any]:
    return {_CAMEL[name]: from_core(getattr(d, core_name))
            for name, (core_name, (_, from_core)) in DEFINITION_FIELDS.items()}


def market_view(m: Market) -> t.Market:
    runners = [t.Runner(selection_id=r.selection_id, runner_name=r.definition.name, handicap=r.handicap_h / 100,
                        sort_priority=r.definition.sort_priority, metadata=r.definition.metadata or None,
                        status=r.status, adjustment_factor=_bp_pct(r.adjustment_factor_bp))
               for r in m.runner_list]
    return t.Market(market_id=m.market_id, status=m.status, inplay=m.inplay, bet_delay=m.bet_delay_s,
                    version=m.version, definition=definition_view(m.definition), runners=runners, settled=m.settled)


def _bp_pct(bp: int | None) -> float | None:
    return None if bp is None else bp / 100


def results_command(body: t.Settle, market_id: str, resettle: bool) -> c.Command:
    results: list[c.RunnerResult] = []
    for sel in body.winners or []:
        results.append(c.RunnerResult(selection_id=sel, status="WINNER"))
    for sel in body.placed or []:
        results.append(c.RunnerResult(selection_id=sel, status="PLACED"))
    for r in body.results or []:
        num, den = 1, 1
        if r.dead_heat_divisor is not None:
            divisor = Fraction(_decimal(r.dead_heat_divisor, "deadHeatDivisor"))
            if divisor < 1 or divisor.denominator > 1000:
                raise bad("deadHeatDivisor must be at least 1 (e.g. 2 for a two-way dead heat)")
            num, den = divisor.numerator, divisor.denominator
        results.append(c.RunnerResult(selection_id=r.selection_id, handicap_h=hundredths(r.handicap, "handicap"),
                                      status=r.status, win_quarters=r.win_quarters, void_quarters=r.void_quarters,
                                      dead_heat_num=num, dead_heat_den=den))
    line = None if body.line_outcome is None else hundredths(body.line_outcome, "lineOutcome")
    if resettle:
        return c.ResettleMarket(market_id=market_id, results=results, line_outcome_h=line)
    return c.SettleMarket(market_id=market_id, results=results, line_outcome_h=line)


# --- the API -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {name} parameters
    summary: str
    handler: Callable[..., Awaitable[tuple[int, Any]]]
    body: type | None = None
    response: Any = t.Ok
    status: int = 200
    regex: re.Pattern[str] | None = None
    submits: bool | None = None  # submits commands (may answer 503); None: every method but GET

    def __post_init__(self) -> None:
        if self.submits is None:
            object.__setattr__(self, "submits", self.method != "GET")


class AdminApi:
    def __init__(self, token: str, exchange: Callable[[], Exchange], submit: Callable[[c.Command], Awaitable[Result]],
                 identity: IdentityStore, on_client_cert: Callable[[str], None] | None = None,
                 submit_follow_up: Callable[[c.Command], Awaitable[Result]] | None = None) -> None:
        if len(token) < 16:
            raise ValueError("the admin token must be at least 16 characters")
        self._token = token.encode()
        self._exchange = exchange
        self._submit = submit
        # A request's second and later commands: not refused by the queue's bound, so that a request whose
        # first command was admitted is never left half done (default: `submit`).
        self._submit_follow_up = submit_follow_up or submit
        self.identity = identity
        self._on_client_cert = on_client_cert
        self.routes = self._routes()
        self._openapi = msgspec.json.encode(self.openapi())

    # --- dispatch --------------------------------------------------------------------------------------

    async def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if path == PREFIX + "/openapi.json" and method == "GET":
            return 200, self._openapi
        try:
            if not self._authorized(headers.get("authorization", "")):
                raise AdminError(401, "UNAUTHORIZED", "send Authorization: Bearer <admin token>")
            route, params = self._match(method, path)
            decoded = None
            if route.body is not None:
                decoded = self._decode(route.body, body)
            status, payload = await route.handler(params, decoded)
            return status, payload
        except AdminError as e:
            error = t.ErrorResponse(error=t.Error(code=e.code, message=e.message))
            return e.status, WithHeaders(error, RETRY_AFTER) if e.status == 503 else error

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._token)

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            assert route.regex is not None
            m = route.regex.fullmatch(path)
            if m is not None:
                if route.method == method:
                    return route, {k: unquote(v) for k, v in m.groupdict().items()}
                allowed = True
        if allowed:
            raise AdminError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}")
        raise AdminError(404, "NOT_FOUND", f"no admin route {path}")

    @staticmethod
    def _decode(body_type: type, body: bytes) -> Any:
        try:
            return msgspec.json.decode(body or b"{}", type=body_type, strict=False)
        except msgspec.ValidationError as e:
            raise bad(str(e)) from None
        except msgspec.DecodeError:
            raise bad("the body is not valid JSON") from None

    async def _run(self, cmd: c.Command, follow_up: bool = False) -> None:
        """Submit one command; `follow_up`: a later command of a request whose first was admitted."""
        try:
            result = await (self._submit_follow_up if follow_up else self._submit)(cmd)
        except QueueFull:  # refused before it was stamped: nothing of it happened
            raise AdminError(503, BUSY_CODE, "the exchange is too busy (command queue full); retry shortly") from None
        assert isinstance(result, AdminResult), result
        if not result.ok:
            code = result.error or "ERROR"
            status = 404 if code in NOT_FOUND_CODES else 409 if code in CONFLICT_CODES else 400
            raise AdminError(status, code, result.detail or code)

    @property
    def exchange(self) -> Exchange:
        return self._exchange()

    @staticmethod
    def now_ms() -> int:
        return time.time_ns() // 1_000_000

    async def run(self, cmd: c.Command) -> None:
        await self._run(cmd)

    def account_id(self, params: dict[str, str]) -> str:
        return self._account_id(params)

    def _account_id(self, params: dict[str, str]) -> str:
        account_id = params["accountId"]
        if account_id not in self._exchange().accounts:
            raise AdminError(404, AdminErr.NO_SUCH_ACCOUNT, f"no account {account_id}")
        return account_id

    def _market(self, params: dict[str, str]) -> Market:
        market = self._exchange().markets.get(params["marketId"])
        if market is None:
            raise AdminError(404, AdminErr.NO_SUCH_MARKET, f"no market {params['marketId']}")
        return market

    # --- accounts --------------------------------------------------------------------------------------

    def _account_view(self, account_id: str) -> t.Account:
        a = self._exchange().accounts[account_id]
        return t.Account(
            account_id=account_id, username=self.identity.username_of(account_id), currency=a.currency,
            status=a.status, balance=a.balance_minor / 100, exposure=a.exposure_minor / 100,
            available_to_bet=a.available_minor / 100,
            exposure_limit=None if a.exposure_limit_minor is None else a.exposure_limit_minor / 100,
            loss_limit=None if a.loss_limit_minor is None else a.loss_limit_minor / 100,
            max_price_improvement_ticks=a.max_price_improvement_ticks)

    async def create_account(self, params: dict[str, str], body: t.CreateAccount) -> tuple[int, Any]:
        account_id = body.account_id or body.username
        deposit = None if body.deposit is None else amount_minor(body.deposit, "deposit")
        if self.identity.has_user(body.username):
            raise AdminError(409, "USERNAME_EXISTS", f"username {body.username} is taken")
        await self._run(c.CreateAccount(account_id=account_id, currency=body.currency))
        self.identity.create_user(body.username, body.password, account_id, body.jurisdiction)
        if deposit is not None:
            await self._run(c.Deposit(account_id=account_id, amount_minor=deposit, reference="initial deposit"),
                            follow_up=True)
        return 201, self._account_view(account_id)

    async def list_accounts(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, [self._account_view(a) for a in sorted(self._exchange().accounts)]

    async def get_account(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, self._account_view(self._account_id(params))

    async def deposit(self, params: dict[str, str], body: t.Money) -> tuple[int, Any]:
        account_id = params["accountId"]
        await self._run(c.Deposit(account_id=account_id, amount_minor=amount_minor(body.amount), reference=body.reference))
        return 200, self._account_view(account_id)

    async def withdraw(self, params: dict[str, str], body: t.Money) -> tuple[int, Any]:
        account_id = params["accountId"]
        await self._run(c.Withdraw(account_id=account_id, amount_minor=amount_minor(body.amount),
                                   reference=body.reference))
        return 200, self._account_view(account_id)

    async def set_status(self, params: dict[str, str], body: t.AccountStatus) -> tuple[int, Any]:
        account_id = params["accountId"]
        await self._run(c.SetAccountStatus(account_id=account_id, status=body.status))
        return 200, self._account_view(account_id)

    async def set_limits(self, params: dict[str, str], body: t.AccountLimits) -> tuple[int, Any]:
        account_id = self._account_id(params)
        cmds: list[c.Command] = []  # all converted before any is submitted
        if body.exposure_limit is not UNSET:
            cmds.append(c.SetExposureLimit(account_id=account_id,
                                           exposure_limit_minor=limit_minor(body.exposure_limit, "exposureLimit")))
        if body.loss_limit is not UNSET:
            cmds.append(c.SetLossLimit(account_id=account_id, loss_limit_minor=limit_minor(body.loss_limit, "lossLimit")))
        if body.max_price_improvement_ticks is not UNSET:
            cmds.append(c.SetBestExecution(account_id=account_id,
                                           max_price_improvement_ticks=body.max_price_improvement_ticks))
        for i, cmd in enumerate(cmds):
            await self._run(cmd, follow_up=i > 0)
        return 200, self._account_view(account_id)

    async def list_app_keys(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        account_id = self._account_id(params)
        return 200, [t.AppKey(app_name=k.name, application_key=k.app_key, delayed=k.delayed)
                     for k in self.identity.app_keys_of(account_id)]

    async def create_app_keys(self, params: dict[str, str], body: t.CreateAppKeys) -> tuple[int, Any]:
        """A live and a delayed key under one application name (003:L4717-4719)."""
        account_id = self._account_id(params)
        name = body.app_name.strip()
        if not name or any(k.name == name for k in self.identity.app_keys_of(account_id)):
            raise AdminError(409, "APP_EXISTS", f"the account has an application named {name!r} already")
        keys = [self.identity.create_app_key(account_id, name, delayed=d) for d in (False, True)]
        return 201, [t.AppKey(app_name=k.name, application_key=k.app_key, delayed=k.delayed) for k in keys]

    async def list_certificates(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        account_id = self._account_id(params)
        return 200, [t.CertificateInfo(fingerprint=cert.fingerprint, subject=cert.subject, not_after=cert.not_after)
                     for cert in self.identity.client_certs(account_id)]

    async def register_certificate(self, params: dict[str, str], body: t.ClientCertificate) -> tuple[int, Any]:
        """A client certificate for certlogin (003:L5150-5260); it is trusted from now on."""
        account_id = self._account_id(params)
        if self.identity.username_of(account_id) is None:
            raise AdminError(409, "NO_LOGIN", f"account {account_id} has no username to log in with")
        try:
            fingerprint = self.identity.register_client_cert(account_id, body.pem)
        except ValueError as e:
            raise bad(str(e), "INVALID_CERTIFICATE") from None
        if self._on_client_cert is not None:
            self._on_client_cert(body.pem)
        cert = next(x for x in self.identity.client_certs(account_id) if x.fingerprint == fingerprint)
        return 201, t.CertificateInfo(fingerprint=fingerprint, subject=cert.subject, not_after=cert.not_after)

    async def remove_certificate(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        account_id = self._account_id(params)
        if not self.identity.remove_client_cert(account_id, params["fingerprint"]):
            raise AdminError(404, "NO_SUCH_CERTIFICATE", "no such certificate on this account")
        return 200, t.Ok(ok=True)

    # --- catalogue -------------------------------------------------------------------------------------

    async def list_event_types(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, [t.EventType(event_type_id=e.event_type_id, name=e.name)
                     for e in self._exchange().catalogue.event_types.values()]

    async def put_event_type(self, params: dict[str, str], body: t.EventType) -> tuple[int, Any]:
        await self._run(c.UpsertEventType(event_type_id=params["eventTypeId"], name=body.name))
        return 200, t.EventType(event_type_id=params["eventTypeId"], name=body.name)

    async def list_competitions(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, [t.Competition(competition_id=e.competition_id, name=e.name, event_type_id=e.event_type_id,
                                   competition_region=e.region)
                     for e in self._exchange().catalogue.competitions.values()]

    async def put_competition(self, params: dict[str, str], body: t.Competition) -> tuple[int, Any]:
        await self._run(c.UpsertCompetition(competition_id=params["competitionId"], name=body.name,
                                            event_type_id=body.event_type_id, region=body.competition_region))
        return 200, msgspec.structs.replace(body, competition_id=params["competitionId"])

    async def list_events(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, [t.Event(event_id=e.event_id, name=e.name, event_type_id=e.event_type_id,
                             competition_id=e.competition_id, country_code=e.country_code, timezone=e.timezone,
                             venue=e.venue, open_date=_iso(e.open_date_ms))
                     for e in self._exchange().catalogue.events.values()]

    async def put_event(self, params: dict[str, str], body: t.Event) -> tuple[int, Any]:
        open_ms = 0 if body.open_date is None else date_ms(body.open_date, "openDate")
        await self._run(c.UpsertEvent(event_id=params["eventId"], name=body.name, event_type_id=body.event_type_id,
                                      competition_id=body.competition_id, country_code=body.country_code,
                                      timezone=body.timezone, venue=body.venue, open_date_ms=open_ms))
        return 200, msgspec.structs.replace(body, event_id=params["eventId"])

    # --- markets ---------------------------------------------------------------------------------------

    async def create_market(self, params: dict[str, str], body: t.CreateMarket) -> tuple[int, Any]:
        fields = definition_changes(body)
        if "name" not in fields:
            raise bad("marketName is required")
        try:
            definition = c.MarketDefinition(**fields)
        except TypeError as e:
            raise bad(str(e)) from None
        runners = [c.RunnerDefinition(selection_id=r.selection_id, name=r.runner_name,
                                      handicap_h=hundredths(r.handicap, "handicap"),
                                      sort_priority=r.sort_priority if r.sort_priority is not None else i + 1,
                                      metadata=r.metadata or {})
                   for i, r in enumerate(body.runners)]
        await self._run(c.CreateMarket(market_id=body.market_id, definition=definition, runners=runners))
        if body.open:
            await self._run(c.SetMarketStatus(market_id=body.market_id, status="OPEN"), follow_up=True)
        return 201, market_view(self._exchange().markets[body.market_id])

    async def list_markets(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, [market_view(m) for m in self._exchange().markets.values()]

    async def get_market(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, market_view(self._market(params))

    async def patch_market(self, params: dict[str, str], body: t.Definition) -> tuple[int, Any]:
        market = self._market(params)
        changes = definition_changes(body)
        if changes:
            await self._run(c.UpdateMarketDefinition(market_id=market.market_id, changes=changes))
        return 200, market_view(market)

    def _market_action(self, make: Callable[[str, Any], c.Command]) -> Callable[..., Awaitable[tuple[int, Any]]]:
        async def action(params: dict[str, str], body: Any) -> tuple[int, Any]:
            market = self._market(params)
            await self._run(make(market.market_id, body))
            return 200, market_view(market)
        return action

    async def remove_runner(self, params: dict[str, str], body: t.RemoveRunner) -> tuple[int, Any]:
        market = self._market(params)
        try:
            selection_id = int(params["selectionId"])
        except ValueError:
            raise bad("selectionId must be an integer") from None
        await self._run(c.RemoveRunner(
            market_id=market.market_id, selection_id=selection_id, handicap_h=hundredths(body.handicap, "handicap"),
            adjustment_factor_bp=None if body.adjustment_factor is None
            else hundredths(body.adjustment_factor, "adjustmentFactor"),
            reduction_factor_bp=None if body.reduction_factor is None
            else hundredths(body.reduction_factor, "reductionFactor"),
            vacant=body.vacant))
        return 200, market_view(market)

    # --- race status -----------------------------------------------------------------------------------

    async def list_races(self, params: dict[str, str], body: None) -> tuple[int, Any]:
        return 200, [t.Race(race_id=r.race_id, meeting_id=r.meeting_id, race_status=r.race_status,
                            last_updated=Instant(r.last_updated_ms).iso(), sequence=r.sequence)
                     for r in self._exchange().catalogue.races.values()]

    async def put_race(self, params: dict[str, str], body: t.RaceStatus) -> tuple[int, Any]:
        await self._run(c.SetRaceStatus(race_id=params["raceId"], race_status=body.race_status))
        r = self._exchange().catalogue.races[params["raceId"]]
        return 200, t.Race(race_id=r.race_id, meeting_id=r.meeting_id, race_status=r.race_status,
                           last_updated=Instant(r.last_updated_ms).iso(), sequence=r.sequence)

    # --- the table -------------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        acct = PREFIX + "/accounts/{accountId}"
        mkt = PREFIX + "/markets/{marketId}"
        act = self._market_action
        routes = [
            Route("POST", PREFIX + "/accounts", "Create an account with its login (and an optional first deposit)",
                  self.create_account, t.CreateAccount, t.Account, 201),
            Route("GET", PREFIX + "/accounts", "List accounts", self.list_accounts, None, list[t.Account]),
            Route("GET", acct, "One account's funds and settings", self.get_account, None, t.Account),
            Route("POST", acct + "/deposits", "Deposit", self.deposit, t.Money, t.Account),
            Route("POST", acct + "/withdrawals", "Withdraw (at most the available-to-bet balance)", self.withdraw,
                  t.Money, t.Account),
            Route("PUT", acct + "/status", "Suspend or reactivate an account", self.set_status, t.AccountStatus,
                  t.Account),
            Route("PUT", acct + "/limits", "Set or remove the exposure limit, loss limit and best-execution limit",
                  self.set_limits, t.AccountLimits, t.Account),
            Route("GET", acct + "/app-keys", "The account's application keys", self.list_app_keys, None,
                  list[t.AppKey]),
            Route("POST", acct + "/app-keys", "Create a live and a delayed application key", self.create_app_keys,
                  t.CreateAppKeys, list[t.AppKey], 201, submits=False),
            Route("GET", acct + "/certificates", "The account's client certificates for certlogin",
                  self.list_certificates, None, list[t.CertificateInfo]),
            Route("POST", acct + "/certificates", "Register a client certificate (PEM) for certlogin",
                  self.register_certificate, t.ClientCertificate, t.CertificateInfo, 201, submits=False),
            Route("DELETE", acct + "/certificates/{fingerprint}", "Remove a client certificate",
                  self.remove_certificate, None, t.Ok, submits=False),
            Route("GET", PREFIX + "/event-types", "List event types", self.list_event_types, None, list[t.EventType]),
            Route("PUT", PREFIX + "/event-types/{eventTypeId}", "Create or rename an event type", self.put_event_type,
                  t.EventType, t.EventType),
            Route("GET", PREFIX + "/competitions", "List competitions", self.list_competitions, None,
                  list[t.Competition]),
            Route("PUT", PREFIX + "/competitions/{competitionId}", "Create or change a competition",
                  self.put_competition, t.Competition, t.Competition),
            Route("GET", PREFIX + "/events", "List events", self.list_events, None, list[t.Event]),
            Route("PUT", PREFIX + "/events/{eventId}", "Create or change an event; its markets follow",
                  self.put_event, t.Event, t.Event),
            Route("POST", PREFIX + "/markets", "Create a market with its runners (INACTIVE unless open is true)",
                  self.create_market, t.CreateMarket, t.Market, 201),
            Route("GET", PREFIX + "/markets", "List markets", self.list_markets, None, list[t.Market]),
            Route("GET", mkt, "One market", self.get_market, None, t.Market),
            Route("PATCH", mkt, "Change non-material definition fields (a new marketVersion)", self.patch_market,
                  t.Definition, t.Market),
            Route("POST", mkt + "/open", "Open the market (from INACTIVE or SUSPENDED)",
                  act(lambda m, b: c.SetMarketStatus(market_id=m, status="OPEN")), None, t.Market),
            Route("POST", mkt + "/suspend", "Suspend; material: unmatched LAPSE bets lapse (a goal)",
                  act(lambda m, b: c.SetMarketStatus(market_id=m, status="SUSPENDED", material=b.material,
                                                     suspend_reason=b.reason)), t.Suspend, t.Market),
            Route("POST", mkt + "/in-play", "Turn in-play with a bet delay in seconds",
                  act(lambda m, b: c.TurnInPlay(market_id=m, bet_delay_s=b.bet_delay)), t.InPlay, t.Market),
            Route("POST", mkt + "/runners/{selectionId}/remove", "Remove a runner (non-runner)", self.remove_runner,
                  t.RemoveRunner, t.Market),
            Route("POST", mkt + "/close", "Close the market (unmatched bets lapse)",
                  act(lambda m, b: c.CloseMarket(market_id=m)), None, t.Market),
            Route("POST", mkt + "/settle", "Settle: winners, placed, dead heats, Asian handicap, LINE outcome",
                  act(lambda m, b: results_command(b, m, resettle=False)), t.Settle, t.Market),
            Route("POST", mkt + "/void", "Void the market", act(lambda m, b: c.VoidMarket(market_id=m)), None,
                  t.Market),
            Route("POST", mkt + "/unsettle", "Reverse the settlement (001 resettlement lifecycle)",
                  act(lambda m, b: c.UnsettleMarket(market_id=m)), None, t.Market),
            Route("POST", mkt + "/resettle", "Unsettle and settle with corrected results in one step",
                  act(lambda m, b: results_command(b, m, resettle=True)), t.Settle, t.Market),
            Route("GET", PREFIX + "/races", "Race statuses", self.list_races, None, list[t.Race]),
            Route("PUT", PREFIX + "/races/{raceId}", "Set a race's status (Race Status API); raceId is "
                  "<eventId>.<hhmm> GMT", self.put_race, t.RaceStatus, t.Race),
        ]
        routes += providers.routes(self, PREFIX)
        for r in routes:
            pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(r.path))
            object.__setattr__(r, "regex", re.compile(pattern))
        return routes

    # --- OpenAPI ---------------------------------------------------------------------------------------

    def openapi(self) -> dict[str, Any]:
        types: list[Any] = [t.ErrorResponse]
        for r in self.routes:
            types += [x for x in (r.body, r.response) if x is not None]
        schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
        provider_wire.document_decimals(components)  # the fixed-odds bets' decimals are numbers (providers.py)
        by_type = dict(zip(types, schemas))
        error = {"description": "error", "content": {"application/json": {"schema": by_type[t.ErrorResponse]}}}
        busy = {**error, "description": f"{BUSY_CODE}: the command queue is full, nothing was done; retry",
                "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}}
        paths: dict[str, dict[str, Any]] = {}
        for r in self.routes:
            op: dict[str, Any] = {
                "summary": r.summary,
                "operationId": f"{r.method.lower()}{r.path[len(PREFIX):]}".replace("/", "_").replace("{", "")
                .replace("}", "").replace("-", "_"),
                "parameters": [
                    {"name": name, "in": "path", "required": True,
                     "schema": {"type": "integer"} if name == "selectionId" else {"type": "string"}}
                    for name in re.findall(r"{(\w+)}", r.path)],
                "responses": {
                    str(r.status): {"description": "done",
                                    "content": {"application/json": {"schema": by_type[r.response]}}},
                    **{str(s): error for s in (400, 401, 404, 405, 409)},
                    **({"503": busy} if r.submits else {}),
                },
            }
            if r.body is not None:
                op["requestBody"] = {"required": True,
                                     "content": {"application/json": {"schema": by_type[r.body]}}}
            paths.setdefault(r.path, {})[r.method.lower()] = op
        return {
            "openapi": "3.1.0",
            "info": {"title": "backlay admin API", "version": "1",
                     "description": "The exchange operator's API. See docs/admin-api.md."},
            "servers": [{"url": "/"}],
            "security": [{"bearer": []}],
            "paths": paths,
            "components": {"schemas": components,
                           "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        }


def openapi_json(api: AdminApi) -> str:
    return json.dumps(api.openapi(), indent=2)
