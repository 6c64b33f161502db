"""The per-command context every stage of the core takes: `Ctx`.

A command runs as free functions of the stage modules (placing, edits, lifecycle, settlement, bsp,
matching, ...) over one Ctx: the state it changes, the command's time (stamped by the sequencer), the
events it emits (in order: what the stream and the API see), the id counters (bet ids, match ids,
tokens, settlement ids, statement refs) and the accounts a matching pass touched, whose exposure is
refreshed once after it. Nothing else carries information between stages.
"""

from __future__ import annotations

from typing import Any

from .state import ExchangeState


class Ctx:
    __slots__ = ("events", "state", "touched", "ts_ms")

    def __init__(self, state: ExchangeState, ts_ms: int, events: list[Any]) -> None:
        self.state = state
        self.ts_ms = ts_ms
        self.events = events
        # accounts the current matching pass changed (insertion-ordered, so their exposure refreshes,
        # and the events that says so, come in a deterministic order)
        self.touched: dict[str, None] = {}

    def new_bet_id(self) -> int:
        state = self.state
        bet_id = state.next_bet_id
        state.next_bet_id = bet_id + 1
        return bet_id

    def new_match_id(self) -> int:
        state = self.state
        match_id = state.next_match_id
        state.next_match_id = match_id + 1
        return match_id

    def new_token(self) -> int:
        """The token of a placement held for its bet delay (PlacementCompleted names it)."""
        state = self.state
        token = state.next_token
        state.next_token = token + 1
        return token

    def new_settlement_id(self) -> int:
        state = self.state
        settlement_id = state.next_settlement_id
        state.next_settlement_id = settlement_id + 1
        return settlement_id

    def new_statement_ref(self) -> int:
        ledger = self.state.ledger
        ref = ledger.next_ref
        ledger.next_ref = ref + 1
        return ref
