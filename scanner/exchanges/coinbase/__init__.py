"""Coinbase Advanced Trade: ``level2`` (snapshot then absolute updates) checked by the
connection's ``sequence_num``, kept open by ``heartbeats``."""
from ..profile import ExchangeProfile

PROFILE = ExchangeProfile(name="coinbase", title="Coinbase Advanced Trade", cls_name="Coinbase")
