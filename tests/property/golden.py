"""The golden scenario: a fixed, seeded history of more than 100,000 commands whose every result and
event is encoded and hashed into one digest, checked in (test_golden_digest.py). It guards a change
that must not change the core's behaviour (a restructuring, an optimisation): the same digest before
and after, on the pure and on the compiled core.

Episodes of one to three markets each (plain, BSP, cross-matching, PASSIVE bet delay, two winners,
LINE), traded by eight accounts with the operations of the property tests (strategies.py) and a few
more: in-play with a bet delay, time passing through it, material suspensions, runner removals,
settlement with dead heats, unsettlement, resettlement, voiding, account limits and statuses, the
catalogue and race status. A jump of 91 days half-way prunes the history. The generator uses its own
`random.Random`, so the history depends on nothing but this file and the core.

Run `python -m tests.property.golden` to print the digest (and the count of commands).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import msgspec

from backlay.core import codes
from backlay.core.codes import BACK, LAY
from backlay.core.commands import (
    AdvanceTime,
    CancelInstruction,
    CancelOrders,
    Command,
    CreateAccount,
    CreateMarket,
    Deposit,
    LimitOnCloseOrder,
    LimitOrder,
    MarketDefinition,
    MarketOnCloseOrder,
    PlaceInstruction,
    PlaceOrders,
    RemoveRunner,
    ReplaceInstruction,
    ReplaceOrders,
    ResettleMarket,
    RunnerDefinition,
    RunnerResult,
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
from backlay.core.exchange import Exchange
from backlay.core.ladder import CLASSIC_LADDER

SEED = 20261207
EPISODES = 1_000
OPS_PER_EPISODE = 100
T0 = 1_700_000_000_000
DAY_MS = 86_400_000
ACCOUNTS = tuple(f"g{i}" for i in range(8))
MID_TICK = CLASSIC_LADDER.tick(300)
assert MID_TICK is not None
LINE_MIN_H, LINE_MAX_H, LINE_STEP_H = 500, 30_500, 100  # a LINE market from 5.5 to 305.5 runs, step 1

# (weight, kind): the mix of an episode's operations
OPS = [
    (160, "place"), (30, "cancel"), (16, "replace"), (8, "update"), (6, "deposit"), (3, "withdraw"),
    (5, "suspend"), (12, "open"), (3, "inplay"), (12, "advance"), (2, "remove"), (1, "settle"),
    (1, "unsettle"), (1, "resettle"), (2, "limits"), (2, "status"), (2, "definition"), (2, "catalogue"),
]
KINDS = [kind for weight, kind in OPS for _ in range(weight)]


class Market:
    """What the generator knows of a market it made."""

    def __init__(self, market_id: str, flavour: str, selections: list[int]) -> None:
        self.market_id = market_id
        self.flavour = flavour  # plain | bsp | cross | passive | place | line
        self.selections = selections


class Generator:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.ts = T0
        self.episode = 0
        self.markets: list[Market] = []
        self.suspended: str | None = None

    # --- building blocks -----------------------------------------------------------------------

    def setup(self) -> list[Command]:
        cmds: list[Command] = [UpsertEventType(event_type_id="7", name="Horse Racing")]
        for i, acct in enumerate(ACCOUNTS):
            cmds.append(CreateAccount(account_id=acct))
            cmds.append(Deposit(account_id=acct, amount_minor=(5_000, 50_000, 500_000, 5_000_000)[i % 4],
                                reference="golden"))
        return cmds

    def new_episode(self) -> list[Command]:
        self.episode += 1
        rng = self.rng
        flavours = ["plain", "bsp", "cross", "passive", "place", "line"]
        chosen = [rng.choice(flavours) for _ in range(rng.choice((1, 1, 2, 3)))]
        self.markets = []
        cmds: list[Command] = []
        for j, flavour in enumerate(chosen):
            market_id = f"1.{self.episode * 10 + j}"
            n = 1 if flavour == "line" else rng.choice((2, 3, 4, 6))
            sels = [self.episode * 100 + k for k in range(n)]
            self.markets.append(Market(market_id, flavour, sels))
            cmds.append(CreateMarket(market_id=market_id, definition=self.definition(flavour), runners=[
                RunnerDefinition(selection_id=s, name=f"R{s}", sort_priority=k) for k, s in enumerate(sels)]))
            cmds.append(SetMarketStatus(market_id=market_id, status=codes.OPEN))
        return cmds

    def definition(self, flavour: str) -> MarketDefinition:
        kw: dict[str, Any] = {"name": f"Episode {self.episode}", "event_id": str(self.episode),
                              "event_type_id": "7", "open_date_ms": self.ts, "market_time_ms": self.ts}
        if flavour == "bsp":
            kw.update(bsp_market=True, market_type="WIN")
        elif flavour == "cross":
            kw.update(cross_matching=True, bsp_market=self.rng.random() < 0.5)
        elif flavour == "passive":
            kw.update(bet_delay_models=["PASSIVE"], bsp_market=True)
        elif flavour == "place":
            kw.update(market_type="PLACE", number_of_winners=2, market_base_rate_bp=200)
        elif flavour == "line":
            kw.update(market_type="TOTAL_RUNS", betting_type=codes.LINE, price_ladder="LINE_RANGE",
                      line_min_h=LINE_MIN_H, line_max_h=LINE_MAX_H, line_interval_h=LINE_STEP_H)
        return MarketDefinition(**kw)

    def market(self) -> Market:
        return self.rng.choice(self.markets)

    def account(self) -> str:
        return self.rng.choice(ACCOUNTS)

    def price(self, m: Market) -> int:
        rng = self.rng
        if m.flavour == "line":
            return LINE_MIN_H + LINE_STEP_H * (100 + rng.randint(-4, 4))
        spread = 5 if m.flavour == "cross" else 1
        tick = MID_TICK + spread * rng.randint(-3, 3)
        if rng.random() < 0.2:
            tick += rng.randint(-40, 40)  # far from the crowd: another part of the ladder
        price = CLASSIC_LADDER.price_h(max(0, min(tick, 349)))
        if rng.random() < 0.01:
            return price + 1 if price >= 200 else 100  # off the ladder: INVALID_ODDS
        return price

    def size(self) -> int:
        rng = self.rng
        return rng.choice((100, 200, 500, 1_000, 2_000)) if rng.random() < 0.7 else rng.randint(1, 6_000)

    def bet_id(self, ex: Exchange, account: str, market_id: str) -> int:
        market = ex.markets.get(market_id)
        if market is None:
            return 999
        rng = self.rng
        how = rng.random()
        if how < 0.6:
            ids = [b for b, o in market.orders.items() if o.account_id == account and o.status == codes.EXECUTABLE]
        elif how < 0.9:
            ids = [b for b, o in market.orders.items() if o.account_id == account]
        else:
            ids = list(market.orders)
        return rng.choice(ids) if ids else 999

    # --- operations ----------------------------------------------------------------------------

    def selection(self, ex: Exchange, m: Market) -> int:
        """Mostly a runner still running, sometimes any (RUNNER_REMOVED)."""
        market = ex.markets.get(m.market_id)
        if market is not None and self.rng.random() < 0.9:
            active = [r.selection_id for r in market.runner_list if r.status == codes.ACTIVE]
            if active:
                return self.rng.choice(active)
        return self.rng.choice(m.selections)

    def instruction(self, ex: Exchange, m: Market) -> PlaceInstruction:
        rng = self.rng
        sel = self.selection(ex, m)
        side = rng.choice((BACK, LAY))
        size = self.size()
        variant = rng.choice(["plain"] * 20 + ["persist"] * 6 + ["profit", "payout", "moc", "bsp", "loc", "fok",
                                                                 "fok_min"] * 2 + ["bad_size"])
        if variant == "bsp":
            return PlaceInstruction(order_type=codes.MARKET_ON_CLOSE, selection_id=sel, side=side,
                                    market_on_close=MarketOnCloseOrder(liability_minor=size))
        if variant == "loc":
            return PlaceInstruction(order_type=codes.LIMIT_ON_CLOSE, selection_id=sel, side=side,
                                    limit_on_close=LimitOnCloseOrder(liability_minor=size, price_h=self.price(m)))
        kw: dict[str, Any] = {"price_h": self.price(m), "size_minor": size}
        if variant == "persist":
            kw["persistence"] = codes.PERSIST
        elif variant == "moc":
            kw["persistence"] = codes.MARKET_ON_CLOSE
        elif variant == "fok":
            kw["time_in_force"] = codes.FILL_OR_KILL
        elif variant == "fok_min":
            kw.update(time_in_force=codes.FILL_OR_KILL, min_fill_minor=max(size // 2, 1))
        elif variant in ("profit", "payout"):
            kw.update(size_minor=None, bet_target_minor=size,
                      bet_target_type=codes.BACKERS_PROFIT if variant == "profit" else codes.PAYOUT)
        elif variant == "bad_size":
            kw["size_minor"] = rng.choice((0, -1, 1))
        return PlaceInstruction(order_type=codes.LIMIT, selection_id=sel, side=side, limit=LimitOrder(**kw),
                                customer_order_ref=rng.choice((None,) * 30 + ("o1",) * 9 + ("x" * 33,)))

    def place(self, ex: Exchange) -> Command:
        rng = self.rng
        m = self.market()
        n = rng.choice((1, 1, 1, 1, 2, 3, 4))
        market = ex.markets.get(m.market_id)
        version = market.version if market is not None and rng.random() < 0.2 else None
        if version is not None and rng.random() < 0.2:
            version = max(version - 1, 0)  # an older version: lapsed after a material change
        return PlaceOrders(account_id=self.account(), market_id=m.market_id,
                           instructions=[self.instruction(ex, m) for _ in range(n)], market_version=version,
                           customer_ref=rng.choice((None,) * 8 + ("r1", "r2")),
                           customer_strategy_ref=rng.choice((None,) * 40 + ("s1",) * 9 + ("s" * 16,)),
                           async_=rng.random() < 0.05)

    def cancel(self, ex: Exchange) -> Command:
        rng = self.rng
        m, account = self.market(), self.account()
        scope = rng.random()
        if scope < 0.05:
            return CancelOrders(account_id=account)
        if scope < 0.15:
            return CancelOrders(account_id=account, market_id=m.market_id)
        seen: dict[int, CancelInstruction] = {}
        for _ in range(rng.choice((1, 1, 2, 3))):
            bid = self.bet_id(ex, account, m.market_id)
            reduction = rng.choice((None, None, None, -1, rng.randint(1, 800)))
            seen.setdefault(bid, CancelInstruction(bet_id=bid, size_reduction_minor=reduction))
        return CancelOrders(account_id=account, market_id=m.market_id, instructions=list(seen.values()),
                            customer_ref=rng.choice((None,) * 9 + ("c1",)))

    def replace(self, ex: Exchange) -> Command:
        rng = self.rng
        m, account = self.market(), self.account()
        by_bet: dict[int, ReplaceInstruction] = {}
        for _ in range(rng.choice((1, 1, 2))):
            bid = self.bet_id(ex, account, m.market_id)
            by_bet.setdefault(bid, ReplaceInstruction(bet_id=bid, new_price_h=self.price(m)))
        return ReplaceOrders(account_id=account, market_id=m.market_id, instructions=list(by_bet.values()))

    def update(self, ex: Exchange) -> Command:
        m, account = self.market(), self.account()
        persistence = self.rng.choice((codes.LAPSE, codes.PERSIST, codes.MARKET_ON_CLOSE))
        return UpdateOrders(account_id=account, market_id=m.market_id, instructions=[
            UpdateInstruction(bet_id=self.bet_id(ex, account, m.market_id), new_persistence=persistence)])

    def results(self, m: Market) -> list[RunnerResult]:
        rng = self.rng
        winners = m.selections[:]
        rng.shuffle(winners)
        if m.flavour == "place":
            chosen = sorted(winners[:2])
            return [RunnerResult(selection_id=s) for s in chosen]
        if rng.random() < 0.15 and len(winners) > 1:  # a dead heat of two
            return [RunnerResult(selection_id=s, dead_heat_num=2) for s in sorted(winners[:2])]
        return [RunnerResult(selection_id=winners[0])]

    def settle(self, m: Market, resettle: bool = False) -> Command:
        if m.flavour == "line":
            outcome = LINE_MIN_H + LINE_STEP_H * (100 + self.rng.randint(-5, 5))
            cls = ResettleMarket if resettle else SettleMarket
            return cls(market_id=m.market_id, line_outcome_h=outcome)
        if resettle:
            return ResettleMarket(market_id=m.market_id, results=self.results(m))
        return SettleMarket(market_id=m.market_id, results=self.results(m))

    def limits(self) -> Command:
        rng = self.rng
        account = self.account()
        which = rng.randrange(3)
        if which == 0:
            return SetExposureLimit(account_id=account, exposure_limit_minor=rng.choice((None, 10_000, 200_000)))
        if which == 1:
            return SetLossLimit(account_id=account, loss_limit_minor=rng.choice((None, None, 50_000)))
        return SetBestExecution(account_id=account, max_price_improvement_ticks=rng.choice((None, None, 2)))

    def operation(self, ex: Exchange) -> Command:
        rng = self.rng
        kind = rng.choice(KINDS)
        if kind == "place":
            return self.place(ex)
        if kind == "cancel":
            return self.cancel(ex)
        if kind == "replace":
            return self.replace(ex)
        if kind == "update":
            return self.update(ex)
        if kind in ("deposit", "withdraw"):
            amount = rng.choice((0, rng.randint(1, 5_000), rng.randint(5_000, 200_000)))
            cls = Deposit if kind == "deposit" else Withdraw
            return cls(account_id=self.account(), amount_minor=amount)
        m = self.market()
        if kind == "suspend":
            return SetMarketStatus(market_id=m.market_id, status=codes.SUSPENDED, material=rng.random() < 0.3)
        if kind == "open":
            return SetMarketStatus(market_id=m.market_id, status=codes.OPEN)
        if kind == "inplay":
            return TurnInPlay(market_id=m.market_id, bet_delay_s=rng.choice((0, 1, 5)))
        if kind == "advance":
            return AdvanceTime()
        if kind == "remove":
            return RemoveRunner(market_id=m.market_id, selection_id=rng.choice(m.selections),
                                adjustment_factor_bp=rng.choice((None, 200, 2_300)),
                                reduction_factor_bp=rng.choice((None, None, 0, 1_000)), vacant=rng.random() < 0.1)
        if kind == "settle":
            return self.settle(m) if rng.random() < 0.8 else VoidMarket(market_id=m.market_id)
        if kind == "unsettle":
            return UnsettleMarket(market_id=m.market_id)
        if kind == "resettle":
            return self.settle(m, resettle=True)
        if kind == "limits":
            return self.limits()
        if kind == "status":  # suspend an account, and at the next such operation reactivate it
            if self.suspended is not None:
                account, self.suspended = self.suspended, None
                return SetAccountStatus(account_id=account, status="ACTIVE")
            self.suspended = self.account()
            return SetAccountStatus(account_id=self.suspended, status="SUSPENDED")
        if kind == "definition":
            return UpdateMarketDefinition(market_id=m.market_id, changes=rng.choice((
                {"name": f"Renamed {self.episode}"}, {"market_time_ms": self.ts + DAY_MS}, {"bsp_market": True})))
        return self.catalogue()

    def catalogue(self) -> Command:
        rng = self.rng
        which = rng.randrange(4)
        if which == 0:
            return UpsertCompetition(competition_id=str(rng.randint(1, 5)), name="Cup", event_type_id="7")
        if which == 1:
            return UpsertEvent(event_id=str(self.episode), name=f"Meeting {self.episode}", event_type_id="7",
                               country_code=rng.choice(("GB", "IE", None)), open_date_ms=self.ts)
        if which == 2:
            return SetRaceStatus(race_id=f"{self.episode}.1400", race_status=rng.choice(
                ("DORMANT", "GOINGDOWN", "OFF", "FINISHED", "NOT_A_STATUS")))
        return UpsertEventType(event_type_id="7", name=rng.choice(("Horse Racing", "Racing")))

    def finish_episode(self) -> list[Command]:
        """Settle what is left (some twice over: unsettle and settle again, or resettle)."""
        cmds: list[Command] = []
        for m in self.markets:
            roll = self.rng.random()
            if roll < 0.05:
                cmds.append(VoidMarket(market_id=m.market_id))
                continue
            cmds.append(self.settle(m))
            if roll < 0.15:
                cmds += [UnsettleMarket(market_id=m.market_id), self.settle(m)]
            elif roll < 0.25:
                cmds.append(self.settle(m, resettle=True))
        return cmds

    def step_ms(self) -> int:
        rng = self.rng
        return rng.choice((0, 0, rng.randint(1, 2_000), rng.randint(4_000, 8_000)))


class Digest:
    """Hash of every (command, time, result, events) in order, each encoded as msgpack."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.commands = 0
        self._encode = msgspec.msgpack.Encoder().encode

    def add(self, cmd: Command, ts_ms: int, result: Any, events: list[Any]) -> None:
        enc = self._encode
        update = self.hash.update
        update(enc(cmd))
        update(ts_ms.to_bytes(8, "big"))
        update(type(result).__name__.encode())
        update(enc(result))
        for ev in events:
            update(type(ev).__name__.encode())
            update(enc(ev))
        self.commands += 1


