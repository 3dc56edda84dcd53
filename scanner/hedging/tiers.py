"""Where a perpetual's maintenance-margin tiers come from: the config's ``[hedging.tiers.<exchange>]``
override, else the metadata (`arbscan markets refresh`, or the bundled snapshot), else the
built-in `DEFAULT_TIERS` (last resort). `tiers_for` is the one place that decides."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable, Sequence

from .margin import Tier

if TYPE_CHECKING:
    from ..config import HedgingConfig, TierConfig
    from ..metadata import Metadata

# Maintenance tiers used when neither the config nor the metadata gives the market's own: the
# worked tiers of each exchange's documentation (Binance's FAQ; OKX and Bybit base tiers). They are
# approximations; set [hedging.tiers.<exchange>] to the exchange's current table.
DEFAULT_TIERS: dict[str, tuple[Tier, ...]] = {
    "binance": (Tier(0, 50_000, 0.004, 0, 125), Tier(50_000, 250_000, 0.005, 50, 100),
                Tier(250_000, float("inf"), 0.01, 1_300, 50)),
    "okx": (Tier(0, float("inf"), 0.004, 0, 100),),
    "bybit": (Tier(0, 2_000_000, 0.005, 0, 100), Tier(2_000_000, float("inf"), 0.01, 10_000, 50)),
}
BUILTIN = "built-in defaults"
NO_DEDUCTION = ("okx",)  # the exchanges whose maintenance margin is notional x MMR with nothing deducted


@dataclass(frozen=True, slots=True)
class Tiers:
    """A market's tiers and where they came from ("config", "metadata (bundled 2025-06-01)",
    "built-in defaults")."""

    tiers: tuple[Tier, ...]
    origin: str


def tiers_for(exchange: str, symbol: str, metadata: Metadata | None, config: HedgingConfig | None) -> Tiers:
    """The tiers of ``exchange``'s perpetual ``symbol``: a config override (the entries naming
    the symbol, else those naming none), else the metadata's, else `DEFAULT_TIERS`."""
    entries = config.tiers.get(exchange, []) if config is not None else []
    chosen = [e for e in entries if e.symbol == symbol] or [e for e in entries if not e.symbol]
    if chosen:
        return Tiers(from_config(exchange, chosen), "config")
    market = metadata.market(exchange, symbol) if metadata is not None else None
    if market is not None and market.tiers:
        data = metadata.data[exchange]
        day = datetime.fromtimestamp(data.fetched_at, timezone.utc).strftime("%Y-%m-%d")
        return Tiers(market.tiers, f"metadata ({data.source} {day})")
    return Tiers(DEFAULT_TIERS[exchange], BUILTIN)


def from_config(exchange: str, entries: Sequence[TierConfig]) -> tuple[Tier, ...]:
    """Config entries as tiers: no cap is no upper bound; no deduction is derived (`with_deductions`)."""
    return with_deductions(exchange, [(e.floor, float("inf") if e.cap is None else e.cap, e.mmr, e.deduction,
                                       e.max_leverage) for e in entries])


def with_deductions(exchange: str,
                    rows: Iterable[tuple[float, float, float, float | None, float]]) -> tuple[Tier, ...]:
    """Tiers from (floor, cap, mmr, deduction or None, max leverage) rows. A missing deduction is
    the one that keeps the maintenance margin continuous across floors (Binance's ``cum`` rule:
    amount_n = floor_n x (MMR_n - MMR_n-1) + amount_n-1, which Bybit's mmDeduction follows too);
    0 where the exchange deducts nothing (OKX)."""
    tiers: list[Tier] = []
    for floor, cap, mmr, deduction, leverage in rows:
        if deduction is None:
            previous = tiers[-1] if tiers else None
            deduction = 0.0 if exchange in NO_DEDUCTION or previous is None else round(
                previous.deduction + floor * (mmr - previous.mmr), 8)
        tiers.append(Tier(floor, cap, mmr, deduction, leverage))
    return tuple(tiers)
