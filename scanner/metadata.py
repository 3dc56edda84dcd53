"""Exchange metadata: markets (as `Instrument`s), taker fees, withdrawal networks and their status.

ccxt is imported only by `refresh` (the ``arbscan markets refresh`` command), never on the hot
path. The engine reads a `Metadata` loaded by `load_metadata`: the on-disk cache when there is
one, else the bundled snapshot ``scanner/data/metadata.json``. A network status older than the
configured limit (``[metadata] max_status_age_hours``) is made UNKNOWN when it is loaded
(`Metadata.expire_statuses`), so the engine, alerts, paper and ``markets show`` all see it so.

Withdrawal networks are matched across exchanges by ccxt's unified network code (``ERC20``,
``TRC20``, ``BEP20``, ``SOL``, ``ARBITRUM``, ``OP``...). A status the exchange did not report is
`Status.UNKNOWN`, which is its own state and never treated as open.
"""
from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import orjson

from .hedging.margin import Tier
from .hedging.tiers import with_deductions
from .instruments import Instrument, MarketType, parse_symbol

log = logging.getLogger(__name__)

DEFAULT_CACHE_PATH = Path(os.environ.get("ARBSCAN_CACHE_DIR", "~/.cache/arbscan")).expanduser() / "metadata.json"
FORMAT_VERSION = 1

# Spot taker fee of a regular (non-VIP) account where ccxt's static per-market default is not it
# (OKX: ccxt says 0.0015, the spot Lv1 rate is 0.1%; Kraken Pro: ccxt says 0.0026, base tier 0.4%).
RETAIL_SPOT_TAKER = {"okx": 0.001, "kraken": 0.004}

# Network codes that other sources (older ccxt versions, exchange chain names) use for the
# networks ccxt 4.5 calls by the code on the right.
NETWORK_ALIASES = {
    "ARB": "ARBITRUM", "ARBI": "ARBITRUM", "ARBONE": "ARBITRUM", "ARBITRUM ONE": "ARBITRUM",
    "OPTIMISM": "OP", "LIGHTNING": "BTCLIGHTNING", "BSC": "BEP20", "ETH": "ERC20", "TRX": "TRC20",
    "POLYGON": "MATIC",
}


class Status(str, Enum):
    """Deposit or withdrawal status of one network. UNKNOWN is never treated as OPEN."""

    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


class MetadataError(ValueError):
    """Metadata that cannot be read or used; the message is one line."""


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """One market: its `Instrument` (ids, tick and lot increments, minimum notional, contract
    size), its taker fee as a fraction (0.001 = 10 bps), whether it trades and, for a perpetual,
    its maintenance-margin tiers (`Tier`: OKX sized in base units, others in notional; empty:
    unknown)."""

    instrument: Instrument
    taker_fee: float
    active: bool
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """One withdrawal/deposit network of an asset at an exchange; ``fee`` is in asset units."""

    network: str  # unified code, "ERC20", "BTC", "TRC20", "SOL"
    fee: float | None
    withdraw: Status
    deposit: Status


@dataclass(frozen=True, slots=True)
class TransferRoute:
    """The cheapest usable way to move ``asset`` between two exchanges (see `Metadata.transfer_route`)."""

    asset: str
    network: str | None
    fee: float  # asset units; 0.0 when there is no route or its fee is unknown
    status: Status


@dataclass(frozen=True, slots=True)
class AssetIdentity:
    """What says which asset a currency code is at one exchange: ccxt's currency id and the
    token contract per network (unified network code -> address; native coins have none)."""

    id: str | None
    contracts: dict[str, str]


@dataclass(frozen=True)
class ExchangeMetadata:
    """Everything known about one exchange, from one fetch or from the bundled snapshot."""

    markets: dict[str, MarketInfo]  # by unified symbol (the instrument's)
    networks: dict[str, tuple[NetworkInfo, ...]]  # by asset; assets without network data are absent
    fetched_at: float
    source: str  # "bundled" | "ccxt"
    statuses_expired: bool = False  # network statuses were older than the limit: all made UNKNOWN
    assets: dict[str, AssetIdentity] = field(default_factory=dict)  # by currency code, where known


