"""The Prometheus alerting rules in deploy/prometheus/alerts.yml and their copies.

promtool (Debian's `prometheus` package, installed by scripts/ci-deps.sh) checks the rules and
runs their unit tests (alerts_test.yml): every alert fires in one case, with exact labels and
annotations, and stays quiet in a look-alike case. Breaking a rule (mutations below) must fail
those unit tests. The rules may only use metrics and labels the worker exports, Prometheus
must load them (prometheus.yml, docker-compose.yml), and the PrometheusRule for the
Prometheus operator (deploy/k8s/monitoring) must carry exactly the same groups.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from streams.app.metrics import Metrics
from tests.conftest import REPO_ROOT
from tests.deploy.test_compose import _compose, _volume_targets
from tests.deploy.test_dashboard import metric_names, promtool

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
MONITORING_DIR = REPO_ROOT / "deploy" / "k8s" / "monitoring"
PROMETHEUS_RULE = MONITORING_DIR / "prometheusrule.yaml"
SYNC_RULES = MONITORING_DIR / "sync_rules.py"

SEVERITIES = {"critical", "warning"}
TARGET_LABELS = {"job", "instance"}  # set by Prometheus on every scraped series
PROMETHEUS_METRICS = {"up"}  # written by Prometheus itself for every target


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _alerts() -> list[dict[str, Any]]:
    return [rule for group in _load(ALERTS)["groups"] for rule in group["rules"]]


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def _worker_metrics() -> dict[str, set[str]]:
    """{series name as scraped: its label names} for every metric of the worker."""
    metrics = Metrics(version="0", schema_version="1.0", model="model")
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    series: dict[str, set[str]] = {}
    for collector in vars(metrics).values():
        if not isinstance(collector, MetricWrapperBase):
            continue
        labels = set(collector._labelnames)  # the declared label names (no public accessor)
        for family in collector.describe():
            for suffix in suffixes.get(family.type, ("",)):
                extra = {"le"} if suffix == "_bucket" else set()
                series[family.name + suffix] = labels | extra
    return series


def _label_names(expr: str) -> set[str]:
    """Label names an expression groups, matches or selects by."""
    names: set[str] = set()
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        names |= {name.strip() for name in group.split(",") if name.strip()}
    for matchers in re.findall(r"\{([^}]*)\}", expr):
        names |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=|!=|=~|!~)", matchers))
    return names


# --- promtool --------------------------------------------------------------------------------


def test_rules_pass_promtool_check() -> None:
    done = _promtool("check", "rules", ALERTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in done.stdout, done.stdout


def test_alert_unit_tests_pass() -> None:
    done = _promtool("test", "rules", ALERTS_TEST)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout, done.stdout


def test_every_alert_fires_and_stays_quiet_in_the_unit_tests() -> None:
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in _load(ALERTS_TEST)["tests"]:
        for check in case["alert_rule_test"]:
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
            for alert in check.get("exp_alerts") or []:
                assert alert["exp_annotations"].keys() >= {"summary", "description"}, case["name"]
                assert alert["exp_labels"]["severity"] in SEVERITIES, case["name"]
    names = {rule["alert"] for rule in _alerts()}
    assert names - fires == set(), "alerts without a case where they fire"
    assert names - quiet == set(), "alerts without a case where they must not fire"
    assert fires | quiet <= names, "tests of alerts that do not exist"


# Each mutation breaks one rule the way a careless edit would; a look-alike case of
# alerts_test.yml must then fail (proof that the unit tests can fail).
MUTATIONS = {
    "down without waiting": ("for: 2m", "for: 0m"),
    "absent for any job": ('absent(up{job="streams"})', "absent(up)"),
    "not ready by the last scrape only": (
        "max_over_time(streams_ready[10m]) == 0",
        "streams_ready == 0",
    ),
    "pool restarts of one poison input": ("restarts_total[30m]) >= 5", "restarts_total[30m]) >= 2"),
    "in flight without progress check": (
        "(increase(streams_stage_events_total[10m])) == 0",
        "(increase(streams_stage_events_total[10m])) >= 0",
    ),
    "lag high, growing or not": (
        "deriv(sum by (job, topic) (streams_consumer_lag)[10m:1m]) > 0",
        "sum by (job, topic) (streams_consumer_lag)",
    ),
    "dead letters at a normal rate": (") > 0.1\n", ") > 0.01\n"),
    "dead letters without an input floor": (") >= 20\n", ") >= 0\n"),
    "latency threshold below the measured p99": ("[10m]))) > 30", "[10m]))) > 1"),
    "articles counted on another topic": ('{topic="articles"}', '{topic="claims"}'),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_unit_tests_catch_a_broken_rule(mutation: str, tmp_path: Path) -> None:
    old, new = MUTATIONS[mutation]
    text = ALERTS.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"mutation {mutation!r} does not match alerts.yml once"
    (tmp_path / "alerts.yml").write_text(text.replace(old, new), encoding="utf-8")
    shutil.copy(ALERTS_TEST, tmp_path / "alerts_test.yml")
    assert _promtool("check", "rules", tmp_path / "alerts.yml").returncode == 0
    done = _promtool("test", "rules", tmp_path / "alerts_test.yml")
    assert done.returncode != 0, f"{mutation}: the unit tests still pass\n{done.stdout}"
    assert "FAILED" in done.stdout + done.stderr


# --- what the rules say and use --------------------------------------------------------------


def test_every_alert_tells_ops_what_to_do() -> None:
    for rule in _alerts():
        name = rule.get("alert")
        assert name and re.fullmatch(r"Streams[A-Z]\w+", name), rule
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{name}: no `for:`"
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert annotations.keys() == {"summary", "description"}, name
        assert len(annotations["summary"]) <= 120, f"{name}: summary is one short line"
        description = annotations["description"]
        assert "Check" in description or "check" in description, f"{name}: what to check?"
    readme = (PROMETHEUS_DIR / "README.md").read_text(encoding="utf-8")
    for rule in _alerts():
        assert f"`{rule['alert']}`" in readme, f"{rule['alert']} is not documented in README.md"


def test_rules_use_only_metrics_and_labels_the_worker_exports() -> None:
    exported = _worker_metrics()
    for rule in _alerts():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        unknown = names - exported.keys() - PROMETHEUS_METRICS
        assert not unknown, f"{rule['alert']}: the worker exports no {sorted(unknown)}"
        known = TARGET_LABELS.union(*(exported.get(name, set()) for name in names))
        labels = _label_names(rule["expr"])
        assert labels <= known, f"{rule['alert']}: unknown labels {sorted(labels - known)}"


def test_unit_test_series_are_what_the_worker_exports() -> None:
    exported = _worker_metrics()
    for case in _load(ALERTS_TEST)["tests"]:
        for series in case["input_series"]:
            match = re.fullmatch(r"(\w+)\{(.*)\}", series["series"])
            assert match, series["series"]
            name, matchers = match.groups()
            labels = set(re.findall(r"(\w+)=", matchers))
            if name in PROMETHEUS_METRICS:
                assert labels == TARGET_LABELS, series["series"]
                continue
            assert name in exported, f"{case['name']}: the worker exports no {name}"
            assert labels == TARGET_LABELS | exported[name], series["series"]


def test_metric_label_extraction() -> None:
    expr = 'sum by (job, reason) (rate(x_total{topic="a", le!~"1"}[5m])) / ignoring (reason) y'
    assert _label_names(expr) == {"job", "reason", "topic", "le"}
    assert metric_names(expr) == {"x_total", "y"}


# --- Prometheus loads them -------------------------------------------------------------------


def test_prometheus_config_loads_the_rules() -> None:
    config = _load(PROMETHEUS_CONFIG)
    assert [PROMETHEUS_CONFIG.parent / path for path in config["rule_files"]] == [ALERTS]
    # promtool check config also parses every rule file it names
    done = _promtool("check", "config", PROMETHEUS_CONFIG)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in done.stdout, done.stdout


def test_compose_mounts_the_rules_next_to_the_config() -> None:
    done = _compose("config")
    assert done.returncode == 0, done.stderr
    prometheus = yaml.safe_load(done.stdout)["services"]["prometheus"]
    mounts = _volume_targets(prometheus)
    config_dir = Path("/etc/prometheus")
    assert mounts[str(config_dir / "prometheus.yml")].resolve() == PROMETHEUS_CONFIG.resolve()
    for path in _load(PROMETHEUS_CONFIG)["rule_files"]:
        mounted = mounts.get(str(config_dir / path))
        assert mounted is not None, f"{path} is not mounted in the prometheus service"
        assert mounted.resolve() == (PROMETHEUS_CONFIG.parent / path).resolve()


# --- the Prometheus operator's copy ----------------------------------------------------------


def test_prometheusrule_carries_the_same_groups() -> None:
    kustomization = _load(MONITORING_DIR / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["resources"] == [PROMETHEUS_RULE.name]
    rule = _load(PROMETHEUS_RULE)
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["kind"] == "PrometheusRule"
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", rule["metadata"]["name"])
    assert set(rule["spec"]) == {"groups"}
    expected = _load(ALERTS)["groups"]
    got = rule["spec"]["groups"]
    assert [g["name"] for g in got] == [g["name"] for g in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs, (
            f"group {theirs['name']} differs from alerts.yml: run "
            f"`.venv/bin/python {SYNC_RULES.relative_to(REPO_ROOT)}`"
        )


def test_prometheusrule_is_what_sync_rules_writes(tmp_path: Path) -> None:
    output = tmp_path / "prometheusrule.yaml"
    done = subprocess.run(
        [sys.executable, str(SYNC_RULES), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert output.read_text(encoding="utf-8") == PROMETHEUS_RULE.read_text(encoding="utf-8"), (
        f"run `.venv/bin/python {SYNC_RULES.relative_to(REPO_ROOT)}`"
    )
