"""``arbscan bench`` on a small scale: every mode runs the real code (books live, frames counted,
events seen) and reports what it claims to; no timing is asserted."""
from __future__ import annotations

import asyncio

import orjson
from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from scanner.bench import latency, memory, scrape
from scanner.bench.frames import KINDS, build
from scanner.bench.rig import bench_symbols, load_books, offline_scanner
from scanner.bench.suite import throughput
from scanner.cli import main
from scanner.publish.metrics import Family, LabelSets, write_text

EXCHANGES = ("binance", "okx", "bybit")


def test_frames_follow_each_exchange_protocol_and_rebuild_the_books():
    symbols = bench_symbols(2)
    for exchange in EXCHANGES:
        for kind in KINDS:
            workload = build(exchange, kind, EXCHANGES, symbols, 30, seed=3)
            assert len(workload.frames) == 30 and set(workload.snapshots) == set(EXCHANGES)
            scanner = offline_scanner(EXCHANGES, symbols)
            load_books(scanner, workload.snapshots)
            runner = next(r for r in scanner.runners if r.venue.name == exchange)
            updates = sum(book.updates for book in runner.venue.books.values())
            for frame in workload.frames:
                runner.on_frame(frame, 1.0)
            assert sum(book.updates for book in runner.venue.books.values()) - updates == 30
            assert not runner.stats.resyncs and not runner.stats.errors


def test_throughput_runs_the_full_hot_path_for_every_exchange_and_kind():
    results = throughput(EXCHANGES, symbols=3, frames=60, seed=7)
    assert [(r.exchange, r.kind) for r in results] == [(e, k) for e in EXCHANGES for k in KINDS]
    for r in results:
        assert r.applied == r.frames == 60 and r.evaluations == 60
        assert r.books_live == 3 and r.errors == 0
        assert r.loads_ns > 0 and r.hot_ns > 0 and r.ratio > 0 and r.frames_per_second > 0
        assert r.frame_bytes > 100 and 0 <= r.top_moved <= 1


def test_cli_writes_the_results_and_the_machine_as_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["bench", "--exchanges", "okx,bybit", "--symbols", "2", "--frames", "20",
                 "--json", str(path)]) == 0
    assert "okx" in capsys.readouterr().out
    report = orjson.loads(path.read_bytes())
    assert report["mode"] == "throughput" and report["options"]["frames"] == 20
    assert {"nproc", "cpu", "python"} <= set(report["machine"])
    assert len(report["results"]) == 2 * len(KINDS)
    assert {"exchange", "kind", "loads_ns", "hot_ns", "ratio", "frames_per_second"} <= set(report["results"][0])


def test_cli_rejects_unknown_exchanges(capsys):
    assert main(["bench", "--exchanges", "mexc"]) == 2
    assert "mexc" in capsys.readouterr().err


def test_latency_over_loopback_sees_frames_and_events():
    result = latency.run(bench_symbols(3), EXCHANGES, rate=600.0, seconds=2.0, seed=7)
    assert result.books_live == result.books == 9
    assert result.frames > 0 and result.rate > 0 and result.sent_rate > 0
    assert result.samples > 0 and 0 < result.p50_us <= result.p99_us <= result.max_us


def test_memory_loads_every_book_in_a_child_process():
    result = memory.run(4, EXCHANGES, seed=7)
    assert result.books == result.books_live == 12
    assert result.levels_per_side > 40 and result.frames > 12
    assert result.rss_mb > result.baseline_mb > 0


def test_scrape_serves_every_series_while_the_loop_feeds():
    result = scrape.run(bench_symbols(4), EXCHANGES, seed=7)
    assert result.books == 12 and result.scrapes == scrape.SCRAPES
    assert result.series > 12 * 4 and result.median_ms > 0 and result.lag_max_ms >= 0


def test_metrics_text_is_what_prometheus_client_writes():
    pair = LabelSets("symbol", "buy_exchange", "sell_exchange")
    ours = [Family("arbscan_x", "counter", 'odd \\ help\nline'), Family("arbscan_y", "gauge", "y")]
    ours[0].add(pair(('A"\\\nB', "okx", "bybit")), 12345678)
    for value in (60000.1, 1e-7, 1e300, float("inf"), float("nan"), -0.5):
        ours[1].add(pair(("BTC/USDT", "okx", repr(value))), value)
    counter = CounterMetricFamily("arbscan_x", 'odd \\ help\nline', labels=["symbol", "buy_exchange", "sell_exchange"])
    counter.add_metric(['A"\\\nB', "okx", "bybit"], 12345678)
    gauge = GaugeMetricFamily("arbscan_y", "y", labels=["symbol", "buy_exchange", "sell_exchange"])
    for value in (60000.1, 1e-7, 1e300, float("inf"), float("nan"), -0.5):
        gauge.add_metric(["BTC/USDT", "okx", repr(value)], value)

    class Reference:
        def collect(self):
            return [counter, gauge]

    assert asyncio.run(write_text(ours)) == generate_latest(Reference()).decode()