class Metadata:
    """Markets, fees and transfer networks for a set of exchanges.

    ``errors`` (exchange -> message) and ``warnings`` (exchange -> messages) are filled by
    `refresh` only: an exchange in ``errors`` kept its previous data. ``max_status_age`` and
    ``checked_at`` (seconds, unix time) are set by `expire_statuses`.
    """

    def __init__(self, data: Mapping[str, ExchangeMetadata], *, fetched_at: float, source: str,
                 errors: Mapping[str, str] | None = None,
                 warnings: Mapping[str, list[str]] | None = None,
                 max_status_age: float | None = None, checked_at: float | None = None):
        self.data = dict(data)
        self.fetched_at = fetched_at
        self.source = source
        self.errors = dict(errors or {})
        self.warnings = dict(warnings or {})
        self.max_status_age = max_status_age
        self.checked_at = checked_at
        self._routes: dict[tuple[str, str, str], TransferRoute] = {}
        self._by_id: dict[str, dict[str, MarketInfo]] = {}

    def exchanges(self) -> list[str]:
        return sorted(self.data)

    def symbols(self, exchange: str) -> list[str]:
        """Unified symbols of the exchange's markets; empty for an unknown exchange."""
        data = self.data.get(exchange)
        return sorted(data.markets) if data else []

    def market(self, exchange: str, symbol: str) -> MarketInfo | None:
        data = self.data.get(exchange)
        return data.markets.get(symbol) if data else None

    def instrument(self, exchange: str, symbol: str) -> Instrument | None:
        """The exchange's market of ``symbol``, None when the metadata does not list it."""
        market = self.market(exchange, symbol)
        return market.instrument if market else None

    def market_by_id(self, exchange: str, market_id: str) -> MarketInfo | None:
        """The market with the exchange's own id ("BTCUSDT", "BTC-USDT")."""
        if exchange not in self._by_id:
            data = self.data.get(exchange)
            self._by_id[exchange] = {m.instrument.id: m for m in data.markets.values()} if data else {}
        return self._by_id[exchange].get(market_id)

    def taker_fee(self, exchange: str, symbol: str) -> float | None:
        market = self.market(exchange, symbol)
        return market.taker_fee if market else None

    def networks(self, exchange: str, asset: str) -> list[NetworkInfo]:
        """The asset's networks at the exchange; empty when nothing is known."""
        data = self.data.get(exchange)
        return list(data.networks.get(asset, ())) if data else []

    def transfer_route(self, asset: str, src: str, dst: str) -> TransferRoute:
        """The cheapest network open for withdrawal at ``src`` and deposit at ``dst``.

        Networks are matched by unified code. Without an open one, the cheapest whose status is
        unknown on either side is returned as UNKNOWN; with neither, CLOSED. A network with an
        unknown fee ranks after known fees and is reported as UNKNOWN (its cost can't be priced).
        When one side has no network data at all for the asset (Kraken and Coinbase publish
        none) the route is UNKNOWN, never OPEN or CLOSED. Results are memoised.
        """
        key = (asset, src, dst)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = best_route(asset, self.networks(src, asset), self.networks(dst, asset))
        return route

    def identity(self, exchange: str, asset: str) -> AssetIdentity | None:
        data = self.data.get(exchange)
        return data.assets.get(asset) if data else None

    def asset_conflict(self, asset: str, a: str, b: str) -> str | None:
        """Why the currency ``asset`` at exchange ``a`` is not the one at ``b`` (None: nothing
        says so). Two listings of one code are the same asset unless both exchanges name a
        contract on the same network and the contracts differ (ticker collision). ccxt's
        currency ids are each exchange's own spelling (Kraken's XXBT is Binance's BTC), so
        they never prove a difference on their own."""
        first, second = self.identity(a, asset), self.identity(b, asset)
        if first is None or second is None:
            return None
        for network in sorted(first.contracts.keys() & second.contracts.keys()):
            if first.contracts[network].lower() != second.contracts[network].lower():
                return f"{asset} is contract {first.contracts[network]} on {network} at {a}, {second.contracts[network]} at {b}"
        return None

    def expire_statuses(self, max_age: float, now: float | None = None) -> Metadata:
        """A copy in which every exchange whose data is older than ``max_age`` seconds at ``now``
        (default: the current time) has all its network statuses UNKNOWN (fees and markets are
        kept) and ``statuses_expired`` set. For reading only: a refresh merges into the cache
        as written, never into this."""
        now = time.time() if now is None else now
        data = {name: ex if now - ex.fetched_at <= max_age else replace(
                    ex, statuses_expired=True, networks={
                        asset: tuple(replace(n, withdraw=Status.UNKNOWN, deposit=Status.UNKNOWN) for n in nets)
                        for asset, nets in ex.networks.items()})
                for name, ex in self.data.items()}
        return Metadata(data, fetched_at=self.fetched_at, source=self.source, errors=self.errors,
                        warnings=self.warnings, max_status_age=max_age, checked_at=now)

    def status_age(self, exchange: str) -> float | None:
        """Seconds between the exchange's fetch and the `expire_statuses` check (None before one)."""
        data = self.data.get(exchange)
        if data is None or self.checked_at is None:
            return None
        return self.checked_at - data.fetched_at

    def origin(self) -> str:
        """One line: where the metadata comes from, when it was fetched, how old it is and
        which exchanges' statuses count as unknown for their age."""
        fetched = [ex.fetched_at for ex in self.data.values()] or [self.fetched_at]
        oldest, newest = min(fetched), max(fetched)
        where = "the bundled snapshot" if self.source == "bundled" else self.source.replace("cache:", "cache ", 1)
        when = _utc(oldest) if oldest == newest else f"{_utc(oldest)} to {_utc(newest)}"
        text = f"metadata from {where}, fetched {when}"
        if self.checked_at is None or self.max_status_age is None:
            return text
        text += f" ({format_age(self.checked_at - oldest)} old)"
        expired = sorted(name for name, ex in self.data.items() if ex.statuses_expired)
        limit = format_age(self.max_status_age)
        if expired:
            return (f"{text}; network statuses older than {limit} count as unknown: {', '.join(expired)} "
                    "(`arbscan markets refresh` updates them)")
        return f"{text}; network statuses older than {limit} will count as unknown"

    def merged(self, other: Metadata) -> Metadata:
        """This metadata with ``other``'s exchanges replacing its own; time, source, errors
        and warnings are ``other``'s."""
        return Metadata({**self.data, **other.data}, fetched_at=other.fetched_at, source=other.source,
                        errors=other.errors, warnings=other.warnings)

    def to_json(self) -> bytes:
        """The cache/snapshot file format (versioned, sorted keys, stable diffs)."""
        doc = {
            "version": FORMAT_VERSION,
            "source": self.source,
            "fetched_at": self.fetched_at,
            "exchanges": {name: _exchange_to_dict(data) for name, data in sorted(self.data.items())},
        }
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"

    @classmethod
    def from_json(cls, data: bytes, source: str) -> Metadata:
        """Parse `to_json` output; raises `MetadataError` (one line) on anything malformed."""
        try:
            doc = orjson.loads(data)
            if doc.get("version") != FORMAT_VERSION:
                raise MetadataError(f"unsupported format version {doc.get('version')!r}")
            exchanges = {str(name): _exchange_from_dict(str(name), ex) for name, ex in doc["exchanges"].items()}
            return cls(exchanges, fetched_at=float(doc["fetched_at"]), source=source)
        except MetadataError:
            raise
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise MetadataError(_one_line(exc, prefix="missing field " if isinstance(exc, KeyError) else "")) from exc


