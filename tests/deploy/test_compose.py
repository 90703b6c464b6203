"""docker-compose.yml, Dockerfile and .dockerignore: the container deployment, checked statically.

No Docker engine runs on the development machines or in CI, so nothing here builds an image or
starts a container. The compose file is validated and normalised by `docker-compose config`
(Debian's `docker-compose` package, which needs no engine for that); the Dockerfile and
.dockerignore are checked as text: base image, non-root user, the README's pip install of the
project, nothing fetched at container start.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import KafkaSettings, Settings, WorkerSettings
from tests.conftest import REPO_ROOT
from tests.tools import require_tool

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"

SERVICES = {"kafka", "worker", "prometheus", "grafana"}
WEB_PORT = WorkerSettings().web_port  # 6066


def docker_compose() -> str:
    """The docker-compose executable; a missing one fails the suite (CI installs it)."""
    return require_tool("docker-compose", "docker-compose")


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    return subprocess.run(
        [
            docker_compose(),
            "--file",
            str(COMPOSE_FILE),
            "--project-directory",
            str(REPO_ROOT),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The compose file as docker-compose resolves it (defaults filled, paths absolute)."""
    done = _compose("config")
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert isinstance(resolved, dict)
    return resolved


def _service(config: dict[str, Any], name: str) -> dict[str, Any]:
    service = config["services"][name]
    assert isinstance(service, dict)
    return service


def _published(service: dict[str, Any]) -> dict[int, int]:
    """{container port: host port} from short ("6066:6066") or long form port entries."""
    ports: dict[int, int] = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports[int(entry["target"])] = int(entry["published"])
        else:
            host, _, container = str(entry).rpartition(":")
            ports[int(container.split("/")[0])] = int(host.rsplit(":", 1)[-1])
    return ports


def _command(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def _healthcheck_command(service: dict[str, Any]) -> str:
    check = service.get("healthcheck")
    assert check, "service has no healthcheck"
    test = check["test"]
    parts = _command(test)
    assert parts[0] in {"CMD", "CMD-SHELL"}, test
    return " ".join(parts[1:])


def _volume_targets(service: dict[str, Any]) -> dict[str, Path]:
    """{container path: host path} for the bind mounts of a service."""
    mounts: dict[str, Path] = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mounts[entry["target"]] = Path(entry["source"])
        else:
            source, target = str(entry).split(":")[:2]
            mounts[target] = Path(source)
    return mounts


# --- docker-compose.yml ---------------------------------------------------------------------


def test_compose_file_is_valid() -> None:
    done = _compose("config", "-q")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr


def test_services_and_healthchecks(config: dict[str, Any]) -> None:
    assert set(config["services"]) == SERVICES
    for name in SERVICES:
        check = _service(config, name)["healthcheck"]
        assert check.get("test") and not check.get("disable"), name
        assert check.get("interval") and check.get("retries"), name


def test_kafka_is_a_single_kraft_node(config: dict[str, Any]) -> None:
    kafka = _service(config, "kafka")
    assert kafka["image"] == "apache/kafka:4.1.1"
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]) == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert not any("ZOOKEEPER" in key for key in env)
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert int(env[key]) == 1, key  # one broker: internal topics cannot have more replicas
    advertised = env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "PLAINTEXT://kafka:9092" in advertised  # what the worker connects to
    # The host listener is published on the port it advertises.
    external = [a for a in advertised if a.startswith("EXTERNAL://localhost:")]
    assert external
    port = int(external[0].rsplit(":", 1)[1])
    assert _published(kafka) == {port: port}
    # Healthy means a client round trip to the broker, not an open port.
    assert "kafka-broker-api-versions.sh --bootstrap-server localhost:9092" in (
        _healthcheck_command(kafka)
    )


