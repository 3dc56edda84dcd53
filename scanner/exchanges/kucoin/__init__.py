"""KuCoin spot: a public token for the endpoint, ``/market/level2`` joined to REST snapshots."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="kucoin", title="KuCoin spot", cls_name="Kucoin")
