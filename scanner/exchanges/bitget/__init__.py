"""Bitget v2 spot: ``books`` (snapshot, then updates with ``seq`` +1 and a CRC32 checksum)."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="bitget", title="Bitget spot", cls_name="Bitget")
