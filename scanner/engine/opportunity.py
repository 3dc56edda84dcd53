"""Opportunity value types shared by the engine, metrics, alerts and paper execution."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..instruments import Instrument


class TransferStatus(str, Enum):
    """Whether the base asset can be moved from the buy exchange to the sell exchange (spot legs)."""

    OPEN = "open"  # a network is open for withdrawal at buy and deposit at sell
    UNKNOWN = "unknown"  # only networks whose status is unknown; cost priced on the cheapest
    BLOCKED = "blocked"  # every common network is closed (or none is shared)
    NONE = "none"  # derivative legs: positions, nothing is moved


@dataclass(frozen=True, slots=True)
class Conversion:
    """The sell leg's proceeds converted into the buy leg's quote on a stablecoin book
    (a cross-quote opportunity: BTC/USDC bought, BTC/USDT sold, USDT -> USDC).

    ``rate`` and ``mid`` are target units per source unit: what the walk of ``amount`` gave
    before the fee, and the book's mid. ``cost`` (target units) = amount * mid - received:
    the walk's spread and depth, plus ``fee`` (the conversion book's taker fee).
    """

    exchange: str  # where the conversion book is
    symbol: str  # the conversion book, e.g. "USDC/USDT"
    source: str  # the sell leg's quote (what is converted)
    target: str  # the buy leg's quote
    amount: float  # source units converted: the sell proceeds after the sell fee
    received: float  # target units received, after the fee
    rate: float
    mid: float
    fee_rate: float
    fee: float
    cost: float

    def as_dict(self) -> dict:
        return {"exchange": self.exchange, "symbol": self.symbol, "from": self.source, "to": self.target,
                "amount": self.amount, "received": self.received, "rate": self.rate, "mid": self.mid,
                "fee_rate": self.fee_rate, "fee": self.fee, "cost": self.cost}


@dataclass(frozen=True, slots=True)
class Costs:
    """Cost breakdown of one opportunity, all in the buy leg's quote units.

    gross = size * (sell_vwap - buy_vwap); net = gross - buy_fee - sell_fee - transfer_fee
    - conversion cost. Cross-quote: the sell leg's figures are valued at the conversion book's
    mid, and ``conversion`` says what turning the proceeds into the buy quote cost.
    """

    gross: float
    buy_fee: float
    sell_fee: float
    transfer_fee: float
    transfer_network: str | None
    transfer_status: TransferStatus
    buy_fee_rate: float  # taker fee as a fraction (0.001 = 10 bps)
    sell_fee_rate: float
    transfer_fee_base: float  # withdrawal fee in base units
    conversion: Conversion | None = None  # cross-quote only

    @property
    def net(self) -> float:
        net = self.gross - self.buy_fee - self.sell_fee - self.transfer_fee
        return net if self.conversion is None else net - self.conversion.cost

    def as_dict(self) -> dict:
        return {
            "gross": self.gross,
            "buy_fee": self.buy_fee,
            "sell_fee": self.sell_fee,
            "transfer_fee": self.transfer_fee,
            "transfer_network": self.transfer_network,
            "transfer_status": self.transfer_status.value,
            "buy_fee_rate": self.buy_fee_rate,
            "sell_fee_rate": self.sell_fee_rate,
            "transfer_fee_base": self.transfer_fee_base,
            "conversion": None if self.conversion is None else self.conversion.as_dict(),
            "net": self.net,
        }


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A priced buy-on-one, sell-on-another trade at one instant (depth-aware)."""

    buy_instrument: Instrument  # what is bought on the buy exchange
    sell_instrument: Instrument  # what is sold on the sell exchange (same type and base)
    symbol: str  # unified, e.g. "BTC/USDT"; cross-quote "BTC/USDC>BTC/USDT" (buy > sell symbol)
    buy_exchange: str
    sell_exchange: str
    buy_price: float  # VWAP paid on the buy exchange's asks (buy quote)
    sell_price: float  # VWAP received on the sell exchange's bids (sell quote)
    buy_limit: float  # worst ask level touched (limit price for an IOC buy)
    sell_limit: float  # worst bid level touched (limit price for an IOC sell)
    size: float  # base units
    costs: Costs
    detected_at: float  # wall clock, unix seconds

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.symbol, self.buy_exchange, self.sell_exchange)

    @property
    def net_profit(self) -> float:
        return self.costs.net

    @property
    def notional(self) -> float:
        return self.size * self.buy_price

    @property
    def net_profit_bps(self) -> float:
        notional = self.notional
        return self.costs.net / notional * 1e4 if notional > 0 else 0.0

    @property
    def blocked(self) -> bool:
        return self.costs.transfer_status is TransferStatus.BLOCKED


def pair_symbol(buy: Instrument, sell: Instrument) -> str:
    """The symbol a pair is known by (its key, its metric label): the shared unified symbol, or
    for two quotes "<buy symbol>><sell symbol>" ("BTC/USDC>BTC/USDT")."""
    return buy.symbol if buy.symbol == sell.symbol else f"{buy.symbol}>{sell.symbol}"


class EventType(str, Enum):
    OPENED = "opportunity.opened"
    UPDATED = "opportunity.updated"
    CLOSED = "opportunity.closed"


@dataclass(slots=True)
class OpportunityEvent:
    """A lifecycle event of one (symbol, buy_exchange, sell_exchange) opportunity.

    ``opportunity`` is the latest priced state (for CLOSED: the last state while open).
    """

    type: EventType
    opportunity: Opportunity
    id: str  # stable per lifecycle: "<opened id>" for opened, "<opened id>.closed" for closed
    first_seen: float
    last_seen: float
    peak_net_profit: float
    close_reason: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.last_seen - self.first_seen
