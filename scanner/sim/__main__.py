"""Run the simulated exchanges on their own (e.g. in a separate process for a benchmark):

    python -m scanner.sim --symbols BTC/USDT,ETH/USDT --port binance=9001 --updates-per-second 50

Prints the endpoints as one JSON line on stdout, then serves until interrupted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from ..config import DEFAULT_SYMBOLS
from ..exchanges import NAMES
from .servers import SimulatedExchanges


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scanner.sim", description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", default=",".join(DEFAULT_SYMBOLS),
                        help="comma-separated unified symbols (default: %(default)s)")
    parser.add_argument("--exchanges", default=",".join(NAMES),
                        help="comma-separated exchanges (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", action="append", default=[], metavar="EXCHANGE=PORT",
                        help="fixed port for one exchange (repeatable; default: any free port)")
    parser.add_argument("--updates-per-second", type=float, default=10.0,
                        help="book changes per exchange and symbol per second")
    parser.add_argument("--dislocation-every", default="20,40", metavar="A,B|none",
                        help="random dislocations every U(A,B) seconds, or none")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> SimulatedExchanges:
    """The simulator described by the command line; ValueError on bad input."""
    ports = {}
    for item in args.port:
        name, sep, port = item.partition("=")
        if not sep or not port.isdigit():
            raise ValueError(f"--port wants EXCHANGE=PORT, got {item!r}")
        ports[name] = int(port)
    dislocation_every = None
    if args.dislocation_every != "none":
        low, _, high = args.dislocation_every.partition(",")
        dislocation_every = (float(low), float(high or low))
    return SimulatedExchanges(args.symbols.split(","), args.exchanges.split(","), args.seed,
                              args.host, ports, args.updates_per_second, dislocation_every)


async def serve(sim: SimulatedExchanges) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with sim:
        endpoints = {name: {"ws_url": e.ws_url, "rest_url": e.rest_url}
                     for name, e in sim.endpoints.items()}
        print(json.dumps(endpoints), flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sim = build(args)
    except ValueError as exc:
        print(f"scanner.sim: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(sim))
    except OSError as exc:
        print(f"scanner.sim: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
