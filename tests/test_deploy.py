"""The monitoring stack shipped in deploy/ and grafana/.

Static checks (promtool, amtool, dashboard lint, the image's build context, compose wiring),
then the real thing:
`arbscan demo --paper` scraped every second by a real Prometheus loading the shipped rules,
alerting through a real Alertmanager loading the shipped routing tree to a local webhook sink.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from prom_stack import (BINARIES, Prometheus, free_port, http_get, missing_binaries,
                        start_alertmanager, start_prometheus, wait_until)
from scanner.exchanges import NAMES
from scanner.alerts.formats import build_renderer
from scanner.config import ConfigError, load_config, parse_config
from scanner.exchanges import NAMES
from scanner.instruments import parse_symbol
from webhook_sink import BackgroundSink, WebhookSink

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GRAFANA = ROOT / "grafana"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = DEPLOY / "alertmanager" / "alertmanager.yml"
RULE_FILES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DATASOURCE_UID = "arbscan-prometheus"
PANEL_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SEVERITIES = {"critical", "warning", "info"}

needs_binaries = pytest.mark.skipif(
    bool(missing_binaries()),
    reason=f"not installed: {', '.join(missing_binaries())} "
           "(Debian packages prometheus and prometheus-alertmanager; .ci/run installs them)")


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def run_tool(*argv: str | Path, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], input=input, capture_output=True, text=True, timeout=60)


def alert_rules() -> list[dict]:
    return [rule for path in RULE_FILES for group in load_yaml(path)["groups"]
            for rule in group["rules"] if "alert" in rule]


def query_panels(dashboard: dict):
    """Every panel but rows, including panels inside collapsed rows."""
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            if inner["type"] != "row":
                yield inner


# --- Prometheus and Alertmanager configuration ---------------------------------------------

@needs_binaries
def test_promtool_checks_config_and_rules():
    result = run_tool(BINARIES["promtool"], "check", "config", PROMETHEUS_YML)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_tool(BINARIES["promtool"], "check", "rules", "--lint=all", "--lint-fatal", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_binaries
def test_promtool_rule_unit_tests_pass():
    result = run_tool(BINARIES["promtool"], "test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_have_for_severity_and_annotations():
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= {
        "ArbscanFeedDown", "ArbscanBooksStale", "ArbscanScannerStuck", "ArbscanResyncStorm",
        "ArbscanWebhookFailures", "ArbscanOutboxBacklog", "ArbscanLargeOpportunity"}
    for rule in rules:
        assert rule.get("for"), rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert {"summary", "description"} <= rule["annotations"].keys(), rule["alert"]


def test_every_alert_is_unit_tested_firing_and_not_firing():
    cases: dict[str, set[bool]] = {}
    for path in RULE_TESTS:
        for test in load_yaml(path)["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], set()).add(bool(case["exp_alerts"]))
    for rule in alert_rules():
        assert cases.get(rule["alert"]) == {True, False}, f"{rule['alert']}: needs a firing and a not-firing case"


@needs_binaries
def test_amtool_checks_alertmanager_config():
    result = run_tool(BINARIES["amtool"], "check-config", ALERTMANAGER_YML)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Grafana ---------------------------------------------------------------------------------

def test_dashboards_are_provisionable():
    assert {p.stem for p in DASHBOARDS} == {"opportunities", "feeds", "alerts", "paper", "hedging"}
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids) and all(re.fullmatch(r"[a-z0-9-]{1,40}", u) for u in uids)
    for path in DASHBOARDS:
        text = path.read_text()
        assert "__inputs" not in text and "${DS_" not in text, f"{path.name}: import-only placeholders"
        dashboard = json.loads(text)
        assert dashboard["id"] is None and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
        [datasource] = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
        assert (datasource["name"], datasource["query"]) == ("datasource", "prometheus")
        assert datasource["current"]["value"] == DATASOURCE_UID


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_panels(path: Path):
    dashboard = json.loads(path.read_text())
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == PANEL_DATASOURCE, variable["name"]
            assert variable["definition"].startswith("label_values("), variable["name"]
    panels = list(query_panels(dashboard))
    assert len({p["id"] for p in panels}) == len(panels), "panel ids must be unique"
    for panel in panels:
        where = f"{path.name} / {panel['title']}"
        assert panel["datasource"] == PANEL_DATASOURCE, where
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{where}: no unit"
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, where
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert panel["targets"] and all(ref_ids) and len(set(ref_ids)) == len(ref_ids), where
        for target in panel["targets"]:
            expr = target["expr"]
            assert target["datasource"] == PANEL_DATASOURCE, where
            for window in re.findall(r"\[([^\]]*)\]", expr):
                assert window in ("$__rate_interval", "$__range"), f"{where}: hard-coded range [{window}]"
            assert not re.search(r"\brate\([^()]*\[\$__range\]", expr), f"{where}: rate() needs $__rate_interval"
            for name in re.findall(r"\$\{?(\w+)", expr):
                assert name.startswith("__") or name in variables, f"{where}: undefined ${name}"


def test_grafana_provisioning_matches_prometheus_and_compose():
    [datasource] = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yaml")["datasources"]
    assert datasource["uid"] == DATASOURCE_UID and datasource["type"] == "prometheus"
    assert datasource["jsonData"]["timeInterval"] == load_yaml(PROMETHEUS_YML)["global"]["scrape_interval"]
    [provider] = load_yaml(GRAFANA / "provisioning" / "dashboards" / "arbscan.yaml")["providers"]
    grafana = load_yaml(DEPLOY / "compose.yaml")["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert mounts["../grafana/dashboards"] == provider["options"]["path"]
    assert mounts["../grafana/provisioning"] == "/etc/grafana/provisioning"
    assert datasource["url"] == "http://prometheus:9090"


# --- the image (no Docker here: the build context and the health check) ----------------------

DOCKERFILE = DEPLOY / "Dockerfile"


def ignore_files() -> list[Path]:
    """The ignore files deciding deploy/Dockerfile's context: BuildKit reads
    Dockerfile.dockerignore beside the Dockerfile if there is one, the legacy builder always the
    context root's .dockerignore."""
    specific = DOCKERFILE.with_name(DOCKERFILE.name + ".dockerignore")
    return sorted({specific if specific.exists() else ROOT / ".dockerignore", ROOT / ".dockerignore"})


