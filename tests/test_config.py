import pytest

from scanner.exchanges import NAMES
from scanner.config import DEFAULT_ASSETS, ConfigError, load_config, parse_config
from scanner.exchanges import NAMES


def problems(raw):
    with pytest.raises(ConfigError) as error:
        parse_config(raw, source="arbscan.toml")
    return error.value.problems


def test_defaults_scan_the_real_exchanges():
    config = load_config(None)
    assert config.enabled_exchanges() == list(NAMES)
    assert config.scanner.symbols == []  # the default universe: every stablecoin book of these assets
    assert config.scanner.assets == list(DEFAULT_ASSETS)
    assert {"BTC", "ETH", "XRP", "BNB", "SOL", "TRX", "DOGE", "ADA", "LINK", "BCH", "ZEC", "HYPE"} <= set(DEFAULT_ASSETS)
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
    assert config.enabled_exchanges() == [name for name in NAMES if name != "okx"]
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
        f"arbscan.toml: unknown exchange 'exchanges.binanse' (supported: {', '.join(NAMES)}); did you mean 'binance'?",
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


def test_urls_hosts_numbers_fees_and_symbols_are_checked():
    found = problems({
        "scanner": {"symbols": ["BTC/USDT", "BTC/USDT"], "min_net_bps": float("nan"), "notional_cap": float("inf")},
        "exchanges": {"okx": {"ws_url": "https://ws.okx.com", "rest_url": "https://www.okx.com", "taker_fee_bps": -2},
                      "binance": {"ws_url": "wss://stream.binance.com:9443/ws", "rest_url": "ftp://api"}},
        "metrics": {"host": "example.com"},
    })
    assert found == [
        "arbscan.toml: 'scanner.min_net_bps': expected a finite number, got nan",
        "arbscan.toml: 'scanner.notional_cap': expected a finite number, got inf",
        "arbscan.toml: 'exchanges.binance.rest_url': 'ftp://api' is not a https/http URL like 'https://host:port/path'",
        "arbscan.toml: 'exchanges.okx.taker_fee_bps' must be 0 or more",
        "arbscan.toml: 'exchanges.okx.ws_url': 'https://ws.okx.com' is not a wss/ws URL like 'wss://host:port/path'",
        "arbscan.toml: 'scanner.symbols': 'BTC/USDT' is listed more than once",
        "arbscan.toml: 'metrics.host': 'example.com' is not an IP address"
        " (127.0.0.1 for this machine only, 0.0.0.0 or :: for every interface)",
    ]
    for host in ("0.0.0.0", "::", "localhost", "10.1.2.3"):
        assert parse_config({"metrics": {"host": host}}).metrics.host == host


@pytest.mark.parametrize("content, said", [
    (b"\xef\xbb\xbf[scanner]\n", "starts with a byte-order mark; save it as UTF-8 without BOM"),
    (b"[scanner]\nsymbols = [\"BTC/USDT\"]\n# \xe9t\xe9\n", "not UTF-8 text (line 3); save it as UTF-8"),
])
def test_files_that_are_not_plain_utf8_are_named(tmp_path, content, said):
    path = tmp_path / "arbscan.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.problems == [f"{path}: {said}"]
    with pytest.raises(ConfigError, match="is a directory; pass a TOML file"):
        load_config(tmp_path)


def test_startup_checks_need_metadata_environment_and_files(tmp_path):
    from scanner.checks import listings, startup_problems
    from scanner.metadata import load_metadata

    metadata = load_metadata(tmp_path / "absent.json")
    config = parse_config({
        "scanner": {"symbols": ["BTC/USDT", "NOPE/USDT"]},
        "alerts": {"outbox_path": str(tmp_path / "no" / "outbox.sqlite"),
                   "webhooks": {"desk": {"url": "https://example.invalid", "secret_env": "DESK_KEY",
                                         "symbols": ["ETH/USDT"]}}},
        "metadata": {"cache_path": str(tmp_path / "new" / "dirs" / "metadata.json")},  # refresh creates them
    })
    assert startup_problems(config, metadata, env={}) == [
        f"scanner.symbols: NOPE/USDT is not listed on any enabled exchange ({', '.join(NAMES)});"
        " check the spelling or run `arbscan markets refresh`",
        "alerts.webhooks.desk: environment variable DESK_KEY is not set",
        "alerts.webhooks.desk.symbols: ETH/USDT is not in scanner.symbols, so this filter never matches",
        f"alerts.outbox_path: directory {tmp_path / 'no'} of {tmp_path / 'no' / 'outbox.sqlite'} does not exist;"
        " create it or choose another path",
    ]
    assert listings(config, metadata)["okx"] == [metadata.instrument("okx", "BTC/USDT")]  # what it subscribes to
    assert listings(config, metadata)["okx"][0].id == "BTC-USDT"
    config.scanner.symbols = ["BTC/USDT", "ETH/USDT"]
    config.alerts.outbox_path = str(tmp_path / "outbox.sqlite")
    assert startup_problems(config, metadata, env={"DESK_KEY": "k"}) == []
