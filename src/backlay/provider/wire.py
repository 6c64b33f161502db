"""The provider endpoint's bodies (seed 002's names, camelCase) and the edge's units.

Lenient on input: `stake`, `decimalPrice` and `payoutFactor` as a JSON number or a numeric string, read
into `Decimal` from the number's own text (2.37 stays exactly 2.37, never a binary float); `timestamp`
as a string of digits or a JSON number; unknown fields are ignored. Exact on output: decimals are JSON
numbers (`ENCODER`, decimal_format="number"), money with two places, a price with the digits it came with.

The converters below turn a decoded request into its canonical form (decimals normalised, timestamps as
strings: what is hashed under the idempotency key and stored with each bet) and into core units.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

import msgspec

from backlay.core.commands import BetResult, FixedOddsBet

MAX_TEXT_CHARS: Final = 256  # a longer text field is INVALID_BET_DETAILS (placement) or MISSING_PARAMETER
MAX_BETS: Final = 100  # per call
MAX_PRICE: Final = Decimal(1000)
MAX_PRICE_PLACES: Final = 10
MAX_STAKE: Final = Decimal(10) ** 12  # far above any real stake; keeps core integers small
MAX_FACTOR_PLACES: Final = 10
STAGES: Final = ("IN_PLAY", "PRE_PLAY")
OUTCOMES: Final = ("WON", "LOST", "VOID", "PUSH")
STATUSES: Final = ("PENDING", "WON", "LOST", "VOID", "PUSH", "ROLLED_BACK")
CENT: Final = Decimal("0.01")

ENCODER: Final = msgspec.json.Encoder(decimal_format="number")

# Placement texts: at least one character; the 256 limit is checked by the edge (INVALID_BET_DETAILS).
Text = Annotated[str, msgspec.Meta(min_length=1, extra_json_schema={"maxLength": MAX_TEXT_CHARS})]
# Follow-up texts: the limit is part of the type (MISSING_PARAMETER).
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_CHARS)]
Stage = Annotated[str, msgspec.Meta(min_length=1, extra_json_schema={"enum": list(STAGES)},
                                    description="IN_PLAY or PRE_PLAY")]
Epoch = (Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,15}$")]
         | Annotated[int, msgspec.Meta(ge=0, le=10**15 - 1)])
# Decimals: msgspec documents them as strings; ProviderApi.openapi() rewrites the schema to "number or
# numeric string" (input) or "number" (output), as `x-decimal` says.
NumberIn = Annotated[Decimal, msgspec.Meta(extra_json_schema={"x-decimal": "in"},
                                           description="a decimal: a JSON number or a numeric string")]
NumberOut = Annotated[Decimal, msgspec.Meta(extra_json_schema={"x-decimal": "out"}, description="a decimal")]
Price = Annotated[Decimal, msgspec.Meta(
    extra_json_schema={"x-decimal": "in", "exclusiveMinimum": 1, "maximum": int(MAX_PRICE),
                       "x-pattern": r"^(1000|[1-9][0-9]{0,2}(\.[0-9]{1,10})?)$"},
    description="a decimal above 1 and at most 1000 with at most 10 places: a JSON number or a numeric string")]
Stake = Annotated[Decimal, msgspec.Meta(
    extra_json_schema={"x-decimal": "in", "minimum": 0.01, "maximum": 10**12 - 1,
                       "x-pattern": r"^([1-9][0-9]{0,11}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"},
    description="a decimal with at most two places: a JSON number or a numeric string")]
DECIMAL_TEXT: Final = r"^[-+]?[0-9]+(\.[0-9]+)?$"  # what the OpenAPI document promises for a decimal string
Date = Annotated[str, msgspec.Meta(description="ISO-8601 with milliseconds, e.g. 2026-11-22T15:30:00.000Z")]


class Wire(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    pass


class BetDetails(Wire, kw_only=True):
    """002's BetDetails, in its order (002:L202-338)."""

    bet_id: Text
    sport_id: Text
    sport_name: Text
    sport_display_name: Text
    event_id: Text
    event_alt_id: Annotated[str, msgspec.Meta(extra_json_schema={"maxLength": MAX_TEXT_CHARS})] | None = None
    event_name: Text
    event_display_name: Text
    event_stage: Stage
    competition_id: Text
    competition_name: Text
    competition_display_name: Text
    market_type_id: Text
    market_id: Text
    market_name: Text
    market_display_name: Text
    market_stage: Stage
    selection_id: Text
    selection_name: Text
    selection_display_name: Text
    decimal_price: Price
    stake: Stake


