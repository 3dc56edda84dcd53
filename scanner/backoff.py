"""Exponential backoff with full jitter, shared by feed reconnects and webhook retries."""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry number ``attempts`` (0-based): uniform(0, min(cap, base * 2**attempts))."""

    base: float = 1.0
    cap: float = 30.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        return (rng or random).uniform(0.0, min(self.cap, self.base * 2 ** min(attempts, 32)))