def best_route(asset: str, out: Iterable[NetworkInfo], into: Iterable[NetworkInfo]) -> TransferRoute:
    """Pick the route from the source's networks ``out`` and the destination's ``into``
    (rules in `Metadata.transfer_route`)."""
    out, deposits = list(out), {n.network: n.deposit for n in into}
    if not out:
        return TransferRoute(asset, None, 0.0, Status.UNKNOWN)
    candidates = []
    for net in out:
        # no data at all at the destination: deposit status unknown; data without this network: unusable
        deposit = deposits.get(net.network, Status.CLOSED if deposits else Status.UNKNOWN)
        status = _both(net.withdraw, deposit)
        if status is not Status.CLOSED:
            candidates.append((status is not Status.OPEN, net.fee is None, net.fee or 0.0, net.network, status))
    if not candidates:
        return TransferRoute(asset, None, 0.0, Status.CLOSED)
    _, fee_unknown, fee, network, status = min(candidates)
    return TransferRoute(asset, network, fee, Status.UNKNOWN if fee_unknown else status)


def _both(withdraw: Status, deposit: Status) -> Status:
    if Status.CLOSED in (withdraw, deposit):
        return Status.CLOSED
    return Status.OPEN if withdraw is deposit is Status.OPEN else Status.UNKNOWN


def unify_network(code: str) -> str:
    """ccxt 4.5's unified code for a network code or chain name from any source."""
    code = code.strip().upper()
    return NETWORK_ALIASES.get(code, code)


