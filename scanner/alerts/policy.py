"""Which events a target gets: filters, per-pair cooldown with flap backoff, rate limit.

Pure and clock-driven (every method takes ``now``), so it is tested with a fake clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import WebhookConfig
from ..engine.opportunity import EventType, OpportunityEvent

MAX_BACKOFF_FACTOR = 16  # a flapping pair's cooldown grows up to 16 x cooldown_seconds

Pair = tuple[str, str, str]  # (symbol, buy_exchange, sell_exchange)


class TokenBucket:
    """``rate`` tokens per second up to ``capacity``; starts full."""

    def __init__(self, rate: float, capacity: float, now: float):
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now

    def try_take(self, now: float) -> bool:
        """Take a token if one is available."""
        self._refill(now)
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def force_take(self, now: float) -> None:
        """Take a token even if that leaves the bucket in debt (for must-send alerts)."""
        self._refill(now)
        self.tokens -= 1.0


@dataclass(slots=True)
class PairState:
    """Alerting state of one pair at one target."""

    level: int = 0  # flap backoff: cooldown = base * 2**level, capped
    last_sent: float | None = None  # when the last open was admitted
    last_closed: float | None = None  # when the last close was seen (sent or not)
    open_verdict: str | None = "filter"  # None: the current lifecycle's open was admitted, else why not


@dataclass
class TargetPolicy:
    """Decides, per event, whether one target gets it (``None``) or why not (a reason)."""

    hook: WebhookConfig
    bucket: TokenBucket
    pairs: dict[Pair, PairState] = field(default_factory=dict)
    keyed: dict[tuple[str, str], float] = field(default_factory=dict)  # (type, key) -> when last admitted

    @classmethod
    def create(cls, hook: WebhookConfig, now: float) -> TargetPolicy:
        return cls(hook, TokenBucket(hook.rate_limit_per_second, float(hook.rate_limit_burst), now))

    def cooldown(self, level: int) -> float:
        """The cooldown after an admitted open at backoff ``level``."""
        return self.hook.cooldown_seconds * min(2 ** level, MAX_BACKOFF_FACTOR)

    def admit(self, event: OpportunityEvent, now: float) -> str | None:
        """Verdict for an event: ``None`` to send, else why not (blocked|filter|cooldown|
        rate_limited|sent). An update is sent, as the lifecycle's open, when the open was not:
        an opportunity that opens below a threshold and grows past it is alerted then."""
        state = self.pairs.setdefault(event.opportunity.key, PairState())
        if event.type is EventType.CLOSED:
            return self._admit_close(event, state, now)
        if event.type is EventType.UPDATED and state.open_verdict is None:
            return "sent"
        verdict = self._admit_open(event, state, now)
        state.open_verdict = verdict
        return verdict

    def _admit_open(self, event: OpportunityEvent, state: PairState, now: float) -> str | None:
        if event.opportunity.blocked:
            return "blocked"  # no network to rebalance: its net leaves out the transfer
        if not self._passes_filters(event):
            return "filter"
        window = self.cooldown(state.level)
        flapping = state.last_closed is not None and now - state.last_closed < window
        if not flapping:
            state.level = 0  # quiet for a whole cooldown window: back to the base cooldown
            window = self.cooldown(0)
        if state.last_sent is not None and now - state.last_sent < window:
            return "cooldown"
        if not self.bucket.try_take(now):
            return "rate_limited"
        if flapping:
            state.level += 1
        state.last_sent = now
        return None

    def _admit_close(self, event: OpportunityEvent, state: PairState, now: float) -> str | None:
        state.last_closed = now
        verdict, state.open_verdict = state.open_verdict, "filter"
        if verdict is not None:
            return verdict  # its open was not sent: neither is the close, for the same reason
        if event.type.value not in self.hook.events:
            return "filter"
        self.bucket.force_take(now)
        return None

    def _passes_filters(self, event: OpportunityEvent) -> bool:
        opp = event.opportunity
        hook = self.hook
        return (EventType.OPENED.value in hook.events
                and opp.net_profit >= hook.min_net_profit
                and opp.net_profit_bps >= hook.min_net_bps
                and (not hook.symbols or opp.symbol in hook.symbols)
                and (not hook.exchanges or (opp.buy_exchange in hook.exchanges
                                            and opp.sell_exchange in hook.exchanges)))

    def admits_operational(self, type_: str, exchange: str | None) -> bool:
        """Whether this target wants an operational alert (event-type and exchange filters only)."""
        return type_ in self.hook.events and not (exchange and self.hook.exchanges
                                                  and exchange not in self.hook.exchanges)

    def cooled(self, type_: str, key: str, now: float) -> bool:
        """Whether a keyed alert (a hedge's, a basis pair's) is out of its cooldown at this target:
        one of a type per key per ``cooldown_seconds``; admitting it starts the next cooldown."""
        last = self.keyed.get((type_, key))
        if last is not None and now - last < self.hook.cooldown_seconds:
            return False
        self.keyed[(type_, key)] = now
        return True
