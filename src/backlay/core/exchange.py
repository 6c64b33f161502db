"""The exchange: `Exchange.apply(command, ts_ms) -> (result, events)`.

Pure and deterministic: no I/O, no clock, no randomness. Time comes with each command (stamped by
the sequencer); bet ids and match ids come from counters in this state. A rejection is a result that
changes nothing. The same commands with the same times always give the same state, which is what
journal replay relies on.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar, Final

import msgspec

from . import bsp, codes, settlement
from .book import RunnerBook
from .catalogue import Catalogue
from .codes import BACK, LAY, AdminErr, ExecErr, InstrErr, Lapse
from .commands import (
    AdvanceTime,
    CancelInstruction,
    CancelOrders,
    CloseMarket,
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOnCloseOrder,
    LimitOrder,
    PlaceInstruction,
    PlaceOrders,
    RemoveRunner,
    ReplaceOrders,
    ResettleMarket,
    SetAccountStatus,
    SetBestExecution,
    SetExposureLimit,
    SetLossLimit,
    SetMarketStatus,
    SetRaceStatus,
    SettleMarket,
    TurnInPlay,
    UnsettleMarket,
    UpdateInstruction,
    UpdateMarketDefinition,
    UpdateOrders,
    UpsertCompetition,
    UpsertEvent,
    UpsertEventType,
    VoidMarket,
    Withdraw,
)
from .compiled import mypyc_attr
from .crossmatch import HOUSE
from .events import FundsChanged, MarketChanged, OrderChanged, PlacementCompleted, RunnerChanged
from .ledger import Ledger, StatementItem
from .market import Market
from .matching import MatchContext, best_offer, fok_plan, match, match_target, target_met, target_size_minor
from .money import CURRENCIES, CurrencyParams, lay_liability_reserve_minor
from .orders import Order
from .reports import (
    OK,
    AdminResult,
    CancelExecutionReport,
    CancelInstructionReport,
    PlaceExecutionReport,
    PlaceInstructionReport,
    ReplaceExecutionReport,
    ReplaceInstructionReport,
    Result,
    UpdateExecutionReport,
    UpdateInstructionReport,
    admin_error,
)
from .wallet import Account, Position, unmatched_reserve_minor

# Limits of 003: instructions per call (L10609-10610, L10056-10057, L11156-11158, L11186-11188),
# customerRef de-duplication window (L10611-10618), marketVersion length (L9811-9812).
MAX_PLACE_INSTRUCTIONS: Final = 200
MAX_EDIT_INSTRUCTIONS: Final = 60
CUSTOMER_REF_WINDOW_MS: Final = 60_000
MAX_MARKET_VERSION: Final = 10**12 - 1
MAX_ORDER_REF_CHARS: Final = 32
MAX_STRATEGY_REF_CHARS: Final = 15  # 003:L10624-10629
FIRST_BET_ID: Final = 100_000_000_001  # 12-digit numeric strings, like Betfair's

# Market definition fields an operator may change without a material change.
NON_MATERIAL_FIELDS = frozenset(
    {
        "name", "event_name", "competition_id", "competition_name", "country_code", "timezone", "venue",
        "open_date_ms", "market_time_ms", "suspend_time_ms", "persistence_enabled", "turn_in_play_enabled",
        "cross_matching", "runners_voidable", "discount_allowed", "market_base_rate_bp", "race_type",
        "regulator", "wallet", "rules", "rules_has_date", "clarifications", "bet_delay_models",
    }
)


def survives_material_event(order: Order) -> bool:
    """Unmatched bets a material event (turn in-play, a goal) leaves alone: all but LAPSE LIMIT bets
    (003:L9822-9829)."""
    return order.order_type != codes.LIMIT or order.persistence != codes.LAPSE


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


class Exchange:
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
        self.customer_refs: dict[tuple[str, str, str], int] = {}
        self.customer_ref_expiry: deque[tuple[int, tuple[str, str, str]]] = deque()
        self.delayed: list[Delayed] = []
        self.ledger = Ledger()
        self.catalogue = Catalogue()
        self.now_ms = 0
        self._events: list[Any] = []
        self._init_handlers()

    def _init_handlers(self) -> None:
        self._handlers: dict[type, Callable[[Any, int], Result]] = {
            PlaceOrders: self._place_orders,
            CancelOrders: self._cancel_orders,
            ReplaceOrders: self._replace_orders,
            UpdateOrders: self._update_orders,
            CreateAccount: self._create_account,
            Deposit: self._deposit,
            Withdraw: self._withdraw,
            SetAccountStatus: self._set_account_status,
            SetExposureLimit: self._set_exposure_limit,
            SetLossLimit: self._set_loss_limit,
            SetBestExecution: self._set_best_execution,
            CreateMarket: self._create_market,
            UpdateMarketDefinition: self._update_market_definition,
            SetMarketStatus: self._set_market_status,
            TurnInPlay: self._turn_in_play,
            RemoveRunner: self._remove_runner,
            CloseMarket: self._close_market,
            SettleMarket: self._settle_market,
            VoidMarket: self._void_market,
            UnsettleMarket: self._unsettle_market,
            ResettleMarket: self._resettle_market,
            UpsertEventType: self._upsert_event_type,
            UpsertCompetition: self._upsert_competition,
            UpsertEvent: self._upsert_event,
            SetRaceStatus: self._set_race_status,
            AdvanceTime: self._advance_time,
        }

    # Snapshots pickle the state; explicit names because a compiled (mypyc) class has no __dict__.
    _STATE: ClassVar[tuple[str, ...]] = ("currency", "params", "accounts", "markets", "orders", "next_bet_id", "next_match_id", "next_token",
              "next_settlement_id", "commission_collected_minor", "customer_refs", "customer_ref_expiry", "delayed",
              "ledger", "catalogue", "now_ms")

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in Exchange._STATE}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._events = []
        self._init_handlers()

    # --- entry point -------------------------------------------------------------------------------

    def apply(self, cmd: Command, ts_ms: int) -> tuple[Result, list[Any]]:
        """Apply one command stamped with `ts_ms`. Time never goes backwards inside the core."""
        if ts_ms < self.now_ms:
            ts_ms = self.now_ms
        self.now_ms = ts_ms
        events: list[Any] = []
        self._events = events
        if self.delayed and self.delayed[0].due_ms <= ts_ms:
            self._run_delayed(ts_ms)
        # the two commands of trading called directly: compiled, that is a native call, not a look-up
        # and a generic call through a bound method with the timestamp boxed
        result: Result
        cls = type(cmd)
        any_cmd: Any = cmd  # not cast(): that is a call in pure Python
        if cls is PlaceOrders:
            result = self._place_orders(any_cmd, ts_ms)
        elif cls is CancelOrders:
            result = self._cancel_orders(any_cmd, ts_ms)
        else:
            result = self._handlers[cls](cmd, ts_ms)
        return result, events

    def next_due_ms(self) -> int | None:
        """When the core next wants an AdvanceTime (the end of an in-play bet delay)."""
        return self.delayed[0].due_ms if self.delayed else None

    # --- helpers -----------------------------------------------------------------------------------

    def _new_bet_id(self) -> int:
        bid = self.next_bet_id
        self.next_bet_id = bid + 1
        return bid

    def _refresh_exposure(self, market: Market, account_id: str) -> None:
        pos = market.positions.get(account_id)
        acct = self.accounts[account_id]
        exposure = pos.exposure_minor(market.active) if pos is not None else 0
        if exposure != acct.exposure_by_market.get(market.market_id, 0):
            acct.set_market_exposure(market.market_id, exposure)
        self._events.append(FundsChanged(account_id))

    def _customer_ref_seen(self, op: str, account_id: str, ref: str | None, ts_ms: int) -> bool:
        """De-duplication of customerRef per account and operation, for 60 s (003:L10611-10618)."""
        if ref is None:
            return False
        expiry = self.customer_ref_expiry
        while expiry and expiry[0][0] <= ts_ms - CUSTOMER_REF_WINDOW_MS:
            _, old = expiry.popleft()
            if self.customer_refs.get(old, ts_ms) <= ts_ms - CUSTOMER_REF_WINDOW_MS:
                del self.customer_refs[old]
        return (op, account_id, ref) in self.customer_refs

    def _remember_customer_ref(self, op: str, account_id: str, ref: str | None, ts_ms: int) -> None:
        if ref is not None:
            self.customer_refs[(op, account_id, ref)] = ts_ms
            self.customer_ref_expiry.append((ts_ms, (op, account_id, ref)))

    def _lapse_or_cancel(self, market: Market, order: Order, by_minor: int, ts_ms: int,
                         lapse: bool, reason: str | None = None) -> int:
        """Take `by_minor` off the order's unmatched part (all of it for BSP orders)."""
        if order.order_type == codes.LIMIT or order.remaining_minor:
            by = min(by_minor, order.remaining_minor)
            in_book = order.in_book
            order.remaining_minor -= by
            if in_book:
                book = market.runner_list[order.runner_index].book
                (book.backs if order.side == BACK else book.lays).reduce(order, by)
                self._events.append(RunnerChanged(market.market_id, order.selection_id, order.handicap_h))
        else:
            by = 0
        if lapse:
            order.lapsed_minor += by
            order.lapsed_ms = ts_ms
            order.lapse_reason = reason
        else:
            order.cancelled_minor += by
            order.cancelled_ms = ts_ms
        if order.remaining_minor == 0 and order.status in (codes.EXECUTABLE, codes.PENDING):
            order.status = codes.EXECUTION_COMPLETE
        market.positions[order.account_id].reserve(
            order, unmatched_reserve_minor(order, order.remaining_minor, market.is_line)
            if order.status != codes.EXECUTION_COMPLETE else 0)
        self._events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
        return by

    def lapse_unmatched(self, market: Market, ts_ms: int, keep: Callable[[Order], bool] | None = None) -> None:
        """Lapse every unmatched order in the market except those `keep` keeps, pending delayed ones
        included."""
        touched: dict[str, None] = {}
        for dl in [d for d in self.delayed if d.market_id == market.market_id]:
            self.delayed.remove(dl)
            self._complete_delayed_lapsed(market, dl, ts_ms, Lapse.MKT_SUSPENDED)
        for order in market.orders.values():
            if order.status == codes.EXECUTABLE and (keep is None or not keep(order)):
                self._lapse_or_cancel(market, order, order.remaining_minor, ts_ms, lapse=True)
                touched[order.account_id] = None
        for account_id in touched:
            self._refresh_exposure(market, account_id)

    def _complete_delayed_lapsed(self, market: Market, dl: Delayed, ts_ms: int, reason: str) -> None:
        """A delayed placement whose bets lapse: lapse them and emit its final (failure) report."""
        for order in dl.orders:
            if order.status == codes.PENDING:
                self._lapse_or_cancel(market, order, order.remaining_minor, ts_ms, lapse=True, reason=reason)
        self._refresh_exposure(market, dl.account_id)
        reports = [self._instruction_report(p, o, codes.FAILURE, InstrErr.BET_TAKEN_OR_LAPSED)
                   for p, o in zip(dl.prepared, dl.orders)]
        report = PlaceExecutionReport(status=codes.FAILURE, error_code=ExecErr.BET_ACTION_ERROR,
                                      market_id=market.market_id, customer_ref=dl.customer_ref,
                                      instruction_reports=reports)
        self._events.append(PlacementCompleted(dl.token, dl.account_id, report))

    # --- placeOrders -------------------------------------------------------------------------------

    def _place_failure(self, cmd: PlaceOrders, error: str,
                       per_instruction: dict[int, str] | None = None) -> PlaceExecutionReport:
        reports = [
            PlaceInstructionReport(
                status=codes.FAILURE,
                instruction=ins,
                error_code=(per_instruction or {}).get(i, InstrErr.ERROR_IN_ORDER),
            )
            for i, ins in enumerate(cmd.instructions)
        ]
        return PlaceExecutionReport(status=codes.FAILURE, error_code=error, market_id=cmd.market_id,
                                    customer_ref=cmd.customer_ref, instruction_reports=reports)

    def _validate_place(self, market: Market, ins: PlaceInstruction) -> Prepared | str:
        """One instruction's checks, in the order the spec's error codes suggest; returns the first
        InstructionReportErrorCode that applies. Each field of the instruction is read once (see Prepared)."""
        runner = market.runner(ins.selection_id, ins.handicap_h)
        if runner is None or runner.status == codes.REMOVED_VACANT:
            return InstrErr.INVALID_RUNNER
        if runner.status == codes.REMOVED:
            return InstrErr.RUNNER_REMOVED
        order_ref = ins.customer_order_ref
        if order_ref is not None and len(order_ref) > MAX_ORDER_REF_CHARS:
            return InstrErr.INVALID_CUSTOMER_ORDER_REF
        side = ins.side
        if side != BACK and side != LAY:
            return InstrErr.INVALID_BID_TYPE
        order_type = ins.order_type
        p = Prepared(ins, runner.key, runner.index, side, order_type, order_ref)
        params = self.params
        d = market.definition
        if order_type == codes.LIMIT:
            lo = ins.limit
            if lo is None:
                return InstrErr.INVALID_BID_TYPE
            price_h = lo.price_h
            tick = market.ladder.tick(price_h)
            if tick is None:
                return InstrErr.INVALID_ODDS
            p.price_h = price_h
            p.tick = tick
            time_in_force, given_persistence, min_fill = lo.time_in_force, lo.persistence, lo.min_fill_minor
            p.given_persistence = given_persistence
            if time_in_force is not None:
                if time_in_force != codes.FILL_OR_KILL:
                    return InstrErr.TIME_IN_FORCE_CONFLICT
                # LAPSE is ignored with FILL_OR_KILL (003:L10837-10841); anything else is nonsensical
                if given_persistence is not None and given_persistence != codes.LAPSE:
                    return InstrErr.UNEXPECTED_PERSISTENCE_TYPE
                p.time_in_force = codes.FILL_OR_KILL
            elif min_fill is not None:
                return InstrErr.UNEXPECTED_MIN_FILL_SIZE
            else:
                persistence = given_persistence or codes.LAPSE
                if persistence == codes.PERSIST and not d.persistence_enabled:
                    return InstrErr.INVALID_PERSISTENCE_TYPE
                if persistence == codes.MARKET_ON_CLOSE and (
                    not d.bsp_market or market.is_line or market.inplay or market.bsp_reconciled
                ):
                    return InstrErr.INVALID_PERSISTENCE_TYPE
                if persistence not in codes.PERSISTENCE_TYPES:
                    return InstrErr.INVALID_PERSISTENCE_TYPE
                p.persistence = persistence
            target_type, size_minor = lo.bet_target_type, lo.size_minor
            if target_type is not None:
                # size and betTargetType are exclusive; targets are invalid on LINE markets (003:L12338-12358)
                if size_minor is not None or market.is_line or target_type not in (
                    codes.BACKERS_PROFIT, codes.PAYOUT
                ):
                    return InstrErr.INVALID_BET_SIZE
                target_minor = lo.bet_target_minor
                if target_minor is None or target_minor <= 0:
                    return InstrErr.INVALID_BET_SIZE
                p.target_type = target_type
                p.target_minor = target_minor
                size = target_size_minor(target_type, target_minor, price_h)
                # a lay's matched liability never exceeds its profit target, nor its payout target
                p.reserve_minor = size if side == BACK else target_minor
            else:
                if size_minor is None or size_minor <= 0:
                    return InstrErr.INVALID_BET_SIZE
                size = size_minor
                p.size_minor = size
                p.reserve_minor = size if (side == BACK or market.is_line) else \
                    lay_liability_reserve_minor(size, price_h)
            # min stake, or min payout for LIMIT orders (003:L10944-10952)
            payout_price_h = 200 if market.is_line else price_h
            if size < params.min_bet_size_minor and size * payout_price_h < params.min_bet_payout_minor * 100:
                return InstrErr.INVALID_BET_SIZE
            if p.time_in_force is not None and min_fill is not None and target_type is None:
                if min_fill <= 0 or min_fill > size or min_fill < params.min_bet_size_minor:
                    return InstrErr.INVALID_MIN_FILL_SIZE
                p.min_fill_minor = min_fill
            return p
        if order_type == codes.LIMIT_ON_CLOSE or order_type == codes.MARKET_ON_CLOSE:
            limit = ins.limit
            if limit is not None and limit.time_in_force is not None:
                return InstrErr.INVALID_ORDER_TYPE
            if not d.bsp_market or market.is_line or market.inplay or market.bsp_reconciled:
                return InstrErr.MARKET_NOT_OPEN_FOR_BSP_BETTING
            if order_type == codes.LIMIT_ON_CLOSE:
                loc = ins.limit_on_close
                if loc is None:
                    return InstrErr.INVALID_BID_TYPE
                tick = market.ladder.tick(loc.price_h)
                if tick is None:
                    return InstrErr.INVALID_ODDS
                p.price_h, p.tick, liability = loc.price_h, tick, loc.liability_minor
            else:
                moc = ins.market_on_close
                if moc is None:
                    return InstrErr.INVALID_BID_TYPE
                liability = moc.liability_minor
            # min BSP liability applies to lays; backs use the min bet size (001:L230, 003:L10709-10710)
            minimum = params.min_bsp_liability_minor if side == LAY else params.min_bet_size_minor
            if liability <= 0 or liability < minimum:
                return InstrErr.INVALID_BET_SIZE
            p.persistence = codes.MARKET_ON_CLOSE
            p.bsp_liability_minor = liability
            p.reserve_minor = liability
            return p
        return InstrErr.INVALID_BID_TYPE

    def _place_orders(self, cmd: PlaceOrders, ts_ms: int) -> PlaceExecutionReport:
        # each field read once (see Prepared)
        account_id, instructions, customer_ref = cmd.account_id, cmd.instructions, cmd.customer_ref
        market = self.markets.get(cmd.market_id)
        if market is None:
            return self._place_failure(cmd, ExecErr.INVALID_MARKET_ID)
        acct = self.accounts.get(account_id)
        if acct is None or acct.status != "ACTIVE":
            return self._place_failure(cmd, ExecErr.INVALID_ACCOUNT_STATE)
        if not instructions:
            return self._place_failure(cmd, ExecErr.INVALID_ORDER)
        if len(instructions) > MAX_PLACE_INSTRUCTIONS:
            return self._place_failure(cmd, ExecErr.TOO_MANY_INSTRUCTIONS)
        market_version, strategy_ref = cmd.market_version, cmd.customer_strategy_ref
        if market_version is not None and not 0 <= market_version <= MAX_MARKET_VERSION:
            return self._place_failure(cmd, ExecErr.INVALID_MARKET_VERSION)
        if strategy_ref is not None and len(strategy_ref) > MAX_STRATEGY_REF_CHARS:
            # "The supplied customer strategy reference is too long" (SportsAPING.xml), for every instruction
            return self._place_failure(cmd, ExecErr.BET_ACTION_ERROR, dict.fromkeys(
                range(len(instructions)), InstrErr.INVALID_CUSTOMER_STRATEGY_REF))
        if self._customer_ref_seen("place", account_id, customer_ref, ts_ms):
            return self._place_failure(cmd, ExecErr.DUPLICATE_TRANSACTION)
        if market.status != codes.OPEN:
            code = ExecErr.MARKET_SUSPENDED if market.status == codes.SUSPENDED else ExecErr.MARKET_NOT_OPEN_FOR_BETTING
            return self._place_failure(cmd, code, dict.fromkeys(range(len(instructions)),
                                                                InstrErr.MARKET_NOT_OPEN_FOR_BETTING))
        prepared, errors = self._prepare(market, instructions)
        if errors:
            return self._place_failure(cmd, ExecErr.BET_ACTION_ERROR, errors)
        report = self._place_prepared(market, acct, prepared, customer_ref, strategy_ref,
                                      cmd.source_app_key, market_version, cmd.async_, ts_ms)
        error_code = report.error_code
        if error_code != ExecErr.INSUFFICIENT_FUNDS and error_code != ExecErr.LOSS_LIMIT_EXCEEDED:
            self._remember_customer_ref("place", account_id, customer_ref, ts_ms)
        return report

    def _prepare(self, market: Market, instructions: list[PlaceInstruction]) -> tuple[list[Prepared], dict[int, str]]:
        prepared: list[Prepared] = []
        errors: dict[int, str] = {}
        for i, ins in enumerate(instructions):
            p = self._validate_place(market, ins)
            if isinstance(p, str):
                errors[i] = p
            else:
                prepared.append(p)
        if not errors and len(prepared) > 1:
            # a back and a lay on one runner whose prices overlap would match each other (003:L9872-9874)
            lowest_back: dict[tuple[int, int], int] = {}
            highest_lay: dict[tuple[int, int], int] = {}
            for i, p in enumerate(prepared):
                if p.order_type == codes.MARKET_ON_CLOSE:
                    continue
                if p.side == BACK:
                    if p.key in highest_lay and p.price_h <= highest_lay[p.key]:
                        errors[i] = InstrErr.INVALID_BACK_LAY_COMBINATION
                    lowest_back[p.key] = min(p.price_h, lowest_back.get(p.key, p.price_h))
                else:
                    if p.key in lowest_back and p.price_h >= lowest_back[p.key]:
                        errors[i] = InstrErr.INVALID_BACK_LAY_COMBINATION
                    highest_lay[p.key] = max(p.price_h, highest_lay.get(p.key, p.price_h))
        return prepared, errors

    @staticmethod
    def _breach(acct: Account, new_total: int) -> str | None:
        """The error a new total exposure causes, if it raises exposure past a limit: the balance or the
        exposure limit (INSUFFICIENT_FUNDS), or the self-imposed loss limit (LOSS_LIMIT_EXCEEDED)."""
        if new_total <= acct.exposure_minor:
            return None  # a bet that lowers exposure is always allowed
        limit = acct.exposure_limit_minor
        if new_total > acct.balance_minor or (limit is not None and new_total > limit):
            return ExecErr.INSUFFICIENT_FUNDS
        loss_limit = acct.loss_limit_minor
        if loss_limit is not None and new_total + acct.losses_since_limit_minor > loss_limit:
            return ExecErr.LOSS_LIMIT_EXCEEDED
        return None

    def _reserve_batch(self, market: Market, acct: Account, prepared: list[Prepared]) -> tuple[int, str] | None:
        """Hold the unmatched worst case of a batch; when that breaks a limit, undo and return the index
        of the instruction that broke it and the error. Matching only ever lowers exposure, so this
        check covers whatever the batch goes on to match."""
        created = acct.account_id not in market.positions
        pos = market.position(acct.account_id)
        old_market = acct.exposure_by_market.get(market.market_id, 0)
        for p in prepared:
            pos.hold(p.index, p.side, p.reserve_minor)
        new_market = pos.exposure_minor(market.active)
        breach = self._breach(acct, acct.exposure_minor - old_market + new_market)
        if breach is not None:
            culprit = self._unreserve(market, acct, pos, prepared, old_market)
            if created:
                del market.positions[acct.account_id]
            return culprit, breach
        if new_market != old_market:
            acct.set_market_exposure(market.market_id, new_market)
        self._events.append(FundsChanged(acct.account_id))
        return None

    def _unreserve(self, market: Market, acct: Account, pos: Position, prepared: list[Prepared],
                   old_market: int) -> int:
        """Undo a batch's holds after a breached limit, leaving the position exactly as it was;
        returns the index of the first instruction that broke the limit, for the report."""
        for p in prepared:
            pos.hold(p.index, p.side, -p.reserve_minor)
        culprit = len(prepared) - 1
        for i, p in enumerate(prepared):
            pos.hold(p.index, p.side, p.reserve_minor)
            if self._breach(acct, acct.exposure_minor - old_market + pos.exposure_minor(market.active)):
                culprit = i
                for q in prepared[: i + 1]:
                    pos.hold(q.index, q.side, -q.reserve_minor)
                break
        else:
            for p in prepared:
                pos.hold(p.index, p.side, -p.reserve_minor)
        return culprit

    def _new_order(self, market: Market, acct: Account, p: Prepared, strategy_ref: str | None,
                   app_key: str | None, ts_ms: int) -> Order:
        key = p.key
        order = Order(self._new_bet_id(), acct.account_id, market.market_id, key[0], key[1],
                      p.side, p.order_type, p.persistence, p.price_h, p.tick, p.size_minor, ts_ms, market.version)
        order.runner_index = p.index
        order.time_in_force = p.time_in_force
        order.bsp_liability_minor = p.bsp_liability_minor
        order.customer_order_ref = p.customer_order_ref or None
        order.customer_strategy_ref = strategy_ref or None
        order.source_app_key = app_key
        order.reserved_minor = p.reserve_minor  # already held by _reserve_batch
        self.orders[order.bet_id] = order
        market.orders[order.bet_id] = order
        return order

    def _place_prepared(self, market: Market, acct: Account, prepared: list[Prepared], customer_ref: str | None,
                        strategy_ref: str | None, app_key: str | None, market_version: int | None,
                        async_: bool, ts_ms: int,
                        strategy_refs: list[str | None] | None = None) -> PlaceExecutionReport:
        """Funds, version, delay, then execution of an already validated batch (atomic)."""
        breach = self._reserve_batch(market, acct, prepared)
        if breach is not None:
            culprit, code = breach
            reports = [
                PlaceInstructionReport(status=codes.FAILURE, instruction=p.instruction,
                                       error_code=code if i == culprit else InstrErr.ERROR_IN_ORDER)
                for i, p in enumerate(prepared)
            ]
            return PlaceExecutionReport(status=codes.FAILURE, error_code=code,
                                        market_id=market.market_id, customer_ref=customer_ref,
                                        instruction_reports=reports)
        refs = strategy_refs if strategy_refs is not None else [strategy_ref] * len(prepared)
        orders = [self._new_order(market, acct, p, ref, app_key, ts_ms) for p, ref in zip(prepared, refs)]
        if market_version is not None and market_version < market.min_version:
            # placed against a version older than the last material change: lapsed, with bet ids (003:L10898-10909)
            for order in orders:
                self._lapse_or_cancel(market, order, order.remaining_minor, ts_ms, lapse=True,
                                      reason=Lapse.MKT_VERSION)
            self._refresh_exposure(market, acct.account_id)
            reports = [self._instruction_report(p, o, codes.FAILURE, InstrErr.BET_TAKEN_OR_LAPSED)
                       for p, o in zip(prepared, orders)]
            return PlaceExecutionReport(status=codes.FAILURE, error_code=ExecErr.BET_ACTION_ERROR,
                                        market_id=market.market_id, customer_ref=customer_ref,
                                        instruction_reports=reports)
        if market.inplay and market.bet_delay_s > 0 and not self._passive(market, prepared):
            for order in orders:
                order.status = codes.PENDING
            token = self.next_token
            self.next_token += 1
            due = ts_ms + market.bet_delay_s * 1000
            self.delayed.append(Delayed(token, acct.account_id, market.market_id, due, market.suspend_count,
                                        market.version, prepared, orders, customer_ref, async_))
            self.delayed.sort(key=lambda dl: (dl.due_ms, dl.token))
            for order in orders:
                self._events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
            reports = [self._instruction_report(p, o, codes.SUCCESS, None, pending=True)
                       for p, o in zip(prepared, orders)]
            return PlaceExecutionReport(status=codes.SUCCESS, market_id=market.market_id, customer_ref=customer_ref,
                                        instruction_reports=reports, delayed_token=token, delayed_until_ms=due)
        self._execute(market, acct, prepared, orders, ts_ms)
        return self._executed_report(market.market_id, customer_ref, prepared, orders, async_)

    def _executed_report(self, market_id: str, customer_ref: str | None, prepared: list[Prepared],
                         orders: list[Order], async_: bool) -> PlaceExecutionReport:
        """The report of an executed batch. Bets the account's best-execution preference lapsed are
        failures, so such a batch is not atomic (003:L10600-10603)."""
        reports = [
            self._instruction_report(p, o, codes.FAILURE, InstrErr.BET_LAPSED_PRICE_IMPROVEMENT_TOO_LARGE)
            if o.lapse_reason == Lapse.PRICE_IMP_TOO_LARGE else
            self._instruction_report(p, o, codes.SUCCESS, None, pending=async_)
            for p, o in zip(prepared, orders)
        ]
        status, error_code = _batch_status(reports)
        return PlaceExecutionReport(status=status, market_id=market_id, customer_ref=customer_ref,
                                    instruction_reports=reports, error_code=error_code)

    def _passive(self, market: Market, prepared: list[Prepared]) -> bool:
        """PASSIVE bet delay model: plain LIMIT orders that cannot match now skip the delay (003:L9958-9966)."""
        if "PASSIVE" not in market.definition.bet_delay_models:
            return False
        for p in prepared:
            lo = p.instruction.limit
            if p.order_type != codes.LIMIT or lo is None or lo.time_in_force or lo.min_fill_minor or lo.bet_target_type:
                return False
            book = market.runner_list[p.index].book
            if p.side == BACK:
                if book.lays.ticks and book.lays.ticks[-1] >= p.tick:
                    return False
            elif book.backs.ticks and book.backs.ticks[0] <= p.tick:
                return False
        return True

    @staticmethod
    def _instruction_report(p: Prepared, order: Order, status: str, error: str | None,
                            pending: bool = False) -> PlaceInstructionReport:
        echo = p.instruction
        # the echo normalises persistence: a missing one is LAPSE (003:L10927 vs L10932), and it is left
        # out when a time in force is given (003:L10837 vs L10841)
        fok = p.time_in_force is not None
        if p.order_type == codes.LIMIT and (p.given_persistence is not None) == fok:
            lo = echo.limit
            assert lo is not None
            echo = msgspec.structs.replace(echo, limit=msgspec.structs.replace(
                lo, persistence=None if fok else codes.LAPSE))
        if pending:
            return PlaceInstructionReport(status=status, instruction=echo, error_code=error,
                                          order_status=codes.PENDING, bet_id=order.bet_id, placed_ms=order.placed_ms)
        if order.order_type != codes.LIMIT:  # no status or matched size for MOC/LOC (003:L12376-12386)
            return PlaceInstructionReport(status=status, instruction=echo, error_code=error, bet_id=order.bet_id,
                                          placed_ms=order.placed_ms)
        return PlaceInstructionReport(
            status=status, instruction=echo, error_code=error, order_status=order.status, bet_id=order.bet_id,
            placed_ms=order.placed_ms, size_matched_minor=order.matched_minor, matched_value=order.matched_value,
        )

    def _execute(self, market: Market, acct: Account, prepared: list[Prepared], orders: list[Order],
                 ts_ms: int) -> None:
        """Match each order, then rest what is left (LIMIT) or kill it (FILL_OR_KILL)."""
        ctx = MatchContext(self.next_match_id, self._house_order)
        events = self._events
        mid = market.market_id
        for p, order in zip(prepared, orders):
            if p.order_type != codes.LIMIT:  # an SP bet: it changes the runner's projected SP
                events.append(OrderChanged(mid, order.account_id, order.bet_id))
                events.append(RunnerChanged(mid, order.selection_id, order.handicap_h))
                continue
            if p.target_type is not None or p.time_in_force is not None:
                ctx.touched[acct.account_id] = None
            runner = market.runner_list[p.index]
            book = runner.book
            makers: list[Order] = []
            if p.target_type is not None:
                fok = p.time_in_force is not None
                if fok and not target_met(market, order, p.target_type, p.target_minor):
                    # killed: nothing matches; the order is the target's size at its limit, lapsed
                    order.size_minor = order.remaining_minor = target_size_minor(
                        p.target_type, p.target_minor, order.price_h)
                    self._lapse_or_cancel(market, order, order.remaining_minor, ts_ms, lapse=True)
                    order.status = codes.EXPIRED
                else:
                    left = match_target(ctx, market, book, order, p.target_type, p.target_minor, ts_ms, makers)
                    rest = target_size_minor(p.target_type, left, order.price_h) if left and not fok else 0
                    order.remaining_minor = rest
                    order.size_minor = order.matched_minor + rest
                    order.status = codes.EXECUTABLE if rest else codes.EXECUTION_COMPLETE
                    market.positions[order.account_id].reserve(
                        order, unmatched_reserve_minor(order, rest, market.is_line))
            elif p.time_in_force is not None:
                total, worst_tick = fok_plan(market, order, p.price_h, order.size_minor, not market.is_line)
                needed = p.min_fill_minor if p.min_fill_minor is not None else order.size_minor
                if total >= needed and total > 0:
                    match(ctx, market, book, order, worst_tick, total, ts_ms, makers)
                if order.remaining_minor:
                    killed_all = order.matched_minor == 0
                    self._lapse_or_cancel(market, order, order.remaining_minor, ts_ms, lapse=True)
                    if killed_all:
                        order.status = codes.EXPIRED
            elif self._improvement_too_large(acct, market, book, order):
                self._lapse_or_cancel(market, order, order.remaining_minor, ts_ms, lapse=True,
                                      reason=Lapse.PRICE_IMP_TOO_LARGE)
                ctx.touched[acct.account_id] = None
            else:
                match(ctx, market, book, order, order.tick, order.remaining_minor, ts_ms, makers)
            if order.remaining_minor and order.status == codes.EXECUTABLE:
                (book.backs if order.side == BACK else book.lays).add(order)
            if makers or order.status == codes.EXECUTABLE:
                events.append(RunnerChanged(mid, order.selection_id, order.handicap_h))
            events.append(OrderChanged(mid, order.account_id, order.bet_id))
            if makers:
                ctx.touched[acct.account_id] = None
                other_runners: dict[int, Order] = {}
                for maker in makers:
                    events.append(OrderChanged(mid, maker.account_id, maker.bet_id))
                    if maker.runner_index != order.runner_index:  # a cross-matched leg
                        other_runners[maker.runner_index] = maker
                for maker in other_runners.values():
                    events.append(RunnerChanged(mid, maker.selection_id, maker.handicap_h))
        self.next_match_id = ctx.next_match_id
        for account_id in ctx.touched:
            self._refresh_exposure(market, account_id)

    @staticmethod
    def _improvement_too_large(acct: Account, market: Market, book: RunnerBook, order: Order) -> bool:
        """Would the best price on offer (virtual ones included) beat the order's by more ticks than the
        account accepts?"""
        limit = acct.max_price_improvement_ticks
        if limit is None:
            return False
        best = best_offer(market, book, order)
        if best is None:
            return False
        return (best[0] - order.tick if order.side == BACK else order.tick - best[0]) > limit

    def _house_order(self, market: Market, index: int, side: int, ts_ms: int) -> Order:
        """The cross-matching book's order on one runner and side of a market (crossmatch.py), made on
        its first match; the house account is made with its first order."""
        key = (index, side)
        bet_id = market.house_bets.get(key)
        if bet_id is not None:
            return market.orders[bet_id]
        if HOUSE not in self.accounts:
            self.accounts[HOUSE] = Account(HOUSE, self.currency, None)
        runner = market.runner_list[index]
        order = Order(self._new_bet_id(), HOUSE, market.market_id, runner.selection_id, runner.handicap_h, side,
                      codes.LIMIT, codes.PERSIST, 0, -1, 0, ts_ms, market.version)
        order.runner_index = index
        self.orders[order.bet_id] = order
        market.orders[order.bet_id] = order
        market.house_bets[key] = order.bet_id
        market.position(HOUSE)
        return order

    def _run_delayed(self, ts_ms: int) -> None:
        """Release placements whose bet delay has passed: they lapse if the market suspended or made a
        material change meanwhile (lapse reasons MKT_SUSPENDED / MKT_VERSION, 003:L6851-6855)."""
        while self.delayed and self.delayed[0].due_ms <= ts_ms:
            dl = self.delayed.pop(0)
            market = self.markets[dl.market_id]
            acct = self.accounts[dl.account_id]
            live = [o for o in dl.orders if o.status == codes.PENDING]
            reason = None
            if market.status != codes.OPEN or market.suspend_count != dl.suspend_count:
                reason = Lapse.MKT_SUSPENDED
            elif market.min_version > dl.placed_version:
                reason = Lapse.MKT_VERSION
            if reason is not None:
                self._complete_delayed_lapsed(market, dl, ts_ms, reason)
            else:
                for order in live:
                    order.status = codes.EXECUTABLE
                pairs = [(p, o) for p, o in zip(dl.prepared, dl.orders) if o.status == codes.EXECUTABLE]
                self._execute(market, acct, [p for p, _ in pairs], [o for _, o in pairs], ts_ms)
                report = self._executed_report(market.market_id, dl.customer_ref, dl.prepared, dl.orders, dl.async_)
                self._events.append(PlacementCompleted(dl.token, dl.account_id, report))

    def _advance_time(self, cmd: AdvanceTime, ts_ms: int) -> AdminResult:
        return OK

    # --- cancelOrders ------------------------------------------------------------------------------

    def _bet_error(self, order: Order | None, account_id: str, market: Market) -> str | None:
        if order is None or order.account_id != account_id or order.market_id != market.market_id:
            return InstrErr.INVALID_BET_ID
        if order.status == codes.PENDING:
            return InstrErr.BET_IN_PROGRESS
        if order.order_type != codes.LIMIT or order.remaining_minor == 0 or order.status != codes.EXECUTABLE:
            return InstrErr.BET_TAKEN_OR_LAPSED
        return None

    def _loc_edit_error(self, order: Order | None, account_id: str, market: Market, new_price_h: int) -> str | None:
        """A LIMIT_ON_CLOSE price may change until reconciliation, only towards being matched more
        easily: a lay's limit up, a back's down (INVALID_PRICE_EDIT, 003:L9863-9864)."""
        if order is None or order.account_id != account_id or order.market_id != market.market_id:
            return InstrErr.INVALID_BET_ID
        if order.status != codes.EXECUTABLE or market.inplay or market.bsp_reconciled:
            return InstrErr.BET_TAKEN_OR_LAPSED
        if (order.side == LAY and new_price_h < order.price_h) or (order.side == BACK and new_price_h > order.price_h):
            return InstrErr.INVALID_PRICE_EDIT
        return None

    def _cancel_orders(self, cmd: CancelOrders, ts_ms: int) -> CancelExecutionReport:
        # the command's fields are read once: each read of a msgspec field costs a generic attribute
        # look-up in the compiled core
        account_id, market_id, instructions, customer_ref = (
            cmd.account_id, cmd.market_id, cmd.instructions, cmd.customer_ref)

        def fail(code: str) -> CancelExecutionReport:
            reports = [CancelInstructionReport(status=codes.FAILURE, instruction=ins, error_code=InstrErr.ERROR_IN_ORDER)
                       for ins in instructions or []]
            return CancelExecutionReport(status=codes.FAILURE, error_code=code, market_id=market_id,
                                         customer_ref=customer_ref, instruction_reports=reports)

        if account_id not in self.accounts:
            return fail(ExecErr.INVALID_ACCOUNT_STATE)
        if self._customer_ref_seen("cancel", account_id, customer_ref, ts_ms):
            return fail(ExecErr.DUPLICATE_TRANSACTION)
        if market_id is None:
            if instructions:
                return fail(ExecErr.INVALID_MARKET_ID)
            # account-level cancel-all: no instruction reports (003:L12409-12410)
            for each in self.markets.values():
                self._cancel_all_in_market(each, account_id, ts_ms)
            self._remember_customer_ref("cancel", account_id, customer_ref, ts_ms)
            return CancelExecutionReport(status=codes.SUCCESS, market_id=None, customer_ref=customer_ref,
                                         instruction_reports=[])
        market = self.markets.get(market_id)
        if market is None:
            return fail(ExecErr.INVALID_MARKET_ID)
        if instructions is None:
            reports = self._cancel_all_in_market(market, account_id, ts_ms)
            self._remember_customer_ref("cancel", account_id, customer_ref, ts_ms)
            return CancelExecutionReport(status=codes.SUCCESS, market_id=market_id, customer_ref=customer_ref,
                                         instruction_reports=reports)
        if len(instructions) > MAX_EDIT_INSTRUCTIONS:
            return fail(ExecErr.TOO_MANY_INSTRUCTIONS)
        ids = [ins.bet_id for ins in instructions]
        if len(ids) > 1 and len(set(ids)) != len(ids):
            return fail(ExecErr.DUPLICATE_BETIDS)
        found: list[Order | None] = []
        for bet_id in ids:
            o = self.orders.get(bet_id)
            if o is not None and o.account_id == account_id and o.market_id != market_id:
                return fail(ExecErr.INVALID_ORDER)
            found.append(o)
        reports = []
        for ins, order in zip(instructions, found):
            error = self._bet_error(order, account_id, market)
            reduction = ins.size_reduction_minor
            if error is None and reduction is not None and reduction <= 0:
                error = InstrErr.INVALID_BET_SIZE
            if error is not None or order is None:
                reports.append(CancelInstructionReport(status=codes.FAILURE, instruction=ins,
                                                       error_code=error or InstrErr.INVALID_BET_ID))
                continue
            by = order.remaining_minor if reduction is None else reduction
            done = self._lapse_or_cancel(market, order, by, ts_ms, lapse=False)
            reports.append(CancelInstructionReport(status=codes.SUCCESS, instruction=ins, size_cancelled_minor=done,
                                                   cancelled_ms=ts_ms))
        self._refresh_exposure(market, account_id)
        status, error_code = _batch_status(reports)
        if reports and status != codes.FAILURE:  # a request that changed nothing keeps its ref
            self._remember_customer_ref("cancel", account_id, customer_ref, ts_ms)
        return CancelExecutionReport(status=status, error_code=error_code, market_id=market_id,
                                     customer_ref=customer_ref, instruction_reports=reports)

    def _cancel_all_in_market(self, market: Market, account_id: str, ts_ms: int) -> list[CancelInstructionReport]:
        reports = []
        for order in market.orders.values():
            if (order.account_id == account_id and order.order_type == codes.LIMIT
                    and order.status == codes.EXECUTABLE and order.remaining_minor):
                done = self._lapse_or_cancel(market, order, order.remaining_minor, ts_ms, lapse=False)
                reports.append(CancelInstructionReport(status=codes.SUCCESS, instruction=CancelInstruction(bet_id=order.bet_id),
                                                       size_cancelled_minor=done, cancelled_ms=ts_ms))
        if reports:
            self._refresh_exposure(market, account_id)
        return reports

    # --- replaceOrders -----------------------------------------------------------------------------

    def _replace_orders(self, cmd: ReplaceOrders, ts_ms: int) -> ReplaceExecutionReport:
        def fail(code: str, instruction_code: str = InstrErr.ERROR_IN_ORDER) -> ReplaceExecutionReport:
            reports = [ReplaceInstructionReport(status=codes.FAILURE, error_code=instruction_code)
                       for _ in cmd.instructions]
            return ReplaceExecutionReport(status=codes.FAILURE, error_code=code, market_id=cmd.market_id,
                                          customer_ref=cmd.customer_ref, instruction_reports=reports)

        market = self.markets.get(cmd.market_id)
        if market is None:
            return fail(ExecErr.INVALID_MARKET_ID)
        acct = self.accounts.get(cmd.account_id)
        if acct is None or acct.status != "ACTIVE":
            return fail(ExecErr.INVALID_ACCOUNT_STATE)
        if not cmd.instructions:
            return fail(ExecErr.INVALID_ORDER)
        if len(cmd.instructions) > MAX_EDIT_INSTRUCTIONS:
            return fail(ExecErr.TOO_MANY_INSTRUCTIONS)
        if cmd.market_version is not None and not 0 <= cmd.market_version <= MAX_MARKET_VERSION:
            return fail(ExecErr.INVALID_MARKET_VERSION)
        ids = [ins.bet_id for ins in cmd.instructions]
        if len(set(ids)) != len(ids):
            return fail(ExecErr.DUPLICATE_BETIDS)
        if self._customer_ref_seen("replace", cmd.account_id, cmd.customer_ref, ts_ms):
            return fail(ExecErr.DUPLICATE_TRANSACTION)
        if market.status != codes.OPEN:  # editing a bet on a market not open (003:L9857)
            return fail(ExecErr.MARKET_SUSPENDED if market.status == codes.SUSPENDED
                        else ExecErr.MARKET_NOT_OPEN_FOR_BETTING, InstrErr.MARKET_NOT_OPEN_FOR_BETTING)
        # 1. cancel phase, instruction by instruction; never rolled back (003:L11174-11177)
        reports: list[ReplaceInstructionReport] = []
        to_place: list[tuple[int, PlaceInstruction, Order]] = []
        for ins in cmd.instructions:
            order = self.orders.get(ins.bet_id)
            loc = order is not None and order.order_type == codes.LIMIT_ON_CLOSE
            error = self._loc_edit_error(order, cmd.account_id, market, ins.new_price_h) if loc else \
                self._bet_error(order, cmd.account_id, market)
            if error is None and order is not None and ins.new_price_h == order.price_h:
                error = InstrErr.NO_ACTION_REQUIRED
            if error is not None or order is None:
                reports.append(ReplaceInstructionReport(status=codes.FAILURE, error_code=error))
                continue
            cancel_ins = CancelInstruction(bet_id=ins.bet_id)
            if loc:
                # a LOC price edit is a cancellation of the whole bet and a new one (003:L6758-6764)
                liability = order.bsp_liability_minor
                self._lapse_or_cancel(market, order, 0, ts_ms, lapse=False)
                done = 0
                new_ins = PlaceInstruction(
                    order_type=codes.LIMIT_ON_CLOSE, selection_id=order.selection_id, handicap_h=order.handicap_h,
                    side=order.side, limit_on_close=LimitOnCloseOrder(liability_minor=liability, price_h=ins.new_price_h),
                    customer_order_ref=order.customer_order_ref)
            else:
                done = self._lapse_or_cancel(market, order, order.remaining_minor, ts_ms, lapse=False)
                # the new bet keeps side, runner, persistence and refs, for the cancelled size (003:L12425-12430)
                persistence = None if order.time_in_force else order.persistence
                new_ins = PlaceInstruction(
                    order_type=codes.LIMIT, selection_id=order.selection_id, handicap_h=order.handicap_h,
                    side=order.side, limit=LimitOrder(price_h=ins.new_price_h, size_minor=done, persistence=persistence),
                    customer_order_ref=order.customer_order_ref)
            reports.append(ReplaceInstructionReport(
                status=codes.SUCCESS,
                cancel_report=CancelInstructionReport(status=codes.SUCCESS, instruction=cancel_ins,
                                                      size_cancelled_minor=done, cancelled_ms=ts_ms)))
            to_place.append((len(reports) - 1, new_ins, order))
        if to_place:
            self._refresh_exposure(market, cmd.account_id)
            # 2. place phase, atomic
            prepared, errors = self._prepare(market, [t[1] for t in to_place])
            place_report: PlaceExecutionReport | None = None
            if not errors:
                place_report = self._place_prepared(market, acct, prepared, None, None, cmd.source_app_key,
                                                    cmd.market_version, cmd.async_, ts_ms,
                                                    strategy_refs=[t[2].customer_strategy_ref for t in to_place])
            for j, (ri, new_ins, _) in enumerate(to_place):
                if place_report is not None and place_report.status == codes.SUCCESS:
                    placed = place_report.instruction_reports[j]
                    if place_report.delayed_token is not None:
                        placed.order_status = codes.PENDING
                    reports[ri].place_report = placed
                else:
                    code = errors.get(j, InstrErr.ERROR_IN_ORDER) if errors else (
                        place_report.instruction_reports[j].error_code if place_report else InstrErr.ERROR_IN_ORDER)
                    reports[ri].status = codes.FAILURE
                    reports[ri].error_code = InstrErr.CANCELLED_NOT_PLACED
                    reports[ri].place_report = (place_report.instruction_reports[j] if place_report is not None else
                                                PlaceInstructionReport(status=codes.FAILURE, instruction=new_ins,
                                                                       error_code=code))
        if to_place:  # some bet was cancelled: the request did something
            self._remember_customer_ref("replace", cmd.account_id, cmd.customer_ref, ts_ms)
        status, error_code = _batch_status(reports)
        if all(r.error_code == InstrErr.NO_ACTION_REQUIRED for r in reports):
            # nothing would change, so nothing reached the matcher (003:L9797-9798)
            status, error_code = codes.FAILURE, ExecErr.NO_ACTION_REQUIRED
        return ReplaceExecutionReport(status=status, error_code=error_code, market_id=cmd.market_id,
                                      customer_ref=cmd.customer_ref, instruction_reports=reports)

    # --- updateOrders ------------------------------------------------------------------------------

    def _update_orders(self, cmd: UpdateOrders, ts_ms: int) -> UpdateExecutionReport:
        def fail(code: str, instruction_code: str = InstrErr.ERROR_IN_ORDER) -> UpdateExecutionReport:
            reports = [UpdateInstructionReport(status=codes.FAILURE, instruction=ins, error_code=instruction_code)
                       for ins in cmd.instructions]
            return UpdateExecutionReport(status=codes.FAILURE, error_code=code, market_id=cmd.market_id,
                                         customer_ref=cmd.customer_ref, instruction_reports=reports)

        market = self.markets.get(cmd.market_id)
        if market is None:
            return fail(ExecErr.INVALID_MARKET_ID)
        if cmd.account_id not in self.accounts:
            return fail(ExecErr.INVALID_ACCOUNT_STATE)
        if not cmd.instructions:
            return fail(ExecErr.INVALID_ORDER)
        if len(cmd.instructions) > MAX_EDIT_INSTRUCTIONS:
            return fail(ExecErr.TOO_MANY_INSTRUCTIONS)
        ids = [ins.bet_id for ins in cmd.instructions]
        if len(set(ids)) != len(ids):
            return fail(ExecErr.DUPLICATE_BETIDS)
        if self._customer_ref_seen("update", cmd.account_id, cmd.customer_ref, ts_ms):
            return fail(ExecErr.DUPLICATE_TRANSACTION)
        if market.status != codes.OPEN:  # editing a bet on a market not open (003:L9857)
            return fail(ExecErr.MARKET_SUSPENDED if market.status == codes.SUSPENDED
                        else ExecErr.MARKET_NOT_OPEN_FOR_BETTING, InstrErr.MARKET_NOT_OPEN_FOR_BETTING)
        d = market.definition
        reports: list[UpdateInstructionReport] = []
        for ins in cmd.instructions:
            order = self.orders.get(ins.bet_id)
            error = self._bet_error(order, cmd.account_id, market)
            new = ins.new_persistence
            if error is None and order is not None:
                if new not in codes.PERSISTENCE_TYPES or order.time_in_force is not None:
                    error = InstrErr.INVALID_PERSISTENCE_TYPE
                elif new == order.persistence:
                    error = InstrErr.NO_ACTION_REQUIRED
                elif (new == codes.PERSIST and not d.persistence_enabled) or (new == codes.MARKET_ON_CLOSE and (not d.bsp_market or market.is_line or market.inplay)):
                    error = InstrErr.INVALID_PERSISTENCE_TYPE
            if error is not None or order is None:
                reports.append(UpdateInstructionReport(status=codes.FAILURE, instruction=ins, error_code=error))
                continue
            order.persistence = new
            self._events.append(OrderChanged(market.market_id, order.account_id, order.bet_id))
            reports.append(UpdateInstructionReport(status=codes.SUCCESS, instruction=ins))
        if any(r.status == codes.SUCCESS for r in reports):
            self._remember_customer_ref("update", cmd.account_id, cmd.customer_ref, ts_ms)
        status, error_code = _batch_status(reports)
        if all(r.error_code == InstrErr.NO_ACTION_REQUIRED for r in reports):
            status, error_code = codes.FAILURE, ExecErr.NO_CHANGE
        return UpdateExecutionReport(status=status, error_code=error_code, market_id=cmd.market_id,
                                     customer_ref=cmd.customer_ref, instruction_reports=reports)

    # --- accounts ----------------------------------------------------------------------------------

    def _statement(self, acct: Account, amount_minor: int, ts_ms: int, reference: str | None) -> None:
        ref = self.ledger.next_ref
        self.ledger.next_ref += 1
        self.ledger.add_statement(acct.account_id, StatementItem(
            ref_id=str(ref), item_ms=ts_ms, amount_minor=amount_minor, balance_minor=acct.balance_minor,
            transaction_type="ACCOUNT_CREDIT" if amount_minor >= 0 else "ACCOUNT_DEBIT",
            win_lose="RESULT_NOT_APPLICABLE", reference=reference))

    def _create_account(self, cmd: CreateAccount, ts_ms: int) -> AdminResult:
        if cmd.account_id in self.accounts:
            return admin_error(AdminErr.ACCOUNT_EXISTS, f"account {cmd.account_id} exists")
        if not cmd.account_id:
            return admin_error(AdminErr.NO_SUCH_ACCOUNT, "account id is empty")
        if cmd.account_id.startswith("#"):
            return admin_error(AdminErr.ACCOUNT_EXISTS, "account ids starting with '#' are reserved for the exchange")
        if cmd.currency != self.currency:
            return admin_error(AdminErr.INVALID_CURRENCY, f"this exchange settles in {self.currency}")
        if cmd.exposure_limit_minor is not None and cmd.exposure_limit_minor < 0:
            return admin_error(AdminErr.INVALID_AMOUNT, "exposure limit must be >= 0")
        self.accounts[cmd.account_id] = Account(cmd.account_id, cmd.currency, cmd.exposure_limit_minor)
        self._events.append(FundsChanged(cmd.account_id))
        return OK

    def _account(self, account_id: str) -> Account | AdminResult:
        acct = self.accounts.get(account_id)
        if acct is None:
            return admin_error(AdminErr.NO_SUCH_ACCOUNT, f"no account {account_id}")
        return acct

    def _deposit(self, cmd: Deposit, ts_ms: int) -> AdminResult:
        acct = self._account(cmd.account_id)
        if isinstance(acct, AdminResult):
            return acct
        if cmd.amount_minor <= 0:
            return admin_error(AdminErr.INVALID_AMOUNT, "amount must be > 0")
        acct.balance_minor += cmd.amount_minor
        acct.deposits_minor += cmd.amount_minor
        self._statement(acct, cmd.amount_minor, ts_ms, cmd.reference)
        self._events.append(FundsChanged(cmd.account_id))
        return OK

    def _withdraw(self, cmd: Withdraw, ts_ms: int) -> AdminResult:
        acct = self._account(cmd.account_id)
        if isinstance(acct, AdminResult):
            return acct
        if cmd.amount_minor <= 0:
            return admin_error(AdminErr.INVALID_AMOUNT, "amount must be > 0")
        if cmd.amount_minor > acct.available_minor:
            return admin_error(AdminErr.INSUFFICIENT_FUNDS, "amount exceeds the available to bet balance")
        acct.balance_minor -= cmd.amount_minor
        acct.withdrawals_minor += cmd.amount_minor
        self._statement(acct, -cmd.amount_minor, ts_ms, cmd.reference)
        self._events.append(FundsChanged(cmd.account_id))
        return OK

    def _set_account_status(self, cmd: SetAccountStatus, ts_ms: int) -> AdminResult:
        acct = self._account(cmd.account_id)
        if isinstance(acct, AdminResult):
            return acct
        if cmd.status not in ("ACTIVE", "SUSPENDED"):
            return admin_error(AdminErr.INVALID_STATUS, "status must be ACTIVE or SUSPENDED")
        acct.status = cmd.status
        return OK

    def _set_exposure_limit(self, cmd: SetExposureLimit, ts_ms: int) -> AdminResult:
        acct = self._account(cmd.account_id)
        if isinstance(acct, AdminResult):
            return acct
        if cmd.exposure_limit_minor is not None and cmd.exposure_limit_minor < 0:
            return admin_error(AdminErr.INVALID_AMOUNT, "exposure limit must be >= 0")
        acct.exposure_limit_minor = cmd.exposure_limit_minor
        return OK

    def _set_loss_limit(self, cmd: SetLossLimit, ts_ms: int) -> AdminResult:
        acct = self._account(cmd.account_id)
        if isinstance(acct, AdminResult):
            return acct
        if cmd.loss_limit_minor is not None and cmd.loss_limit_minor < 0:
            return admin_error(AdminErr.INVALID_AMOUNT, "loss limit must be >= 0")
        acct.loss_limit_minor = cmd.loss_limit_minor
        acct.loss_base_minor = acct.settled_pnl_minor  # losses count from now
        return OK

    def _set_best_execution(self, cmd: SetBestExecution, ts_ms: int) -> AdminResult:
        acct = self._account(cmd.account_id)
        if isinstance(acct, AdminResult):
            return acct
        if cmd.max_price_improvement_ticks is not None and cmd.max_price_improvement_ticks < 0:
            return admin_error(AdminErr.INVALID_AMOUNT, "max price improvement must be >= 0 ticks")
        acct.max_price_improvement_ticks = cmd.max_price_improvement_ticks
        return OK

    # --- market lifecycle --------------------------------------------------------------------------

    def _market(self, market_id: str) -> Market | AdminResult:
        market = self.markets.get(market_id)
        if market is None:
            return admin_error(AdminErr.NO_SUCH_MARKET, f"no market {market_id}")
        return market

    def _create_market(self, cmd: CreateMarket, ts_ms: int) -> AdminResult:
        if cmd.market_id in self.markets:
            return admin_error(AdminErr.MARKET_EXISTS, f"market {cmd.market_id} exists")
        d = cmd.definition
        problem = None
        keys = [(r.selection_id, r.handicap_h) for r in cmd.runners]
        if not cmd.market_id or not cmd.runners:
            problem = "a market needs an id and at least one runner"
        elif len(set(keys)) != len(keys):
            problem = "runners must have distinct (selectionId, handicap)"
        elif d.betting_type not in codes.BETTING_TYPES:
            problem = f"unknown bettingType {d.betting_type}"
        elif d.price_ladder not in ("CLASSIC", "FINEST", "LINE_RANGE"):
            problem = f"unknown price ladder {d.price_ladder}"
        elif (d.betting_type == codes.LINE) != (d.price_ladder == "LINE_RANGE"):
            problem = "LINE markets use the LINE_RANGE ladder, and only they do"
        elif d.price_ladder == "LINE_RANGE" and (d.line_interval_h <= 0 or d.line_max_h < d.line_min_h
                                                  or (d.line_max_h - d.line_min_h) // d.line_interval_h > 200_000):
            problem = "line range needs interval > 0 and max >= min"
        elif d.number_of_winners < 0 or d.market_base_rate_bp < 0 or d.market_base_rate_bp > 10_000:
            problem = "numberOfWinners and marketBaseRate must be sensible"
        if problem:
            return admin_error(AdminErr.INVALID_MARKET_DEFINITION, problem)
        self.markets[cmd.market_id] = Market(cmd.market_id, self.catalogue.fill(d), cmd.runners)
        self._events.append(MarketChanged(cmd.market_id))
        return OK

    def _update_market_definition(self, cmd: UpdateMarketDefinition, ts_ms: int) -> AdminResult:
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        bad = set(cmd.changes) - NON_MATERIAL_FIELDS
        if bad:
            return admin_error(AdminErr.INVALID_MARKET_DEFINITION, f"cannot change {sorted(bad)} on a live market")
        try:
            new = msgspec.structs.replace(market.definition, **cmd.changes)
            msgspec.convert(msgspec.to_builtins(new), type(new))  # type-check the new values
        except (TypeError, msgspec.ValidationError) as e:
            return admin_error(AdminErr.INVALID_MARKET_DEFINITION, str(e))
        market.definition = new
        market.bump_version(material=False)
        self._events.append(MarketChanged(cmd.market_id))
        return OK

    def _set_market_status(self, cmd: SetMarketStatus, ts_ms: int) -> AdminResult:
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        allowed = {codes.OPEN: (codes.INACTIVE, codes.SUSPENDED), codes.SUSPENDED: (codes.INACTIVE, codes.OPEN)}
        if cmd.status not in allowed or market.status not in allowed[cmd.status]:
            return admin_error(AdminErr.INVALID_STATE_TRANSITION,
                               f"cannot go from {market.status} to {cmd.status} (use turn-in-play, close, settle)")
        previous = market.status
        market.status = cmd.status
        if cmd.status == codes.SUSPENDED:
            market.suspend_count += 1
            market.suspend_reason = cmd.suspend_reason
            if cmd.material:
                self.lapse_unmatched(market, ts_ms, keep=survives_material_event)
        else:
            market.suspend_reason = None
        # activation sets the minimum accepted version too (the table at 003:L10866)
        market.bump_version(material=cmd.material or previous == codes.INACTIVE)
        self._events.append(MarketChanged(cmd.market_id))
        return OK

    def _turn_in_play(self, cmd: TurnInPlay, ts_ms: int) -> AdminResult:
        """Turn in-play (003:L9822-9829): LAPSE bets lapse, PERSIST bets stay, MARKET_ON_CLOSE remainders
        go to the SP auction; a material change."""
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        if market.inplay or market.status not in (codes.OPEN, codes.SUSPENDED):
            return admin_error(AdminErr.INVALID_STATE_TRANSITION, "market is in-play already, or not open/suspended")
        if not market.definition.turn_in_play_enabled:
            return admin_error(AdminErr.INVALID_STATE_TRANSITION, "turnInPlayEnabled is false for this market")
        if cmd.bet_delay_s < 0 or cmd.bet_delay_s > 60:
            return admin_error(AdminErr.INVALID_MARKET_DEFINITION, "betDelay must be 0..60 seconds")
        market.suspend_count += 1
        self.lapse_unmatched(market, ts_ms, keep=survives_material_event)
        if market.definition.bsp_market:
            # MARKET_ON_CLOSE remainders join the auction, which is reconciled now (003:L11137-11138)
            bsp.join_auction(self, market)
            bsp.reconcile(self, market, ts_ms)
        market.inplay = True
        market.bet_delay_s = cmd.bet_delay_s
        market.bump_version(material=True)
        self._events.append(MarketChanged(cmd.market_id))
        return OK

    def _remove_runner(self, cmd: RemoveRunner, ts_ms: int) -> AdminResult:
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        runner = market.runners.get((cmd.selection_id, cmd.handicap_h))
        if runner is None:
            return admin_error(AdminErr.NO_SUCH_RUNNER, f"no runner {cmd.selection_id}/{cmd.handicap_h}")
        if market.status in (codes.INACTIVE, codes.CLOSED) or runner.status != codes.ACTIVE:
            return admin_error(AdminErr.INVALID_STATE_TRANSITION, "runner is not active or market is not live")
        for v in (cmd.adjustment_factor_bp, cmd.reduction_factor_bp):
            if v is not None and not 0 <= v < 10_000:
                return admin_error(AdminErr.INVALID_RESULT, "factors are percentages in [0, 100)")
        settlement.remove_runner(self, market, runner, cmd, ts_ms)
        return OK

    def _close_market(self, cmd: CloseMarket, ts_ms: int) -> AdminResult:
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        if market.status == codes.CLOSED:
            return admin_error(AdminErr.INVALID_STATE_TRANSITION, "market is closed already")
        self.close(market, ts_ms)
        return OK

    def close(self, market: Market, ts_ms: int) -> None:
        """No more betting: a BSP market that never turned in-play is reconciled now, then every
        unmatched bet lapses; awaiting settlement."""
        if market.definition.bsp_market and not market.bsp_reconciled:
            bsp.join_auction(self, market)
            bsp.reconcile(self, market, ts_ms)
        self.lapse_unmatched(market, ts_ms)
        market.status = codes.CLOSED
        market.closed_ms = ts_ms
        market.bump_version(material=True)
        self._events.append(MarketChanged(market.market_id))

    def _settle_market(self, cmd: SettleMarket, ts_ms: int) -> AdminResult:
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        return settlement.settle(self, market, cmd, ts_ms)

    def _void_market(self, cmd: VoidMarket, ts_ms: int) -> AdminResult:
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        return settlement.void(self, market, ts_ms)

    def _unsettle_market(self, cmd: UnsettleMarket, ts_ms: int) -> AdminResult:
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        return settlement.unsettle(self, market, ts_ms)

    def _resettle_market(self, cmd: ResettleMarket, ts_ms: int) -> AdminResult:
        market = self._market(cmd.market_id)
        if isinstance(market, AdminResult):
            return market
        settle = SettleMarket(market_id=cmd.market_id, results=cmd.results, line_outcome_h=cmd.line_outcome_h)
        return settlement.resettle(self, market, settle, ts_ms)

    # --- catalogue and race status -----------------------------------------------------------------

    def _catalogue_changed(self, problem: str | None, code: str) -> AdminResult:
        """Carry a catalogue change into the markets that name it (a non-material definition change)."""
        if problem is not None:
            return admin_error(code, problem)
        for market in self.markets.values():
            filled = self.catalogue.fill(market.definition)
            if filled != market.definition:
                market.definition = filled
                market.bump_version(material=False)
                self._events.append(MarketChanged(market.market_id))
        return OK

    def _upsert_event_type(self, cmd: UpsertEventType, ts_ms: int) -> AdminResult:
        return self._catalogue_changed(self.catalogue.upsert_event_type(cmd), AdminErr.INVALID_CATALOGUE_ENTRY)

    def _upsert_competition(self, cmd: UpsertCompetition, ts_ms: int) -> AdminResult:
        return self._catalogue_changed(self.catalogue.upsert_competition(cmd), AdminErr.INVALID_CATALOGUE_ENTRY)

    def _upsert_event(self, cmd: UpsertEvent, ts_ms: int) -> AdminResult:
        return self._catalogue_changed(self.catalogue.upsert_event(cmd), AdminErr.INVALID_CATALOGUE_ENTRY)

    def _set_race_status(self, cmd: SetRaceStatus, ts_ms: int) -> AdminResult:
        problem = self.catalogue.set_race_status(cmd, ts_ms)
        return admin_error(AdminErr.INVALID_RACE_STATUS, problem) if problem else OK

    # --- invariants and identity -------------------------------------------------------------------

    def total_money_minor(self) -> int:
        """Balances plus commission collected: always deposits minus withdrawals."""
        return sum(a.balance_minor for a in self.accounts.values()) + self.commission_collected_minor

    def check_invariants(self) -> None:
        for order in self.orders.values():
            order.check()
        for market in self.markets.values():
            for runner in market.runners.values():
                assert not runner.book.is_crossed(), f"crossed book {market.market_id} {runner.key}"
                for side in (runner.book.backs, runner.book.lays):
                    for tick in side.ticks:
                        level = side.levels[tick]
                        assert level.total_minor == sum(o.remaining_minor for o in level.orders) > 0
            for account_id, pos in market.positions.items():
                assert self.accounts[account_id].exposure_by_market.get(market.market_id, 0) == \
                    pos.exposure_minor(market.active)
        for acct in self.accounts.values():
            assert acct.exposure_minor == sum(acct.exposure_by_market.values())
            assert acct.exposure_minor >= 0
        deposits = sum(a.deposits_minor - a.withdrawals_minor for a in self.accounts.values())
        assert self.total_money_minor() == deposits, "money is not conserved"

    def fingerprint(self) -> str:
        """A hash of the whole state: identical histories give identical fingerprints."""
        parts = (
            self.currency, self.next_bet_id, self.next_match_id, self.next_token, self.next_settlement_id,
            self.commission_collected_minor, self.now_ms,
            tuple(sorted(self.customer_refs.items())),
            tuple(a.state_tuple() for a in self.accounts.values()),
            tuple(m.state_tuple() for m in self.markets.values()),
            tuple(o.state_tuple() for o in self.orders.values()),
            tuple((d.token, d.due_ms, tuple(o.bet_id for o in d.orders)) for d in self.delayed),
            self.ledger.state_tuple(),
            self.catalogue.state_tuple(),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()


def _batch_status(reports: list[Any]) -> tuple[str, str | None]:
    """(status, errorCode): SUCCESS when every instruction succeeded, FAILURE when none did, else
    PROCESSED_WITH_ERRORS (cancel, replace and update are not atomic, 003:L9736-9739). A tuple, not
    keyword arguments, because the reports are built on every placement."""
    ok = 0
    for r in reports:
        if r.status == codes.SUCCESS:
            ok += 1
    if ok == len(reports):
        return codes.SUCCESS, None
    if ok == 0:
        return codes.FAILURE, ExecErr.BET_ACTION_ERROR
    return codes.PROCESSED_WITH_ERRORS, ExecErr.PROCESSED_WITH_ERRORS


__all__ = ["Exchange", "UpdateInstruction"]
