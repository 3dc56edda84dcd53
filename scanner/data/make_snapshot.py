"""Build the bundled metadata snapshot ``scanner/data/metadata.json`` from the tables below.

    .venv/bin/python scanner/data/make_snapshot.py

The values are hand-compiled (from the exchanges' public market lists and fee pages as known in
mid-2025, not fetched) approximations of each venue's public spot filters, default retail taker
fee and withdrawal fees: realistic enough for offline use and the simulated exchanges, not a live
source. The spot tables cover the default universe (`scanner.config.DEFAULT_ASSETS`) in every
stablecoin quote each exchange lists (USDT, USDC, USD, FDUSD) where it really lists it (no BNB on
Coinbase or Kraken, HYPE only on Bybit, KuCoin, Gate and Bitget), and the stablecoin books the
cross-quote pricing converts through (USDC/USDT, USDT/USD, USDC/USD, FDUSD/USDT, DAI/USDT ...). A few statuses are deliberately not open so the engine's blocked
and unknown transfer paths are exercised:
  okx SOL/SOL deposit closed (transfers of SOL into OKX are blocked),
  bybit ETH/BASE withdrawal closed (routes out of Bybit fall back to ARBITRUM),
  bybit XRP/XRP status unknown, okx DOT/DOT deposit unknown.
Kraken and Coinbase publish no per-network withdrawal data, and Gate's and Bitget's need an API
key, so they carry markets only (Gate's taker fee: 0.2%, its regular-account spot tier as ccxt
lists it; Bitget's 0.1%).

The perpetuals' maintenance-margin tiers (``PERP_TIERS``) are hand-compiled approximations too:
BTC and ETH from the worked values of reference/perpetuals.md (Binance's FAQ brackets and its
ETHUSDT sample bracket, OKX's and Bybit's example rates), the others rounded typical tables.
`arbscan markets refresh` replaces them with the exchange's own (OKX, Bybit; Binance with keys).
"""
from __future__ import annotations

from pathlib import Path

from scanner.hedging.margin import Tier
from scanner.hedging.tiers import with_deductions
from scanner.instruments import Instrument
from scanner.metadata import ExchangeMetadata, MarketInfo, Metadata, NetworkInfo, Status

COMPILED_AT = 1748736000.0  # 2025-06-01T00:00:00Z

TAKER = {"binance": 0.001, "okx": 0.001, "bybit": 0.001, "kraken": 0.004, "coinbase": 0.012,
         "gate": 0.002, "bitget": 0.001, "kucoin": 0.001}

