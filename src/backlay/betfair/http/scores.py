"""Race Status API (003:L8856-9044): listRaceDetails over the statuses the operator sets."""

from __future__ import annotations

from backlay.betfair.http.app import Context, Handler
from backlay.betfair.wire import Instant
from backlay.betfair.wire import scores as ws


async def list_race_details(ctx: Context, params: ws.ListRaceDetailsParams) -> list[ws.RaceDetails]:
    """Races filtered by meetingIds (the event ids) and raceIds (003:L8898-8928); no filter: every race."""
    races = ctx.exchange.catalogue.races.values()
    return [
        ws.RaceDetails(meeting_id=r.meeting_id, race_id=r.race_id, race_status=r.race_status,  # type: ignore[arg-type]
                       last_updated=Instant(r.last_updated_ms), sequence=r.sequence, response_code="OK")
        for r in sorted(races, key=lambda r: r.race_id)
        if (not params.meeting_ids or r.meeting_id in params.meeting_ids)
        and (not params.race_ids or r.race_id in params.race_ids)
    ]


HANDLERS: dict[str, Handler] = {"listRaceDetails": list_race_details}
