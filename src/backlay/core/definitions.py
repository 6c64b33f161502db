"""Markets' definitions: creating a market, changing what may change of a live one (non-material
fields), and the operator's catalogue (event types, competitions, events), whose names are carried into
the definitions that name them; and Race Status (003:L8856-9044)."""

from __future__ import annotations

import msgspec

from . import codes
from .codes import AdminErr
from .commands import (
    CreateMarket,
    MarketDefinition,
    SetRaceStatus,
    UpdateMarketDefinition,
    UpsertCompetition,
    UpsertEvent,
    UpsertEventType,
)
from .context import Ctx
from .events import MarketChanged
from .market import Market
from .reports import OK, AdminResult, admin_error

# Market definition fields an operator may change without a material change.
NON_MATERIAL_FIELDS = frozenset(
    {
        "name", "event_name", "competition_id", "competition_name", "country_code", "timezone", "venue",
        "open_date_ms", "market_time_ms", "suspend_time_ms", "persistence_enabled", "turn_in_play_enabled",
        "cross_matching", "runners_voidable", "discount_allowed", "market_base_rate_bp", "race_type",
        "regulator", "wallet", "rules", "rules_has_date", "clarifications", "bet_delay_models",
    }
)
MAX_LINE_TICKS = 200_000  # a LINE_RANGE ladder's size


def create_market(ctx: Ctx, cmd: CreateMarket) -> AdminResult:
    state = ctx.state
    if cmd.market_id in state.markets:
        return admin_error(AdminErr.MARKET_EXISTS, f"market {cmd.market_id} exists")
    problem = _definition_problem(cmd)
    if problem:
        return admin_error(AdminErr.INVALID_MARKET_DEFINITION, problem)
    state.markets[cmd.market_id] = Market(cmd.market_id, state.catalogue.fill(cmd.definition), cmd.runners)
    ctx.events.append(MarketChanged(cmd.market_id))
    return OK


def _definition_problem(cmd: CreateMarket) -> str | None:
    d: MarketDefinition = cmd.definition
    keys = [(r.selection_id, r.handicap_h) for r in cmd.runners]
    if not cmd.market_id or not cmd.runners:
        return "a market needs an id and at least one runner"
    if len(set(keys)) != len(keys):
        return "runners must have distinct (selectionId, handicap)"
    if d.betting_type not in codes.BETTING_TYPES:
        return f"unknown bettingType {d.betting_type}"
    if d.price_ladder not in ("CLASSIC", "FINEST", "LINE_RANGE"):
        return f"unknown price ladder {d.price_ladder}"
    if (d.betting_type == codes.LINE) != (d.price_ladder == "LINE_RANGE"):
        return "LINE markets use the LINE_RANGE ladder, and only they do"
    if d.price_ladder == "LINE_RANGE" and (d.line_interval_h <= 0 or d.line_max_h < d.line_min_h
                                          or (d.line_max_h - d.line_min_h) // d.line_interval_h > MAX_LINE_TICKS):
        return "line range needs interval > 0 and max >= min"
    if d.number_of_winners < 0 or d.market_base_rate_bp < 0 or d.market_base_rate_bp > 10_000:
        return "numberOfWinners and marketBaseRate must be sensible"
    return None


def update_market_definition(ctx: Ctx, cmd: UpdateMarketDefinition, market: Market) -> AdminResult:
    bad = set(cmd.changes) - NON_MATERIAL_FIELDS
    if bad:
        return admin_error(AdminErr.INVALID_MARKET_DEFINITION, f"cannot change {sorted(bad)} on a live market")
    try:
        new = msgspec.structs.replace(market.definition, **cmd.changes)
        msgspec.convert(msgspec.to_builtins(new), type(new))  # type-check the new values
    except (TypeError, msgspec.ValidationError) as e:
        return admin_error(AdminErr.INVALID_MARKET_DEFINITION, str(e))
    market.definition = new
    market.bump_version(material=False)
    ctx.events.append(MarketChanged(cmd.market_id))
    return OK


# --- catalogue and race status -------------------------------------------------------------------------


def _catalogue_changed(ctx: Ctx, problem: str | None) -> AdminResult:
    """Carry a catalogue change into the markets that name it (a non-material definition change)."""
    if problem is not None:
        return admin_error(AdminErr.INVALID_CATALOGUE_ENTRY, problem)
    state = ctx.state
    for market in state.markets.values():
        filled = state.catalogue.fill(market.definition)
        if filled != market.definition:
            market.definition = filled
            market.bump_version(material=False)
            ctx.events.append(MarketChanged(market.market_id))
    return OK


def upsert_event_type(ctx: Ctx, cmd: UpsertEventType) -> AdminResult:
    return _catalogue_changed(ctx, ctx.state.catalogue.upsert_event_type(cmd))


def upsert_competition(ctx: Ctx, cmd: UpsertCompetition) -> AdminResult:
    return _catalogue_changed(ctx, ctx.state.catalogue.upsert_competition(cmd))


def upsert_event(ctx: Ctx, cmd: UpsertEvent) -> AdminResult:
    return _catalogue_changed(ctx, ctx.state.catalogue.upsert_event(cmd))


def set_race_status(ctx: Ctx, cmd: SetRaceStatus) -> AdminResult:
    problem = ctx.state.catalogue.set_race_status(cmd, ctx.ts_ms)
    return admin_error(AdminErr.INVALID_RACE_STATUS, problem) if problem else OK