# symbol: (exchange id, price tick, amount step, min notional in quote)
MARKETS: dict[str, dict[str, tuple[str, float, float, float | None]]] = {
    "binance": {
        "BTC/USDT": ("BTCUSDT", 0.01, 0.00001, 5), "ETH/USDT": ("ETHUSDT", 0.01, 0.0001, 5),
        "SOL/USDT": ("SOLUSDT", 0.01, 0.001, 5), "XRP/USDT": ("XRPUSDT", 0.0001, 0.1, 5),
        "DOGE/USDT": ("DOGEUSDT", 0.00001, 1, 5), "ADA/USDT": ("ADAUSDT", 0.0001, 0.1, 5),
        "LTC/USDT": ("LTCUSDT", 0.01, 0.001, 5), "LINK/USDT": ("LINKUSDT", 0.01, 0.01, 5),
        "AVAX/USDT": ("AVAXUSDT", 0.01, 0.01, 5), "DOT/USDT": ("DOTUSDT", 0.001, 0.01, 5),
        "USDC/USDT": ("USDCUSDT", 0.0001, 1, 5), "BTC/USDC": ("BTCUSDC", 0.01, 0.00001, 5),
        "ETH/USDC": ("ETHUSDC", 0.01, 0.0001, 5),
        "BNB/USDT": ("BNBUSDT", 0.01, 0.001, 5), "TRX/USDT": ("TRXUSDT", 0.0001, 0.1, 5),
        "BCH/USDT": ("BCHUSDT", 0.1, 0.001, 5), "ZEC/USDT": ("ZECUSDT", 0.01, 0.001, 5),
        "XRP/USDC": ("XRPUSDC", 0.0001, 0.1, 5), "BNB/USDC": ("BNBUSDC", 0.01, 0.001, 5),
        "SOL/USDC": ("SOLUSDC", 0.01, 0.001, 5), "TRX/USDC": ("TRXUSDC", 0.0001, 0.1, 5),
        "DOGE/USDC": ("DOGEUSDC", 0.00001, 1, 5), "ADA/USDC": ("ADAUSDC", 0.0001, 0.1, 5),
        "LINK/USDC": ("LINKUSDC", 0.01, 0.01, 5), "BCH/USDC": ("BCHUSDC", 0.1, 0.001, 5),
        "BTC/FDUSD": ("BTCFDUSD", 0.01, 0.00001, 5), "ETH/FDUSD": ("ETHFDUSD", 0.01, 0.0001, 5),
        "XRP/FDUSD": ("XRPFDUSD", 0.0001, 0.1, 5), "BNB/FDUSD": ("BNBFDUSD", 0.01, 0.001, 5),
        "SOL/FDUSD": ("SOLFDUSD", 0.01, 0.001, 5), "DOGE/FDUSD": ("DOGEFDUSD", 0.00001, 1, 5),
        "FDUSD/USDT": ("FDUSDUSDT", 0.0001, 1, 5), "FDUSD/USDC": ("FDUSDUSDC", 0.0001, 1, 5),
    },
    "okx": {  # OKX has no minimum order value, only a minimum size
        "BTC/USDT": ("BTC-USDT", 0.1, 0.00000001, None), "ETH/USDT": ("ETH-USDT", 0.01, 0.000001, None),
        "SOL/USDT": ("SOL-USDT", 0.01, 0.000001, None), "XRP/USDT": ("XRP-USDT", 0.0001, 0.000001, None),
        "DOGE/USDT": ("DOGE-USDT", 0.00001, 0.000001, None), "ADA/USDT": ("ADA-USDT", 0.0001, 0.000001, None),
        "LTC/USDT": ("LTC-USDT", 0.01, 0.000001, None), "LINK/USDT": ("LINK-USDT", 0.001, 0.000001, None),
        "AVAX/USDT": ("AVAX-USDT", 0.01, 0.000001, None), "DOT/USDT": ("DOT-USDT", 0.001, 0.000001, None),
        "USDC/USDT": ("USDC-USDT", 0.0001, 0.000001, None), "BTC/USDC": ("BTC-USDC", 0.1, 0.00000001, None),
        "ETH/USDC": ("ETH-USDC", 0.01, 0.000001, None),
        "BNB/USDT": ("BNB-USDT", 0.1, 0.000001, None), "TRX/USDT": ("TRX-USDT", 0.00001, 0.000001, None),
        "BCH/USDT": ("BCH-USDT", 0.1, 0.000001, None), "ZEC/USDT": ("ZEC-USDT", 0.01, 0.000001, None),
        "XRP/USDC": ("XRP-USDC", 0.0001, 0.000001, None), "SOL/USDC": ("SOL-USDC", 0.01, 0.000001, None),
        "DOGE/USDC": ("DOGE-USDC", 0.00001, 0.000001, None), "ADA/USDC": ("ADA-USDC", 0.0001, 0.000001, None),
        "LINK/USDC": ("LINK-USDC", 0.001, 0.000001, None), "DAI/USDT": ("DAI-USDT", 0.0001, 0.000001, None),
    },
    "bybit": {
        "BTC/USDT": ("BTCUSDT", 0.01, 0.000001, 5), "ETH/USDT": ("ETHUSDT", 0.01, 0.00001, 5),
        "SOL/USDT": ("SOLUSDT", 0.01, 0.001, 5), "XRP/USDT": ("XRPUSDT", 0.0001, 0.01, 5),
        "DOGE/USDT": ("DOGEUSDT", 0.00001, 0.1, 5), "ADA/USDT": ("ADAUSDT", 0.0001, 0.01, 5),
        "LTC/USDT": ("LTCUSDT", 0.01, 0.00001, 5), "LINK/USDT": ("LINKUSDT", 0.001, 0.01, 5),
        "AVAX/USDT": ("AVAXUSDT", 0.01, 0.001, 5), "DOT/USDT": ("DOTUSDT", 0.001, 0.001, 5),
        "USDC/USDT": ("USDCUSDT", 0.0001, 0.01, 5), "BTC/USDC": ("BTCUSDC", 0.01, 0.000001, 5),
        "ETH/USDC": ("ETHUSDC", 0.01, 0.00001, 5),
        "BNB/USDT": ("BNBUSDT", 0.1, 0.001, 5), "TRX/USDT": ("TRXUSDT", 0.00001, 0.1, 5),
        "BCH/USDT": ("BCHUSDT", 0.1, 0.001, 5), "HYPE/USDT": ("HYPEUSDT", 0.001, 0.01, 5),
        "XRP/USDC": ("XRPUSDC", 0.0001, 0.01, 5), "SOL/USDC": ("SOLUSDC", 0.01, 0.001, 5),
        "DOGE/USDC": ("DOGEUSDC", 0.00001, 0.1, 5), "DAI/USDT": ("DAIUSDT", 0.0001, 0.01, 5),
    },
    "kucoin": {  # KuCoin's minimum order value (minFunds) is 0.1 of the quote
        "BTC/USDT": ("BTC-USDT", 0.1, 0.00000001, 0.1), "ETH/USDT": ("ETH-USDT", 0.01, 0.0000001, 0.1),
        "SOL/USDT": ("SOL-USDT", 0.001, 0.0001, 0.1), "XRP/USDT": ("XRP-USDT", 0.00001, 0.0001, 0.1),
        "DOGE/USDT": ("DOGE-USDT", 0.00001, 0.0001, 0.1), "ADA/USDT": ("ADA-USDT", 0.0001, 0.0001, 0.1),
        "LTC/USDT": ("LTC-USDT", 0.01, 0.000001, 0.1), "LINK/USDT": ("LINK-USDT", 0.0001, 0.0001, 0.1),
        "AVAX/USDT": ("AVAX-USDT", 0.001, 0.0001, 0.1), "DOT/USDT": ("DOT-USDT", 0.0001, 0.0001, 0.1),
        "USDC/USDT": ("USDC-USDT", 0.0001, 0.0001, 0.1), "BTC/USDC": ("BTC-USDC", 0.1, 0.00000001, 0.1),
        "ETH/USDC": ("ETH-USDC", 0.01, 0.0000001, 0.1),
        "BNB/USDT": ("BNB-USDT", 0.01, 0.0001, 0.1), "TRX/USDT": ("TRX-USDT", 0.00001, 0.0001, 0.1),
        "BCH/USDT": ("BCH-USDT", 0.01, 0.0001, 0.1), "ZEC/USDT": ("ZEC-USDT", 0.01, 0.0001, 0.1),
        "HYPE/USDT": ("HYPE-USDT", 0.001, 0.0001, 0.1), "XRP/USDC": ("XRP-USDC", 0.00001, 0.0001, 0.1),
        "SOL/USDC": ("SOL-USDC", 0.001, 0.0001, 0.1),
    },
    "kraken": {
        "BTC/USDT": ("XBTUSDT", 0.1, 0.00000001, 0.5), "ETH/USDT": ("ETHUSDT", 0.01, 0.00000001, 0.5),
        "SOL/USDT": ("SOLUSDT", 0.01, 0.00000001, 0.5), "XRP/USDT": ("XRPUSDT", 0.00001, 0.00000001, 0.5),
        "DOGE/USDT": ("XDGUSDT", 0.0000001, 0.00000001, 0.5), "ADA/USDT": ("ADAUSDT", 0.000001, 0.00000001, 0.5),
        "LTC/USDT": ("LTCUSDT", 0.01, 0.00000001, 0.5), "LINK/USDT": ("LINKUSDT", 0.00001, 0.00000001, 0.5),
        "AVAX/USDT": ("AVAXUSDT", 0.01, 0.00000001, 0.5), "DOT/USDT": ("DOTUSDT", 0.0001, 0.00000001, 0.5),
        "USDC/USDT": ("USDCUSDT", 0.0001, 0.00000001, 0.5), "BTC/USDC": ("XBTUSDC", 0.01, 0.00000001, 0.5),
        "ETH/USDC": ("ETHUSDC", 0.01, 0.00000001, 0.5),
        "TRX/USDT": ("TRXUSDT", 0.000001, 0.00000001, 0.5), "BCH/USDT": ("BCHUSDT", 0.01, 0.00000001, 0.5),
        "SOL/USDC": ("SOLUSDC", 0.01, 0.00000001, 0.5),
        "BTC/USD": ("XBTUSD", 0.1, 0.00000001, 0.5), "ETH/USD": ("ETHUSD", 0.01, 0.00000001, 0.5),
        "XRP/USD": ("XRPUSD", 0.00001, 0.00000001, 0.5), "SOL/USD": ("SOLUSD", 0.01, 0.00000001, 0.5),
        "TRX/USD": ("TRXUSD", 0.000001, 0.00000001, 0.5), "DOGE/USD": ("XDGUSD", 0.0000001, 0.00000001, 0.5),
        "ADA/USD": ("ADAUSD", 0.000001, 0.00000001, 0.5), "LINK/USD": ("LINKUSD", 0.00001, 0.00000001, 0.5),
        "BCH/USD": ("BCHUSD", 0.01, 0.00000001, 0.5), "ZEC/USD": ("ZECUSD", 0.01, 0.00000001, 0.5),
        "USDT/USD": ("USDTUSD", 0.0001, 0.00000001, 0.5), "USDC/USD": ("USDCUSD", 0.0001, 0.00000001, 0.5),
        "DAI/USD": ("DAIUSD", 0.0001, 0.00000001, 0.5), "DAI/USDT": ("DAIUSDT", 0.0001, 0.00000001, 0.5),
    },
    "coinbase": {
        "BTC/USDT": ("BTC-USDT", 0.01, 0.00000001, 1), "ETH/USDT": ("ETH-USDT", 0.01, 0.00000001, 1),
        "SOL/USDT": ("SOL-USDT", 0.01, 0.00000001, 1), "XRP/USDT": ("XRP-USDT", 0.0001, 0.000001, 1),
        "DOGE/USDT": ("DOGE-USDT", 0.00001, 0.1, 1), "ADA/USDT": ("ADA-USDT", 0.0001, 0.00000001, 1),
        "LTC/USDT": ("LTC-USDT", 0.01, 0.00000001, 1), "LINK/USDT": ("LINK-USDT", 0.001, 0.01, 1),
        "AVAX/USDT": ("AVAX-USDT", 0.01, 0.00000001, 1), "DOT/USDT": ("DOT-USDT", 0.001, 0.00000001, 1),
        "BTC/USDC": ("BTC-USDC", 0.01, 0.00000001, 1), "ETH/USDC": ("ETH-USDC", 0.01, 0.00000001, 1),
        "BTC/USD": ("BTC-USD", 0.01, 0.00000001, 1), "ETH/USD": ("ETH-USD", 0.01, 0.00000001, 1),
        "XRP/USD": ("XRP-USD", 0.0001, 0.000001, 1), "SOL/USD": ("SOL-USD", 0.01, 0.00000001, 1),
        "DOGE/USD": ("DOGE-USD", 0.00001, 0.1, 1), "ADA/USD": ("ADA-USD", 0.0001, 0.00000001, 1),
        "LINK/USD": ("LINK-USD", 0.001, 0.01, 1), "BCH/USD": ("BCH-USD", 0.01, 0.00000001, 1),
        "ZEC/USD": ("ZEC-USD", 0.01, 0.00000001, 1),
        "XRP/USDC": ("XRP-USDC", 0.0001, 0.000001, 1), "SOL/USDC": ("SOL-USDC", 0.01, 0.00000001, 1),
        "DOGE/USDC": ("DOGE-USDC", 0.00001, 0.1, 1), "ADA/USDC": ("ADA-USDC", 0.0001, 0.00000001, 1),
        "LINK/USDC": ("LINK-USDC", 0.001, 0.01, 1),
        "USDT/USD": ("USDT-USD", 0.00001, 0.01, 1), "USDT/USDC": ("USDT-USDC", 0.00001, 0.01, 1),
    },
    "gate": {
        "BTC/USDT": ("BTC_USDT", 0.1, 0.000001, 3), "ETH/USDT": ("ETH_USDT", 0.01, 0.0001, 3),
        "SOL/USDT": ("SOL_USDT", 0.01, 0.001, 3), "XRP/USDT": ("XRP_USDT", 0.0001, 0.001, 3),
        "DOGE/USDT": ("DOGE_USDT", 0.00001, 0.01, 3), "ADA/USDT": ("ADA_USDT", 0.0001, 0.01, 3),
        "LTC/USDT": ("LTC_USDT", 0.01, 0.0001, 3), "LINK/USDT": ("LINK_USDT", 0.001, 0.001, 3),
        "AVAX/USDT": ("AVAX_USDT", 0.01, 0.001, 3), "DOT/USDT": ("DOT_USDT", 0.001, 0.001, 3),
        "USDC/USDT": ("USDC_USDT", 0.0001, 0.001, 3), "BTC/USDC": ("BTC_USDC", 0.1, 0.000001, 3),
        "ETH/USDC": ("ETH_USDC", 0.01, 0.0001, 3),
        "BNB/USDT": ("BNB_USDT", 0.01, 0.001, 3), "TRX/USDT": ("TRX_USDT", 0.00001, 0.01, 3),
        "BCH/USDT": ("BCH_USDT", 0.01, 0.0001, 3), "ZEC/USDT": ("ZEC_USDT", 0.01, 0.001, 3),
        "HYPE/USDT": ("HYPE_USDT", 0.001, 0.01, 3), "SOL/USDC": ("SOL_USDC", 0.01, 0.001, 3),
        "DAI/USDT": ("DAI_USDT", 0.0001, 0.001, 3), "FDUSD/USDT": ("FDUSD_USDT", 0.0001, 0.001, 3),
    },
    "bitget": {
        "BTC/USDT": ("BTCUSDT", 0.01, 0.000001, 1), "ETH/USDT": ("ETHUSDT", 0.01, 0.0001, 1),
        "SOL/USDT": ("SOLUSDT", 0.001, 0.001, 1), "XRP/USDT": ("XRPUSDT", 0.0001, 0.01, 1),
        "DOGE/USDT": ("DOGEUSDT", 0.00001, 0.1, 1), "ADA/USDT": ("ADAUSDT", 0.0001, 0.01, 1),
        "LTC/USDT": ("LTCUSDT", 0.01, 0.0001, 1), "LINK/USDT": ("LINKUSDT", 0.001, 0.01, 1),
        "AVAX/USDT": ("AVAXUSDT", 0.001, 0.01, 1), "DOT/USDT": ("DOTUSDT", 0.001, 0.01, 1),
        "USDC/USDT": ("USDCUSDT", 0.0001, 0.01, 1), "BTC/USDC": ("BTCUSDC", 0.01, 0.000001, 1),
        "ETH/USDC": ("ETHUSDC", 0.01, 0.0001, 1),
        "BNB/USDT": ("BNBUSDT", 0.01, 0.001, 1), "TRX/USDT": ("TRXUSDT", 0.00001, 0.1, 1),
        "BCH/USDT": ("BCHUSDT", 0.01, 0.0001, 1), "ZEC/USDT": ("ZECUSDT", 0.01, 0.001, 1),
        "HYPE/USDT": ("HYPEUSDT", 0.001, 0.01, 1), "XRP/USDC": ("XRPUSDC", 0.0001, 0.01, 1),
        "SOL/USDC": ("SOLUSDC", 0.001, 0.001, 1),
    },
}

