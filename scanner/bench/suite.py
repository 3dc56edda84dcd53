"""Run one benchmark mode, describe the machine, and report the results as text or JSON."""
from __future__ import annotations

import os
import platform
from dataclasses import asdict
from typing import Any, Sequence

import orjson

from . import hotpath, latency, memory, scrape
from .frames import KINDS, build
from .rig import bench_symbols

DEFAULT_SYMBOLS = {"throughput": 100, "latency": 100, "memory": 800, "scrape": 170}
TARGET_RATIO = 3.0  # full hot path vs orjson.loads, top-of-book and 20-level diffs
TARGET_P99_US = 1000.0
TARGET_RSS_MB = 400.0
TARGET_SCRAPE_MS = 100.0


def throughput(exchanges: Sequence[str], symbols: int, frames: int, seed: int,
               kinds: Sequence[str] = KINDS) -> list[hotpath.HotPathResult]:
    """Every exchange and kind through the full hot path (all exchanges' books loaded)."""
    names = bench_symbols(symbols)
    return [hotpath.run(build(exchange, kind, exchanges, names, frames, seed))
            for exchange in exchanges for kind in kinds]


def run(mode: str, exchanges: Sequence[str], symbols: int | None, frames: int, seed: int,
        rate: float, seconds: float) -> list[Any]:
    """The results of one mode (``symbols`` None: the mode's default)."""
    count = symbols or DEFAULT_SYMBOLS[mode]
    if mode == "throughput":
        return throughput(exchanges, count, frames, seed)
    if mode == "latency":
        return [latency.run(bench_symbols(count), exchanges, rate, seconds, seed)]
    if mode == "memory":
        return [memory.run(count, exchanges, seed)]
    return [scrape.run(bench_symbols(count), exchanges, seed)]


def machine() -> dict[str, Any]:
    """Where the figures come from."""
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), "")
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model or platform.processor(),
            "python": platform.python_version(), "orjson": orjson.__version__,
            "platform": platform.platform()}


def to_json(mode: str, options: dict[str, Any], results: list[Any]) -> bytes:
    return orjson.dumps({"mode": mode, "machine": machine(), "options": options,
                         "results": [asdict(result) for result in results]},
                        option=orjson.OPT_INDENT_2)


def report(mode: str, results: list[Any]) -> str:
    """A plain-text table of ``results`` with each target's status."""
    return {"throughput": _throughput_table, "latency": _latency_text, "memory": _memory_text,
            "scrape": _scrape_text}[mode](results)


def _throughput_table(results: list[hotpath.HotPathResult]) -> str:
    lines = ["full hot path (on_frame + evaluate + counters) vs orjson.loads of the same bytes; "
             "medians over rounds",
             f"{'exchange':<8} {'kind':<8} {'bytes':>6} {'loads ns':>9} {'hot ns':>8} {'ratio':>6} "
             f"{'adapter ns':>10} {'ratio':>6} {'frames/s':>9} {'top moved':>9}  target"]
    for r in results:
        target = ""
        if r.kind in ("top", "depth20"):
            target = f"<= {TARGET_RATIO:g}x " + ("met" if r.ratio <= TARGET_RATIO else "missed")
        lines.append(f"{r.exchange:<8} {r.kind:<8} {r.frame_bytes:>6.0f} {r.loads_ns:>9.0f} "
                     f"{r.hot_ns:>8.0f} {r.ratio:>5.2f}x {r.adapter_ns:>10.0f} "
                     f"{r.adapter_ratio:>5.2f}x {r.frames_per_second:>9.0f} {r.top_moved:>8.0%}  "
                     f"{target}")
        if r.errors or r.applied != r.frames:
            lines.append(f"  warning: {r.errors} resyncs/errors, {r.applied} of {r.frames} frames applied")
    return "\n".join(lines)


def _latency_text(results: list[latency.LatencyResult]) -> str:
    (r,) = results
    status = "met" if r.p99_us < TARGET_P99_US and r.rate >= 0.95 * r.target_rate else "missed"
    return "\n".join([
        f"detection latency, frame receipt -> opportunity event, {r.books} books over loopback",
        f"rate: asked {r.target_rate:.0f} frames/s, sent {r.sent_rate:.0f}, received "
        f"{r.rate:.0f} ({r.frames} frames in {r.seconds:.1f} s, scanner CPU {r.cpu:.0%} of a core)",
        f"latency over {r.samples} evaluations with events: p50 {r.p50_us:.0f} us, "
        f"p99 {r.p99_us:.0f} us, p99.9 {r.p999_us:.0f} us, max {r.max_us:.0f} us",
        f"books live {r.books_live}/{r.books}, resyncs/errors/reconnects {r.errors}",
        f"target p99 < {TARGET_P99_US:.0f} us at the asked rate: {status}"])


def _memory_text(results: list[memory.MemoryResult]) -> str:
    (r,) = results
    status = "met" if r.rss_mb < TARGET_RSS_MB else "missed"
    return "\n".join([
        f"memory: {r.books} books ({r.books_live} live), {r.levels_per_side:.1f} levels per side "
        f"on average, {r.frames} snapshots and diffs applied",
        f"RSS {r.rss_mb:.1f} MB (peak {r.peak_mb:.1f} MB; {r.baseline_mb:.1f} MB before the "
        f"scanner was built; {r.kb_per_book:.1f} KB per book)",
        f"target < {TARGET_RSS_MB:.0f} MB: {status}"])


def _scrape_text(results: list[scrape.ScrapeResult]) -> str:
    (r,) = results
    status = "met" if r.max_ms < TARGET_SCRAPE_MS else "missed"
    return "\n".join([
        f"/metrics: {r.series} series ({r.bytes} bytes) over {r.books} books, {r.scrapes} scrapes "
        f"while the loop applies {scrape.FEED_RATE} frames/s",
        f"scrape duration: median {r.median_ms:.1f} ms, max {r.max_ms:.1f} ms "
        f"(target < {TARGET_SCRAPE_MS:.0f} ms: {status})",
        f"loop lag while scraping: worst {r.lag_max_ms:.1f} ms, median of each scrape's worst "
        f"{r.lag_median_ms:.1f} ms; {r.idle_lag_max_ms:.1f} ms without scrapes"])
