"""The demo world, all of it: accounts with known credentials and funds, soccer, tennis and racing
markets, their logins and application keys, and the scripted trade of `backlay demo`.

The exchange part is seeded through ordinary commands, so it is journaled like everything else and
seeded only once.
"""

from __future__ import annotations

from backlay.core.commands import (
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOrder,
    MarketDefinition,
    PlaceInstruction,
    PlaceOrders,
    RunnerDefinition,
    RunnerResult,
    SetMarketStatus,
    SettleMarket,
    TurnInPlay,
    UpsertCompetition,
    UpsertEvent,
    UpsertEventType,
)
from backlay.core.reports import Result
from backlay.engine.engine import Engine, wall_clock_ms
from backlay.identity.store import IdentityStore

DEMO_ACCOUNTS = {"alice": 1_000_000, "bob": 1_000_000, "carol": 250_000}  # minor units (£10,000 ...)
DEMO_PASSWORD = "backlay-demo"
DAY_MS = 24 * 3600 * 1000


def demo_app_key(account_id: str) -> str:
    return f"demo-{account_id}-key"


def seed_identity(identity: IdentityStore) -> None:
    """The demo accounts' logins, and an application key each (live and delayed)."""
    for account_id in DEMO_ACCOUNTS:
        if not identity.has_user(account_id):
            identity.create_user(account_id, DEMO_PASSWORD, account_id)
            identity.create_app_key(account_id, "demo", delayed=False, app_key=demo_app_key(account_id))
            identity.create_app_key(account_id, "demo", delayed=True, app_key=demo_app_key(account_id) + "-delayed")


def describe() -> str:
    return (f"demo logins: {', '.join(DEMO_ACCOUNTS)} with password {DEMO_PASSWORD!r}; "
            f"app key demo-<name>-key (delayed: demo-<name>-key-delayed)")


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


# --- the scripted walk-through of `backlay demo`, straight on the engine ---------------------------


def _submit(engine: Engine, cmds: list[Command]) -> list[Result]:
    return [r for r, _events in engine.submit_batch(cmds, wall_clock_ms())]


def _money(minor: int) -> str:
    return f"£{minor / 100:,.2f}"


def _print_funds(engine: Engine) -> None:
    for a in engine.exchange.accounts.values():
        print(f"  {a.account_id:6s} balance {_money(a.balance_minor):>12s}  exposure {_money(a.exposure_minor):>10s}"
              f"  available {_money(a.available_minor):>12s}")


def seed_engine(engine: Engine) -> bool:
    """Seed the demo world's exchange part on a bare engine (no HTTP); False if it has accounts."""
    if engine.exchange.accounts:
        return False
    _submit(engine, demo_commands(wall_clock_ms()))
    return True


def scripted_demo(engine: Engine) -> None:
    """Alice backs Arsenal, Bob lays it (matched at Alice's price), the match goes in-play and Arsenal win."""
    ex = engine.exchange
    market_id = "1.900000001"
    if market_id not in ex.markets or ex.markets[market_id].status != "OPEN" or ex.markets[market_id].inplay:
        print("demo market already traded; skipping the scripted trade")
        return

    def limit(side: int, price_h: int, size_minor: int) -> PlaceInstruction:
        return PlaceInstruction(order_type="LIMIT", selection_id=47999, side=side,
                                limit=LimitOrder(price_h=price_h, size_minor=size_minor, persistence="LAPSE"))

    r = _submit(engine, [PlaceOrders(account_id="alice", market_id=market_id, instructions=[limit(0, 250, 10_000)])])[0]
    print(f"alice backs Arsenal £100 @ 2.50: {r.status}")  # type: ignore[union-attr]
    r = _submit(engine, [PlaceOrders(account_id="bob", market_id=market_id, instructions=[limit(1, 260, 6_000)])])[0]
    print(f"bob lays Arsenal £60 @ 2.60 (matches at 2.50): {r.status}")  # type: ignore[union-attr]
    _print_funds(engine)
    _submit(engine, [TurnInPlay(market_id=market_id, bet_delay_s=5)])
    print("in-play: alice's unmatched £40 lapses")
    _submit(engine, [SettleMarket(market_id=market_id, results=[RunnerResult(selection_id=47999)])])
    print("settled: Arsenal win (5% commission on alice's net winnings)")
    _print_funds(engine)
