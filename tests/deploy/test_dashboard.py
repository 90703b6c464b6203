"""The Grafana dashboard and the Prometheus scrape configuration in deploy/.

The dashboard must only chart metrics the worker exports (names below, Prometheus conventions),
its PromQL must parse (`promtool check rules` on the panel expressions), and it must cover what
ops watch: throughput, latency quantiles, stage latency, dead letters by reason, lag,
duplicates, in-flight work and batch sizes. `promtool` comes from Debian's `prometheus`
package; .ci/run installs it, and a missing one fails the suite.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.tools import require_tool

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "dashboards" / "streams.json"
DATASOURCES = REPO_ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"

# What the worker exports (issue 3). A histogram exports _bucket, _sum and _count series.
_HISTOGRAMS = ("streams_stage_seconds", "streams_end_to_end_seconds", "streams_batch_size")
EXPORTED_METRICS = frozenset(
    {
        "streams_events_consumed_total",
        "streams_records_published_total",
        "streams_dead_letters_total",
        "streams_duplicates_total",
        "streams_in_flight_events",
        "streams_pool_queue_depth",
        "streams_model_load_seconds",
        "streams_consumer_lag",
        "streams_build_info",
    }
    | {f"{name}{suffix}" for name in _HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
)

# Grafana's variables, replaced by values of the same kind before promtool parses an expression.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$instance": ".*"}

_OPERATOR_WORDS = ("and", "or", "unless", "bool", "offset", "inf", "nan")
_GROUPING_WORDS = ("by", "without", "on", "ignoring", "group_left", "group_right")
_PROMQL_KEYWORDS = frozenset(_OPERATOR_WORDS + _GROUPING_WORDS)


def promtool() -> str:
    """The promtool executable; a missing one fails the suite (CI installs it)."""
    return require_tool("promtool", "prometheus")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (identifiers that are not functions,
    aggregations, keywords, label names or label values)."""
    assert "__name__" not in expr, f"select metrics by name, not by __name__: {expr}"
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values and other strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery durations
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text
    )  # label lists
    assert "$" not in text, f"Grafana variable outside a matcher or range: {expr}"
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        before = text[match.start() - 1] if match.start() else " "
        if before.isdigit() or before == ".":  # the exponent of 1e3, a duration unit
            continue
        if text[match.end() :].lstrip().startswith("("):  # function or aggregation
            continue
        if match.group().lower() not in _PROMQL_KEYWORDS:
            names.add(match.group())
    return names


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel with queries, including those inside collapsed rows."""
    panels = []
    for panel in dashboard["panels"]:
        panels.extend(panel.get("panels", []))
        if panel["type"] != "row":
            panels.append(panel)
    return panels


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in _panels(dashboard) for target in panel["targets"]]


def _variable_queries(dashboard: dict[str, Any]) -> list[str]:
    queries = []
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            queries.append(query["query"] if isinstance(query, dict) else query)
    return queries


def test_metric_name_extraction() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, stage) (rate(streams_stage_seconds_bucket"
        '{instance=~"$instance", stage!="nlp"}[$__rate_interval]))) / on (stage) group_left '
        "sum without (instance) (x_total offset 5m) > bool 1e3"
    )
    assert metric_names(expr) == {"streams_stage_seconds_bucket", "x_total"}


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "streams"
    assert dashboard["title"].strip()
    assert 36 <= dashboard["schemaVersion"] <= 41
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_panels_use_the_provisioned_prometheus(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    source = variables["DS_PROMETHEUS"]
    assert source["type"] == "datasource" and source["query"] == "prometheus"
    provisioned = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    assert source["current"]["value"] in {d["uid"] for d in provisioned}
    for panel in _panels(dashboard):
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
            assert target["refId"] and target["expr"].strip(), panel["title"]
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]


def test_queries_use_only_exported_metrics(dashboard: dict[str, Any]) -> None:
    used: set[str] = set()
    for expr in _exprs(dashboard):
        names = metric_names(expr)
        assert names, expr
        assert names <= EXPORTED_METRICS, f"unknown metric in {expr}: {names - EXPORTED_METRICS}"
        used |= names
    for query in _variable_queries(dashboard):
        match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        assert match and match.group(1) in EXPORTED_METRICS, query
    missing = (
        EXPORTED_METRICS
        - used
        - {"streams_stage_seconds_count", "streams_batch_size_sum", "streams_batch_size_count"}
    )
    assert not missing, f"exported but not charted: {missing}"


def test_the_worker_exports_every_charted_metric() -> None:
    """The list above against the worker's own registry (series names as scraped)."""
    from streams.app.metrics import Metrics

    metrics = Metrics(version="0", schema_version="1.0", model="model")
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    exported = {
        family.name + suffix
        for family in metrics.registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }
    assert not EXPORTED_METRICS - exported, f"not exported: {EXPORTED_METRICS - exported}"


def test_dashboard_covers_what_ops_watch(dashboard: dict[str, Any]) -> None:
    exprs = [" ".join(expr.split()) for expr in _exprs(dashboard)]

    def charted(*patterns: str) -> bool:
        return any(all(re.search(p, expr) for p in patterns) for expr in exprs)

    assert charted(r"rate\(streams_events_consumed_total")
    assert charted(r"sum by \(topic\) \(rate\(streams_records_published_total")
    for quantile in ("0.5", "0.95", "0.99"):
        assert charted(
            rf"histogram_quantile\({re.escape(quantile)}, sum by \(le\) "
            r"\(rate\(streams_end_to_end_seconds_bucket"
        )
    assert charted(
        r"histogram_quantile\(0\.95, sum by \(le, stage\) "
        r"\(rate\(streams_stage_seconds_bucket"
    )
    assert charted(r"sum by \(reason\) \(rate\(streams_dead_letters_total")
    assert charted(r"^max by \(topic, partition\) \(streams_consumer_lag")  # per partition
    assert charted(r"^sum\(.*streams_consumer_lag")  # and the total
    assert charted(r"sum by \(kind\) \(rate\(streams_duplicates_total")
    assert charted(r"streams_in_flight_events")
    assert charted(r"streams_pool_queue_depth")
    assert charted(r"histogram_quantile\(.*streams_batch_size_bucket")


def test_promql_parses(dashboard: dict[str, Any], tmp_path: Path) -> None:
    """Each panel query, Grafana variables filled in, as a recording rule for promtool."""
    rules = []
    for number, expr in enumerate(_exprs(dashboard)):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    rules_file = tmp_path / "dashboard-rules.yml"
    rules_file.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [promtool(), "check", "rules", str(rules_file)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


def test_prometheus_config_passes_promtool() -> None:
    done = subprocess.run(
        [promtool(), "check", "config", str(PROMETHEUS_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    job = {job["job_name"]: job for job in config["scrape_configs"]}["streams"]
    assert job.get("scrape_interval", config["global"]["scrape_interval"]) == "15s"
