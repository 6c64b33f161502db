"""Request limits of 003: market data weights (L4954-4993), ids per request (L10005-10006,
L10116-10122, L10295-10297), and instructions per second per account (L9993-9995)."""

from __future__ import annotations

from collections import deque

from backlay.betfair.http.errors import ApiError
from backlay.betfair.wire import betting as w

MAX_WEIGHT = 200
MAX_IDS = 250
MAX_INSTRUCTIONS_PER_SECOND = 1000

CATALOGUE_WEIGHTS = {"MARKET_DESCRIPTION": 1, "RUNNER_METADATA": 1}  # the other projections weigh 0
BOOK_WEIGHTS = {"SP_AVAILABLE": 3, "SP_TRADED": 7, "EX_BEST_OFFERS": 5, "EX_ALL_OFFERS": 17, "EX_TRADED": 17}


def book_weight(pp: w.PriceProjection | None) -> int:
    """Weight of one market of listMarketBook / listRunnerBook (003:L4976-4989)."""
    data = set(pp.price_data or []) if pp is not None else set()
    if not data:
        return 2
    if "EX_ALL_OFFERS" in data:
        data.discard("EX_BEST_OFFERS")  # EX_ALL_OFFERS trumps EX_BEST_OFFERS (003:L9594-9601)
    weight = 0
    if "EX_TRADED" in data and ("EX_BEST_OFFERS" in data or "EX_ALL_OFFERS" in data):
        weight += 20 if "EX_BEST_OFFERS" in data else 32  # the documented combinations
        data -= {"EX_TRADED", "EX_BEST_OFFERS", "EX_ALL_OFFERS"}
    for item in data:
        weight += BOOK_WEIGHTS.get(item, 0)
    overrides = pp.ex_best_offers_overrides if pp is not None else None
    depth = overrides.best_prices_depth if overrides is not None and overrides.best_prices_depth else 3
    if pp is not None and "EX_BEST_OFFERS" in (pp.price_data or []) and depth > 3:
        weight = -(-weight * depth // 3)  # weight * (requestedDepth / 3), rounded up
    return weight


def check_overrides(pp: w.PriceProjection | None) -> None:
    """exBestOffersOverrides (003:L12517-12552): a depth below 1 or a negative rollupLimit is
    INVALID_INPUT_DATA (a depth above 10 is served with 10 levels, "the maximum returned")."""
    o = pp.ex_best_offers_overrides if pp is not None else None
    if o is None:
        return
    if o.best_prices_depth is not None and o.best_prices_depth < 1:
        raise ApiError("INVALID_INPUT_DATA", "bestPricesDepth must be at least 1 (at most 10 levels are returned)")
    if o.rollup_limit is not None and o.rollup_limit < 0:
        raise ApiError("INVALID_INPUT_DATA", "rollupLimit must not be negative")


def _check_book(pp: w.PriceProjection | None, bet_ids: list[str] | None, markets: int) -> None:
    check_overrides(pp)
    if len(bet_ids or []) > MAX_IDS:  # 003:L10295-10297
        raise ApiError("REQUEST_SIZE_EXCEEDS_LIMIT", f"at most {MAX_IDS} betIds")
    if book_weight(pp) * markets > MAX_WEIGHT:
        raise ApiError("TOO_MUCH_DATA", "the price projection's weight times the markets exceeds 200")


def check_book(params: w.ListMarketBookParams) -> None:
    _check_book(params.price_projection, params.bet_ids, len(params.market_ids))


def check_runner_book(params: w.ListRunnerBookParams) -> None:
    """listRunnerBook has listMarketBook's limits (003:L4954-4993 "listMarketBook/listRunnerBook"), for
    its one market."""
    _check_book(params.price_projection, params.bet_ids, 1)


def check_catalogue(params: w.ListMarketCatalogueParams) -> None:
    weight = sum(CATALOGUE_WEIGHTS.get(p, 0) for p in set(params.market_projection or []))
    if weight * params.max_results > MAX_WEIGHT:
        raise ApiError("TOO_MUCH_DATA", "the projections' weight times maxResults exceeds 200")


def check_current_orders(params: w.ListCurrentOrdersParams) -> None:
    if len(params.bet_ids or []) + len(params.market_ids or []) > MAX_IDS:
        raise ApiError("REQUEST_SIZE_EXCEEDS_LIMIT", f"at most {MAX_IDS} betIds and marketIds together")


def check_profit_and_loss(params: w.ListMarketProfitAndLossParams) -> None:
    if 4 * len(params.market_ids) > MAX_WEIGHT:  # weight 4 per market (003:L4990-4992)
        raise ApiError("TOO_MUCH_DATA", "at most 50 markets")


class InstructionRate:
    """Instructions per account over the last second; above 1,000 -> TOO_MANY_REQUESTS."""

    def __init__(self, limit: int = MAX_INSTRUCTIONS_PER_SECOND) -> None:
        self.limit = limit
        self._recent: dict[str, deque[tuple[int, int]]] = {}
        self._totals: dict[str, int] = {}

    def take(self, account_id: str, n: int, now_ms: int) -> None:
        recent = self._recent.setdefault(account_id, deque())
        total = self._totals.get(account_id, 0)
        while recent and recent[0][0] <= now_ms - 1000:
            total -= recent.popleft()[1]
        if total + n > self.limit:
            self._totals[account_id] = total
            raise ApiError("TOO_MANY_REQUESTS", f"more than {self.limit} instructions in one second")
        recent.append((now_ms, n))
        self._totals[account_id] = total + n

    def give_back(self, account_id: str, n: int) -> None:
        """Undo the last `take` of `n` for the account: its call was refused before reaching the exchange
        (SERVICE_BUSY), so its instructions do not count."""
        recent = self._recent.get(account_id)
        if recent and recent[-1][1] == n:
            recent.pop()
            self._totals[account_id] -= n