# USDT-settled linear perpetuals and delivery futures (mid-2026, ccxt unified fields): taker
# fees of the regular tier (Binance USDⓈ-M 0.05%, OKX 0.05%, Bybit 0.055%).
FUTURES_TAKER = {"binance": 0.0005, "okx": 0.0005, "bybit": 0.00055}

# symbol: (exchange id, contract size in base units, price tick, amount step, min notional).
# OKX quotes contracts (ctVal base units each; its step is in contracts, as ccxt gives it),
# Binance and Bybit base units. Perpetual ids: BTCUSDT / BTC-USDT-SWAP; delivery ids:
# BTCUSDT_261225, BTC-USDT-261225, BTCUSDT-25DEC26 (reference/perpetuals.md §1.5, §2.4, §3.4, §6).
FUTURES: dict[str, dict[str, tuple[str, float, float, float, float | None]]] = {
    "binance": {
        "BTC/USDT:USDT": ("BTCUSDT", 1, 0.1, 0.001, 100), "ETH/USDT:USDT": ("ETHUSDT", 1, 0.01, 0.001, 20),
        "SOL/USDT:USDT": ("SOLUSDT", 1, 0.01, 1, 5), "XRP/USDT:USDT": ("XRPUSDT", 1, 0.0001, 0.1, 5),
        "BNB/USDT:USDT": ("BNBUSDT", 1, 0.01, 0.01, 5), "DOGE/USDT:USDT": ("DOGEUSDT", 1, 0.00001, 1, 5),
        "BTC/USDT:USDT-261225": ("BTCUSDT_261225", 1, 0.1, 0.001, 5),
    },
    "okx": {
        "BTC/USDT:USDT": ("BTC-USDT-SWAP", 0.01, 0.1, 0.01, None),
        "ETH/USDT:USDT": ("ETH-USDT-SWAP", 0.1, 0.01, 0.01, None),
        "SOL/USDT:USDT": ("SOL-USDT-SWAP", 1, 0.01, 0.01, None),
        "XRP/USDT:USDT": ("XRP-USDT-SWAP", 100, 0.0001, 0.01, None),
        "BNB/USDT:USDT": ("BNB-USDT-SWAP", 0.01, 0.01, 0.01, None),
        "DOGE/USDT:USDT": ("DOGE-USDT-SWAP", 1000, 0.00001, 0.01, None),
        "BTC/USDT:USDT-261225": ("BTC-USDT-261225", 0.01, 0.1, 0.01, None),
    },
    "bybit": {
        "BTC/USDT:USDT": ("BTCUSDT", 1, 0.1, 0.001, 5), "ETH/USDT:USDT": ("ETHUSDT", 1, 0.01, 0.01, 5),
        "SOL/USDT:USDT": ("SOLUSDT", 1, 0.01, 0.1, 5), "XRP/USDT:USDT": ("XRPUSDT", 1, 0.0001, 1, 5),
        "BNB/USDT:USDT": ("BNBUSDT", 1, 0.01, 0.01, 5), "DOGE/USDT:USDT": ("DOGEUSDT", 1, 0.00001, 1, 5),
        "BTC/USDT:USDT-261225": ("BTCUSDT-25DEC26", 1, 0.5, 0.001, 5),
    },
}