class PlaceBetRequest(Wire, kw_only=True):
    request_id: Text
    user_id: Text
    session_token: Text
    timestamp: Epoch
    bets: Annotated[list[BetDetails], msgspec.Meta(min_length=1, extra_json_schema={"maxItems": MAX_BETS})]


class PlacedBet(BetDetails, kw_only=True):
    potential_payout: NumberOut


class PlaceBetResponse(Wire, kw_only=True):
    request_id: str
    user_id: str
    session_token: str
    timestamp: str
    status: Literal["PLACED"]
    bets: list[PlacedBet]


class BetFailureReason(Wire, kw_only=True):
    max_stake: NumberOut | None = None
    min_stake: NumberOut | None = None


class FailedBet(Wire, kw_only=True):
    bet_id: str
    sport_id: str
    event_id: str
    market_id: str
    selection_id: str
    reason: BetFailureReason


class ErrorResponse(Wire, kw_only=True):
    status: Literal["FAILURE"]
    error_code: str
    error_message: str
    failed_bets: list[FailedBet] | None = None  # INVALID_STAKE only


class ResultDetails(Wire, kw_only=True):
    bet_id: Id
    outcome: Annotated[str, msgspec.Meta(min_length=1, extra_json_schema={"enum": list(OUTCOMES)})]
    payout_factor: NumberIn | None = None  # 0 < f <= 1, WON only (dead heats, partial results)
    settled_at: Epoch | None = None


class ResultRequest(Wire, kw_only=True):
    request_id: Id
    timestamp: Epoch
    results: Annotated[list[ResultDetails], msgspec.Meta(min_length=1, max_length=MAX_BETS)]


class BetIdsRequest(Wire, kw_only=True):
    request_id: Id
    timestamp: Epoch
    bet_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=MAX_BETS)]


class SettledBet(Wire, kw_only=True):
    bet_id: str
    status: str
    amount: NumberOut  # moved to the user by this call (signed)
    potential_payout: NumberOut


class SettleResponse(Wire, kw_only=True):
    request_id: str
    timestamp: str
    status: Literal["RESULTED", "RESETTLED", "UNSETTLED", "ROLLED_BACK"]
    bets: list[SettledBet]


class BetView(Wire, kw_only=True):
    provider_id: str
    bet_id: str
    user_id: str
    status: str
    stake: NumberOut
    decimal_price: NumberOut
    potential_payout: NumberOut
    payout: NumberOut  # paid so far: the payout, or the stake back; 0 while pending or lost
    placed_at: Date
    settled_at: Date | None = None
    closed_at: Date | None = None
    details: BetDetails


class BetList(Wire, kw_only=True):
    bets: list[BetView]
    more_available: bool


# --- units at the edge -------------------------------------------------------------------------------


def encode(obj: Any) -> bytes:
    return ENCODER.encode(obj)


def request_sha256(operation: str, canonical: msgspec.Struct) -> str:
    """What the core keeps under an idempotency key: the operation and the canonical request."""
    return hashlib.sha256(operation.encode() + b"\n" + ENCODER.encode(canonical)).hexdigest()


def document_decimals(node: Any) -> None:
    """Rewrites, in place, msgspec's JSON schema of these structs (msgspec.json.schema_components): it
    documents a Decimal as a string, but here a decimal is a JSON number, and on input a numeric string
    too. For any API that encodes these structs with `ENCODER`."""
    if isinstance(node, dict):
        kind = node.pop("x-decimal", None)
        if kind is not None:
            node.pop("format", None)
            node.pop("type", None)
            bounds = {k: node.pop(k) for k in ("exclusiveMinimum", "minimum", "maximum") if k in node}
            pattern = node.pop("x-pattern", DECIMAL_TEXT)
            if kind == "in":
                node["anyOf"] = [{"type": "number", **bounds}, {"type": "string", "pattern": pattern}]
            else:
                node["type"] = "number"
        for value in node.values():
            document_decimals(value)
    elif isinstance(node, list):
        for value in node:
            document_decimals(value)


def money(minor: int) -> Decimal:
    return Decimal(minor).scaleb(-2)  # keeps two places: 1000 -> 10.00


def price(units: int, scale: int) -> Decimal:
    return Decimal(units).scaleb(-scale)


def epoch(value: str | int) -> str:
    return str(int(value))


def _exponent(d: Decimal) -> int:
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int), d  # finite: the callers checked
    return exponent


