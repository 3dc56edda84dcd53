"""Rebalancing transfers: which network, how long, and which exchange sends to which."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Mapping

from ..metadata import Metadata, Status
from .fills import QTY, ZERO, dec, floor_to

# Typical time from withdrawal request to credited deposit, by network (seconds).
DEFAULT_TRANSFER_SECONDS = {
    "BTC": 1800.0, "ERC20": 300.0, "TRC20": 120.0, "SOL": 60.0, "BEP20": 60.0,
    "ARBITRUM": 120.0, "OP": 120.0, "BASE": 120.0, "MATIC": 300.0, "AVAXC": 60.0,
}
FALLBACK_TRANSFER_SECONDS = 1800.0  # a network without a known time is assumed slow


@dataclass(frozen=True, slots=True)
class Route:
    network: str
    fee: Decimal  # asset units, paid by the sender


@dataclass(frozen=True, slots=True)
class Move:
    asset: str
    src: str
    dst: str
    amount: Decimal  # debited at src; dst is credited amount - route.fee
    route: Route


def transfer_seconds(network: str, overrides: Mapping[str, float]) -> float:
    return overrides.get(network, DEFAULT_TRANSFER_SECONDS.get(network, FALLBACK_TRANSFER_SECONDS))


def choose_route(metadata: Metadata, asset: str, src: str, dst: str, allow_unknown: bool) -> Route | None:
    """The cheapest network open for withdrawal at ``src`` and deposit at ``dst``.

    A closed side rules a network out, and so does an unknown fee. Without an open network, one
    whose status is unknown on a side (or at a destination that publishes no network data) is
    used only with ``allow_unknown``. None when nothing qualifies.
    """
    into = metadata.networks(dst, asset)
    deposits = {n.network: n.deposit for n in into}
    candidates = []
    for net in metadata.networks(src, asset):
        deposit = deposits.get(net.network, Status.CLOSED if into else Status.UNKNOWN)
        if net.fee is None or Status.CLOSED in (net.withdraw, deposit):
            continue
        is_open = net.withdraw is Status.OPEN and deposit is Status.OPEN
        if is_open or allow_unknown:
            candidates.append((not is_open, net.fee, net.network))
    if not candidates:
        return None
    _, fee, network = min(candidates)
    return Route(network, dec(fee))


def plan(asset: str, start: Mapping[str, Decimal], held: Mapping[str, Decimal],
         available: Mapping[str, Decimal], in_transit: Decimal, threshold: Decimal,
         receiving: set[str], route: Callable[[str, str], Route | None]) -> list[Move]:
    """Transfers that bring exchanges short of ``asset`` back to their target.

    An exchange's target is its share of everything held (balances plus ``in_transit``) in the
    proportion of the starting balances. One below ``threshold`` of its target, and not already
    ``receiving`` a transfer, gets enough to reach the target from the exchange with the largest
    surplus that has a route; a transfer that would not cover its own fee is not sent.
    """
    total_start = sum(start.values(), ZERO)
    if total_start <= 0:
        return []
    total = sum(held.values(), ZERO) + in_transit
    target = {ex: total * start.get(ex, ZERO) / total_start for ex in held}
    room = {ex: available[ex] - target[ex] for ex in held}  # surplus (+) or shortfall (-)
    moves = []
    for dst in sorted(held, key=lambda ex: (room[ex], ex)):
        if dst in receiving or target[dst] <= 0 or available[dst] >= threshold * target[dst]:
            continue
        for src in sorted(held, key=lambda ex: (-room[ex], ex)):
            if src == dst or room[src] <= 0:
                continue
            path = route(src, dst)
            amount = floor_to(min(-room[dst], room[src]), QTY)
            if path is None or amount <= path.fee:
                continue
            moves.append(Move(asset, src, dst, amount, path))
            room[src] -= amount
            break
    return moves
