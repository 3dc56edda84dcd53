"""Simulated exchanges: each registered exchange's real public wire protocol served on
loopback, driven by a deterministic market model, with fault injection.

    async with SimulatedExchanges(symbols=["BTC/USDT", "ETH/USDT"], seed=7) as sim:
        sim.endpoints["okx"].ws_url          # ws://127.0.0.1:PORT/ws/v5/public
        sim.dislocate("okx", "BTC/USDT", 50)  # OKX BTC 50 bps rich for 3 s
        sim.inject("bybit", "gap", "ETH/USDT")

Modules: ``market`` (prices and books, no I/O), ``protocol`` (shared plumbing), ``servers``
(ports, ticker, faults, hand stepping); each exchange's protocol is its ``scanner.exchanges.<name>.sim``.
"""
from .market import MarketModel
from .protocol import ExchangeStats
from .servers import FAULTS, Endpoint, SimulatedExchanges

__all__ = ["FAULTS", "Endpoint", "ExchangeStats", "MarketModel", "SimulatedExchanges"]
