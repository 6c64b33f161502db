"""Subscription requests, validated and normalised (003:L6128-6158, L6198-6354, L6519-6544).

Bounds and defaults where the spec gives or implies them (stream-identity-accounts.md §6.6, §6.9):
heartbeatMs 500..5000 (default 5000), conflateMs 0..120000 (default 0; 180000 forced for delayed
application keys, 003:L6147-6149), ladderLevels 1..10 (default 3). Out-of-range values are clamped
and the values in use are echoed on the image (003:L6179-6187).

A market filter's fields combine with AND and the values inside one field with OR; a filter without
marketIds covers every market that matches (003:L6222-6224).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from backlay.betfair.stream.market_view import DEFAULT_LADDER_LEVELS, MAX_LADDER_LEVELS, Shape
from backlay.betfair.wire import stream as ws
from backlay.core import codes
from backlay.core.market import Market

HEARTBEAT_MIN_MS: Final = 500
HEARTBEAT_MAX_MS: Final = 5000
HEARTBEAT_DEFAULT_MS: Final = 5000
CONFLATE_MAX_MS: Final = 120_000
DELAYED_CONFLATE_MS: Final = 180_000


def clamp(value: int | None, lo: int, hi: int, default: int) -> int:
    if value is None:
        return default
    return max(lo, min(hi, value))


def heartbeat_ms(value: int | None) -> int:
    return clamp(value, HEARTBEAT_MIN_MS, HEARTBEAT_MAX_MS, HEARTBEAT_DEFAULT_MS)


def conflate_ms(value: int | None, delayed: bool) -> int:
    return DELAYED_CONFLATE_MS if delayed else clamp(value, 0, CONFLATE_MAX_MS, 0)


def shape_of(f: ws.MarketDataFilter | None) -> Shape:
    fields = frozenset(f.fields or ()) if f is not None else frozenset()
    levels = clamp(f.ladderLevels if f is not None else None, 1, MAX_LADDER_LEVELS, DEFAULT_LADDER_LEVELS)
    return Shape(fields, levels)


@dataclass(frozen=True)
class MarketCriteria:
    """A MarketFilter as sets (None: the field is not restricted)."""

    market_ids: frozenset[str] | None
    bsp_market: bool | None
    betting_types: frozenset[str] | None
    event_type_ids: frozenset[str] | None
    event_ids: frozenset[str] | None
    turn_in_play_enabled: bool | None
    market_types: frozenset[str] | None
    venues: frozenset[str] | None
    country_codes: frozenset[str] | None
    race_types: frozenset[str] | None

    @staticmethod
    def of(f: ws.MarketFilter | None) -> MarketCriteria:
        f = f or ws.MarketFilter()

        def s(v: list[str] | None) -> frozenset[str] | None:
            return None if v is None else frozenset(v)

        return MarketCriteria(s(f.marketIds), f.bspMarket, s(f.bettingTypes), s(f.eventTypeIds), s(f.eventIds),  # type: ignore[arg-type]
                              f.turnInPlayEnabled, s(f.marketTypes), s(f.venues), s(f.countryCodes), s(f.raceTypes))

    def matches(self, market: Market) -> bool:
        d = market.definition
        if self.market_ids is not None and market.market_id not in self.market_ids:
            return False
        if self.bsp_market is not None and d.bsp_market != self.bsp_market:
            return False
        if self.betting_types is not None and d.betting_type not in self.betting_types:
            return False
        if self.event_type_ids is not None and d.event_type_id not in self.event_type_ids:
            return False
        if self.event_ids is not None and d.event_id not in self.event_ids:
            return False
        if self.turn_in_play_enabled is not None and d.turn_in_play_enabled != self.turn_in_play_enabled:
            return False
        if self.market_types is not None and d.market_type not in self.market_types:
            return False
        if self.venues is not None and (d.venue is None or d.venue not in self.venues):
            return False
        # "defaults to 'GB' when the country cannot be determined" (003:L6266-6272)
        if self.country_codes is not None and (d.country_code or "GB") not in self.country_codes:
            return False
        return self.race_types is None or (d.race_type or "NO_VALUE") in self.race_types


def visible(market: Market) -> bool:
    """A market a new subscription sees: published and not closed (a closed market is sent once, with
    its final state, to the subscriptions that had it, then dropped)."""
    return market.status not in (codes.INACTIVE, codes.CLOSED)