def run(episodes: int = EPISODES, seed: int = SEED, check_every: int = 10_000) -> tuple[str, int]:
    """Run the golden scenario on a fresh core; returns (digest hex, commands applied). Invariants
    are checked every `check_every` commands and at the end."""
    ex = Exchange()
    gen = Generator(seed)
    digest = Digest()

    def apply(cmd: Command) -> None:
        result, events = ex.apply(cmd, gen.ts)
        digest.add(cmd, gen.ts, result, events)
        if digest.commands % check_every == 0:
            ex.check_invariants()

    for cmd in gen.setup():
        apply(cmd)
    for e in range(episodes):
        if e == episodes // 2:
            gen.ts += 91 * DAY_MS  # past the 90 days of history: the next settlement prunes
        for cmd in gen.new_episode():
            apply(cmd)
        for _ in range(OPS_PER_EPISODE):
            gen.ts += gen.step_ms()
            apply(gen.operation(ex))
        gen.ts += 10_000
        for cmd in [AdvanceTime(), *gen.finish_episode()]:
            apply(cmd)
    ex.check_invariants()
    return digest.hash.hexdigest(), digest.commands


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    hexdigest, n = run()
    print(f"{hexdigest}  ({n} commands, {time.perf_counter() - t0:.1f} s)")
