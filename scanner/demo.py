"""``arbscan demo``: the simulated exchanges and the scanner in one process."""
from __future__ import annotations

from typing import TextIO

from .app import Scanner
from .config import Config
from .metadata import load_metadata
from .record import Recorder
from .sim import SimulatedExchanges

DEMO_DISLOCATIONS = (2.0, 6.0)  # seconds between injected dislocations


async def run_demo(config: Config, duration: float | None = None, seed: int = 7,
                   view: TextIO | None = None, recorder: Recorder | None = None) -> None:
    """Start the simulator, point every enabled exchange at it, and scan."""
    exchanges = tuple(config.enabled_exchanges())
    async with SimulatedExchanges(symbols=config.scanner.symbols, exchanges=exchanges, seed=seed,
                                  dislocation_every=DEMO_DISLOCATIONS) as sim:
        for name, endpoint in sim.endpoints.items():
            config.exchanges[name].ws_url = endpoint.ws_url
            config.exchanges[name].rest_url = endpoint.rest_url
        scanner = Scanner(config, load_metadata(None), recorder=recorder)
        await scanner.run(duration, view=view)
