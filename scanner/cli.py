"""The ``arbscan`` command line."""
from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import math
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Coroutine, NoReturn

from . import __version__
from .alerts import OutboxError
from .checks import book_count, cache_path, check_startup, startup_problems, unwritable
from .config import SUPPORTED_EXCHANGES, Config, ConfigError, load_config, symbol_problems
from .demo import enable_demo_paper, run_demo
from .hedging.plan import SUPPORTED as HEDGE_EXCHANGES
from .metadata import Metadata, load_metadata

if TYPE_CHECKING:
    from .hedging.plan import Market

DEMO_SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT",
                "BTC/USDC", "ETH/USDC", "BTC/USD", "ETH/USD",  # + the stablecoin books that convert them
                "BTC/USDT:USDT", "ETH/USDT:USDT"]  # perpetuals: funding, basis and the demo hedge


class UserError(Exception):
    """A problem the user can fix; printed as one line without a traceback."""


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def main(argv: list[str] | None = None) -> int:
    """Run one ``arbscan`` command; returns the exit status (2: bad input, one line on stderr)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if not args.verbose:  # connection chatter of the libraries and the simulator's servers
        for noisy in ("websockets", "aiohttp.access", "scanner.sim"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.handler(args) or 0
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"arbscan: {problem}", file=sys.stderr)
        return 2
    except (UserError, OSError, ValueError, OutboxError) as exc:
        print(f"arbscan: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="arbscan", description="Cross-exchange crypto arbitrage scanner.")
    parser.add_argument("--version", action="version", version=f"arbscan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="scan the exchanges configured in --config (the real ones by default)")
    run.add_argument("--config", type=Path, help="TOML config file (default: built-in defaults, real exchanges)")
    run.add_argument("--duration", type=positive, help="stop after this many seconds")
    run.add_argument("--metrics-port", type=port, help="metrics port (default: [metrics] port, 9108)")
    run.add_argument("--no-view", action="store_true", help="do not print the live terminal view")
    run.set_defaults(handler=cmd_run)

    demo = commands.add_parser("demo", help="run the scanner against the built-in simulated exchanges")
    demo.add_argument("--config", type=Path, help="optional TOML config (exchange URLs are replaced by the simulator's)")
    demo.add_argument("--duration", type=positive, help="stop after this many seconds (default: until Ctrl-C)")
    demo.add_argument("--symbols", type=symbols, help=f"comma-separated symbols (default: {','.join(DEMO_SYMBOLS)})")
    demo.add_argument("--metrics-port", type=port, help="metrics port (default: [metrics] port, 9108)")
    demo.add_argument("--seed", type=int, default=7, help="market model seed")
    demo.add_argument("--no-view", action="store_true", help="do not print the live terminal view")
    demo.add_argument("--paper", action="store_true",
                      help="paper-trade the opportunities (demo balances unless [paper] sets them)")
    demo.set_defaults(handler=cmd_demo)

    record = commands.add_parser("record", help="record raw frames (with receive times) while scanning")
    record.add_argument("output", type=output_file, help="recording file (.jsonl, or .jsonl.gz to compress)")
    record.add_argument("--config", type=Path)
    record.add_argument("--duration", type=positive, required=True, help="seconds to record")
    record.add_argument("--demo", action="store_true", help="record the built-in simulated exchanges")
    record.add_argument("--symbols", type=symbols, help="comma-separated symbols (default: from the config)")
    record.add_argument("--seed", type=int, default=7, help="market model seed (with --demo)")
    record.set_defaults(handler=cmd_record)

    replay = commands.add_parser("replay", help="run a recording through the scanner again (deterministic)")
    replay.add_argument("recording", type=Path)
    replay.add_argument("--config", type=Path, help="thresholds, fees, paper settings to evaluate with")
    replay.add_argument("--paper-ledger", type=output_file,
                        help="new ledger for paper trading on the recording (default: REC.paper.sqlite, replaced)")
    replay.set_defaults(handler=cmd_replay)

    paper = commands.add_parser("paper", help="paper trading results")
    paper_commands = paper.add_subparsers(required=True, metavar="ACTION")
    paper_report = paper_commands.add_parser("report", help="PnL, fills, leg failures, transfers from the ledger")
    paper_report.add_argument("--config", type=Path, help="config naming the ledger ([paper] ledger_path)")
    paper_report.add_argument("--ledger", type=Path, help="ledger file (overrides the config)")
    paper_report.add_argument("--csv", type=output_file, help="also export the trades as CSV")
    paper_report.set_defaults(handler=cmd_paper_report)

    check = commands.add_parser("check-config", help="validate a config file and print the effective config")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=cmd_check_config)

    markets = commands.add_parser("markets", help="exchange metadata: fees, networks, withdrawal status")
    markets_commands = markets.add_subparsers(required=True, metavar="ACTION")
    refresh = markets_commands.add_parser("refresh", help="fetch metadata with ccxt and cache it on disk")
    refresh.add_argument("--config", type=Path)
    refresh.add_argument("--exchanges", type=exchange_list, help="comma-separated exchanges (default: the enabled ones)")
    refresh.set_defaults(handler=cmd_markets_refresh)
    show = markets_commands.add_parser("show", help="print the cached (or bundled) metadata")
    show.add_argument("--config", type=Path)
    show.add_argument("--exchange", help="only this exchange (any case)")
    show.add_argument("--asset", help="only markets and networks of this asset (any case)")
    show.set_defaults(handler=cmd_markets_show)

    bench = commands.add_parser("bench", help="performance figures: hot path vs orjson, latency, memory, scrape")
    modes = bench.add_mutually_exclusive_group()
    modes.add_argument("--latency", action="store_true", help="detection latency over loopback WebSockets at --rate")
    modes.add_argument("--memory", action="store_true", help="RSS of a scanner holding many full books")
    modes.add_argument("--scrape", action="store_true", help="/metrics scrape time and loop lag on a large scanner")
    bench.add_argument("--exchanges", type=exchange_list, help="comma-separated exchanges (default: all supported)")
    bench.add_argument("--symbols", type=_positive_int, help="symbols per exchange (default: 100; memory 800, scrape 170)")
    bench.add_argument("--frames", type=_positive_int, default=5000, help="frames per exchange and kind (default: 5000)")
    bench.add_argument("--seed", type=int, default=7, help="market model seed")
    bench.add_argument("--rate", type=positive, default=20000.0, help="latency: frames/s over all exchanges (default: 20000)")
    bench.add_argument("--seconds", type=positive, default=10.0, help="latency: seconds measured (default: 10)")
    bench.add_argument("--json", type=output_file, help="also write the results (and the machine) as JSON to this file")
    bench.set_defaults(handler=cmd_bench)

    hedge = commands.add_parser("hedge", help="the perpetual order that hedges a spot holding: margin, liquidation, "
                                              "funding, fees, scenarios")
    hedge.add_argument("--asset", type=asset, required=True, help="the asset held, e.g. BTC")
    hedge.add_argument("--spot", type=positive, required=True, help="spot quantity to hedge, base units")
    hedge.add_argument("--exchange", type=hedge_exchange, required=True, help=f"one of {', '.join(HEDGE_EXCHANGES)}")
    hedge.add_argument("--leverage", type=positive, default=2.0, help="leverage (default 2)")
    hedge.add_argument("--margin-mode", choices=("isolated", "cross"), default="isolated")
    hedge.add_argument("--collateral", type=positive, help="cross margin: the quote backing the position")
    hedge.add_argument("--direction", choices=("short", "long"), default="short",
                       help="short: hedge spot you hold (default); long: hedge a purchase you plan")
    hedge.add_argument("--quote", type=asset, default="USDT", help="settlement currency (default USDT)")
    hedge.add_argument("--config", type=Path, help="TOML config: exchange URLs (e.g. the simulator's) and fees for"
                                                   " live prices, [hedging.tiers] maintenance tiers")
    hedge.add_argument("--wait", type=positive, default=5.0, help="seconds to wait for live prices (default 5)")
    hedge.add_argument("--price", type=positive,
                       help="offline: spot and mark price to plan at (default: live prices from the exchange's feeds)")
    hedge.add_argument("--mark", type=positive, help="offline: the perpetual's mark price (default: --price)")
    hedge.add_argument("--funding-rate", type=float, help="offline: per interval, ratio (default 0.0001)")
    hedge.add_argument("--funding-interval", type=positive, help="offline: hours between fundings (default 8)")
    hedge.add_argument("--fee-bps", type=positive,
                       help="perpetual taker fee in bps (default: the exchange's; offline 5)")
    hedge.add_argument("--delivery-price", type=positive, help="a delivery future's price, for the no-funding alternative")
    hedge.add_argument("--delivery-days", type=positive, help="days to that future's expiry")
    hedge.add_argument("--json", action="store_true", help="print the plan as JSON")
    hedge.set_defaults(handler=cmd_hedge)
    return parser


def port(text: str) -> int:
    """An argparse type: a TCP port number."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def positive(text: str) -> float:
    """An argparse type: a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def symbols(text: str) -> list[str]:
    """An argparse type: comma-separated unified symbols (any case), each once."""
    result = [s.strip().upper() for s in text.split(",") if s.strip()]
    problems = symbol_problems(result)
    if problems:
        raise argparse.ArgumentTypeError("; ".join(problems))
    return result


def asset(text: str) -> str:
    """An argparse type: an asset code such as BTC (letters and digits)."""
    if not text.strip().isalnum():
        raise argparse.ArgumentTypeError(f"{text!r} is not an asset code like BTC")
    return text.strip().upper()


def hedge_exchange(text: str) -> str:
    """An argparse type: an exchange whose liquidation formula arbscan knows (any case)."""
    if text.lower() not in HEDGE_EXCHANGES:
        raise argparse.ArgumentTypeError(f"{text!r} is not supported (supported: {', '.join(HEDGE_EXCHANGES)})")
    return text.lower()


def exchange_list(text: str) -> list[str]:
    """An argparse type: comma-separated exchanges arbscan supports (any case), each once."""
    names = list(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SUPPORTED_EXCHANGES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{', '.join(map(repr, unknown)) or 'no exchange'} is not supported"
                                         f" (supported: {', '.join(SUPPORTED_EXCHANGES)})")
    return names


def output_file(text: str) -> Path:
    """An argparse type: a file that can be written (its directory exists)."""
    reason = unwritable(Path(text))
    if reason:
        raise argparse.ArgumentTypeError(reason)
    return Path(text)


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop where available."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _load_metadata(config: Config) -> Metadata:
    return load_metadata(config.metadata.cache_path or None, config.metadata.max_status_age_hours)


def _serve(config: Config, coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run the scanner; a metrics port already taken is the user's to change."""
    try:
        run_async(coroutine)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise UserError(f"port {config.metrics.port} on {config.metrics.host} is in use;"
                        " set [metrics] port or pass --metrics-port") from None


