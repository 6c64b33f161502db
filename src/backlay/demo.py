"""The demo world: accounts with known credentials and funds, and soccer, tennis and racing markets.

Seeded through ordinary commands, so it is journaled like everything else and seeded only once.
"""

from __future__ import annotations

from backlay.core.commands import (
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    MarketDefinition,
    RunnerDefinition,
    SetMarketStatus,
    UpsertCompetition,
    UpsertEvent,
    UpsertEventType,
)

DEMO_ACCOUNTS = {"alice": 1_000_000, "bob": 1_000_000, "carol": 250_000}  # minor units (£10,000 ...)
DAY_MS = 24 * 3600 * 1000


def demo_commands(now_ms: int) -> list[Command]:
    cmds: list[Command] = []
    for name, amount in DEMO_ACCOUNTS.items():
        cmds.append(CreateAccount(account_id=name))
        cmds.append(Deposit(account_id=name, amount_minor=amount, reference="demo deposit"))
    start = now_ms + DAY_MS
    cmds += [
        UpsertEventType(event_type_id="1", name="Soccer"),
        UpsertEventType(event_type_id="2", name="Tennis"),
        UpsertEventType(event_type_id="7", name="Horse Racing"),
        UpsertCompetition(competition_id="10932509", name="English Premier League", event_type_id="1", region="GBR"),
        UpsertEvent(event_id="90000001", name="Arsenal v Chelsea", event_type_id="1", competition_id="10932509",
                    country_code="GB", timezone="Europe/London", open_date_ms=start),
        UpsertEvent(event_id="90000002", name="Alcaraz v Sinner", event_type_id="2", country_code="GB",
                    open_date_ms=start),
        UpsertEvent(event_id="90000003", name="Ascot 4th Nov", event_type_id="7", country_code="GB", venue="Ascot",
                    timezone="Europe/London", open_date_ms=start),
    ]
    markets = [
        ("1.900000001", MarketDefinition(
            name="Match Odds", market_type="MATCH_ODDS", event_type_id="1", event_type_name="Soccer",
            event_id="90000001", event_name="Arsenal v Chelsea", competition_id="10932509",
            competition_name="English Premier League", open_date_ms=start, market_time_ms=start),
         [(47999, "Arsenal"), (48044, "Chelsea"), (58805, "The Draw")]),
        ("1.900000002", MarketDefinition(
            name="Match Odds", market_type="MATCH_ODDS", event_type_id="2", event_type_name="Tennis",
            event_id="90000002", event_name="Alcaraz v Sinner", open_date_ms=start, market_time_ms=start),
         [(2249229, "Carlos Alcaraz"), (7659748, "Jannik Sinner")]),
        ("1.900000003", MarketDefinition(
            name="1m2f Hcap", market_type="WIN", event_type_id="7", event_type_name="Horse Racing",
            event_id="90000003", event_name="Ascot 4th Nov", country_code="GB", venue="Ascot",
            open_date_ms=start, market_time_ms=start, bsp_market=True, race_type="Flat",
            bet_delay_models=["PASSIVE"]),
         [(101, "Golden Arrow"), (102, "Silver Lining"), (103, "Night Owl"), (104, "Blue Moon"),
          (105, "Red Rum II"), (106, "Quick Step")]),
    ]
    for market_id, definition, runners in markets:
        cmds.append(CreateMarket(market_id=market_id, definition=definition, runners=[
            RunnerDefinition(selection_id=sid, name=name, sort_priority=i + 1) for i, (sid, name) in enumerate(runners)]))
        cmds.append(SetMarketStatus(market_id=market_id, status="OPEN"))
    return cmds
