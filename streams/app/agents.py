"""The agent: take a batch, run the core off the loop, publish in order, then ack.

This module only moves records (STYLE rule 4): it builds payloads and origins from the
Kafka messages, hands them to the NLP pool (`streams.core.process_payloads` in another
process), turns each outcome into records with `streams.core.to_records` and
`encode_value` (the same bytes `streams process` prints), publishes them with their
keys and headers, and counts.

Commit semantics (at-least-once): events come from `Stream.noack_take`, so Faust does
not ack them by itself. A batch's events are acked only after the broker acknowledged
every record published for the batch; Faust commits acked offsets only (the highest
contiguous acked offset per partition), on its commit timer, on a rebalance and on
shutdown (after waiting for in-flight events to be acked). A crash anywhere before the
acks leaves the offsets uncommitted, so the batch is delivered again.

Exactly-once: each input's records are sent by the transactional producer of the
input's own partition (the one Faust commits that partition's offsets with), and
Faust's periodic commit is held off while a batch is being published and acked, so a
transaction holds either all of a batch's records and offsets or none of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, Protocol, cast

import faust
from aiokafka.errors import (
    CorruptRecordException,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from faust.types import TP, EventT
from mode import CrashingSupervisor

from streams.app.headers import Headers, output_headers, trace_headers
from streams.app.metrics import Metrics
from streams.app.topics import MAX_MESSAGE_BYTES, RECORD_OVERHEAD_BYTES, Topics
from streams.core import CoreConfig, Outcome, TopicNames, dead_letter, encode_value, to_records
from streams.models import Article, Claim, DeadLetter, OutputRecord, RejectReason

log = logging.getLogger(__name__)

REFUSED = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
)
"""Errors meaning the broker (or the producer's own limit) refuses a record for good."""


class Runner(Protocol):
    """Runs the core on a batch (the NLP pool, or an in-process stand-in in tests)."""

    async def run(
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Outcome], dict[str, float]]: ...


class Publisher(Protocol):
    """Sends one record; the returned awaitable resolves when the broker acknowledged it."""

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers, source: TP
    ) -> Awaitable[Any]: ...


class FaustPublisher:
    """Publishes with the app's producer (per source partition's transaction when exactly-once).

    Args:
        app (faust.App): the started app.
    """

    def __init__(self, app: faust.App) -> None:
        self.app = app

    def _transactional_id(self, source: TP) -> str | None:
        if not self.app.in_transaction:
            return None
        group = self.app.assignor.group_for_topic(source.topic)
        return f"{self.app.conf.id}-{group}-{source.partition}"

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers, source: TP
    ) -> Awaitable[Any]:
        """Schedule a record; await the result for the broker's acknowledgement."""
        result: Awaitable[Any] = await self.app.producer.send(
            topic,
            key,
            value,
            None,
            None,
            headers,
            transactional_id=self._transactional_id(source),
        )
        return result


@dataclass(frozen=True)
class _Input:
    """One input message of a batch."""

    key: str | None
    payload: bytes
    tp: TP
    offset: int
    timestamp: float | None
    trace: Headers

    @property
    def origin(self) -> dict[str, Any]:
        return {"topic": self.tp.topic, "partition": self.tp.partition, "offset": self.offset}


def _input(event: EventT[bytes]) -> _Input:
    message = event.message
    raw_key = message.key
    key = raw_key.decode("utf-8", errors="replace") if isinstance(raw_key, bytes) else raw_key
    value = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
    return _Input(
        key=key,
        payload=value,
        tp=message.tp,
        offset=message.offset,
        timestamp=message.timestamp,
        trace=trace_headers(message.headers or []),
    )


@dataclass
class _Encoded:
    record: OutputRecord
    key: bytes | None
    value: bytes


def _encode(record: OutputRecord) -> _Encoded:
    key = record.key.encode("utf-8") if record.key is not None else None
    return _Encoded(record, key, encode_value(record.value))


