"""Changelog highwaters under exactly-once come from the broker (`streams.app.recovery`).

Faust reads them from aiokafka's `last_stable_offset`, known only after a fetch of the
partition; for a partition just assigned it is None, which Faust's recovery takes for
an empty changelog. The guard asks the broker instead (read_committed: the last stable
offset, so records of an open transaction are not counted).
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from streams.app.recovery import ask_broker_for_highwaters
from streams.settings import KafkaSettings
from tests.kafka_fixtures import TopicFactory, run_async

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


async def _highwaters(kafka: KafkaSettings, topic: str) -> tuple[object, object]:
    """(Faust's own answer, the guarded answer) for a partition assigned, never fetched,
    holding 3 committed records and then 2 of a transaction still open."""
    servers = kafka.bootstrap_servers
    producer = AIOKafkaProducer(bootstrap_servers=servers, transactional_id=uuid.uuid4().hex)
    await producer.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, isolation_level="read_committed")
    await consumer.start()
    tp = TopicPartition(topic, 0)
    try:
        async with producer.transaction():
            for i in range(3):
                await producer.send_and_wait(topic, f"committed-{i}".encode(), partition=0)
        await producer.begin_transaction()
        for i in range(2):
            await producer.send_and_wait(topic, f"open-{i}".encode(), partition=0)
        consumer.assign([tp])
        # the two attributes `_highwaters` reads of the thread; an exactly-once app
        app_consumer = SimpleNamespace(in_transaction=True)
        thread = SimpleNamespace(_ensure_consumer=lambda: consumer, consumer=app_consumer)
        faust_answer = await AIOKafkaConsumerThread._highwaters(thread, [tp])  # type: ignore[arg-type]
        ask_broker_for_highwaters()
        guarded = await AIOKafkaConsumerThread._highwaters(thread, [tp])  # type: ignore[arg-type]
        await producer.abort_transaction()
    finally:
        await consumer.stop()
        await producer.stop()
    return faust_answer, guarded


def test_highwaters_of_a_partition_never_fetched_come_from_the_broker(
    kafka_settings: KafkaSettings, topic_factory: TopicFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faust's own, also when an app built by an earlier test installed the guard
    current = AIOKafkaConsumerThread._highwaters
    original = getattr(current, "__wrapped__", current)
    monkeypatch.setattr(AIOKafkaConsumerThread, "_highwaters", original)  # put back after
    topic = topic_factory(1)
    faust_answer, guarded = run_async(_highwaters(kafka_settings, topic))
    tp = TopicPartition(topic, 0)
    assert faust_answer == {tp: None}  # what Faust's recovery turns into -1, "empty"
    # the last stable offset: 3 records and the commit marker (offsets 0-3); the open
    # transaction, from offset 4 on, is not counted
    assert guarded == {tp: 4}
