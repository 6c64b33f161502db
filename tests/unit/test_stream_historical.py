"""Real Betfair stream data through the Stream API's wire types (src/backlay/wire/stream.py): every
market change message of the historical files in ../shared/data/historical (PRO and BASIC) decodes, and
re-encodes to the same JSON, except for the keys that only historical files carry. So the types the
server emits with accept everything Betfair itself sends, with the same names, nesting and values.

The files are not part of the project: without ../shared the tests skip, saying so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from backlay.betfair.wire import stream as ws

HISTORICAL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "historical"
FILES = sorted(p for p in HISTORICAL_DIR.glob("*") if p.is_file() and not p.name.endswith(".json")) \
    if HISTORICAL_DIR.is_dir() else []

# Keys in historical files that the live stream does not send (ESASwaggerSchema.json has none of them):
# the market's and runners' names, which Betfair's historical data adds to the market definition, and
# `_stream_id`, which a recorder (betfairlightweight / flumine) writes into the files it saves.
HISTORICAL_ONLY = {
    ".mc[].marketDefinition.name",
    ".mc[].marketDefinition.eventName",
    ".mc[].marketDefinition.runners[].name",
    ".mc[]._stream_id",
}

_DECODER = msgspec.json.Decoder(ws.MarketChangeMessage)


def _differences(original: Any, ours: Any, path: str, out: set[str]) -> None:
    if isinstance(original, dict) and isinstance(ours, dict):
        for key, value in original.items():
            where = f"{path}.{key}"
            if key not in ours:
                if where not in HISTORICAL_ONLY:
                    out.add(f"{where}: dropped")
            else:
                _differences(value, ours[key], where, out)
        out.update(f"{path}.{key}: added" for key in ours.keys() - original.keys())
    elif isinstance(original, list) and isinstance(ours, list):
        if len(original) != len(ours):
            out.add(f"{path}: {len(original)} items, {len(ours)} re-encoded")
        for a, b in zip(original, ours):
            _differences(a, b, f"{path}[]", out)
    elif isinstance(original, bool) or isinstance(ours, bool):
        if original is not ours:
            out.add(f"{path}: {original!r} re-encoded as {ours!r}")
    elif original != ours:  # 5 and 5.0 are the same number
        out.add(f"{path}: {original!r} re-encoded as {ours!r}")


@pytest.mark.skipif(not FILES, reason=f"no historical stream files (they live outside the project): {HISTORICAL_DIR}")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_historical_messages_decode_and_reencode_unchanged(path: Path) -> None:
    """003:L6160-6194 (MarketChangeMessage), L6366 (the full marketDefinition), and the schema's
    MarketChange / RunnerChange / MarketDefinition: real messages fit the declared types exactly."""
    messages = 0
    differences: set[str] = set()
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            message = _DECODER.decode(line)
        except msgspec.ValidationError as exc:
            pytest.fail(f"{path.name} line {number} does not decode: {exc}")
        _differences(json.loads(line), json.loads(ws.encode(message)), "", differences)
        messages += 1
    assert messages > 0
    assert not differences, f"{path.name}: {sorted(differences)}"
