"""REQUEST_TIMED_OUT (002's 503; issue 17 item 2): a betslip whose journal write is held past the
provider deadline answers 503 REQUEST_TIMED_OUT with Retry-After, and it is not withdrawn; once the write
completes, a retry with the same X-Idempotency-Key answers PLACED with the one placement, and a retry
with the same key while the writer is still held waits for the first and answers it too. A full queue is
also REQUEST_TIMED_OUT, and that slip changed nothing.

Real engine, real SQLite journal and real sequencer; only the journal's write is held (HeldJournal)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

from test_sequencer_bounded import HeldJournal, hold_writer, setup_commands

from backlay.betfair.http.app import WithHeaders
from backlay.core.reports import AdminResult
from backlay.engine.engine import Engine
from backlay.engine.sequencer import Sequencer
from backlay.identity.store import IdentityStore
from backlay.provider.api import ProviderApi

T0_MS = 1_700_000_000_000
PREFIX = "/provider/v1"
SECRET = "d" * 40


def _bet_details(bet_id: str) -> dict[str, Any]:
    names = ("sport", "event", "competition", "market", "selection")
    body: dict[str, Any] = {"betId": bet_id, "eventStage": "PRE_PLAY", "marketStage": "PRE_PLAY",
                            "marketTypeId": "MATCH_ODDS", "decimalPrice": 2.0, "stake": 5}
    for n in names:
        body.update({f"{n}Id": f"{n}-1", f"{n}Name": n, f"{n}DisplayName": n.title()})
    return body


def _request(token: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"requestId": str(uuid.uuid4()), "userId": "alice", "sessionToken": token,
                       "timestamp": str(T0_MS), "bets": [_bet_details(str(uuid.uuid4()))]}).encode()
    ts = str(T0_MS)
    sig = hmac.new(SECRET.encode(), f"{ts}.POST.{PREFIX}/bet.".encode() + body, hashlib.sha256).hexdigest()
    return {"x-provider-id": "p1", "x-timestamp": ts, "x-signature": sig,
            "x-idempotency-key": str(uuid.uuid4()), "content-type": "application/json", ":query": ""}, body


def _error_code(payload: Any) -> tuple[str, Any]:
    headers = payload.headers if isinstance(payload, WithHeaders) else ()
    inner = payload.payload if isinstance(payload, WithHeaders) else payload
    data = json.loads(inner if isinstance(inner, bytes) else json.dumps(inner))
    return data.get("errorCode") or data.get("status"), dict(headers)


def test_a_slip_past_its_deadline_times_out_and_its_retry_is_safe(tmp_path: Path) -> None:
    async def main() -> None:
        journal = HeldJournal(tmp_path / "journal.db")
        seq = Sequencer(Engine(journal), clock_ms=lambda: T0_MS, max_pending=3)
        await seq.start()
        for c in setup_commands():
            result = await seq.submit(c)
            assert isinstance(result, AdminResult) and result.ok
        identity = IdentityStore(tmp_path / "identity.db")
        identity.create_user("alice", "password-1", "alice")
        identity.create_provider("p1", SECRET, T0_MS)
        token = identity.login("alice", "password-1", None, T0_MS).token
        assert token is not None
        api = ProviderApi(PREFIX, lambda: seq.engine.exchange, seq.submit, identity, lambda: T0_MS, 50)
        headers, body = _request(token)

        blocker = await hold_writer(seq, journal)
        status, payload = await api.handle("POST", PREFIX + "/bet", headers, body)
        code, extra = _error_code(payload)
        assert (status, code, extra.get(b"retry-after")) == (503, "REQUEST_TIMED_OUT", b"1")
        waiting_retry = asyncio.create_task(api.handle("POST", PREFIX + "/bet", headers, body))
        await asyncio.sleep(0.01)
        journal.gate.set()
        await blocker
        retry_status, retry_payload = await api.handle("POST", PREFIX + "/bet", headers, body)
        assert (retry_status, _error_code(retry_payload)[0]) == (200, "PLACED")
        late_status, late_payload = await asyncio.wait_for(waiting_retry, 10)
        assert (late_status, _error_code(late_payload)[0]) in ((200, "PLACED"), (503, "REQUEST_TIMED_OUT"))
        book = seq.engine.exchange.fixed_odds
        assert len(book.bets) == 1  # placed once, whatever the number of retries
        assert seq.engine.exchange.accounts["alice"].balance_minor == 1_000_000 - 500
        await seq.stop()
        identity.close()

    asyncio.run(main())


def test_a_full_queue_is_request_timed_out_and_places_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        journal = HeldJournal(tmp_path / "journal.db")
        seq = Sequencer(Engine(journal), clock_ms=lambda: T0_MS, max_pending=1)
        await seq.start()
        for c in setup_commands():
            assert isinstance(await seq.submit(c), AdminResult)
        identity = IdentityStore(tmp_path / "identity.db")
        identity.create_user("alice", "password-1", "alice")
        identity.create_provider("p1", SECRET, T0_MS)
        token = identity.login("alice", "password-1", None, T0_MS).token
        assert token is not None
        api = ProviderApi(PREFIX, lambda: seq.engine.exchange, seq.submit, identity, lambda: T0_MS, 5_000)
        blocker = await hold_writer(seq, journal)
        filler = asyncio.create_task(seq.submit(setup_commands()[1]))  # the one place in the queue
        await asyncio.sleep(0)
        headers, body = _request(token)
        status, payload = await api.handle("POST", PREFIX + "/bet", headers, body)
        assert (status, _error_code(payload)[0]) == (503, "REQUEST_TIMED_OUT")
        journal.gate.set()
        await blocker
        await filler
        assert not seq.engine.exchange.fixed_odds.bets
        await seq.stop()
        identity.close()

    asyncio.run(main())
