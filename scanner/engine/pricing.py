"""Depth-aware pricing of one buy-here/sell-there trade (pure functions, floats).

The walk consumes the buy book's asks and the sell book's bids together, best levels first,
while the marginal unit still nets a profit after both taker fees, and stops at the notional
cap. The fixed transfer cost (the withdrawal fee of the base asset) is charged once on top.
"""
from __future__ import annotations

from typing import Iterator

from ..book import OrderBook
from .opportunity import Costs, Opportunity, TransferStatus

EPSILON = 1e-12


def net_spread_bps(best_ask: float, best_bid: float, buy_fee: float, sell_fee: float) -> float:
    """Top-of-book spread after taker fees on both legs, in bps of the buy price."""
    return (best_bid * (1.0 - sell_fee) - best_ask * (1.0 + buy_fee)) / best_ask * 1e4


def gross_spread_bps(best_ask: float, best_bid: float) -> float:
    return (best_bid - best_ask) / best_ask * 1e4


def walk(asks: Iterator[tuple[float, float]], bids: Iterator[tuple[float, float]],
         buy_fee: float, sell_fee: float, notional_cap: float,
         max_base: float = float("inf")) -> tuple[float, float, float, float, float]:
    """Fill size where every marginal unit is profitable after fees.

    Returns (size, cost, proceeds, worst_ask, worst_bid): cost is quote paid before fees,
    proceeds quote received before fees.
    """
    size = cost = proceeds = 0.0
    worst_ask = worst_bid = 0.0
    ask = next(asks, None)
    bid = next(bids, None)
    if ask is None or bid is None:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    ask_price, ask_left = ask
    bid_price, bid_left = bid
    buy_mult, sell_mult = 1.0 + buy_fee, 1.0 - sell_fee
    while bid_price * sell_mult > ask_price * buy_mult:
        take = min(ask_left, bid_left, max_base - size, (notional_cap - cost) / ask_price)
        if take <= EPSILON:
            break
        size += take
        cost += take * ask_price
        proceeds += take * bid_price
        worst_ask, worst_bid = ask_price, bid_price
        ask_left -= take
        bid_left -= take
        if ask_left <= EPSILON:
            ask = next(asks, None)
            if ask is None:
                break
            ask_price, ask_left = ask
        if bid_left <= EPSILON:
            bid = next(bids, None)
            if bid is None:
                break
            bid_price, bid_left = bid
    return size, cost, proceeds, worst_ask, worst_bid


def price_trade(buy: OrderBook, sell: OrderBook, buy_fee: float, sell_fee: float,
                transfer: tuple[TransferStatus, str | None, float], notional_cap: float,
                detected_at: float, max_base: float = float("inf")) -> Opportunity | None:
    """Price buying on ``buy`` and selling on ``sell``; None when no unit is profitable."""
    size, cost, proceeds, worst_ask, worst_bid = walk(
        buy.asks.levels(), sell.bids.levels(), buy_fee, sell_fee, notional_cap, max_base)
    if size <= EPSILON:
        return None
    status, network, fee_base = transfer
    sell_vwap = proceeds / size
    costs = Costs(
        gross=proceeds - cost,
        buy_fee=cost * buy_fee,
        sell_fee=proceeds * sell_fee,
        transfer_fee=fee_base * sell_vwap,
        transfer_network=network,
        transfer_status=status,
        buy_fee_rate=buy_fee,
        sell_fee_rate=sell_fee,
        transfer_fee_base=fee_base,
    )
    return Opportunity(
        buy_instrument=buy.instrument, sell_instrument=sell.instrument,
        symbol=buy.symbol, buy_exchange=buy.exchange, sell_exchange=sell.exchange,
        buy_price=cost / size, sell_price=sell_vwap, buy_limit=worst_ask, sell_limit=worst_bid,
        size=size, costs=costs, detected_at=detected_at,
    )
