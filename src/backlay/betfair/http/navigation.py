"""Navigation Data for Applications (003:L8707-8854): the menu tree, built from the live catalogue.

ROOT -> EVENT_TYPE -> (GROUP per competition ->) EVENT -> MARKET; horse and greyhound racing (event
types 7 and 4339) hang RACE nodes under the EVENT_TYPE, one per race market time, holding its markets.
Closed and inactive markets are left out.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from backlay.betfair.wire.common import Instant
from backlay.core import codes
from backlay.core.exchange import Exchange
from backlay.core.market import Market

RACING_EVENT_TYPES = frozenset({"7", "4339"})


def _market_node(m: Market) -> dict[str, Any]:
    d = m.definition
    return {"exchangeId": "1", "id": m.market_id, "marketStartTime": Instant(d.market_time_ms).iso(),
            "marketType": d.market_type, "numberOfWinners": str(d.number_of_winners), "name": d.name,
            "type": "MARKET"}


def _node(children: dict[str, dict[str, Any]], key: str, make: dict[str, Any]) -> dict[str, Any]:
    node = children.get(key)
    if node is None:
        node = children[key] = {**make, "children": {}}
    return node


def menu(ex: Exchange) -> dict[str, Any]:
    event_types: dict[str, dict[str, Any]] = {}
    live = [m for m in ex.markets.values() if m.status in (codes.OPEN, codes.SUSPENDED)]
    for m in sorted(live, key=lambda m: (m.definition.market_time_ms, m.market_id)):
        d = m.definition
        et = _node(event_types, d.event_type_id, {"id": d.event_type_id, "name": d.event_type_name,
                                                   "type": "EVENT_TYPE"})
        if d.event_type_id in RACING_EVENT_TYPES:
            hhmm = datetime.fromtimestamp(d.market_time_ms / 1000, tz=UTC).strftime("%H%M")
            race_id = f"{d.event_id}.{hhmm}"
            race = _node(et["children"], "R" + race_id, {
                "id": race_id, "name": d.name, "startTime": Instant(d.market_time_ms).iso(), "type": "RACE",
                "venue": d.venue or "", "raceNumber": "", "countryCode": d.country_code or "GB"})
            race["children"][m.market_id] = _market_node(m)
            continue
        parent = et
        if d.competition_id:
            parent = _node(et["children"], "G" + d.competition_id, {
                # a GROUP id is not a Betfair id (003:L8799-8810): a stable number from the competition
                "id": str(zlib.crc32(f"{d.event_type_id}/{d.competition_id}".encode())),
                "name": d.competition_name or d.competition_id, "type": "GROUP"})
        event = _node(parent["children"], "E" + d.event_id, {
            "id": d.event_id, "name": d.event_name, "countryCode": d.country_code or "GB", "type": "EVENT"})
        event["children"][m.market_id] = _market_node(m)
    return {"children": _lists(event_types), "id": 0, "name": "ROOT", "type": "GROUP"}


def _lists(children: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in children.values():
        node = dict(node)
        if "children" in node:
            node["children"] = _lists(node["children"])
        out.append(node)
    return out
