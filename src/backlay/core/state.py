"""The exchange's state: what the stages of the core (placing, edits, lifecycle, settlement, ...) read
and change, and what a snapshot pickles. `Exchange` (exchange.py) owns it and adds dispatch,
snapshot support, invariants and the fingerprint; the stages reach it through a command's Ctx
(context.py).

Also here, because the state holds them: `Prepared`, a validated place instruction, and `Delayed`, a
placement held for its in-play bet delay.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from . import codes
from .catalogue import Catalogue
from .commands import PlaceInstruction
from .compiled import mypyc_attr
from .fixed_odds_book import FixedOddsBook
from .ledger import Ledger
from .market import Market
from .money import CURRENCIES, CurrencyParams
from .orders import Order
from .wallet import Account

FIRST_BET_ID: Final = 100_000_000_001  # 12-digit numeric strings, like Betfair's


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Prepared:
    """A validated place instruction, ready to reserve and execute."""

    __slots__ = (
        "bsp_liability_minor", "customer_order_ref", "given_persistence", "index", "instruction", "key",
        "min_fill_minor", "order_type", "persistence", "price_h", "reserve_minor", "side", "size_minor",
        "target_minor", "target_type", "tick", "time_in_force",
    )

    # The instruction's fields are copied here as they are read once: each read of a msgspec field is
    # a generic attribute look-up in the compiled core, and a placement needs them several times.
    def __init__(self, instruction: PlaceInstruction, key: tuple[int, int], index: int, side: int,
                 order_type: str, customer_order_ref: str | None) -> None:
        self.instruction = instruction
        self.key = key  # the runner's own key tuple, shared rather than rebuilt
        self.index = index
        self.side = side
        self.order_type = order_type
        self.customer_order_ref = customer_order_ref
        self.given_persistence: str | None = None  # as the instruction gave it, for the report's echo
        self.persistence = codes.LAPSE
        self.time_in_force: str | None = None
        self.price_h = 0
        self.tick = -1
        self.size_minor = 0
        self.min_fill_minor: int | None = None
        self.target_type: str | None = None
        self.target_minor = 0
        self.bsp_liability_minor = 0
        self.reserve_minor = 0


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Delayed:
    """A placement held for the in-play bet delay (003:L11586-11590)."""

    __slots__ = ("account_id", "async_", "customer_ref", "due_ms", "market_id", "orders", "placed_version",
                 "prepared", "suspend_count", "token")

    def __init__(self, token: int, account_id: str, market_id: str, due_ms: int, suspend_count: int,
                 placed_version: int, prepared: list[Prepared], orders: list[Order],
                 customer_ref: str | None, async_: bool) -> None:
        self.token = token
        self.account_id = account_id
        self.market_id = market_id
        self.due_ms = due_ms
        self.suspend_count = suspend_count
        self.placed_version = placed_version
        self.prepared = prepared
        self.orders = orders
        self.customer_ref = customer_ref
        self.async_ = async_


class ExchangeState:
    """Everything the exchange knows. Ids come from counters here (Ctx.new_bet_id and the like), so
    that the same commands always give the same ids."""

    def __init__(self, currency: str = "GBP") -> None:
        if currency not in CURRENCIES:
            raise ValueError(f"unsupported currency {currency}")
        self.currency = currency
        self.params: CurrencyParams = CURRENCIES[currency]
        self.accounts: dict[str, Account] = {}
        self.markets: dict[str, Market] = {}
        self.orders: dict[int, Order] = {}
        self.next_bet_id = FIRST_BET_ID
        self.next_match_id = 1
        self.next_token = 1
        self.next_settlement_id = 1
        self.commission_collected_minor = 0
        # customerRef de-duplication (dedup.py): (operation, account, ref) -> when, and expiry order
        self.customer_refs: dict[tuple[str, str, str], int] = {}
        self.customer_ref_expiry: deque[tuple[int, tuple[str, str, str]]] = deque()
        self.delayed: list[Delayed] = []  # by (due_ms, token)
        self.ledger = Ledger()
        self.catalogue = Catalogue()
        self.fixed_odds = FixedOddsBook()  # bets of the provider endpoint (fixed_odds.py)
        self.now_ms = 0
