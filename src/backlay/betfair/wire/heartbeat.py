"""HeartbeatAPING (the dead-man's switch) on the wire: everything in HeartbeatAPING.xml."""

from __future__ import annotations

from typing import Any, Final, Literal

from .common import I32, WireStruct
from .common import APINGException as APINGException  # re-exported: the Heartbeat API's error body

ActionPerformed = Literal[
    "NONE", "CANCELLATION_REQUEST_SUBMITTED", "ALL_BETS_CANCELLED", "SOME_BETS_NOT_CANCELLED",
    "CANCELLATION_REQUEST_ERROR", "CANCELLATION_STATUS_UNKNOWN",
]

HeartbeatAPINGExceptionCode = Literal[
    "INVALID_INPUT_DATA", "INVALID_SESSION_INFORMATION", "NO_APP_KEY", "NO_SESSION", "INVALID_APP_KEY",
    "UNEXPECTED_ERROR",
]


class HeartbeatReport(WireStruct, kw_only=True):
    action_performed: ActionPerformed
    actual_timeout_seconds: I32


class HeartbeatParams(WireStruct, kw_only=True):
    preferred_timeout_seconds: I32


PARAMS: Final[dict[str, type[WireStruct]]] = {"heartbeat": HeartbeatParams}
RESULTS: Final[dict[str, Any]] = {"heartbeat": HeartbeatReport}
