"""The operator's catalogue (event types, competitions, events), race status and one-step resettlement."""

from __future__ import annotations

from helpers import BACK, LAY, MARKET, SEL_A, SEL_B, T0, admin, apply, balance, make_exchange, rest

from backlay.core.codes import AdminErr
from backlay.core.commands import (
    CreateMarket,
    MarketDefinition,
    ResettleMarket,
    RunnerDefinition,
    RunnerResult,
    SetRaceStatus,
    SettleMarket,
    UpsertCompetition,
    UpsertEvent,
    UpsertEventType,
)
from backlay.core.exchange import Exchange


def catalogued() -> Exchange:
    ex = make_exchange()
    admin(ex, UpsertEventType(event_type_id="7", name="Horse Racing"))
    admin(ex, UpsertCompetition(competition_id="c1", name="Flat Season", event_type_id="7", region="GBR"))
    admin(ex, UpsertEvent(event_id="321", name="Ascot 4th Nov", event_type_id="7", competition_id="c1",
                          country_code="GB", venue="Ascot", open_date_ms=T0 + 3_600_000))
    return ex


def create(ex: Exchange, market_id: str, event_id: str) -> None:
    admin(ex, CreateMarket(market_id=market_id, definition=MarketDefinition(name="1m Hcap", event_id=event_id),
                           runners=[RunnerDefinition(selection_id=1, name="One")]))


def test_a_market_of_a_registered_event_takes_the_event_details() -> None:
    """listMarketCatalogue's event, eventType and competition come from the market's event
    (003:L2244-2262); the operator registers them once."""
    ex = catalogued()
    create(ex, "1.5", "321")
    d = ex.markets["1.5"].definition
    assert (d.event_name, d.event_type_id, d.event_type_name) == ("Ascot 4th Nov", "7", "Horse Racing")
    assert (d.competition_id, d.competition_name, d.venue, d.country_code) == ("c1", "Flat Season", "Ascot", "GB")
    assert d.open_date_ms == T0 + 3_600_000


def test_a_catalogue_change_reaches_every_market_of_the_event_as_a_new_version() -> None:
    """A definition change bumps marketVersion without being material (003:L10853-10909)."""
    ex = catalogued()
    create(ex, "1.5", "321")
    version = ex.markets["1.5"].version
    admin(ex, UpsertEvent(event_id="321", name="Ascot 5th Nov", event_type_id="7", competition_id="c1"))
    assert ex.markets["1.5"].definition.event_name == "Ascot 5th Nov"
    assert ex.markets["1.5"].version == version + 1
    admin(ex, UpsertEventType(event_type_id="7", name="Horse Racing (GB)"))
    assert ex.markets["1.5"].definition.event_type_name == "Horse Racing (GB)"
    before = ex.fingerprint()
    admin(ex, UpsertEventType(event_type_id="7", name="Horse Racing (GB)"))  # no change: no new version
    assert ex.fingerprint() == before


def test_catalogue_entries_must_hang_together() -> None:
    ex = catalogued()
    before = ex.fingerprint()
    for cmd in (UpsertCompetition(competition_id="c2", name="X", event_type_id="99"),
                UpsertEvent(event_id="9", name="X", event_type_id="99"),
                UpsertEvent(event_id="9", name="X", event_type_id="7", competition_id="nope"),
                UpsertEventType(event_type_id="", name="X"),
                UpsertEventType(event_type_id="8", name="")):
        result = apply(ex, cmd)
        assert result.error == AdminErr.INVALID_CATALOGUE_ENTRY, cmd
    admin(ex, UpsertEventType(event_type_id="4339", name="Greyhound Racing"))
    before = ex.fingerprint()
    result = apply(ex, UpsertEvent(event_id="9", name="X", event_type_id="4339", competition_id="c1"))
    assert result.error == AdminErr.INVALID_CATALOGUE_ENTRY and "belongs to" in (result.detail or "")
    assert ex.fingerprint() == before


def test_race_status_is_kept_per_race_with_a_sequence() -> None:
    """003:L8909-8928: raceId is meetingId.hhmm (GMT); 003:L8938-8980: lastUpdated and an update sequence;
    003:L8991-9014: the RaceStatus values."""
    ex = catalogued()
    admin(ex, SetRaceStatus(race_id="321.1430", race_status="PARADING"), T0 + 1000)
    admin(ex, SetRaceStatus(race_id="321.1430", race_status="OFF"), T0 + 2000)
    race = ex.catalogue.races["321.1430"]
    assert (race.meeting_id, race.race_status, race.last_updated_ms, race.sequence) == ("321", "OFF", T0 + 2000, 2)
    before = ex.fingerprint()
    assert apply(ex, SetRaceStatus(race_id="321.1430", race_status="RUNNING")).error == AdminErr.INVALID_RACE_STATUS
    assert apply(ex, SetRaceStatus(race_id="321.2460", race_status="OFF")).error == AdminErr.INVALID_RACE_STATUS
    assert apply(ex, SetRaceStatus(race_id="321", race_status="OFF")).error == AdminErr.INVALID_RACE_STATUS
    assert ex.fingerprint() == before


def test_resettle_is_unsettle_and_settle_in_one_step() -> None:
    """001:L1052-1593: a resettlement reverses the first result and applies the corrected one."""
    ex = make_exchange()
    rest(ex, "alice", SEL_A, BACK, 300, 1000)
    rest(ex, "bob", SEL_A, LAY, 300, 1000)
    alice, bob = balance(ex, "alice"), balance(ex, "bob")
    admin(ex, SettleMarket(market_id=MARKET, results=[RunnerResult(selection_id=SEL_A)]))
    assert balance(ex, "alice") > alice
    admin(ex, ResettleMarket(market_id=MARKET, results=[RunnerResult(selection_id=SEL_B)]))
    assert balance(ex, "alice") == alice - 1000 and balance(ex, "bob") == bob + 1000 - 50
    ex.check_invariants()


def test_a_resettle_with_bad_results_changes_nothing() -> None:
    ex = make_exchange()
    rest(ex, "alice", SEL_A, BACK, 300, 1000)
    rest(ex, "bob", SEL_A, LAY, 300, 1000)
    assert apply(ex, ResettleMarket(market_id=MARKET)).error == AdminErr.INVALID_STATE_TRANSITION
    admin(ex, SettleMarket(market_id=MARKET, results=[RunnerResult(selection_id=SEL_A)]))
    before = ex.fingerprint()
    bad = ResettleMarket(market_id=MARKET, results=[RunnerResult(selection_id=999)])
    assert apply(ex, bad).error == AdminErr.INVALID_RESULT
    assert ex.fingerprint() == before
