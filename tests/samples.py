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


def shared_recording(name: str) -> list[dict]:
    """A v3 recording from ../shared/reference/recorded (AGPL-3.0: never copied here), one dict
    per record; the test skips when it (or zstandard) is absent."""
    import orjson
    import pytest

    zstandard = pytest.importorskip("zstandard")
    path = REFERENCE / "recorded" / "v3_jsonl_zst" / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the AGPL-3.0 recordings stay outside the repository)")
    text = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read().decode()
    return [orjson.loads(line) for line in text.splitlines() if line]
