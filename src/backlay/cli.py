"""`backlay` command line.

    backlay serve [--demo] [--data-dir DIR] [--host H] [--port P] [--cert-port P] [--stream-port P]
                  [--stream-plain-port P] [--stream-workers N] [--admin-token T] [--dev]
        recover from the journal and serve the Betfair API, the Stream API and the admin API
    backlay demo [--data-dir DIR]
        seed the demo world and run a scripted trade and settlement on the core (no HTTP)

Every flag has an environment variable (README, "Running"); a flag wins over its variable, which wins
over the default (backlay/config.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from backlay import demo
from backlay.config import Config, ConfigError
from backlay.core.exchange import Exchange
from backlay.engine.engine import Engine
from backlay.engine.sqlite import SqliteJournal
from backlay.runtime import freeze_heap, tune_gc


def _count(value: str) -> int:
    """A whole number >= 0, for argparse."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be 0 or more")
    return n


def _config(args: argparse.Namespace, **flags: Any) -> Config:
    try:
        return Config.load(data_dir=args.data_dir, **flags)
    except ConfigError as exc:
        sys.exit(f"backlay: {exc}")


def cmd_serve(args: argparse.Namespace) -> int:
    """Recover from the journal and serve the Betfair API (seeding the demo world once with --demo)."""
    import asyncio

    from backlay.server import serve

    cfg = _config(args, host=args.host, http_port=args.port, cert_port=args.cert_port,
                  stream_port=args.stream_port, stream_plain_port=args.stream_plain_port,
                  stream_workers=args.stream_workers, admin_token=args.admin_token, dev_mode=args.dev or None)
    logging.basicConfig(level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop
    except ImportError:  # uvloop is optional on platforms without it
        asyncio.run(serve(cfg, args.demo))
    else:
        uvloop.run(serve(cfg, args.demo))
    return 0


def cmd_core_demo(args: argparse.Namespace) -> int:
    """The scripted walk through the core, straight on the engine (no HTTP)."""
    cfg = _config(args)
    tune_gc()
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    engine = Engine(SqliteJournal(cfg.journal_path), lambda: Exchange(cfg.currency))
    engine.recover()
    freeze_heap()
    print(f"backlay: journal {cfg.journal_path} (SQLite, WAL, fsync per batch); recovered to seq {engine.seq}")
    if demo.seed_engine(engine):
        print("seeded the demo world: accounts alice, bob, carol; soccer, tennis and racing markets")
    demo.scripted_demo(engine)
    engine.snapshot()
    engine.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="backlay", description="A self-hosted betting exchange that speaks the Betfair API")
    sub = ap.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the exchange")
    serve.add_argument("--demo", action="store_true", help="seed the demo world on first start")
    serve.add_argument("--data-dir", help="where the journal lives (env BACKLAY_DATA_DIR, default ./data)")
    serve.add_argument("--host", help="address of every listener (env BACKLAY_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=_count, help="HTTP port (env BACKLAY_HTTP_PORT, default 8080)")
    serve.add_argument("--cert-port", type=_count,
                       help="HTTPS port of certlogin (env BACKLAY_CERT_PORT, default 8443, 0: off)")
    serve.add_argument("--stream-port", type=_count,
                       help="Stream API port, TLS (env BACKLAY_STREAM_PORT, default 8444, 0: off)")
    serve.add_argument("--stream-plain-port", type=_count,
                       help="Stream API over plain TCP, for local use (env BACKLAY_STREAM_PLAIN_PORT, default 0: off)")
    serve.add_argument("--stream-workers", type=_count,
                       help="processes serving the Stream API, each a replica of the exchange (env "
                       "BACKLAY_STREAM_WORKERS, default 0: the server's own event loop); see docs/architecture.md")
    serve.add_argument("--admin-token", help="bearer token of the admin API (env BACKLAY_ADMIN_TOKEN; default: "
                       "created once in <data dir>/admin-token)")
    serve.add_argument("--dev", action="store_true",
                       help="dev mode: certlogin over plain HTTP without a client certificate (env BACKLAY_DEV_MODE=1)")
    serve.set_defaults(func=cmd_serve)
    core_demo = sub.add_parser("demo", help="seed and run the scripted trade/settle walk-through on the core, then exit")
    core_demo.add_argument("--data-dir", help="where the journal lives (env BACKLAY_DATA_DIR, default ./data)")
    core_demo.set_defaults(func=cmd_core_demo)
    args = ap.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