def dockerignore_patterns(path: Path) -> list[tuple[re.Pattern, bool]]:
    """(regex, is exception) per line, as Docker reads a .dockerignore (moby/patternmatcher)."""
    patterns = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line[1:].strip() if exception else line).lstrip("/") or "."
        patterns.append((re.compile(_pattern_regex(pattern)), exception))
    return patterns


def _pattern_regex(pattern: str) -> str:
    """Docker's glob: ``*`` and ``?`` stay within a path segment, ``**`` spans any number."""
    regex, i = "^", 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
            regex += ".*" if i == len(pattern) else "(.*/)?"
            continue
        regex += {"*": "[^/]*", "?": "[^/]"}.get(ch, re.escape(ch))
        i += 1
    return regex + "$"


def ignored(path: str, patterns: list[tuple[re.Pattern, bool]]) -> bool:
    """Whether Docker leaves ``path`` (relative, with /) out: the last pattern matching it or
    one of its parent directories decides."""
    parents = [path] + ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
    result = False
    for regex, exception in patterns:
        if any(regex.match(p) for p in parents):
            result = not exception
    return result


def build_context(ignore_file: Path) -> set[str]:
    """The files of the working tree that Docker sends as deploy/Dockerfile's context."""
    patterns = dockerignore_patterns(ignore_file)
    files = set()
    for directory, dirs, names in os.walk(ROOT):
        rel = Path(directory).relative_to(ROOT).as_posix()
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = name if rel == "." else f"{rel}/{name}"
            if not ignored(path, patterns):
                files.add(path)
    return files


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerignore_matcher_follows_docker_rules():
    patterns = [(re.compile(_pattern_regex(p)), e) for p, e in
                [("*", False), ("scanner", True), ("**/*.so", False), ("scanner/keep.so", True)]]
    assert ignored("tests/x.py", patterns) and ignored(".venv/bin/python", patterns)
    assert not ignored("scanner/sim/market.py", patterns)  # a re-included directory brings its files
    assert ignored("scanner/book.so", patterns) and ignored("scanner/feeds/okx.so", patterns)
    assert not ignored("scanner/keep.so", patterns)  # the last matching line wins
    assert re.match(_pattern_regex("a/*/c"), "a/b/c") and not re.match(_pattern_regex("a/*/c"), "a/b/x/c")


