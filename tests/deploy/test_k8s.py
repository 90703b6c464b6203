"""deploy/k8s: every overlay rendered, validated, and tied to the worker's code and measurements.

Each overlay under deploy/k8s/overlays is rendered by the kustomize release that
scripts/ci-deps.sh pins and builds (no cluster is needed or used). Native objects are validated
against the Kubernetes API schemas of `K8S_VERSION` (kubernetes-validate, strict: an unknown
field fails); the CRD objects (PodMonitor, ScaledObject, TriggerAuthentication) against pydantic
models generated from the operators' CRD schemas (cloudcoil-models-*), with unknown fields
forbidden. The other checks tie the manifests to the code (settings, routes, app id) and to the
benchmark's figures (benchmarks/results/throughput.json).

Every check is a function that raises AssertionError; `test_check_catches_a_broken_manifest`
runs each on a broken copy of the production render, so none of them can pass vacuously. The
last test starts a real worker (local broker) with the production ConfigMap's settings.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import kubernetes_validate
import orjson
import pydantic
import pytest
import yaml
from aiokafka import AIOKafkaProducer, TopicPartition

from streams.app.app import build_app
from streams.localkafka import LocalKafka
from streams.settings import KafkaSettings, Settings
from tests.conftest import REPO_ROOT
from tests.kafka_fixtures import read_records, run_async

K8S_DIR = REPO_ROOT / "deploy" / "k8s"
OVERLAYS = sorted(
    path.name for path in (K8S_DIR / "overlays").iterdir() if (path / "kustomization.yaml").exists()
)
CI_DEPS = REPO_ROOT / "scripts" / "ci-deps.sh"
THROUGHPUT = REPO_ROOT / "benchmarks" / "results" / "throughput.json"
DOCKERFILE = REPO_ROOT / "Dockerfile"
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml"

K8S_VERSION = "1.33.0"
"""Kubernetes release whose API schemas the native objects must satisfy: the oldest the
manifests promise to work on (every field they use exists there)."""

WORKER = "streams-worker"
"""Name of the StatefulSet (and of its Service, PDB, ScaledObject, PodMonitor)."""

CREDENTIALS = ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")
"""Variables that may only come from a Secret."""

GRACE_OVER_SLOWEST_INPUT = 10
"""terminationGracePeriodSeconds must be at least this many times the slowest measured input."""

KEDA_SASL = {"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}
"""KAFKA_SASL_MECHANISM → the KEDA kafka trigger's `sasl` value."""

Objects = list[dict[str, Any]]


# --- rendering ------------------------------------------------------------------------------


def kustomize() -> Path:
    """The kustomize binary scripts/ci-deps.sh built (its pin and path are read from the script)."""
    script = CI_DEPS.read_text(encoding="utf-8")
    found = re.search(r"^KUSTOMIZE_VERSION=(v[\d.]+)$", script, re.MULTILINE)
    assert found, "scripts/ci-deps.sh pins no KUSTOMIZE_VERSION"
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    binary = cache_home / "streams" / "bin" / f"kustomize-{found.group(1)}"
    if not binary.exists():
        pytest.fail(f"kustomize {found.group(1)} not found at {binary}: run scripts/ci-deps.sh")
    return binary


