"""The Betfair wire types: requests and responses of the Betting (`betting`), Accounts (`accounts`) and
Heartbeat (`heartbeat`) APIs as msgspec structs, declared from SportsAPING.xml, AccountAPING.xml and
HeartbeatAPING.xml (tests/unit/test_wire_types.py checks them against the files).

`decode_params(operation, raw)` decodes an operation's params leniently; `encode(obj)` writes a response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from . import accounts, betting, heartbeat, scores
from .common import (
    I32,
    I64,
    PARAMS_FAULTS,
    APINGException,
    Double,
    Instant,
    ParamsError,
    ParamsErrorKind,
    Price,
    PriceSize,
    Size,
    SpecialDouble,
    TimeRange,
    UnknownOperationError,
    WireStruct,
    decode_as,
    encode,
    special_double,
)

__all__ = [
    "I32",
    "I64",
    "PARAMS",
    "PARAMS_FAULTS",
    "RESULTS",
    "SERVICES",
    "APINGException",
    "Double",
    "Instant",
    "ParamsError",
    "ParamsErrorKind",
    "Price",
    "PriceSize",
    "Size",
    "SpecialDouble",
    "TimeRange",
    "UnknownOperationError",
    "WireStruct",
    "accounts",
    "betting",
    "decode_as",
    "decode_params",
    "encode",
    "heartbeat",
    "scores",
    "special_double",
]

# JSON-RPC method prefix ("SportsAPING/v1.0/listMarketBook") -> that service's operations.
SERVICES: Final[dict[str, dict[str, type[WireStruct]]]] = {
    "SportsAPING": betting.PARAMS,
    "AccountAPING": accounts.PARAMS,
    "HeartbeatAPING": heartbeat.PARAMS,
    "ScoresAPING": scores.PARAMS,
}

# Operation names do not collide across the services.
PARAMS: Final[dict[str, type[WireStruct]]] = {**betting.PARAMS, **accounts.PARAMS, **heartbeat.PARAMS,
                                              **scores.PARAMS}
RESULTS: Final[dict[str, Any]] = {**betting.RESULTS, **accounts.RESULTS, **heartbeat.RESULTS, **scores.RESULTS}


def decode_params(operation: str, raw: bytes | str | Mapping[str, Any] | None) -> WireStruct:
    """The `<Operation>Params` struct of `operation` decoded from `raw` (see `decode_as`).

    Raises UnknownOperationError for an operation of none of the three services, ParamsError
    (kind parse / missing / type) for params that do not decode."""
    cls = PARAMS.get(operation)
    if cls is None:
        raise UnknownOperationError(operation)
    return decode_as(cls, raw)
