"""The sequencer's bounded queue (issue 16, item 4): at most `max_pending` commands wait for a batch; a
submit beyond that raises QueueFull at once, before it is stamped or journaled, so nothing of it exists
anywhere; what was queued completes. Each edge answers it as its documented "busy" error (Betfair's
SERVICE_BUSY, 003:L9997: "The service is currently too busy to service this request"; the admin API's 503).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

import pytest

from backlay.admin.api import AdminApi
from backlay.betfair.http.app import WithHeaders
from backlay.config import Config, ConfigError
from backlay.core.commands import (
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOrder,
    MarketDefinition,
    PlaceInstruction,
    PlaceOrders,
    RunnerDefinition,
    SetMarketStatus,
)
from backlay.core.exchange import Exchange
from backlay.core.reports import AdminResult, PlaceExecutionReport, Result
from backlay.engine import SqliteJournal
from backlay.engine.codec import decode_command
from backlay.engine.engine import Engine
from backlay.engine.sequencer import DEFAULT_MAX_PENDING, QueueFull, Sequencer
from backlay.identity.store import IdentityStore

MARKET = "1.100"
T0_MS = 1_700_000_000_000
MAX_PENDING = 5


class HeldJournal(SqliteJournal):
    """A journal whose appends wait for `gate`: the writer task is held inside a batch's write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def append_batch(self, entries: Sequence[tuple[int, int, bytes]]) -> None:
        self.entered.set()
        assert self.gate.wait(30), "the test never released the writer"
        super().append_batch(entries)


def setup_commands() -> list[Command]:
    return [CreateAccount(account_id="alice"), Deposit(account_id="alice", amount_minor=1_000_000),
            CreateMarket(market_id=MARKET, definition=MarketDefinition(name="Match Odds"),
                         runners=[RunnerDefinition(selection_id=11, name="Home")]),
            SetMarketStatus(market_id=MARKET, status="OPEN")]


def place(size_minor: int) -> PlaceOrders:
    return PlaceOrders(account_id="alice", market_id=MARKET, instructions=[PlaceInstruction(
        order_type="LIMIT", selection_id=11, side=0, customer_order_ref=f"size-{size_minor}",
        limit=LimitOrder(price_h=500, size_minor=size_minor, persistence="LAPSE"))])


async def hold_writer(seq: Sequencer, journal: HeldJournal) -> asyncio.Task[Result]:
    """One command taken into a batch whose write waits for the gate; the queue behind it is empty."""
    journal.gate.clear()
    journal.entered.clear()
    blocker = asyncio.create_task(seq.submit(place(100)))
    while not journal.entered.is_set():
        await asyncio.sleep(0.001)
    assert seq.pending == 0
    return blocker


def test_a_full_queue_refuses_at_once_and_the_refused_command_changes_nothing(tmp_path: Path) -> None:
    """With `max_pending` commands waiting, the next submit raises QueueFull on its first step (it never
    waits), is not stamped (engine.seq unchanged), never reaches the journal and changes no state (the
    exchange fingerprint); the queued ones all complete once the writer is released; a snapshot waiter is
    not a command and is not refused; afterwards the queue accepts again."""
    db = tmp_path / "journal.db"

    async def main() -> tuple[str, int]:
        journal = HeldJournal(db)
        seq = Sequencer(Engine(journal), clock_ms=lambda: T0_MS, max_pending=MAX_PENDING)
        await seq.start()
        for result in await asyncio.gather(*(seq.submit(c) for c in setup_commands())):
            assert isinstance(result, AdminResult) and result.ok
        blocker = await hold_writer(seq, journal)
        queued = [asyncio.create_task(seq.submit(place(200 + i))) for i in range(MAX_PENDING)]
        await asyncio.sleep(0)  # each runs to its await: queued
        assert seq.pending == MAX_PENDING
        stamped, fingerprint = seq.engine.seq, seq.engine.exchange.fingerprint()

        refused = place(777)
        step = seq.submit(refused)
        with pytest.raises(QueueFull):
            step.send(None)  # raises on its first step: the caller is answered at once
        assert (seq.pending, seq.engine.seq) == (MAX_PENDING, stamped)
        assert seq.engine.exchange.fingerprint() == fingerprint
        snapshot = asyncio.create_task(seq.snapshot())  # not bounded: at most a handful of waiters

        journal.gate.set()
        results = await asyncio.wait_for(asyncio.gather(blocker, *queued), 10)
        assert all(isinstance(r, PlaceExecutionReport) and r.status == "SUCCESS" for r in results)
        # taken between two batches: right after the held one
        assert await asyncio.wait_for(snapshot, 10) == len(setup_commands()) + 1
        again = await seq.submit(place(300))  # drained: accepted again
        assert isinstance(again, PlaceExecutionReport) and again.status == "SUCCESS"

        refs = {o.customer_order_ref for o in seq.engine.exchange.orders.values()}
        assert "size-777" not in refs and len(refs) == MAX_PENDING + 2
        last = seq.engine.seq
        assert journal.last_seq() == last == len(setup_commands()) + MAX_PENDING + 2
        assert refused not in [decode_command(e.cmd) for e in journal.read_from(0)]
        final = seq.engine.exchange.fingerprint()
        await seq.stop()
        return final, last

    fingerprint, last_seq = asyncio.run(main())
    engine = Engine(SqliteJournal(db))
    engine.recover()
    assert (engine.seq, engine.exchange.fingerprint()) == (last_seq, fingerprint)
    engine.close()


