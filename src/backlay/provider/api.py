"""The provider endpoint's HTTP shell (seed 002; docs/provider-api.md), mounted on the API port under
`Config.provider_prefix` like the admin API.

One route table drives the routing, the body decoding and `GET {prefix}/openapi.json`. A signed call is
checked in this order: the provider's signature (auth.py), the idempotency key, the body; a placement then
the user and the session (skipped when the key was used before, so that a retry of a placed slip answers
the same after its session expired) and the edge's detail checks; then one core command through the
sequencer, answered once durable. Every refusal is `{"status": "FAILURE", "errorCode", "errorMessage"}`
with 002's HTTP status; nothing internal ever reaches the wire (GENERAL_EXCEPTION, logged here).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

import msgspec

from backlay.betfair.http.app import WithHeaders
from backlay.core.codes import FixedOddsErr
from backlay.core.commands import Command, PlaceBetslip, ResultBets, RollbackBets, UnsettleBets
from backlay.core.exchange import Exchange
from backlay.core.reports import FixedOddsResult, Result
from backlay.engine.sequencer import QueueFull
from backlay.identity.store import IdentityStore, Session
from backlay.provider import wire as w
from backlay.provider.auth import verified_provider
from backlay.provider.views import bet_views

log = logging.getLogger(__name__)

MISSING_PARAMETER: Final = "MISSING_PARAMETER"
INVALID_SESSION: Final = "INVALID_SESSION"
AUTHENTICATION_FAILED: Final = "AUTHENTICATION_FAILED"
GENERAL_EXCEPTION: Final = "GENERAL_EXCEPTION"
REQUEST_TIMED_OUT: Final = "REQUEST_TIMED_OUT"
E = FixedOddsErr
HTTP_STATUS: Final[dict[str, int]] = {  # 002:L154-197, then the follow-up calls' own
    MISSING_PARAMETER: 400, E.INVALID_USER: 400, E.USER_BLOCKED: 400, E.INVALID_BET_DETAILS: 400,
    E.INVALID_STAKE: 400, E.INSUFFICIENT_FUNDS: 400, E.INVALID_RESULT: 400, INVALID_SESSION: 401,
    AUTHENTICATION_FAILED: 403, E.BET_NOT_FOUND: 404, "NOT_FOUND": 404, "METHOD_NOT_ALLOWED": 405,
    E.IDEMPOTENCY_KEY_REUSED: 409, E.BET_ALREADY_SETTLED: 409, E.BET_NOT_SETTLED: 409, E.BET_ROLLED_BACK: 409,
    GENERAL_EXCEPTION: 500, REQUEST_TIMED_OUT: 503,
}
RETRY_AFTER: Final = ((b"retry-after", b"1"),)  # seconds: a batch is durable within one fsync
SESSION_REFRESH_MS: Final = 10 * 60 * 1000  # a session expiring sooner than this is extended by a placement
MAX_RECORD_COUNT: Final = 1000
UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DONE_STATUS: Final = {"result": "RESULTED", "resettle": "RESETTLED", "unsettle": "UNSETTLED",
                      "rollback": "ROLLED_BACK"}
_GENERAL: Final = w.encode(w.ErrorResponse(status="FAILURE", error_code=GENERAL_EXCEPTION,
                                           error_message="the request could not be processed; try again"))


class ProviderError(Exception):
    def __init__(self, code: str, message: str, failed_bets: list[w.FailedBet] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.failed_bets = code, message, failed_bets

    @property
    def status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)  # a core code without its own status is bad input

    def payload(self) -> Any:
        body = w.encode(w.ErrorResponse(status="FAILURE", error_code=self.code, error_message=self.message,
                                        failed_bets=self.failed_bets))
        return WithHeaders(body, RETRY_AFTER) if self.status == 503 else body


@dataclass(frozen=True)
class Call:
    """One request as a handler gets it: authenticated (provider_id, key: "" on unsigned routes), decoded."""

    headers: dict[str, str]
    provider_id: str
    key: str
    body: Any
    now_ms: int


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # below the prefix
    summary: str
    handler: Handler
    body: type | None
    response: Any
    errors: tuple[int, ...]  # the HTTP statuses of its FAILURE answers
    signed: bool = True


def _log_late_failure(task: asyncio.Task[Result]) -> None:
    """A command answered REQUEST_TIMED_OUT that failed afterwards (its exception is retrieved here)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("a timed-out provider command failed", exc_info=task.exception())


