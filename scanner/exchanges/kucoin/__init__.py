"""KuCoin spot: a public token (``bullet-public``) for the endpoint, then ``/market/level2``
joined to REST snapshots by sequenceStart/sequenceEnd."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="kucoin", title="KuCoin spot", cls_name="Kucoin")
