"""SportsAPING (the Betting API) on the wire: every simpleType, dataType and operation of
SportsAPING.xml, in its order. Field names are the XML's; Python attributes are their snake_case.

Fields the XML types as `string` stay `str` even where an enum exists (Runner.status, Order.side...):
the engine emits values the XML enums lack (RunnerStatus HIDDEN, 003:L9621-9639; NO_CHANGE,
003:L9815). Fields typed by an enum are `Literal`s, so an unknown value in a request is a type error
(DSC-0009, 001:L109-117).

Departures from the XML, for the clients (betting-api.md §1.7, [EXTERNAL]):
- Match.Size is spelt `size` on the wire, as Betfair sends it and betfairlightweight reads it.
- Mandatory in the XML but absent from real responses, so optional here: Runner.adjustmentFactor
  (absent for open markets, 003:L2790-2800), CurrentOrderSummary.matchedDate (unmatched orders),
  CancelInstructionReport.sizeCancelled and cancelledDate (failed cancels). betfair-parser, which decodes
  real responses strictly, makes the same fields optional for the same reasons.
- Optional in the XML but required here because clients need the key: ExchangePrices' and
  StartingPrices' lists, Order and CurrentOrderSummary size fields, CurrentOrderSummary.regulatorCode,
  Event id/name/timezone/openDate, the nested reports of ReplaceInstructionReport, CancelInstructionReport
  .instruction, every instructionReports list, MarketBook.runners, MarketProfitAndLoss.profitAndLosses,
  RunnerProfitAndLoss.selectionId.
- UpdateExecutionReport.customerRef, errorCode and marketId are always written (null when absent):
  betfair-parser requires the keys.
- Fields that 003 documents and the XML lacks, appended after the XML's: listCurrentOrders'
  includeItemDescription and includeSourceId (003:L10158-10171), listClearedOrders' includeSourceId
  (003:L11330-11334); CurrentOrderSummary.currentItemDescription (the CurrentItemDescription type,
  003:L12139-12145), sourceIdKey and sourceIdDescription (003:L12233-12238, also on
  ClearedOrderSummary, 003:L12093-12095).
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import msgspec
from msgspec.structs import force_setattr

from .common import (
    I32,
    I64,
    Double,
    Instant,
    Price,
    PriceSize,
    Size,
    SpecialDouble,
    TimeRange,
    WireStruct,
    special_double,
)
from .common import APINGException as APINGException  # re-exported: the Betting API's error body

# --- simpleTypes: enums ----------------------------------------------------------------------------

MarketProjection = Literal[
    "COMPETITION", "EVENT", "EVENT_TYPE", "MARKET_START_TIME", "MARKET_DESCRIPTION", "RUNNER_DESCRIPTION",
    "RUNNER_METADATA",
]
PriceData = Literal["SP_AVAILABLE", "SP_TRADED", "EX_BEST_OFFERS", "EX_ALL_OFFERS", "EX_TRADED"]
MatchProjection = Literal["NO_ROLLUP", "ROLLED_UP_BY_PRICE", "ROLLED_UP_BY_AVG_PRICE"]
OrderProjection = Literal["ALL", "EXECUTABLE", "EXECUTION_COMPLETE"]
MarketStatus = Literal["INACTIVE", "OPEN", "SUSPENDED", "CLOSED"]
RunnerStatus = Literal["ACTIVE", "WINNER", "LOSER", "REMOVED_VACANT", "REMOVED", "PLACED"]
TimeGranularity = Literal["DAYS", "HOURS", "MINUTES"]
Side = Literal["BACK", "LAY"]
OrderStatus = Literal["PENDING", "EXECUTION_COMPLETE", "EXECUTABLE", "EXPIRED"]
OrderBy = Literal["BY_BET", "BY_MARKET", "BY_PLACE_TIME", "BY_MATCH_TIME", "BY_VOID_TIME", "BY_SETTLED_TIME"]
SortDir = Literal["EARLIEST_TO_LATEST", "LATEST_TO_EARLIEST"]
OrderType = Literal["LIMIT", "LIMIT_ON_CLOSE", "MARKET_ON_CLOSE"]
MarketSort = Literal[
    "MINIMUM_TRADED", "MAXIMUM_TRADED", "MINIMUM_AVAILABLE", "MAXIMUM_AVAILABLE", "FIRST_TO_START", "LAST_TO_START",
]
MarketBettingType = Literal[
    "ODDS", "LINE", "RANGE", "ASIAN_HANDICAP_DOUBLE_LINE", "ASIAN_HANDICAP_SINGLE_LINE", "FIXED_ODDS",
]
ExecutionReportStatus = Literal["SUCCESS", "FAILURE", "PROCESSED_WITH_ERRORS", "TIMEOUT"]
ExecutionReportErrorCode = Literal[
    "ERROR_IN_MATCHER", "PROCESSED_WITH_ERRORS", "BET_ACTION_ERROR", "INVALID_ACCOUNT_STATE",
    "INVALID_WALLET_STATUS", "INSUFFICIENT_FUNDS", "LOSS_LIMIT_EXCEEDED", "MARKET_SUSPENDED",
    "MARKET_NOT_OPEN_FOR_BETTING", "DUPLICATE_TRANSACTION", "INVALID_ORDER", "INVALID_MARKET_ID",
    "PERMISSION_DENIED", "DUPLICATE_BETIDS", "NO_ACTION_REQUIRED", "SERVICE_UNAVAILABLE", "REJECTED_BY_REGULATOR",
    "NO_CHASING", "REGULATOR_IS_NOT_AVAILABLE", "TOO_MANY_INSTRUCTIONS", "INVALID_MARKET_VERSION",
    "EVENT_EXPOSURE_LIMIT_EXCEEDED", "EVENT_MATCHED_EXPOSURE_LIMIT_EXCEEDED", "EVENT_BLOCKED",
]
PersistenceType = Literal["LAPSE", "PERSIST", "MARKET_ON_CLOSE"]
InstructionReportStatus = Literal["SUCCESS", "FAILURE", "TIMEOUT"]
InstructionReportErrorCode = Literal[
    "INVALID_BET_SIZE", "INVALID_RUNNER", "BET_TAKEN_OR_LAPSED", "BET_IN_PROGRESS", "RUNNER_REMOVED",
    "MARKET_NOT_OPEN_FOR_BETTING", "LOSS_LIMIT_EXCEEDED", "MARKET_NOT_OPEN_FOR_BSP_BETTING", "INVALID_PRICE_EDIT",
    "INVALID_ODDS", "INSUFFICIENT_FUNDS", "INVALID_PERSISTENCE_TYPE", "ERROR_IN_MATCHER",
    "INVALID_BACK_LAY_COMBINATION", "ERROR_IN_ORDER", "INVALID_BID_TYPE", "INVALID_BET_ID", "CANCELLED_NOT_PLACED",
    "RELATED_ACTION_FAILED", "NO_ACTION_REQUIRED", "INVALID_MIN_FILL_SIZE", "INVALID_CUSTOMER_ORDER_REF",
    "TIME_IN_FORCE_CONFLICT", "UNEXPECTED_PERSISTENCE_TYPE", "INVALID_ORDER_TYPE", "UNEXPECTED_MIN_FILL_SIZE",
    "INVALID_CUSTOMER_STRATEGY_REF", "BET_LAPSED_PRICE_IMPROVEMENT_TOO_LARGE",
]
RollupModel = Literal["STAKE", "PAYOUT", "MANAGED_LIABILITY", "NONE"]
GroupBy = Literal["EVENT_TYPE", "EVENT", "MARKET", "RUNNER", "SIDE", "BET", "STRATEGY"]
BetStatus = Literal["SETTLED", "VOIDED", "LAPSED", "CANCELLED"]
TimeInForce = Literal["FILL_OR_KILL"]
BetTargetType = Literal["PAYOUT", "BACKERS_PROFIT"]
PriceLadderType = Literal["CLASSIC", "FINEST", "LINE_RANGE"]
MarketGroupType = Literal["EVENT"]
LimitBreachActionType = Literal["REJECT_BETS", "STOP_BETTING", "TEAR_DOWN_MARKET_GROUP"]

APINGExceptionCode = Literal[
    "TOO_MUCH_DATA", "INVALID_INPUT_DATA", "INVALID_SESSION_INFORMATION", "NO_APP_KEY", "NO_SESSION",
    "UNEXPECTED_ERROR", "INVALID_APP_KEY", "TOO_MANY_REQUESTS", "SERVICE_BUSY", "TIMEOUT_ERROR",
    "APP_KEY_CREATION_FAILED", "DUPLICATE_APP_NAME", "APP_CREATION_FAILED", "REQUEST_SIZE_EXCEEDS_LIMIT",
    "ACCESS_DENIED", "INVALID_MARKET_GROUP", "EXPOSURE_LIMIT_NOT_EXIST", "MARKET_GROUP_NOT_BLOCKED",
]

# --- simpleTypes: aliases --------------------------------------------------------------------------

MarketType = str
Venue = str
MarketId = str
SelectionId = I64
Handicap = Double
EventId = str
EventTypeId = str
CountryCode = str
ExchangeId = str
CompetitionId = str
BetId = str
MatchId = str
CustomerOrderRef = str
CustomerStrategyRef = str

# --- dataTypes -------------------------------------------------------------------------------------


class MarketFilter(WireStruct, kw_only=True):
    text_query: str | None = None
    exchange_ids: list[ExchangeId] | None = None
    event_type_ids: list[EventTypeId] | None = None
    event_ids: list[EventId] | None = None
    competition_ids: list[CompetitionId] | None = None
    market_ids: list[MarketId] | None = None
    venues: list[Venue] | None = None
    bsp_only: bool | None = None
    turn_in_play_enabled: bool | None = None
    in_play_only: bool | None = None
    market_betting_types: list[MarketBettingType] | None = None
    market_countries: list[CountryCode] | None = None
    market_type_codes: list[MarketType] | None = None
    market_start_time: TimeRange | None = None
    with_orders: list[OrderStatus] | None = None
    race_types: list[str] | None = None


class MarketCatalogue(WireStruct, kw_only=True):
    market_id: str
    market_name: str
    market_start_time: Instant | None = None
    description: MarketDescription | None = None
    total_matched: Double | None = None
    runners: list[RunnerCatalog] | None = None
    event_type: EventType | None = None
    competition: Competition | None = None
    event: Event | None = None


class MarketBook(WireStruct, kw_only=True):
    market_id: str
    is_market_data_delayed: bool
    status: str | None = None
    bet_delay: I32 | None = None
    bsp_reconciled: bool | None = None
    complete: bool | None = None
    inplay: bool | None = None
    number_of_winners: I32 | None = None
    number_of_runners: I32 | None = None
    number_of_active_runners: I32 | None = None
    last_match_time: Instant | None = None
    total_matched: Double | None = None
    total_available: Double | None = None
    cross_matching: bool | None = None
    runners_voidable: bool | None = None
    version: I64 | None = None
    runners: list[Runner]  # betfairlightweight iterates it; [] when listRunnerBook's runner is unknown
    key_line_description: KeyLineDescription | None = None


class RunnerCatalog(WireStruct, kw_only=True):
    selection_id: SelectionId
    runner_name: str
    handicap: Double
    sort_priority: I32
    metadata: dict[str, str] | None = None


class Runner(WireStruct, kw_only=True):
    selection_id: SelectionId
    handicap: Double
    status: str
    adjustment_factor: Double | None = None  # XML-mandatory, absent in real open markets (003:L2790-2800)
    last_price_traded: Double | None = None
    total_matched: Double | None = None
    removal_date: Instant | None = None
    sp: StartingPrices | None = None
    ex: ExchangePrices | None = None
    orders: list[Order] | None = None
    matches: list[Match] | None = None
    matches_by_strategy: dict[str, Matches] | None = None


# msgspec allows a frozen subclass of a mutable struct; mypy's dataclass_transform rules do not.
class StartingPrices(WireStruct, kw_only=True, frozen=True):  # type: ignore[misc]
    """Frozen so that the NaN/infinity conversion done at construction cannot be undone."""

    near_price: float | SpecialDouble | None = None
    far_price: float | SpecialDouble | None = None
    back_stake_taken: list[PriceSize]
    lay_liability_taken: list[PriceSize]
    actual_sp: float | SpecialDouble | None = msgspec.field(name="actualSP", default=None)

    def __post_init__(self) -> None:
        for name in ("near_price", "far_price", "actual_sp"):
            value = getattr(self, name)
            if isinstance(value, float) and not math.isfinite(value):
                force_setattr(self, name, special_double(value))


class ExchangePrices(WireStruct, kw_only=True):
    """Three lists, possibly empty, never null (003:L3133-3137)."""

    available_to_back: list[PriceSize]
    available_to_lay: list[PriceSize]
    traded_volume: list[PriceSize]


class Event(WireStruct, kw_only=True):
    id: EventId
    name: str
    country_code: CountryCode | None = None
    timezone: str
    venue: str | None = None
    open_date: Instant


class EventResult(WireStruct, kw_only=True):
    event: Event | None = None
    market_count: I32 | None = None


class Competition(WireStruct, kw_only=True):
    id: CompetitionId | None = None
    name: str | None = None


class CompetitionResult(WireStruct, kw_only=True):
    competition: Competition | None = None
    market_count: I32 | None = None
    competition_region: str | None = None


class EventType(WireStruct, kw_only=True):
    id: EventTypeId | None = None
    name: str | None = None


class EventTypeResult(WireStruct, kw_only=True):
    event_type: EventType | None = None
    market_count: I32 | None = None


class MarketTypeResult(WireStruct, kw_only=True):
    market_type: MarketType | None = None
    market_count: I32 | None = None


class CountryCodeResult(WireStruct, kw_only=True):
    country_code: CountryCode | None = None
    market_count: I32 | None = None


class VenueResult(WireStruct, kw_only=True):
    venue: Venue | None = None
    market_count: I32 | None = None


class TimeRangeResult(WireStruct, kw_only=True):
    time_range: TimeRange | None = None
    market_count: I32 | None = None


class Order(WireStruct, kw_only=True):
    bet_id: BetId
    order_type: str
    status: str
    persistence_type: str
    side: str
    price: Price
    size: Size
    bsp_liability: Size
    placed_date: Instant
    avg_price_matched: Price
    size_matched: Size
    size_remaining: Size
    size_lapsed: Size
    size_cancelled: Size
    size_voided: Size
    customer_order_ref: CustomerOrderRef | None = None
    customer_strategy_ref: CustomerStrategyRef | None = None


class Matches(WireStruct, kw_only=True):
    matches: list[Match] | None = None


class Match(WireStruct, kw_only=True):
    bet_id: BetId | None = None
    match_id: MatchId | None = None
    side: str
    price: Price
    size: Size = msgspec.field(name="size")  # the XML spells it "Size"; Betfair and clients use "size"
    match_date: Instant | None = None


class MarketState(WireStruct, kw_only=True):
    status: str
    bet_delay: I32
    bsp_reconciled: bool
    complete: bool
    inplay: bool
    number_of_active_runners: I32
    last_match_time: Instant
    total_matched: Size
    total_available: Size
    key_line_description: KeyLineDescription | None = None


class MarketVersion(WireStruct, kw_only=True):
    version: I64 | None = None


class MarketDescription(WireStruct, kw_only=True):
    persistence_enabled: bool
    bsp_market: bool
    market_time: Instant
    suspend_time: Instant
    settle_time: Instant | None = None
    betting_type: str
    turn_in_play_enabled: bool
    market_type: str
    regulator: str
    market_base_rate: Double
    discount_allowed: bool
    wallet: str | None = None
    rules: str | None = None
    rules_has_date: bool | None = None
    clarifications: str | None = None
    each_way_divisor: Double | None = None
    line_range_info: MarketLineRangeInfo | None = None
    race_type: str | None = None
    price_ladder_description: PriceLadderDescription | None = None


class MarketRates(WireStruct, kw_only=True):
    market_base_rate: Double
    discount_allowed: bool


class MarketLicence(WireStruct, kw_only=True):
    wallet: str
    rules: str | None = None
    rules_has_date: bool | None = None
    clarifications: str | None = None


class MarketLineRangeInfo(WireStruct, kw_only=True):
    max_unit_value: Double
    min_unit_value: Double
    interval: Double
    market_unit: str


class CurrentOrderSummaryReport(WireStruct, kw_only=True):
    current_orders: list[CurrentOrderSummary]
    more_available: bool


class CurrentOrderSummary(WireStruct, kw_only=True):
    """Every size field and regulatorCode always present (betfairlightweight CurrentOrder)."""

    bet_id: BetId
    market_id: MarketId
    selection_id: SelectionId
    handicap: Handicap
    price_size: PriceSize
    bsp_liability: Size
    side: str
    status: str
    persistence_type: str
    order_type: str
    placed_date: Instant
    matched_date: Instant | None = None  # XML-mandatory, but an unmatched order has none
    average_price_matched: Price
    size_matched: Size
    size_remaining: Size
    size_lapsed: Size
    size_cancelled: Size
    size_voided: Size
    regulator_auth_code: str | None = None
    regulator_code: str
    customer_order_ref: str | None = None
    customer_strategy_ref: str | None = None
    # not in SportsAPING.xml: 003:L12233-12238 (includeItemDescription, includeSourceId, 003:L10158-10171)
    current_item_description: CurrentItemDescription | None = None
    source_id_key: str | None = None
    source_id_description: str | None = None


class CurrentItemDescription(WireStruct, kw_only=True):
    """Not in SportsAPING.xml: 003:L12139-12145 (betfairlightweight reads it)."""

    market_version: MarketVersion | None = None


class ClearedOrderSummary(WireStruct, kw_only=True):
    """All optional: roll-ups leave out what is ambiguous at their level (003:L3303-3315)."""

    event_type_id: EventTypeId | None = None
    event_id: EventId | None = None
    market_id: MarketId | None = None
    selection_id: SelectionId | None = None
    handicap: Handicap | None = None
    bet_id: BetId | None = None
    placed_date: Instant | None = None
    persistence_type: str | None = None
    order_type: str | None = None
    side: str | None = None
    item_description: ItemDescription | None = None
    bet_outcome: str | None = None
    price_requested: Price | None = None
    settled_date: Instant | None = None
    last_matched_date: Instant | None = None
    bet_count: I32 | None = None
    commission: Size | None = None
    price_matched: Price | None = None
    price_reduced: bool | None = None
    size_settled: Size | None = None
    profit: Size | None = None
    size_cancelled: Size | None = None
    customer_order_ref: str | None = None
    customer_strategy_ref: str | None = None
    source_id_key: str | None = None  # not in SportsAPING.xml: 003:L12093-12095, includeSourceId
    source_id_description: str | None = None


class ClearedOrderSummaryReport(WireStruct, kw_only=True):
    cleared_orders: list[ClearedOrderSummary]
    more_available: bool


class ItemDescription(WireStruct, kw_only=True):
    event_type_desc: str | None = None
    event_desc: str | None = None
    market_desc: str | None = None
    market_type: str | None = None
    market_start_time: Instant | None = None
    runner_desc: str | None = None
    number_of_winners: I32 | None = None
    each_way_divisor: Double | None = None


class RunnerId(WireStruct, kw_only=True):
    market_id: MarketId
    selection_id: SelectionId
    handicap: Handicap | None = None


class PlaceInstruction(WireStruct, kw_only=True):
    order_type: OrderType
    selection_id: SelectionId
    handicap: Handicap | None = None
    side: Side
    limit_order: LimitOrder | None = None
    limit_on_close_order: LimitOnCloseOrder | None = None
    market_on_close_order: MarketOnCloseOrder | None = None
    customer_order_ref: str | None = None


class PlaceExecutionReport(WireStruct, kw_only=True):
    customer_ref: str | None = None
    status: str
    error_code: str | None = None
    market_id: MarketId | None = None
    instruction_reports: list[PlaceInstructionReport]


class LimitOrder(WireStruct, kw_only=True):
    size: Size | None = None  # absent when a bet target is given (003:L10897)
    price: Price
    persistence_type: PersistenceType | None = None
    time_in_force: TimeInForce | None = None
    min_fill_size: Size | None = None
    bet_target_type: BetTargetType | None = None
    bet_target_size: Size | None = None


class LimitOnCloseOrder(WireStruct, kw_only=True):
    liability: Size
    price: Price


class MarketOnCloseOrder(WireStruct, kw_only=True):
    liability: Size


class PlaceInstructionReport(WireStruct, kw_only=True):
    status: str
    error_code: str | None = None
    order_status: OrderStatus | None = None
    instruction: PlaceInstruction
    bet_id: str | None = None
    placed_date: Instant | None = None
    average_price_matched: Price | None = None
    size_matched: Size | None = None


class CancelInstruction(WireStruct, kw_only=True):
    bet_id: str
    size_reduction: Size | None = None


class CancelExecutionReport(WireStruct, kw_only=True):
    customer_ref: str | None = None
    status: str
    error_code: str | None = None
    market_id: MarketId | None = None
    instruction_reports: list[CancelInstructionReport]  # [] for account-level cancels (003:L12409-12410)


class ReplaceInstruction(WireStruct, kw_only=True):
    bet_id: str
    new_price: Price


class ReplaceExecutionReport(WireStruct, kw_only=True):
    customer_ref: str | None = None
    status: str
    error_code: str | None = None
    market_id: MarketId | None = None
    instruction_reports: list[ReplaceInstructionReport]


class ReplaceInstructionReport(WireStruct, kw_only=True):
    """Both nested reports always present: betfairlightweight builds both unconditionally."""

    status: str
    error_code: str | None = None
    cancel_instruction_report: CancelInstructionReport
    place_instruction_report: PlaceInstructionReport


class CancelInstructionReport(WireStruct, kw_only=True):
    status: str
    error_code: str | None = None
    instruction: CancelInstruction
    size_cancelled: Size | None = None  # XML-mandatory; absent when the cancel failed
    cancelled_date: Instant | None = None  # likewise


class UpdateInstruction(WireStruct, kw_only=True):
    bet_id: str
    new_persistence_type: PersistenceType


class UpdateExecutionReport(WireStruct, kw_only=True):
    # No defaults: these keys are always written, null when there is no value, because betfair-parser
    # requires them (it declares them `X | None` without a default); null and absent mean the same to
    # the XML and to betfairlightweight (decisions.md, "betfair-parser").
    customer_ref: str | None
    status: str
    error_code: str | None
    market_id: MarketId | None
    instruction_reports: list[UpdateInstructionReport]


class UpdateInstructionReport(WireStruct, kw_only=True):
    status: str
    error_code: str | None = None
    instruction: UpdateInstruction


class PriceProjection(WireStruct, kw_only=True):
    price_data: list[PriceData] | None = None
    ex_best_offers_overrides: ExBestOffersOverrides | None = None
    virtualise: bool | None = None
    rollover_stakes: bool | None = None


class ExBestOffersOverrides(WireStruct, kw_only=True):
    best_prices_depth: I32 | None = None
    rollup_model: RollupModel | None = None
    rollup_limit: I32 | None = None
    rollup_liability_threshold: Double | None = None
    rollup_liability_factor: I32 | None = None


class MarketProfitAndLoss(WireStruct, kw_only=True):
    market_id: str | None = None
    commission_applied: Double | None = None
    profit_and_losses: list[RunnerProfitAndLoss]


class RunnerProfitAndLoss(WireStruct, kw_only=True):
    selection_id: SelectionId  # betfairlightweight ProfitAndLosses requires it
    if_win: Double | None = None
    if_lose: Double | None = None
    if_place: Double | None = None


class PriceLadderDescription(WireStruct, kw_only=True):
    type: PriceLadderType


class KeyLineSelection(WireStruct, kw_only=True):
    selection_id: SelectionId
    handicap: Handicap


class KeyLineDescription(WireStruct, kw_only=True):
    key_line: list[KeyLineSelection]


class ExposureLimitsForMarketGroups(WireStruct, kw_only=True):
    market_group_type: MarketGroupType
    default_limit: ExposureLimit | None = None
    group_limits: list[MarketGroupExposureLimit] | None = None
    blocked_market_groups: list[MarketGroupId] | None = None


class MarketGroup(WireStruct, kw_only=True):
    type: MarketGroupType
    id: MarketGroupId


class MarketGroupId(WireStruct, kw_only=True):
    event_id: I64 | None = None


class LimitBreachAction(WireStruct, kw_only=True):
    action_type: LimitBreachActionType


class MarketGroupExposureLimit(WireStruct, kw_only=True):
    group_id: MarketGroupId
    limit: ExposureLimit


class ExposureLimit(WireStruct, kw_only=True):
    matched: Double | None = None
    total: Double | None = None
    limit_breach_action: LimitBreachAction | None = None


# --- operation parameters --------------------------------------------------------------------------


class ListEventTypesParams(WireStruct, kw_only=True):
    filter: MarketFilter
    locale: str | None = None


class ListCompetitionsParams(WireStruct, kw_only=True):
    filter: MarketFilter
    locale: str | None = None


class ListTimeRangesParams(WireStruct, kw_only=True):
    filter: MarketFilter
    granularity: TimeGranularity


class ListEventsParams(WireStruct, kw_only=True):
    filter: MarketFilter
    locale: str | None = None


class ListMarketTypesParams(WireStruct, kw_only=True):
    filter: MarketFilter
    locale: str | None = None


class ListCountriesParams(WireStruct, kw_only=True):
    filter: MarketFilter
    locale: str | None = None


class ListVenuesParams(WireStruct, kw_only=True):
    filter: MarketFilter
    locale: str | None = None


class ListMarketCatalogueParams(WireStruct, kw_only=True):
    filter: MarketFilter
    market_projection: list[MarketProjection] | None = None
    sort: MarketSort | None = None
    max_results: I32
    locale: str | None = None


class ListMarketBookParams(WireStruct, kw_only=True):
    market_ids: list[MarketId]
    price_projection: PriceProjection | None = None
    order_projection: OrderProjection | None = None
    match_projection: MatchProjection | None = None
    include_overall_position: bool | None = None
    partition_matched_by_strategy_ref: bool | None = None
    customer_strategy_refs: list[str] | None = None
    currency_code: str | None = None
    locale: str | None = None
    matched_since: Instant | None = None
    bet_ids: list[BetId] | None = None


class ListRunnerBookParams(WireStruct, kw_only=True):
    market_id: MarketId
    selection_id: SelectionId
    handicap: Double | None = None
    price_projection: PriceProjection | None = None
    order_projection: OrderProjection | None = None
    match_projection: MatchProjection | None = None
    include_overall_position: bool | None = None
    partition_matched_by_strategy_ref: bool | None = None
    customer_strategy_refs: list[str] | None = None
    currency_code: str | None = None
    locale: str | None = None
    matched_since: Instant | None = None
    bet_ids: list[BetId] | None = None


class ListCurrentOrdersParams(WireStruct, kw_only=True):
    bet_ids: list[BetId] | None = None
    market_ids: list[MarketId] | None = None
    order_projection: OrderProjection | None = None
    customer_order_refs: list[CustomerOrderRef] | None = None
    customer_strategy_refs: list[CustomerStrategyRef] | None = None
    placed_date_range: TimeRange | None = None
    date_range: TimeRange | None = None
    order_by: OrderBy | None = None
    sort_dir: SortDir | None = None
    from_record: I32 | None = None
    record_count: I32 | None = None
    include_item_description: bool | None = None  # not in SportsAPING.xml: 003:L10158-10171
    include_source_id: bool | None = None


class ListClearedOrdersParams(WireStruct, kw_only=True):
    bet_status: BetStatus
    event_type_ids: list[EventTypeId] | None = None
    event_ids: list[EventId] | None = None
    market_ids: list[MarketId] | None = None
    runner_ids: list[RunnerId] | None = None
    bet_ids: list[BetId] | None = None
    customer_order_refs: list[CustomerOrderRef] | None = None
    customer_strategy_refs: list[CustomerStrategyRef] | None = None
    side: Side | None = None
    settled_date_range: TimeRange | None = None
    group_by: GroupBy | None = None
    include_item_description: bool | None = None
    locale: str | None = None
    from_record: I32 | None = None
    record_count: I32 | None = None
    include_source_id: bool | None = None  # not in SportsAPING.xml: 003:L11330-11334


class PlaceOrdersParams(WireStruct, kw_only=True):
    market_id: MarketId
    instructions: list[PlaceInstruction]
    customer_ref: str | None = None
    market_version: MarketVersion | None = None
    customer_strategy_ref: str | None = None
    async_: bool | None = msgspec.field(name="async", default=None)


class CancelOrdersParams(WireStruct, kw_only=True):
    market_id: MarketId | None = None
    instructions: list[CancelInstruction] | None = None
    customer_ref: str | None = None


class ReplaceOrdersParams(WireStruct, kw_only=True):
    market_id: MarketId
    instructions: list[ReplaceInstruction]
    customer_ref: str | None = None
    market_version: MarketVersion | None = None
    async_: bool | None = msgspec.field(name="async", default=None)


class UpdateOrdersParams(WireStruct, kw_only=True):
    market_id: MarketId
    instructions: list[UpdateInstruction]
    customer_ref: str | None = None


class ListMarketProfitAndLossParams(WireStruct, kw_only=True):
    market_ids: list[MarketId]
    include_settled_bets: bool | None = None
    include_bsp_bets: bool | None = None
    net_of_commission: bool | None = None


class SetDefaultExposureLimitForMarketGroupsParams(WireStruct, kw_only=True):
    market_group_type: MarketGroupType
    limit: ExposureLimit


class SetExposureLimitForMarketGroupParams(WireStruct, kw_only=True):
    market_group: MarketGroup
    limit: ExposureLimit


class RemoveDefaultExposureLimitForMarketGroupsParams(WireStruct, kw_only=True):
    market_group_type: MarketGroupType


class RemoveExposureLimitForMarketGroupParams(WireStruct, kw_only=True):
    market_group: MarketGroup


class ListExposureLimitsForMarketGroupsParams(WireStruct, kw_only=True):
    market_group_type_filter: MarketGroupType | None = None
    market_group_filter: list[MarketGroup] | None = None


class UnblockMarketGroupParams(WireStruct, kw_only=True):
    market_group: MarketGroup


class GetExposureReuseEnabledEventsParams(WireStruct, kw_only=True):
    pass


class AddExposureReuseEnabledEventsParams(WireStruct, kw_only=True):
    event_ids: list[I64]


class RemoveExposureReuseEnabledEventsParams(WireStruct, kw_only=True):
    event_ids: list[I64]


# --- registries: operation -> params struct, operation -> result type ------------------------------

PARAMS: Final[dict[str, type[WireStruct]]] = {
    "listEventTypes": ListEventTypesParams,
    "listCompetitions": ListCompetitionsParams,
    "listTimeRanges": ListTimeRangesParams,
    "listEvents": ListEventsParams,
    "listMarketTypes": ListMarketTypesParams,
    "listCountries": ListCountriesParams,
    "listVenues": ListVenuesParams,
    "listMarketCatalogue": ListMarketCatalogueParams,
    "listMarketBook": ListMarketBookParams,
    "listRunnerBook": ListRunnerBookParams,
    "listCurrentOrders": ListCurrentOrdersParams,
    "listClearedOrders": ListClearedOrdersParams,
    "placeOrders": PlaceOrdersParams,
    "cancelOrders": CancelOrdersParams,
    "replaceOrders": ReplaceOrdersParams,
    "updateOrders": UpdateOrdersParams,
    "listMarketProfitAndLoss": ListMarketProfitAndLossParams,
    "setDefaultExposureLimitForMarketGroups": SetDefaultExposureLimitForMarketGroupsParams,
    "setExposureLimitForMarketGroup": SetExposureLimitForMarketGroupParams,
    "removeDefaultExposureLimitForMarketGroups": RemoveDefaultExposureLimitForMarketGroupsParams,
    "removeExposureLimitForMarketGroup": RemoveExposureLimitForMarketGroupParams,
    "listExposureLimitsForMarketGroups": ListExposureLimitsForMarketGroupsParams,
    "unblockMarketGroup": UnblockMarketGroupParams,
    "getExposureReuseEnabledEvents": GetExposureReuseEnabledEventsParams,
    "addExposureReuseEnabledEvents": AddExposureReuseEnabledEventsParams,
    "removeExposureReuseEnabledEvents": RemoveExposureReuseEnabledEventsParams,
}

RESULTS: Final[dict[str, Any]] = {
    "listEventTypes": list[EventTypeResult],
    "listCompetitions": list[CompetitionResult],
    "listTimeRanges": list[TimeRangeResult],
    "listEvents": list[EventResult],
    "listMarketTypes": list[MarketTypeResult],
    "listCountries": list[CountryCodeResult],
    "listVenues": list[VenueResult],
    "listMarketCatalogue": list[MarketCatalogue],
    "listMarketBook": list[MarketBook],
    "listRunnerBook": list[MarketBook],
    "listCurrentOrders": CurrentOrderSummaryReport,
    "listClearedOrders": ClearedOrderSummaryReport,
    "placeOrders": PlaceExecutionReport,
    "cancelOrders": CancelExecutionReport,
    "replaceOrders": ReplaceExecutionReport,
    "updateOrders": UpdateExecutionReport,
    "listMarketProfitAndLoss": list[MarketProfitAndLoss],
    "setDefaultExposureLimitForMarketGroups": str,
    "setExposureLimitForMarketGroup": str,
    "removeDefaultExposureLimitForMarketGroups": str,
    "removeExposureLimitForMarketGroup": str,
    "listExposureLimitsForMarketGroups": list[ExposureLimitsForMarketGroups],
    "unblockMarketGroup": str,
    "getExposureReuseEnabledEvents": list[I64],
    "addExposureReuseEnabledEvents": str,
    "removeExposureReuseEnabledEvents": str,
}
