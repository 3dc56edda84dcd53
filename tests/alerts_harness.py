"""Synthetic opportunity events for the alert tests, and a process that publishes them.

    python tests/alerts_harness.py OUTBOX URL COUNT

builds an Alerter with one json target named ``sink`` (key in $HARNESS_SECRET) posting to URL,
publishes COUNT opened events with ids ``harness-0``... (0: publishes nothing, only delivers
what the outbox holds), prints ``published COUNT`` once they are in the outbox, then idles until
killed. The kill -9 test runs it, kills it while alerts are undelivered and runs it again.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.alerts import Alerter, Backoff  # noqa: E402
from scanner.config import AlertsConfig, WebhookConfig  # noqa: E402
from scanner.engine.opportunity import (  # noqa: E402
    Costs, EventType, Opportunity, OpportunityEvent, TransferStatus,
)
from tests.markets import spot  # noqa: E402


def make_event(type_: EventType = EventType.OPENED, *, id: str = "opp-1", symbol: str = "BTC/USDT",
               buy: str = "binance", sell: str = "okx", net: float = 12.5, size: float = 0.25,
               at: float = 1_700_000_000.0, first_seen: float | None = None,
               blocked: bool = False) -> OpportunityEvent:
    """An event whose costs add up: gross - fees - transfer == ``net``."""
    buy_price = 43_000.0
    buy_fee, sell_fee, transfer = 10.75, 10.77, 1.5
    gross = net + buy_fee + sell_fee + transfer
    sell_price = buy_price + gross / size
    costs = Costs(gross=gross, buy_fee=buy_fee, sell_fee=sell_fee, transfer_fee=transfer,
                  transfer_network="BTC",
                  transfer_status=TransferStatus.BLOCKED if blocked else TransferStatus.OPEN, buy_fee_rate=0.001,
                  sell_fee_rate=0.001, transfer_fee_base=0.00003)
    opp = Opportunity(buy_instrument=spot(buy, symbol), sell_instrument=spot(sell, symbol), symbol=symbol,
                      buy_exchange=buy, sell_exchange=sell, buy_price=buy_price,
                      sell_price=sell_price, buy_limit=buy_price, sell_limit=sell_price, size=size,
                      costs=costs, detected_at=at)
    start = at if first_seen is None else first_seen
    return OpportunityEvent(type=type_, opportunity=opp, id=id, first_seen=start, last_seen=at,
                            peak_net_profit=net + 2.0,
                            close_reason="spread gone" if type_ is EventType.CLOSED else None)


def harness_config(outbox: str, url: str) -> AlertsConfig:
    hook = WebhookConfig(url=url, format="json", secret_env="HARNESS_SECRET", cooldown_seconds=0.0,
                         rate_limit_per_second=1000.0, rate_limit_burst=1000, timeout_seconds=1.0)
    return AlertsConfig(outbox_path=outbox, webhooks={"sink": hook})


async def main(outbox: str, url: str, count: int) -> None:
    alerter = Alerter(harness_config(outbox, url), backoff=Backoff(base=0.05, cap=0.5))
    await alerter.start()
    for i in range(count):
        alerter.publish(make_event(id=f"harness-{i}", symbol=f"C{i}/USDT"))
    print(f"published {count}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
