"""Typed, validated configuration from one TOML file.

Every section is a dataclass; the loader checks the TOML against the dataclass fields and
reports every problem (unknown key with a "did you mean", wrong type, missing value) at once.
"""
from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import tomllib
import types
import typing
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .exchanges import NAMES
from .hedging.margin import EXCHANGES as HEDGE_EXCHANGES  # the exchanges whose liquidation formula arbscan knows
from .instruments import MarketType, parse_symbol

SUPPORTED_EXCHANGES = NAMES  # from the exchange registry
DEFAULT_SYMBOLS = (  # the simulator's and the benchmark's default books
    "BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT",
    "ADA/USDT", "LTC/USDT", "LINK/USDT", "AVAX/USDT", "DOT/USDT",
)
DEFAULT_ASSETS = ("BTC", "ETH", "XRP", "BNB", "SOL", "TRX", "DOGE", "ADA", "LINK", "BCH", "ZEC", "HYPE")
WEBHOOK_FORMATS = ("json", "slack", "discord", "telegram")
ALERT_EVENT_TYPES = (
    "opportunity.opened", "opportunity.closed",
    "feed.down", "feed.recovered", "books.stale", "resync.storm", "outbox.backlog",
    "stablecoin.depeg", "stablecoin.recovered",
    "basis.opened", "basis.closed",
    "hedge.drift", "hedge.liquidation_risk", "hedge.funding", "hedge.leg_missing",
)
MARGIN_MODES = ("isolated", "cross")


class ConfigError(ValueError):
    """One or more configuration problems; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class ExchangeConfig:
    """One exchange feed. Empty URLs mean the exchange's public production endpoints."""

    enabled: bool = True
    ws_url: str = ""
    rest_url: str = ""
    futures_ws_url: str = ""  # perpetual and delivery futures feed (exchanges that have one)
    futures_rest_url: str = ""
    taker_fee_bps: float | None = None  # overrides the metadata's taker fee
    staleness_seconds: float | None = None  # overrides scanner.staleness_seconds
    generic: bool = False  # any other ccxt exchange, through ccxt.pro's order-book watcher


@dataclass
class ScannerConfig:
    """``symbols`` set: exactly those books. Empty: every stablecoin-quoted spot book of
    ``assets`` that each exchange lists (`scanner.checks.universe`)."""

    symbols: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=lambda: list(DEFAULT_ASSETS))
    min_net_profit: float = 0.0  # quote units an opportunity must clear to open
    min_net_bps: float = 0.0  # and in bps of the notional
    max_gross_bps: float = 500.0  # a wider gross spread is reported as suspect, not as an opportunity
    notional_cap: float = 10_000.0  # quote units per trade
    staleness_seconds: float = 5.0  # a book older than this is not used
    silence_seconds: float = 15.0  # a connected feed with no frame this long is reconnected


@dataclass
class MetricsConfig:
    host: str = "127.0.0.1"
    port: int = 9108
    enabled: bool = True


@dataclass
class MetadataConfig:
    cache_path: str = ""  # empty: ~/.cache/arbscan/metadata.json
    max_status_age_hours: float = 24.0  # an older network status counts as unknown


@dataclass
class WebhookConfig:
    """One alert target. ``secret_env`` names the environment variable holding the secret:
    the signing key (json), the incoming-webhook URL (slack, discord; overrides ``url``) or the
    bot token (telegram, sent to ``url`` or https://api.telegram.org)."""

    url: str = ""
    format: str = "json"
    secret_env: str = ""
    chat_id: str = ""  # telegram only
    min_net_profit: float = 0.0
    min_net_bps: float = 0.0
    symbols: list[str] = field(default_factory=list)  # empty: all
    exchanges: list[str] = field(default_factory=list)  # empty: all
    events: list[str] = field(default_factory=lambda: list(ALERT_EVENT_TYPES))
    cooldown_seconds: float = 60.0
    rate_limit_per_second: float = 1.0
    rate_limit_burst: int = 5  # opportunity alerts admitted at once before the rate applies
    timeout_seconds: float = 5.0