@pytest.mark.parametrize("ignore_file", ignore_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_build_context_holds_every_copy_source_and_no_build_output(ignore_file: Path):
    context = build_context(ignore_file)
    copies = [args.split() for instruction, args in dockerfile_instructions() if instruction == "COPY"]
    sources = [source for argv in copies if not any(a.startswith("--from") for a in argv)
               for source in [a for a in argv if not a.startswith("--")][:-1]]
    assert "setup.py" in sources and "scanner" in sources
    for source in sources:
        assert source in context or any(f.startswith(source.rstrip("/") + "/") for f in context), \
            f"COPY {source}: not in the build context ({ignore_file.name} leaves it out)"
    built = sorted(f for f in context if f.endswith((".so", ".c")) or "__pycache__" in f)
    assert not built, f"in-place build output in the context: {built[:5]}"
    sources_needed = {p.relative_to(ROOT).as_posix() for p in (ROOT / "scanner").rglob("*")
                      if p.is_file() and p.suffix in (".py", ".pyx", ".pxd", ".json", ".toml")
                      and "__pycache__" not in p.parts}
    assert sources_needed - context == set()
    assert {f.split("/")[0] for f in context} == {"pyproject.toml", "setup.py", "README.md", "scanner"}


def test_image_health_check_probes_healthz():
    [healthcheck] = [args for instruction, args in dockerfile_instructions() if instruction == "HEALTHCHECK"]
    options, command = healthcheck.split(" CMD ", 1)
    argv = json.loads(command)
    assert argv[0] == "python" and re.search(r"http://127\.0\.0\.1:9108/(healthz|readyz)\b", argv[-1]), argv
    assert re.search(r"--start-period=\d+s", options)
    [expose] = [args for instruction, args in dockerfile_instructions() if instruction == "EXPOSE"]
    assert expose.split() == ["9108"]


# --- compose (no Docker here: structure and wiring only) --------------------------------------

def compose() -> dict:
    return load_yaml(DEPLOY / "compose.yaml")


def alert_receiver_port() -> int:
    command = compose()["services"]["alert-receiver"]["command"]
    return int(command[command.index("--port") + 1])


def test_compose_wiring():
    spec = compose()
    services = spec["services"]
    assert set(services) == {"arbscan", "prometheus", "alertmanager", "grafana", "alert-receiver"}
    assert services["arbscan"]["init"] and services["alert-receiver"]["init"]  # docker stop's SIGTERM reaches Python
    for name, service in services.items():
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in spec["volumes"], f"{name}: undeclared volume {source}"
    prometheus = load_yaml(PROMETHEUS_YML)
    [job] = prometheus["scrape_configs"]
    assert job["job_name"] == "arbscan" and job["static_configs"] == [{"targets": ["arbscan:9108"]}]
    assert prometheus["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    assert "--cluster.listen-address=" in services["alertmanager"]["command"]
    assert "/config/${ARBSCAN_MODE:-demo}.toml" in services["arbscan"]["command"]
    for mode in ("demo", "run"):
        config = load_config(DEPLOY / "arbscan" / f"{mode}.toml")
        assert (config.metrics.host, config.metrics.port) == ("0.0.0.0", 9108), mode
    demo = load_config(DEPLOY / "arbscan" / "demo.toml")  # paper on, so the Paper dashboard has data
    assert demo.paper.enabled and demo.paper.ledger_path.startswith("/data/")
    assets = {asset for s in map(parse_symbol, demo.scanner.symbols) for asset in (s.base, s.quote)}
    assert all(set(demo.paper.balances.get(exchange, {})) == assets for exchange in demo.enabled_exchanges())


def _routes(route: dict):
    yield route
    for child in route.get("routes", []):
        yield from _routes(child)


def test_compose_every_referenced_service_exists():
    """depends_on, Prometheus' scrape and Alertmanager targets, Alertmanager's receivers and
    webhook URLs and Grafana's datasource all name compose services on the ports they serve."""
    services = compose()["services"]
    listening = {"arbscan": 9108, "prometheus": 9090, "alertmanager": 9093, "grafana": 3000,
                 "alert-receiver": alert_receiver_port()}
    assert set(listening) == set(services)
    for name, service in services.items():
        assert set(service.get("depends_on", [])) <= set(services), name
    prometheus = load_yaml(PROMETHEUS_YML)
    targets = [t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]]
    targets += [t for am in prometheus["alerting"]["alertmanagers"] for c in am["static_configs"] for t in c["targets"]]
    alertmanager = load_yaml(ALERTMANAGER_YML)
    receivers = {r["name"]: r for r in alertmanager["receivers"]}
    assert {route["receiver"] for route in _routes(alertmanager["route"]) if "receiver" in route} <= set(receivers)
    urls = [hook["url"] for r in receivers.values() for hook in r.get("webhook_configs", [])]
    [datasource] = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yaml")["datasources"]
    urls.append(datasource["url"])
    targets += [re.fullmatch(r"https?://([^/]+)(/.*)?", url).group(1) for url in urls]
    assert urls[:-1], "Alertmanager delivers nowhere"
    for target in targets:
        host, port = target.rsplit(":", 1)
        assert listening.get(host) == int(port), f"{target}: no compose service listens there"
    assert services["alertmanager"]["depends_on"] == ["alert-receiver"]
    assert set(services["prometheus"]["depends_on"]) == {"arbscan", "alertmanager"}


def test_compose_passes_secrets_to_arbscan():
    """The variables the configs' secret_env name reach the container: compose reads
    deploy/arbscan.env (optional, git-ignored) into arbscan's environment, and the example
    lists every variable the shipped configs name."""
    arbscan = compose()["services"]["arbscan"]
    assert {"path": "./arbscan.env", "required": False} in arbscan["env_file"]
    assert "arbscan.env" in (DEPLOY / ".gitignore").read_text().split()
    example = (DEPLOY / "arbscan.env.example").read_text()
    listed = re.findall(r"^([A-Z][A-Z0-9_]*)=", example, re.M)
    configs = {mode: (DEPLOY / "arbscan" / f"{mode}.toml").read_text() for mode in ("demo", "run")}
    named = {name for text in configs.values() for name in re.findall(r'secret_env\s*=\s*"(\w+)"', text)}
    assert named and named <= set(listed), f"not in arbscan.env.example: {sorted(named - set(listed))}"
    # run.toml's commented targets, switched on, start with the variables set (a missing one
    # would be a ConfigError at start: the container restarting in a loop)
    run = parse_config(tomllib.loads(re.sub(r"^# ?(\[alerts\.webhooks|url|format|secret_env)", r"\1",
                                            configs["run"], flags=re.M)))
    hooks = run.alerts.webhooks
    assert {hook.secret_env for hook in hooks.values()} == set(listed)
    env = {name: "whsec_a2V5LWZvci10aGUtdGVzdA==" if "SECRET" in name else "https://hooks.example.com/x"
           for name in listed}
    for name, hook in hooks.items():
        assert build_renderer(name, hook, env).secrets
        with pytest.raises(ConfigError, match=hook.secret_env):
            build_renderer(name, hook, {})


def test_compose_interpolations_have_defaults():
    text = (DEPLOY / "compose.yaml").read_text()
    variables = re.findall(r"\$\{([^}]*)\}", text)
    assert variables and all(":-" in v for v in variables), variables


# --- the live stack --------------------------------------------------------------------------

class Demo:
    """`arbscan demo --paper` in a subprocess with its metrics on an ephemeral loopback port,
    paper-trading with the balances of compose's demo (deploy/arbscan/demo.toml). Its alerts go
    to the demo's own local receiver only, as in compose."""

    def __init__(self, workdir: Path):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log_path = workdir / "demo.log"
        config = workdir / "arbscan.toml"
        balances = "".join(f"\n[paper.balances.{exchange}]\n" + "".join(f"{a} = {v}\n" for a, v in assets.items())
                           for exchange, assets in load_config(DEPLOY / "arbscan" / "demo.toml").paper.balances.items())
        config.write_text(f"""
[scanner]
symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"]

[paper]
ledger_path = "{workdir / 'paper.sqlite'}"
{balances}""")
        self.argv = [sys.executable, "-m", "scanner", "demo", "--config", str(config), "--duration", "120",
                     "--metrics-port", str(self.port), "--no-view", "--paper"]
        self.env = {**os.environ, "ARBSCAN_CACHE_DIR": str(workdir / "cache")}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Demo":
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT)
        try:
            wait_until(self._serving, 20, "arbscan demo metrics")
        except BaseException:
            self.stop()
            raise
        return self

    def _serving(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"arbscan demo exited with {self.process.returncode}:\n"
                               + self.log_path.read_text(errors="replace")[-3000:])
        return bool(self.scrape())

    def scrape(self) -> str:
        return http_get(f"http://127.0.0.1:{self.port}/metrics", timeout=2).decode()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def fast_rules(workdir: Path) -> list[Path]:
    """The shipped rule files with every `for` at 0s, so real alerts fire within the test's budget."""
    paths = []
    for path in RULE_FILES:
        rules = load_yaml(path)
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    rule["for"] = "0s"
        paths.append(workdir / path.name)
        paths[-1].write_text(yaml.safe_dump(rules))
    return paths


