"""``arbscan replay``: run a recording through the same adapters, books and engine, on a
virtual clock, so a recording can be evaluated again (with other thresholds, fees or paper
latencies) with the same result every time."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .app import Scanner
from .clock import VirtualScheduler
from .config import Config
from .engine.opportunity import EventType, OpportunityEvent
from .feeds.base import FeedError
from .metadata import Metadata
from .record import read_recording

SWEEP_INTERVAL = 1.0  # virtual seconds between stale-book sweeps, as in a live run


@dataclass
class ReplayResult:
    frames: int = 0
    opened: int = 0
    closed: int = 0
    best: list[OpportunityEvent] = field(default_factory=list)  # opened events, best net first
    net_total: float = 0.0  # sum of net profit at opening (not blocked)
    scanner: Scanner | None = None

    def on_event(self, event: OpportunityEvent) -> None:
        if event.type is EventType.OPENED:
            self.opened += 1
            if not event.opportunity.blocked:
                self.net_total += event.opportunity.net_profit
                self.best.append(event)
        elif event.type is EventType.CLOSED:
            self.closed += 1


def prepare(config: Config, meta: dict) -> None:
    """Scan what was recorded: its exchanges and symbols."""
    recorded = set(meta.get("exchanges", []))
    for name, exchange in config.exchanges.items():
        exchange.enabled = name in recorded
    config.scanner.symbols = list(meta.get("symbols", config.scanner.symbols))
    config.metrics.enabled = False


def replay(config: Config, metadata: Metadata, path: str | Path) -> ReplayResult:
    """Replay a recording (with paper trading when ``[paper] enabled``)."""
    meta, records = read_recording(path)
    prepare(config, meta)
    scheduler = VirtualScheduler(start_wall=meta["wall"], start_monotonic=meta["monotonic"])
    scanner = Scanner(config, metadata, scheduler=scheduler, live=False)
    result = ReplayResult(scanner=scanner)
    scanner.listeners.append(result.on_event)
    runners = {runner.venue.name: runner for runner in scanner.runners}
    next_sweep = meta["monotonic"] + SWEEP_INTERVAL
    for record in records:
        scheduler.advance(record.monotonic)
        while record.monotonic >= next_sweep:
            scanner.dispatch(scanner.engine.sweep())
            next_sweep += SWEEP_INTERVAL
        runner = runners.get(record.exchange)
        if runner is None:
            continue
        result.frames += record.kind == "ws"
        try:
            if record.kind == "connect":
                runner.venue.reset_all()
            elif record.kind == "ws":
                runner.on_frame(record.data, record.monotonic)
            elif record.kind == "rest":
                runner.venue.apply_rest(record.path, record.params or {}, record.data)
        except FeedError:  # live, the connection would restart: its books start over
            runner.venue.reset_all()
        scanner.flush()
    scheduler.drain()
    scanner.close()
    result.best.sort(key=lambda e: -e.opportunity.net_profit)
    return result


def summary(result: ReplayResult, top: int = 10) -> str:
    lines = [f"frames {result.frames}, opportunities opened {result.opened}, closed {result.closed}, "
             f"net at opening (not blocked) {result.net_total:.2f}"]
    for event in result.best[:top]:
        o = event.opportunity
        lines.append(f"  {o.symbol:<10} buy {o.buy_exchange:<8} sell {o.sell_exchange:<8} size {o.size:.6g} "
                     f"net {o.net_profit:.2f} ({o.net_profit_bps:.1f} bps) transfer {o.costs.transfer_network} "
                     f"({o.costs.transfer_status.value})")
    return "\n".join(lines)