def _plain(d: Decimal, max_places: int) -> Decimal | None:
    """`d` without an exponent and with at most `max_places` decimals (trailing zeros dropped only when
    needed), or None when it has more. The caller has bounded its size."""
    if _exponent(d) > 0:
        return d.quantize(Decimal(1))
    if -_exponent(d) > max_places:
        d = d.normalize()
        if _exponent(d) > 0:
            d = d.quantize(Decimal(1))
    return d if -_exponent(d) <= max_places else None


def units_of(d: Decimal) -> tuple[int, int]:
    """(units, scale) with d == units / 10**scale exactly, for a plain decimal."""
    scale = max(0, -_exponent(d))
    return int(d.scaleb(scale)), scale


def _bet_problem(b: BetDetails) -> str | None:
    texts = [v for v in msgspec.structs.astuple(b) if isinstance(v, str)]
    if any(len(v) > MAX_TEXT_CHARS for v in texts):
        return f"bet {b.bet_id[:MAX_TEXT_CHARS]}: a text field is over {MAX_TEXT_CHARS} characters"
    if b.event_stage not in STAGES or b.market_stage not in STAGES:
        return f"bet {b.bet_id}: eventStage and marketStage must be IN_PLAY or PRE_PLAY"
    if not b.decimal_price.is_finite() or not 1 < b.decimal_price <= MAX_PRICE:
        return f"bet {b.bet_id}: decimalPrice must be above 1 and at most {MAX_PRICE}"
    if _plain(b.decimal_price, MAX_PRICE_PLACES) is None:
        return f"bet {b.bet_id}: decimalPrice has more than {MAX_PRICE_PLACES} decimal places"
    if not b.stake.is_finite() or abs(b.stake) >= MAX_STAKE:
        return f"bet {b.bet_id}: stake must be a number below {MAX_STAKE}"
    if b.stake.quantize(CENT) != b.stake:
        return f"bet {b.bet_id}: stake has more than two decimal places"
    return None


def betslip_problem(req: PlaceBetRequest) -> str | None:
    """Why the slip is INVALID_BET_DETAILS at the edge (the core checks the betIds), or None."""
    if len(req.bets) > MAX_BETS:
        return f"at most {MAX_BETS} bets in a betslip"
    if any(len(v) > MAX_TEXT_CHARS for v in (req.request_id, req.user_id, req.session_token)):
        return f"a text field is over {MAX_TEXT_CHARS} characters"
    for b in req.bets:
        problem = _bet_problem(b)
        if problem is not None:
            return problem
    return None


def canonical_betslip(req: PlaceBetRequest) -> PlaceBetRequest:
    """The slip as hashed and stored (betslip_problem None): prices plain, stakes with two places."""
    bets = [msgspec.structs.replace(b, decimal_price=_plain(b.decimal_price, MAX_PRICE_PLACES),
                                    stake=b.stake.quantize(CENT)) for b in req.bets]
    return msgspec.structs.replace(req, timestamp=epoch(req.timestamp), bets=bets)


def core_bets(canonical: PlaceBetRequest) -> list[FixedOddsBet]:
    out = []
    for b in canonical.bets:
        units, scale = units_of(b.decimal_price)
        out.append(FixedOddsBet(bet_id=b.bet_id, market_type_id=b.market_type_id, stake_minor=int(b.stake * 100),
                                price_units=units, price_scale=scale, details=ENCODER.encode(b)))
    return out


def canonical_results(req: ResultRequest) -> ResultRequest | str:
    """The canonical result request, or why it is INVALID_RESULT (a payoutFactor that is no decimal in
    (0, 1] with at most ten places; the core checks the rest)."""
    results = []
    for r in req.results:
        factor = r.payout_factor
        if factor is not None:
            plain = _plain(factor, MAX_FACTOR_PLACES) if factor.is_finite() and 0 < factor <= 1 else None
            if plain is None:
                return f"bet {r.bet_id}: payoutFactor must be above 0 and at most 1, with at most " \
                       f"{MAX_FACTOR_PLACES} decimal places"
            factor = plain
        settled = None if r.settled_at is None else epoch(r.settled_at)
        results.append(msgspec.structs.replace(r, payout_factor=factor, settled_at=settled))
    return msgspec.structs.replace(req, timestamp=epoch(req.timestamp), results=results)


def core_results(canonical: ResultRequest) -> list[BetResult]:
    out = []
    for r in canonical.results:
        units, scale = (1, 0) if r.payout_factor is None else units_of(r.payout_factor)
        out.append(BetResult(bet_id=r.bet_id, outcome=r.outcome, factor_units=units, factor_scale=scale,
                             settled_ms=None if r.settled_at is None else int(r.settled_at)))
    return out