def prometheus_config(rule_files: list[Path], scrape_port: int, alertmanager_port: int) -> dict:
    """deploy/prometheus/prometheus.yml pointed at the local processes, scraping every second."""
    config = load_yaml(PROMETHEUS_YML)
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(p) for p in rule_files]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]
    config["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{scrape_port}"]}]
    return config


def alertmanager_config(url: str) -> dict:
    """deploy/alertmanager/alertmanager.yml with its webhooks sent to ``url`` and 1 s grouping."""
    config = load_yaml(ALERTMANAGER_YML)
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = url
    routes = [config["route"]]
    while routes:
        route = routes.pop()
        route.update(group_wait="1s", group_interval="1s")
        routes.extend(route.get("routes", []))
    return config


class Stack:
    def __init__(self, prometheus: Prometheus, demo: Demo, sink: WebhookSink, started: float):
        self.prometheus, self.demo, self.sink, self.started = prometheus, demo, sink, started

    def declared_families(self) -> set[str]:
        """Metric families arbscan declares (HELP/TYPE), with or without samples."""
        metadata = self.prometheus.api("targets/metadata", match_target='{job="arbscan"}')
        return {entry["metric"] for entry in metadata}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if missing_binaries():
        pytest.skip(f"not installed: {', '.join(missing_binaries())} (.ci/run installs them)")
    tmp = tmp_path_factory.mktemp("stack")
    with contextlib.ExitStack() as resources:
        sink = resources.enter_context(BackgroundSink())
        alertmanager = resources.enter_context(start_alertmanager(alertmanager_config(sink.url("/alertmanager")), tmp / "am"))
        demo = resources.enter_context(Demo(tmp / "demo"))
        started = time.time()
        prometheus = resources.enter_context(
            start_prometheus(prometheus_config(fast_rules(tmp), demo.port, alertmanager.port), tmp / "prometheus"))
        wait_until(prometheus.targets_up, 30, "Prometheus to scrape arbscan")  # ~5-6 s: discovery batches updates
        wait_until(lambda: prometheus.query('count_over_time(up{job="arbscan"}[1m]) >= 5'), 15,
                   "5 scrapes, enough for rate() over the 4 s $__rate_interval")
        yield Stack(prometheus, demo, sink, started)


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"(?<![\w:])(?:arbscan|process)_\w+|(?<![\w:])up(?=\{)", expr))