def test_worker_is_built_from_the_dockerfile_and_runs_streams_worker(
    config: dict[str, Any],
) -> None:
    worker = _service(config, "worker")
    build = worker["build"]
    assert Path(build["context"]).resolve() == REPO_ROOT.resolve()
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert _command(worker["command"]) == ["streams", "worker"]
    assert worker["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert _published(worker) == {WEB_PORT: WEB_PORT}
    assert f"http://127.0.0.1:{WEB_PORT}/healthz" in _healthcheck_command(worker)
    assert worker.get("init") is True  # reaps the NLP pool's processes; SIGTERM reaches streams


def test_worker_environment_names_real_settings(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every STREAMS_*/KAFKA_* variable the compose file sets is one the settings read."""
    env = _service(config, "worker")["environment"]
    for key in list(os.environ):
        if key.startswith(("STREAMS_", "KAFKA_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()  # nested groups forbid unknown fields: a typo raises here
    for key, value in env.items():
        if key.startswith("KAFKA_"):
            field = key.removeprefix("KAFKA_").lower()
            assert field in KafkaSettings.model_fields, key
            assert str(getattr(settings.kafka, field)) == str(value), key
        else:
            assert key.startswith("STREAMS_"), key
            group, _, field = key.removeprefix("STREAMS_").lower().partition("__")
            assert str(getattr(getattr(settings, group), field)) == str(value), key


def test_prometheus_scrapes_the_worker(config: dict[str, Any]) -> None:
    prometheus = _service(config, "prometheus")
    assert str(prometheus["image"]).startswith("prom/prometheus:")
    mounts = _volume_targets(prometheus)
    assert mounts["/etc/prometheus/prometheus.yml"].resolve() == PROMETHEUS_CONFIG.resolve()
    assert _published(prometheus) == {9090: 9090}
    scrape = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    targets = [t for group in jobs["streams"]["static_configs"] for t in group["targets"]]
    assert targets == [f"worker:{WEB_PORT}"]
    assert jobs["streams"].get("metrics_path", "/metrics") == "/metrics"
    assert "/-/healthy" in _healthcheck_command(prometheus)


def test_grafana_is_provisioned_with_the_datasource_and_dashboard(config: dict[str, Any]) -> None:
    grafana = _service(config, "grafana")
    assert str(grafana["image"]).startswith("grafana/grafana:")
    assert _published(grafana) == {3000: 3000}
    mounts = _volume_targets(grafana)
    provisioning = GRAFANA_DIR / "provisioning"
    for kind in ("datasources", "dashboards"):
        host = mounts[f"/etc/grafana/provisioning/{kind}"]
        assert host.resolve() == (provisioning / kind).resolve()
    # The dashboard provider reads the directory the dashboards are mounted at.
    providers = yaml.safe_load(
        (provisioning / "dashboards" / "streams.yml").read_text(encoding="utf-8")
    )["providers"]
    provider_path = providers[0]["options"]["path"]
    assert mounts[provider_path].resolve() == (GRAFANA_DIR / "dashboards").resolve()
    home = grafana["environment"].get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    assert home == f"{provider_path}/streams.json"
    # The datasource points at the prometheus service.
    datasources = yaml.safe_load(
        (provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"]
    assert [d["url"] for d in datasources] == ["http://prometheus:9090"]
    assert "/api/health" in _healthcheck_command(grafana)


# --- Dockerfile (static: no Docker engine here) ---------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), " ".join(rest.split())))
    return result


def test_dockerfile_base_image_and_non_root_user() -> None:
    instructions = _instructions()
    assert [args for kw, args in instructions if kw == "FROM"] == ["python:3.11-slim"]
    users = [i for i, (kw, _) in enumerate(instructions) if kw == "USER"]
    assert users, "the image must not run as root"
    last_user = instructions[users[-1]][1]
    assert last_user.split(":")[0] not in {"root", "0"}
    installs = [i for i, (kw, args) in enumerate(instructions) if kw == "RUN" and "pip" in args]
    assert users[-1] > max(installs)  # packages are installed as root, the worker is not


def _pip_installs(text: str) -> list[list[str]]:
    """Argument lists of every `pip install` in a Makefile recipe or Dockerfile RUN."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    joined = re.sub(r"\\\n", " ", code)
    return [
        [word for word in shlex.split(args) if not word.startswith("--quiet")]
        for args in re.findall(r"\bpip install ([^&;|\n]*)", joined)
    ]


def test_dockerfile_installs_the_project_with_pip_like_the_makefile() -> None:
    docker = _pip_installs(DOCKERFILE.read_text(encoding="utf-8"))
    make = _pip_installs((REPO_ROOT / "Makefile").read_text(encoding="utf-8"))
    # The same two steps: upgrade pip, then install this repository (the Makefile adds
    # `-e` and the dev extra for development; the image takes the runtime dependencies).
    assert ["--upgrade", "pip"] in docker and ["--upgrade", "pip"] in make
    assert ["."] in docker
    assert ["-e", ".[dev]"] in make
    copied = [args.split() for kw, args in _instructions() if kw == "COPY"]
    sources = {src for parts in copied for src in parts[:-1] if not src.startswith("--")}
    assert {"pyproject.toml", "README.md", "streams"} <= sources  # README: pyproject's readme


def test_container_start_downloads_nothing() -> None:
    instructions = _instructions()
    cmds = [args for kw, args in instructions if kw == "CMD"]
    assert cmds == ['["streams", "worker"]']  # exec form: the worker gets SIGTERM itself
    assert not [kw for kw, _ in instructions if kw == "ENTRYPOINT"]
    text = DOCKERFILE.read_text(encoding="utf-8").lower()
    for fetch in ("spacy download", "curl ", "wget ", "git clone", "huggingface"):
        assert fetch not in text, fetch
    urls = re.findall(r"https?://[^\s'\"]+", text)
    assert all(url.startswith("http://127.0.0.1:") for url in urls), urls
    # The model the worker loads is a pip dependency, so `pip install .` bakes it in.
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    model = Settings().core.spacy_model.replace("_", "-")
    assert re.search(rf'"{re.escape(model)}==[\d.]+"', pyproject), model


def test_dockerfile_exposes_the_web_port_with_a_healthcheck() -> None:
    instructions = _instructions()
    assert ("EXPOSE", str(WEB_PORT)) in instructions
    checks = [args for kw, args in instructions if kw == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "python -c" in checks[0] and "urllib.request" in checks[0]
    assert "/healthz" in checks[0] and f"'{WEB_PORT}'" in checks[0]


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        cleaned = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatchcase(prefix, cleaned) for prefix in prefixes):
            ignored = not negated
    return ignored


def test_dockerignore_sends_only_what_pip_install_reads() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    package = [
        p.relative_to(REPO_ROOT).as_posix()
        for p in (REPO_ROOT / "streams").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    for path in ["pyproject.toml", "README.md", *package]:
        assert not _dockerignored(path, patterns), path
    for path in [
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        ".kafka/x.jar",
        "streams/__pycache__/cli.cpython-311.pyc",
        "streams/core/__pycache__/a.pyc",
    ]:
        assert _dockerignored(path, patterns), path
