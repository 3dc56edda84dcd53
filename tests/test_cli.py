"""What a user sees from the command line: a corpus of broken configs and command lines (each
exits 2 with one line on stderr and no traceback), and one test per promise of the CLI."""
from __future__ import annotations

import gzip
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import scanner.metadata
from scanner.exchanges import NAMES
from scanner.cli import main
from scanner.exchanges import NAMES
from scanner.record import Recorder

ROOT = Path(__file__).resolve().parents[1]
ARBSCAN = Path(sys.executable).with_name("arbscan")
SECRET = {"ARBSCAN_DESK_SECRET": "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHM="}


@pytest.fixture(autouse=True)
def no_cache(tmp_path, monkeypatch):
    """Every command reads the bundled metadata, never the machine's cache."""
    monkeypatch.setattr(scanner.metadata, "DEFAULT_CACHE_PATH", tmp_path / "cache" / "metadata.json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the corpus --------------------------------------------------------------------------------
# (name, files to create in the folder {name: text or bytes; a name ending in / is a folder},
#  argv with {d} for the folder, what the one line says)

HOOK = '[alerts.webhooks.desk]\nurl = "https://example.invalid/hook"\n'
CONFIGS = [
    ("unknown key", '[scanner]\nsymbol = ["BTC/USDT"]\n', "did you mean 'symbols'?"),
    ("not toml", "[scanner\n", "not valid TOML"),
    ("bom", "\ufeff[scanner]\nnotional_cap = 5\n".encode(), "byte-order mark"),
    ("latin-1", "# caf\xe9\n[scanner]\n".encode("latin-1"), "not UTF-8 text (line 1)"),
    ("wrong type", '[scanner]\nnotional_cap = "lots"\n', "expected a number, got a string"),
    ("nan", "[scanner]\nmin_net_bps = nan\n", "'scanner.min_net_bps': expected a finite number, got nan"),
    ("inf", "[scanner]\nnotional_cap = inf\n", "'scanner.notional_cap': expected a finite number, got inf"),
    ("negative fee", "[exchanges.okx]\ntaker_fee_bps = -1\n", "'exchanges.okx.taker_fee_bps' must be 0 or more"),
    ("duplicate symbol", '[scanner]\nsymbols = ["BTC/USDT", "ETH/USDT", "BTC/USDT"]\n',
     "'BTC/USDT' is listed more than once"),
    ("bad symbol", '[scanner]\nsymbols = ["btc-usdt"]\n', "is not a unified symbol"),
    ("no symbols", "[scanner]\nsymbols = []\nassets = []\n", "'scanner.assets' is empty and 'scanner.symbols' is not set"),
    ("unlisted symbol", '[scanner]\nsymbols = ["BTC/USDT", "NOPE/USDT"]\n',
     "NOPE/USDT is not listed on any enabled exchange"),
    ("one exchange", "".join(f"[exchanges.{n}]\nenabled = false\n" for n in NAMES if n != "binance"),
     "exchanges: 1 enabled (binance)"),
    ("no exchange", "".join(f"[exchanges.{n}]\nenabled = false\n" for n in NAMES),
     "exchanges: 0 enabled (none)"),
    ("unknown exchange", "[exchanges.binanse]\n", "did you mean 'binance'?"),
    ("ws url scheme", '[exchanges.okx]\nws_url = "https://ws.okx.com/ws/v5/public"\n',
     "'exchanges.okx.ws_url': 'https://ws.okx.com/ws/v5/public' is not a wss/ws URL"),
    ("rest url scheme", '[exchanges.binance]\nrest_url = "wss://api.binance.com"\n',
     "'exchanges.binance.rest_url'"),
    ("url without host", '[exchanges.bybit]\nws_url = "wss://"\n', "'exchanges.bybit.ws_url'"),
    ("metrics host", '[metrics]\nhost = "my laptop"\n', "'metrics.host': 'my laptop' is not an IP address"),
    ("metrics port", "[metrics]\nport = 70000\n", "'metrics.port' must be between 1 and 65535"),
    ("book depth (gone)", "[scanner]\nbook_depth = 50\n", "unknown key 'scanner.book_depth'"),
    ("webhook scheme", '[alerts.webhooks.desk]\nurl = "ftp://example.invalid/hook"\n',
     "alerts.webhooks.desk: url is not an http(s) URL"),
    ("webhook format", HOOK + 'format = "slak"\n', "'slak' is not one of json, slack"),
    ("webhook event", HOOK + 'events = ["opportunity.opend"]\n', "did you mean 'opportunity.opened'?"),
    ("webhook symbol not scanned", '[scanner]\nsymbols = ["BTC/USDT"]\n' + HOOK + 'symbols = ["ETH/USDT"]\n',
     "alerts.webhooks.desk.symbols: ETH/USDT is not in scanner.symbols"),
    ("secret not set", HOOK + 'secret_env = "ARBSCAN_TEST_UNSET_SECRET"\n',
     "environment variable ARBSCAN_TEST_UNSET_SECRET is not set"),
    ("outbox folder missing", '[alerts]\noutbox_path = "{d}/nowhere/outbox.sqlite"\n' + HOOK,
     "alerts.outbox_path: directory {d}/nowhere of {d}/nowhere/outbox.sqlite does not exist"),
    ("outbox is a folder", '[alerts]\noutbox_path = "{d}"\n' + HOOK, "alerts.outbox_path: {d} is a directory"),
    ("ledger folder missing", '[paper]\nenabled = true\nledger_path = "{d}/nowhere/paper.sqlite"\n',
     "paper.ledger_path: directory {d}/nowhere of {d}/nowhere/paper.sqlite does not exist"),
    ("cache under a file", '[metadata]\ncache_path = "{d}/cfg.toml/sub/metadata.json"\n',
     "metadata.cache_path: directory {d}/cfg.toml of"),
    ("paper leg risk", '[paper]\nleg_risk = "pray"\n', "'paper.leg_risk': 'pray' is not one of close, hold"),
    ("paper balance", "[paper.balances.okx]\nUSDT = -5\n", "'paper.balances.okx.USDT' must be 0 or more"),
]

COMMANDS = [
    ("config is a folder", {"sub/": ""}, ["check-config", "{d}/sub"], "{d}/sub: is a directory"),
    ("config missing", {}, ["run", "--config", "{d}/missing.toml"], "{d}/missing.toml: file not found"),
    ("no command", {}, [], "the following arguments are required: COMMAND"),
    ("unknown command", {}, ["scan"], "invalid choice: 'scan'"),
    ("check-config without file", {}, ["check-config"], "the following arguments are required: file"),
    ("duration zero", {}, ["run", "--duration", "0"], "argument --duration: must be a positive number, got '0'"),
    ("duration negative", {}, ["demo", "--duration", "-5"], "must be a positive number, got '-5'"),
    ("duration nan", {}, ["demo", "--duration", "nan"], "must be a positive number, got 'nan'"),
    ("duration text", {}, ["record", "{d}/r.jsonl", "--duration", "ten"], "'ten' is not a number"),
    ("record without duration", {}, ["record", "{d}/r.jsonl"], "the following arguments are required: --duration"),
    ("metrics port zero", {}, ["demo", "--metrics-port", "0"], "'0' is not a port number"),
    ("run metrics port text", {}, ["run", "--metrics-port", "http"], "'http' is not a port number"),
    ("demo bad symbol", {}, ["demo", "--symbols", "btc-usdt"], "'BTC-USDT' is not a unified symbol"),
    ("demo duplicate symbol", {}, ["demo", "--symbols", "BTC/USDT,btc/usdt"], "'BTC/USDT' is listed more than once"),
    ("demo unlisted symbol", {}, ["demo", "--symbols", "BTC/USDT,NOPE/USDT"], "NOPE/USDT is not listed"),
    ("demo webhook filter", {"c.toml": '[scanner]\nsymbols = ["BTC/USDT", "ETH/USDT"]\n' + HOOK
                             + 'symbols = ["ETH/USDT"]\n'},
     ["demo", "--config", "{d}/c.toml", "--symbols", "BTC/USDT"], "ETH/USDT is not in scanner.symbols"),
    ("record folder missing", {}, ["record", "{d}/nowhere/r.jsonl.gz", "--duration", "1", "--demo"],
     "argument output: directory {d}/nowhere of {d}/nowhere/r.jsonl.gz does not exist"),
    ("record into a folder", {"sub/": ""}, ["record", "{d}/sub", "--duration", "1"], "{d}/sub is a directory"),
    ("record one exchange", {"c.toml": "".join(f"[exchanges.{n}]\nenabled = false\n" for n in NAMES if n != "binance")},
     ["record", "{d}/r.jsonl", "--duration", "1", "--demo", "--config", "{d}/c.toml"], "1 enabled (binance)"),
    ("refresh unsupported", {}, ["markets", "refresh", "--exchanges", "binance,mtgox"],
     f"argument --exchanges: 'mtgox' is not supported (supported: {', '.join(NAMES)})"),
    ("refresh no exchange", {}, ["markets", "refresh", "--exchanges", ","], "no exchange is not supported"),
    ("show unknown exchange", {}, ["markets", "show", "--exchange", "nope"], "no metadata for exchange 'nope'"),
    ("show unknown asset", {}, ["markets", "show", "--asset", "nope"], "no market or network for asset 'NOPE'"),
    ("show asset elsewhere", {}, ["markets", "show", "--exchange", "OKX", "--asset", "zzz"], "asset 'ZZZ'"),
    ("replay missing", {}, ["replay", "{d}/missing.jsonl"], "{d}/missing.jsonl: recording not found"),
    ("replay a folder", {"sub/": ""}, ["replay", "{d}/sub"], "{d}/sub: not an arbscan recording"),
    ("replay not a recording", {"x.jsonl": "hello\n"}, ["replay", "{d}/x.jsonl"], "{d}/x.jsonl: not an arbscan"),
    ("replay json list", {"x.jsonl": "[1, 2]\n"}, ["replay", "{d}/x.jsonl"], "not an arbscan recording (no meta"),
    ("replay meta without clock", {"x.jsonl": '{"k": "meta"}\n'}, ["replay", "{d}/x.jsonl"], "(no meta line)"),
    ("replay binary", {"x.jsonl.gz": b"\xff\xfe\x00junk"}, ["replay", "{d}/x.jsonl.gz"], "not an arbscan recording"),
    ("replay ledger folder missing", {}, ["replay", "{d}/r.jsonl", "--paper-ledger", "{d}/no/p.sqlite"],
     "argument --paper-ledger: directory {d}/no of {d}/no/p.sqlite does not exist"),
    ("ledger missing", {}, ["paper", "report", "--ledger", "{d}/missing.sqlite"], "{d}/missing.sqlite"),
    ("ledger not sqlite", {"l.sqlite": "not a database, just text\n" * 50},
     ["paper", "report", "--ledger", "{d}/l.sqlite"], "paper ledger {d}/l.sqlite cannot be read"),
    ("ledger is a folder", {"sub/": ""}, ["paper", "report", "--ledger", "{d}/sub"], "{d}/sub is a directory"),
    ("outbox not sqlite", {"o.sqlite": "not a database, just text\n" * 50,
                           "c.toml": '[alerts]\noutbox_path = "{d}/o.sqlite"\n[alerts.webhooks.a]\n'
                                     'url = "http://127.0.0.1:9/"\n'},
     ["demo", "--config", "{d}/c.toml", "--duration", "5"], "alert outbox {d}/o.sqlite: it is not an arbscan outbox"),
    ("csv folder missing", {}, ["paper", "report", "--csv", "{d}/no/t.csv"], "argument --csv: directory {d}/no"),
    ("bench json folder missing", {}, ["bench", "--json", "{d}/no/b.json"], "argument --json: directory {d}/no"),
    ("bench frames", {}, ["bench", "--frames", "0"], "argument --frames: must be at least 1, got 0"),
    ("bench rate", {}, ["bench", "--rate", "-1"], "argument --rate: must be a positive number"),
    ("bench exchange", {}, ["bench", "--exchanges", "mtgox"], "'mtgox' is not supported"),
]


def corpus() -> list:
    cases = [pytest.param({"cfg.toml": text}, ["check-config", "{d}/cfg.toml"], said, id=f"config: {name}")
             for name, text, said in CONFIGS]
    return cases + [pytest.param(files, argv, said, id=name) for name, files, argv, said in COMMANDS]


def materialise(folder: Path, files: dict, argv: list[str], said: str) -> tuple[list[str], str]:
    for name, content in files.items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content.replace("{d}", str(folder)))
    return [a.replace("{d}", str(folder)) for a in argv], said.replace("{d}", str(folder))


