"""``ExchangeProfile``: what arbscan knows about one exchange, declared once in its package."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..bench.frames import Wire
    from ..feeds.base import Venue
    from ..sim.protocol import Venue as SimVenue


@dataclass(frozen=True)
class ExchangeProfile:
    """One exchange. Its package ``scanner.exchanges.<name>`` holds ``feed`` (the wire protocol
    the scanner speaks), ``sim`` (the simulated exchange speaking it on loopback) and ``frames``
    (its benchmark stream), each with a class named ``cls_name`` (``frames``: ``<cls_name>Wire``);
    an exchange with perpetual and delivery futures feeds adds ``futures`` and ``futures_sim``
    with classes named ``futures_cls_name``.
    They are imported on first use, so reading the registry stays cheap."""

    name: str  # arbscan's and ccxt's id: "binance"
    title: str  # for people: "Binance spot"
    cls_name: str  # class name in feed.py and sim.py: "Binance"
    futures_cls_name: str | None = None  # class name in futures.py and futures_sim.py; None: no futures feed

    def _module(self, part: str) -> ModuleType:
        return importlib.import_module(f"scanner.exchanges.{self.name}.{part}")

    @cached_property
    def feed(self) -> type[Venue]:
        """The scanner's adapter class (compiled)."""
        return getattr(self._module("feed"), self.cls_name)

    @cached_property
    def sim(self) -> type[SimVenue]:
        """The simulated exchange's protocol class."""
        return getattr(self._module("sim"), self.cls_name)

    @cached_property
    def wire(self) -> type[Wire]:
        """The benchmark stream encoder."""
        return getattr(self._module("frames"), self.cls_name + "Wire")

    @property
    def has_futures(self) -> bool:
        return self.futures_cls_name is not None

    @cached_property
    def futures_feed(self) -> type[Venue]:
        """The scanner's perpetual and delivery futures adapter class (None: no futures feed)."""
        return getattr(self._module("futures"), str(self.futures_cls_name))

    @cached_property
    def futures_sim(self) -> type[SimVenue]:
        """The simulated futures exchange's protocol class."""
        return getattr(self._module("futures_sim"), str(self.futures_cls_name))