# --- JSON --------------------------------------------------------------------------------------

def _exchange_to_dict(data: ExchangeMetadata) -> dict[str, Any]:
    return {
        "fetched_at": data.fetched_at,
        "source": data.source,
        "markets": {m.instrument.symbol: _market_to_dict(m) for m in data.markets.values()},
        "networks": {asset: [{"network": n.network, "fee": n.fee, "withdraw": n.withdraw.value,
                              "deposit": n.deposit.value} for n in nets]
                     for asset, nets in data.networks.items()},
        **({"assets": {code: {"id": a.id, "contracts": a.contracts} for code, a in data.assets.items()}}
           if data.assets else {}),
    }


def _market_to_dict(market: MarketInfo) -> dict[str, Any]:
    """A market as stored; the derivative fields only for derivatives (spot entries stay as they were)."""
    i = market.instrument
    doc = {"id": i.id, "base": i.base, "quote": i.quote, "taker_fee": market.taker_fee, "price_tick": i.tick,
           "amount_step": i.lot, "min_notional": i.min_notional, "active": market.active}
    if not i.is_spot:
        doc.update(type=i.type.value, settle=i.settle, contract_size=i.contract_size, expiry=i.expiry)
    if market.tiers:  # an unbounded cap is stored as null
        doc["tiers"] = [{"floor": t.floor, "cap": None if t.cap == float("inf") else t.cap, "mmr": t.mmr,
                         "deduction": t.deduction, "max_leverage": t.max_leverage} for t in market.tiers]
    return doc


def _market_from_dict(exchange: str, m: dict[str, Any]) -> MarketInfo:
    expiry = m.get("expiry")
    instrument = Instrument(
        exchange, MarketType(m.get("type", "spot")), str(m["base"]), str(m["quote"]),
        None if m.get("settle") is None else str(m["settle"]), str(m["id"]),
        float(m.get("contract_size", 1.0)), _opt_float(m.get("price_tick")), _opt_float(m.get("amount_step")),
        _opt_float(m.get("min_notional")), None if expiry is None else int(expiry))
    tiers = tuple(Tier(float(t["floor"]), float("inf") if t.get("cap") is None else float(t["cap"]), float(t["mmr"]),
                       float(t.get("deduction") or 0.0), float(t.get("max_leverage") or 0.0))
                  for t in m.get("tiers") or ())
    return MarketInfo(instrument, float(m["taker_fee"]), bool(m.get("active", True)), tiers)


def _exchange_from_dict(exchange: str, doc: dict[str, Any]) -> ExchangeMetadata:
    markets = {info.instrument.symbol: info
               for info in (_market_from_dict(exchange, m) for m in doc["markets"].values())}
    networks = {
        str(asset): tuple(NetworkInfo(unify_network(n["network"]), _opt_float(n.get("fee")),
                                      Status(n["withdraw"]), Status(n["deposit"])) for n in nets)
        for asset, nets in doc["networks"].items() if nets
    }
    assets = {str(code): AssetIdentity(None if a.get("id") is None else str(a["id"]),
                                       {unify_network(n): str(c) for n, c in (a.get("contracts") or {}).items()})
              for code, a in (doc.get("assets") or {}).items()}
    return ExchangeMetadata(markets, networks, float(doc["fetched_at"]), str(doc["source"]), assets=assets)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _one_line(exc: BaseException, prefix: str = "") -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return prefix + text


# --- loading -----------------------------------------------------------------------------------

def bundled_metadata() -> Metadata:
    """The snapshot shipped with the package (offline use, simulated exchanges)."""
    data = resources.files("scanner").joinpath("data/metadata.json").read_bytes()
    return Metadata.from_json(data, source="bundled")


def load_metadata(path: str | Path | None = None, max_status_age_hours: float | None = None) -> Metadata:
    """The cache file (default `DEFAULT_CACHE_PATH`) if it exists, else the bundled snapshot;
    with ``max_status_age_hours``, network statuses older than that are UNKNOWN
    (`Metadata.expire_statuses`).

    A cache that can't be read raises `MetadataError` naming the file and the fix.
    """
    metadata = _read_metadata(_cache_path(path))
    if max_status_age_hours is None:
        return metadata
    return metadata.expire_statuses(max_status_age_hours * 3600.0)


