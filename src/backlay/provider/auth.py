"""Provider authentication: an HMAC-SHA256 signature over the timestamp, method, path and raw body.

    X-Provider-Id: <the id registered through POST /admin/v1/providers>
    X-Timestamp:   <epoch milliseconds, within 5 minutes of the server's clock>
    X-Signature:   hex(HMAC-SHA256(secret, f"{X-Timestamp}.{METHOD}.{path}.".encode() + body))

`path` is the request path without the query string. The signature binds the call to its route and body,
the timestamp window bounds a replay of it in time and the idempotency key makes one within the window
harmless. Every failure is the same answer (AUTHENTICATION_FAILED), so none tells which part was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

from backlay.identity.store import IdentityStore

MAX_SKEW_MS: Final = 5 * 60 * 1000
_DIGITS: Final = re.compile(r"[0-9]{1,15}")
_HEX_PREFIX: Final = "sha256="


def signature(secret: bytes, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The lowercase hex signature a provider sends (and the server expects) for one call."""
    message = f"{timestamp}.{method}.{path}.".encode() + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def verified_provider(identity: IdentityStore, headers: dict[str, str], method: str, path: str, body: bytes,
                      now_ms: int) -> str | None:
    """The provider id of a correctly signed, fresh call; None for anything else."""
    provider_id = headers.get("x-provider-id", "").strip()
    timestamp = headers.get("x-timestamp", "").strip()
    sent = headers.get("x-signature", "").strip().lower()
    if not provider_id or not _DIGITS.fullmatch(timestamp) or abs(now_ms - int(timestamp)) > MAX_SKEW_MS:
        return None
    secret = identity.provider_secret(provider_id)
    if secret is None:
        return None
    sent = sent.removeprefix(_HEX_PREFIX)
    expected = signature(secret, timestamp, method, path, body)
    # bytes, not str: compare_digest refuses non-ASCII str, and headers arrive as latin-1
    return provider_id if hmac.compare_digest(sent.encode("latin-1"), expected.encode()) else None
