import pytest

from scanner.config import DEFAULT_SYMBOLS, ConfigError, load_config, parse_config


def problems(raw):
    with pytest.raises(ConfigError) as error:
        parse_config(raw, source="arbscan.toml")
    return error.value.problems


def test_defaults_scan_the_real_exchanges():
    config = load_config(None)
    assert config.enabled_exchanges() == ["binance", "okx", "bybit"]
    assert config.scanner.symbols == list(DEFAULT_SYMBOLS)
    assert all(ex.ws_url == "" for ex in config.exchanges.values())  # adapters' production URLs
    assert (config.metrics.host, config.metrics.port) == ("127.0.0.1", 9108)


def test_full_file_round_trips(tmp_path):
    path = tmp_path / "arbscan.toml"
    path.write_text("""
[scanner]
symbols = ["BTC/USDT"]
notional_cap = 2500
min_net_bps = 5

[exchanges.okx]
enabled = false

[exchanges.binance]
ws_url = "ws://127.0.0.1:9000"
taker_fee_bps = 7.5

[alerts.webhooks.desk]
url = "https://example.invalid/hook"
secret_env = "DESK_SECRET"
min_net_profit = 10

[paper]
enabled = true
latency_ms = { binance = 40, bybit = 80 }
[paper.balances.binance]
USDT = 10000
""")
    config = load_config(path)
    assert config.scanner.notional_cap == 2500.0 and config.scanner.min_net_bps == 5.0
    assert config.enabled_exchanges() == ["binance", "bybit"]
    assert config.exchanges["binance"].taker_fee_bps == 7.5
    assert config.alerts.webhooks["desk"].secret_env == "DESK_SECRET"
    assert config.paper.latency_ms == {"binance": 40.0, "bybit": 80.0}
    assert config.paper.balances["binance"]["USDT"] == 10000.0


def test_every_problem_is_reported_once_with_a_hint():
    found = problems({
        "scanner": {"symbol": ["BTC/USDT"], "notional_cap": "lots"},
        "exchanges": {"binanse": {}},
        "metrics": {"port": 70000},
        "alerts": {"webhooks": {"x": {"format": "slak", "url": "https://h"}}},
    })
    assert found == [
        "arbscan.toml: unknown key 'scanner.symbol'; did you mean 'symbols'?",
        "arbscan.toml: 'scanner.notional_cap': expected a number, got a string 'lots'",
        "arbscan.toml: unknown exchange 'exchanges.binanse' (supported: binance, okx, bybit); did you mean 'binance'?",
        "arbscan.toml: 'metrics.port' must be between 1 and 65535, got 70000",
        "arbscan.toml: 'alerts.webhooks.x.format': 'slak' is not one of json, slack, discord, telegram",
    ]


def test_missing_values_and_bad_symbols():
    found = problems({"scanner": {"symbols": ["btc-usdt"]},
                      "alerts": {"webhooks": {"t": {"format": "telegram"}, "j": {"format": "json"}}}})
    assert any("'btc-usdt' is not a unified symbol" in p for p in found)
    assert any("telegram needs 'chat_id' and 'secret_env'" in p for p in found)
    assert any("'alerts.webhooks.j.url' is required" in p for p in found)
    assert problems({"scanner": {"book_depth": 50}})[0].startswith(  # removed: books hold their channel's depth
        "arbscan.toml: unknown key 'scanner.book_depth'")
    assert problems({"exchanges": {"okx": {"staleness_seconds": 0}}}) == [
        "arbscan.toml: 'exchanges.okx.staleness_seconds' must be greater than 0"]


def test_unreadable_files_give_one_line(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[scanner\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
