"""The fixed-odds book's state (seed 002): bets placed through the provider endpoint, the per-account
limits they run under, and the idempotency keys of the provider's calls. core/fixed_odds.py changes it.

Money: a placement debits the stake from the account's balance into the book (`book_minor`); a payout
credits the account from it. So balances + commission + book_minor = deposits - withdrawals always
(Exchange.check_invariants); `book_minor` is the operator's fixed-odds takings and can go negative.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from .commands import FixedOddsBet, MarketTypeLimit
from .compiled import mypyc_attr
from .reports import FixedOddsResult

IDEMPOTENCY_RETENTION_MS: Final = 24 * 3600 * 1000  # keys answer their first result for 24 hours at least
BET_RETENTION_MS: Final = 90 * 24 * 3600 * 1000  # closed bets (and their ids) kept 90 days, as statements
PENDING: Final = "PENDING"
ROLLED_BACK: Final = "ROLLED_BACK"
OUTCOMES: Final = ("WON", "LOST", "VOID", "PUSH")


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class FixedOddsRecord:
    """One bet, or (bet None) the tombstone of a rollback of an unknown bet id, which blocks the id."""

    __slots__ = ("account_id", "bet", "closed_ms", "liability_minor", "paid_minor", "placed_ms",
                 "potential_payout_minor", "provider_id", "settled_ms", "status")

    def __init__(self, provider_id: str, account_id: str, bet: FixedOddsBet | None, placed_ms: int,
                 potential_payout_minor: int) -> None:
        self.provider_id = provider_id
        self.account_id = account_id
        self.bet = bet
        self.placed_ms = placed_ms
        self.potential_payout_minor = potential_payout_minor
        stake = bet.stake_minor if bet is not None else 0
        self.liability_minor = max(0, potential_payout_minor - stake)  # what the book can lose on it
        self.status = PENDING if bet is not None else ROLLED_BACK
        self.paid_minor = 0  # credited to the account by the current result (or the rollback)
        self.settled_ms: int | None = None  # the result's time, as the provider gave it
        self.closed_ms: int | None = None if bet is not None else placed_ms  # when it left PENDING

    def state_tuple(self) -> tuple[object, ...]:
        return (self.provider_id, self.account_id, self.bet, self.placed_ms, self.potential_payout_minor,
                self.status, self.paid_minor, self.settled_ms, self.closed_ms)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class BettingLimits:
    __slots__ = ("block_reason", "blocked_until_ms", "market_types", "max_stake_minor", "min_stake_minor")

    def __init__(self, min_stake_minor: int | None, max_stake_minor: int | None,
                 market_types: dict[str, MarketTypeLimit], blocked_until_ms: int | None,
                 block_reason: str | None) -> None:
        self.min_stake_minor = min_stake_minor
        self.max_stake_minor = max_stake_minor
        self.market_types = market_types
        self.blocked_until_ms = blocked_until_ms
        self.block_reason = block_reason

    def state_tuple(self) -> tuple[object, ...]:
        return (self.min_stake_minor, self.max_stake_minor, tuple(sorted(self.market_types.items())),
                self.blocked_until_ms, self.block_reason)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class KeyRecord:
    """An idempotency key's first answer: the same key with the same request gets it again."""

    __slots__ = ("operation", "request_sha256", "result", "used_ms")

    def __init__(self, operation: str, request_sha256: str, result: FixedOddsResult, used_ms: int) -> None:
        self.operation = operation
        self.request_sha256 = request_sha256
        self.result = result
        self.used_ms = used_ms


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class FixedOddsBook:
    __slots__ = ("bets", "book_minor", "by_account", "closed_expiry", "key_expiry", "keys", "limits",
                 "open_liability")

    def __init__(self) -> None:
        self.bets: dict[tuple[str, str], FixedOddsRecord] = {}  # (provider, betId)
        self.by_account: dict[str, list[tuple[str, str]]] = {}  # in placement order
        # (account, marketTypeId) -> the liability of its PENDING bets
        self.open_liability: dict[tuple[str, str], int] = {}
        self.limits: dict[str, BettingLimits] = {}
        self.keys: dict[tuple[str, str], KeyRecord] = {}  # (provider, idempotency key)
        self.key_expiry: deque[tuple[int, tuple[str, str]]] = deque()
        self.closed_expiry: deque[tuple[int, tuple[str, str]]] = deque()  # (closed_ms, key), in time order
        self.book_minor = 0

    def add_liability(self, account_id: str, market_type_id: str, amount_minor: int) -> None:
        key = (account_id, market_type_id)
        total = self.open_liability.get(key, 0) + amount_minor
        assert total >= 0, f"negative open liability {key}"
        if total:
            self.open_liability[key] = total
        else:
            self.open_liability.pop(key, None)

    def prune(self, now_ms: int) -> None:
        """Forget idempotency keys after their retention and closed bets after theirs."""
        expiry = self.key_expiry
        while expiry and expiry[0][0] + IDEMPOTENCY_RETENTION_MS <= now_ms:
            _, key = expiry.popleft()
            self.keys.pop(key, None)
        horizon = now_ms - BET_RETENTION_MS
        # closed bets and tombstones in the order they closed: only those past their retention are
        # looked at (a scan of every bet here cost 9 ms a slip at 100,000 bets: bench/provider.py)
        closed = self.closed_expiry
        accounts: dict[str, None] = {}
        while closed and closed[0][0] < horizon:
            closed_ms, k = closed.popleft()
            record = self.bets.get(k)
            if record is None or record.closed_ms != closed_ms:
                continue  # reopened (unsettled) since, and closed again later or still open
            del self.bets[k]
            if record.bet is not None:
                accounts[record.account_id] = None
        for account_id in accounts:
            self.by_account[account_id] = [k for k in self.by_account[account_id] if k in self.bets]

    def closed(self, key: tuple[str, str], record: FixedOddsRecord) -> None:
        """A bet left PENDING (or a tombstone was made): it is pruned after BET_RETENTION_MS."""
        assert record.closed_ms is not None
        self.closed_expiry.append((record.closed_ms, key))

    def state_tuple(self) -> tuple[object, ...]:
        return (
            tuple(sorted((k, r.state_tuple()) for k, r in self.bets.items())),
            tuple(sorted(self.open_liability.items())),
            tuple(sorted((a, lim.state_tuple()) for a, lim in self.limits.items())),
            tuple(sorted((k, (r.operation, r.request_sha256, r.used_ms)) for k, r in self.keys.items())),
            self.book_minor,
        )
