"""Stream subscription requests: market filter rows (003:L6220-6296), bounds and defaults
(003:L6147-6153, L6309; stream-identity-accounts.md §6.6, §6.9)."""

from __future__ import annotations

import pytest

from backlay.betfair.stream.subscriptions import (
    DELAYED_CONFLATE_MS,
    MarketCriteria,
    conflate_ms,
    heartbeat_ms,
    shape_of,
    visible,
)
from backlay.betfair.wire import stream as ws
from backlay.core.commands import MarketDefinition, RunnerDefinition
from backlay.core.market import Market


def market(**definition: object) -> Market:
    fields: dict[str, object] = {"name": "Win", "event_type_id": "7", "event_id": "31", "market_type": "WIN",
                                 "venue": "Ascot", "country_code": "GB", "race_type": "Flat", "bsp_market": True,
                                 "turn_in_play_enabled": True}
    fields.update(definition)
    m = Market("1.5", MarketDefinition(**fields), [RunnerDefinition(selection_id=1, name="a")])  # type: ignore[arg-type]
    m.status = "OPEN"
    return m


@pytest.mark.parametrize(("filter_fields", "matches"), [
    ({}, True),
    ({"marketIds": ["1.5", "1.6"]}, True),
    ({"marketIds": ["1.6"]}, False),
    ({"bspMarket": True}, True),
    ({"bspMarket": False}, False),
    ({"bettingTypes": ["ODDS"]}, True),
    ({"bettingTypes": ["LINE"]}, False),
    ({"eventTypeIds": ["7", "4339"]}, True),
    ({"eventTypeIds": ["1"]}, False),
    ({"eventIds": ["31"]}, True),
    ({"eventIds": ["32"]}, False),
    ({"turnInPlayEnabled": True}, True),
    ({"turnInPlayEnabled": False}, False),
    ({"marketTypes": ["WIN", "PLACE"]}, True),
    ({"marketTypes": ["MATCH_ODDS"]}, False),
    ({"venues": ["Ascot"]}, True),
    ({"venues": ["Kempton"]}, False),
    ({"countryCodes": ["GB"]}, True),
    ({"countryCodes": ["IE"]}, False),
    ({"raceTypes": ["Flat", "Hurdle"]}, True),
    ({"raceTypes": ["Chase"]}, False),
    ({"eventTypeIds": ["7"], "venues": ["Kempton"]}, False),  # fields combine with AND
])
def test_market_filter_rows(filter_fields: dict[str, object], matches: bool) -> None:
    """Each MarketFilter field restricts; values inside one field are alternatives (003:L6220-6296)."""
    f = ws.MarketFilter(**filter_fields)  # type: ignore[arg-type]
    assert MarketCriteria.of(f).matches(market()) is matches


def test_country_defaults_to_gb_and_missing_race_type_is_no_value() -> None:
    """countryCodes: "defaults to 'GB' when the country cannot be determined" (003:L6266-6272); raceTypes
    includes NO_VALUE (003:L6273-6296)."""
    m = market(country_code=None, race_type=None)
    assert MarketCriteria.of(ws.MarketFilter(countryCodes=["GB"])).matches(m)
    assert MarketCriteria.of(ws.MarketFilter(raceTypes=["NO_VALUE"])).matches(m)
    assert not MarketCriteria.of(ws.MarketFilter(venues=["Ascot"])).matches(market(venue=None))


def test_only_published_open_markets_are_visible() -> None:
    m = market()
    for status, seen in (("INACTIVE", False), ("OPEN", True), ("SUSPENDED", True), ("CLOSED", False)):
        m.status = status
        assert visible(m) is seen


def test_bounds_and_defaults() -> None:
    """heartbeatMs 500..5000, default 5000 (003:L6150-6153); conflateMs 0..120000, 180000 for delayed keys
    (003:L6147-6149); ladderLevels 1..10, default 3 (003:L6309)."""
    assert [heartbeat_ms(v) for v in (None, 0, 499, 500, 2500, 5000, 60_000)] == [5000, 500, 500, 500, 2500, 5000, 5000]
    assert [conflate_ms(v, False) for v in (None, -1, 0, 250, 200_000)] == [0, 0, 0, 250, 120_000]
    assert conflate_ms(0, True) == conflate_ms(None, True) == DELAYED_CONFLATE_MS == 180_000
    assert shape_of(None).levels == 3 and shape_of(None).fields == frozenset()
    assert shape_of(ws.MarketDataFilter(ladderLevels=0)).levels == 1
    assert shape_of(ws.MarketDataFilter(ladderLevels=25, fields=["EX_LTP"])) == (frozenset({"EX_LTP"}), 10)