def test_the_corpus_is_large():
    assert len(corpus()) >= 40


@pytest.mark.parametrize("files, argv, said", corpus())
def test_bad_input_exits_2_with_one_line(files, argv, said, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ARBSCAN_TEST_UNSET_SECRET", raising=False)
    argv, said = materialise(tmp_path, files, argv, said)
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and said in err, err
    assert "Traceback" not in err


SUBPROCESS_CASES = ["config: bom", "config: latin-1", "config: nan", "config: unlisted symbol", "config is a folder",
                    "duration zero", "record folder missing", "replay binary", "ledger not sqlite",
                    "refresh unsupported"]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_bad_input_through_the_installed_command(case, tmp_path):
    (param,) = [p for p in corpus() if p.id == case]
    argv, said = materialise(tmp_path, *param.values)
    done = subprocess.run([str(ARBSCAN), *argv], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "ARBSCAN_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and said in done.stderr, done.stderr


def test_check_config_prints_one_line_per_problem(tmp_path, capsys):
    path = tmp_path / "two.toml"
    path.write_text('[scanner]\nsymbols = ["BTC/USDT", "BTC/USDT"]\nmin_net_bps = nan\n'
                    '[exchanges.okx]\nws_url = "http://x"\n')
    assert main(["check-config", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"arbscan: {path}: ") for line in lines)


def test_startup_problems_are_reported_together(tmp_path, capsys):
    path = tmp_path / "two.toml"
    path.write_text('[scanner]\nsymbols = ["BTC/USDT", "NOPE/USDT"]\n'
                    f'[paper]\nenabled = true\nledger_path = "{tmp_path}/no/p.sqlite"\n')
    assert main(["check-config", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and "NOPE/USDT" in lines[0] and "paper.ledger_path" in lines[1]


# --- the README's example configs -------------------------------------------------------------

def readme_tomls() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_example_configs_pass_check_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(*next(iter(SECRET.items())))
    monkeypatch.chdir(tmp_path)
    examples = readme_tomls()
    assert len(examples) >= 2
    for number, text in enumerate(examples):
        path = tmp_path / f"example{number}.toml"
        path.write_text(text)
        assert main(["check-config", str(path)]) == 0, capsys.readouterr().err
        assert "[scanner]" in capsys.readouterr().out


def test_readme_example_config_starts(tmp_path):
    """The Configuration section's example, its webhook sent to a local port instead of example.com."""
    text = readme_tomls()[0]
    assert "[alerts.webhooks.desk]" in text
    config = tmp_path / "arbscan.toml"
    config.write_text(re.sub(r'url = "https://example.com/arbscan"', f'url = "http://127.0.0.1:{free_port()}/"',
                             text))
    done = subprocess.run([str(ARBSCAN), "-q", "demo", "--config", str(config), "--duration", "3", "--no-view",
                           "--metrics-port", str(free_port())], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", **SECRET,
                                             "ARBSCAN_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "arbscan-outbox.sqlite").exists()  # the alerter ran


# --- one test per promise ----------------------------------------------------------------------

@pytest.mark.parametrize("command", [["run"], ["demo"]])
def test_a_metrics_port_in_use_names_the_setting(command, tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # `run` fails at the metrics port, before any feed connects
        status = main([*command, "--metrics-port", str(port), "--duration", "5", "--no-view"])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"arbscan: port {port} on 127.0.0.1 is in use; set [metrics] port or pass --metrics-port\n"


def test_argument_errors_are_one_line_with_the_way_out(capsys):
    assert main(["demo", "--duration", "-1"]) == 2
    assert capsys.readouterr().err == ("arbscan demo: error: argument --duration: must be a positive number,"
                                       " got '-1'; see 'arbscan demo --help'\n")
    assert main(["--help"]) == 0 and "commands" in capsys.readouterr().out


def test_markets_show_is_case_insensitive(capsys):
    assert main(["markets", "show", "--exchange", "OKX", "--asset", "btc"]) == 0
    out = capsys.readouterr().out
    assert "\nokx (bundled" in out and "BTC/USDT" in out and "ETH/USDT" not in out and "\nbinance (" not in out


def test_a_compressed_recording_cut_short_replays_its_intact_part(tmp_path):
    path = tmp_path / "rec.jsonl.gz"
    recorder = Recorder(path, {"exchanges": ["binance", "okx"], "symbols": ["BTC/USDT"]})
    for i in range(20_000):
        recorder.connect("binance" if i % 2 else "okx", 1000.0 + i / 1000)
    recorder.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # what a kill -9 during `arbscan record` leaves
    with gzip.open(path) as file, pytest.raises(EOFError):
        file.read()

    done = subprocess.run([str(ARBSCAN), "-q", "replay", str(path)], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "ARBSCAN_CACHE_DIR": str(tmp_path / "cache")})

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("frames 0, opportunities opened 0")
    (warning,) = done.stderr.splitlines()
    assert re.search(rf"WARNING scanner.record: {path}: cut short after line \d+ \(.*\); the records before it"
                     " are used$", warning), warning


def test_make_demo_installs_without_the_test_extras_and_shows_progress(tmp_path):
    def dry_run(target: str) -> str:
        return subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), target, f"VENV={tmp_path}/venv"], capture_output=True,
                              text=True, check=True).stdout

    demo, test = dry_run("demo"), dry_run("test")
    installs = [line for line in demo.splitlines() if "pip install" in line]
    assert len(installs) == 2 and all(" -q" not in line for line in installs)
    assert "[test]" not in demo and "optional-dependencies" not in demo
    assert sum(line.startswith("echo \"==> ") for line in demo.splitlines()) == 3
    assert "optional-dependencies']['test']" in test and test.rstrip().endswith("pytest -q")
