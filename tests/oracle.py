"""Exact (Decimal) reference pricing of a cross-exchange trade, written independently of the
engine: expand both books into levels and fill while the marginal unit is profitable."""
from __future__ import annotations

from decimal import Decimal as D


def oracle(asks, bids, buy_fee, sell_fee, cap, transfer_fee_base=D(0)):
    """asks/bids: best-first [(price_str, size_str)]; returns a dict of exact figures."""
    asks = [[D(p), D(q)] for p, q in asks]
    bids = [[D(p), D(q)] for p, q in bids]
    buy_fee, sell_fee, cap = D(buy_fee), D(sell_fee), D(cap)
    i = j = 0
    size = cost = proceeds = D(0)
    while i < len(asks) and j < len(bids):
        ask, bid = asks[i], bids[j]
        if bid[0] * (1 - sell_fee) <= ask[0] * (1 + buy_fee):
            break
        take = min(ask[1], bid[1], (cap - cost) / ask[0])
        if take <= 0:
            break
        size += take
        cost += take * ask[0]
        proceeds += take * bid[0]
        ask[1] -= take
        bid[1] -= take
        if ask[1] == 0:
            i += 1
        if bid[1] == 0:
            j += 1
    if size == 0:
        return None
    sell_vwap = proceeds / size
    fees = cost * buy_fee + proceeds * sell_fee
    transfer = D(transfer_fee_base) * sell_vwap
    return {"size": size, "buy_vwap": cost / size, "sell_vwap": sell_vwap, "gross": proceeds - cost,
            "buy_fee": cost * buy_fee, "sell_fee": proceeds * sell_fee, "transfer_fee": transfer,
            "net": proceeds - cost - fees - transfer}