def _read_metadata(cache: Path) -> Metadata:
    if not cache.exists():
        return bundled_metadata()
    try:
        return Metadata.from_json(cache.read_bytes(), source=f"cache:{cache}")
    except (OSError, MetadataError) as exc:
        raise MetadataError(f"metadata cache {cache} is unreadable ({_one_line(exc)}); "
                            "run `arbscan markets refresh` or delete it") from exc


def _cache_path(path: str | Path | None) -> Path:
    return Path(path).expanduser() if path else DEFAULT_CACHE_PATH


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# --- refresh with ccxt -------------------------------------------------------------------------

ExchangeFactory = Callable[[str], Any]


@dataclass
class _Outcome:
    data: ExchangeMetadata | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


async def refresh(exchanges: list[str], symbols: list[str] | None, path: str | Path | None = None, *,
                  factory: ExchangeFactory | None = None, api_keys_from_env: bool = True) -> Metadata:
    """Fetch metadata for ``exchanges`` with ccxt, merge it into the cache at ``path`` and save.

    ``symbols`` limits the spot markets kept (None: all spot markets). ``factory(name)`` returns
    a ccxt-like async exchange object (default ``ccxt.async_support.<name>``). Read-only keys
    from ``ARBSCAN_<EXCHANGE>_API_KEY`` / ``_SECRET`` / ``_PASSWORD`` unlock per-network fees and
    status where the exchange needs them; without them the previous networks are kept with
    status UNKNOWN. A failing exchange keeps its previous data and is reported in ``errors``
    (one line each, for the caller to show); the others are written to the cache. Returns the
    merged metadata (what was written, if any exchange was fetched).
    """
    cache = _cache_path(path)
    base = _refresh_base(cache)
    names = list(dict.fromkeys(exchanges))
    outcomes = await asyncio.gather(*(
        _fetch_exchange(name, symbols, base.data.get(name), factory or _ccxt_exchange, api_keys_from_env)
        for name in names))
    fresh = {name: o.data for name, o in zip(names, outcomes) if o.data is not None}
    result = base.merged(Metadata(
        fresh, fetched_at=time.time(), source="ccxt",
        errors={name: o.error for name, o in zip(names, outcomes) if o.error is not None},
        warnings={name: o.warnings for name, o in zip(names, outcomes) if o.warnings}))
    for name, messages in result.warnings.items():
        for message in messages:
            log.warning("%s: %s", name, message)
    if fresh:
        _write_atomic(cache, result.to_json())
    return result


def _refresh_base(cache: Path) -> Metadata:
    """What a refresh merges into: the cache, or the bundled snapshot if there is none or it is
    unreadable (the refresh then replaces it)."""
    try:
        return load_metadata(cache)
    except MetadataError as exc:
        log.warning("%s; starting from the bundled snapshot", exc)
        return bundled_metadata()


def _ccxt_exchange(name: str) -> Any:
    import ccxt.async_support as ccxt_async

    if name not in ccxt_async.exchanges:
        raise MetadataError(f"unknown exchange {name!r} (not a ccxt exchange id)")
    return getattr(ccxt_async, name)({"enableRateLimit": True})


async def _fetch_exchange(name: str, symbols: list[str] | None, previous: ExchangeMetadata | None,
                          factory: ExchangeFactory, use_keys: bool) -> _Outcome:
    outcome, secrets = _Outcome(), []
    try:
        ex = factory(name)
    except Exception as exc:
        return _Outcome(error=_one_line(exc))
    try:
        if symbols is None or all(parse_symbol(s).type is MarketType.SPOT for s in symbols):
            _spot_markets_only(ex)
        await ex.load_markets()  # without keys: bad keys must not cost us the public markets
        if use_keys:
            secrets = _apply_env_keys(ex, name)
        markets = await _with_tiers(ex, name, _markets(ex, name, symbols, outcome.warnings), previous,
                                    keyed=bool(secrets), warnings=outcome.warnings)
        assets = sorted({a for m in markets.values() for a in (m.instrument.base, m.instrument.quote)})
        currencies = await _currencies(ex, keyed=bool(secrets), warnings=outcome.warnings)
        networks = _networks(name, assets, currencies, previous, outcome.warnings)
        outcome.data = ExchangeMetadata(markets, networks, time.time(), "ccxt",
                                        assets=_identities(assets, currencies))
    except Exception as exc:
        outcome.error = _redact(f"{type(exc).__name__}: {_one_line(exc)}", secrets)[:500]
    finally:
        await ex.close()
    outcome.warnings = [_redact(w, secrets) for w in outcome.warnings]
    return outcome


