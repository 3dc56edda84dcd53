"""OKX v5 public: ``books`` chained by seqId/prevSeqId, plus ``bbo-tbt``."""
from ..profile import ExchangeProfile

# ccxt's static per-market taker default for OKX is 0.0015; a regular account's spot Lv1 rate is 0.1 %
PROFILE = ExchangeProfile(name="okx", title="OKX", cls_name="Okx", retail_taker_fee=0.001)
