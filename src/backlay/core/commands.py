"""Commands: plain immutable values, the only input of the core and what the journal stores.

Units are in the names: `_minor` integer minor units, `_h` hundredths (prices, handicaps, line values),
`_bp` basis points (1/100 of a percent), `_s`/`_ms` seconds/milliseconds. The API edge converts wire
values to these; a value it cannot convert exactly arrives as -1 and the core rejects it with the
documented error (INVALID_ODDS for a price, INVALID_BET_SIZE for a size) inside its atomic batch.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Cmd(msgspec.Struct, frozen=True, omit_defaults=True, tag=True, kw_only=True, gc=False):
    pass


# --- orders (Betting API) ----------------------------------------------------------------------


class LimitOrder(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    price_h: int
    size_minor: int | None = None
    persistence: str | None = None
    time_in_force: str | None = None
    min_fill_minor: int | None = None
    bet_target_type: str | None = None
    bet_target_minor: int | None = None


class LimitOnCloseOrder(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    liability_minor: int
    price_h: int


class MarketOnCloseOrder(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    liability_minor: int


class PlaceInstruction(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    order_type: str
    selection_id: int
    side: int  # codes.BACK / codes.LAY
    handicap_h: int = 0
    limit: LimitOrder | None = None
    limit_on_close: LimitOnCloseOrder | None = None
    market_on_close: MarketOnCloseOrder | None = None
    customer_order_ref: str | None = None


class PlaceOrders(Cmd, frozen=True, kw_only=True):
    account_id: str
    market_id: str
    instructions: list[PlaceInstruction]
    customer_ref: str | None = None
    market_version: int | None = None
    customer_strategy_ref: str | None = None
    async_: bool = False
    source_app_key: str | None = None


class CancelInstruction(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    bet_id: int  # -1 when the wire id is not a bet id at all
    size_reduction_minor: int | None = None


class CancelOrders(Cmd, frozen=True, kw_only=True):
    """market_id None and instructions None: cancel every unmatched bet of the account."""

    account_id: str
    market_id: str | None = None
    instructions: list[CancelInstruction] | None = None
    customer_ref: str | None = None


class ReplaceInstruction(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    bet_id: int
    new_price_h: int


class ReplaceOrders(Cmd, frozen=True, kw_only=True):
    account_id: str
    market_id: str
    instructions: list[ReplaceInstruction]
    customer_ref: str | None = None
    market_version: int | None = None
    async_: bool = False
    source_app_key: str | None = None


class UpdateInstruction(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    bet_id: int
    new_persistence: str


class UpdateOrders(Cmd, frozen=True, kw_only=True):
    account_id: str
    market_id: str
    instructions: list[UpdateInstruction]
    customer_ref: str | None = None


# --- accounts (operator) -----------------------------------------------------------------------


class CreateAccount(Cmd, frozen=True, kw_only=True):
    account_id: str
    currency: str = "GBP"
    exposure_limit_minor: int | None = None


class Deposit(Cmd, frozen=True, kw_only=True):
    account_id: str
    amount_minor: int
    reference: str | None = None


class Withdraw(Cmd, frozen=True, kw_only=True):
    account_id: str
    amount_minor: int
    reference: str | None = None


class SetAccountStatus(Cmd, frozen=True, kw_only=True):
    account_id: str
    status: str  # ACTIVE | SUSPENDED


class SetExposureLimit(Cmd, frozen=True, kw_only=True):
    account_id: str
    exposure_limit_minor: int | None


class SetLossLimit(Cmd, frozen=True, kw_only=True):
    """A self-imposed loss limit: settled losses since it was set plus the worst-case exposure may not
    exceed it (LOSS_LIMIT_EXCEEDED, 003:L9777, L9859-9860). None removes it."""

    account_id: str
    loss_limit_minor: int | None


class SetBestExecution(Cmd, frozen=True, kw_only=True):
    """The account's best-execution preference: a LIMIT bet that would match more than this many ticks
    better than its price lapses instead (BET_LAPSED_PRICE_IMPROVEMENT_TOO_LARGE, 003:L9901-9909).
    None (the default) accepts any price improvement."""

    account_id: str
    max_price_improvement_ticks: int | None


# --- markets (operator) ------------------------------------------------------------------------


class RunnerDefinition(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    selection_id: int
    name: str
    handicap_h: int = 0
    sort_priority: int = 0
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class MarketDefinition(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    """Everything listMarketCatalogue / the stream's marketDefinition describe about a market."""

    name: str
    market_type: str = "MATCH_ODDS"
    betting_type: str = "ODDS"
    event_type_id: str = "1"
    event_type_name: str = "Soccer"
    event_id: str = "1"
    event_name: str = ""
    competition_id: str | None = None
    competition_name: str | None = None
    country_code: str | None = "GB"
    timezone: str = "GMT"
    venue: str | None = None
    open_date_ms: int = 0
    market_time_ms: int = 0
    suspend_time_ms: int | None = None
    number_of_winners: int = 1
    price_ladder: str = "CLASSIC"
    line_min_h: int = 0
    line_max_h: int = 0
    line_interval_h: int = 0
    market_unit: str | None = None
    bsp_market: bool = False
    persistence_enabled: bool = True
    turn_in_play_enabled: bool = True
    cross_matching: bool = False
    runners_voidable: bool = False
    discount_allowed: bool = True
    market_base_rate_bp: int = 500  # commission, basis points (5%)
    each_way_divisor_h: int | None = None
    race_type: str | None = None
    regulator: str = "GIBRALTAR REGULATOR"
    wallet: str = "UK wallet"
    rules: str = ""
    rules_has_date: bool = False
    clarifications: str | None = None
    bet_delay_models: list[str] = msgspec.field(default_factory=list)


