"""OKX v5 public: ``books`` chained by seqId/prevSeqId, plus ``bbo-tbt``."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="okx", title="OKX", cls_name="Okx",
                         futures_cls_name="OkxFutures")