class ProviderApi:
    def __init__(self, prefix: str, exchange: Callable[[], Exchange], submit: Callable[[Command], Awaitable[Result]],
                 identity: IdentityStore, clock_ms: Callable[[], int], deadline_ms: int) -> None:
        self.prefix = prefix
        self._exchange = exchange
        self._submit = submit
        self.identity = identity
        self._clock_ms = clock_ms
        self._deadline_s = deadline_ms / 1000
        self.routes = self._routes()
        self._by_path: dict[str, list[Route]] = {}
        for r in self.routes:
            self._by_path.setdefault(r.path, []).append(r)
        self._decoders: dict[type, msgspec.json.Decoder[Any]] = {
            r.body: msgspec.json.Decoder(r.body) for r in self.routes if r.body is not None}
        self._openapi = msgspec.json.encode(self.openapi())

    # --- dispatch --------------------------------------------------------------------------------------

    async def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        try:
            return await self._dispatch(method, path, headers, body)
        except ProviderError as e:
            return e.status, e.payload()
        except Exception:  # a bug or a fault below: logged, never described on the wire
            log.exception("provider endpoint: %s %s failed", method, path)
            return 500, _GENERAL

    async def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        routes = self._by_path.get(path[len(self.prefix):], [])
        route = next((r for r in routes if r.method == method), None)
        if route is None:
            if routes:
                raise ProviderError("METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}")
            raise ProviderError("NOT_FOUND", f"no route {path}")
        now_ms = self._clock_ms()
        provider_id = key = ""
        if route.signed:
            provider_id = verified_provider(self.identity, headers, method, path, body, now_ms) or ""
            if not provider_id:  # nothing said of which part failed
                raise ProviderError(AUTHENTICATION_FAILED, "the provider signature is missing, wrong or stale")
            key = self._idempotency_key(headers)
        decoded = None if route.body is None else self._decode(route.body, body)
        return await route.handler(Call(headers, provider_id, key, decoded, now_ms))

    @staticmethod
    def _idempotency_key(headers: dict[str, str]) -> str:
        key = headers.get("x-idempotency-key", "").strip()
        if not UUID.fullmatch(key):
            raise ProviderError(MISSING_PARAMETER, "X-Idempotency-Key must be a UUID")
        return key.lower()

    def _decode(self, body_type: type, body: bytes) -> Any:
        try:
            return self._decoders[body_type].decode(body)
        except msgspec.ValidationError as e:  # names the field: absent, empty or of the wrong type
            raise ProviderError(MISSING_PARAMETER, str(e)) from None
        except msgspec.DecodeError:
            raise ProviderError(MISSING_PARAMETER, "the body is not a JSON object") from None

    async def _durable(self, cmd: Command) -> FixedOddsResult:
        """The command's result once journaled, within the deadline. Past it the command goes on (shielded)
        and may still land: a retry with the same key then gets its answer from the core."""
        task = asyncio.ensure_future(self._submit(cmd))
        try:
            result = await asyncio.wait_for(asyncio.shield(task), self._deadline_s)
        except QueueFull:  # refused before it was stamped: nothing happened
            raise ProviderError(REQUEST_TIMED_OUT, "the exchange is busy; retry with the same key") from None
        except TimeoutError:
            task.add_done_callback(_log_late_failure)
            raise ProviderError(REQUEST_TIMED_OUT, "not confirmed in time; retry with the same key") from None
        if not isinstance(result, FixedOddsResult):
            raise TypeError(f"unexpected result {type(result).__name__}")
        return result

    # --- POST /bet -------------------------------------------------------------------------------------

    async def _place(self, call: Call) -> tuple[int, Any]:
        req: w.PlaceBetRequest = call.body
        replay = (call.provider_id, call.key) in self._exchange().fixed_odds.keys
        session = None if replay else self._session(req, call.now_ms)
        problem = w.betslip_problem(req)
        if problem is not None:
            raise ProviderError(E.INVALID_BET_DETAILS, problem)
        canonical = w.canonical_betslip(req)
        result = await self._durable(PlaceBetslip(
            provider_id=call.provider_id, idempotency_key=call.key,
            request_sha256=w.request_sha256("bet", canonical), account_id=canonical.user_id,
            bets=w.core_bets(canonical)))
        if not result.ok:
            raise _refusal(result, canonical)
        if session is not None and not result.replayed and session.expires_ms - call.now_ms < SESSION_REFRESH_MS:
            self.identity.keep_alive(session.token, self._clock_ms())
        bets = [w.PlacedBet(**msgspec.structs.asdict(b), potential_payout=w.money(o.potential_payout_minor))
                for b, o in zip(canonical.bets, result.bets, strict=True)]
        return 200, w.encode(w.PlaceBetResponse(
            request_id=canonical.request_id, user_id=canonical.user_id, session_token=canonical.session_token,
            timestamp=str(result.ts_ms), status="PLACED", bets=bets))

    def _session(self, req: w.PlaceBetRequest, now_ms: int) -> Session:
        """002:L7: the user, then a live session of that very user."""
        if req.user_id not in self._exchange().accounts:
            raise ProviderError(E.INVALID_USER, f"no user {req.user_id[:w.MAX_TEXT_CHARS]}")
        session = self.identity.session(req.session_token, now_ms)
        if session is None or session.account_id != req.user_id:
            raise ProviderError(INVALID_SESSION, "the session is unknown, expired or not this user's")
        return session

    # --- the calls after placement ---------------------------------------------------------------------

    def _follow_up(self, operation: str) -> Handler:
        async def run(call: Call) -> tuple[int, Any]:
            canonical, cmd = self._follow_up_command(operation, call)
            result = await self._durable(cmd)
            if not result.ok:
                raise _refusal(result)
            bets = [w.SettledBet(bet_id=o.bet_id, status=o.status, amount=w.money(o.amount_minor),
                                 potential_payout=w.money(o.potential_payout_minor)) for o in result.bets]
            return 200, w.encode(w.SettleResponse(request_id=canonical.request_id, timestamp=str(result.ts_ms),
                                                  status=DONE_STATUS[operation], bets=bets))  # type: ignore[arg-type]
        return run

    @staticmethod
    def _follow_up_command(operation: str, call: Call) -> tuple[Any, Command]:
        ids = {"provider_id": call.provider_id, "idempotency_key": call.key}
        if operation in ("result", "resettle"):
            canonical = w.canonical_results(call.body)
            if isinstance(canonical, str):
                raise ProviderError(E.INVALID_RESULT, canonical)
            return canonical, ResultBets(**ids, request_sha256=w.request_sha256(operation, canonical),
                                         results=w.core_results(canonical), resettle=operation == "resettle")
        req: w.BetIdsRequest = call.body
        canonical_ids = msgspec.structs.replace(req, timestamp=w.epoch(req.timestamp))
        kind = UnsettleBets if operation == "unsettle" else RollbackBets
        return canonical_ids, kind(**ids, request_sha256=w.request_sha256(operation, canonical_ids),
                                   bet_ids=list(canonical_ids.bet_ids))

    # --- reads -----------------------------------------------------------------------------------------

    async def _list_bets(self, call: Call) -> tuple[int, Any]:
        token = call.headers.get("x-authentication", "").strip()
        session = self.identity.session(token, call.now_ms) if token else None
        if session is None:
            raise ProviderError(INVALID_SESSION, "send X-Authentication: <a live session token>")
        status, first, count = _list_query(call.headers.get(":query", ""))
        views = bet_views(self._exchange(), session.account_id, status)
        return 200, w.encode(w.BetList(bets=views[first:first + count], more_available=len(views) > first + count))

    async def _openapi_doc(self, call: Call) -> tuple[int, Any]:
        return 200, self._openapi

    # --- the table and its document ----------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        follow = (400, 403, 404, 409, 500, 503)
        return [
            Route("POST", "/bet", "Place a betslip of single fixed-odds bets (002): every bet, or none",
                  self._place, w.PlaceBetRequest, w.PlaceBetResponse, (400, 401, 403, 409, 500, 503)),
            Route("POST", "/bet/result", "Result pending bets: WON (payoutFactor for dead heats), LOST, VOID, PUSH",
                  self._follow_up("result"), w.ResultRequest, w.SettleResponse, follow),
            Route("POST", "/bet/resettle", "Change the result of resulted bets",
                  self._follow_up("resettle"), w.ResultRequest, w.SettleResponse, follow),
            Route("POST", "/bet/unsettle", "Take resulted bets back to pending (their payouts reversed)",
                  self._follow_up("unsettle"), w.BetIdsRequest, w.SettleResponse, follow),
            Route("POST", "/bet/rollback", "Cancel pending bets, stake back; an unknown betId is blocked",
                  self._follow_up("rollback"), w.BetIdsRequest, w.SettleResponse, follow),
            Route("GET", "/bets", "The user's fixed-odds bets, newest first (X-Authentication: session token)",
                  self._list_bets, None, w.BetList, (400, 401, 500), signed=False),
            Route("GET", "/openapi.json", "This document", self._openapi_doc, None, None, (), signed=False),
        ]

    def openapi(self) -> dict[str, Any]:
        types: list[Any] = [w.ErrorResponse]
        for r in self.routes:
            types += [x for x in (r.body, r.response) if x is not None]
        schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
        w.document_decimals(components)
        by_type = dict(zip(types, schemas))
        paths: dict[str, dict[str, Any]] = {}
        for r in self.routes:
            paths.setdefault(self.prefix + r.path, {})[r.method.lower()] = _operation(r, by_type)
        return {
            "openapi": "3.1.0",
            "info": {"title": "backlay provider API", "version": "1",
                     "description": "Fixed-odds bet placement for betting content providers (seed 002). "
                                    "See docs/provider-api.md for signing and idempotency."},
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {"schemas": components, "securitySchemes": {
                "providerId": {"type": "apiKey", "in": "header", "name": "X-Provider-Id"},
                "timestamp": {"type": "apiKey", "in": "header", "name": "X-Timestamp",
                              "description": "epoch milliseconds, within 5 minutes of the server's clock"},
                "signature": {"type": "apiKey", "in": "header", "name": "X-Signature",
                              "description": "hex HMAC-SHA256(secret, f'{X-Timestamp}.{METHOD}.{path}.' + body)"},
                "session": {"type": "apiKey", "in": "header", "name": "X-Authentication"}}},
        }


