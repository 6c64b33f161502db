#!/usr/bin/env bash
# Install (first run only) and run every check: ruff, mypy (strict on the core), the whole test suite
# (the stream suites once more with stream workers; the core's tests once more compiled by mypyc).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
echo "== ruff"; .venv/bin/ruff check src tests bench
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest "$@"
# the Stream API's protocol and client suites once more, served by stream workers (docs/architecture.md)
echo "== pytest, stream suites with BACKLAY_TEST_STREAM_WORKERS=2"
BACKLAY_TEST_STREAM_WORKERS=2 .venv/bin/python -m pytest tests/integration/test_stream_protocol.py \
    tests/integration/test_stream_clients.py "$@"
# the same core compiled with mypyc (what the benchmarks run), on its unit and property tests
if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; then
    echo "== pytest, unit and property tests on the mypyc-compiled core"
    scripts/compile-core.sh
    PYTHONPATH=build/mypyc .venv/bin/python -m pytest tests/unit tests/property "$@"
else
    echo "== skipped: the unit and property tests on the mypyc-compiled core (no C compiler)"
fi