class CreateMarket(Cmd, frozen=True, kw_only=True):
    market_id: str
    definition: MarketDefinition
    runners: list[RunnerDefinition]


class UpdateMarketDefinition(Cmd, frozen=True, kw_only=True):
    """A non-material change (e.g. a start time): bumps the version, not the minimum version."""

    market_id: str
    changes: dict[str, Any]


class SetMarketStatus(Cmd, frozen=True, kw_only=True):
    """OPEN (from INACTIVE or SUSPENDED) or SUSPENDED. `material` marks an in-play material event
    (a goal): unmatched LAPSE bets lapse and the minimum accepted version moves up (003:L10853-10909)."""

    market_id: str
    status: str
    material: bool = False
    suspend_reason: str | None = None


class TurnInPlay(Cmd, frozen=True, kw_only=True):
    market_id: str
    bet_delay_s: int = 0


class RemoveRunner(Cmd, frozen=True, kw_only=True):
    """Non-runner: matched bets on it void, unmatched bets in the market lapse, matched prices on the
    other runners are reduced by `reduction_factor_bp` (003:L6729-6757)."""

    market_id: str
    selection_id: int
    handicap_h: int = 0
    adjustment_factor_bp: int | None = None
    reduction_factor_bp: int | None = None  # None: the adjustment factor when it is >= 2.5%
    vacant: bool = False


class CloseMarket(Cmd, frozen=True, kw_only=True):
    market_id: str