def _refusal(result: FixedOddsResult, slip: w.PlaceBetRequest | None = None) -> ProviderError:
    code = result.error or GENERAL_EXCEPTION
    failed = None
    if code == E.INVALID_STAKE and slip is not None:  # 002:L148-152, L384-402: the limit breached
        failed = []
        for f in result.failed_bets:
            b = slip.bets[f.index]
            reason = w.BetFailureReason(
                min_stake=None if f.min_stake_minor is None else w.money(f.min_stake_minor),
                max_stake=None if f.max_stake_minor is None else w.money(f.max_stake_minor))
            failed.append(w.FailedBet(bet_id=b.bet_id, sport_id=b.sport_id, event_id=b.event_id,
                                      market_id=b.market_id, selection_id=b.selection_id, reason=reason))
    return ProviderError(code, result.detail or code, failed)


def _list_query(query: str) -> tuple[str | None, int, int]:
    """(status, fromRecord, recordCount) of GET /bets; a bad value is MISSING_PARAMETER."""
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    status = params.get("status") or None
    if status is not None and status not in w.STATUSES:
        raise ProviderError(MISSING_PARAMETER, f"status must be one of {', '.join(w.STATUSES)}")
    values = []
    for name, default, low, high in (("fromRecord", 0, 0, 10**9), ("recordCount", 100, 1, MAX_RECORD_COUNT)):
        raw = params.get(name, str(default)).strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ProviderError(MISSING_PARAMETER, f"{name} must be a whole number from {low} to {high}")
        values.append(int(raw))
    return status, values[0], values[1]


