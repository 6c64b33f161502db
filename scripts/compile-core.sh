#!/usr/bin/env bash
# Compile the exchange core with mypyc into build/mypyc (the source tree stays pure Python).
# Use it with PYTHONPATH=build/mypyc. Rebuilds only when a core source is newer than the build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
out=build/mypyc
stamp="$out/.built"
if [ -f "$stamp" ] && [ -z "$(find src/backlay -name '*.py' -newer "$stamp")" ]; then
  exit 0
fi
rm -rf "$out" && mkdir -p "$out" && cp -r src/backlay "$out/"
( cd "$out" && ../../.venv/bin/mypyc backlay/core/codes.py backlay/core/ladder.py backlay/core/money.py backlay/core/orders.py \
    backlay/core/book.py backlay/core/wallet.py backlay/core/market.py backlay/core/ledger.py backlay/core/state.py \
    backlay/core/context.py backlay/core/risk.py backlay/core/unmatched.py backlay/core/dedup.py \
    backlay/core/crossmatch.py backlay/core/matching.py backlay/core/bsp.py backlay/core/placing.py \
    backlay/core/edits.py backlay/core/accounts.py backlay/core/lifecycle.py backlay/core/definitions.py \
    backlay/core/settlement.py backlay/core/fixed_odds_book.py \
    backlay/core/fixed_odds.py backlay/core/exchange.py >/dev/null )
touch "$stamp"
