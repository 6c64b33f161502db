"""The operator's account commands: create, deposit, withdraw, status, and the limits an account runs
under (exposure limit, loss limit, best execution). Money enters and leaves the exchange only here,
each movement a statement item (001's account statement)."""

from __future__ import annotations

from .codes import AdminErr
from .commands import (
    CreateAccount,
    Deposit,
    SetAccountStatus,
    SetBestExecution,
    SetExposureLimit,
    SetLossLimit,
    Withdraw,
)
from .context import Ctx
from .events import FundsChanged
from .ledger import StatementItem
from .reports import OK, AdminResult, admin_error
from .wallet import Account, AccountStatus


def statement(ctx: Ctx, acct: Account, amount_minor: int, reference: str | None) -> None:
    ctx.state.ledger.add_statement(acct.account_id, StatementItem(
        ref_id=str(ctx.new_statement_ref()), item_ms=ctx.ts_ms, amount_minor=amount_minor,
        balance_minor=acct.balance_minor, transaction_type="ACCOUNT_CREDIT" if amount_minor >= 0 else "ACCOUNT_DEBIT",
        win_lose="RESULT_NOT_APPLICABLE", reference=reference))


def create_account(ctx: Ctx, cmd: CreateAccount) -> AdminResult:
    state = ctx.state
    if cmd.account_id in state.accounts:
        return admin_error(AdminErr.ACCOUNT_EXISTS, f"account {cmd.account_id} exists")
    if not cmd.account_id:
        return admin_error(AdminErr.NO_SUCH_ACCOUNT, "account id is empty")
    if cmd.account_id.startswith("#"):
        return admin_error(AdminErr.ACCOUNT_EXISTS, "account ids starting with '#' are reserved for the exchange")
    if cmd.currency != state.currency:
        return admin_error(AdminErr.INVALID_CURRENCY, f"this exchange settles in {state.currency}")
    if cmd.exposure_limit_minor is not None and cmd.exposure_limit_minor < 0:
        return admin_error(AdminErr.INVALID_AMOUNT, "exposure limit must be >= 0")
    state.accounts[cmd.account_id] = Account(cmd.account_id, cmd.currency, cmd.exposure_limit_minor)
    ctx.events.append(FundsChanged(cmd.account_id))
    return OK


def deposit(ctx: Ctx, cmd: Deposit, acct: Account) -> AdminResult:
    if cmd.amount_minor <= 0:
        return admin_error(AdminErr.INVALID_AMOUNT, "amount must be > 0")
    acct.balance_minor += cmd.amount_minor
    acct.deposits_minor += cmd.amount_minor
    statement(ctx, acct, cmd.amount_minor, cmd.reference)
    ctx.events.append(FundsChanged(cmd.account_id))
    return OK


def withdraw(ctx: Ctx, cmd: Withdraw, acct: Account) -> AdminResult:
    if cmd.amount_minor <= 0:
        return admin_error(AdminErr.INVALID_AMOUNT, "amount must be > 0")
    if cmd.amount_minor > acct.available_minor:
        return admin_error(AdminErr.INSUFFICIENT_FUNDS, "amount exceeds the available to bet balance")
    acct.balance_minor -= cmd.amount_minor
    acct.withdrawals_minor += cmd.amount_minor
    statement(ctx, acct, -cmd.amount_minor, cmd.reference)
    ctx.events.append(FundsChanged(cmd.account_id))
    return OK


def set_account_status(ctx: Ctx, cmd: SetAccountStatus, acct: Account) -> AdminResult:
    if cmd.status not in AccountStatus.__members__:
        return admin_error(AdminErr.INVALID_STATUS, "status must be ACTIVE or SUSPENDED")
    acct.status = AccountStatus(cmd.status)
    return OK


def _negative(value: int | None, message: str) -> AdminResult | None:
    """A limit is absent (None) or 0 or more: INVALID_AMOUNT with `message` otherwise."""
    return admin_error(AdminErr.INVALID_AMOUNT, message) if value is not None and value < 0 else None


def set_exposure_limit(ctx: Ctx, cmd: SetExposureLimit, acct: Account) -> AdminResult:
    refused = _negative(cmd.exposure_limit_minor, "exposure limit must be >= 0")
    if refused is None:
        acct.exposure_limit_minor = cmd.exposure_limit_minor
    return OK if refused is None else refused


def set_loss_limit(ctx: Ctx, cmd: SetLossLimit, acct: Account) -> AdminResult:
    refused = _negative(cmd.loss_limit_minor, "loss limit must be >= 0")
    if refused is None:
        acct.loss_limit_minor = cmd.loss_limit_minor
        acct.loss_base_minor = acct.settled_pnl_minor  # losses count from now
    return OK if refused is None else refused


def set_best_execution(ctx: Ctx, cmd: SetBestExecution, acct: Account) -> AdminResult:
    refused = _negative(cmd.max_price_improvement_ticks, "max price improvement must be >= 0 ticks")
    if refused is None:
        acct.max_price_improvement_ticks = cmd.max_price_improvement_ticks
    return OK if refused is None else refused
