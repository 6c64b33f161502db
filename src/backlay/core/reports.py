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


Result = (
    PlaceExecutionReport | CancelExecutionReport | ReplaceExecutionReport | UpdateExecutionReport | AdminResult
)

OK = AdminResult(ok=True)


def admin_error(code: str, detail: str) -> AdminResult:
    return AdminResult(ok=False, error=code, detail=detail)