def _spot_markets_only(ex: Any) -> None:
    """Skip loading derivatives where ccxt allows it (fewer requests, and no failure when e.g.
    a futures API is geo-blocked)."""
    options = ex.options.get("fetchMarkets")
    if isinstance(options, dict) and "types" in options:
        options["types"] = ["spot"]


def _apply_env_keys(ex: Any, name: str) -> list[str]:
    """Set read-only API credentials from the environment; returns them (for redaction)."""
    prefix = f"ARBSCAN_{name.upper()}_"
    key, secret = os.environ.get(prefix + "API_KEY"), os.environ.get(prefix + "SECRET")
    if not (key and secret):
        return []
    ex.apiKey, ex.secret = key, secret
    password = os.environ.get(prefix + "PASSWORD")
    if password:
        ex.password = password
    return [s for s in (key, secret, password) if s]


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


CCXT_TYPES = {"spot": MarketType.SPOT, "swap": MarketType.PERP, "future": MarketType.DELIVERY}


def _markets(ex: Any, name: str, symbols: list[str] | None, warnings: list[str]) -> dict[str, MarketInfo]:
    """The markets of ``symbols`` (spot or derivative), or every spot market."""
    if symbols is None:
        chosen = [m for m in ex.markets.values() if m.get("spot")]
    else:
        missing = [s for s in symbols if s not in ex.markets]
        if missing:
            warnings.append(f"no market for {', '.join(missing)}")
        chosen = [ex.markets[s] for s in symbols if s in ex.markets]
    infos = (_market_info(ex, name, m) for m in chosen if m.get("type") in CCXT_TYPES)
    return {info.instrument.symbol: info for info in infos}


