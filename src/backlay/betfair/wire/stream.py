"""The Exchange Stream API messages (003:L5963-6894), declared from ESASwaggerSchema.json
(tests/unit/test_stream_wire.py checks every field against the schema).

Requests (`RequestMessage` and its subclasses) are decoded leniently, as the HTTP APIs do: numbers and
booleans as strings, null as absent (betfairlightweight sends `"initialClk": null`, `"orderFilter": null`,
stream-identity-accounts.md §6.6). Responses are encoded exactly: keys the schema names, absent when
None, except the keys real clients read without a default (`rfo`/`rfs` and every size of an order,
§6.14; every key betfairlightweight's MarketDefinition requires, §6.11), which are always written.

Stream names are the schema's own (`op`, `mc`, `rc`, `batb`, ...), so these structs are not renamed.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from backlay.betfair.wire.common import I32, I64, Double, SpecialDouble

__all__ = [
    "ERROR_CODES",
    "FIELDS",
    "AuthenticationMessage",
    "ConnectionMessage",
    "HeartbeatMessage",
    "KeyLineDefinition",
    "KeyLineSelection",
    "MarketChange",
    "MarketChangeMessage",
    "MarketDataFilter",
    "MarketDefinition",
    "MarketFilter",
    "MarketSubscriptionMessage",
    "Order",
    "OrderChangeMessage",
    "OrderFilter",
    "OrderMarketChange",
    "OrderRunnerChange",
    "OrderSubscriptionMessage",
    "PriceLadderDefinition",
    "RunnerChange",
    "RunnerDefinition",
    "StatusMessage",
    "StrategyMatchChange",
]


class StreamStruct(msgspec.Struct, omit_defaults=True, repr_omit_defaults=True, gc=False):
    """Base of every stream message part: the schema's names as they are, None omitted."""


# --- requests ----------------------------------------------------------------------------------------


class RequestMessage(StreamStruct, kw_only=True, tag_field="op"):
    """`op` is the tag: msgspec writes and checks it."""

    id: I32 | None = None


class AuthenticationMessage(RequestMessage, kw_only=True, tag="authentication"):
    session: str | None = None
    appKey: str | None = None


class HeartbeatMessage(RequestMessage, kw_only=True, tag="heartbeat"):
    pass


FIELDS = (
    "EX_BEST_OFFERS_DISP", "EX_BEST_OFFERS", "EX_ALL_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP",
    "EX_MARKET_DEF", "SP_TRADED", "SP_PROJECTED",
)
Field = Literal[
    "EX_BEST_OFFERS_DISP", "EX_BEST_OFFERS", "EX_ALL_OFFERS", "EX_TRADED", "EX_TRADED_VOL", "EX_LTP",
    "EX_MARKET_DEF", "SP_TRADED", "SP_PROJECTED",
]
BettingType = Literal["ODDS", "LINE", "RANGE", "ASIAN_HANDICAP_DOUBLE_LINE", "ASIAN_HANDICAP_SINGLE_LINE"]


class MarketFilter(StreamStruct, kw_only=True):
    countryCodes: list[str] | None = None
    bettingTypes: list[BettingType] | None = None
    turnInPlayEnabled: bool | None = None
    marketTypes: list[str] | None = None
    venues: list[str] | None = None
    marketIds: list[str] | None = None
    eventTypeIds: list[str] | None = None
    eventIds: list[str] | None = None
    bspMarket: bool | None = None
    raceTypes: list[str] | None = None


class MarketDataFilter(StreamStruct, kw_only=True):
    ladderLevels: I32 | None = None
    fields: list[Field] | None = None


class MarketSubscriptionMessage(RequestMessage, kw_only=True, tag="marketSubscription"):
    segmentationEnabled: bool | None = None
    clk: str | None = None
    heartbeatMs: I64 | None = None
    initialClk: str | None = None
    marketFilter: MarketFilter | None = None
    conflateMs: I64 | None = None
    marketDataFilter: MarketDataFilter | None = None


class OrderFilter(StreamStruct, kw_only=True):
    includeOverallPosition: bool | None = None
    accountIds: list[I64] | None = None
    customerStrategyRefs: list[str] | None = None
    partitionMatchedByStrategyRef: bool | None = None


