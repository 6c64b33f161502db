"""What the market stream shows of a market, and the change messages between two states of it.

A `MarketSnap` is an immutable picture of one market in core units: its marketDefinition (already
encoded, 003:L6401-6518), its traded volume and, per runner, the available-to-back and -lay ladders
(raw, and rolled up as listMarketBook's EX_BEST_OFFERS shows them by default, with and without
virtual offers), the traded ladder, the last traded price and the runner's traded volume. It
mirrors what listMarketBook reports, so that a client's stream cache and listMarketBook agree (a
CLOSED market's ladders are empty in both). A snap reuses the previous one's parts that did not change (runners not
touched by the batch, the definition when no MarketChanged came), so "unchanged" is `is`.

`render_change` turns (previous, current) into one MarketChange (`mc` item) for one subscription
shape: only the fields the shape asks for, only what changed (003:L6306, L6370), with the entries of
each ladder as absolute values: a level or price that went away is sent with size 0 (003:L6395-6400).
With no previous snap (or `img`), it is a full image of the market (003:L6362-6363).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, NamedTuple

import msgspec

from backlay.betfair import ladders
from backlay.betfair.wire import stream as ws
from backlay.betfair.wire.common import Instant
from backlay.core import bsp, codes
from backlay.core import crossmatch as cx
from backlay.core.market import Market, Runner
from backlay.core.money import CURRENCIES

Ladder = tuple[tuple[int, int], ...]  # (price_h, size_minor), best first (traded: by price ascending)

MAX_LADDER_LEVELS: Final = 10  # ladderLevels 1..10 (003:L6309)
DEFAULT_LADDER_LEVELS: Final = 3  # not in the spec; listMarketBook's default depth (003:L12517-12552)
DEFAULT_ROLLUP_MINOR: Final = CURRENCIES["GBP"].min_bet_size_minor  # the hub passes its exchange's

# MarketDescription.regulator values to the Stream API's codes (003:L11922-11928, 001:L1595-1621)
REGULATOR_CODES: Final = {"GIBRALTAR REGULATOR": "MR_INT"}


class RunnerSnap:
    __slots__ = ("back", "lay", "ltp_h", "rback", "rlay", "sp", "traded", "tv_minor", "vback", "vlay")

    def __init__(self, back: Ladder, lay: Ladder, traded: Ladder, ltp_h: int | None, tv_minor: int,
                 vback: Ladder | None = None, vlay: Ladder | None = None, sp: bsp.SpView | None = None,
                 rback: Ladder | None = None, rlay: Ladder | None = None) -> None:
        self.back = back  # availableToBack: resting lays, highest price first (EX_ALL_OFFERS)
        self.lay = lay  # availableToLay: resting backs, lowest price first
        self.traded = traded
        self.ltp_h = ltp_h
        self.tv_minor = tv_minor
        # EX_BEST_OFFERS: the same rolled up (ladders.py), `back` itself when nothing is rolled
        self.rback = back if rback is None else rback
        self.rlay = lay if rlay is None else rlay
        # EX_BEST_OFFERS_DISP: cross-matching's virtual offers merged in, then rolled up, best 10 levels
        self.vback = self.rback if vback is None else vback
        self.vlay = self.rlay if vlay is None else vlay
        self.sp = sp  # BSP markets: near, far, actual SP and the auction's money (bsp.view)


class MarketSnap:
    __slots__ = ("definition", "runners", "status", "tv_minor")

    def __init__(self, definition: bytes, status: str, tv_minor: int, runners: tuple[RunnerSnap, ...]) -> None:
        self.definition = definition  # the encoded marketDefinition
        self.status = status
        self.tv_minor = tv_minor
        self.runners = runners  # by runner index


class Shape(NamedTuple):
    """What a market subscription asks to see (its MarketDataFilter, 003:L6305-6354)."""

    fields: frozenset[str]
    levels: int


def _iso(ms: int | None) -> str | None:
    return None if ms is None else Instant(ms).iso()


def definition(market: Market) -> ws.MarketDefinition:
    """The stream's marketDefinition of a market (003:L6401-6518, schema names)."""
    d = market.definition
    line = d.betting_type == codes.LINE
    return ws.MarketDefinition(
        betDelay=market.bet_delay_s,
        bettingType=d.betting_type,  # type: ignore[arg-type]
        bspMarket=d.bsp_market,
        bspReconciled=market.bsp_reconciled,
        complete=market.complete,
        crossMatching=d.cross_matching,
        discountAllowed=d.discount_allowed,
        eventId=d.event_id,
        eventTypeId=d.event_type_id,
        inPlay=market.inplay,
        marketBaseRate=d.market_base_rate_bp / 100,
        marketTime=Instant(d.market_time_ms).iso(),
        numberOfActiveRunners=sum(1 for r in market.runner_list if r.status == codes.ACTIVE),
        numberOfWinners=d.number_of_winners,
        persistenceEnabled=d.persistence_enabled,
        regulators=[REGULATOR_CODES.get(d.regulator, d.regulator)],
        runnersVoidable=d.runners_voidable,
        status=market.status,  # type: ignore[arg-type]
        timezone=d.timezone,
        turnInPlayEnabled=d.turn_in_play_enabled,
        version=market.version,
        runners=[_runner_definition(market, r) for r in market.runner_list],
        venue=d.venue,
        raceType=d.race_type,
        settledTime=_iso(market.settled_ms),
        eachWayDivisor=None if d.each_way_divisor_h is None else d.each_way_divisor_h / 100,
        marketType=d.market_type,
        countryCode=d.country_code,
        lineMaxUnit=d.line_max_h / 100 if line else None,
        lineMinUnit=d.line_min_h / 100 if line else None,
        lineInterval=d.line_interval_h / 100 if line else None,
        priceLadderDefinition=ws.PriceLadderDefinition(type=d.price_ladder),  # type: ignore[arg-type]
        suspendTime=_iso(d.suspend_time_ms if d.suspend_time_ms is not None else d.market_time_ms),
        openDate=_iso(d.open_date_ms),
        suspendReason=market.suspend_reason if market.status == codes.SUSPENDED else None,
        betDelayModels=list(d.bet_delay_models) or None,
    )