def _market_info(ex: Any, name: str, market: dict[str, Any]) -> MarketInfo:
    """A ccxt market structure as a `MarketInfo` (spot, swap or future)."""
    precision, cost = market.get("precision") or {}, (market.get("limits") or {}).get("cost") or {}
    kind = CCXT_TYPES[market["type"]]
    taker = RETAIL_SPOT_TAKER.get(name) if kind is MarketType.SPOT else None
    taker = market.get("taker") if taker is None else taker
    if taker is None:
        raise MetadataError(f"{market['symbol']}: no taker fee")
    expiry = market.get("expiry")
    instrument = Instrument(
        name, kind, market["base"], market["quote"], None if kind is MarketType.SPOT else market["settle"],
        str(market["id"]), float(market.get("contractSize") or 1.0), _increment(ex, precision.get("price")),
        _increment(ex, precision.get("amount")), _opt_float(cost.get("min")),
        None if kind is not MarketType.DELIVERY or expiry is None else int(expiry) // 1000)
    return MarketInfo(instrument, float(taker), market.get("active") is not False)


KEYED_TIERS = ("binance",)  # tiers behind a signed endpoint (Binance's leverageBracket is USER_DATA)
CONTRACT_SIZED_TIERS = ("okx",)  # ccxt gives these tiers' bounds in contracts (OKX minSz/maxSz)


async def _with_tiers(ex: Any, name: str, markets: dict[str, MarketInfo], previous: ExchangeMetadata | None,
                      keyed: bool, warnings: list[str]) -> dict[str, MarketInfo]:
    """Each perpetual with its maintenance tiers from ccxt where the exchange publishes them (with
    keys where it needs them); the previous tiers where that is not possible or fails."""
    import ccxt

    perps = [symbol for symbol, m in markets.items() if m.instrument.type is MarketType.PERP]
    fetchable = bool(ex.has.get("fetchMarketLeverageTiers")) and (keyed or name not in KEYED_TIERS)
    if perps and not fetchable and name in KEYED_TIERS:
        warnings.append(f"maintenance tiers need ARBSCAN_{name.upper()}_API_KEY and _SECRET; kept the previous ones")
    result, failed = dict(markets), []
    for symbol in perps:
        tiers: tuple[Tier, ...] = ()
        if fetchable:
            try:
                tiers = _ccxt_tiers(name, await ex.fetch_market_leverage_tiers(symbol), markets[symbol].instrument)
            except (ccxt.BaseError, MetadataError, ValueError, TypeError, KeyError) as exc:
                failed.append(f"{symbol} ({type(exc).__name__}: {_one_line(exc)[:120]})")
        if not tiers and previous is not None and symbol in previous.markets:
            tiers = previous.markets[symbol].tiers
        result[symbol] = replace(markets[symbol], tiers=tiers)
    if failed:
        warnings.append(f"no maintenance tiers for {'; '.join(failed)}; kept the previous ones")
    return result


def _ccxt_tiers(name: str, rows: list[dict[str, Any]], instrument: Instrument) -> tuple[Tier, ...]:
    """ccxt leverage tiers as `Tier`s: contiguous from 0 (each floor the previous cap), OKX's
    contract counts in base units, Binance's ``cum`` / Bybit's ``mmDeduction`` as the deduction
    (derived where absent, `with_deductions`)."""
    scale = instrument.contract_size if name in CONTRACT_SIZED_TIERS else 1.0
    table, floor = [], 0.0
    for row in sorted(rows, key=lambda r: float(r.get("maxNotional") or "inf")):
        cap, mmr = row.get("maxNotional"), row.get("maintenanceMarginRate")
        if cap is None or mmr is None or not 0 < float(mmr) < 1:
            raise MetadataError(f"tier {row.get('tier')} has no cap or no maintenance rate in (0, 1)")
        info = row.get("info") or {}
        deduction = info.get("cum", info.get("mmDeduction"))
        table.append((floor, float(cap) * scale, float(mmr), None if deduction in (None, "") else float(deduction),
                      float(row.get("maxLeverage") or 0.0)))
        floor = float(cap) * scale
    if not table:
        raise MetadataError("the exchange returned no tiers")
    return with_deductions(name, table)


def _increment(ex: Any, precision: Any) -> float | None:
    """A ccxt precision value as an increment: TICK_SIZE mode already is one, DECIMAL_PLACES is
    converted, SIGNIFICANT_DIGITS has no fixed increment."""
    from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

    if precision is None:
        return None
    if ex.precisionMode == TICK_SIZE:
        return float(precision)
    if ex.precisionMode == DECIMAL_PLACES:
        return 10.0 ** -int(precision)
    return None


async def _currencies(ex: Any, keyed: bool, warnings: list[str]) -> dict[str, Any]:
    """ccxt currency structures: re-fetched with keys where the exchange offers them, else what
    `load_markets` already fetched publicly (or derived from the markets)."""
    import ccxt

    if keyed and ex.has.get("fetchCurrencies"):
        try:
            fetched = await ex.fetch_currencies()
            if fetched:
                return fetched
        except ccxt.ExchangeError as exc:  # authentication, permission, not supported
            warnings.append(f"fetch_currencies failed ({type(exc).__name__}: {_one_line(exc)[:200]})")
    return ex.currencies or {}


def _networks(name: str, assets: list[str], currencies: dict[str, Any], previous: ExchangeMetadata | None,
              warnings: list[str]) -> dict[str, tuple[NetworkInfo, ...]]:
    """Per-asset networks from ccxt currencies. An asset the exchange gave no networks for keeps
    its previous networks (fee estimates) with status UNKNOWN, or CLOSED where the currency as a
    whole is reported closed."""
    result, stale = {}, []
    for asset in assets:
        currency = currencies.get(asset) or {}
        nets = tuple(_network_info(code, net, currency) for code, net in (currency.get("networks") or {}).items())
        if not nets and previous and previous.networks.get(asset):
            stale.append(asset)
            nets = tuple(replace(n, withdraw=_status(None, None, currency.get("withdraw")),
                                 deposit=_status(None, None, currency.get("deposit")))
                         for n in previous.networks[asset])
        if nets:
            result[asset] = nets
    if stale:
        warnings.append(f"no per-network data for {', '.join(stale)} (set ARBSCAN_{name.upper()}_API_KEY and "
                        f"_SECRET if the exchange needs keys); kept previous fees with status unknown")
    return result


CONTRACT_KEYS = ("contractAddress", "contract_address", "contract", "ctAddr", "tokenAddress")  # in ccxt's raw ``info``


def _identities(assets: list[str], currencies: dict[str, Any]) -> dict[str, AssetIdentity]:
    """Each asset's ccxt currency id and contract per network, where ccxt gives a currency."""
    result = {}
    for asset in assets:
        currency = currencies.get(asset)
        if not currency:
            continue
        contracts = {}
        for code, net in (currency.get("networks") or {}).items():
            info = net.get("info") if isinstance(net.get("info"), dict) else {}
            address = next((info[k] for k in CONTRACT_KEYS if isinstance(info.get(k), str) and info[k]), None)
            if address:
                contracts[unify_network(net.get("network") or code)] = address
        result[asset] = AssetIdentity(None if currency.get("id") is None else str(currency["id"]), contracts)
    return result


def _network_info(code: str, net: dict[str, Any], currency: dict[str, Any]) -> NetworkInfo:
    active = net.get("active")
    return NetworkInfo(
        network=unify_network(net.get("network") or code), fee=_opt_float(net.get("fee")),
        withdraw=_status(net.get("withdraw"), active, currency.get("withdraw")),
        deposit=_status(net.get("deposit"), active, currency.get("deposit")))


def _status(flag: bool | None, network_active: bool | None, currency_flag: bool | None) -> Status:
    """The network's own flag decides; without it only an explicit "inactive"/"disabled" for the
    network or the whole currency closes it. Nothing here ever assumes OPEN."""
    if flag is not None:
        return Status.OPEN if flag else Status.CLOSED
    if network_active is False or currency_flag is False:
        return Status.CLOSED
    return Status.UNKNOWN


# --- human-readable ----------------------------------------------------------------------------

def describe(metadata: Metadata, exchange: str | None = None, asset: str | None = None) -> str:
    """Text for ``arbscan markets show``: per exchange its markets (taker fee in bps) and per
    asset its networks (fee, withdraw/deposit status). ``exchange``/``asset`` filter."""
    names = metadata.exchanges()
    if exchange is not None:
        if exchange.lower() not in metadata.data:
            raise MetadataError(f"no metadata for exchange {exchange!r} (known: {', '.join(names) or 'none'})")
        names = [exchange.lower()]
    asset = asset.upper() if asset else None
    if asset is not None and not any(_has_asset(metadata.data[name], asset) for name in names):
        raise MetadataError(f"no market or network for asset {asset!r} in the metadata of {', '.join(names)};"
                            " check the spelling or run `arbscan markets refresh`")
    lines = [metadata.origin()]
    if any(metadata.data[name].source == "bundled" for name in names):
        lines.append("bundled data is an approximate offline snapshot; "
                     "`arbscan markets refresh` fetches the live fees and network status")
    for name in names:
        lines += _describe_exchange(name, metadata.data[name], asset, metadata.status_age(name),
                                    metadata.max_status_age)
    return "\n".join(line.rstrip() for line in lines)


def _has_asset(data: ExchangeMetadata, asset: str) -> bool:
    return asset in data.networks or any(
        asset in (m.instrument.base, m.instrument.quote) for m in data.markets.values())


def _describe_exchange(name: str, data: ExchangeMetadata, asset: str | None, age: float | None,
                       limit: float | None) -> list[str]:
    markets = sorted(((m.instrument, m) for m in data.markets.values()
                      if asset in (None, m.instrument.base, m.instrument.quote)), key=lambda pair: pair[0].symbol)
    age_text = "" if age is None else f", {format_age(age)} old"
    lines = ["", f"{name} ({data.source}, fetched {_utc(data.fetched_at)}{age_text})",
             f"  {'market':<11} {'id':<11} {'taker':>9} {'tick':>9} {'step':>9} {'min notional':>12}"]
    lines += [f"  {i.symbol:<11} {i.id:<11} {m.taker_fee * 1e4:>5.1f} bps {_num(i.tick):>9} "
              f"{_num(i.lot):>9} {_num(i.min_notional):>12}" + ("" if m.active else "  inactive")
              for i, m in markets]
    assets = [a for a in sorted(data.networks) if asset in (None, a)]
    if not assets:
        lines.append(f"  no withdrawal network data{f' for {asset}' if asset else ''}")
        return lines
    if data.statuses_expired and limit is not None:
        lines.append(f"  network status is {format_age(age or 0.0)} old, over the {format_age(limit)} limit: "
                     "shown and used as unknown (`arbscan markets refresh` updates it)")
    lines.append(f"  {'asset':<6} {'network':<12} {'withdraw fee':>12}  {'withdraw':<8} deposit")
    lines += [f"  {a:<6} {n.network:<12} {_num(n.fee):>12}  {n.withdraw.value:<8} {n.deposit.value}"
              for a in assets for n in data.networks[a]]
    return lines


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def format_age(seconds: float) -> str:
    """A duration as a trader reads it: "40 s", "12 min", "5 h", "352 d"."""
    if seconds < 120:
        return f"{max(seconds, 0.0):.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 72 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