def family(name: str, declared: set[str]) -> str | None:
    for candidate in (name, re.sub(r"_(total|bucket|count|sum|created)$", "", name)):
        if candidate in declared:
            return candidate
    return None


def test_demo_scrape_passes_promtool_check_metrics(stack):
    result = run_tool(BINARIES["promtool"], "check", "metrics", input=stack.demo.scrape())
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def resolve_variables(stack: Stack, dashboard: dict, problems: list[str]) -> dict[str, str]:
    """Each query variable's values from label_values(), as the regex Grafana sends for "All"."""
    values: dict[str, str] = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        selector, label = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", variable["definition"]).groups()
        found = stack.prometheus.api(f"label/{label}/values", **{"match[]": substitute(selector, values, 0)},
                                     start=stack.started, end=time.time())
        if not found:
            problems.append(f"{dashboard['uid']}: variable {variable['name']} has no values")
        values[variable["name"]] = "(" + "|".join(map(grafana_regex_escape, found)) + ")" if found else ".*"
    return values


def grafana_regex_escape(value: str) -> str:
    """A label value as Grafana puts it in a PromQL regex string: regex metacharacters escaped
    with a backslash that is itself escaped for the string literal (``-`` is left alone)."""
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\\\1", value)


def substitute(expr: str, variables: dict[str, str], range_seconds: float) -> str:
    expr = expr.replace("$__rate_interval", "4s").replace("$__range", f"{max(int(range_seconds), 1)}s")
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace(f"${{{name}}}", variables[name]).replace(f"${name}", variables[name])
    return expr


