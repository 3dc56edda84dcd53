"""Trading and transfer costs: taker fees per instrument and the transfer route for the base
asset from the buy exchange to the sell exchange."""
from __future__ import annotations

import logging
from functools import lru_cache

from ..config import ExchangeConfig
from ..instruments import Instrument
from ..metadata import Metadata, Status, TransferRoute
from .opportunity import TransferStatus

log = logging.getLogger(__name__)

FALLBACK_TAKER_FEE = 0.001  # 10 bps, the common retail spot tier, used when nothing else is known

ROUTE_STATUS = {Status.OPEN: TransferStatus.OPEN, Status.UNKNOWN: TransferStatus.UNKNOWN,
                Status.CLOSED: TransferStatus.BLOCKED}


class CostModel:
    """Fee and transfer lookups for the engine; resolved once per key, then cached."""

    def __init__(self, metadata: Metadata, exchanges: dict[str, ExchangeConfig]):
        self.metadata = metadata
        self.exchanges = exchanges
        self.taker_fee = lru_cache(maxsize=None)(self._taker_fee)
        self.transfer = lru_cache(maxsize=None)(self._transfer)

    def _taker_fee(self, instrument: Instrument) -> float:
        exchange = instrument.exchange
        override = self.exchanges[exchange].taker_fee_bps if exchange in self.exchanges else None
        if override is not None:
            return override / 1e4
        fee = self.metadata.taker_fee(exchange, instrument.symbol)
        if fee is None:
            log.warning("no taker fee known for %s %s; assuming %.0f bps (set taker_fee_bps)",
                        exchange, instrument.symbol, FALLBACK_TAKER_FEE * 1e4)
            return FALLBACK_TAKER_FEE
        return fee

    def asset_conflict(self, asset: str, a: str, b: str) -> str | None:
        """Why ``asset`` at exchange ``a`` is another asset than at ``b`` (None: the same as far
        as the metadata says; see `Metadata.asset_conflict`)."""
        return self.metadata.asset_conflict(asset, a, b)

    def _transfer(self, asset: str, src: str, dst: str) -> tuple[TransferStatus, str | None, float]:
        route: TransferRoute = self.metadata.transfer_route(asset, src, dst)
        return ROUTE_STATUS[route.status], route.network, route.fee