# Perpetual: maintenance tiers as (cap, maintenance margin rate, max leverage) rows, floors
# contiguous from 0, the last cap None (unbounded); deductions derived (Binance's cum rule:
# 50 at 50k and 1,300 at 250k for Binance BTC, as its FAQ). Binance and Bybit caps are notional
# in USDT, OKX caps base units (contracts x ctVal, as `scanner.hedging.margin.Tier` sizes OKX).
PERP_TIERS: dict[str, dict[str, tuple[tuple[float | None, float, float], ...]]] = {
    "binance": {
        "BTC/USDT:USDT": ((50_000, 0.004, 125), (250_000, 0.005, 100), (None, 0.01, 50)),
        "ETH/USDT:USDT": ((10_000, 0.0065, 75), (100_000, 0.01, 50), (None, 0.02, 25)),
        "SOL/USDT:USDT": ((10_000, 0.01, 50), (100_000, 0.02, 25), (None, 0.05, 10)),
        "XRP/USDT:USDT": ((10_000, 0.01, 50), (100_000, 0.02, 25), (None, 0.05, 10)),
        "BNB/USDT:USDT": ((10_000, 0.01, 50), (100_000, 0.02, 25), (None, 0.05, 10)),
        "DOGE/USDT:USDT": ((10_000, 0.01, 50), (100_000, 0.02, 25), (None, 0.05, 10)),
    },
    "okx": {
        "BTC/USDT:USDT": ((20, 0.004, 100), (50, 0.006, 75), (None, 0.01, 50)),
        "ETH/USDT:USDT": ((500, 0.005, 100), (1_000, 0.008, 50), (None, 0.015, 25)),
        "SOL/USDT:USDT": ((5_000, 0.01, 50), (None, 0.02, 25)),
        "XRP/USDT:USDT": ((500_000, 0.01, 50), (None, 0.02, 25)),
        "BNB/USDT:USDT": ((1_000, 0.01, 50), (None, 0.02, 25)),
        "DOGE/USDT:USDT": ((5_000_000, 0.01, 50), (None, 0.02, 25)),
    },
    "bybit": {
        "BTC/USDT:USDT": ((2_000_000, 0.005, 100), (None, 0.01, 50)),
        "ETH/USDT:USDT": ((1_000_000, 0.01, 50), (None, 0.015, 25)),
        "SOL/USDT:USDT": ((200_000, 0.01, 50), (None, 0.02, 25)),
        "XRP/USDT:USDT": ((200_000, 0.01, 50), (None, 0.02, 25)),
        "BNB/USDT:USDT": ((200_000, 0.01, 50), (None, 0.02, 25)),
        "DOGE/USDT:USDT": ((200_000, 0.01, 50), (None, 0.02, 25)),
    },
}

