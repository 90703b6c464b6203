"""`streams topics apply` against the session's real broker: create, converge, refuse.

Every test uses its own uuid topic names and app id; the topics are deleted afterwards.
What was applied is read back with a separate admin client (describe_topics and
describe_configs), not through the module under test.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.kafka_client import client_options
from streams.settings import KafkaSettings, Settings, TopicSettings, WorkerSettings
from streams.topic_admin import apply_topics, create_missing_topics
from streams.topic_plan import TopicPlan, TopicRefusedError
from streams.topic_specs import service_topics
from tests.conftest import REPO_ROOT
from tests.kafka_fixtures import create_topic, run_async

STREAMS = [sys.executable, "-m", "streams.cli"]
DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Observed:
    """A topic as a separate admin client reads it back."""

    partitions: int
    replication_factor: int
    configs: dict[str, str]


class SettingsFactory(Protocol):
    def __call__(self, **topics: Any) -> Settings: ...


async def _observe(kafka: KafkaSettings, names: list[str]) -> dict[str, Observed]:
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    finally:
        await admin.close()
    configs = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in responses
        for resource in response.resources
    }
    return {
        name: Observed(
            len(described[name]["partitions"]),
            len(described[name]["partitions"][0]["replicas"]),
            configs[name],
        )
        for name in names
        if not described[name]["error_code"]
    }


async def _leaderless(kafka: KafkaSettings, names: list[str]) -> list[tuple[str, int]]:
    """The partitions among `names` without a leader (or topics unknown, as partition -1)."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
    finally:
        await admin.close()
    return [
        (name, p["partition"])
        for name in names
        for p in described[name]["partitions"] or [{"partition": -1, "leader": -1}]
        if p["leader"] < 0
    ]


