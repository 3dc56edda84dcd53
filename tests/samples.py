"""Test data shipped with the repository (``tests/data``; see its README for sources), and
the shared reference folder beside the checkout, which only some tests need (they skip
without it)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SAMPLES = DATA / "exchange-samples"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"  # may be absent


@lru_cache(maxsize=None)
def sample(exchange: str, name: str) -> bytes:
    """One raw sample message, as the exchange sends it."""
    return json.loads((SAMPLES / f"{exchange}.json").read_text())[name].encode()