O, C, U = Status.OPEN, Status.CLOSED, Status.UNKNOWN

# asset: [(unified network, withdrawal fee in asset units, withdraw, deposit)]
NETWORKS: dict[str, dict[str, list[tuple[str, float, Status, Status]]]] = {
    "binance": {
        "BTC": [("BTC", 0.0002, O, O), ("BEP20", 0.0000029, O, O)],
        "ETH": [("ERC20", 0.0009, O, O), ("ARBITRUM", 0.0001, O, O), ("OP", 0.0001, O, O),
                ("BASE", 0.00004, O, O), ("BEP20", 0.00002, O, O)],
        "SOL": [("SOL", 0.008, O, O), ("BEP20", 0.0004, O, O)],
        "XRP": [("XRP", 0.2, O, O), ("BEP20", 0.15, O, O)],
        "DOGE": [("DOGE", 4, O, O), ("BEP20", 0.6, O, O)],
        "ADA": [("ADA", 0.8, O, O), ("BEP20", 0.5, O, O)],
        "LTC": [("LTC", 0.001, O, O), ("BEP20", 0.0003, O, O)],
        "LINK": [("ERC20", 0.29, O, O), ("BEP20", 0.007, O, O)],
        "AVAX": [("AVAXC", 0.008, O, O), ("AVAXX", 0.01, O, O), ("BEP20", 0.0006, O, O)],
        "DOT": [("DOT", 0.1, O, O), ("BEP20", 0.006, O, O)],
        "BNB": [("BEP20", 0.0005, O, O)],
        "TRX": [("TRC20", 1.0, O, O), ("BEP20", 0.5, O, O)],
        "BCH": [("BCH", 0.0008, O, O), ("BEP20", 0.0001, O, O)],
        "ZEC": [("ZEC", 0.005, O, O), ("BEP20", 0.0004, O, O)],
        "FDUSD": [("ERC20", 3.2, O, O), ("BEP20", 0.0, O, O)],
        "USDT": [("TRC20", 1.0, O, O), ("ERC20", 3.2, O, O), ("BEP20", 0.0, O, O), ("SOL", 1.0, O, O),
                 ("ARBITRUM", 0.8, O, O), ("OP", 0.8, O, O), ("AVAXC", 0.5, O, O), ("MATIC", 0.8, O, O)],
        "USDC": [("ERC20", 3.2, O, O), ("BEP20", 0.0, O, O), ("SOL", 1.0, O, O), ("ARBITRUM", 0.8, O, O),
                 ("OP", 0.8, O, O), ("BASE", 0.8, O, O), ("MATIC", 0.8, O, O), ("AVAXC", 0.5, O, O)],
    },
    "okx": {
        "BTC": [("BTC", 0.00017, O, O)],
        "ETH": [("ERC20", 0.0006, O, O), ("ARBITRUM", 0.00004, O, O), ("OP", 0.00004, O, O),
                ("BASE", 0.00002, O, O)],
        "SOL": [("SOL", 0.008, O, C)],
        "XRP": [("XRP", 0.2, O, O)],
        "DOGE": [("DOGE", 4, O, O)],
        "ADA": [("ADA", 0.8, O, O)],
        "LTC": [("LTC", 0.001, O, O)],
        "LINK": [("ERC20", 0.25, O, O), ("ARBITRUM", 0.005, O, O)],
        "AVAX": [("AVAXC", 0.008, O, O)],
        "DOT": [("DOT", 0.1, O, U)],
        "BNB": [("BEP20", 0.0004, O, O)],
        "TRX": [("TRC20", 1.0, O, O)],
        "BCH": [("BCH", 0.001, O, O)],
        "ZEC": [("ZEC", 0.005, O, O)],
        "USDT": [("TRC20", 1.5, O, O), ("ERC20", 2.5, O, O), ("SOL", 1.0, O, O), ("ARBITRUM", 0.1, O, O),
                 ("OP", 0.15, O, O), ("AVAXC", 0.8, O, O), ("MATIC", 0.8, O, O)],
        "USDC": [("ERC20", 2.5, O, O), ("SOL", 1.0, O, O), ("ARBITRUM", 0.1, O, O), ("OP", 0.15, O, O),
                 ("BASE", 0.1, O, O), ("MATIC", 0.1, O, O), ("AVAXC", 0.8, O, O)],
    },
    "bybit": {
        "BTC": [("BTC", 0.0003, O, O), ("BEP20", 0.00001, O, O)],
        "ETH": [("ERC20", 0.0012, O, O), ("ARBITRUM", 0.0001, O, O), ("OP", 0.0001, O, O),
                ("BASE", 0.00005, C, O)],
        "SOL": [("SOL", 0.01, O, O)],
        "XRP": [("XRP", 0.25, U, U)],
        "DOGE": [("DOGE", 5, O, O)],
        "ADA": [("ADA", 1, O, O)],
        "LTC": [("LTC", 0.001, O, O)],
        "LINK": [("ERC20", 0.3, O, O)],
        "AVAX": [("AVAXC", 0.01, O, O)],
        "DOT": [("DOT", 0.1, O, O)],
        "BNB": [("BEP20", 0.0005, O, O)],
        "TRX": [("TRC20", 1.0, O, O)],
        "BCH": [("BCH", 0.001, O, O)],
        "HYPE": [("HYPE", 0.01, O, O)],
        "USDT": [("TRC20", 1.0, O, O), ("ERC20", 3.0, O, O), ("BEP20", 0.3, O, O), ("SOL", 1.0, O, O),
                 ("ARBITRUM", 0.6, O, O), ("OP", 0.6, O, O), ("AVAXC", 0.3, O, O), ("MATIC", 0.3, O, O)],
        "USDC": [("ERC20", 3.0, O, O), ("BEP20", 0.3, O, O), ("SOL", 1.0, O, O), ("ARBITRUM", 0.6, O, O),
                 ("BASE", 0.5, O, O), ("MATIC", 0.3, O, O)],
    },
    "kucoin": {
        "BTC": [("BTC", 0.0005, O, O)],
        "ETH": [("ERC20", 0.002, O, O), ("ARBITRUM", 0.0002, O, O), ("OP", 0.0002, O, O)],
        "SOL": [("SOL", 0.008, O, O)],
        "XRP": [("XRP", 0.5, O, O)],
        "DOGE": [("DOGE", 5, O, O)],
        "ADA": [("ADA", 1, O, O)],
        "LTC": [("LTC", 0.001, O, O)],
        "LINK": [("ERC20", 0.4, O, O)],
        "AVAX": [("AVAXC", 0.01, O, O)],
        "DOT": [("DOT", 0.1, O, O)],
        "BNB": [("BEP20", 0.002, O, O)],
        "TRX": [("TRC20", 1.5, O, O)],
        "BCH": [("BCH", 0.001, O, O)],
        "ZEC": [("ZEC", 0.005, O, O)],
        "HYPE": [("HYPE", 0.02, O, O)],
        "USDT": [("TRC20", 1.5, O, O), ("ERC20", 4.0, O, O), ("SOL", 1.0, O, O), ("ARBITRUM", 0.5, O, O),
                 ("OP", 0.5, O, O), ("AVAXC", 0.8, O, O), ("MATIC", 0.8, O, O)],
        "USDC": [("ERC20", 4.0, O, O), ("SOL", 1.0, O, O), ("ARBITRUM", 0.5, O, O), ("BASE", 0.5, O, O),
                 ("MATIC", 0.8, O, O)],
    },
}


