"""`backlay` command line.

    backlay serve [--demo] [--data-dir DIR] [--host H] [--port P]   start the exchange and its HTTP API
    backlay demo [--data-dir DIR]             a scripted walk through the core: trade, match, settle

`serve` runs the HTTP API (identity, Betting, Accounts) over the durable engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from backlay.config import Config
from backlay.core.commands import (
    Command,
    LimitOrder,
    PlaceInstruction,
    PlaceOrders,
    RunnerResult,
    SettleMarket,
    TurnInPlay,
)
from backlay.core.exchange import Exchange
from backlay.core.reports import Result
from backlay.demo import demo_commands
from backlay.runtime import freeze_heap, tune_gc
from backlay.sequencer import Engine, wall_clock_ms
from backlay.store.sqlite import SqliteJournal


def _open_engine(cfg: Config) -> Engine:
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    engine = Engine(SqliteJournal(cfg.journal_path), lambda: Exchange(cfg.currency))
    engine.recover()
    return engine


def _count(value: str) -> int:
    """A whole number >= 0, for argparse."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be 0 or more")
    return n


def _submit(engine: Engine, cmds: list[Command]) -> list[Result]:
    return [r for r, _events in engine.submit_batch(cmds, wall_clock_ms())]


def _money(minor: int) -> str:
    return f"£{minor / 100:,.2f}"


def _print_funds(engine: Engine) -> None:
    for a in engine.exchange.accounts.values():
        print(f"  {a.account_id:6s} balance {_money(a.balance_minor):>12s}  exposure {_money(a.exposure_minor):>10s}"
              f"  available {_money(a.available_minor):>12s}")


def scripted_demo(engine: Engine) -> None:
    """Alice backs Arsenal, Bob lays it (matched at Alice's price), the match goes in-play and Arsenal win."""
    ex = engine.exchange
    market_id = "1.900000001"
    if market_id not in ex.markets or ex.markets[market_id].status != "OPEN" or ex.markets[market_id].inplay:
        print("demo market already traded; skipping the scripted trade")
        return

    def limit(side: int, price_h: int, size_minor: int) -> PlaceInstruction:
        return PlaceInstruction(order_type="LIMIT", selection_id=47999, side=side,
                                limit=LimitOrder(price_h=price_h, size_minor=size_minor, persistence="LAPSE"))

    r = _submit(engine, [PlaceOrders(account_id="alice", market_id=market_id, instructions=[limit(0, 250, 10_000)])])[0]
    print(f"alice backs Arsenal £100 @ 2.50: {r.status}")  # type: ignore[union-attr]
    r = _submit(engine, [PlaceOrders(account_id="bob", market_id=market_id, instructions=[limit(1, 260, 6_000)])])[0]
    print(f"bob lays Arsenal £60 @ 2.60 (matches at 2.50): {r.status}")  # type: ignore[union-attr]
    _print_funds(engine)
    _submit(engine, [TurnInPlay(market_id=market_id, bet_delay_s=5)])
    print("in-play: alice's unmatched £40 lapses")
    _submit(engine, [SettleMarket(market_id=market_id, results=[RunnerResult(selection_id=47999)])])
    print("settled: Arsenal win (5% commission on alice's net winnings)")
    _print_funds(engine)


def cmd_serve(args: argparse.Namespace) -> int:
    """Recover from the journal and serve the Betfair API (seeding the demo world once with --demo)."""
    import asyncio

    from backlay.server import serve

    cfg = Config.from_env(args.data_dir, admin_token=args.admin_token, dev_mode=args.dev or None)
    if args.stream_workers is not None:
        cfg = dataclasses.replace(cfg, stream_workers=args.stream_workers)
    try:
        import uvloop
    except ImportError:  # uvloop is optional on platforms without it
        asyncio.run(serve(cfg, args.host, args.port, args.demo, args.cert_port, args.stream_port,
                          args.stream_plain_port))
    else:
        uvloop.run(serve(cfg, args.host, args.port, args.demo, args.cert_port, args.stream_port,
                         args.stream_plain_port))
    return 0


def cmd_core_demo(args: argparse.Namespace) -> int:
    """The scripted walk through the core, straight on the engine (no HTTP)."""
    cfg = Config.from_env(args.data_dir)
    tune_gc()
    engine = _open_engine(cfg)
    freeze_heap()
    print(f"backlay: journal {cfg.journal_path} (SQLite, WAL, fsync per batch); recovered to seq {engine.seq}")
    if not engine.exchange.accounts:
        _submit(engine, demo_commands(wall_clock_ms()))
        print("seeded the demo world: accounts alice, bob, carol; soccer, tennis and racing markets")
    scripted_demo(engine)
    engine.snapshot()
    engine.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="backlay", description="A self-hosted betting exchange that speaks the Betfair API")
    sub = ap.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the exchange")
    serve.add_argument("--demo", action="store_true", help="seed the demo world on first start and run the demo")
    serve.add_argument("--data-dir", help="where the journal lives (env BACKLAY_DATA_DIR, default ./data)")
    serve.add_argument("--host", default=os.environ.get("BACKLAY_HOST", "127.0.0.1"),
                       help="HTTP address (env BACKLAY_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("BACKLAY_HTTP_PORT", "8080")),
                       help="HTTP port (env BACKLAY_HTTP_PORT, default 8080)")
    serve.add_argument("--cert-port", type=int, default=int(os.environ.get("BACKLAY_CERT_PORT", "8443")),
                       help="HTTPS port of certlogin (env BACKLAY_CERT_PORT, default 8443, 0: off)")
    serve.add_argument("--stream-port", type=int, default=int(os.environ.get("BACKLAY_STREAM_PORT", "8444")),
                       help="Stream API port, TLS (env BACKLAY_STREAM_PORT, default 8444, 0: off)")
    serve.add_argument("--stream-plain-port", type=int,
                       default=int(os.environ.get("BACKLAY_STREAM_PLAIN_PORT", "0")),
                       help="Stream API over plain TCP, for local use (env BACKLAY_STREAM_PLAIN_PORT, default 0: off)")
    serve.add_argument("--stream-workers", type=_count, default=None,
                       help="processes serving the Stream API, each a replica of the exchange (env "
                       "BACKLAY_STREAM_WORKERS, default 0: the server's own event loop); see docs/architecture.md")
    serve.add_argument("--admin-token", help="bearer token of the admin API (env BACKLAY_ADMIN_TOKEN; default: "
                       "created once in <data dir>/admin-token)")
    serve.add_argument("--dev", action="store_true",
                       help="dev mode: certlogin over plain HTTP without a client certificate (env BACKLAY_DEV_MODE=1)")
    serve.set_defaults(func=cmd_serve)
    demo = sub.add_parser("demo", help="seed and run the scripted trade/settle walk-through on the core, then exit")
    demo.add_argument("--data-dir", help="where the journal lives (env BACKLAY_DATA_DIR, default ./data)")
    demo.set_defaults(func=cmd_core_demo)
    args = ap.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
