"""Market model behind the simulated exchanges: pure, deterministic from the seed, no I/O.

One price process per asset (correlated geometric Brownian motion; stablecoins mean-revert
around 1), a small mean-reverting basis per (exchange, symbol), and one L2 book per
(exchange, symbol) that follows its venue's mid: the top tracks the mid with a 1-3 tick spread,
each update also changes a few random levels, and every side keeps 52-80 levels whose sizes grow
with distance (a venue whose channel serves deeper books, such as OKX's 400 levels, ``deepen``s
its own). Prices and sizes are integers: ticks and lots of each symbol's `Grid`; each book is of
its exchange's `scanner.instruments.Instrument` (with the id the simulated exchange gives it).

Books record what changed since the last ``drain`` (final lots per price, 0 = removed) and
whether their top changed, so each protocol server can publish diffs at its own cadence.
"""
from __future__ import annotations

import math
import random
import time
from bisect import insort
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..instruments import Instrument, MarketType, Symbol, parse_symbol
from ..stablecoins import STABLECOINS

SECONDS_PER_YEAR = 365 * 86400
ANCHOR_PRICES = {"BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0}
ANNUAL_VOL = {"BTC": 0.5, "ETH": 0.65}
DEFAULT_VOL = 0.8
MARKET_CORRELATION = 0.7  # share of each asset's variance driven by the common factor
STABLE_SD, STABLE_KAPPA = 2e-4, 0.1  # stablecoin deviation from 1: sd (a few bps) and reversion per second
BASIS_SD, BASIS_KAPPA = 2e-4, 0.05  # per-venue basis: sd (2 bps) and reversion per second
PERP_PREMIUM = 3e-4  # a perpetual trades this far over spot on average (it wanders around it)
DELIVERY_CARRY = 0.08  # a delivery future's premium per year to expiry (none at expiry)

MIN_LEVELS, START_LEVELS, MAX_LEVELS = 52, 64, 80  # levels per side (unless deepened)
LEVEL_GAP_BPS = 0.5  # mean distance between deep levels
TOP_NOTIONAL_USD = 8_000.0  # typical size of a top level, in USD
DISLOCATION_BPS = (20.0, 80.0)
DISLOCATION_SECONDS = (2.0, 6.0)

Levels = list[tuple[int, int]]  # (price ticks, lots), best first


@dataclass(frozen=True, slots=True)
class Grid:
    """The integer grid a simulated symbol moves on: ticks of ``10**-price_decimals``, lots of
    ``10**-qty_decimals``, level gaps scaled to ``ref_price``."""

    price_decimals: int
    qty_decimals: int
    ref_price: float

    @classmethod
    def create(cls, ref_price: float, base_usd: float) -> Grid:
        """Tick about 0.1-1 bps of ``ref_price``, lot about 1-10 cents of ``base_usd``.

        BTC/USDT at 60000 -> tick 0.1, lot 0.000001.
        """
        price_magnitude = math.floor(math.log10(ref_price))
        usd_magnitude = math.floor(math.log10(base_usd))
        return cls(min(8, max(0, 5 - price_magnitude)), min(8, max(0, usd_magnitude + 2)), ref_price)


def instrument(exchange: str, symbol: Symbol, grid: Grid) -> Instrument | None:
    """The simulated exchange's instrument: its id as that exchange's simulation writes it
    (futures: its futures simulation; None when the exchange has none)."""
    from ..exchanges import EXCHANGES  # the registry imports each exchange's sim lazily

    profile = EXCHANGES[exchange]
    details = {"tick": 10.0 ** -grid.price_decimals, "lot": 10.0 ** -grid.qty_decimals}
    if symbol.type is MarketType.SPOT:
        return Instrument(exchange, MarketType.SPOT, symbol.base, symbol.quote, None,
                          profile.sim.market_id(symbol.base, symbol.quote), **details)
    if not profile.has_futures:
        return None
    sim = profile.futures_sim
    return Instrument(exchange, symbol.type, symbol.base, symbol.quote, symbol.settle, sim.futures_id(symbol),
                      contract_size=sim.contract_size(symbol), expiry=symbol.expiry, **details)


class Side:
    """One side of a book: price ticks -> lots, a best-first index, and a change journal."""

    __slots__ = ("sign", "qty", "keys", "changes", "top_changed")

    def __init__(self, sign: int):
        self.sign = sign  # -1 for bids (keys are -price so ascending keys = best first), +1 asks
        self.qty: dict[int, int] = {}
        self.keys: list[int] = []
        self.changes: dict[int, int] = {}
        self.top_changed = False

    def best(self) -> int:
        return self.sign * self.keys[0]

    def price(self, index: int) -> int:
        return self.sign * self.keys[index]

    def put(self, price: int, lots: int) -> None:
        """Set a level (adding it if new)."""
        if price not in self.qty:
            insort(self.keys, self.sign * price)
        self.qty[price] = lots
        self.changes[price] = lots
        if self.sign * price <= self.keys[0]:
            self.top_changed = True

    def remove_at(self, index: int) -> None:
        price = self.sign * self.keys.pop(index)
        del self.qty[price]
        self.changes[price] = 0
        if index == 0:
            self.top_changed = True

    def shift(self, ticks: int) -> None:
        """Move every level by ``ticks`` (the whole side jumps)."""
        old = self.qty
        self.qty = {price + ticks: lots for price, lots in old.items()}
        self.keys = [key + self.sign * ticks for key in self.keys]
        for price in old:
            if price not in self.qty:
                self.changes[price] = 0
        for price, lots in self.qty.items():
            if old.get(price) != lots:
                self.changes[price] = lots
        self.top_changed = True

    def levels(self, depth: int | None = None) -> Levels:
        sign, qty = self.sign, self.qty
        return [(sign * key, qty[sign * key]) for key in self.keys[:depth]]

    def drain(self) -> dict[int, int]:
        """The changes since the last drain (price -> final lots, 0 = removed)."""
        changes, self.changes = self.changes, {}
        return changes


class VenueBook:
    """The true L2 book of one symbol on one exchange, with its update counter."""

    __slots__ = ("exchange", "instrument", "grid", "bids", "asks", "update_id", "basis", "basis_at", "premium",
                 "spread", "unit_lots", "pending", "shift_ticks", "dislocated_until",
                 "crossed_until", "cross_lots", "min_levels", "max_levels")

    def __init__(self, exchange: str, instrument: Instrument, grid: Grid, update_id: int,
                 unit_lots: int, pending: float):
        self.exchange = exchange
        self.instrument = instrument
        self.grid = grid
        self.bids = Side(-1)
        self.asks = Side(1)
        self.update_id = update_id  # +1 per book change
        self.basis = 0.0  # log-deviation of this venue's mid from the fair price
        self.basis_at = 0.0  # model time the basis was last moved
        self.premium = PERP_PREMIUM if instrument.type is MarketType.PERP else 0.0  # perpetual over spot
        self.spread = 1  # target top spread in ticks
        self.unit_lots = unit_lots  # typical top-level size
        self.pending = pending  # fractional updates owed to this book
        self.shift_ticks = 0  # current dislocation, in ticks
        self.dislocated_until = 0.0
        self.crossed_until = 0.0
        self.cross_lots = 0
        self.min_levels, self.max_levels = MIN_LEVELS, MAX_LEVELS  # per side

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def levels(self, depth: int | None = None) -> tuple[Levels, Levels]:
        """(bids, asks) best first, ``depth`` levels per side (all when None)."""
        return self.bids.levels(depth), self.asks.levels(depth)

    def top(self) -> tuple[tuple[int, int], tuple[int, int]]:
        bid, ask = self.bids.best(), self.asks.best()
        return (bid, self.bids.qty[bid]), (ask, self.asks.qty[ask])

    def drain(self) -> tuple[dict[int, int], dict[int, int]]:
        """Bid and ask changes since the last drain."""
        return self.bids.drain(), self.asks.drain()

    def take_top_changed(self) -> bool:
        """Whether the best bid or ask (price or size) changed since the last call."""
        changed = self.bids.top_changed or self.asks.top_changed
        self.bids.top_changed = self.asks.top_changed = False
        return changed

    def crossed(self) -> bool:
        return self.bids.best() >= self.asks.best()


class MarketModel:
    """Prices and books for ``symbols`` on ``exchanges``; advance it with ``step(dt)``."""

    def __init__(self, symbols: Sequence[str], exchanges: Sequence[str], seed: int = 0,
                 updates_per_second: float = 10.0,
                 dislocation_every: tuple[float, float] | None = (20.0, 40.0)):
        if updates_per_second <= 0:
            raise ValueError("updates_per_second must be positive")
        if dislocation_every is not None and not 0 < dislocation_every[0] <= dislocation_every[1]:
            raise ValueError("dislocation_every must be (a, b) with 0 < a <= b, or None")
        self.rng = random.Random(seed)
        self.t = 0.0
        self.updates_per_second = updates_per_second
        self.dislocation_every = dislocation_every
        assets = _assets(symbols)
        self.prices = {asset: _reference_price(asset, seed) for asset in assets}
        self._log_vol = {asset: ANNUAL_VOL.get(asset, DEFAULT_VOL) / math.sqrt(SECONDS_PER_YEAR)
                         for asset in assets if asset not in STABLECOINS}
        parsed = {symbol: parse_symbol(symbol) for symbol in symbols}
        self.grids = {symbol: Grid.create(self.fair(s.base, s.quote), self.prices[s.base])
                      for symbol, s in parsed.items()}
        self.wall_start = time.time()  # delivery futures converge to spot as this clock nears expiry
        self.moves: dict[str, tuple[float, float]] = {}  # asset -> (log drift per second, until)
        self.books: dict[tuple[str, str], VenueBook] = {}
        for exchange in exchanges:
            for symbol, grid in self.grids.items():
                found = instrument(exchange, parsed[symbol], grid)
                if found is not None:
                    self.books[exchange, symbol] = self._new_book(found, grid)
        self._next_dislocation = self._draw_dislocation_time()
        self.held: set[str] = set()  # symbols whose books do not change (a quiet market)
        self.pegs: dict[str, tuple[float, float]] = {}  # stablecoin -> (offset from 1, until)

    def fair(self, base: str, quote: str) -> float:
        return self.prices[base] / self.prices[quote]

    def book(self, exchange: str, symbol: str) -> VenueBook:
        try:
            return self.books[exchange, symbol]
        except KeyError:
            raise KeyError(f"no simulated book for {symbol!r} on {exchange!r}") from None

    def mid_ticks(self, book: VenueBook) -> float:
        """Where this venue's mid should be now, in ticks (fair price, basis, a perpetual's
        premium or a delivery future's carry, dislocation)."""
        instrument = book.instrument
        fair = self.fair(instrument.base, instrument.quote) * math.exp(book.basis) * (1 + self.premium(book))
        return fair * 10 ** book.grid.price_decimals + book.shift_ticks

    def premium(self, book: VenueBook) -> float:
        """How far a futures book trades over spot (ratio): a perpetual's wandering premium, a
        delivery future's carry for the time left to expiry (0 at expiry); 0 for spot."""
        expiry = book.instrument.expiry
        if expiry is None:
            return book.premium
        return DELIVERY_CARRY * max(0.0, expiry - self.wall_start - self.t) / SECONDS_PER_YEAR

    def move(self, asset: str, pct: float, seconds: float) -> None:
        """Move ``asset``'s price by ``pct`` percent (negative: down) over ``seconds``, on every
        book of it, spot and futures (a rally or a crash)."""
        if asset not in self.prices or asset in STABLECOINS:
            raise ValueError(f"{asset!r} is not a simulated asset")
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        self.moves[asset] = (math.log1p(pct / 100.0) / seconds, self.t + seconds)

    def step(self, dt: float) -> None:
        """Advance time by ``dt`` seconds: prices, bases, scheduled events, book updates."""
        self.t += dt
        self._move_prices(dt)
        self._expire()
        if self.dislocation_every is not None and self.t >= self._next_dislocation:
            self._random_dislocation()
        rate = self.updates_per_second * dt
        for book in self.books.values():
            if book.symbol in self.held:
                continue
            book.pending += rate
            if book.pending >= 1.0:
                count = int(book.pending)
                book.pending -= count
                self._move_basis(book)
                self._update(book, self.mid_ticks(book), count)

    def depeg(self, coin: str, bps: float, seconds: float) -> None:
        """Move stablecoin ``coin`` ``bps`` off its peg (negative = below) for ``seconds``; its
        price jumps there and reverts to the peg afterwards."""
        if coin not in self.prices or coin not in STABLECOINS:
            raise ValueError(f"{coin!r} is not a simulated stablecoin")
        self.pegs[coin] = (bps / 1e4, self.t + seconds)
        self.prices[coin] = 1.0 + bps / 1e4

    def _peg(self, coin: str) -> float:
        """Where ``coin``'s price reverts to, minus 1 (0 unless a depeg is running)."""
        offset, until = self.pegs.get(coin, (0.0, 0.0))
        return offset if self.t < until else 0.0

    def dislocate(self, exchange: str, symbol: str, bps: float, seconds: float) -> None:
        """Shift one venue's whole book by ``bps`` (negative = down) for ``seconds``."""
        book = self.book(exchange, symbol)
        self._undislocate(book)
        ticks = round(self.mid_ticks(book) * bps / 10_000)
        book.bids.shift(ticks)
        book.asks.shift(ticks)
        book.shift_ticks = ticks
        book.dislocated_until = self.t + seconds
        book.update_id += 1

    def update_top(self, exchange: str, symbol: str, dt: float) -> VenueBook:
        """One top-of-book change of one book only (benchmark streams): the clock moves by
        ``dt``, the top follows the venue's mid (basis only; asset prices stand still) and the
        best level of one side gets a new size."""
        book = self._follow_mid(self.book(exchange, symbol), dt)
        side = book.bids if self.rng.random() < 0.5 else book.asks
        self._resize(side, side.best())
        book.update_id += 1
        return book

    def deepen(self, book: VenueBook, levels: int) -> None:
        """Let ``book`` keep up to ``levels`` levels per side (at least 65% of it) and fill
        each side to 80% of it now, deeper levels sparser and larger as usual."""
        book.min_levels, book.max_levels = levels * 13 // 20, levels
        for side in (book.bids, book.asks):
            self._fill(book, side, levels * 4 // 5)
        book.drain()
        book.take_top_changed()

    def _fill(self, book: VenueBook, side: Side, levels: int) -> None:
        """Add levels behind the worst one until ``side`` has ``levels``."""
        while len(side.keys) < levels:
            depth = len(side.keys)
            side.put(side.price(-1) + side.sign * self._gap(book, depth), self._lots(book, depth))

    def update_levels(self, exchange: str, symbol: str, dt: float, levels: int) -> VenueBook:
        """One diff of one book only (benchmark streams): like ``update_top``, then random level
        changes (biased to the top) until each side changed at least ``levels`` levels."""
        book = self._follow_mid(self.book(exchange, symbol), dt)
        for side in (book.bids, book.asks):
            while len(side.changes) < levels:
                if len(side.keys) >= book.max_levels:
                    side.remove_at(-1)
                else:
                    self._perturb(book, side)
        book.update_id += levels
        return book

    def _follow_mid(self, book: VenueBook, dt: float) -> VenueBook:
        self.t += dt
        self._move_basis(book)
        self._update(book, self.mid_ticks(book), 0)
        return book

    def cross(self, exchange: str, symbol: str, seconds: float) -> None:
        """Make one venue's book crossed (best bid above best ask) for ``seconds``."""
        book = self.book(exchange, symbol)
        book.crossed_until = self.t + seconds
        book.cross_lots = self._lots(book, 0)
        self._hold_cross(book)
        book.update_id += 1

    def _new_book(self, instrument: Instrument, grid: Grid) -> VenueBook:
        rng = self.rng
        unit = TOP_NOTIONAL_USD / self.prices[instrument.base] * 10 ** grid.qty_decimals
        book = VenueBook(instrument.exchange, instrument, grid, rng.randrange(10**8, 10**10),
                         max(1, round(unit)), rng.random())
        book.basis = rng.gauss(0.0, BASIS_SD)
        book.spread = rng.randint(1, 3)
        bid = round(self.mid_ticks(book) - book.spread / 2)
        for side, price in ((book.bids, bid), (book.asks, bid + book.spread)):
            for index in range(START_LEVELS):
                side.put(price, self._lots(book, index))
                price += side.sign * self._gap(book, index + 1)
        book.drain()
        book.take_top_changed()
        return book

    def _update(self, book: VenueBook, mid: float, count: int) -> None:
        """Apply ``count`` book changes: the top follows ``mid``, then random level changes."""
        rng = self.rng
        if rng.random() < 0.02:
            book.spread = rng.randint(1, 3)
        bid = round(mid - book.spread / 2)
        ask = bid + book.spread
        bids, asks = book.bids, book.asks
        while bids.keys and bids.best() > bid:
            bids.remove_at(0)
        while asks.keys and asks.best() < ask:
            asks.remove_at(0)
        if not bids.keys or bids.best() < bid:
            bids.put(bid, self._lots(book, 0))
        if not asks.keys or asks.best() > ask:
            asks.put(ask, self._lots(book, 0))
        for _ in range(count):
            self._perturb(book, bids if rng.random() < 0.5 else asks)
        for side in (bids, asks):
            self._fill(book, side, book.min_levels)
            while len(side.keys) > book.max_levels:
                side.remove_at(-1)
        if book.crossed_until:
            self._hold_cross(book)
        book.update_id += count

    def _perturb(self, book: VenueBook, side: Side) -> None:
        """One random level change on ``side``, biased to the top: size, insert or delete."""
        rng, keys = self.rng, side.keys
        depth = len(keys)
        index = int(depth * rng.random() ** 2)
        price = side.sign * keys[index]
        action = rng.random()
        if action < 0.8 or depth <= book.min_levels:
            room = keys[index + 1] - keys[index] - 1 if index + 1 < depth else 2
            if action < 0.6 or room < 1:
                self._resize(side, price)
            else:
                side.put(price + side.sign * (1 + int(rng.random() * room)),
                         self._lots(book, index + 1))
        else:
            side.remove_at(index)

    def _resize(self, side: Side, price: int) -> None:
        """A new size for the level at ``price``, 40-160% of the old one (never the same)."""
        lots = side.qty[price]
        new = int(lots * (0.4 + 1.2 * self.rng.random()))
        side.put(price, new if 0 < new != lots else lots + 1)

    def _move_basis(self, book: VenueBook) -> None:
        """Advance the basis (and a perpetual's premium over its mean) (Ornstein-Uhlenbeck) to
        now, exact for any elapsed time."""
        decay = math.exp(-BASIS_KAPPA * (self.t - book.basis_at))
        noise = BASIS_SD * math.sqrt(1 - decay * decay)
        book.basis = book.basis * decay + noise * self.rng.gauss(0.0, 1.0)
        if book.instrument.type is MarketType.PERP:
            book.premium = PERP_PREMIUM + (book.premium - PERP_PREMIUM) * decay + noise * self.rng.gauss(0.0, 1.0)
        book.basis_at = self.t

    def _hold_cross(self, book: VenueBook) -> None:
        """Keep a bid one tick above the best ask while the crossed fault lasts."""
        target = book.asks.best() + 1
        if book.bids.best() < target:
            book.bids.put(target, book.cross_lots)

    def _lots(self, book: VenueBook, index: int) -> int:
        """A fresh size for the level ``index`` places from the top (grows with distance)."""
        spread = 0.3 + 2.0 * self.rng.random() ** 3  # mostly small, now and then a large order
        return max(1, int(book.unit_lots * (1 + 0.08 * index) * spread))

    def _gap(self, book: VenueBook, index: int) -> int:
        """Ticks between level ``index - 1`` and ``index``: dense near the top, sparser deeper."""
        grid = book.grid
        mean = LEVEL_GAP_BPS * 1e-4 * grid.ref_price * 10 ** grid.price_decimals
        return 1 + int(self.rng.expovariate(1.0) * mean * min(1.0, index / 10))

    def _move_prices(self, dt: float) -> None:
        rng = self.rng
        root_dt = math.sqrt(dt)
        market = rng.gauss(0.0, 1.0)
        loading, own = math.sqrt(MARKET_CORRELATION), math.sqrt(1 - MARKET_CORRELATION)
        for asset, price in self.prices.items():
            if asset == "USD":
                continue
            if asset in STABLECOINS:
                deviation = price - 1.0 - self._peg(asset)
                deviation += -STABLE_KAPPA * dt * deviation + STABLE_SD * math.sqrt(
                    2 * STABLE_KAPPA * dt) * rng.gauss(0.0, 1.0)
                self.prices[asset] = 1.0 + self._peg(asset) + deviation
            else:
                sigma = self._log_vol[asset]
                shock = loading * market + own * rng.gauss(0.0, 1.0)
                drift, until = self.moves.get(asset, (0.0, 0.0))
                drift *= max(0.0, min(dt, until - (self.t - dt)))  # the part of this step inside the move
                self.prices[asset] = price * math.exp(sigma * root_dt * shock
                                                      - 0.5 * sigma * sigma * dt + drift)

    def _expire(self) -> None:
        for book in self.books.values():
            if book.dislocated_until and self.t >= book.dislocated_until:
                self._undislocate(book)
            if book.crossed_until and self.t >= book.crossed_until:
                book.crossed_until = 0.0
                while book.bids.best() >= book.asks.best():
                    book.bids.remove_at(0)
                book.update_id += 1

    def _undislocate(self, book: VenueBook) -> None:
        if book.shift_ticks:
            book.bids.shift(-book.shift_ticks)
            book.asks.shift(-book.shift_ticks)
            book.update_id += 1
        book.shift_ticks = 0
        book.dislocated_until = 0.0

    def _random_dislocation(self) -> None:
        rng = self.rng
        book = rng.choice(list(self.books.values()))
        bps = rng.uniform(*DISLOCATION_BPS) * rng.choice((-1, 1))
        self.dislocate(book.exchange, book.symbol, bps, rng.uniform(*DISLOCATION_SECONDS))
        self._next_dislocation = self._draw_dislocation_time()

    def _draw_dislocation_time(self) -> float:
        if self.dislocation_every is None:
            return math.inf
        return self.t + self.rng.uniform(*self.dislocation_every)


def _assets(symbols: Iterable[str]) -> list[str]:
    assets: dict[str, None] = {}
    for symbol in symbols:
        parsed = parse_symbol(symbol)
        for asset in (parsed.base, parsed.quote):
            assets[asset] = None
    return list(assets)


def _reference_price(asset: str, seed: int) -> float:
    """Starting USD price: anchors for majors, 1 for stablecoins, else log-uniform in 1..100."""
    if asset in STABLECOINS:
        return 1.0
    if asset in ANCHOR_PRICES:
        return ANCHOR_PRICES[asset]
    return 10 ** random.Random(f"{seed}:{asset}").uniform(0.0, 2.0)

