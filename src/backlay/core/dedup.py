"""customerRef de-duplication (003:L10611-10618): a placeOrders, cancelOrders, replaceOrders or
updateOrders that repeats a customerRef of the same account and operation within 60 seconds is
refused (DUPLICATE_TRANSACTION) and changes nothing."""

from __future__ import annotations

from typing import Final

from .context import Ctx

CUSTOMER_REF_WINDOW_MS: Final = 60_000


def seen(ctx: Ctx, op: str, account_id: str, ref: str | None) -> bool:
    """Whether the ref was used within the window (forgetting those that left it)."""
    if ref is None:
        return False
    state = ctx.state
    ts_ms = ctx.ts_ms
    expiry = state.customer_ref_expiry
    refs = state.customer_refs
    while expiry and expiry[0][0] <= ts_ms - CUSTOMER_REF_WINDOW_MS:
        _, old = expiry.popleft()
        if refs.get(old, ts_ms) <= ts_ms - CUSTOMER_REF_WINDOW_MS:
            del refs[old]
    return (op, account_id, ref) in refs


def remember(ctx: Ctx, op: str, account_id: str, ref: str | None) -> None:
    if ref is not None:
        key = (op, account_id, ref)
        ctx.state.customer_refs[key] = ctx.ts_ms
        ctx.state.customer_ref_expiry.append((ctx.ts_ms, key))
