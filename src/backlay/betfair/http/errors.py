"""API errors and their wire envelopes (003:L9968-10033; notes betting-api.md 1.5).

JSON-RPC outcomes always travel with HTTP 200 (betfairlightweight treats any other status as a
transport failure); an operation's exception is JSON-RPC error -32099 with message ANGX-00NN and the
exception under `data`. REST faults carry the documented `faultcode` / `faultstring` / `detail`.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

# ANGX numbering follows the order of the APINGException table (003:L9968-10008).
ANGX: Final[dict[str, int]] = {code: i for i, code in enumerate((
    "TOO_MUCH_DATA", "INVALID_INPUT_DATA", "INVALID_SESSION_INFORMATION", "NO_APP_KEY", "NO_SESSION",
    "UNEXPECTED_ERROR", "INVALID_APP_KEY", "TOO_MANY_REQUESTS", "SERVICE_BUSY", "TIMEOUT_ERROR",
    "REQUEST_SIZE_EXCEEDS_LIMIT", "ACCESS_DENIED"), start=1)}


class ApiError(Exception):
    """An operation's documented exception: APINGException (Betting, Heartbeat) or AccountAPINGException."""

    def __init__(self, code: str, details: str = "", exception_name: str = "APINGException") -> None:
        super().__init__(f"{code}: {details}")
        self.code = code
        self.details = details
        self.exception_name = exception_name

    def body(self) -> dict[str, Any]:
        return {"errorCode": self.code, "errorDetails": self.details, "requestUUID": str(uuid.uuid4())}

    @property
    def message(self) -> str:
        prefix = "AANGX" if self.exception_name == "AccountAPINGException" else "ANGX"
        return f"{prefix}-{ANGX.get(self.code, 6):04d}"


def jsonrpc_error(request_id: Any, code: int, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": request_id}


def jsonrpc_api_error(request_id: Any, err: ApiError) -> dict[str, Any]:
    return jsonrpc_error(request_id, -32099, err.message,
                         {"exceptionname": err.exception_name, err.exception_name: err.body()})


def rest_fault(err: ApiError) -> tuple[int, dict[str, Any]]:
    status = 500 if err.code in ("UNEXPECTED_ERROR", "SERVICE_BUSY", "TIMEOUT_ERROR") else 400
    return status, {"faultcode": "Server" if status == 500 else "Client", "faultstring": err.message,
                    "detail": {"exceptionname": err.exception_name, err.exception_name: err.body()}}


def rest_dsc_fault(status: int, dsc: str) -> tuple[int, dict[str, Any]]:
    return status, {"faultcode": "Client", "faultstring": dsc, "detail": {}}