class OrderSubscriptionMessage(RequestMessage, kw_only=True, tag="orderSubscription"):
    segmentationEnabled: bool | None = None
    orderFilter: OrderFilter | None = None
    clk: str | None = None
    heartbeatMs: I64 | None = None
    initialClk: str | None = None
    conflateMs: I64 | None = None


REQUESTS: dict[str, type[RequestMessage]] = {
    "authentication": AuthenticationMessage,
    "marketSubscription": MarketSubscriptionMessage,
    "orderSubscription": OrderSubscriptionMessage,
    "heartbeat": HeartbeatMessage,
}


# --- responses ---------------------------------------------------------------------------------------

ERROR_CODES = (
    "NO_APP_KEY", "INVALID_APP_KEY", "NO_SESSION", "INVALID_SESSION_INFORMATION", "NOT_AUTHORIZED",
    "INVALID_INPUT", "INVALID_CLOCK", "UNEXPECTED_ERROR", "TIMEOUT", "SUBSCRIPTION_LIMIT_EXCEEDED",
    "INVALID_REQUEST", "CONNECTION_FAILED", "MAX_CONNECTION_LIMIT_EXCEEDED", "TOO_MANY_REQUESTS",
)
ErrorCode = Literal[
    "NO_APP_KEY", "INVALID_APP_KEY", "NO_SESSION", "INVALID_SESSION_INFORMATION", "NOT_AUTHORIZED",
    "INVALID_INPUT", "INVALID_CLOCK", "UNEXPECTED_ERROR", "TIMEOUT", "SUBSCRIPTION_LIMIT_EXCEEDED",
    "INVALID_REQUEST", "CONNECTION_FAILED", "MAX_CONNECTION_LIMIT_EXCEEDED", "TOO_MANY_REQUESTS",
]
ChangeType = Literal["SUB_IMAGE", "RESUB_DELTA", "HEARTBEAT"]
SegmentType = Literal["SEG_START", "SEG", "SEG_END"]


class ResponseMessage(StreamStruct, kw_only=True, tag_field="op"):
    """`op` is the tag: msgspec writes it first, always."""


class ConnectionMessage(ResponseMessage, kw_only=True, tag="connection"):
    """Sent unprompted on connect, with no id (003:L6114-6117)."""

    id: I32 | None = None
    connectionId: str


class StatusMessage(ResponseMessage, kw_only=True, tag="status"):
    """The answer to every request, with its id (003:L6051-6061). `connectionClosed` is always written:
    clients test it to decide whether to stop."""

    id: I32 | None = None
    statusCode: Literal["SUCCESS", "FAILURE"]
    connectionClosed: bool
    errorCode: ErrorCode | None = None
    errorMessage: str | None = None
    connectionsAvailable: I32 | None = None
    connectionId: str | None = None


PricePoint = tuple[Double, Double]  # [price, size] keyed by price
LevelPoint = tuple[int, Double, Double]  # [level, price, size] keyed by level (0 = best)


class PriceLadderDefinition(StreamStruct, kw_only=True):
    type: Literal["CLASSIC", "FINEST", "LINE_RANGE"]


class KeyLineSelection(StreamStruct, kw_only=True):
    id: I64
    hc: Double


class KeyLineDefinition(StreamStruct, kw_only=True):
    kl: list[KeyLineSelection]


class RunnerDefinition(StreamStruct, kw_only=True):
    id: I64
    sortPriority: I32
    status: Literal["ACTIVE", "WINNER", "LOSER", "REMOVED", "REMOVED_VACANT", "HIDDEN", "PLACED"]
    hc: Double | None = None
    removalDate: str | None = None
    adjustmentFactor: Double | None = None
    bsp: Double | SpecialDouble | None = None  # "NaN" for a removed runner (003:L11705-11716)


