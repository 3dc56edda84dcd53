"""The verbatim exchange samples from the shared reference folder."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
SAMPLES = REFERENCE / "exchange-samples"


@lru_cache(maxsize=None)
def sample(exchange: str, name: str) -> bytes:
    """One raw sample message, as the exchange sends it."""
    return json.loads((SAMPLES / f"{exchange}.json").read_text())[name].encode()