def _runner_definition(market: Market, r: Runner) -> ws.RunnerDefinition:
    return ws.RunnerDefinition(
        id=r.selection_id,
        sortPriority=r.definition.sort_priority or r.index + 1,
        status=r.status,  # type: ignore[arg-type]
        hc=r.handicap_h / 100 if r.handicap_h else None,
        removalDate=_iso(r.removal_ms),
        adjustmentFactor=None if r.adjustment_factor_bp is None else r.adjustment_factor_bp / 100,
        bsp=_actual_sp(market, r),
    )


def _actual_sp(market: Market, r: Runner) -> float | bsp.Special | None:
    """The runner's actual SP once the market is reconciled (the stream's RunnerDefinition.bsp)."""
    if not market.definition.bsp_market or not market.bsp_reconciled:
        return None
    return bsp.view(market, r).actual


_EMPTY: Final[Ladder] = ()


def _rolled(ladder: Ladder | list[tuple[int, int]], rollup: ladders.Rollup) -> Ladder:
    rolled = ladders.roll(ladder, rollup, MAX_LADDER_LEVELS)
    return rolled if rolled is ladder and isinstance(rolled, tuple) else tuple(rolled[:MAX_LADDER_LEVELS])


def runner_snap(market: Market, runner: Runner, rollup_minor: int = DEFAULT_ROLLUP_MINOR) -> RunnerSnap:
    """`rollup_minor`: the exchange currency's minimum stake, listMarketBook's default STAKE rollup
    (003:L12524-12535), which the best-offer ladders (batb/batl, bdatb/bdatl) show as it does."""
    book = runner.book
    sp = bsp.view(market, runner) if market.definition.bsp_market else None
    if market.status == codes.CLOSED:  # listMarketBook shows a closed market's ladders empty
        return RunnerSnap(_EMPTY, _EMPTY, _EMPTY, book.last_traded_h, book.total_matched_minor, sp=sp)
    traded = tuple(sorted((p, s) for p, s in book.traded.items() if s > 0))
    back, lay = tuple(book.available_to_back()), tuple(book.available_to_lay())
    rollup = ladders.Rollup(ladders.STAKE, rollup_minor)
    rback, rlay = _rolled(back, rollup), _rolled(lay, rollup)
    vback = vlay = None
    if cx.crossing(market):
        n = MAX_LADDER_LEVELS  # as many virtual prices as listMarketBook merges (reads.VIRTUAL_BEST_DEPTH)
        vb = cx.merge_levels(list(back), cx.virtual_levels(market, runner.index, codes.BACK, n), codes.BACK, None)
        vl = cx.merge_levels(list(lay), cx.virtual_levels(market, runner.index, codes.LAY, n), codes.LAY, None)
        vback, vlay = _rolled(vb, rollup), _rolled(vl, rollup)
    return RunnerSnap(back, lay, traded, book.last_traded_h, book.total_matched_minor, vback, vlay, sp,
                      rback, rlay)