@dataclass
class StablecoinsConfig:
    """Depeg alerts: a stablecoin this many bps off its peers for this long."""

    depeg_bps: float = 50.0
    depeg_seconds: float = 60.0


@dataclass
class TierConfig:
    """One maintenance tier of ``[[hedging.tiers.<exchange>]]``: positions whose size (Binance,
    Bybit: notional in the quote; OKX: base units) is in [floor, cap) keep ``mmr`` of their
    notional as maintenance margin, less ``deduction`` (quote)."""

    symbol: str = ""  # the perpetual, e.g. "BTC/USDT:USDT"; empty: every perpetual of the exchange
    floor: float = 0.0
    cap: float | None = None  # none: no upper bound (the last tier)
    mmr: float = 0.0
    deduction: float | None = None  # none: the one that keeps maintenance continuous (Binance's cum rule)
    max_leverage: float = 0.0


@dataclass
class HedgingConfig:
    """Basis and carry (`scanner.hedging.basis`), the hedge monitor's timing and maintenance tiers
    overriding the metadata's (`scanner.hedging.tiers.tiers_for`)."""

    horizon_days: float = 30.0  # how long a carry position is held: round-trip fees spread over it
    basis_open_annualized: float = 0.10  # net annualised carry at which basis.opened is sent
    basis_close_annualized: float | None = None  # ... and below which basis.closed (default: half the open)
    funding_max_age_seconds: float = 120.0  # funding reported longer ago than this is stale: no figure
    leg_missing_seconds: float = 30.0  # a leg gone this long raises hedge.leg_missing
    tiers: dict[str, list[TierConfig]] = field(default_factory=dict)  # exchange -> tiers, in order

    @property
    def close_threshold(self) -> float:
        return self.basis_open_annualized / 2 if self.basis_close_annualized is None else self.basis_close_annualized


@dataclass
class PerpLegConfig:
    """The perpetual leg of a hedge as opened: size in base units, negative for a short."""

    exchange: str = ""
    symbol: str = ""
    size: float = 0.0
    entry_price: float = 0.0
    leverage: float = 1.0
    margin_mode: str = "isolated"
    margin: float = 0.0  # quote units held for the position (isolated), or the collateral backing it (cross)
    entry_time: datetime | None = None


@dataclass
class HedgeConfig:
    """One hedge the user holds (``[[hedges]]``): spot legs, a perpetual leg and its tolerances."""

    name: str = ""
    asset: str = ""
    spot: dict[str, float] = field(default_factory=dict)  # exchange -> quantity held, base units
    perp: PerpLegConfig = field(default_factory=PerpLegConfig)
    max_ratio_drift: float = 0.02  # |perp size| / spot quantity this far from 1 raises hedge.drift
    min_liquidation_distance: float = 0.25  # liquidation nearer than this ratio of the mark: hedge.liquidation_risk
    funding_alert: float | None = None  # the next funding payment at or over this (quote): hedge.funding


@dataclass
class AlertsConfig:
    outbox_path: str = "arbscan-outbox.sqlite"
    webhooks: dict[str, WebhookConfig] = field(default_factory=dict)


LEG_RISK_POLICIES = ("close", "hold")


@dataclass
class PaperConfig:
    """Paper execution. Balances are the starting inventory, used on the ledger's first run only."""

    enabled: bool = False
    ledger_path: str = "arbscan-paper.sqlite"
    min_net_profit: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)  # per exchange; 50 ms when not set
    latency_jitter_ms: float = 5.0  # uniform extra delay per order, 0..jitter
    balances: dict[str, dict[str, float]] = field(default_factory=dict)  # exchange -> asset -> amount
    leg_risk: str = "close"  # one leg short: "close" it by market order, or "hold" the position
    residual_close_delay_ms: float = 500.0  # wait before closing a residual position
    rebalance_threshold: float = 0.25  # move funds when below this fraction of target; 0: never
    transfer_seconds: dict[str, float] = field(default_factory=dict)  # per network, over built-in defaults
    allow_unknown_networks: bool = False  # transfer on networks whose status is unknown