@cache
def _render(overlay: str) -> str:
    done = subprocess.run(
        [str(kustomize()), "build", str(K8S_DIR / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"kustomize build {overlay}: {done.stderr}"
    return done.stdout


def render(overlay: str) -> Objects:
    """The overlay's objects as kustomize renders them (a fresh copy each call)."""
    objects = [obj for obj in yaml.safe_load_all(_render(overlay)) if obj]
    assert all(isinstance(obj, dict) for obj in objects)
    return objects


def find(objects: Objects, kind: str, name: str = WORKER) -> dict[str, Any]:
    """The one object of `kind` named `name`."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def kinds(objects: Objects) -> set[str]:
    return {obj["kind"] for obj in objects}


def pod_spec(objects: Objects) -> dict[str, Any]:
    spec: dict[str, Any] = find(objects, "StatefulSet")["spec"]["template"]["spec"]
    return spec


def container(objects: Objects) -> dict[str, Any]:
    containers = pod_spec(objects)["containers"]
    assert [c["name"] for c in containers] == ["worker"]
    worker: dict[str, Any] = containers[0]
    return worker


def configmap(objects: Objects) -> dict[str, str]:
    """The data of the ConfigMap the worker container takes its environment from."""
    refs = [e["configMapRef"]["name"] for e in container(objects).get("envFrom", [])]
    assert len(refs) == 1, refs
    maps = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == refs[0]]
    assert len(maps) == 1, f"envFrom names ConfigMap {refs[0]}, which is not rendered"
    return dict(maps[0].get("data", {}))


def worker_env(objects: Objects) -> dict[str, str]:
    """The worker's environment; a Secret's value stands as `<secret name/key>`."""
    env = configmap(objects)
    for entry in container(objects).get("env", []):
        source = entry.get("valueFrom", {})
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            env[entry["name"]] = f"<secret {ref['name']}/{ref['key']}>"
        elif source.get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[entry["name"]] = f"{WORKER}-0"
        else:
            raise AssertionError(f"unexpected env source for {entry['name']}: {entry}")
    return env


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """os.environ with every STREAMS_*/KAFKA_* variable replaced by `env`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMS_", "KAFKA_"))}
    with mock.patch.dict(os.environ, kept | dict(env), clear=True):
        yield


def settings_of(objects: Objects) -> Settings:
    """`Settings` built from the worker's environment, as `streams worker` reads it."""
    with environment(worker_env(objects)):
        return Settings()


@cache
def benchmark() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(THROUGHPUT.read_text(encoding="utf-8"))
    return data


def measured_run(workers: int = 1) -> dict[str, Any]:
    runs = [r for r in benchmark()["runs"] if r["name"] == f"service-{workers}"]
    assert len(runs) == 1
    return dict(runs[0])


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9, "m": 1e-3}


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity ("1280Mi", "1100m", "2") as a number (bytes, cores)."""
    found = re.fullmatch(r"([\d.]+)([A-Za-z]*)", str(value))
    assert found, f"not a quantity: {value}"
    number, unit = found.groups()
    return float(number) * _UNITS[unit] if unit else float(number)


# --- checks (each raises AssertionError) ----------------------------------------------------

CRD_KINDS = {"PodMonitor", "ScaledObject", "TriggerAuthentication"}


def check_native_schemas(objects: Objects) -> None:
    """Every native object is valid for K8S_VERSION, with no field the API does not know."""
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(
                f"{obj['kind']} {obj['metadata']['name']}: {error.message} "
                f"at {'/'.join(map(str, error.path))}"
            ) from error


@cache
def crd_models() -> dict[tuple[str, str], type[pydantic.BaseModel]]:
    """(apiVersion, kind) → the model generated from the operator's CRD schema."""
    from cloudcoil.models.keda import v1alpha1 as keda
    from cloudcoil.models.prometheus_operator import v1 as monitoring

    return {
        ("keda.sh/v1alpha1", "ScaledObject"): keda.ScaledObject,
        ("keda.sh/v1alpha1", "TriggerAuthentication"): keda.TriggerAuthentication,
        ("monitoring.coreos.com/v1", "PodMonitor"): monitoring.PodMonitor,
    }


def unknown_fields(given: Any, kept: Any, path: str = "") -> list[str]:
    """Paths in `given` that validation dropped: fields the schema does not have (the
    generated models ignore extra fields rather than reject them)."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [path or "/"]
        return [
            found
            for key, value in given.items()
            for found in (
                unknown_fields(value, kept[key], f"{path}/{key}")
                if key in kept
                else [f"{path}/{key}"]
            )
        ]
    if isinstance(given, list):
        if not isinstance(kept, list) or len(kept) != len(given):
            return [path]
        return [
            p
            for i, (g, k) in enumerate(zip(given, kept, strict=True))
            for p in unknown_fields(g, k, f"{path}/{i}")
        ]
    return []


def check_crd_objects(objects: Objects) -> None:
    """PodMonitor, ScaledObject, TriggerAuthentication satisfy their CRDs' schemas: types,
    enums and required fields by validation, no unknown field by comparing what it kept."""
    models = crd_models()
    for obj in objects:
        if obj["kind"] not in CRD_KINDS:
            continue
        name = f"{obj['kind']} {obj['metadata']['name']}"
        model = models[(obj["apiVersion"], obj["kind"])]
        try:
            parsed = model.model_validate(obj)
        except pydantic.ValidationError as error:
            raise AssertionError(f"{name}: {error}") from error
        kept = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
        unknown = unknown_fields(obj, kept)
        assert not unknown, f"{name}: fields not in the CRD schema: {unknown}"


def check_env_names_real_settings(objects: Objects) -> None:
    """Every STREAMS_*/KAFKA_* variable is a setting, and `Settings` reads its value."""
    env = worker_env(objects)
    try:
        settings = settings_of(objects)  # nested groups forbid unknown fields
    except pydantic.ValidationError as error:
        raise AssertionError(f"the worker's environment is not valid settings: {error}") from error
    for key, value in env.items():
        if key.startswith("KAFKA_"):
            field = key.removeprefix("KAFKA_").lower()
            assert field in KafkaSettings.model_fields, f"{key} is not a Kafka setting"
            read = getattr(settings.kafka, field)
            read = read.get_secret_value() if isinstance(read, pydantic.SecretStr) else read
        else:
            assert key.startswith("STREAMS_"), f"{key} is neither STREAMS_* nor KAFKA_*"
            group, _, field = key.removeprefix("STREAMS_").lower().partition("__")
            assert group in Settings.model_fields, f"{key}: no settings group {group!r}"
            model = type(getattr(settings, group))
            assert field in model.model_fields, f"{key} is not a setting of {group}"
            read = getattr(getattr(settings, group), field)
        assert str(read) == value, f"{key}={value!r} reads as {read!r}"


def check_secrets_by_reference(objects: Objects) -> None:
    """No Secret is rendered, and credentials come only through secretKeyRef."""
    assert "Secret" not in kinds(objects), "a Secret with values is part of the manifests"
    data = configmap(objects)
    for name in CREDENTIALS:
        assert name not in data, f"{name} is in the ConfigMap"
    for entry in container(objects).get("env", []):
        if entry["name"] in CREDENTIALS:
            assert "secretKeyRef" in entry.get("valueFrom", {}), f"{entry['name']} is not a ref"
    if settings_of(objects).kafka.security_protocol.startswith("SASL_"):
        refs = {e["name"] for e in container(objects)["env"] if "valueFrom" in e}
        assert set(CREDENTIALS) <= refs, "SASL without credentials from a Secret"


def check_ca_file_is_mounted(objects: Objects) -> None:
    """KAFKA_SSL_CAFILE is a file of a Secret mounted read-only in the container."""
    cafile = settings_of(objects).kafka.ssl_cafile
    if cafile is None:
        return
    volumes = {v["name"]: v for v in pod_spec(objects).get("volumes", [])}
    mounts = [
        m for m in container(objects)["volumeMounts"] if Path(m["mountPath"]) == cafile.parent
    ]
    assert len(mounts) == 1, f"nothing is mounted at {cafile.parent}"
    assert mounts[0].get("readOnly") is True
    secret = volumes[mounts[0]["name"]].get("secret")
    assert secret, f"{cafile.parent} is not a Secret volume"
    assert cafile.name in {item["path"] for item in secret.get("items", [])}, cafile


def faust_app(settings: Settings) -> Any:
    """The worker's Faust app for `settings` (built, never started: nothing connects).

    The Kafka connection is swapped for a plaintext one, because building it reads the
    CA file, which exists only in the pod; neither the routes nor the group id depend on it.
    """
    assert settings.kafka.bootstrap_servers, "KAFKA_BOOTSTRAP_SERVERS is not set"
    with environment({}):
        kafka = KafkaSettings(bootstrap_servers=settings.kafka.bootstrap_servers)
    return build_app(settings.model_copy(update={"kafka": kafka}))


def app_routes(settings: Settings) -> set[str]:
    """Paths the worker's web server serves."""
    app = faust_app(settings)
    return {route.resource.canonical for route in app.web.web_app.router.routes()}


def check_probes(objects: Objects) -> None:
    """Liveness and startup on /healthz, readiness on /readyz, at the worker's web port."""
    settings = settings_of(objects)
    worker = container(objects)
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    assert ports.get("http") == settings.worker.web_port, (ports, settings.worker.web_port)
    expected = {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    served = app_routes(settings)
    for probe, path in expected.items():
        get = worker[probe]["httpGet"]
        assert get["path"] == path, f"{probe} on {get['path']}, expected {path}"
        assert get["path"] in served, f"{probe}: the worker serves no {get['path']}"
        assert ports.get(get["port"], get["port"]) == settings.worker.web_port, probe
    # The startup probe outlasts the liveness probe's patience: a slow start is not a hang.
    startup, live = worker["startupProbe"], worker["livenessProbe"]
    assert startup_budget(objects) >= live["periodSeconds"] * live["failureThreshold"]
    assert startup.get("timeoutSeconds", 1) < startup["periodSeconds"]


def startup_budget(objects: Objects) -> int:
    probe = container(objects)["startupProbe"]
    return int(probe["periodSeconds"] * probe["failureThreshold"])


def check_keda_reads_the_workers_group(objects: Objects) -> None:
    """The kafka trigger watches the worker's own group, input topic and brokers."""
    if "ScaledObject" not in kinds(objects):
        return
    settings = settings_of(objects)
    scaled = find(objects, "ScaledObject")
    target = scaled["spec"]["scaleTargetRef"]
    assert (target.get("kind"), target["name"]) == ("StatefulSet", WORKER), target
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    group = faust_app(settings).conf.id  # Faust's consumer group id
    assert meta["consumerGroup"] == group, f"trigger group {meta['consumerGroup']}, app {group}"
    assert meta["topic"] == settings.topics.input, (meta["topic"], settings.topics.input)
    assert meta["bootstrapServers"] == settings.kafka.bootstrap_servers
    protocol = settings.kafka.security_protocol
    assert meta.get("tls", "disable") == ("enable" if protocol.endswith("SSL") else "disable")
    mechanism = settings.kafka.sasl_mechanism
    assert meta.get("sasl", "none") == (KEDA_SASL[mechanism] if mechanism else "none")
    # The trigger authenticates with the same Secret keys as the worker.
    if mechanism:
        auth = find(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
        env = worker_env(objects)
        assert f"<secret {'/'.join(refs['username'])}>" == env["KAFKA_SASL_USERNAME"]
        assert f"<secret {'/'.join(refs['password'])}>" == env["KAFKA_SASL_PASSWORD"]


def check_replicas_within_input_partitions(objects: Objects) -> None:
    """No more workers than input partitions: a member beyond them gets no input."""
    partitions = settings_of(objects).topics.partitions
    replicas = find(objects, "StatefulSet")["spec"].get("replicas", 1)
    assert 1 <= replicas <= partitions, (replicas, partitions)
    if "ScaledObject" in kinds(objects):
        # KEDA's HPA owns the count; one in the manifest would reset it on each apply
        assert "replicas" not in find(objects, "StatefulSet")["spec"], "replicas beside KEDA"
        spec = find(objects, "ScaledObject")["spec"]
        low, high = spec.get("minReplicaCount", 0), spec["maxReplicaCount"]
        assert high <= partitions, f"maxReplicaCount {high} > {partitions} input partitions"
        assert 1 <= low <= high, (low, high)


def needed_memory_bytes(processes: int) -> float:
    """Measured peak RSS of one worker, plus one more NLP process's RSS per extra process."""
    run = measured_run()
    [peak] = run["peak_rss_mb_per_worker"]
    [by_process] = run["rss_mb_by_process_at_peak"]  # the main process first, then its children
    nlp = max(by_process[1:])  # the NLP process (model and paragraph cache) is the largest child
    return float(peak + (processes - 1) * nlp) * 2**20


def check_resources_hold_the_measured_worker(objects: Objects) -> None:
    """Memory request and limit hold the measured peak RSS; an autoscaled worker requests
    the cores it measured (the HPA and the scheduler work from requests)."""
    settings = settings_of(objects)
    resources = container(objects)["resources"]
    need = needed_memory_bytes(settings.worker.processes)
    for kind in ("requests", "limits"):
        memory = quantity(resources[kind]["memory"])
        assert memory >= need, f"memory {kind} {memory / 2**20:.0f} MiB < {need / 2**20:.0f}"
    assert quantity(resources["limits"]["cpu"]) >= 1, "the NLP process needs a whole core"
    if "ScaledObject" in kinds(objects):
        cores = measured_run()["cores_used"] * settings.worker.processes
        assert quantity(resources["requests"]["cpu"]) >= cores, (resources, cores)


def check_grace_period(objects: Objects) -> None:
    """The grace period outlasts the slowest measured input many times over."""
    slowest = max(run["max_seconds"] for run in benchmark()["latency"])
    grace = pod_spec(objects)["terminationGracePeriodSeconds"]
    assert grace >= GRACE_OVER_SLOWEST_INPUT * slowest, (grace, slowest)


def dockerfile_user() -> tuple[int, int]:
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    uid, _, gid = users[-1].partition(":")
    return int(uid), int(gid or uid)


def check_security_context(objects: Objects) -> None:
    """Non-root as the image's user, no escalation, no capabilities, read-only root."""
    pod = pod_spec(objects)
    uid, gid = dockerfile_user()
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (uid, gid, gid)
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    own = container(objects)["securityContext"]
    assert own["allowPrivilegeEscalation"] is False
    assert own.get("privileged", False) is False
    assert own["readOnlyRootFilesystem"] is True
    assert own["capabilities"]["drop"] == ["ALL"] and not own["capabilities"].get("add")
    assert own.get("runAsUser", uid) == uid


def check_writable_volumes(objects: Objects) -> None:
    """With a read-only root, the data directory (the pod's claim) and /tmp are volumes."""
    settings = settings_of(objects)
    mounts = {Path(m["mountPath"]): m for m in container(objects)["volumeMounts"]}
    data = mounts.get(settings.worker.data_dir)
    assert data and not data.get("readOnly"), f"{settings.worker.data_dir} is not writable"
    claims = {
        t["metadata"]["name"] for t in find(objects, "StatefulSet")["spec"]["volumeClaimTemplates"]
    }
    assert data["name"] in claims, "the data directory is not the pod's own volume"
    tmp = mounts.get(Path("/tmp"))
    assert tmp and not tmp.get("readOnly"), "/tmp is not writable"
    assert settings.worker.store.startswith("rocksdb://"), "tables are not on the volume"


def prometheus_job() -> str:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    assert "streams" in jobs
    return "streams"


def check_selectors(objects: Objects) -> None:
    """Service, PDB and PodMonitor select the worker pods; PodMonitor's job is `streams`."""
    sts = find(objects, "StatefulSet")
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()

    def selects(selector: Mapping[str, str]) -> bool:
        return bool(selector) and selector.items() <= labels.items()

    service = find(objects, "Service")
    assert service["spec"]["clusterIP"] == "None" and sts["spec"]["serviceName"] == WORKER
    assert selects(service["spec"]["selector"])
    pdb = find(objects, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"]["matchLabels"])
    assert pdb["spec"]["maxUnavailable"] == 1
    # the network policy lets in the web port only
    policy = find(objects, "NetworkPolicy")["spec"]
    assert selects(policy["podSelector"]["matchLabels"]) and "Ingress" in policy["policyTypes"]
    opened = {port["port"] for rule in policy["ingress"] for port in rule["ports"]}
    assert opened == {"http"}, opened
    if "PodMonitor" in kinds(objects):
        monitor = find(objects, "PodMonitor")["spec"]
        assert selects(monitor["selector"]["matchLabels"])
        assert labels[monitor["jobLabel"]] == prometheus_job()
        ports = {p["name"] for p in container(objects)["ports"]}
        for endpoint in monitor["podMetricsEndpoints"]:
            assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
            assert endpoint["path"] in app_routes(settings_of(objects))


def check_container_runs_the_image_command(objects: Objects) -> None:
    """The container runs the Dockerfile's CMD (`streams worker`) and exposes its port."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    [cmd] = re.findall(r"^CMD\s+(\[.*\])$", text, re.MULTILINE)
    worker = container(objects)
    assert worker.get("command", json.loads(cmd)) == json.loads(cmd)
    [exposed] = re.findall(r"^EXPOSE\s+(\d+)$", text, re.MULTILINE)
    assert int(exposed) in {p["containerPort"] for p in worker["ports"]}


CHECKS: dict[str, Callable[[Objects], None]] = {
    "native_schemas": check_native_schemas,
    "crd_objects": check_crd_objects,
    "env_names_real_settings": check_env_names_real_settings,
    "secrets_by_reference": check_secrets_by_reference,
    "ca_file_is_mounted": check_ca_file_is_mounted,
    "probes": check_probes,
    "keda_reads_the_workers_group": check_keda_reads_the_workers_group,
    "replicas_within_input_partitions": check_replicas_within_input_partitions,
    "resources_hold_the_measured_worker": check_resources_hold_the_measured_worker,
    "grace_period": check_grace_period,
    "security_context": check_security_context,
    "writable_volumes": check_writable_volumes,
    "selectors": check_selectors,
    "container_runs_the_image_command": check_container_runs_the_image_command,
}


# --- the tests ------------------------------------------------------------------------------


def test_overlays_exist_and_render() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)
    for overlay in OVERLAYS:
        objects = render(overlay)
        assert {"StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap"} <= kinds(objects)
    assert "ScaledObject" in kinds(render("production"))
    assert "PodMonitor" in kinds(render("production"))


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("check", list(CHECKS))
def test_overlay(overlay: str, check: str) -> None:
    CHECKS[check](render(overlay))


def test_overlays_differ_where_they_should() -> None:
    dev, production = (settings_of(render(o)) for o in ("dev", "production"))
    assert dev.kafka.security_protocol == "PLAINTEXT"
    assert production.kafka.security_protocol == "SASL_SSL"
    assert find(render("dev"), "StatefulSet")["spec"]["replicas"] == 1
    assert production.topics.replication_factor >= 3


def _set(path: str, value: Any) -> Callable[[Objects], None]:
    """A mutation: set `kind:dotted.path` (list items by index) in the production render."""
    kind, _, dotted = path.partition(":")

    def mutate(objects: Objects) -> None:
        target: Any = next(o for o in objects if o["kind"] == kind)
        *parents, last = dotted.split(".")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


CONTAINER = "StatefulSet:spec.template.spec.containers.0"


def _add_env(name: str, value: str) -> Callable[[Objects], None]:
    def mutate(objects: Objects) -> None:
        next(o for o in objects if o["kind"] == "ConfigMap")["data"][name] = value

    return mutate


def _secret_as_value(objects: Objects) -> None:
    for entry in container(objects)["env"]:
        if entry["name"] == "KAFKA_SASL_PASSWORD":
            entry.pop("valueFrom")
            entry["value"] = "hunter2"


BROKEN: list[tuple[str, str, Callable[[Objects], None]]] = [
    ("native_schemas", "a misspelt field", _set(f"{CONTAINER}.livenesProbe", {})),
    ("native_schemas", "a wrong type", _set("StatefulSet:spec.replicas", "two")),
    ("crd_objects", "a misspelt ScaledObject field", _set("ScaledObject:spec.maxReplicas", 4)),
    (
        "crd_objects",
        "a PodMonitor endpoint list as a map",
        _set("PodMonitor:spec.podMetricsEndpoints", {}),
    ),
    (
        "env_names_real_settings",
        "a misspelt STREAMS_ name",
        _add_env("STREAMS_WORKER__PROCESS", "2"),
    ),
    (
        "env_names_real_settings",
        "a misspelt KAFKA_ name",
        _add_env("KAFKA_BOOTSTRAP_SERVER", "x:1"),
    ),
    ("env_names_real_settings", "an invalid value", _add_env("STREAMS_WORKER__PROCESSES", "0")),
    ("secrets_by_reference", "a password as a value", _secret_as_value),
    ("secrets_by_reference", "a password in the ConfigMap", _add_env("KAFKA_SASL_PASSWORD", "x")),
    ("ca_file_is_mounted", "a CA path nothing mounts", _add_env("KAFKA_SSL_CAFILE", "/etc/ca.pem")),
    (
        "probes",
        "readiness on a path not served",
        _set(f"{CONTAINER}.readinessProbe.httpGet.path", "/ready"),
    ),
    ("probes", "liveness on /readyz", _set(f"{CONTAINER}.livenessProbe.httpGet.path", "/readyz")),
    ("probes", "the web port moved", _add_env("STREAMS_WORKER__WEB_PORT", "8080")),
    (
        "keda_reads_the_workers_group",
        "another consumer group",
        _set("ScaledObject:spec.triggers.0.metadata.consumerGroup", "other"),
    ),
    (
        "keda_reads_the_workers_group",
        "another app id",
        _add_env("STREAMS_WORKER__APP_ID", "streams-v2"),
    ),
    (
        "keda_reads_the_workers_group",
        "another input topic",
        _add_env("STREAMS_TOPICS__INPUT", "pages"),
    ),
    (
        "keda_reads_the_workers_group",
        "TLS left off",
        _set("ScaledObject:spec.triggers.0.metadata.tls", "disable"),
    ),
    (
        "replicas_within_input_partitions",
        "more replicas than partitions",
        _set("ScaledObject:spec.maxReplicaCount", 9),
    ),
    (
        "replicas_within_input_partitions",
        "a replica count beside KEDA",
        _set("StatefulSet:spec.replicas", 2),
    ),
    (
        "replicas_within_input_partitions",
        "fewer partitions",
        _add_env("STREAMS_TOPICS__PARTITIONS", "4"),
    ),
    (
        "resources_hold_the_measured_worker",
        "memory below the peak RSS",
        _set(f"{CONTAINER}.resources.requests.memory", "900Mi"),
    ),
    (
        "resources_hold_the_measured_worker",
        "a second NLP process",
        _add_env("STREAMS_WORKER__PROCESSES", "2"),
    ),
    (
        "resources_hold_the_measured_worker",
        "CPU below the measured cores",
        _set(f"{CONTAINER}.resources.requests.cpu", "500m"),
    ),
    (
        "grace_period",
        "a 30 s grace period",
        _set("StatefulSet:spec.template.spec.terminationGracePeriodSeconds", 30),
    ),
    (
        "security_context",
        "root",
        _set("StatefulSet:spec.template.spec.securityContext.runAsUser", 0),
    ),
    (
        "security_context",
        "escalation allowed",
        _set(f"{CONTAINER}.securityContext.allowPrivilegeEscalation", True),
    ),
    (
        "security_context",
        "a writable root",
        _set(f"{CONTAINER}.securityContext.readOnlyRootFilesystem", False),
    ),
    (
        "writable_volumes",
        "data elsewhere",
        _add_env("STREAMS_WORKER__DATA_DIR", "/var/lib/streams/other"),
    ),
    ("writable_volumes", "tables in memory", _add_env("STREAMS_WORKER__STORE", "memory://")),
    (
        "selectors",
        "a network policy opening another port",
        _set("NetworkPolicy:spec.ingress.0.ports.0.port", 8080),
    ),
    (
        "selectors",
        "a PDB selecting nothing",
        _set("PodDisruptionBudget:spec.selector.matchLabels", {"app": "x"}),
    ),
    (
        "selectors",
        "a PodMonitor on another port",
        _set("PodMonitor:spec.podMetricsEndpoints.0.port", "metrics"),
    ),
    (
        "container_runs_the_image_command",
        "another command",
        _set(f"{CONTAINER}.command", ["streams", "run"]),
    ),
]


@pytest.mark.parametrize(
    ("check", "mutate"), [(c, m) for c, _, m in BROKEN], ids=[f"{c}: {why}" for c, why, _ in BROKEN]
)
def test_check_catches_a_broken_manifest(check: str, mutate: Callable[[Objects], None]) -> None:
    objects = render("production")
    CHECKS[check](copy.deepcopy(objects))  # passes as rendered
    mutate(objects)
    with pytest.raises(AssertionError):
        CHECKS[check](objects)


def test_every_check_has_a_broken_case() -> None:
    assert {check for check, _, _ in BROKEN} == set(CHECKS)


# --- a real worker with the production ConfigMap's settings ---------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _wait_for(port: int, path: str, process: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds until `path` answers 200 (the process must stay alive meanwhile)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        assert process.poll() is None, f"the worker exited with {process.returncode}"
        try:
            if _get(port, path)[0] == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{path} not 200 after {timeout:.0f}s")


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, MiB."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total / 1024


async def _produce(bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(count):
            event = {
                "url": f"https://news.example/k8s/{i}",
                "fetched_at": "2024-10-28T00:00:00Z",
                "text": f"Bridge {i} closes\n\nThe council said on Tuesday that bridge {i} "
                f"would close after engineers found {i + 3} cracks in its supports.\n\n"
                '"We cannot take any risk," the mayor told reporters.',
            }
            await producer.send_and_wait(topic, orjson.dumps(event), key=f"k8s-{i}".encode())
    finally:
        await producer.stop()


@pytest.mark.kafka
@pytest.mark.timeout(420)
def test_a_worker_runs_on_the_production_settings(kafka_broker: LocalKafka, tmp_path: Path) -> None:
    """`streams worker` with the production ConfigMap's environment against a real broker.

    Only what a single local broker forces is replaced: the connection (plaintext, no SASL or
    CA), the replication factor (1), and, to share the broker with other tests, the app id, the
    topic names and the web port. The store (rocksdb://), the data directory's role, the
    partitions and everything else are the ConfigMap's. As in the pod, HOME and the working
    directory are places nothing may be written to (the root filesystem is read-only there):
    the test checks they stay empty.
    """
    objects = render("production")
    env = worker_env(objects)
    for name in (*CREDENTIALS, "KAFKA_SASL_MECHANISM", "KAFKA_SSL_CAFILE"):
        env.pop(name)
    tag = uuid.uuid4().hex[:8]
    port = _free_port()
    for name in ("home", "cwd", "tmp"):
        (tmp_path / name).mkdir()
    topics = {
        "INPUT": f"raw-{tag}",
        "ARTICLES": f"articles-{tag}",
        "CLAIMS": f"claims-{tag}",
        "DEAD_LETTERS": f"dlq-{tag}",
        "CLAIM_APPEARANCES": f"appearances-{tag}",
    }
    env |= {f"STREAMS_TOPICS__{key}": value for key, value in topics.items()}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
        "STREAMS_TOPICS__REPLICATION_FACTOR": "1",
        "STREAMS_WORKER__APP_ID": f"streams-k8s-{tag}",
        "STREAMS_WORKER__WEB_HOST": "127.0.0.1",
        "STREAMS_WORKER__WEB_PORT": str(port),
        "STREAMS_WORKER__DATA_DIR": str(tmp_path / "data"),
    }
    with environment(env):
        settings = Settings()  # what the worker will read
    assert settings.worker.store == "rocksdb://"
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMS_", "KAFKA_"))}
    process_env = (
        kept
        | env
        | {
            "HOME": str(tmp_path / "home"),
            "TMPDIR": str(tmp_path / "tmp"),
            "PYTHONDONTWRITEBYTECODE": "1",  # as in the image
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
    )
    log_path = tmp_path / "worker.log"
    budget = startup_budget(objects)
    grace = pod_spec(objects)["terminationGracePeriodSeconds"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=process_env,
            cwd=tmp_path / "cwd",
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            alive = _wait_for(port, "/healthz", process, budget)
            ready = _wait_for(port, "/readyz", process, budget)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{log_path.read_text()[-4000:]}") from error
        # the startup probe's budget covers the model load, not only the first /healthz
        assert alive <= ready <= budget
        count = 12
        run_async(_produce(kafka_broker.bootstrap_servers, topics["INPUT"], count))
        records = run_async(
            read_records(
                kafka_broker.bootstrap_servers,
                [TopicPartition(topics["ARTICLES"], p) for p in range(settings.topics.partitions)],
                until=lambda found: len(found) >= count,
                timeout=180,
            )
        )
        if len(records) < count:
            metrics = _get(port, "/metrics")[1].decode()
            progress = [line for line in metrics.splitlines() if line.startswith("streams_")]
            raise AssertionError(
                f"{len(records)} of {count} articles\n"
                + "\n".join(progress[:60])
                + "\n"
                + log_path.read_text()[-3000:]
            )
        status, metrics = _get(port, "/metrics")
        assert status == 200 and b"streams_events_consumed_total" in metrics
        rss = _tree_rss_mib(process.pid)
        # the tables are RocksDB databases in the data directory (the pod's volume)
        assert list((tmp_path / "data").rglob("CURRENT")), "no RocksDB database in DATA_DIR"
        assert not any((tmp_path / "home").iterdir()), list((tmp_path / "home").iterdir())
        assert not any((tmp_path / "cwd").iterdir()), list((tmp_path / "cwd").iterdir())
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=grace)
        stopped = time.monotonic() - stopping
        assert code == 0, log_path.read_text()[-4000:]
        print(
            f"\nproduction settings, local broker: /healthz after {alive:.1f}s, /readyz after "
            f"{ready:.1f}s (startup budget {budget}s); RSS {rss:.0f} MiB after {count} events; "
            f"SIGTERM to exit {stopped:.1f}s (grace {grace}s)"
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