def _size(item: _Encoded, headers: Headers) -> int:
    return (
        len(item.value)
        + len(item.key or b"")
        + sum(len(name) + len(value) for name, value in headers)
        + RECORD_OVERHEAD_BYTES
    )


class BatchHandler:
    """Processes and publishes one batch of input events.

    Args:
        runner (Runner): runs the core off the event loop.
        publisher (Publisher): sends records.
        topics (TopicNames): output topic names.
        config (CoreConfig): for dead letters the worker itself makes.
        metrics (Metrics): what to count.
        publish_lock (asyncio.Lock | None): held while publishing and acking; Faust's
            commit takes it too when exactly-once. Defaults to a new lock.
        max_message_bytes (int): records larger than this are dead-lettered instead of
            sent. Defaults to `MAX_MESSAGE_BYTES`.
    """

    def __init__(
        self,
        *,
        runner: Runner,
        publisher: Publisher,
        topics: TopicNames,
        config: CoreConfig,
        metrics: Metrics,
        publish_lock: asyncio.Lock | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.runner = runner
        self.publisher = publisher
        self.topics = topics
        self.config = config
        self.metrics = metrics
        self.publish_lock = publish_lock or asyncio.Lock()
        self.max_message_bytes = max_message_bytes

    async def handle(
        self, events: Sequence[EventT[bytes]], ack: Callable[[EventT[bytes]], Awaitable[Any]]
    ) -> None:
        """Process `events`, publish their records in input order, then ack them.

        Args:
            events (Sequence[EventT[bytes]]): the batch, in stream order.
            ack (Callable): acks one event (`stream.ack`), called once every record of
                the batch is acknowledged by the broker.

        Raises:
            Exception: the broker stays unreachable or a bug; nothing of the batch is
                acked then, so it is delivered again.
        """
        inputs = [_input(event) for event in events]
        metrics = self.metrics
        metrics.events_consumed.inc(len(inputs))
        metrics.batch_size.observe(len(inputs))
        metrics.in_flight_events.inc(len(inputs))
        try:
            outcomes, seconds = await self.runner.run(
                [item.payload for item in inputs], [item.origin for item in inputs]
            )
            for stage, total in seconds.items():
                mean = total / max(1, len(inputs))
                for _ in inputs:
                    metrics.stage_seconds.labels(stage=stage).observe(mean)
            # Publishing and acking finish even when the worker is told to stop meanwhile:
            # a batch is either not published at all or published and acked.
            task = asyncio.ensure_future(self._publish_and_ack(inputs, outcomes, events, ack))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                log.info("stopping: finishing the publication of a batch of %d", len(inputs))
                await task
                raise
        finally:
            metrics.in_flight_events.dec(len(inputs))

    async def _publish_and_ack(
        self,
        inputs: Sequence[_Input],
        outcomes: Sequence[Outcome],
        events: Sequence[EventT[bytes]],
        ack: Callable[[EventT[bytes]], Awaitable[Any]],
    ) -> None:
        async with self.publish_lock:
            published: list[list[_Encoded]] = []
            for item, outcome in zip(inputs, outcomes, strict=True):
                published.append(await self._publish_input(item, outcome))
            for event in events:
                await ack(event)
        now = time.time()
        for item, records in zip(inputs, published, strict=True):
            self._count(records)
            if item.timestamp:
                self.metrics.end_to_end_seconds.observe(max(0.0, now - item.timestamp))

    async def _publish_input(self, item: _Input, outcome: Outcome) -> list[_Encoded]:
        """Publish one input's records (or its dead letter) and wait for the broker."""
        headers = output_headers(item.tp.topic, item.tp.partition, item.offset, item.trace)
        records = [_encode(r) for r in to_records(outcome, topics=self.topics, input_key=item.key)]
        largest = max((_size(r, headers) for r in records), default=0)
        if largest > self.max_message_bytes:
            return [await self._refused(item, headers, f"a record of {largest} bytes")]
        pending = []
        for record in records:
            try:
                pending.append(await self._send(record, headers, item.tp))
            except REFUSED as error:
                pending.append(_failed(error))
        results = await asyncio.gather(*pending, return_exceptions=True)
        errors = [result for result in results if isinstance(result, BaseException)]
        refused = [error for error in errors if isinstance(error, REFUSED)]
        if len(refused) < len(errors):
            raise next(error for error in errors if not isinstance(error, REFUSED))
        if refused:
            # records acknowledged before the refusal stay published; the dead letter
            # says what was refused, so the input is accounted for
            kept = [
                record
                for record, result in zip(records, results, strict=True)
                if not isinstance(result, BaseException)
            ]
            first = refused[0]
            return [*kept, await self._refused(item, headers, f"{type(first).__name__}: {first}")]
        return records

    async def _send(self, record: _Encoded, headers: Headers, source: TP) -> Awaitable[Any]:
        return await self.publisher.send(
            record.record.topic, record.key, record.value, headers, source
        )

    async def _refused(self, item: _Input, headers: Headers, what: str) -> _Encoded:
        """Dead-letter an input whose records the broker cannot take (too large)."""
        log.warning("outputs of %s (key %s) refused: %s", item.origin, item.key, what)
        letter = dead_letter(
            RejectReason.TOO_LARGE,
            f"the records made from this event cannot be published ({what}; the limit is "
            f"{self.max_message_bytes} bytes); send a smaller page",
            item.payload,
            config=self.config,
            origin=item.origin,
        )
        record = _encode(OutputRecord(topic=self.topics.dead_letters, key=item.key, value=letter))
        await (await self._send(record, headers, item.tp))
        return record

    def _count(self, records: Sequence[_Encoded]) -> None:
        metrics = self.metrics
        for item in records:
            value = item.record.value
            metrics.records_published.labels(topic=item.record.topic).inc()
            if isinstance(value, DeadLetter):
                metrics.dead_letters.labels(reason=value.reason.value).inc()
            elif isinstance(value, Article):
                metrics.count_article(value.fingerprints.content_hash)
            elif isinstance(value, Claim):
                metrics.count_claim(value.claim_id)


def _failed(error: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(error)
    return future


def guard_commits(consumer: Any, lock: asyncio.Lock) -> None:
    """Make Faust's offset commits wait while a batch is being published and acked."""
    commit = consumer.commit
    if getattr(commit, "_streams_guarded", False):
        return

    @wraps(commit)
    async def guarded(*args: Any, **kwargs: Any) -> bool:
        async with lock:
            result: bool = await commit(*args, **kwargs)
            return result

    guarded._streams_guarded = True  # type: ignore[attr-defined]
    consumer.commit = guarded


def register_agent(
    app: faust.App,
    topics: Topics,
    handler: BatchHandler,
    *,
    batch_size: int,
    within_seconds: float,
    before_start: Callable[[], Awaitable[None]] | None = None,
) -> Any:
    """Register the processing agent on the input topic.

    Args:
        app (faust.App): the app.
        topics (Topics): declared topics.
        handler (BatchHandler): processes each batch.
        batch_size (int): most events per batch.
        within_seconds (float): longest wait to fill a batch.
        before_start (Callable | None): awaited once before the first batch is taken.

    Returns:
        faust.types.AgentT: the agent (`agent.test_context()` works on it).
    """

    async def process_raw_articles(stream: faust.StreamT[bytes]) -> None:
        """Raw article events → articles, claims and dead letters."""
        if before_start is not None:
            await before_start()
        if app.in_transaction:
            guard_commits(app.consumer, handler.publish_lock)
        concrete = cast("faust.Stream[bytes]", stream)
        # noack_take yields the buffered *events* and leaves acking to us
        async for batch in concrete.noack_take(batch_size, within=within_seconds):
            await handler.handle(cast("Sequence[EventT[bytes]]", batch), concrete.ack)

    return app.agent(
        topics.input,
        name="streams.process_raw_articles",
        concurrency=1,
        supervisor_strategy=CrashingSupervisor,
    )(process_raw_articles)
