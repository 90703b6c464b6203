"""The worker declares its topics and tables from `streams.topic_specs` (one source).

Without a broker: every topic and changelog Faust would create has the spec's name,
partitions, replication and configs. With the session's broker: the topics the worker's
start-up creates are ones `streams topics apply` finds up to date.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.app import build_app, context_of
from streams.app.topics import ensure_topics
from streams.kafka_client import client_options
from streams.settings import KafkaSettings, Settings
from streams.topic_admin import apply_topics
from streams.topic_plan import TopicPlan
from streams.topic_specs import TABLES, TopicSpec, service_topics
from tests.app.conftest import worker_settings
from tests.kafka_fixtures import run_async


def _layout(topic: faust.TopicT) -> tuple[str, int | None, int | None, dict[str, Any]]:
    return (topic.get_topic_name(), topic.partitions, topic.replicas, dict(topic.config or {}))


def _spec_layout(spec: TopicSpec) -> tuple[str, int | None, int | None, dict[str, Any]]:
    return (spec.name, spec.partitions, spec.replication_factor, spec.configs)


def test_declared_topics_and_changelogs_are_the_specs() -> None:
    settings = worker_settings()
    app = build_app(settings)
    specs = service_topics(settings)
    topics = context_of(app).topics
    declared = [
        topics.input,
        topics.articles,
        topics.claims,
        topics.dead_letters,
        topics.claim_appearances,
        topics.parsed,
        topics.linking,
    ]
    wanted = [
        specs.input,
        specs.articles,
        specs.claims,
        specs.dead_letters,
        specs.claim_appearances,
        specs.parsed,
        specs.linking,
    ]
    assert [_layout(t) for t in declared] == [_spec_layout(s) for s in wanted]
    for table in TABLES:
        changelog = app.tables[table].changelog_topic
        spec = specs.changelogs[table]
        assert changelog.get_topic_name() == spec.name
        assert changelog.partitions == spec.partitions
        assert changelog.compacting and dict(changelog.config or {}) == spec.configs
    leader = app._leader_assignor._leader_topic  # Faust's own, made from its settings
    assert (leader.get_topic_name(), leader.partitions) == (specs.leader.name, 1)


async def _start_up_then_plan(settings: Settings) -> list[TopicPlan]:
    """Create what the worker creates at start (topics, changelogs, leader), then plan.

    Brokers show new topics a moment after creating them, so the plan is made again
    until nothing is missing (a config or partition mismatch would never go away).
    """
    app = build_app(settings)
    try:
        await ensure_topics(context_of(app).topics)
        for table in TABLES:
            await app.tables[table].changelog_topic.maybe_declare()
        await app._leader_assignor._leader_topic.maybe_declare()
    finally:
        await app.producer.stop()
    specs = service_topics(settings).all()
    deadline = time.monotonic() + 20
    while True:
        plans = await apply_topics(specs, settings.kafka, dry_run=True)
        if not any(p.create for p in plans) or time.monotonic() > deadline:
            return plans
        await asyncio.sleep(0.5)


async def _delete(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings.kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [s.name for s in service_topics(settings).all() if s.name in existing]
        await admin.delete_topics(names, timeout_ms=10_000)
    finally:
        await admin.close()


@pytest.mark.kafka
@pytest.mark.timeout(120)
def test_topics_the_worker_creates_are_up_to_date_for_apply(
    kafka_settings: KafkaSettings,
) -> None:
    settings = worker_settings(kafka_settings)
    try:
        plans = run_async(_start_up_then_plan(settings))
    finally:
        run_async(_delete(settings))
    assert [p.describe() for p in plans if not p.up_to_date] == []
    assert not any(p.create for p in plans)
