"""The exchange: `Exchange.apply(command, ts_ms) -> (result, events)`.

Pure and deterministic: no I/O, no clock, no randomness. Time comes with each command (stamped by
the sequencer); bet ids and match ids come from counters in this state. A rejection is a result that
changes nothing. The same commands with the same times always give the same state, which is what
journal replay relies on.

`Exchange` owns the state (state.py), dispatches each command to its stage (placing, edits,
lifecycle, definitions, settlement, accounts; they call risk, matching, crossmatch, bsp) with the
command's Ctx (context.py), and supports snapshots, invariants and the fingerprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, ClassVar, Final

from . import accounts, definitions, edits, fixed_odds, lifecycle, placing, settlement
from .codes import AdminErr
from .commands import (
    AdvanceTime,
    CancelOrders,
    CloseMarket,
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    PlaceBetslip,
    PlaceOrders,
    RemoveRunner,
    ReplaceOrders,
    ResettleMarket,
    ResultBets,
    RollbackBets,
    SetAccountStatus,
    SetBestExecution,
    SetBettingLimits,
    SetExposureLimit,
    SetLossLimit,
    SetMarketStatus,
    SetRaceStatus,
    SettleMarket,
    TurnInPlay,
    UnsettleBets,
    UnsettleMarket,
    UpdateMarketDefinition,
    UpdateOrders,
    UpsertCompetition,
    UpsertEvent,
    UpsertEventType,
    VoidMarket,
    Withdraw,
)
from .context import Ctx
from .market import Market
from .reports import OK, AdminResult, Result, admin_error
from .state import ExchangeState
from .wallet import Account


def _advance_time(ctx: Ctx, cmd: AdvanceTime) -> AdminResult:
    """Nothing but the time: what is due by now (a bet delay's end) ran before any command."""
    return OK


# command type -> its stage's handler (placeOrders and cancelOrders are also called directly, in apply)
HANDLERS: Final[dict[type, Callable[[Ctx, Any], Result]]] = {
    PlaceOrders: placing.place_orders,
    CancelOrders: edits.cancel_orders,
    ReplaceOrders: edits.replace_orders,
    UpdateOrders: edits.update_orders,
    CreateAccount: accounts.create_account,
    CreateMarket: definitions.create_market,
    UpsertEventType: definitions.upsert_event_type,
    UpsertCompetition: definitions.upsert_competition,
    UpsertEvent: definitions.upsert_event,
    SetRaceStatus: definitions.set_race_status,
    AdvanceTime: _advance_time,
    PlaceBetslip: fixed_odds.place_betslip,
    ResultBets: fixed_odds.result_bets,
    UnsettleBets: fixed_odds.unsettle_bets,
    RollbackBets: fixed_odds.rollback_bets,
}
# operator commands on one market (`cmd.market_id`): the handler gets the market, or the command NO_SUCH_MARKET
MARKET_HANDLERS: Final[dict[type, Callable[[Ctx, Any, Market], AdminResult]]] = {
    UpdateMarketDefinition: definitions.update_market_definition,
    SetMarketStatus: lifecycle.set_market_status,
    TurnInPlay: lifecycle.turn_in_play,
    RemoveRunner: lifecycle.remove_runner,
    CloseMarket: lifecycle.close_market,
    SettleMarket: settlement.settle_market,
    VoidMarket: settlement.void_market,
    UnsettleMarket: settlement.unsettle_market,
    ResettleMarket: settlement.resettle_market,
}
# operator commands on one account (`cmd.account_id`): the handler gets the account, or NO_SUCH_ACCOUNT
ACCOUNT_HANDLERS: Final[dict[type, Callable[[Ctx, Any, Account], AdminResult]]] = {
    Deposit: accounts.deposit,
    Withdraw: accounts.withdraw,
    SetAccountStatus: accounts.set_account_status,
    SetExposureLimit: accounts.set_exposure_limit,
    SetLossLimit: accounts.set_loss_limit,
    SetBestExecution: accounts.set_best_execution,
    SetBettingLimits: fixed_odds.set_betting_limits,
}


class Exchange(ExchangeState):
    # Snapshots pickle the state; explicit names because a compiled (mypyc) class has no __dict__.
    _STATE: ClassVar[tuple[str, ...]] = (
        "currency", "params", "accounts", "markets", "orders", "next_bet_id", "next_match_id", "next_token",
        "next_settlement_id", "commission_collected_minor", "customer_refs", "customer_ref_expiry", "delayed",
        "ledger", "catalogue", "fixed_odds", "now_ms")

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in Exchange._STATE}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    # --- entry point -------------------------------------------------------------------------------

    def apply(self, cmd: Command, ts_ms: int) -> tuple[Result, list[Any]]:
        """Apply one command stamped with `ts_ms`. Time never goes backwards inside the core."""
        if ts_ms < self.now_ms:
            ts_ms = self.now_ms
        self.now_ms = ts_ms
        events: list[Any] = []
        ctx = Ctx(self, ts_ms, events)
        if self.delayed and self.delayed[0].due_ms <= ts_ms:
            placing.run_delayed(ctx)
        # the two commands of trading called directly: compiled, that is a native call, not a look-up
        # and a generic call through the table
        result: Result
        cls = type(cmd)
        any_cmd: Any = cmd  # not cast(): that is a call in pure Python
        if cls is PlaceOrders:
            result = placing.place_orders(ctx, any_cmd)
        elif cls is CancelOrders:
            result = edits.cancel_orders(ctx, any_cmd)
        else:
            result = self._dispatch(ctx, cls, any_cmd)
        return result, events

    def _dispatch(self, ctx: Ctx, cls: type, cmd: Any) -> Result:
        on_market = MARKET_HANDLERS.get(cls)
        if on_market is not None:
            market = self.markets.get(cmd.market_id)
            return admin_error(AdminErr.NO_SUCH_MARKET, f"no market {cmd.market_id}") if market is None \
                else on_market(ctx, cmd, market)
        on_account = ACCOUNT_HANDLERS.get(cls)
        if on_account is not None:
            acct = self.accounts.get(cmd.account_id)
            return admin_error(AdminErr.NO_SUCH_ACCOUNT, f"no account {cmd.account_id}") if acct is None \
                else on_account(ctx, cmd, acct)
        return HANDLERS[cls](ctx, cmd)

    def next_due_ms(self) -> int | None:
        """When the core next wants an AdvanceTime (the end of an in-play bet delay)."""
        return self.delayed[0].due_ms if self.delayed else None

    # --- invariants and identity -------------------------------------------------------------------

    def total_money_minor(self) -> int:
        """Balances, commission collected and the fixed-odds book's takings: always deposits minus withdrawals."""
        return sum(a.balance_minor for a in self.accounts.values()) + self.commission_collected_minor \
            + self.fixed_odds.book_minor

    def check_invariants(self) -> None:
        """Every invariant of the state, asserted (the tests call this; so does each snapshot, in the
        forked child: engine/snapshots.py)."""
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
        self._check_fixed_odds()
        deposits = sum(a.deposits_minor - a.withdrawals_minor for a in self.accounts.values())
        assert self.total_money_minor() == deposits, "money is not conserved"

    def _check_fixed_odds(self) -> None:
        """Open liability is the sum over PENDING bets; each closed bet paid what its status says."""
        book = self.fixed_odds
        liability: dict[tuple[str, str], int] = {}
        for record in book.bets.values():
            if record.bet is not None and record.status == "PENDING":
                key = (record.account_id, record.bet.market_type_id)
                liability[key] = liability.get(key, 0) + record.liability_minor
                assert record.paid_minor == 0
        assert {k: v for k, v in liability.items() if v} == book.open_liability, "fixed-odds liability"

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
            self.fixed_odds.state_tuple(),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()


__all__ = ["ACCOUNT_HANDLERS", "HANDLERS", "MARKET_HANDLERS", "Exchange"]
