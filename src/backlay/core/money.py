"""Money in integer minor units and the currency parameters of 001:L226-511.

Every amount is an int of minor units (pence, cents). Sizes on the wire have at most two decimals, so
one minor unit is 1/100 of the currency unit for every supported currency.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class CurrencyParams(NamedTuple):
    code: str
    min_bet_size_minor: int
    min_deposit_minor: int
    min_bsp_liability_minor: int
    min_bet_payout_minor: int


def _c(code: str, bet: int, dep: int, bsp: int, payout: int) -> CurrencyParams:
    return CurrencyParams(code, bet * 100, dep * 100, bsp * 100, payout * 100)


# 001:L226-511 (RON's min deposit is 25 by Paysafe, 40 by card; the card figure is kept).
CURRENCIES: Final[dict[str, CurrencyParams]] = {
    c.code: c
    for c in (
        _c("GBP", 1, 10, 10, 10),
        _c("EUR", 1, 15, 10, 20),
        _c("USD", 1, 15, 20, 20),
        _c("HKD", 10, 150, 125, 125),
        _c("AUD", 1, 30, 30, 30),
        _c("CAD", 2, 25, 30, 30),
        _c("DKK", 15, 150, 150, 150),
        _c("NOK", 10, 150, 150, 150),
        _c("SEK", 15, 150, 150, 150),
        _c("SGD", 2, 30, 30, 30),
        _c("RON", 5, 40, 50, 50),
        _c("BRL", 5, 40, 50, 50),
        _c("MXN", 30, 50, 300, 300),
        _c("PEN", 5, 50, 50, 50),
        _c("HUF", 400, 25, 4000, 4000),
        _c("ISK", 350, 25, 1750, 1750),
        _c("NZD", 2, 25, 10, 10),
        _c("ARS", 100, 50, 500, 500),
        _c("GEL", 10, 50, 50, 50),
    )
}


# Indicative exchange rates from GBP, in millionths, for every currency of 001's table (listCurrencyRates,
# and a listMarketBook asked for in another currency). backlay has no rate feed: these are fixed
# (Betfair's refresh hourly, 003:L12805-12806). Nothing inside the exchange is ever converted with them.
GBP_RATES_MICRO: Final[dict[str, int]] = {
    "GBP": 1_000_000, "EUR": 1_170_000, "USD": 1_270_000, "HKD": 9_900_000, "AUD": 1_950_000,
    "CAD": 1_750_000, "DKK": 8_700_000, "NOK": 13_900_000, "SEK": 13_700_000, "SGD": 1_700_000,
    "RON": 5_800_000, "BRL": 7_000_000, "MXN": 23_000_000, "PEN": 4_800_000, "HUF": 460_000_000,
    "ISK": 175_000_000, "NZD": 2_150_000, "ARS": 1_300_000_000, "GEL": 3_450_000,
}


def div_round_half_away(num: int, den: int) -> int:
    """num/den rounded to the nearest int, halves away from zero. Symmetric: f(-n, d) == -f(n, d),
    so the two sides of a match always get equal and opposite amounts."""
    assert den > 0
    n = num if num >= 0 else -num
    q = n // den  # not divmod, whose tuple is generic in the compiled core
    if 2 * (n - q * den) >= den:
        q += 1
    return q if num >= 0 else -q


def div_ceil(num: int, den: int) -> int:
    assert den > 0
    return -((-num) // den)


def win_minor(size_minor: int, price_h: int) -> int:
    """Profit of a winning back of size_minor at price_h (= the lay's liability), rounded once."""
    return div_round_half_away(size_minor * (price_h - 100), 100)


def lay_liability_reserve_minor(size_minor: int, price_h: int) -> int:
    """Liability reserved for an unmatched lay: rounded up so the reserve always covers the settlement."""
    return div_ceil(size_minor * (price_h - 100), 100)