class MarketDefinition(StreamStruct, kw_only=True):
    """Sent in full whenever any part changes (003:L6366). The keys without a default are the ones
    betfairlightweight's MarketDefinition requires (stream-identity-accounts.md §6.11)."""

    betDelay: I32
    bettingType: BettingType
    bspMarket: bool
    bspReconciled: bool
    complete: bool
    crossMatching: bool
    discountAllowed: bool
    eventId: str
    eventTypeId: str
    inPlay: bool
    marketBaseRate: Double
    marketTime: str
    numberOfActiveRunners: I32
    numberOfWinners: I32
    persistenceEnabled: bool
    regulators: list[str]
    runnersVoidable: bool
    status: Literal["INACTIVE", "OPEN", "SUSPENDED", "CLOSED"]
    timezone: str
    turnInPlayEnabled: bool
    version: I64
    runners: list[RunnerDefinition]
    venue: str | None = None
    raceType: str | None = None
    settledTime: str | None = None
    eachWayDivisor: Double | None = None
    marketType: str | None = None
    countryCode: str | None = None
    lineMaxUnit: Double | None = None
    lineMinUnit: Double | None = None
    lineInterval: Double | None = None
    priceLadderDefinition: PriceLadderDefinition | None = None
    keyLineDefinition: KeyLineDefinition | None = None
    suspendTime: str | None = None
    openDate: str | None = None
    suspendReason: str | None = None
    betDelayModels: list[str] | None = None


class RunnerChange(StreamStruct, kw_only=True):
    id: I64
    hc: Double | None = None
    tv: Double | None = None
    ltp: Double | None = None
    spn: Double | SpecialDouble | None = None
    spf: Double | SpecialDouble | None = None
    batb: list[LevelPoint] | None = None
    batl: list[LevelPoint] | None = None
    bdatb: list[LevelPoint] | None = None
    bdatl: list[LevelPoint] | None = None
    atb: list[PricePoint] | None = None
    atl: list[PricePoint] | None = None
    spb: list[PricePoint] | None = None
    spl: list[PricePoint] | None = None
    trd: list[PricePoint] | None = None


class MarketChange(StreamStruct, kw_only=True):
    id: str
    img: bool | None = None
    tv: Double | None = None
    con: bool | None = None
    marketDefinition: MarketDefinition | None = None
    rc: list[RunnerChange] | None = None


class ChangeMessage(ResponseMessage, kw_only=True):
    """What market and order change messages share (003:L6160-6194); `mc` / `oc` come last."""

    id: I32 | None = None
    ct: ChangeType | None = None  # absent on an ordinary update (003:L6173)
    segmentType: SegmentType | None = None
    initialClk: str | None = None
    clk: str | None = None
    conflateMs: I64 | None = None
    heartbeatMs: I64 | None = None
    pt: I64
    status: I32 | None = None


class MarketChangeMessage(ChangeMessage, kw_only=True, tag="mcm"):
    mc: list[MarketChange] | None = None


class Order(StreamStruct, kw_only=True):
    """An order on the order stream (003:L6558-6590). The sizes, `rfo` and `rfs` are always written:
    betfairlightweight's UnmatchedOrder requires them (stream-identity-accounts.md §6.14)."""

    id: str
    p: Double
    s: Double
    side: Literal["B", "L"]
    status: Literal["E", "EC"]
    pt: Literal["L", "P", "MOC"]
    ot: Literal["L", "LOC", "MOC"]
    pd: I64
    sm: Double
    sr: Double
    sl: Double
    sc: Double
    sv: Double
    rfo: str
    rfs: str
    bsp: Double | None = None
    md: I64 | None = None
    cd: I64 | None = None
    ld: I64 | None = None
    lsrc: str | None = None
    avp: Double | None = None
    rac: str | None = None
    rc: str | None = None


class StrategyMatchChange(StreamStruct, kw_only=True):
    mb: list[PricePoint] | None = None
    ml: list[PricePoint] | None = None


class OrderRunnerChange(StreamStruct, kw_only=True):
    id: I64
    hc: Double | None = None
    fullImage: bool | None = None
    uo: list[Order] | None = None
    mb: list[PricePoint] | None = None
    ml: list[PricePoint] | None = None
    smc: dict[str, StrategyMatchChange] | None = None


class OrderMarketChange(StreamStruct, kw_only=True):
    id: str
    accountId: I64 | None = None
    fullImage: bool | None = None
    closed: bool | None = None
    orc: list[OrderRunnerChange] | None = None


class OrderChangeMessage(ChangeMessage, kw_only=True, tag="ocm"):
    oc: list[OrderMarketChange] | None = None


_ENCODER = msgspec.json.Encoder()


def encode(obj: Any) -> bytes:
    """One message (or part of one) as JSON bytes, without the CRLF."""
    return _ENCODER.encode(obj)
