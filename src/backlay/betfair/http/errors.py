"""API errors and their wire envelopes (003:L9968-10033; notes betting-api.md 1.5).

JSON-RPC outcomes always travel with HTTP 200 (betfairlightweight treats any other status as a
transport failure); an operation's exception is JSON-RPC error -32099 with message ANGX-00NN and the
exception under `data`. REST faults carry the documented `faultcode` / `faultstring` / `detail`.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

# ANGX-00NN / AANGX-00NN: NN is the code's id in its exception's enum (SportsAPING.xml APINGExceptionCode,
# AccountAPING.xml AccountAPINGExceptionCode); the first nine ANGX numbers are confirmed by Betfair's
# own answers (notes/betting-api.md 1.5), and they are the XML's ids. The Accounts API numbers its own
# enum (SERVICE_BUSY is AANGX-0005); tests/unit/test_wire_types.py checks both tables against the XML.
ANGX: Final[dict[str, int]] = {
    "TOO_MUCH_DATA": 1, "INVALID_INPUT_DATA": 2, "INVALID_SESSION_INFORMATION": 3, "NO_APP_KEY": 4,
    "NO_SESSION": 5, "UNEXPECTED_ERROR": 6, "INVALID_APP_KEY": 7, "TOO_MANY_REQUESTS": 8, "SERVICE_BUSY": 9,
    "TIMEOUT_ERROR": 10, "APP_KEY_CREATION_FAILED": 11, "DUPLICATE_APP_NAME": 12, "APP_CREATION_FAILED": 13,
    "REQUEST_SIZE_EXCEEDS_LIMIT": 14, "ACCESS_DENIED": 15, "INVALID_MARKET_GROUP": 16,
    "EXPOSURE_LIMIT_NOT_EXIST": 17, "MARKET_GROUP_NOT_BLOCKED": 18,
}
AANGX: Final[dict[str, int]] = {
    "INVALID_INPUT_DATA": 1, "INVALID_SESSION_INFORMATION": 2, "UNEXPECTED_ERROR": 3, "INVALID_APP_KEY": 4,
    "SERVICE_BUSY": 5, "TIMEOUT_ERROR": 6, "DUPLICATE_APP_NAME": 7, "APP_KEY_CREATION_FAILED": 8,
    "APP_CREATION_FAILED": 9, "NO_SESSION": 10, "NO_APP_KEY": 11, "SUBSCRIPTION_EXPIRED": 12,
    "INVALID_SUBSCRIPTION_TOKEN": 13, "TOO_MANY_REQUESTS": 14, "INVALID_CLIENT_REF": 15,
    "WALLET_TRANSFER_ERROR": 16, "INVALID_VENDOR_CLIENT_ID": 17, "USER_NOT_SUBSCRIBED": 18,
    "INVALID_SECRET": 19, "INVALID_AUTH_CODE": 20, "INVALID_GRANT_TYPE": 21,
}


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
        if self.exception_name == "AccountAPINGException":
            return f"AANGX-{AANGX.get(self.code, AANGX['UNEXPECTED_ERROR']):04d}"
        return f"ANGX-{ANGX.get(self.code, ANGX['UNEXPECTED_ERROR']):04d}"


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
