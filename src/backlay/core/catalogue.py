"""The operator's catalogue: event types, competitions, events, and race status.

Markets carry their event's details in their definition (listMarketCatalogue and the stream read them
from there). A market created for a registered event takes the event's details from here, and a
change to a registered entry is carried into every market that names it, so the two never disagree.
Race status (003:L8856-9044) is information only: no matching or money depends on it.
"""

from __future__ import annotations

import msgspec

from .commands import MarketDefinition, SetRaceStatus, UpsertCompetition, UpsertEvent, UpsertEventType

# RaceStatus enum (003:L8991-9014).
RACE_STATUSES = frozenset({
    "DORMANT", "DELAYED", "PARADING", "GOINGDOWN", "GOINGBEHIND", "APPROACHING", "GOINGINTRAPS",
    "HARERUNNING", "ATTHEPOST", "OFF", "FINISHED", "FINALRESULT", "FALSESTART", "PHOTOGRAPH", "RESULT",
    "WEIGHEDIN", "RACEVOID", "NORACE", "MEETINGABANDONED", "RERUN", "ABANDONED",
})
MAX_NAME_CHARS = 200


class EventTypeEntry(msgspec.Struct, frozen=True, kw_only=True):
    event_type_id: str
    name: str


class CompetitionEntry(msgspec.Struct, frozen=True, kw_only=True):
    competition_id: str
    name: str
    event_type_id: str
    region: str | None


class EventEntry(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    name: str
    event_type_id: str
    competition_id: str | None
    country_code: str | None
    timezone: str
    venue: str | None
    open_date_ms: int


class RaceEntry(msgspec.Struct, frozen=True, kw_only=True):
    meeting_id: str
    race_id: str
    race_status: str
    last_updated_ms: int
    sequence: int


def race_id_error(race_id: str) -> str | None:
    """A race id is `<meetingId>.<hhmm>`, the race time in GMT (003:L8909-8928)."""
    meeting, _, hhmm = race_id.partition(".")
    if not meeting or len(hhmm) != 4 or not hhmm.isdigit() or int(hhmm[:2]) > 23 or int(hhmm[2:]) > 59:
        return f"raceId {race_id!r} is not <meetingId>.<hhmm>"
    return None


class Catalogue:
    def __init__(self) -> None:
        self.event_types: dict[str, EventTypeEntry] = {}
        self.competitions: dict[str, CompetitionEntry] = {}
        self.events: dict[str, EventEntry] = {}
        self.races: dict[str, RaceEntry] = {}
        self.race_sequence = 0

    def upsert_event_type(self, cmd: UpsertEventType) -> str | None:
        if problem := _id_and_name(cmd.event_type_id, cmd.name):
            return problem
        self.event_types[cmd.event_type_id] = EventTypeEntry(event_type_id=cmd.event_type_id, name=cmd.name)
        return None

    def upsert_competition(self, cmd: UpsertCompetition) -> str | None:
        if problem := _id_and_name(cmd.competition_id, cmd.name):
            return problem
        if cmd.event_type_id not in self.event_types:
            return f"no event type {cmd.event_type_id}"
        self.competitions[cmd.competition_id] = CompetitionEntry(
            competition_id=cmd.competition_id, name=cmd.name, event_type_id=cmd.event_type_id, region=cmd.region)
        return None

    def upsert_event(self, cmd: UpsertEvent) -> str | None:
        if problem := _id_and_name(cmd.event_id, cmd.name):
            return problem
        if cmd.event_type_id not in self.event_types:
            return f"no event type {cmd.event_type_id}"
        if cmd.competition_id is not None:
            competition = self.competitions.get(cmd.competition_id)
            if competition is None:
                return f"no competition {cmd.competition_id}"
            if competition.event_type_id != cmd.event_type_id:
                return f"competition {cmd.competition_id} belongs to event type {competition.event_type_id}"
        if cmd.open_date_ms < 0:
            return "openDate must not be before 1970"
        self.events[cmd.event_id] = EventEntry(
            event_id=cmd.event_id, name=cmd.name, event_type_id=cmd.event_type_id,
            competition_id=cmd.competition_id, country_code=cmd.country_code, timezone=cmd.timezone,
            venue=cmd.venue, open_date_ms=cmd.open_date_ms)
        return None

    def set_race_status(self, cmd: SetRaceStatus, ts_ms: int) -> str | None:
        if problem := race_id_error(cmd.race_id):
            return problem
        if cmd.race_status not in RACE_STATUSES:
            return f"unknown raceStatus {cmd.race_status}"
        self.race_sequence += 1
        self.races[cmd.race_id] = RaceEntry(meeting_id=cmd.race_id.partition(".")[0], race_id=cmd.race_id,
                                            race_status=cmd.race_status, last_updated_ms=ts_ms,
                                            sequence=self.race_sequence)
        return None

    def fill(self, d: MarketDefinition) -> MarketDefinition:
        """The definition with its registered event's details (unchanged if the event is not registered)."""
        event = self.events.get(d.event_id)
        if event is None:
            return d
        event_type = self.event_types[event.event_type_id]
        competition = self.competitions.get(event.competition_id) if event.competition_id is not None else None
        return msgspec.structs.replace(
            d, event_name=event.name, event_type_id=event.event_type_id, event_type_name=event_type.name,
            competition_id=event.competition_id, competition_name=competition.name if competition else None,
            country_code=event.country_code, timezone=event.timezone, venue=event.venue,
            open_date_ms=event.open_date_ms)

    def state_tuple(self) -> tuple[object, ...]:
        return (tuple(self.event_types.items()), tuple(self.competitions.items()), tuple(self.events.items()),
                tuple(self.races.items()), self.race_sequence)


def _id_and_name(entry_id: str, name: str) -> str | None:
    if not entry_id or len(entry_id) > 64 or not entry_id.isprintable():
        return "an id is 1 to 64 printable characters"
    if not name or len(name) > MAX_NAME_CHARS:
        return f"a name is 1 to {MAX_NAME_CHARS} characters"
    return None
