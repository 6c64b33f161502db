"""Best-offer ladders as Betfair displays them: the rollup of small levels (ExBestOffersOverrides,
003:L12517-12552; the RollupModel values of SportsAPING.xml).

Betfair's rule, confirmed on the PRO historical files (../shared/data/historical, `bdatb`/`bdatl`
against `atb`/`atl`): walking from the best price, sizes are summed until the sum reaches the limit;
the sum is then shown at the price of the last level it took. 0.71 at 70 and 0.47 at 65 with a £1
limit show as 1.18 at 65. A tail that never reaches the limit is not shown.

- STAKE: the sum must reach `limit_minor` (default: the currency's minimum stake).
- PAYOUT: price * sum must reach the limit; on a LINE market the price counts as 2.0.
- MANAGED_LIABILITY ("Not supported as yet"): rolled as STAKE, its liability settings ignored.
- NONE: no rollup, but levels below the currency's minimum stake are left out.

Pure functions on (price_h, size_minor) ladders, best first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

STAKE: Final = "STAKE"
PAYOUT: Final = "PAYOUT"
MANAGED_LIABILITY: Final = "MANAGED_LIABILITY"
NONE: Final = "NONE"

LINE_PAYOUT_PRICE_H: Final = 200  # "payout( 2.0 * volume )" on a LINE market

Level = tuple[int, int]


class Rollup(NamedTuple):
    """How to roll a ladder: `model` STAKE, PAYOUT or NONE, `limit_minor` in the exchange's minor
    units (for NONE: the minimum stake), `line` for PAYOUT on a LINE market."""

    model: str
    limit_minor: int
    line: bool = False


def _reaches(rollup: Rollup, size_minor: int, price_h: int) -> bool:
    if rollup.model == PAYOUT:
        # price * size >= limit, in hundredths * minor units
        return size_minor * (LINE_PAYOUT_PRICE_H if rollup.line else price_h) >= rollup.limit_minor * 100
    return size_minor >= rollup.limit_minor


def roll(ladder: Sequence[Level], rollup: Rollup, depth: int) -> Sequence[Level]:
    """The first `depth` levels of `ladder` rolled up. When nothing needs rolling (each of its first
    `depth` levels reaches the limit on its own) `ladder` itself comes back, uncut: callers cut it, and
    an unchanged ladder keeps its identity (the stream's change detection relies on `is`)."""
    if all(_reaches(rollup, s, p) for p, s in ladder[:depth]):
        return ladder
    out: list[Level] = []
    if rollup.model == NONE:
        for p, s in ladder:
            if s >= rollup.limit_minor:
                out.append((p, s))
                if len(out) == depth:
                    break
        return out
    total = 0
    for p, s in ladder:
        total += s
        if _reaches(rollup, total, p):
            out.append((p, total))
            total = 0
            if len(out) == depth:
                break
    return out
