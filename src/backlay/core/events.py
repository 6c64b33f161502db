"""Events: what a command changed, for the stream hub and the projections. Small values; consumers
read the current state for details, so events say *what* changed, not every field."""

from __future__ import annotations

import msgspec

from .reports import PlaceExecutionReport


class OrderChanged(msgspec.Struct, gc=False):
    market_id: str
    account_id: str
    bet_id: int


class RunnerChanged(msgspec.Struct, gc=False):
    """A runner's book levels, traded volume or status changed."""

    market_id: str
    selection_id: int
    handicap_h: int


class MarketChanged(msgspec.Struct, gc=False):
    """Definition, status, version or runner statuses changed."""

    market_id: str


class FundsChanged(msgspec.Struct, gc=False):
    account_id: str


class PlacementCompleted(msgspec.Struct):
    """The final report of a placement held for the in-play bet delay."""

    token: int
    account_id: str
    report: PlaceExecutionReport


class MarketSettled(msgspec.Struct, gc=False):
    market_id: str


Event = OrderChanged | RunnerChanged | MarketChanged | FundsChanged | PlacementCompleted | MarketSettled
