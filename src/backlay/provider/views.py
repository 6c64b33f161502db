"""A user's fixed-odds bets as the wire shows them (GET {prefix}/bets and the admin API's
GET /admin/v1/accounts/{accountId}/fixed-odds-bets), read from the state between sequencer batches.

Encode them with `backlay.provider.wire.encode` (decimals as JSON numbers)."""

from __future__ import annotations

import msgspec

from backlay.betfair.wire import Instant
from backlay.core.exchange import Exchange
from backlay.core.fixed_odds_book import FixedOddsRecord
from backlay.provider import wire as w

_DETAILS = msgspec.json.Decoder(w.BetDetails)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else Instant(ms).iso()


def bet_view(record: FixedOddsRecord) -> w.BetView | None:
    """None for a rollback's tombstone (no bet behind the id)."""
    bet = record.bet
    if bet is None:
        return None
    return w.BetView(
        provider_id=record.provider_id, bet_id=bet.bet_id, user_id=record.account_id, status=record.status,
        stake=w.money(bet.stake_minor), decimal_price=w.price(bet.price_units, bet.price_scale),
        potential_payout=w.money(record.potential_payout_minor), payout=w.money(record.paid_minor),
        placed_at=Instant(record.placed_ms).iso(), settled_at=_iso(record.settled_ms),
        closed_at=_iso(record.closed_ms), details=_DETAILS.decode(bet.details))


def bet_views(exchange: Exchange, account_id: str, status: str | None = None) -> list[w.BetView]:
    """The account's bets, newest first; `status` (PENDING, WON, ...) keeps only those."""
    book = exchange.fixed_odds
    views = []
    for key in reversed(book.by_account.get(account_id, [])):
        record = book.bets.get(key)
        if record is None or (status is not None and record.status != status):
            continue
        view = bet_view(record)
        if view is not None:
            views.append(view)
    return views
