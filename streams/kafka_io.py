"""`streams produce` and `streams tail`: what a crawler and a downstream consumer do.

`produce` publishes raw events read by `streams.inputs` (the same bytes `streams process`
processes); `tail` prints records as `{"topic", "key", "value"}` JSON lines, the format
`streams process` prints, so the two can be compared line by line.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.errors import StreamsError
from streams.inputs import InputMessage
from streams.kafka_client import client_options
from streams.settings import KafkaSettings

TRACE_HEADER = "trace-id"


class KafkaUnavailableError(StreamsError):
    """The broker cannot be reached or refused the request."""


async def _start(client: AIOKafkaProducer | AIOKafkaConsumer, kafka: KafkaSettings) -> None:
    """Start a client, or fail with one clear line (and no half-open connections)."""
    try:
        await client.start()
    except KafkaError as error:
        await client.stop()
        raise KafkaUnavailableError(
            f"cannot reach Kafka at {kafka.bootstrap_servers} ({error}); is the broker running?"
        ) from error


@dataclass(frozen=True)
class ProduceSummary:
    """What `produce` sent."""

    messages: int
    bytes: int


async def produce(
    messages: Iterable[InputMessage],
    *,
    kafka: KafkaSettings,
    topic: str,
    on_sent: Callable[[int], object] | None = None,
    max_request_size: int = 8 * 1024 * 1024,
) -> ProduceSummary:
    """Publish raw event messages to `topic`, each with a new `trace-id` header.

    Args:
        messages (Iterable[InputMessage]): keys and values to publish, in order.
        kafka (KafkaSettings): the cluster.
        topic (str): the input topic.
        on_sent (Callable | None): called with 1 per acknowledged message (progress).
        max_request_size (int): largest message the producer accepts.

    Returns:
        ProduceSummary: messages and bytes sent.

    Raises:
        KafkaUnavailableError: the broker is unreachable or refuses a message.
    """
    producer = AIOKafkaProducer(
        **client_options(kafka), acks="all", max_request_size=max_request_size
    )
    await _start(producer, kafka)
    count = size = 0
    try:
        pending = []
        for message in messages:
            headers = [
                ("content-type", b"application/json"),
                (TRACE_HEADER, uuid.uuid4().hex.encode()),
            ]
            key = message.key.encode("utf-8") if message.key is not None else None
            pending.append(
                await producer.send(topic, value=message.value, key=key, headers=headers)
            )
            count += 1
            size += len(message.value)
            if len(pending) >= 100:
                await _settle(pending, on_sent)
        await _settle(pending, on_sent)
    except KafkaError as error:
        raise KafkaUnavailableError(f"Kafka refused a message for {topic!r}: {error}") from error
    finally:
        await producer.stop()
    return ProduceSummary(messages=count, bytes=size)


async def _settle(
    pending: list[asyncio.Future[object]], on_sent: Callable[[int], object] | None
) -> None:
    for future in pending:
        await future
        if on_sent:
            on_sent(1)
    pending.clear()


async def check_broker(kafka: KafkaSettings, *, timeout: float = 30.0) -> None:
    """Wait until the cluster answers a metadata request, retrying for `timeout` seconds.

    Raises:
        KafkaUnavailableError: it did not answer in time (wrong address, broker down,
            wrong credentials).
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(**client_options(kafka), request_timeout_ms=5000)
        try:
            await admin.start()
            await admin.describe_cluster()
            return
        except KafkaError as error:
            if asyncio.get_running_loop().time() >= deadline:
                raise KafkaUnavailableError(
                    f"cannot reach Kafka at {kafka.bootstrap_servers} after {timeout:.0f}s "
                    f"({type(error).__name__}); check KAFKA_BOOTSTRAP_SERVERS and the broker"
                ) from error
            await asyncio.sleep(1.0)
        finally:
            await admin.close()


async def _partitions(kafka: KafkaSettings, topic: str) -> list[int]:
    """Partition ids of `topic`, from a fresh metadata request."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code") or not described.get("partitions"):
        raise KafkaUnavailableError(f"topic {topic!r} does not exist; check the name")
    return sorted(p["partition"] for p in described["partitions"])


def _record_line(topic: str, key: bytes | None, value: bytes | None) -> bytes:
    """`{"topic", "key", "value"}` with the value's JSON bytes embedded unchanged."""
    head = orjson.dumps(
        {"topic": topic, "key": key.decode("utf-8", errors="replace") if key else None}
    )[:-1]
    if value is None:
        body = b"null"
    else:
        try:
            orjson.loads(value)
            body = value
        except orjson.JSONDecodeError:
            body = orjson.dumps(value.decode("utf-8", errors="replace"))
    return head + b',"value":' + body + b"}"


async def tail(
    topic: str,
    *,
    kafka: KafkaSettings,
    out: BinaryIO | None = None,
    from_beginning: bool = True,
    max_records: int | None = None,
    idle_timeout: float | None = None,
) -> int:
    """Print a topic's records as JSON lines without joining a consumer group.

    Args:
        topic (str): the topic to read (all partitions).
        kafka (KafkaSettings): the cluster.
        out (BinaryIO | None): where lines go (stdout by default).
        from_beginning (bool): start at the earliest offsets (else only new records).
        max_records (int | None): stop after this many records.
        idle_timeout (float | None): stop after this many seconds without a record.

    Returns:
        int: records printed.

    Raises:
        KafkaUnavailableError: the broker is unreachable or the topic does not exist.
    """
    sink = out or sys.stdout.buffer
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await _start(consumer, kafka)
    printed = 0
    try:
        partitions = await _partitions(kafka, topic)
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        if from_beginning:
            await consumer.seek_to_beginning(*assigned)
        else:
            await consumer.seek_to_end(*assigned)
        while max_records is None or printed < max_records:
            timeout_ms = int(idle_timeout * 1000) if idle_timeout is not None else 1000
            batches = await consumer.getmany(timeout_ms=timeout_ms)
            if not batches and idle_timeout is not None:
                break
            records = [record for batch in batches.values() for record in batch]
            if max_records is not None:
                records = records[: max_records - printed]
            for record in records:
                sink.write(_record_line(record.topic, record.key, record.value) + b"\n")
            printed += len(records)
            sink.flush()
    finally:
        await consumer.stop()
    return printed
