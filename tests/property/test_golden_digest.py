"""The golden digest: the core's every result and event over a fixed history of more than 100,000
commands (golden.py), hashed. A change meant to leave the core's behaviour alone (issue 16's
restructuring into stages, an optimisation) must leave this value alone, on the pure and on the
compiled core (scripts/test.sh runs this file both ways).

If a change of behaviour is intended, say so in docs/decisions.md and update the value printed by
`python -m tests.property.golden`.
"""

from __future__ import annotations

from . import golden

GOLDEN_DIGEST = "59deec5a4e6465e9ae39b821eb2315bed931ffb8876cf60cfa43284ca8b0b6a5"
GOLDEN_COMMANDS = 106_857


def test_golden_digest() -> None:
    digest, commands = golden.run()
    assert commands == GOLDEN_COMMANDS >= 100_000
    assert digest == GOLDEN_DIGEST, "the core's results or events changed (see this file's docstring)"