def snapshot() -> Metadata:
    data = {}
    for exchange, markets in MARKETS.items():
        infos = {symbol: MarketInfo(Instrument.of(exchange, symbol, id_, tick=tick, lot=step,
                                                  min_notional=None if min_notional is None else float(min_notional)),
                                    TAKER[exchange], True)
                 for symbol, (id_, tick, step, min_notional) in markets.items()}
        infos.update(futures_markets(exchange))
        networks = {asset: tuple(NetworkInfo(net, float(fee), w, d) for net, fee, w, d in nets)
                    for asset, nets in NETWORKS.get(exchange, {}).items()}
        data[exchange] = ExchangeMetadata(infos, networks, COMPILED_AT, "bundled")
    return Metadata(data, fetched_at=COMPILED_AT, source="bundled")


def futures_markets(exchange: str) -> dict[str, MarketInfo]:
    """The ``FUTURES`` rows of ``exchange`` as markets (perpetuals with their ``PERP_TIERS``)."""
    return {symbol: MarketInfo(Instrument.of(exchange, symbol, id_, contract_size=float(size), tick=tick,
                                             lot=step, min_notional=None if floor is None else float(floor)),
                               FUTURES_TAKER[exchange], True, perp_tiers(exchange, symbol))
            for symbol, (id_, size, tick, step, floor) in FUTURES.get(exchange, {}).items()}


def perp_tiers(exchange: str, symbol: str) -> tuple[Tier, ...]:
    """The ``PERP_TIERS`` rows of one perpetual as tiers (none for a delivery future)."""
    rows, floor, table = PERP_TIERS.get(exchange, {}).get(symbol, ()), 0.0, []
    for cap, mmr, leverage in rows:
        upper = float("inf") if cap is None else float(cap)
        table.append((floor, upper, mmr, None, float(leverage)))
        floor = upper
    return with_deductions(exchange, table)


if __name__ == "__main__":
    target = Path(__file__).with_name("metadata.json")
    target.write_bytes(snapshot().to_json())
    print(f"wrote {target} ({target.stat().st_size} bytes)")
