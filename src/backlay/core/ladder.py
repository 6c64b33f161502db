"""Price ladders (001:L16-86): prices as integer hundredths, tick indexes into a market's ladder.

`price_h` is a price in hundredths (101 = 1.01). A tick is an index on the ladder; ticks are ordered
like prices, so the book compares ticks only.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Final

from .compiled import mypyc_attr

# CLASSIC bands as (from_h, to_h, step_h); boundaries belong to both bands (001:L24-60).
CLASSIC_BANDS: Final = (
    (101, 200, 1),
    (200, 300, 2),
    (300, 400, 5),
    (400, 600, 10),
    (600, 1000, 20),
    (1000, 2000, 50),
    (2000, 3000, 100),
    (3000, 5000, 200),
    (5000, 10000, 500),
    (10000, 100000, 1000),
)

CLASSIC: Final = "CLASSIC"
FINEST: Final = "FINEST"
LINE_RANGE: Final = "LINE_RANGE"


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Ladder:
    """A finite ascending list of valid prices (hundredths), with O(1) tick→price and O(log n) price→tick."""

    __slots__ = ("_index", "kind", "prices_h")

    def __init__(self, kind: str, prices_h: list[int]) -> None:
        assert prices_h == sorted(set(prices_h)), "ladder prices must be strictly ascending"
        self.kind = kind
        self.prices_h = prices_h
        # A dict lookup is faster than bisect for the ladders we build eagerly (CLASSIC: 350 entries).
        self._index: dict[int, int] | None = (
            {p: i for i, p in enumerate(prices_h)} if len(prices_h) <= 2000 else None
        )

    @property
    def n_ticks(self) -> int:
        return len(self.prices_h)

    def price_h(self, tick: int) -> int:
        return self.prices_h[tick]

    def tick(self, price_h: int) -> int | None:
        """The tick of an exact ladder price, or None when the price is off the ladder (INVALID_ODDS)."""
        if self._index is not None:
            return self._index.get(price_h)
        i = bisect_left(self.prices_h, price_h)
        if i < len(self.prices_h) and self.prices_h[i] == price_h:
            return i
        return None


def _classic_prices() -> list[int]:
    prices: list[int] = []
    for lo, hi, step in CLASSIC_BANDS:
        start = lo if not prices else lo + step
        prices.extend(range(start, hi + 1, step))
    return prices


CLASSIC_LADDER: Final = Ladder(CLASSIC, _classic_prices())
assert CLASSIC_LADDER.n_ticks == 350
FINEST_LADDER: Final = Ladder(FINEST, list(range(101, 100001)))


def line_range_ladder(min_h: int, max_h: int, interval_h: int) -> Ladder:
    """LINE_RANGE: min, min+interval, ... up to max (003:L11973-11988)."""
    if interval_h <= 0 or max_h < min_h:
        raise ValueError("line range needs interval > 0 and max >= min")
    return Ladder(LINE_RANGE, list(range(min_h, max_h + 1, interval_h)))


def ladder_for(kind: str, line_min_h: int = 0, line_max_h: int = 0, line_interval_h: int = 0) -> Ladder:
    if kind == CLASSIC:
        return CLASSIC_LADDER
    if kind == FINEST:
        return FINEST_LADDER
    if kind == LINE_RANGE:
        return line_range_ladder(line_min_h, line_max_h, line_interval_h)
    raise ValueError(f"unknown price ladder type {kind!r}")
