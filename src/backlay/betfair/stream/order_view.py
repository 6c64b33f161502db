"""What the order stream shows of an account's orders (003:L6519-6607).

- Orders travel in full, on every change (003:L6597-6598), with every key betfairlightweight requires
  (the sizes, `rfo`, `rfs`; stream-identity-accounts.md §6.14). An order that completes is sent once
  with status EC; images carry only executable orders (003:L6558-6559).
- A `Position` is the account's matched amounts on one runner by price and side (`mb`/`ml`, totals
  at each price, 003:L6591-6595, L6753-6755), overall and per customerStrategyRef (`smc`). Voided
  bets match nothing; a Rule 4 reduction moves a bet's matched amount to its reduced price
  (003:L6729-6757), and the delta sends the old price with size 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from backlay.betfair.stream.market_view import Ladder, price_diff
from backlay.betfair.wire import stream as ws
from backlay.core import codes
from backlay.core.orders import Order

SIDE: Final = ("B", "L")
PERSISTENCE: Final = {codes.LAPSE: "L", codes.PERSIST: "P", codes.MARKET_ON_CLOSE: "MOC"}
ORDER_TYPE: Final = {codes.LIMIT: "L", codes.LIMIT_ON_CLOSE: "LOC", codes.MARKET_ON_CLOSE: "MOC"}
# MarketDescription.regulator to the order's regulator code (the stream's `rc`, e.g. "REG_GGC")
REGULATOR_CODES: Final = {"GIBRALTAR REGULATOR": "REG_GGC"}


def is_executable(o: Order) -> bool:
    """E on the stream: waiting for its bet delay (PENDING) counts as executable, as in listCurrentOrders."""
    return o.status in (codes.EXECUTABLE, codes.PENDING)


def order_to_stream(o: Order, regulator: str) -> ws.Order:
    return ws.Order(
        id=str(o.bet_id),
        p=o.price_h / 100 if o.price_h > 0 else 0.0,
        s=o.size_minor / 100,
        side=SIDE[o.side],
        status="E" if is_executable(o) else "EC",
        pt=PERSISTENCE[o.persistence],  # type: ignore[arg-type]
        ot=ORDER_TYPE[o.order_type],  # type: ignore[arg-type]
        pd=o.placed_ms,
        sm=o.matched_minor / 100,
        sr=o.remaining_minor / 100,
        sl=o.lapsed_minor / 100,
        sc=o.cancelled_minor / 100,
        sv=o.voided_minor / 100,
        rfo=o.customer_order_ref or "",
        rfs=o.customer_strategy_ref or "",
        bsp=o.bsp_liability_minor / 100 if o.order_type != codes.LIMIT else None,
        md=o.matched_ms,
        cd=o.cancelled_ms,
        ld=o.lapsed_ms,
        lsrc=o.lapse_reason,
        avp=o.matched_value / (o.matched_minor * 100) if o.matched_minor else None,
        rac="",
        rc=REGULATOR_CODES.get(regulator, regulator),
    )


class Position:
    """Matched amounts on one runner: overall and per strategy ref, each (backs, lays) by price."""

    __slots__ = ("mb", "ml", "smc")

    def __init__(self, mb: Ladder, ml: Ladder, smc: dict[str, tuple[Ladder, Ladder]]) -> None:
        self.mb = mb
        self.ml = ml
        self.smc = smc

    def is_empty(self) -> bool:
        return not self.mb and not self.ml


EMPTY_POSITION: Final = Position((), (), {})


def _ladders(sums: tuple[dict[int, int], dict[int, int]]) -> tuple[Ladder, Ladder]:
    return tuple(sorted(sums[0].items())), tuple(sorted(sums[1].items()))


def position(orders: Iterable[Order]) -> Position:
    overall: tuple[dict[int, int], dict[int, int]] = ({}, {})
    by_ref: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
    for o in orders:
        if not o.matched_minor:  # unmatched, or voided (the fragments stay, the match does not)
            continue
        sums = [overall[o.side]]
        if o.customer_strategy_ref:
            sums.append(by_ref.setdefault(o.customer_strategy_ref, ({}, {}))[o.side])
        for f in o.fragments:
            for s in sums:
                s[f.price_h] = s.get(f.price_h, 0) + f.size_minor
    mb, ml = _ladders(overall)
    return Position(mb, ml, {ref: _ladders(v) for ref, v in by_ref.items()})


def _ladder(ladder: Ladder) -> list[tuple[float, float]]:
    return [(p / 100, s / 100) for p, s in ladder]


def runner_change(selection_id: int, handicap_h: int, orders: list[ws.Order], old: Position | None,
                  new: Position, *, overall: bool, strategy: bool, refs: frozenset[str] | None,
                  full_image: bool = False) -> ws.OrderRunnerChange | None:
    """One `orc` item: the orders given (in full) and the position changes since `old` (None or
    `full_image`: everything). `overall`: includeOverallPosition (mb/ml); `strategy`:
    partitionMatchedByStrategyRef (smc), restricted to `refs` when the filter names some."""
    orc = ws.OrderRunnerChange(id=selection_id, hc=handicap_h / 100 if handicap_h else None,
                               fullImage=True if full_image else None, uo=orders or None)
    changed = bool(orders) or full_image
    if full_image:
        old = None
    if overall and (old is None or old.mb is not new.mb or old.ml is not new.ml):
        mb = _ladder(new.mb) if old is None else price_diff(old.mb, new.mb)
        ml = _ladder(new.ml) if old is None else price_diff(old.ml, new.ml)
        if mb:
            orc.mb, changed = mb, True
        if ml:
            orc.ml, changed = ml, True
    if strategy:
        smc: dict[str, ws.StrategyMatchChange] = {}
        old_smc = {} if old is None else old.smc
        for ref in new.smc.keys() | old_smc.keys():
            if refs is not None and ref not in refs:
                continue
            a, b = old_smc.get(ref, ((), ())), new.smc.get(ref, ((), ()))
            smb, sml = price_diff(a[0], b[0]), price_diff(a[1], b[1])
            if smb or sml:
                smc[ref] = ws.StrategyMatchChange(mb=smb or None, ml=sml or None)
        if smc:
            orc.smc, changed = smc, True
    return orc if changed else None
