"""Write prometheusrule.yaml from deploy/prometheus/alerts.yml (one source for the alerts).

The Prometheus operator reads alerting rules from a `PrometheusRule` object, whose
`spec.groups` is exactly the `groups` list of a Prometheus rule file. kustomize cannot
embed a file's content in a custom resource, so this script renders it; the test
`tests/deploy/test_alerts.py` fails when the committed file differs from its output.

    .venv/bin/python deploy/k8s/monitoring/sync_rules.py            # rewrite the file
    .venv/bin/python deploy/k8s/monitoring/sync_rules.py --output -  # print it
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ALERTS = HERE.parents[1] / "prometheus" / "alerts.yml"
RULE = HERE / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/alerts.yml by deploy/k8s/monitoring/sync_rules.py: edit
# alerts.yml, then run `.venv/bin/python deploy/k8s/monitoring/sync_rules.py`.
# What each alert means: deploy/prometheus/README.md. The rules select the worker's targets by
# `job="streams"` (StreamsWorkerDown, StreamsWorkerAbsent): the PodMonitor or ServiceMonitor
# that scrapes the workers must give them that job label.
"""


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL) as literal blocks, so the file reads like alerts.yml."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def prometheus_rule(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The `PrometheusRule` (monitoring.coreos.com/v1) carrying `groups`."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "streams",
            "labels": {
                "app.kubernetes.io/name": "streams",
                "app.kubernetes.io/component": "alerting-rules",
            },
        },
        "spec": {"groups": groups},
    }


def render(alerts: Path = ALERTS) -> str:
    """The text of prometheusrule.yaml for the rule file `alerts`."""
    groups = yaml.safe_load(alerts.read_text(encoding="utf-8"))["groups"]
    body: str = yaml.dump(
        prometheus_rule(groups), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True
    )
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(RULE), help="file to write, - for stdout")
    args = parser.parse_args(argv)
    text = render()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
