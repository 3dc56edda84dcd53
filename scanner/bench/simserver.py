"""The simulated exchanges for the latency benchmark, in their own process, paced to a fixed
aggregate frame rate:

    python -m scanner.bench.simserver --symbols BTC/USDT,ETH/USDT --rate 20000

Prints the endpoints as one JSON line ({exchange: [ws_url, rest_url]}) and serves at a modest
rate, so that a client syncs its books quickly; a ``pace`` line on stdin starts pacing to the
target rate, each ``sent`` line is answered with the number of frames sent so far. Ends when
stdin closes.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson

from ..sim import SimulatedExchanges

DISLOCATIONS = (0.5, 1.5)  # seconds between dislocations: opportunities open, update, close
PACE_SECONDS = 0.25  # how often the update rate is corrected toward the target frame rate
START_UPDATES = 10.0  # book changes per book per second until pacing starts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scanner.bench.simserver")
    parser.add_argument("--symbols", required=True, help="comma-separated symbols")
    parser.add_argument("--exchanges", required=True, help="comma-separated exchanges")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, required=True, help="frames/s, all exchanges")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    requests = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(requests), sys.stdin)
    async with SimulatedExchanges(args.symbols.split(","), args.exchanges.split(","), args.seed,
                                  updates_per_second=START_UPDATES,
                                  dislocation_every=DISLOCATIONS) as sim:
        endpoints = {name: [e.ws_url, e.rest_url] for name, e in sim.endpoints.items()}
        _answer(orjson.dumps(endpoints))
        pacing: list[asyncio.Task] = []
        try:
            while request := await requests.readline():
                if request == b"pace\n" and not pacing:
                    pacing.append(asyncio.create_task(_pace(sim, args.rate)))
                elif request == b"sent\n":
                    _answer(str(frames_sent(sim)).encode())
        finally:
            for task in pacing:
                task.cancel()


def _answer(line: bytes) -> None:
    sys.stdout.buffer.write(line + b"\n")
    sys.stdout.buffer.flush()


async def _pace(sim: SimulatedExchanges, rate: float) -> None:
    """Scale the model's update rate so that the frames sent track ``rate``."""
    last, then = frames_sent(sim), time.monotonic()
    while True:
        await asyncio.sleep(PACE_SECONDS)
        sent, now = frames_sent(sim), time.monotonic()
        achieved = (sent - last) / (now - then)
        if achieved > 0:
            sim.model.updates_per_second *= min(2.0, max(0.5, rate / achieved))
        last, then = sent, now


def frames_sent(sim: SimulatedExchanges) -> int:
    return sum(stats.frames_sent for stats in sim.stats.values())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args))
    else:
        uvloop.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