def snapshot(market: Market, prev: MarketSnap | None = None, dirty_runners: Iterable[int] | None = None,
             definition_changed: bool = True, rollup_minor: int = DEFAULT_ROLLUP_MINOR) -> MarketSnap:
    """The market now. With `prev`, only `dirty_runners` (indexes) are read again, and the definition
    only when `definition_changed`; a status change makes every runner dirty (a close empties them).
    `rollup_minor`: the best-offer ladders' rollup limit (runner_snap)."""
    status_changed = prev is None or prev.status != market.status
    # in a cross-matching market every runner's virtual offers depend on the other runners' books
    if prev is None or status_changed or dirty_runners is None or cx.crossing(market):
        runners = tuple(runner_snap(market, r, rollup_minor) for r in market.runner_list)
    else:
        rs = list(prev.runners)
        for i in dirty_runners:
            rs[i] = runner_snap(market, market.runner_list[i], rollup_minor)
        runners = tuple(rs)
    if prev is None or definition_changed or status_changed:
        defn = ws.encode(definition(market))
        if prev is not None and defn == prev.definition:
            defn = prev.definition
    else:
        defn = prev.definition
    return MarketSnap(defn, market.status, market.total_matched_minor, runners)


# --- changes -------------------------------------------------------------------------------------


def _levels(ladder: Ladder, n: int) -> list[tuple[int, float, float]]:
    return [(i, p / 100, s / 100) for i, (p, s) in enumerate(ladder[:n])]