def _errors_doc(status: int) -> str:
    codes = [c for c, s in HTTP_STATUS.items() if s == status and c not in ("NOT_FOUND", "METHOD_NOT_ALLOWED")]
    return ", ".join(codes)


def _operation(r: Route, by_type: dict[Any, Any]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": by_type[w.ErrorResponse]}}}
    ok_schema = by_type[r.response] if r.response is not None else {"type": "object"}
    responses: dict[str, Any] = {"200": {"description": "done", "content": {"application/json": {"schema": ok_schema}}}}
    for status in r.errors:
        responses[str(status)] = {**error, "description": _errors_doc(status)}
    if 503 in r.errors:
        responses["503"]["headers"] = {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}}
    op: dict[str, Any] = {"summary": r.summary, "operationId": r.method.lower() + r.path.replace("/", "_")
                          .replace(".", "_"), "responses": responses, "parameters": []}
    if r.signed:
        op["security"] = [{"providerId": [], "timestamp": [], "signature": []}]
        op["parameters"].append({"name": "X-Idempotency-Key", "in": "header", "required": True,
                                 "schema": {"type": "string", "format": "uuid"}})
    elif r.path == "/bets":
        op["security"] = [{"session": []}]
        op["parameters"] += [
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(w.STATUSES)}},
            {"name": "fromRecord", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10**9}},
            {"name": "recordCount", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_RECORD_COUNT}}]
    else:
        op["security"] = []
    if r.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": by_type[r.body]}}}
    return op
