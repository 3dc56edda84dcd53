"""Compare the throughput ratios of several builds in one period, alternating their runs.

On a shared machine the load changes from minute to minute, so two versions are compared by
running ``arbscan bench --json`` for each in turn, ``--runs`` times, and taking the median of
each (exchange, kind) ratio per build. Usage (each ARBSCAN is a build's ``arbscan`` script,
e.g. ``../old/.venv/bin/arbscan``)::

    python -m scanner.bench.alternate OLD=../old/.venv/bin/arbscan NEW=.venv/bin/arbscan \\
        --runs 5 -- --exchanges binance,okx,bybit
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import orjson

Ratios = dict[tuple[str, str], list[float]]  # (exchange, kind) -> one ratio per run


def run_once(arbscan: str, bench_args: list[str]) -> dict[tuple[str, str], float]:
    """One ``arbscan bench`` throughput run: its hot/loads ratio per (exchange, kind)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        subprocess.run([arbscan, "bench", *bench_args, "--json", str(out)], check=True,
                       stdout=subprocess.DEVNULL)
        results = orjson.loads(out.read_bytes())["results"]
    return {(r["exchange"], r["kind"]): r["ratio"] for r in results}


def alternate(builds: dict[str, str], runs: int, bench_args: list[str]) -> dict[str, Ratios]:
    """Every build's ratios over ``runs`` rounds, the builds in turn within each round."""
    ratios: dict[str, Ratios] = {name: defaultdict(list) for name in builds}
    for index in range(runs):
        for name, arbscan in builds.items():
            for key, ratio in run_once(arbscan, bench_args).items():
                ratios[name][key].append(ratio)
            print(f"run {index + 1}/{runs}: {name} done", file=sys.stderr, flush=True)
    return ratios


def table(ratios: dict[str, Ratios]) -> str:
    """A markdown table: per (exchange, kind), each build's median (range), and the change of
    the last build against the first where both measured it."""
    names = list(ratios)
    keys = list(dict.fromkeys(key for build in ratios.values() for key in build))
    header = "| exchange | kind | " + " | ".join(names) + (" | change |" if len(names) > 1 else " |")
    lines = [header, "|---|---|" + "---:|" * (len(names) + (len(names) > 1))]
    for key in keys:
        cells, medians = [], []
        for name in names:
            values = ratios[name].get(key)
            if values:
                medians.append(statistics.median(values))
                cells.append(f"{medians[-1]:.2f}x ({min(values):.2f}-{max(values):.2f})")
            else:
                medians.append(None)
                cells.append("")
        change = ""
        if len(names) > 1 and medians[0] and medians[-1]:
            change = f" | {medians[-1] / medians[0] - 1:+.0%}"
        elif len(names) > 1:
            change = " | "
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + change + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("builds", nargs="+", metavar="NAME=ARBSCAN",
                        help="a build's name and its arbscan script")
    parser.add_argument("--runs", type=int, default=5, help="runs per build (default: 5)")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])  # after "--": arguments for arbscan bench
    builds = {}
    for item in args.builds:
        name, sep, arbscan = item.partition("=")
        if not sep or not name or not arbscan:
            parser.error(f"build {item!r}: write NAME=PATH_TO_ARBSCAN")
        builds[name] = arbscan
    print(table(alternate(builds, args.runs, argv[split + 1:])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