class RunnerResult(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    """One runner's result. A back wins `win_quarters`/4 of its stake at full odds (divided by a dead
    heat divisor num/den), is refunded `void_quarters`/4 and loses the rest: WINNER (4,0), LOSER (0,0),
    Asian handicap half win (2,2), push (0,4), half loss (0,2)."""

    selection_id: int
    handicap_h: int = 0
    status: str = "WINNER"  # WINNER | LOSER | PLACED
    win_quarters: int = 4
    void_quarters: int = 0
    dead_heat_num: int = 1
    dead_heat_den: int = 1


class SettleMarket(Cmd, frozen=True, kw_only=True):
    """Settle (or resettle after UnsettleMarket). Runners not named are LOSERs. LINE markets give
    `line_outcome_h` instead of runner results."""

    market_id: str
    results: list[RunnerResult] = msgspec.field(default_factory=list)
    line_outcome_h: int | None = None


class VoidMarket(Cmd, frozen=True, kw_only=True):
    market_id: str


class UnsettleMarket(Cmd, frozen=True, kw_only=True):
    market_id: str


class ResettleMarket(Cmd, frozen=True, kw_only=True):
    """Unsettle and settle again with new results in one step: both or neither (001's resettlement)."""

    market_id: str
    results: list[RunnerResult] = msgspec.field(default_factory=list)
    line_outcome_h: int | None = None


# --- catalogue and race status (operator) ------------------------------------------------------


class UpsertEventType(Cmd, frozen=True, kw_only=True):
    event_type_id: str
    name: str


class UpsertCompetition(Cmd, frozen=True, kw_only=True):
    competition_id: str
    name: str
    event_type_id: str
    region: str | None = None


class UpsertEvent(Cmd, frozen=True, kw_only=True):
    event_id: str
    name: str
    event_type_id: str
    competition_id: str | None = None
    country_code: str | None = None
    timezone: str = "GMT"
    venue: str | None = None
    open_date_ms: int = 0


class SetRaceStatus(Cmd, frozen=True, kw_only=True):
    """Race Status API data (003:L8856-9044); `race_id` is `<meetingId>.<hhmm>` (GMT)."""

    race_id: str
    race_status: str


class AdvanceTime(Cmd, frozen=True, kw_only=True):
    """Lets the core act on time it has been told of (in-play bet delays); the shell sends it when
    `Exchange.next_due_ms()` has passed."""


# --- fixed-odds bets (the provider endpoint of seed 002) -----------------------------------------


class FixedOddsBet(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    """One single bet of a betslip (002 BetDetails) in core units: decimalPrice = price_units /
    10**price_scale exactly. `details` is the bet's 002 BetDetails JSON as the edge re-encoded it
    (canonical), stored with the bet and echoed back, so the core keeps one bytes object per bet."""

    bet_id: str
    market_type_id: str
    stake_minor: int
    price_units: int
    price_scale: int
    details: bytes = b""


class PlaceBetslip(Cmd, frozen=True, kw_only=True):
    """002's POST /bet: every bet placed, or none. `request_sha256` identifies the request under its
    idempotency key (the same key with another request is refused)."""

    provider_id: str
    idempotency_key: str
    request_sha256: str
    account_id: str
    bets: list[FixedOddsBet]


class BetResult(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    """A fixed-odds bet's result: WON pays floor(stake x decimalPrice x payout factor) (factor = units /
    10**scale, 1 unless a dead heat or a partial result), LOST nothing, VOID and PUSH the stake back."""

    bet_id: str
    outcome: str  # WON | LOST | VOID | PUSH
    factor_units: int = 1
    factor_scale: int = 0
    settled_ms: int | None = None  # when the event was settled, as the provider says; default: now


class ResultBets(Cmd, frozen=True, kw_only=True):
    """Result pending bets (`resettle` false) or change the result of resulted ones (`resettle` true,
    with compensating statement items). All of them, or none."""

    provider_id: str
    idempotency_key: str
    request_sha256: str
    results: list[BetResult]
    resettle: bool = False


class UnsettleBets(Cmd, frozen=True, kw_only=True):
    """Take resulted bets back to pending, reversing their payouts."""

    provider_id: str
    idempotency_key: str
    request_sha256: str
    bet_ids: list[str]


class RollbackBets(Cmd, frozen=True, kw_only=True):
    """Cancel pending bets, stake back (the provider's path after a timeout). An unknown bet id answers
    success and blocks a later placement with that id."""

    provider_id: str
    idempotency_key: str
    request_sha256: str
    bet_ids: list[str]


class MarketTypeLimit(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True, gc=False):
    market_type_id: str
    min_stake_minor: int | None = None
    max_stake_minor: int | None = None
    max_liability_minor: int | None = None  # potential winnings (payout - stake) over open bets


class SetBettingLimits(Cmd, frozen=True, kw_only=True):
    """Responsible-gambling and regulatory limits on an account's fixed-odds bets (replaces the old
    ones). `blocked_until_ms`: a cool-down or self-exclusion (`block_reason`) until then."""

    account_id: str
    min_stake_minor: int | None = None
    max_stake_minor: int | None = None
    market_types: list[MarketTypeLimit] = msgspec.field(default_factory=list)
    blocked_until_ms: int | None = None
    block_reason: str | None = None  # COOL_DOWN | SELF_EXCLUSION


Command = (
    PlaceOrders
    | CancelOrders
    | ReplaceOrders
    | UpdateOrders
    | CreateAccount
    | Deposit
    | Withdraw
    | SetAccountStatus
    | SetExposureLimit
    | SetLossLimit
    | SetBestExecution
    | CreateMarket
    | UpdateMarketDefinition
    | SetMarketStatus
    | TurnInPlay
    | RemoveRunner
    | CloseMarket
    | SettleMarket
    | VoidMarket
    | UnsettleMarket
    | ResettleMarket
    | UpsertEventType
    | UpsertCompetition
    | UpsertEvent
    | SetRaceStatus
    | AdvanceTime
    | PlaceBetslip
    | ResultBets
    | UnsettleBets
    | RollbackBets
    | SetBettingLimits
)
