"""Depth-aware pricing of one buy-here/sell-there trade (pure functions, floats).

The walk consumes the buy book's asks and the sell book's bids together, best levels first,
while the marginal unit still nets a profit after both taker fees, and stops at the notional
cap. The fixed transfer cost (the withdrawal fee of the base asset) is charged once on top.

Cross-quote (the legs' quotes differ): the sell book's bids enter the walk converted into the
buy quote at the conversion book's best rate after its fee (the marginal unit's rate); once the
size is known, the sell proceeds after the sell fee are converted by walking each usable
conversion book for that amount, and the book that gives the most is the conversion. When no
book holds enough known depth, the size shrinks to what it can convert (once), or the pair is
not priced.
"""
from __future__ import annotations

from typing import Iterator

from ..book import OrderBook
from .opportunity import Conversion, Costs, Opportunity, TransferStatus, pair_symbol

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


ConversionBook = tuple[OrderBook, float]  # a stablecoin book and its taker fee


def top_rate(book: OrderBook, source: str, fee: float) -> float:
    """Target units per ``source`` unit at the top of a conversion book, after its fee: sell
    the source on the bids (``source`` is the base), or buy the target on the asks."""
    if book.instrument.base == source:
        return book.bids.best() * (1.0 - fee)
    return (1.0 - fee) / book.asks.best()


def mid_rate(book: OrderBook, source: str) -> float:
    """Target units per ``source`` unit at the conversion book's mid."""
    mid = (book.bids.best() + book.asks.best()) / 2.0
    return mid if book.instrument.base == source else 1.0 / mid


def convert(book: OrderBook, source: str, fee: float, amount: float) -> Conversion:
    """Walk ``book`` to turn ``amount`` of ``source`` into the other currency; ``amount`` in
    the result is what its known levels could take (less than asked when they run out)."""
    left, got = amount, 0.0
    if book.instrument.base == source:  # sell the source on the bids
        for price, qty in book.bids.levels():
            take = min(qty, left)
            got += take * price
            left -= take
            if left <= EPSILON:
                break
    else:  # buy the target on the asks, spending the source
        for price, qty in book.asks.levels():
            spend = min(qty * price, left)
            got += spend / price
            left -= spend
            if left <= EPSILON:
                break
    done = amount - max(left, 0.0)
    instrument = book.instrument
    target = instrument.quote if instrument.base == source else instrument.base
    mid = mid_rate(book, source)
    received = got * (1.0 - fee)
    return Conversion(book.exchange, book.symbol, source, target, done, received,
                      got / done if done > 0 else 0.0, mid, fee, got * fee, done * mid - received)


def best_conversion(books: list[ConversionBook], source: str, amount: float) -> Conversion | None:
    """The conversion of ``amount`` that receives the most, among books that can take all of it."""
    best = None
    for book, fee in books:
        conversion = convert(book, source, fee, amount)
        if conversion.amount >= amount * (1.0 - 1e-9) and (best is None or conversion.received > best.received):
            best = conversion
    return best


def price_trade(buy: OrderBook, sell: OrderBook, buy_fee: float, sell_fee: float,
                transfer: tuple[TransferStatus, str | None, float], notional_cap: float,
                detected_at: float, max_base: float = float("inf")) -> Opportunity | None:
    """Price buying on ``buy`` and selling on ``sell``; None when no unit is profitable."""
    size, cost, proceeds, worst_ask, worst_bid = walk(
        buy.asks.levels(), sell.bids.levels(), buy_fee, sell_fee, notional_cap, max_base)
    if size <= EPSILON:
        return None
    return _opportunity(buy, sell, buy_fee, sell_fee, transfer, detected_at,
                        size, cost, proceeds, worst_ask, worst_bid)


def price_cross(buy: OrderBook, sell: OrderBook, buy_fee: float, sell_fee: float,
                transfer: tuple[TransferStatus, str | None, float], notional_cap: float,
                detected_at: float, books: list[ConversionBook], rate: float,
                max_base: float = float("inf")) -> Opportunity | None:
    """Price a cross-quote trade: ``rate`` (buy-quote units per sell-quote unit, the best top
    of ``books`` after fee) sizes the walk; the proceeds are then converted on ``books``
    (`best_conversion`). None when no unit is profitable or no book can convert them."""
    source = sell.instrument.quote
    for _ in range(2):
        bids = ((price * rate, qty) for price, qty in sell.bids.levels())
        size, cost, proceeds, worst_ask, worst_bid = walk(
            buy.asks.levels(), bids, buy_fee, sell_fee, notional_cap, max_base)
        if size <= EPSILON:
            return None
        proceeds, worst_bid = proceeds / rate, worst_bid / rate  # back in the sell quote
        amount = proceeds * (1.0 - sell_fee)
        conversion = best_conversion(books, source, amount)
        if conversion is not None:
            return _opportunity(buy, sell, buy_fee, sell_fee, transfer, detected_at,
                                size, cost, proceeds, worst_ask, worst_bid, conversion)
        deepest = max(convert(book, source, fee, amount).amount for book, fee in books)
        max_base = size * deepest / amount  # what the deepest book can convert, once
    return None


def _opportunity(buy: OrderBook, sell: OrderBook, buy_fee: float, sell_fee: float,
                 transfer: tuple[TransferStatus, str | None, float], detected_at: float,
                 size: float, cost: float, proceeds: float, worst_ask: float, worst_bid: float,
                 conversion: Conversion | None = None) -> Opportunity:
    """The opportunity of a walk's result; cross-quote, the sell leg's figures valued at the
    conversion's mid (see `Costs`)."""
    status, network, fee_base = transfer
    sell_vwap = proceeds / size
    mid = 1.0 if conversion is None else conversion.mid
    costs = Costs(
        gross=proceeds * mid - cost,
        buy_fee=cost * buy_fee,
        sell_fee=proceeds * sell_fee * mid,
        transfer_fee=fee_base * sell_vwap * mid,
        transfer_network=network,
        transfer_status=status,
        buy_fee_rate=buy_fee,
        sell_fee_rate=sell_fee,
        transfer_fee_base=fee_base,
        conversion=conversion,
    )
    return Opportunity(
        buy_instrument=buy.instrument, sell_instrument=sell.instrument,
        symbol=pair_symbol(buy.instrument, sell.instrument), buy_exchange=buy.exchange, sell_exchange=sell.exchange,
        buy_price=cost / size, sell_price=sell_vwap, buy_limit=worst_ask, sell_limit=worst_bid,
        size=size, costs=costs, detected_at=detected_at,
    )