def test_unbounded_follow_ups_are_admitted_while_full(tmp_path: Path) -> None:
    """`submit(cmd, bounded=False)` (a later command of a request whose first was admitted) is queued
    even when the queue is full, so that such a request is never left half done."""

    async def main() -> None:
        journal = HeldJournal(tmp_path / "journal.db")
        seq = Sequencer(Engine(journal), clock_ms=lambda: T0_MS, max_pending=1)
        await seq.start()
        for cmd in setup_commands():  # one at a time: the queue holds one
            await seq.submit(cmd)
        blocker = await hold_writer(seq, journal)
        first = asyncio.create_task(seq.submit(Deposit(account_id="alice", amount_minor=1)))
        await asyncio.sleep(0)
        with pytest.raises(QueueFull):
            await seq.submit(Deposit(account_id="alice", amount_minor=2))
        follow_up = asyncio.create_task(seq.submit(Deposit(account_id="alice", amount_minor=3), bounded=False))
        await asyncio.sleep(0)
        assert seq.pending == 2
        journal.gate.set()
        await asyncio.wait_for(asyncio.gather(blocker, first, follow_up), 10)
        deposits = [decode_command(e.cmd) for e in journal.read_from(0)]
        assert [d.amount_minor for d in deposits if isinstance(d, Deposit)] == [1_000_000, 1, 3]
        await seq.stop()

    asyncio.run(main())


def test_the_limit_is_a_setting() -> None:
    """BACKLAY_MAX_PENDING_COMMANDS (default 10,000, the sequencer's DEFAULT_MAX_PENDING); below 1 is
    refused by Config and by the Sequencer."""
    assert Config.load({}).max_pending_commands == DEFAULT_MAX_PENDING == 10_000
    assert Config.load({"BACKLAY_MAX_PENDING_COMMANDS": "64"}).max_pending_commands == 64
    with pytest.raises(ConfigError, match="max_pending_commands"):
        Config.load({"BACKLAY_MAX_PENDING_COMMANDS": "0"})
    with pytest.raises(ValueError, match="max_pending"):
        Sequencer(Engine(SqliteJournal(":memory:")), max_pending=0)


# --- the admin API's answer --------------------------------------------------------------------------


class FakeQueue:
    """Applies commands to an Exchange at once; refuses bounded submits once `full`."""

    def __init__(self) -> None:
        self.ex = Exchange()
        self.full = False
        self.fill_after_first = False
        self.applied: list[Command] = []

    def submit(self, bounded: bool) -> Any:
        async def submit(cmd: Command) -> Result:
            if bounded and self.full:
                raise QueueFull("full")
            self.full = self.full or self.fill_after_first  # other requests fill the queue meanwhile
            self.applied.append(cmd)
            return self.ex.apply(cmd, T0_MS)[0]
        return submit


def admin_api(tmp_path: Path, queue: FakeQueue) -> AdminApi:
    return AdminApi("t" * 16, lambda: queue.ex, queue.submit(True), IdentityStore(tmp_path / "identity.db"),
                    submit_follow_up=queue.submit(False))


def run(coro: Awaitable[tuple[int, Any]]) -> tuple[int, Any]:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_admin_answers_503_service_busy_with_retry_after_and_does_nothing(tmp_path: Path) -> None:
    """docs/admin-api.md: a full queue answers 503 {"error": {"code": "SERVICE_BUSY", ...}} with
    Retry-After: 1, and nothing of the request happened (no account, no login)."""
    queue = FakeQueue()
    api = admin_api(tmp_path, queue)
    queue.full = True
    body = b'{"username": "zed", "password": "password-1", "deposit": 10}'
    status, payload = run(api.handle("POST", "/admin/v1/accounts", {"authorization": "Bearer " + "t" * 16}, body))
    assert status == 503 and isinstance(payload, WithHeaders)
    assert payload.headers == ((b"retry-after", b"1"),)
    assert payload.payload.error.code == "SERVICE_BUSY"
    assert not queue.applied and "zed" not in queue.ex.accounts and not api.identity.has_user("zed")
    doc = api.openapi()["paths"]
    assert "503" in doc["/admin/v1/accounts"]["post"]["responses"]
    assert "503" not in doc["/admin/v1/accounts"]["get"]["responses"]  # reads never submit
    assert "503" not in doc["/admin/v1/accounts/{accountId}/app-keys"]["post"]["responses"]  # identity only


def test_admin_request_admitted_is_finished_whole(tmp_path: Path) -> None:
    """A request whose first command was admitted runs its later ones though the queue filled meanwhile:
    an account created with a deposit gets its deposit, a market created open is opened."""
    queue = FakeQueue()
    api = admin_api(tmp_path, queue)
    auth = {"authorization": "Bearer " + "t" * 16}
    queue.fill_after_first = True
    body = b'{"username": "zed", "password": "password-1", "deposit": 10}'
    status, _ = run(api.handle("POST", "/admin/v1/accounts", auth, body))
    assert status == 201 and queue.ex.accounts["zed"].balance_minor == 1_000
    queue.full = False
    body = b'{"marketId": "1.5", "marketName": "M", "runners": [{"selectionId": 1, "runnerName": "A"}], "open": true}'
    status, _ = run(api.handle("POST", "/admin/v1/markets", auth, body))
    assert status == 201 and queue.ex.markets["1.5"].status == "OPEN"