@dataclass
class Config:
    scanner: ScannerConfig = field(default_factory=ScannerConfig)
    exchanges: dict[str, ExchangeConfig] = field(
        default_factory=lambda: {name: ExchangeConfig() for name in SUPPORTED_EXCHANGES}
    )
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    paper: PaperConfig = field(default_factory=PaperConfig)
    stablecoins: StablecoinsConfig = field(default_factory=StablecoinsConfig)
    hedging: HedgingConfig = field(default_factory=HedgingConfig)
    hedges: list[HedgeConfig] = field(default_factory=list)

    def enabled_exchanges(self) -> list[str]:
        return [name for name, ex in self.exchanges.items() if ex.enabled]

    def fidelity(self, exchange: str) -> str:
        """``native`` (arbscan's own feed) or ``generic`` (ccxt.pro's watcher, lower fidelity)."""
        return "generic" if self.exchanges[exchange].generic else "native"

    def staleness_seconds(self, exchange: str) -> float:
        """Seconds without a change after which a book of ``exchange`` is not used."""
        override = self.exchanges[exchange].staleness_seconds
        return self.scanner.staleness_seconds if override is None else override

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None) -> Config:
    """Load and validate a TOML file; ``None`` gives the built-in defaults."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        raw = tomllib.loads(read_text_file(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc}); fix the syntax"]) from None
    return parse_config(raw, source=str(path))


def read_text_file(path: Path) -> str:
    """The UTF-8 text of a config file; ConfigError (one line naming the file) when it is
    missing, a directory, unreadable, not UTF-8 or starts with a byte-order mark."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found; pass an existing TOML file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory; pass a TOML file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror})"]) from None
    if data.startswith(b"\xef\xbb\xbf"):
        raise ConfigError([f"{path}: starts with a byte-order mark; save it as UTF-8 without BOM"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError([f"{path}: not UTF-8 text (line {line}); save it as UTF-8"]) from None


def parse_config(raw: dict[str, Any], source: str = "config") -> Config:
    problems: list[str] = []
    exchanges = raw.get("exchanges")
    if isinstance(exchanges, dict):  # configured exchanges start from the defaults of all supported ones
        raw = {**raw, "exchanges": {**{n: {} for n in SUPPORTED_EXCHANGES}, **exchanges}}
    config = _build(Config, raw, "", problems)
    _check_semantics(config, problems)
    if problems:
        raise ConfigError([f"{source}: {p}" for p in problems])
    return config


def _build(cls: type, raw: Any, where: str, problems: list[str]) -> Any:
    """Build dataclass ``cls`` from ``raw``, appending one line per problem."""
    if not isinstance(raw, dict):
        problems.append(f"{where or 'top level'}: expected a table, got {_kind(raw)}")
        return cls()
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{where}.{key}" if where else key
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(names)}"
            problems.append(f"unknown key '{dotted}'{hint}")
            continue
        values[key] = _convert(hints[key], value, dotted, problems)
    return cls(**{k: v for k, v in values.items() if v is not _INVALID})


_INVALID = object()


def _convert(hint: Any, value: Any, where: str, problems: list[str]) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value, where, problems)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where, problems)
    if origin is dict:
        _, value_type = typing.get_args(hint)
        if not isinstance(value, dict):
            problems.append(f"'{where}': expected a table, got {_kind(value)}")
            return _INVALID
        converted = {k: _convert(value_type, v, f"{where}.{k}", problems) for k, v in value.items()}
        return {k: v for k, v in converted.items() if v is not _INVALID}
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            problems.append(f"'{where}': expected a list, got {_kind(value)}")
            return _INVALID
        return [_convert(item_type, v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if hint is datetime:
        return _datetime(value, where, problems)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        problems.append(f"'{where}': expected a finite number, got {value!r}")
        return _INVALID
    if hint in (int, float, str, bool) and (type(value) is hint):
        return value
    problems.append(f"'{where}': expected {_TYPE_NAMES[hint]}, got {_kind(value)} {value!r}")
    return _INVALID


def _datetime(value: Any, where: str, problems: list[str]) -> Any:
    """A TOML offset date-time, or an RFC 3339 string, with its UTC offset."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    got = f"{value.isoformat()} without one" if isinstance(value, datetime) else f"{_kind(value)} {value!r}"
    problems.append(f"'{where}': expected a date-time with its UTC offset like 2026-05-01T08:00:00Z, got {got}")
    return _INVALID


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def symbol_problems(symbols: list[str]) -> list[str]:
    """One line per malformed or repeated symbol in ``symbols``, or for none at all."""
    problems = [problem for symbol in symbols for problem in [_symbol_problem(symbol)] if problem]
    problems += [f"{symbol!r} is listed more than once"
                 for symbol in dict.fromkeys(s for s in symbols if symbols.count(s) > 1)]
    if not symbols:
        problems.append("no symbol; list at least one such as 'BTC/USDT'")
    return problems


def _asset_problems(scanner: ScannerConfig) -> list[str]:
    """The asset list matters only without explicit symbols: then it must name some assets."""
    if scanner.symbols:
        return []
    problems = [f"'scanner.assets': {asset!r} is not an asset code like 'BTC'" for asset in scanner.assets
                if not asset or "/" in asset or ":" in asset or asset != asset.strip()]
    if not scanner.assets:
        problems.append("'scanner.assets' is empty and 'scanner.symbols' is not set; list assets such as"
                        " 'BTC' or symbols such as 'BTC/USDT'")
    return problems


def generic_exchange_ids() -> list[str]:
    """Every exchange id ccxt.pro can watch order books of (imports ccxt: call only when a
    generic exchange is configured)."""
    import ccxt.pro  # noqa: PLC0415 - ccxt stays off the native path

    return list(ccxt.pro.exchanges)


def _symbol_problem(symbol: str) -> str | None:
    """Why ``symbol`` cannot be scanned: not a unified symbol (spot, perpetual or delivery
    future; whether an exchange lists it is checked against the metadata at start)."""
    try:
        parse_symbol(symbol)
    except ValueError as exc:
        return str(exc)
    return None


def _check_url(url: str, schemes: tuple[str, ...], where: str, problems: list[str]) -> None:
    """An empty ``url`` is the default; anything else must be an absolute URL in ``schemes``."""
    parts = urllib.parse.urlsplit(url)
    if url and (parts.scheme not in schemes or not parts.hostname):
        problems.append(f"'{where}': {url!r} is not a {'/'.join(schemes)} URL like '{schemes[0]}://host:port/path'")


def _check_webhook_filters(hook: WebhookConfig, where: str, problems: list[str],
                           exchanges: list[str]) -> None:
    for event in hook.events:
        if event not in ALERT_EVENT_TYPES:
            close = difflib.get_close_matches(event, ALERT_EVENT_TYPES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(ALERT_EVENT_TYPES)})"
            problems.append(f"'{where}.events': unknown event type {event!r}{hint}")
    if "opportunity.closed" in hook.events and "opportunity.opened" not in hook.events:
        problems.append(f"'{where}.events': 'opportunity.closed' needs 'opportunity.opened'"
                        " (a close is sent only after its open)")
    for exchange in hook.exchanges:
        if exchange not in exchanges:
            problems.append(f"'{where}.exchanges': unknown exchange {exchange!r}"
                            f" (supported: {', '.join(SUPPORTED_EXCHANGES)})")
    for key in ("rate_limit_per_second", "rate_limit_burst", "timeout_seconds"):
        if getattr(hook, key) <= 0:
            problems.append(f"'{where}.{key}' must be greater than 0")
    if hook.cooldown_seconds < 0:
        problems.append(f"'{where}.cooldown_seconds' must be 0 or more")


def _exchange_name_problem(name: str, exchange: ExchangeConfig) -> str | None:
    """Why ``exchanges.<name>`` names no exchange: not a native one, and not (or not marked
    ``generic``) a ccxt.pro one."""
    if name in SUPPORTED_EXCHANGES and not exchange.generic:
        return None
    if exchange.generic:
        if name in SUPPORTED_EXCHANGES:
            return f"'exchanges.{name}.generic': {name} has a native feed; remove 'generic = true'"
        known = generic_exchange_ids()
        if name in known:
            return None
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; see `python -c 'import ccxt.pro; print(ccxt.pro.exchanges)'`"
        return f"'exchanges.{name}': ccxt.pro has no exchange {name!r}{hint}"
    close = difflib.get_close_matches(name, SUPPORTED_EXCHANGES, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else "; any ccxt exchange: set 'generic = true'"
    return f"unknown exchange 'exchanges.{name}' (supported: {', '.join(SUPPORTED_EXCHANGES)}){hint}"


def _check_semantics(config: Config, problems: list[str]) -> None:
    for name in config.exchanges:
        exchange = config.exchanges[name]
        problem = _exchange_name_problem(name, exchange)
        if problem:
            problems.append(problem)
        if exchange.staleness_seconds is not None and exchange.staleness_seconds <= 0:
            problems.append(f"'exchanges.{name}.staleness_seconds' must be greater than 0")
        if exchange.taker_fee_bps is not None and exchange.taker_fee_bps < 0:
            problems.append(f"'exchanges.{name}.taker_fee_bps' must be 0 or more")
        _check_url(exchange.ws_url, ("wss", "ws"), f"exchanges.{name}.ws_url", problems)
        _check_url(exchange.rest_url, ("https", "http"), f"exchanges.{name}.rest_url", problems)
        _check_url(exchange.futures_ws_url, ("wss", "ws"), f"exchanges.{name}.futures_ws_url", problems)
        _check_url(exchange.futures_rest_url, ("https", "http"), f"exchanges.{name}.futures_rest_url",
                   problems)
    if config.scanner.symbols:
        problems += [f"'scanner.symbols': {problem}" for problem in symbol_problems(config.scanner.symbols)]
    problems += _asset_problems(config.scanner)
    for key in ("notional_cap", "staleness_seconds", "silence_seconds", "max_gross_bps"):
        if getattr(config.scanner, key) <= 0:
            problems.append(f"'scanner.{key}' must be greater than 0")
    if config.metadata.max_status_age_hours <= 0:
        problems.append("'metadata.max_status_age_hours' must be greater than 0")
    if not 0 < config.metrics.port < 65536:
        problems.append(f"'metrics.port' must be between 1 and 65535, got {config.metrics.port}")
    if not _is_address(config.metrics.host):
        problems.append(f"'metrics.host': {config.metrics.host!r} is not an IP address"
                        " (127.0.0.1 for this machine only, 0.0.0.0 or :: for every interface)")
    for name, hook in config.alerts.webhooks.items():
        where = f"alerts.webhooks.{name}"
        if hook.format not in WEBHOOK_FORMATS:
            problems.append(f"'{where}.format': {hook.format!r} is not one of {', '.join(WEBHOOK_FORMATS)}")
        if hook.format == "json" and not hook.url:
            problems.append(f"'{where}.url' is required for the json format")
        if hook.format in ("slack", "discord") and not (hook.url or hook.secret_env):
            problems.append(f"'{where}': set 'secret_env' to the variable holding the {hook.format} webhook URL")
        if hook.format == "telegram" and not (hook.chat_id and hook.secret_env):
            problems.append(f"'{where}': telegram needs 'chat_id' and 'secret_env' (the bot token's variable)")
        _check_webhook_filters(hook, where, problems, list(config.exchanges))
    for exchange in [*config.paper.latency_ms, *config.paper.balances]:
        if exchange not in config.exchanges:
            problems.append(f"'paper': exchange '{exchange}' is not configured under [exchanges]")
    _check_paper(config.paper, problems)
    for key in ("depeg_bps", "depeg_seconds"):
        if getattr(config.stablecoins, key) <= 0:
            problems.append(f"'stablecoins.{key}' must be greater than 0")
    _check_hedging(config.hedging, problems)
    names = [hedge.name for hedge in config.hedges]
    for i, hedge in enumerate(config.hedges):
        where = f"hedges[{i}]" + (f" ({hedge.name})" if hedge.name else "")
        if hedge.name and names.count(hedge.name) > 1:
            problems.append(f"'{where}.name': {hedge.name!r} names more than one hedge; give each its own name")
        _check_hedge(hedge, where, problems)


def _is_address(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_paper(paper: PaperConfig, problems: list[str]) -> None:
    if paper.leg_risk not in LEG_RISK_POLICIES:
        problems.append(f"'paper.leg_risk': {paper.leg_risk!r} is not one of {', '.join(LEG_RISK_POLICIES)}")
    if paper.enabled and not paper.ledger_path:
        problems.append("'paper.ledger_path' is empty; name the SQLite file that keeps the paper ledger")
    if not 0 <= paper.rebalance_threshold < 1:
        problems.append(f"'paper.rebalance_threshold' must be at least 0 and below 1, got {paper.rebalance_threshold}")
    for key in ("latency_jitter_ms", "residual_close_delay_ms", "min_net_profit"):
        if getattr(paper, key) < 0:
            problems.append(f"'paper.{key}' must be 0 or more")
    negative = [f"latency_ms.{k}" for k, v in paper.latency_ms.items() if v < 0]
    negative += [f"transfer_seconds.{k}" for k, v in paper.transfer_seconds.items() if v < 0]
    negative += [f"balances.{ex}.{asset}" for ex, assets in paper.balances.items()
                 for asset, v in assets.items() if v < 0]
    problems += [f"'paper.{key}' must be 0 or more" for key in negative]


def _check_hedging(hedging: HedgingConfig, problems: list[str]) -> None:
    for key in ("horizon_days", "basis_open_annualized", "funding_max_age_seconds", "leg_missing_seconds"):
        if getattr(hedging, key) <= 0:
            problems.append(f"'hedging.{key}' must be greater than 0")
    if hedging.close_threshold > hedging.basis_open_annualized:
        problems.append(f"'hedging.basis_close_annualized' ({hedging.close_threshold}) must not be over"
                        f" 'hedging.basis_open_annualized' ({hedging.basis_open_annualized})")
    for exchange, entries in hedging.tiers.items():
        _check_tiers(exchange, entries, problems)


def _check_tiers(exchange: str, entries: list[TierConfig], problems: list[str]) -> None:
    """One line per problem of an exchange's ``[[hedging.tiers.<exchange>]]`` entries."""
    where = f"hedging.tiers.{exchange}"
    if exchange not in HEDGE_EXCHANGES:
        problems.append(f"'{where}': unknown exchange; tiers are for {', '.join(HEDGE_EXCHANGES)}"
                        " (the exchanges whose liquidation formula arbscan knows)")
        return
    tables: dict[str, list[tuple[int, TierConfig]]] = {}
    for i, entry in enumerate(entries):
        tables.setdefault(entry.symbol, []).append((i, entry))
        if entry.symbol and (_symbol_problem(entry.symbol) or parse_symbol(entry.symbol).type is not MarketType.PERP):
            problems.append(f"'{where}[{i}].symbol': {entry.symbol!r} is not a perpetual like 'BTC/USDT:USDT'")
        if not 0 < entry.mmr < 1:
            problems.append(f"'{where}[{i}].mmr' must be between 0 and 1 (a ratio: 0.005 is 0.5 %)")
        if entry.cap is not None and entry.cap <= entry.floor:
            problems.append(f"'{where}[{i}].cap' ({entry.cap:g}) must be over its floor ({entry.floor:g})")
    for table in tables.values():
        previous: TierConfig | None = None
        for i, entry in table:
            expected = 0.0 if previous is None else previous.cap
            if previous is not None and previous.cap is None:
                problems.append(f"'{where}[{i}]' follows a tier without a cap; only the last tier of a table may"
                                " leave 'cap' out")
            elif entry.floor != expected:
                problems.append(f"'{where}[{i}].floor' is {entry.floor:g}, expected {expected:g} (tiers of one symbol"
                                " start at 0, in increasing order, each floor the previous tier's cap)")
            previous = entry


def _check_hedge(hedge: HedgeConfig, where: str, problems: list[str]) -> None:
    """One line per problem of a ``[[hedges]]`` entry."""
    perp = hedge.perp
    if not hedge.name:
        problems.append(f"'{where}.name' is missing; name the hedge (it labels its metrics and alerts)")
    if not hedge.asset:
        problems.append(f"'{where}.asset' is missing; set the asset hedged, e.g. 'BTC'")
    if not hedge.spot:
        problems.append(f"'{where}.spot' is empty; give the spot quantity held per exchange, e.g. {{ binance = 1.5 }}")
    for exchange, quantity in hedge.spot.items():
        if exchange not in SUPPORTED_EXCHANGES:
            problems.append(f"'{where}.spot.{exchange}': unknown exchange (supported: {', '.join(SUPPORTED_EXCHANGES)})")
        if quantity < 0:
            problems.append(f"'{where}.spot.{exchange}' must be 0 or more (spot held, base units)")
    if perp.exchange not in HEDGE_EXCHANGES:
        problems.append(f"'{where}.perp.exchange': {perp.exchange!r} is not one of {', '.join(HEDGE_EXCHANGES)}"
                        " (the exchanges whose liquidation formula arbscan knows)")
    try:
        parsed = parse_symbol(perp.symbol)
    except ValueError as exc:
        problems.append(f"'{where}.perp.symbol': {exc}")
    else:
        if parsed.type is not MarketType.PERP or (hedge.asset and parsed.base != hedge.asset):
            problems.append(f"'{where}.perp.symbol': {perp.symbol!r} is not a perpetual of {hedge.asset or 'the asset'}"
                            f" like '{hedge.asset or 'BTC'}/USDT:USDT'")
    for key in ("entry_price", "leverage", "margin"):
        if getattr(perp, key) <= 0:
            problems.append(f"'{where}.perp.{key}' must be greater than 0")
    if perp.margin_mode not in MARGIN_MODES:
        problems.append(f"'{where}.perp.margin_mode': {perp.margin_mode!r} is not one of {', '.join(MARGIN_MODES)}")
    if perp.entry_time is None:
        problems.append(f"'{where}.perp.entry_time' is missing; set when the position was opened,"
                        " e.g. 2026-05-01T08:00:00Z")
    if hedge.max_ratio_drift <= 0:
        problems.append(f"'{where}.max_ratio_drift' must be greater than 0")
    if not 0 < hedge.min_liquidation_distance < 1:
        problems.append(f"'{where}.min_liquidation_distance' must be between 0 and 1 (a ratio of the mark price)")
    if hedge.funding_alert is not None and hedge.funding_alert <= 0:
        problems.append(f"'{where}.funding_alert' must be greater than 0 (quote units per funding)")