def cmd_run(args: argparse.Namespace) -> int:
    from .app import Scanner

    config, metadata = _configure(args, demo=False)
    _serve(config, Scanner(config, metadata).run(args.duration, view=None if args.no_view else sys.stdout))
    return 0


def _configure(args: argparse.Namespace, demo: bool) -> tuple[Config, Metadata]:
    """The config with the command line's overrides, and the metadata the scanner will use,
    after the startup checks (`scanner.checks`) passed."""
    config = load_config(args.config)
    if getattr(args, "symbols", None):
        config.scanner.symbols = args.symbols
    elif demo and args.config is None:
        config.scanner.symbols = list(DEMO_SYMBOLS)
    if getattr(args, "metrics_port", None) is not None:
        config.metrics.port = args.metrics_port
    if getattr(args, "paper", False):
        enable_demo_paper(config)
    metadata = load_metadata(None) if demo else _load_metadata(config)  # what run_demo reads
    check_startup(config, metadata)
    return config, metadata


def cmd_demo(args: argparse.Namespace) -> int:
    config, _ = _configure(args, demo=True)
    _serve(config, run_demo(config, duration=args.duration, seed=args.seed,
                            view=None if args.no_view else sys.stdout))
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    from .app import Scanner
    from .record import Recorder

    config, metadata = _configure(args, demo=args.demo)
    config.metrics.enabled = False
    recorder = Recorder(args.output, {"exchanges": config.enabled_exchanges(), "symbols": config.scanner.symbols})
    try:
        if args.demo:
            run_async(run_demo(config, duration=args.duration, seed=args.seed, recorder=recorder))
        else:
            run_async(Scanner(config, metadata, recorder=recorder).run(args.duration))
    finally:
        recorder.close()
    print(f"recorded {recorder.records} records to {args.output}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from .paper import report
    from .replay import replay, summary

    config = load_config(args.config)
    if config.paper.enabled:
        ledger = args.paper_ledger
        if ledger is None:
            ledger = args.recording.with_name(args.recording.name + ".paper.sqlite")
            for stale in (ledger, ledger.with_name(ledger.name + "-wal"), ledger.with_name(ledger.name + "-shm")):
                stale.unlink(missing_ok=True)
        elif ledger.exists():
            raise UserError(f"{ledger} exists; replay paper-trades into a new ledger, choose another path")
        config.paper.ledger_path = str(ledger)
    result = replay(config, _load_metadata(config), args.recording)
    print(summary(result))
    if config.paper.enabled:
        print()
        print(report(config.paper.ledger_path))
    return 0


def cmd_paper_report(args: argparse.Namespace) -> int:
    from .paper import report

    ledger = args.ledger or Path(load_config(args.config).paper.ledger_path)
    if ledger.is_dir():
        raise UserError(f"{ledger} is a directory; pass the paper ledger file")
    if not ledger.exists():
        raise UserError(f"{ledger}: no paper ledger here; run with [paper] enabled = true (or `arbscan demo --paper`) first")
    print(report(ledger, args.csv))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    metadata = _load_metadata(config)
    problems = startup_problems(config, metadata)
    if problems:
        raise ConfigError([f"{args.file}: {problem}" for problem in problems])
    books, exchanges = book_count(config, metadata)
    print(f"# scans {books} books on {exchanges} exchanges (with the stablecoin conversion books)\n")
    _print_toml(config.as_dict())
    return 0


def _print_toml(data: dict, prefix: str = "") -> None:
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if prefix and (scalars or not tables):
        print(f"[{prefix}]")
    for key, value in scalars.items():
        if value is None:
            print(f"# {key} = (not set)")
        else:
            print(f"{key} = {_toml_value(value)}")
    if scalars:
        print()
    for key, value in tables.items():
        _print_toml(value, f"{prefix}.{key}" if prefix else key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table (list entries: [[hedges]], [[hedging.tiers.*]]); unset keys left out
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


def cmd_markets_refresh(args: argparse.Namespace) -> int:
    """Exit 0 when the metadata of at least one exchange was fetched and written, else 1."""
    from .metadata import refresh

    config = load_config(args.config)
    exchanges = args.exchanges or config.enabled_exchanges()
    if not exchanges:
        raise UserError("no exchange to refresh: enable one in the config or pass --exchanges")
    path = cache_path(config)
    reason = unwritable(path, creates_directories=True)
    if reason:
        raise UserError(f"metadata.cache_path: {reason}")
    metadata = run_async(refresh(exchanges, config.scanner.symbols or None, path))  # no symbols: every spot market
    for exchange, error in metadata.errors.items():
        print(f"arbscan: {exchange}: refresh failed, kept the previous data: {error}", file=sys.stderr)
    fetched = [name for name in exchanges if name not in metadata.errors]
    if fetched:
        print(f"metadata for {', '.join(fetched)} cached in {path}")
    return 0 if fetched else 1


def cmd_markets_show(args: argparse.Namespace) -> int:
    from .metadata import describe

    config = load_config(args.config)
    print(describe(_load_metadata(config), exchange=args.exchange, asset=args.asset))
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench.suite import report, run, to_json

    exchanges = args.exchanges or list(SUPPORTED_EXCHANGES)
    mode = "latency" if args.latency else "memory" if args.memory else "scrape" if args.scrape else "throughput"
    results = run(mode, exchanges, args.symbols, args.frames, args.seed, args.rate, args.seconds)
    print(report(mode, results))
    if args.json:
        options = {"exchanges": exchanges, "symbols": args.symbols, "frames": args.frames, "seed": args.seed,
                   "rate": args.rate, "seconds": args.seconds}
        args.json.write_bytes(to_json(mode, options, results))
    return 0


def cmd_hedge(args: argparse.Namespace) -> int:
    import orjson

    from .hedging.plan import plan, render
    from .hedging.tiers import tiers_for
    from .instruments import MarketType, unified_symbol

    if args.margin_mode == "cross" and args.collateral is None:
        raise UserError("--margin-mode cross needs --collateral (the quote backing the position)")
    if (args.delivery_price is None) != (args.delivery_days is None):
        raise UserError("--delivery-price and --delivery-days go together")
    config = load_config(args.config)
    metadata = _load_metadata(config)
    market = _offline_market(args) if args.price is not None else _live_market(args, config, metadata)
    perp = unified_symbol(MarketType.PERP, args.asset, args.quote, args.quote)
    result = plan(args.asset, args.quote, args.spot, args.exchange, args.leverage, market, args.direction,
                  args.margin_mode, args.collateral, tiers_for(args.exchange, perp, metadata, config.hedging))
    print(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode() if args.json else render(result))
    return 0


def _offline_market(args: argparse.Namespace) -> Market:
    """The market as the command line gives it (``--price`` and the defaults)."""
    from .hedging.plan import Market

    return Market(spot=args.price, mark=args.mark or args.price,
                  funding_rate=0.0001 if args.funding_rate is None else args.funding_rate,
                  funding_interval_hours=args.funding_interval or 8.0,
                  taker_fee=(5.0 if args.fee_bps is None else args.fee_bps) / 1e4,
                  delivery_price=args.delivery_price, delivery_days=args.delivery_days)


def _live_market(args: argparse.Namespace, config: Config, metadata: Metadata) -> Market:
    """The market from a few seconds of the exchange's spot, perpetual and delivery feeds."""
    from .hedging.live import fetch_market

    offline = [flag for flag, value in (("--mark", args.mark), ("--funding-rate", args.funding_rate),
                                        ("--funding-interval", args.funding_interval),
                                        ("--delivery-price", args.delivery_price)) if value is not None]
    if offline:
        raise UserError(f"{offline[0]} is for offline plans; pass --price with it")
    fee = None if args.fee_bps is None else args.fee_bps / 1e4
    return run_async(fetch_market(config, metadata, args.exchange, args.asset, args.quote,
                                  args.direction, args.wait, fee))


if __name__ == "__main__":
    sys.exit(main())
