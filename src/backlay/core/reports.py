"""Results of commands: the execution reports of 003:L12291-12486 in core units, and admin results.

Reports never form reference cycles, so they are not tracked by the garbage collector (gc=False).

The API edge turns these into wire structs (betId as a string, prices and sizes as decimals)."""

from __future__ import annotations

from typing import Any

import msgspec

from .commands import CancelInstruction, PlaceInstruction, UpdateInstruction


class PlaceInstructionReport(msgspec.Struct, kw_only=True, gc=False):
    status: str
    instruction: PlaceInstruction
    error_code: str | None = None
    order_status: str | None = None
    bet_id: int | None = None
    placed_ms: int | None = None
    size_matched_minor: int | None = None
    matched_value: int | None = None  # sum(size_minor * price_h): average price = value / size / 100


class PlaceExecutionReport(msgspec.Struct, kw_only=True, gc=False):
    status: str
    market_id: str
    instruction_reports: list[PlaceInstructionReport]
    error_code: str | None = None
    customer_ref: str | None = None
    # In-play bet delay: the final report arrives later in a PlacementCompleted event with this token.
    delayed_token: int | None = None
    delayed_until_ms: int | None = None


class CancelInstructionReport(msgspec.Struct, kw_only=True, gc=False):
    status: str
    instruction: CancelInstruction
    error_code: str | None = None
    size_cancelled_minor: int | None = None
    cancelled_ms: int | None = None


class CancelExecutionReport(msgspec.Struct, kw_only=True, gc=False):
    status: str
    market_id: str | None
    instruction_reports: list[CancelInstructionReport]
    error_code: str | None = None
    customer_ref: str | None = None


class ReplaceInstructionReport(msgspec.Struct, kw_only=True, gc=False):
    status: str
    error_code: str | None = None
    cancel_report: CancelInstructionReport | None = None
    place_report: PlaceInstructionReport | None = None


class ReplaceExecutionReport(msgspec.Struct, kw_only=True, gc=False):
    status: str
    market_id: str
    instruction_reports: list[ReplaceInstructionReport]
    error_code: str | None = None
    customer_ref: str | None = None


class UpdateInstructionReport(msgspec.Struct, kw_only=True, gc=False):
    status: str
    instruction: UpdateInstruction
    error_code: str | None = None


class UpdateExecutionReport(msgspec.Struct, kw_only=True, gc=False):
    status: str
    market_id: str
    instruction_reports: list[UpdateInstructionReport]
    error_code: str | None = None
    customer_ref: str | None = None


class AdminResult(msgspec.Struct, kw_only=True, gc=False):
    ok: bool
    error: str | None = None
    detail: str | None = None
    data: Any = None


class FailedBet(msgspec.Struct, kw_only=True, gc=False):
    """002's FailedBet: the bet's index in the request and the limit it breached (minor units)."""

    index: int
    min_stake_minor: int | None = None
    max_stake_minor: int | None = None


class BetOutcome(msgspec.Struct, kw_only=True, gc=False):
    """What a fixed-odds command did to one bet: its status after and the money it moved (+ to the user)."""

    bet_id: str
    status: str  # PENDING | WON | LOST | VOID | PUSH | ROLLED_BACK
    amount_minor: int = 0
    potential_payout_minor: int = 0


class FixedOddsResult(msgspec.Struct, kw_only=True, gc=False):
    """The result of a fixed-odds command (PlaceBetslip, ResultBets, UnsettleBets, RollbackBets). `ok`
    false: `error` is the documented code and nothing changed. `replayed`: the idempotency key had been
    used with this very request, and this is the first answer again (`ts_ms` its time)."""

    ok: bool
    ts_ms: int
    error: str | None = None
    detail: str | None = None
    failed_bets: list[FailedBet] = msgspec.field(default_factory=list)
    bets: list[BetOutcome] = msgspec.field(default_factory=list)
    balance_minor: int = 0
    replayed: bool = False


Result = (
    PlaceExecutionReport | CancelExecutionReport | ReplaceExecutionReport | UpdateExecutionReport | AdminResult
    | FixedOddsResult
)

OK = AdminResult(ok=True)


def admin_error(code: str, detail: str) -> AdminResult:
    return AdminResult(ok=False, error=code, detail=detail)
