"""Real-broker fixtures: one local KRaft Kafka per test session, uuid topics and groups per test.

Imported by tests/conftest.py. Tests that use them are marked `kafka` and carry a hard
`pytest.mark.timeout`. The broker is `streams.localkafka.LocalKafka` (Maven jars, no Docker);
missing Java or Maven fails the tests with the install command instead of skipping them, so CI
never passes without having talked to a broker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.kafka_client import client_options
from streams.localkafka import LocalKafka, LocalKafkaError
from streams.settings import KafkaSettings

__all__ = [
    "TopicFactory",
    "create_topic",
    "group_id",
    "kafka_broker",
    "kafka_settings",
    "private_kafka_broker",
    "read_records",
    "run_async",
    "topic_factory",
]

T = TypeVar("T")

TOPIC_READY_SECONDS = 30.0


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from a sync test, even if a loop already runs here."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _start(broker: LocalKafka) -> LocalKafka:
    try:
        return broker.start()
    except LocalKafkaError as error:
        pytest.fail(f"local Kafka broker did not start: {error}", pytrace=False)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """The session's broker on a free 127.0.0.1 port; `restart()` keeps its port and data."""
    broker = _start(LocalKafka(tmp_path_factory.mktemp("kafka")))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def private_kafka_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    """A broker of this test's own, for tests that kill or restart it (~4 s to start)."""
    broker = _start(LocalKafka(tmp_path / "kafka"))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_settings(kafka_broker: LocalKafka) -> KafkaSettings:
    """Plain-text settings for the session broker (explicit values win over KAFKA_* env)."""
    return KafkaSettings(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        security_protocol="PLAINTEXT",
        sasl_mechanism=None,
        client_id="streams-tests",
    )


@pytest.fixture
def group_id() -> str:
    """A consumer group no other test shares."""
    return f"test-group-{uuid.uuid4().hex}"


class TopicFactory(Protocol):
    """Creates a uuid-named topic and returns its name."""

    def __call__(
        self, partitions: int = 1, *, prefix: str = "test", config: dict[str, str] | None = None
    ) -> str: ...


async def create_topic(
    settings: KafkaSettings, name: str, partitions: int, config: dict[str, str]
) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=config)], timeout_ms=30_000
        )
        for topic, code, *rest in response.topic_errors:
            if code != 0:
                raise RuntimeError(f"creating topic {topic} failed: error {code} {rest}")
        # Creation is asynchronous: wait until every partition has a leader.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TOPIC_READY_SECONDS
        while True:
            described = await admin.describe_topics([name])
            found = described[0] if described else {}
            ready = [p for p in found.get("partitions", []) if p.get("leader", -1) >= 0]
            if found.get("error_code") == 0 and len(ready) == partitions:
                return
            if loop.time() > deadline:
                raise RuntimeError(f"topic {name} has no leaders after {TOPIC_READY_SECONDS}s")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def _delete_topics(settings: KafkaSettings, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.delete_topics(names, timeout_ms=10_000)
    finally:
        await admin.close()


@pytest.fixture
def topic_factory(kafka_settings: KafkaSettings) -> Iterator[TopicFactory]:
    """Create uuid-named topics on the session broker; they are deleted after the test."""
    created: list[str] = []

    def make(
        partitions: int = 1, *, prefix: str = "test", config: dict[str, str] | None = None
    ) -> str:
        name = f"{prefix}-{uuid.uuid4().hex}"
        run_async(create_topic(kafka_settings, name, partitions, dict(config or {})))
        created.append(name)
        return name

    yield make
    if created:  # best effort: the broker may be down after a test that stopped it
        with contextlib.suppress(Exception):
            run_async(_delete_topics(kafka_settings, created))


async def read_records(
    bootstrap_servers: str,
    partitions: Sequence[TopicPartition],
    *,
    until: Callable[[list[Any]], bool],
    timeout: float,
    committed: bool = False,
) -> list[Any]:
    """Every record of `partitions` from the beginning, until `until(records)` or `timeout`.

    `committed` reads with isolation_level=read_committed (outputs of committed transactions
    only)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed" if committed else "read_uncommitted",
    )
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(list(partitions))
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until(records):
            batches = await consumer.getmany(timeout_ms=1000)
            records.extend(r for batch in batches.values() for r in batch)
    finally:
        await consumer.stop()
    return records
