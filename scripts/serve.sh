#!/usr/bin/env bash
# Install (first run only) and start the exchange on its embedded default: SQLite in ./data, demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/backlay serve --demo "$@"