def test_every_dashboard_query_returns_series(stack):
    """Every panel query, with variables resolved like Grafana's "All", returns series over the
    demo's run. A query may be empty only when a family it reads is declared by arbscan but has
    had no sample (feed errors and blocked spreads in a healthy demo)."""
    prometheus = stack.prometheus
    wait_until(lambda: prometheus.query_range("arbscan_opportunity_net_profit", stack.started, time.time())
               and prometheus.query("arbscan_opportunity_lifetime_seconds_count > 0")
               and prometheus.query_range("rate(arbscan_paper_trades_total[4s])", stack.started, time.time()),
               30, "an opportunity to open and close, and paper trades with a rate, in the demo")
    end = time.time()
    declared = stack.declared_families()
    problems: list[str] = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        variables = resolve_variables(stack, dashboard, problems)
        for panel in query_panels(dashboard):
            for target in panel["targets"]:
                query = substitute(target["expr"], variables, end - stack.started)
                if prometheus.query_range(query, stack.started, end):
                    continue
                names = metric_names(query)
                unknown = sorted(name for name in names if not family(name, declared))
                unsampled = [name for name in names if not prometheus.query_range(f"count({name})", stack.started, end)]
                if unknown or not unsampled:
                    problems.append(f"{path.stem} / {panel['title']} / {target['refId']}: no series for {query}"
                                    + (f" (unknown metrics {unknown})" if unknown else ""))
    assert not problems, "\n".join(problems)


def test_demo_local_receiver_feeds_the_alerts_dashboard(stack):
    """The demo's alerts reach its own receiver: the Alerts dashboard's target is it, with
    deliveries and events."""
    prometheus = stack.prometheus
    delivered = wait_until(lambda: prometheus.query('arbscan_alert_deliveries_total{outcome="delivered"} > 0'),
                           30, "a delivery to the demo's local receiver")
    assert [s["metric"]["target"] for s in delivered] == ["demo-local-receiver"]
    assert prometheus.api("label/target/values", **{"match[]": "arbscan_alert_outbox_depth"}) == ["demo-local-receiver"]
    events = prometheus.query('sum by (type) (arbscan_alert_events_total{target="demo-local-receiver"}) > 0')
    assert {s["metric"]["type"] for s in events} >= {"opportunity.opened"}
    assert not prometheus.query('arbscan_alert_deliveries_total{outcome=~"failed|dead"} > 0')


def test_every_rule_evaluates_without_error(stack):
    expected = {rule.get("alert") or rule["record"] for path in RULE_FILES
                for group in load_yaml(path)["groups"] for rule in group["rules"]}
    wait_until(lambda: all(r["health"] != "unknown" for r in stack.prometheus.rules()), 10, "every rule evaluated")
    rules = stack.prometheus.rules()
    assert {r["name"] for r in rules} == expected
    assert [(r["name"], r["lastError"]) for r in rules if r["health"] != "ok"] == []
    declared = stack.declared_families()
    undeclared = sorted({f"{rule['name']}: {name}" for rule in rules for name in metric_names(rule["query"])
                         if name != "up" and not family(name, declared)})
    assert not undeclared, f"rules read metrics arbscan does not export: {undeclared}"
    resync_rates = stack.prometheus.query("exchange:arbscan_book_resyncs:rate5m")
    assert {s["metric"]["exchange"] for s in resync_rates} == set(NAMES)


def test_operational_alert_is_delivered_through_alertmanager(stack):
    """Stopping arbscan fires ArbscanDown, which the shipped routing delivers to the webhook."""
    stack.demo.stop()

    def delivered():
        return [(body, alert) for body in stack.sink.bodies("/alertmanager") for alert in body["alerts"]
                if alert["labels"]["alertname"] == "ArbscanDown" and alert["status"] == "firing"]

    [(body, alert), *_] = wait_until(delivered, 30, "ArbscanDown at the webhook sink")
    assert body["receiver"] == "ops-webhook" and body["version"] == "4"
    assert alert["labels"]["severity"] == "critical" and alert["labels"]["job"] == "arbscan"
    assert alert["annotations"]["summary"] == f"arbscan 127.0.0.1:{stack.demo.port} is down"
    assert alert["generatorURL"].startswith(stack.prometheus.url)
