"""The Race Status API (ScoresAPING, 003:L8856-9044): listRaceDetails.

There is no official interface file for it; the types follow the spec's tables, and the update
sequence field is `sequence` as betfairlightweight reads it (the spec's column wrap garbles the name).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from .common import I64, Instant, WireStruct

RaceStatus = Literal[
    "DORMANT", "DELAYED", "PARADING", "GOINGDOWN", "GOINGBEHIND", "APPROACHING", "GOINGINTRAPS",
    "HARERUNNING", "ATTHEPOST", "OFF", "FINISHED", "FINALRESULT", "FALSESTART", "PHOTOGRAPH", "RESULT",
    "WEIGHEDIN", "RACEVOID", "NORACE", "MEETINGABANDONED", "RERUN", "ABANDONED",
]
ResponseCode = Literal["OK", "NO_NEW_UPDATES", "NO_LIVE_DATA_AVAILABLE", "SERVICE_UNAVAILABLE",
                       "UNEXPECTED_ERROR", "LIVE_DATA_TEMPORARILY_UNAVAILABLE"]


class RaceDetails(WireStruct, kw_only=True):
    meeting_id: str | None = None
    race_id: str | None = None
    race_status: RaceStatus | None = None
    last_updated: Instant | None = None
    sequence: I64 | None = None
    response_code: ResponseCode | None = None


class ListRaceDetailsParams(WireStruct, kw_only=True):
    meeting_ids: set[str] | None = None
    race_ids: set[str] | None = None


PARAMS: Final[dict[str, type[WireStruct]]] = {"listRaceDetails": ListRaceDetailsParams}
RESULTS: Final[dict[str, Any]] = {"listRaceDetails": list[RaceDetails]}
