"""flumine pieces for test_flumine.py: a small strategy, a logging control that records what flumine's
workers report, and starting and stopping an unmodified `Flumine` in a thread.

Imported by test_flumine.py inside a fixture, not at collection: importing flumine replaces
betfairlightweight's `RunnerBookEX` / `RunnerBookSP` with its own classes (flumine/__init__.py, prices
as dicts instead of PriceSize objects), which the tests that drive betfairlightweight alone must not see.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import betfairlightweight
from betfairlightweight import filters
from flumine import BaseStrategy, Flumine, clients, worker
from flumine.controls.loggingcontrols import LoggingControl
from flumine.events.events import TerminationEvent
from flumine.markets.market import Market
from flumine.order.order import BaseOrder, OrderStatus
from flumine.order.ordertype import LimitOrder
from flumine.order.trade import Trade
from flumine.streams.betfairmarketstream import BetfairMarketStream
from flumine.worker import BackgroundWorker

__all__ = ["BackAndCancel", "OrderStatus", "Recorder", "Running", "start"]


class BackAndCancel(BaseStrategy):
    """On the first OPEN market book: one BACK LIMIT order per entry of `plan` (name -> selection,
    price, size), through flumine's order API; the order named "cancelled" is cancelled (market.cancel_order)
    as soon as flumine has it executable."""

    def __init__(self, plan: dict[str, tuple[int, float, float]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.orders: dict[str, BaseOrder] = {}
        self.closed_market_books: list[Any] = []

    def check_market_book(self, market: Market, market_book: Any) -> bool:
        return bool(market_book.status == "OPEN" and not self.orders)

    def process_market_book(self, market: Market, market_book: Any) -> None:
        for name, (selection_id, price, size) in self.plan.items():
            trade = Trade(market_id=market_book.market_id, selection_id=selection_id, handicap=0, strategy=self)
            order = trade.create_order(side="BACK", order_type=LimitOrder(price=price, size=size,
                                                                          persistence_type="LAPSE"))
            self.orders[name] = order
            market.place_order(order)

    def process_orders(self, market: Market, orders: list[BaseOrder]) -> None:
        order = self.orders.get("cancelled")
        if order is not None and order in orders and order.status == OrderStatus.EXECUTABLE and order.bet_id:
            market.cancel_order(order)

    def process_closed_market(self, market: Market, market_book: Any) -> None:
        self.closed_market_books.append(market_book)


class Recorder(LoggingControl):
    """flumine's logging-control hook: what its workers report (cleared orders, cleared markets, balances)."""

    NAME = "BACKLAY_TEST_RECORDER"

    def __init__(self) -> None:
        super().__init__()
        self.cleared_orders_meta: list[list[BaseOrder]] = []
        self.cleared_markets: list[Any] = []
        self.balances: list[float] = []

    def _process_cleared_orders_meta(self, event: Any) -> None:
        self.cleared_orders_meta.append(list(event.event))

    def _process_cleared_markets(self, event: Any) -> None:
        self.cleared_markets.extend(event.event.orders)

    def _process_balance(self, event: Any) -> None:
        self.balances.append(event.event.account_funds.available_to_bet_balance)


class Running:
    """A `Flumine` whose `run()` loop runs in a thread."""

    def __init__(self, framework: Flumine, strategy: BackAndCancel, recorder: Recorder) -> None:
        self.framework = framework
        self.strategy = strategy
        self.recorder = recorder
        self.thread = threading.Thread(target=framework.run, name="flumine", daemon=True)
        self.started = time.monotonic()
        self.thread.start()

    def market(self, market_id: str) -> Market | None:
        market: Market | None = self.framework.markets.markets.get(market_id)
        return market

    def stop(self, timeout_s: float = 30.0) -> None:
        """flumine's own way out of `run()`: a TerminationEvent on the handler queue; `run()` then shuts
        down workers and streams and logs out. A BackgroundWorker still inside its start delay (10 s for
        flumine's default pollers) sets itself running again when the delay ends and so would outlive
        the framework, polling forever: wait until every worker is past it first."""
        deadline = time.monotonic() + timeout_s
        workers = list(self.framework._workers)
        while self.thread.is_alive() and not all(w._running or not w.is_alive() for w in workers):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.framework.handler_queue.put(TerminationEvent(self.framework))
        self.thread.join(timeout=max(1.0, deadline - time.monotonic()))


def start(trading: betfairlightweight.APIClient, market_id: str, plan: dict[str, tuple[int, float, float]]) -> Running:
    """Flumine with one strategy streaming `market_id`, as a user would set it up, with its worker
    intervals shortened through flumine's own knobs."""
    # the keep-alive worker's interval is half the client's session timeout (Flumine._add_default_workers):
    # short, so it also exits promptly at shutdown
    trading.session_timeout = 2
    framework = Flumine(client=clients.BetfairClient(trading, interactive_login=True))
    strategy = BackAndCancel(plan, stream=BetfairMarketStream(
        market_filter=filters.streaming_market_filter(market_ids=[market_id])), max_live_trade_count=len(plan))
    framework.add_strategy(strategy)
    recorder = Recorder()
    framework.add_logging_control(recorder)
    # flumine's default workers poll cleared orders and balances every 60 / 120 s after a 10 s delay;
    # the same worker functions, added as workers with a short interval
    framework.add_worker(BackgroundWorker(framework, worker.poll_market_closure, interval=0.2,
                                          name="poll_market_closure_fast"))
    framework.add_worker(BackgroundWorker(framework, worker.poll_account_balance, interval=0.5,
                                          name="poll_account_balance_fast"))
    return Running(framework, strategy, recorder)
