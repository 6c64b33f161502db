"""Request and response bodies of the admin API (`/admin/v1`), in the API's units.

Money is a decimal amount of the account currency (a JSON number or string, at most two decimals),
prices, handicaps and lines are decimals, rates are percentages, dates ISO-8601 — like the Betfair API.
The admin edge converts them to the core's integer units (`_minor`, `_h`, `_bp`, `_ms`) and back.
Unknown fields are refused so that a misspelt field is an error, not a silent default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

Amount = Annotated[str | float | int, msgspec.Meta(description="decimal, at most two places, e.g. 100.50 or \"100.50\"")]
Decimal = Annotated[str | float | int, msgspec.Meta(description="a decimal number, as a JSON number or string")]
Date = Annotated[str, msgspec.Meta(description="ISO-8601, e.g. 2026-11-22T15:30:00.000Z")]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Body(msgspec.Struct, rename="camel", forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class Error(Body, kw_only=True):
    code: str
    message: str


class ErrorResponse(Body, kw_only=True):
    error: Error


class Ok(Body, kw_only=True):
    ok: bool


# --- accounts ----------------------------------------------------------------------------------


class CreateAccount(Body, kw_only=True):
    username: Id
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
    account_id: Id | None = None  # default: the username
    currency: str = "GBP"
    jurisdiction: Literal["INT", "UK", "IT", "ES"] = "INT"
    deposit: Amount | None = None


class Money(Body, kw_only=True):
    amount: Amount
    reference: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class AccountStatus(Body, kw_only=True):
    status: Literal["ACTIVE", "SUSPENDED"]


class AccountLimits(Body, kw_only=True):
    """Each field given is set; null removes that limit."""

    exposure_limit: Amount | UnsetType | None = UNSET
    loss_limit: Amount | UnsetType | None = UNSET
    max_price_improvement_ticks: Annotated[int, msgspec.Meta(ge=0, le=350)] | UnsetType | None = UNSET


class Account(Body, kw_only=True):
    account_id: str
    username: str | None
    currency: str
    status: str
    balance: float
    exposure: float
    available_to_bet: float
    exposure_limit: float | None = None
    loss_limit: float | None = None
    max_price_improvement_ticks: int | None = None


class ClientCertificate(Body, kw_only=True):
    pem: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class CertificateInfo(Body, kw_only=True):
    fingerprint: str  # SHA-256 of the DER encoding, hex
    subject: str
    not_after: str


class CreateAppKeys(Body, kw_only=True):
    app_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class AppKey(Body, kw_only=True):
    app_name: str
    application_key: str
    delayed: bool


# --- catalogue ---------------------------------------------------------------------------------


class EventType(Body, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    event_type_id: str | None = None  # in responses


class Competition(Body, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    event_type_id: Id
    competition_region: str | None = None
    competition_id: str | None = None  # in responses


class Event(Body, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    event_type_id: Id
    competition_id: Id | None = None
    country_code: Annotated[str, msgspec.Meta(min_length=2, max_length=2)] | None = None
    timezone: str = "GMT"
    venue: str | None = None
    open_date: Date | None = None
    event_id: str | None = None  # in responses


# --- markets -----------------------------------------------------------------------------------


class Runner(Body, kw_only=True):
    selection_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    runner_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    handicap: Decimal = 0
    sort_priority: Annotated[int, msgspec.Meta(ge=0, le=100_000)] | None = None
    metadata: dict[str, str] | None = None
    status: str | None = None  # in responses
    adjustment_factor: float | None = None  # in responses


class Definition(Body, kw_only=True):
    """Every market-definition field; on PATCH only the non-material ones may change."""

    market_name: str | UnsetType = UNSET
    market_type: str | UnsetType = UNSET
    betting_type: Literal["ODDS", "LINE", "RANGE", "ASIAN_HANDICAP_DOUBLE_LINE",
                          "ASIAN_HANDICAP_SINGLE_LINE", "FIXED_ODDS"] | UnsetType = UNSET
    event_type_id: str | UnsetType = UNSET
    event_type_name: str | UnsetType = UNSET
    event_id: str | UnsetType = UNSET
    event_name: str | UnsetType = UNSET
    competition_id: str | UnsetType | None = UNSET
    competition_name: str | UnsetType | None = UNSET
    country_code: str | UnsetType | None = UNSET
    timezone: str | UnsetType = UNSET
    venue: str | UnsetType | None = UNSET
    open_date: Date | UnsetType = UNSET
    market_time: Date | UnsetType = UNSET
    suspend_time: Date | UnsetType | None = UNSET
    number_of_winners: Annotated[int, msgspec.Meta(ge=0, le=1000)] | UnsetType = UNSET
    price_ladder_type: Literal["CLASSIC", "FINEST", "LINE_RANGE"] | UnsetType = UNSET
    line_min_unit: Decimal | UnsetType = UNSET
    line_max_unit: Decimal | UnsetType = UNSET
    line_interval: Decimal | UnsetType = UNSET
    market_unit: str | UnsetType | None = UNSET
    bsp_market: bool | UnsetType = UNSET
    persistence_enabled: bool | UnsetType = UNSET
    turn_in_play_enabled: bool | UnsetType = UNSET
    cross_matching: bool | UnsetType = UNSET
    runners_voidable: bool | UnsetType = UNSET
    discount_allowed: bool | UnsetType = UNSET
    market_base_rate: Decimal | UnsetType = UNSET  # percent
    each_way_divisor: Decimal | UnsetType | None = UNSET
    race_type: str | UnsetType | None = UNSET
    regulator: str | UnsetType = UNSET
    wallet: str | UnsetType = UNSET
    rules: str | UnsetType = UNSET
    rules_has_date: bool | UnsetType = UNSET
    clarifications: str | UnsetType | None = UNSET
    bet_delay_models: list[str] | UnsetType = UNSET


class CreateMarket(Definition, kw_only=True):
    market_id: Annotated[str, msgspec.Meta(pattern=r"^[0-9]\.[0-9]{1,18}$")]
    runners: Annotated[list[Runner], msgspec.Meta(min_length=1, max_length=1000)]
    open: bool = False


class Market(Body, kw_only=True):
    market_id: str
    status: str
    inplay: bool
    bet_delay: int
    version: int
    definition: dict[str, Any]
    runners: list[Runner]
    settled: bool


class Suspend(Body, kw_only=True):
    material: bool = False
    reason: str | None = None


class InPlay(Body, kw_only=True):
    bet_delay: Annotated[int, msgspec.Meta(ge=0, le=60)] = 0


class RemoveRunner(Body, kw_only=True):
    handicap: Decimal = 0
    adjustment_factor: Decimal | None = None  # percent
    reduction_factor: Decimal | None = None  # percent; default: the adjustment factor when >= 2.5
    vacant: bool = False


class Result(Body, kw_only=True):
    selection_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    handicap: Decimal = 0
    status: Literal["WINNER", "LOSER", "PLACED"] = "WINNER"
    dead_heat_divisor: Decimal | None = None  # e.g. 2 for a two-way dead heat for one place
    win_quarters: Annotated[int, msgspec.Meta(ge=0, le=4)] = 4  # Asian handicap quarter lines
    void_quarters: Annotated[int, msgspec.Meta(ge=0, le=4)] = 0


class Settle(Body, kw_only=True):
    """`winners` and `placed` are shorthands for results; runners not named lose. LINE markets give
    `lineOutcome`."""

    winners: list[int] | None = None
    placed: list[int] | None = None
    results: list[Result] | None = None
    line_outcome: Decimal | None = None


class RaceStatus(Body, kw_only=True):
    race_status: Literal[
        "DORMANT", "DELAYED", "PARADING", "GOINGDOWN", "GOINGBEHIND", "APPROACHING", "GOINGINTRAPS",
        "HARERUNNING", "ATTHEPOST", "OFF", "FINISHED", "FINALRESULT", "FALSESTART", "PHOTOGRAPH", "RESULT",
        "WEIGHEDIN", "RACEVOID", "NORACE", "MEETINGABANDONED", "RERUN", "ABANDONED"]


class Race(Body, kw_only=True):
    race_id: str
    meeting_id: str
    race_status: str
    last_updated: str
    sequence: int


# --- fixed-odds: providers and betting limits (docs/provider-api.md) ---------------------------


class CreateProvider(Body, kw_only=True):
    provider_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    secret: Annotated[str, msgspec.Meta(min_length=32, max_length=256)] | None = None  # default: generated


class Provider(Body, kw_only=True):
    provider_id: str
    created: Date
    secret: str | None = None  # only in the answer that created it


class MarketTypeLimit(Body, kw_only=True):
    market_type_id: Id
    min_stake: Amount | None = None
    max_stake: Amount | None = None
    max_liability: Amount | None = None  # potential winnings (payout - stake) over the user's open bets


class BettingLimits(Body, kw_only=True):
    """A user's fixed-odds limits (the whole set: what is left out is removed)."""

    min_stake: Amount | None = None
    max_stake: Amount | None = None
    market_types: list[MarketTypeLimit] = msgspec.field(default_factory=list)
    blocked_until: Date | None = None  # a cool-down or self-exclusion until then
    block_reason: Literal["COOL_DOWN", "SELF_EXCLUSION"] | None = None