async def _delete(kafka: KafkaSettings, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        if wanted := [name for name in names if name in existing]:
            await admin.delete_topics(wanted, timeout_ms=10_000)
    finally:
        await admin.close()


@pytest.fixture
def make_settings(kafka_settings: KafkaSettings) -> Iterator[SettingsFactory]:
    """Settings with this test's uuid topic names and app id; its topics go afterwards."""
    tag = uuid.uuid4().hex[:12]
    made: list[Settings] = []

    def make(**topics: Any) -> Settings:
        names = {
            "input": f"raw-{tag}",
            "articles": f"articles-{tag}",
            "claims": f"claims-{tag}",
            "dead_letters": f"raw-{tag}.dlq",
            "claim_appearances": f"appearances-{tag}",
            "partitions": 2,
            "parsed_partitions": 3,
        }
        settings = Settings(
            topics=TopicSettings(**(names | topics)),
            worker=WorkerSettings(app_id=f"topics-test-{tag}"),
            kafka=kafka_settings,
        )
        made.append(settings)
        return settings

    yield make
    names = sorted({spec.name for s in made for spec in service_topics(s).all()})
    with contextlib.suppress(Exception):
        run_async(_delete(kafka_settings, names))


def _apply(settings: Settings, *, dry_run: bool = False) -> list[TopicPlan]:
    return run_async(apply_topics(service_topics(settings).all(), settings.kafka, dry_run=dry_run))


def _observe_all(settings: Settings) -> dict[str, Observed]:
    names = [spec.name for spec in service_topics(settings).all()]
    return run_async(_observe(settings.kafka, names))


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_fresh_apply_creates_every_topic_and_a_second_changes_nothing(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    specs = service_topics(settings)

    dry = _apply(settings, dry_run=True)
    assert all(plan.create for plan in dry)
    assert _observe_all(settings) == {}  # a dry run creates nothing

    plans = _apply(settings)
    assert [plan.create for plan in plans] == [True] * len(specs.all())
    observed = _observe_all(settings)
    assert set(observed) == {spec.name for spec in specs.all()}
    for spec in specs.all():
        got = observed[spec.name]
        assert (got.partitions, got.replication_factor) == (
            spec.partitions,
            spec.replication_factor,
        ), spec.name
        assert {k: got.configs[k] for k in spec.configs} == spec.configs, spec.name
    for compacted in (specs.articles, specs.claims, specs.claim_appearances):
        assert observed[compacted.name].configs["cleanup.policy"] == "compact"
    for changelog in specs.changelogs.values():
        assert observed[changelog.name].configs["cleanup.policy"] == "compact"
    assert observed[specs.input.name].configs["cleanup.policy"] == "delete"
    assert observed[specs.input.name].configs["retention.ms"] == str(7 * DAY_MS)
    assert observed[specs.dead_letters.name].configs["retention.ms"] == str(30 * DAY_MS)
    assert observed[specs.articles.name].configs["max.message.bytes"] == str(8 * 1024 * 1024)
    assert observed[specs.parsed.name].partitions == 3
    assert observed[specs.linking.name].partitions == 1

    again = _apply(settings)
    assert all(plan.up_to_date for plan in again), [p.describe() for p in again]
    assert _observe_all(settings) == observed


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_the_worker_creates_only_missing_topics_and_waits_for_their_leaders(
    make_settings: SettingsFactory,
) -> None:
    """What `run_worker` does before it joins: one topic exists with an operator's
    retention; the rest are created as specified and all have leaders on return."""
    settings = make_settings()
    specs = service_topics(settings)
    run_async(create_topic(settings.kafka, specs.input.name, 2, {"retention.ms": "3600000"}))

    created = run_async(create_missing_topics(specs.all(), settings.kafka))

    assert run_async(_leaderless(settings.kafka, [spec.name for spec in specs.all()])) == []
    assert set(created) == {spec.name for spec in specs.all()} - {specs.input.name}
    observed = _observe_all(settings)
    assert set(observed) == {spec.name for spec in specs.all()}
    assert observed[specs.input.name].configs["retention.ms"] == "3600000"  # left alone
    for changelog in specs.changelogs.values():
        assert observed[changelog.name].configs["cleanup.policy"] == "compact"
        assert observed[changelog.name].partitions == changelog.partitions
    assert run_async(create_missing_topics(specs.all(), settings.kafka)) == []


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_changed_retention_is_applied_and_other_overrides_kept(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    _apply(settings)
    dead_letters = service_topics(settings).dead_letters
    # an operator's own override on the topic, which the alter must not reset
    run_async(_set_configs(settings.kafka, dead_letters.name, dead_letters.configs | _SEGMENT))
    _wait_for(lambda: _observe_all(settings)[dead_letters.name].configs["segment.ms"] == "3600000")

    changed = make_settings(dead_letters_retention=timedelta(days=14))
    assert changed.topics.dead_letters == settings.topics.dead_letters
    plans = {plan.spec.name: plan for plan in _apply(changed)}
    assert [(c.name, c.current, c.desired) for c in plans[dead_letters.name].config_changes] == [
        ("retention.ms", str(30 * DAY_MS), str(14 * DAY_MS))
    ]
    assert [name for name, plan in plans.items() if not plan.up_to_date] == [dead_letters.name]
    got = _observe_all(changed)[dead_letters.name].configs
    assert got["retention.ms"] == str(14 * DAY_MS)
    assert got["segment.ms"] == _SEGMENT["segment.ms"]
    assert (got["cleanup.policy"], got["max.message.bytes"]) == ("delete", str(8 * 1024 * 1024))
    assert all(plan.up_to_date for plan in _apply(changed))


_SEGMENT = {"segment.ms": "3600000"}


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Brokers show an altered config a moment after acknowledging it."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the broker did not show the change"
        time.sleep(0.2)


async def _set_configs(kafka: KafkaSettings, topic: str, configs: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        (response,) = await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs)]
        )
        assert all(resource[0] == 0 for resource in response.resources), response
    finally:
        await admin.close()


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_partition_increase_is_applied(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    _apply(settings)
    grown = make_settings(partitions=3, parsed_partitions=4)
    specs = service_topics(grown)
    plans = {plan.spec.name: plan for plan in _apply(grown)}
    widened = {specs.input.name, specs.articles.name, specs.claims.name}
    widened |= {specs.dead_letters.name, specs.claim_appearances.name}
    widened |= {specs.parsed.name, specs.changelogs["enrichments"].name}
    assert {name for name, plan in plans.items() if plan.add_partitions} == widened
    assert "added partitions 2 -> 3" in plans[specs.articles.name].describe()
    observed = _observe_all(grown)
    assert {spec.name: observed[spec.name].partitions for spec in specs.all()} == {
        spec.name: spec.partitions for spec in specs.all()
    }
    assert observed[specs.parsed.name].partitions == 4
    assert all(plan.up_to_date for plan in _apply(grown))


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_shrink_or_replication_change_is_refused_and_nothing_changes(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(partitions=3)
    _apply(settings)
    before = _observe_all(settings)

    # a shrink, asked for together with a change that alone would be applied
    shrunk = make_settings(partitions=2, dead_letters_retention=timedelta(days=1))
    with pytest.raises(TopicRefusedError, match="cannot remove partitions") as refused:
        _apply(shrunk)
    assert "STREAMS_TOPICS__PARTITIONS=3" in str(refused.value)
    assert _observe_all(settings) == before

    replicated = make_settings(partitions=3, replication_factor=2)
    with pytest.raises(TopicRefusedError, match="replication factor 1"):
        _apply(replicated)
    assert _observe_all(settings) == before


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_a_topic_made_with_broker_defaults_is_compacted(make_settings: SettingsFactory) -> None:
    """Today's deployments: `articles` created earlier without configs."""
    settings = make_settings()
    articles = service_topics(settings).articles
    run_async(create_topic(settings.kafka, articles.name, 2, {}))
    plans = {plan.spec.name: plan for plan in _apply(settings)}
    line = plans[articles.name].describe()  # "was" max.message.bytes: the broker's default
    assert line.startswith(f"{articles.name}: set cleanup.policy=compact (was delete), ")
    assert "max.message.bytes=8388608 (was " in line
    configs = _observe_all(settings)[articles.name].configs
    assert (configs["cleanup.policy"], configs["max.message.bytes"]) == ("compact", "8388608")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMS_", "KAFKA_"))}
    return subprocess.run(
        [*STREAMS, *args],
        env=base | env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(settings: Settings) -> dict[str, str]:
    topics = settings.topics
    return {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers or "",
        "STREAMS_WORKER__APP_ID": settings.worker.app_id,
        "STREAMS_TOPICS__INPUT": topics.input,
        "STREAMS_TOPICS__ARTICLES": topics.articles,
        "STREAMS_TOPICS__CLAIMS": topics.claims,
        "STREAMS_TOPICS__DEAD_LETTERS": topics.dead_letters,
        "STREAMS_TOPICS__CLAIM_APPEARANCES": topics.claim_appearances,
        "STREAMS_TOPICS__PARTITIONS": str(topics.partitions),
        "STREAMS_TOPICS__PARSED_PARTITIONS": str(topics.parsed_partitions),
    }


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_cli_apply_plan_and_refusal(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    env = _env(settings)
    names = [spec.name for spec in service_topics(settings).all()]

    first = _cli("topics", "apply", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == names
    assert all(": created with " in line for line in lines), lines
    assert f"{len(names)} topics: {len(names)} created" in first.stderr

    second = _cli("topics", "plan", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [f"{name}: up to date" for name in names]
    assert f"all {len(names)} topics up to date" in second.stderr

    refused = _cli("topics", "apply", env=env | {"STREAMS_TOPICS__PARTITIONS": "1"})
    assert refused.returncode == 1
    assert refused.stdout == ""
    error_lines = [line for line in refused.stderr.splitlines() if line.startswith("streams:")]
    assert len(error_lines) == 1 and "cannot remove partitions" in error_lines[0]
    assert "Traceback" not in refused.stderr


def test_every_topics_verb_has_help() -> None:
    for verb in ([], ["show"], ["plan"], ["apply"]):
        done = _cli("topics", *verb, "--help", env={})
        assert done.returncode == 0 and "Usage: streams topics" in done.stdout, done.stderr


def test_apply_without_a_broker_is_one_line() -> None:
    done = _cli("topics", "apply", env={})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "streams: error: KAFKA_BOOTSTRAP_SERVERS is not set; point it at a broker "
        "(e.g. 127.0.0.1:9092) or start one with `streams broker`"
    ]


def test_show_prints_every_topic_without_a_broker() -> None:
    done = _cli("topics", "show", env={"STREAMS_WORKER__APP_ID": "app"})
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert rows[1][:4] == ["articles", "output", "partitions=4", "replication=1"]
    assert "cleanup.policy=compact" in rows[1][4]
    assert [row[0] for row in rows][-4:] == [
        "app-enrichments-changelog",
        "app-dedupe_entries-changelog",
        "app-claim_appearances-changelog",
        "app-linked_origins-changelog",
    ]
