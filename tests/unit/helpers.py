"""A tiny builder for core unit tests: an Exchange with funded accounts and an OPEN market.

Units follow the core: `_minor` pence, `_h` hundredths (3.5 -> 350), sides codes.BACK / codes.LAY.
Every helper applies a command at `ts` (default: the exchange's current time, so a rejected command
leaves the state fingerprint unchanged).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backlay.core import codes
from backlay.core.commands import (
    AdvanceTime,
    CancelInstruction,
    CancelOrders,
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOrder,
    MarketDefinition,
    PlaceInstruction,
    PlaceOrders,
    ReplaceInstruction,
    ReplaceOrders,
    RunnerDefinition,
    SetMarketStatus,
    UpdateInstruction,
    UpdateOrders,
)
from backlay.core.exchange import Exchange
from backlay.core.orders import Order
from backlay.core.reports import (
    AdminResult,
    CancelExecutionReport,
    PlaceExecutionReport,
    ReplaceExecutionReport,
    UpdateExecutionReport,
)

BACK = codes.BACK
LAY = codes.LAY

MARKET = "1.100"
SEL_A, SEL_B, SEL_C = 11, 22, 33
RUNNERS = (SEL_A, SEL_B, SEL_C)
T0 = 1_700_000_000_000
FUNDS = 100_000  # £1,000 per account


def apply(ex: Exchange, cmd: Command, ts: int | None = None) -> Any:
    result, _events = ex.apply(cmd, ex.now_ms if ts is None else ts)
    return result


def admin(ex: Exchange, cmd: Command, ts: int | None = None) -> AdminResult:
    """Apply an operator command that must succeed."""
    result = apply(ex, cmd, ts)
    assert isinstance(result, AdminResult) and result.ok, result
    return result


def add_market(ex: Exchange, market_id: str = MARKET, runners: Iterable[int] = RUNNERS, *,
               open_market: bool = True, **definition: Any) -> None:
    d = MarketDefinition(name=f"market {market_id}", **definition)
    admin(ex, CreateMarket(market_id=market_id, definition=d,
                           runners=[RunnerDefinition(selection_id=s, name=f"runner {s}") for s in runners]))
    if open_market:
        admin(ex, SetMarketStatus(market_id=market_id, status=codes.OPEN))


def add_account(ex: Exchange, account_id: str, funds_minor: int = FUNDS, **kwargs: Any) -> None:
    admin(ex, CreateAccount(account_id=account_id, **kwargs))
    if funds_minor:
        admin(ex, Deposit(account_id=account_id, amount_minor=funds_minor))


def make_exchange(accounts: Iterable[str] = ("alice", "bob", "carol"), funds_minor: int = FUNDS, *,
                  market_id: str = MARKET, runners: Iterable[int] = RUNNERS, open_market: bool = True,
                  **definition: Any) -> Exchange:
    """Funded accounts and one market (OPEN unless told otherwise); `definition` overrides
    MarketDefinition fields (e.g. bsp_market=True, persistence_enabled=False)."""
    ex = Exchange()
    admin(ex, AdvanceTime(), T0)  # start the clock
    for a in accounts:
        add_account(ex, a, funds_minor)
    add_market(ex, market_id, runners, open_market=open_market, **definition)
    return ex


# --- instructions --------------------------------------------------------------------------------


def limit_ins(sel: int, side: int, price_h: int, size_minor: int | None = None, *,
              customer_order_ref: str | None = None, handicap_h: int = 0, **limit_kwargs: Any) -> PlaceInstruction:
    return PlaceInstruction(order_type=codes.LIMIT, selection_id=sel, side=side, handicap_h=handicap_h,
                            limit=LimitOrder(price_h=price_h, size_minor=size_minor, **limit_kwargs),
                            customer_order_ref=customer_order_ref)


def place_many(ex: Exchange, account: str, instructions: list[PlaceInstruction], *, market_id: str = MARKET,
               ts: int | None = None, **cmd_kwargs: Any) -> PlaceExecutionReport:
    report = apply(ex, PlaceOrders(account_id=account, market_id=market_id, instructions=instructions,
                                   **cmd_kwargs), ts)
    assert isinstance(report, PlaceExecutionReport)
    return report


def place(ex: Exchange, account: str, sel: int, side: int, price_h: int, size_minor: int | None, *,
          market_id: str = MARKET, ts: int | None = None, customer_order_ref: str | None = None,
          customer_ref: str | None = None, market_version: int | None = None,
          **limit_kwargs: Any) -> PlaceExecutionReport:
    """Place one LIMIT order; `limit_kwargs` go to LimitOrder (persistence, time_in_force, ...)."""
    ins = limit_ins(sel, side, price_h, size_minor, customer_order_ref=customer_order_ref, **limit_kwargs)
    return place_many(ex, account, [ins], market_id=market_id, ts=ts, customer_ref=customer_ref,
                      market_version=market_version)


def placed_id(report: PlaceExecutionReport, i: int = 0) -> int:
    """The bet id of the i-th instruction of a successful placement."""
    assert report.status == codes.SUCCESS, report
    bet_id = report.instruction_reports[i].bet_id
    assert bet_id is not None
    return bet_id


def rest(ex: Exchange, account: str, sel: int, side: int, price_h: int, size_minor: int, **kw: Any) -> int:
    """Place an order that must succeed; returns its bet id."""
    return placed_id(place(ex, account, sel, side, price_h, size_minor, **kw))


def order(ex: Exchange, bet_id: int) -> Order:
    return ex.orders[bet_id]


def cancel(ex: Exchange, account: str, *instructions: CancelInstruction | int, market_id: str | None = MARKET,
           all_bets: bool = False, ts: int | None = None, customer_ref: str | None = None) -> CancelExecutionReport:
    """Cancel bet ids (ints) or CancelInstructions; all_bets=True sends no instructions (cancel-all)."""
    ins = None if all_bets else [i if isinstance(i, CancelInstruction) else CancelInstruction(bet_id=i)
                                 for i in instructions]
    report = apply(ex, CancelOrders(account_id=account, market_id=market_id, instructions=ins,
                                    customer_ref=customer_ref), ts)
    assert isinstance(report, CancelExecutionReport)
    return report


def replace(ex: Exchange, account: str, *pairs: tuple[int, int], market_id: str = MARKET, ts: int | None = None,
            **cmd_kwargs: Any) -> ReplaceExecutionReport:
    report = apply(ex, ReplaceOrders(account_id=account, market_id=market_id,
                                     instructions=[ReplaceInstruction(bet_id=b, new_price_h=p) for b, p in pairs],
                                     **cmd_kwargs), ts)
    assert isinstance(report, ReplaceExecutionReport)
    return report


def update(ex: Exchange, account: str, *pairs: tuple[int, str], market_id: str = MARKET,
           ts: int | None = None) -> UpdateExecutionReport:
    report = apply(ex, UpdateOrders(account_id=account, market_id=market_id,
                                    instructions=[UpdateInstruction(bet_id=b, new_persistence=p) for b, p in pairs]),
                   ts)
    assert isinstance(report, UpdateExecutionReport)
    return report


# --- state ---------------------------------------------------------------------------------------


def balance(ex: Exchange, account: str) -> int:
    return ex.accounts[account].balance_minor


def exposure(ex: Exchange, account: str) -> int:
    return ex.accounts[account].exposure_minor


def available(ex: Exchange, account: str) -> int:
    return ex.accounts[account].available_minor


def book(ex: Exchange, sel: int, market_id: str = MARKET) -> Any:
    return ex.markets[market_id].runners[(sel, 0)].book


def to_back(ex: Exchange, sel: int, market_id: str = MARKET) -> list[tuple[int, int]]:
    """availableToBack (resting lays), best (highest) first."""
    return book(ex, sel, market_id).available_to_back()


def to_lay(ex: Exchange, sel: int, market_id: str = MARKET) -> list[tuple[int, int]]:
    """availableToLay (resting backs), best (lowest) first."""
    return book(ex, sel, market_id).available_to_lay()