def _level_diff(old: Ladder, new: Ladder, n: int) -> list[tuple[int, float, float]]:
    out = []
    for i in range(min(n, max(len(old), len(new)))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        if a != b:
            out.append((i, b[0] / 100, b[1] / 100) if b is not None else (i, 0.0, 0.0))
    return out


def _prices(ladder: Ladder) -> list[tuple[float, float]]:
    return [(p / 100, s / 100) for p, s in ladder]


def price_diff(old: Ladder, new: Ladder) -> list[tuple[float, float]]:
    """Price-keyed entries that changed; a price that went away is sent with size 0."""
    if not old:
        return _prices(new)
    before = dict(old)
    out = [(p / 100, s / 100) for p, s in new if before.pop(p, None) != s]
    out.extend((p / 100, 0.0) for p in before)  # what is left went away
    return out


def _ladder_change(old: Ladder | None, new: Ladder, n: int) -> list[tuple[int, float, float]]:
    if old is None:
        return _levels(new, n)
    return _level_diff(old, new, n) if old is not new else []


def _best_change(rc: ws.RunnerChange, names: tuple[str, str], old: tuple[Ladder, Ladder] | None,
                 new: tuple[Ladder, Ladder], n: int) -> bool:
    """Set the back and lay level ladders that changed (`names`: the RunnerChange's fields for them);
    whether any did."""
    changed = False
    for i, name in enumerate(names):
        levels = _ladder_change(old[i] if old is not None else None, new[i], n)
        if levels:
            setattr(rc, name, levels)
            changed = True
    return changed


def _runner_change(runner: Runner, old: RunnerSnap | None, new: RunnerSnap, shape: Shape) -> ws.RunnerChange | None:
    f = shape.fields
    rc = ws.RunnerChange(id=runner.selection_id, hc=runner.handicap_h / 100 if runner.handicap_h else None)
    changed = False
    n = shape.levels
    if "EX_BEST_OFFERS" in f:
        changed = _best_change(rc, ("batb", "batl"), (old.rback, old.rlay) if old else None, (new.rback, new.rlay),
                               n) or changed
    if "EX_BEST_OFFERS_DISP" in f:  # virtual offers included (003:L6317-6325)
        changed = _best_change(rc, ("bdatb", "bdatl"), (old.vback, old.vlay) if old else None, (new.vback, new.vlay),
                               n) or changed
    if "EX_ALL_OFFERS" in f:
        if old is None:
            atb, atl = _prices(new.back), _prices(new.lay)
        else:
            atb = price_diff(old.back, new.back) if old.back is not new.back else []
            atl = price_diff(old.lay, new.lay) if old.lay is not new.lay else []
        if atb:
            rc.atb, changed = atb, True
        if atl:
            rc.atl, changed = atl, True
    if "EX_TRADED" in f:
        trd = _prices(new.traded) if old is None else (
            price_diff(old.traded, new.traded) if old.traded is not new.traded else [])
        if trd:
            rc.trd, changed = trd, True
    if "EX_TRADED_VOL" in f and (old is None or old.tv_minor != new.tv_minor):
        rc.tv, changed = new.tv_minor / 100, True
    if "EX_LTP" in f and new.ltp_h is not None and (old is None or old.ltp_h != new.ltp_h):
        rc.ltp, changed = new.ltp_h / 100, True
    sp, old_sp = new.sp, old.sp if old is not None else None
    if sp is not None:
        if "SP_PROJECTED" in f:  # near and far (003:L6346-6350)
            if old_sp is None or old_sp.near != sp.near:
                rc.spn, changed = sp.near, True
            if old_sp is None or old_sp.far != sp.far:
                rc.spf, changed = sp.far, True
        if "SP_TRADED" in f:  # the SP ladders, aligned with atb / atl (003:L6345, L6387-6388)
            spb = price_diff(old_sp.lay_liability if old_sp else (), sp.lay_liability)
            spl = price_diff(old_sp.back_stake if old_sp else (), sp.back_stake)
            if spb:
                rc.spb, changed = spb, True
            if spl:
                rc.spl, changed = spl, True
    return rc if changed or old is None else None


def render_change(market: Market, old: MarketSnap | None, new: MarketSnap, shape: Shape, *,
                  img: bool = False, con: bool = False) -> bytes | None:
    """One `mc` item (encoded) taking a client from `old` to `new`; None when the shape sees no change.
    `img` (or no `old`): a full image of the market that replaces the client's copy."""
    if img:
        old = None
    f = shape.fields
    mc = ws.MarketChange(id=market.market_id, img=True if old is None else None, con=True if con else None)
    changed = old is None
    if "EX_MARKET_DEF" in f and (old is None or old.definition is not new.definition):
        mc.marketDefinition = msgspec.Raw(new.definition)  # type: ignore[assignment]
        changed = True
    if "EX_TRADED_VOL" in f and (old is None or old.tv_minor != new.tv_minor):
        mc.tv, changed = new.tv_minor / 100, True
    rcs = []
    runner_list = market.runner_list
    for i, r in enumerate(new.runners):
        o = None if old is None else old.runners[i]
        if o is r:
            continue
        rc = _runner_change(runner_list[i], o, r, shape)
        if rc is not None:
            rcs.append(rc)
    if rcs:
        mc.rc, changed = rcs, True
    return ws.encode(mc) if changed else None
