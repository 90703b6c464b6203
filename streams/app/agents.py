"""The three stages of the worker: ingest → enrich → linking, each a batched agent.

This module only moves records (STYLE rule 4): it decodes messages, hands them to the
core (parsing and NLP in the process pool, linking on the loop), encodes what comes out
with `streams.core.encode_value` (the bytes `streams process` prints), publishes with
keys and headers, writes the tables, and counts.

1. **ingest** (input topic): `parse_payloads` in the pool; dead letters are published
   as before; each story goes to `<app_id>-parsed`, keyed by the first value of its
   MinHash signature (`affinity_key`), so exact copies always meet on one partition (and
   in one `enrichments` table partition), and near copies mostly do.
2. **enrich** (`<app_id>-parsed`): a story whose identical body is in the `enrichments`
   table (content hash → the first story's article and claims) reuses that enrichment
   (`reuse_enrichment`, no NLP, counted in `streams_nlp_skipped_total`); the others run
   `enrich_parts` in the pool and are stored. Sent to `<app_id>-linking` keyed by
   article id. With at-least-once, up to four enrich batches are in progress at once, so a
   batch of short stories is published while a long page still takes its turns in the
   pool (`streams.app.pool`); its offsets wait for the earlier batch's (Faust commits
   acked offsets up to the first gap).
3. **linking** (`<app_id>-linking`, ONE partition, so one member links everything and
   there is no race between workers): `link` against the stream-wide `DedupeIndex`
   (rebuilt from the `dedupe_entries` table after every recovery) and the
   `claim_appearances` table; publishes the article, its claims and the updated claim
   appearances. With exactly-once, a story whose input origin is in the
   `linked_origins` table is acked without being published again (`LinkHandler.records`).

Every record carries the input's origin and trace headers; internal records also carry
the input key (`streams-input-key`, for dead letters made downstream) and the input
record's timestamp (as their own timestamp, for `streams_end_to_end_seconds`).

Commit semantics (at-least-once), per stage: events come from `Stream.noack_take`, so
Faust does not ack them by itself. A batch's events are acked only after the broker
acknowledged every record published for the batch and the table changes were flushed;
Faust commits acked offsets only, and flushes the producer (changelogs included) before
it commits. A crash before the acks redelivers the batch: a redelivered story is linked
again with its first decision (`DedupeIndex.add` keeps it), so its records are the same.

Exactly-once: each input's records are sent by the transactional producer of the
input's own partition (the one Faust commits that partition's offsets with); table
changelog records go to the transaction of their changelog partition, which is the
same partition number of the same co-partitioned group; Faust's periodic commit is held
off while any stage publishes, writes its tables and acks (one lock for the app), so a
transaction holds either all of a batch's records, table changes and offsets or none.
Faust may commit a partition's offsets behind what its committed transactions hold
(commit markers leave gaps in the offsets, faust-streaming/faust#606), so a stage can
read again records whose outputs are committed; the linking stage then recognises the
input origins it already linked (`linked_origins`) and does not publish them twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import logging
import time
import weakref
from collections.abc import (
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass, field
from functools import partial, wraps
from typing import Any, Protocol, cast

import faust
import orjson
from aiokafka.errors import (
    CorruptRecordException,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from faust.streams import _current_event
from faust.types import TP, EventT
from mode import CrashingSupervisor

from streams.app.headers import Headers, output_headers, trace_headers
from streams.app.metrics import Metrics
from streams.app.topics import MAX_MESSAGE_BYTES, RECORD_OVERHEAD_BYTES, Topics
from streams.core import CoreConfig, Processed, TopicNames, dead_letter, encode_value, to_records
from streams.core.dedupe import DedupeIndex
from streams.core.linking import link
from streams.core.pipeline import reuse_enrichment
from streams.core.timing import StageSeconds
from streams.models import (
    Article,
    ArticlePart,
    ClaimAppearances,
    DeadLetter,
    EnrichedPart,
    Fingerprints,
    OutputRecord,
    RejectReason,
)

log = logging.getLogger(__name__)

INPUT_KEY = "streams-input-key"
"""Internal header: the input record's key, carried through the internal topics."""

REFUSED = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
)
"""Errors meaning the broker (or the producer's own limit) refuses a record for good."""

Parsed = list[ArticlePart] | DeadLetter
Enriched = Processed | DeadLetter


class Runner(Protocol):
    """Runs the core's pool stages (the NLP pool, or an in-process stand-in in tests)."""

    async def parse(
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Parsed], StageSeconds]: ...

    async def enrich(self, parts: Sequence[ArticlePart]) -> tuple[list[Enriched], StageSeconds]: ...


class Publisher(Protocol):
    """Sends one record; the returned awaitable resolves when the broker acknowledged it."""

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Headers,
        source: TP,
        timestamp: float | None = None,
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
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Headers,
        source: TP,
        timestamp: float | None = None,
    ) -> Awaitable[Any]:
        """Schedule a record; await the result for the broker's acknowledgement."""
        result: Awaitable[Any] = await self.app.producer.send(
            topic,
            key,
            value,
            None,
            timestamp,
            headers,
            transactional_id=self._transactional_id(source),
        )
        return result


@contextlib.contextmanager
def current(event: EventT[Any] | None) -> Iterator[None]:
    """Make `event` Faust's current event, so table reads and writes use its partition.

    A batch holds events of several partitions; Faust's tables take the partition of a
    write (changelog partition, RocksDB column) from the current event.
    """
    if event is None:
        yield
        return
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


@dataclass(frozen=True)
class _Input:
    """One message of a batch."""

    key: str | None
    payload: bytes
    tp: TP
    offset: int
    timestamp: float | None
    headers: Headers
    """Headers to put on what is published for it (origin and trace; internal ones too)."""
    input_key: str | None
    event: EventT[bytes] | None = None

    @property
    def origin(self) -> dict[str, Any]:
        """Topic, partition and offset of the input record it comes from."""
        found = dict(self.headers)
        if "origin-topic" in found:
            return {
                "topic": found["origin-topic"].decode("utf-8"),
                "partition": int(found["origin-partition"]),
                "offset": int(found["origin-offset"]),
            }
        return {"topic": self.tp.topic, "partition": self.tp.partition, "offset": self.offset}

    @property
    def output_headers(self) -> Headers:
        """The headers of output records: the carried ones without internal headers."""
        return [(name, value) for name, value in self.headers if name != INPUT_KEY]


def _raw(event: EventT[bytes]) -> tuple[str | None, bytes, list[tuple[str, bytes]]]:
    message = event.message
    raw_key = message.key
    key = raw_key.decode("utf-8", errors="replace") if isinstance(raw_key, bytes) else raw_key
    value = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
    headers = [
        (name, value if isinstance(value, bytes) else str(value).encode("utf-8"))
        for name, value in (
            message.headers.items()
            if isinstance(message.headers, Mapping)
            else (message.headers or [])
        )
    ]
    return key, value, headers


def _source_input(event: EventT[bytes]) -> _Input:
    """An input-topic message: origin headers are made from its position."""
    key, value, headers = _raw(event)
    message = event.message
    carried = output_headers(
        message.tp.topic, message.tp.partition, message.offset, trace_headers(headers)
    )
    if key is not None:
        carried.append((INPUT_KEY, key.encode("utf-8")))
    return _Input(
        key=key,
        payload=value,
        tp=message.tp,
        offset=message.offset,
        timestamp=message.timestamp,
        headers=carried,
        input_key=key,
        event=event,
    )


def _internal_input(event: EventT[bytes]) -> _Input:
    """An internal-topic message: carries the input's headers and key."""
    key, value, headers = _raw(event)
    message = event.message
    input_key = dict(headers).get(INPUT_KEY)
    return _Input(
        key=key,
        payload=value,
        tp=message.tp,
        offset=message.offset,
        timestamp=message.timestamp,
        headers=headers,
        input_key=input_key.decode("utf-8") if input_key is not None else None,
        event=event,
    )


@dataclass
class _Encoded:
    """One record to publish."""

    topic: str
    key: bytes | None
    value: bytes
    record: OutputRecord | None = None
    """The output record (None for internal records)."""
    internal: bool = False


def _encode(record: OutputRecord) -> _Encoded:
    key = record.key.encode("utf-8") if record.key is not None else None
    return _Encoded(record.topic, key, encode_value(record.value), record)


def _size(item: _Encoded, headers: Headers) -> int:
    return (
        len(item.value)
        + len(item.key or b"")
        + sum(len(name) + len(value) for name, value in headers)
        + RECORD_OVERHEAD_BYTES
    )


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


async def _no_flush() -> None:
    return None


@dataclass(frozen=True)
class _Turn:
    """A batch's place in one partition's order of publication."""

    earlier: asyncio.Future[bool] | None
    """Set when the batch before, holding this partition, has finished (True: published)."""
    done: asyncio.Future[bool]
    """Set when this batch's part of the partition is published (True) or never will be."""


class _Stage:
    """What every stage shares: publish a batch's records in order, then ack.

    Args:
        name (str): the stage (a metric label).
        publisher (Publisher): sends records.
        topics (TopicNames): output topic names.
        config (CoreConfig): for dead letters the worker itself makes.
        metrics (Metrics): what to count.
        publish_lock (asyncio.Lock | None): held while publishing, writing tables and
            acking; Faust's commit takes it too when exactly-once. Defaults to a new lock.
        flush (Callable | None): waits until table changelog records are acknowledged;
            awaited before the acks. Defaults to nothing.
        max_message_bytes (int): records larger than this are dead-lettered instead of
            sent. Defaults to `MAX_MESSAGE_BYTES`.
    """

    name = "stage"

    def __init__(
        self,
        *,
        publisher: Publisher,
        topics: TopicNames,
        config: CoreConfig,
        metrics: Metrics,
        publish_lock: asyncio.Lock | None = None,
        flush: Callable[[], Awaitable[None]] | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.publisher = publisher
        self.topics = topics
        self.config = config
        self.metrics = metrics
        self.publish_lock = publish_lock or asyncio.Lock()
        self.flush = flush or _no_flush
        self.max_message_bytes = max_message_bytes
        self._published: dict[TP, asyncio.Future[bool]] = {}

    def _queue_up(self, inputs: Sequence[_Input]) -> dict[TP, _Turn]:
        """Per partition of the batch: the batch in progress whose publication of that
        partition this one must wait for, and the future that says this one's is done.

        With several batches of a stage in progress (`register_agents`), a later batch
        may finish its work first; each partition's records still go out in offset order,
        and a partition not held up by an earlier batch is published at once.
        """
        loop = asyncio.get_running_loop()
        turns: dict[TP, _Turn] = {}
        for item in inputs:
            if item.tp in turns:
                continue
            previous = self._published.get(item.tp)
            turns[item.tp] = _Turn(previous, loop.create_future())
            self._published[item.tp] = turns[item.tp].done
        return turns

    def _done(self, turns: Mapping[TP, _Turn]) -> None:
        for tp, turn in turns.items():
            if not turn.done.done():
                turn.done.set_result(False)  # not published: later batches must not be
            if self._published.get(tp) is turn.done:
                del self._published[tp]

    async def handle(
        self,
        events: Sequence[EventT[bytes]],
        ack: Callable[[EventT[bytes]], Awaitable[Any]],
        prepared: Callable[[], None] | None = None,
    ) -> None:
        """Process `events`, publish their records in order, then ack them.

        Args:
            events (Sequence[EventT[bytes]]): the batch, in stream order.
            ack (Callable): acks one event (`stream.ack`), called once every record of
                its partition's part of the batch is acknowledged by the broker.
            prepared (Callable | None): called once the batch's work in the pool is done.

        Raises:
            Exception: the broker stays unreachable or a bug; nothing of the batch is
                acked then, so it is delivered again.
        """
        inputs = self._inputs(events)
        metrics = self.metrics
        metrics.stage_events.labels(stage=self.name).inc(len(inputs))
        metrics.in_flight_events.inc(len(inputs))
        turns = self._queue_up(inputs)
        try:
            work = await self.prepare(inputs)
            if prepared is not None:
                prepared()
            # Publishing and acking finish even when the worker is told to stop meanwhile:
            # a partition's part of a batch is either not published at all or published
            # and acked.
            task = asyncio.ensure_future(self._publish(inputs, work, events, ack, turns))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                log.info("stopping: finishing the publication of a batch of %d", len(inputs))
                await task
                raise
        finally:
            self._done(turns)
            metrics.in_flight_events.dec(len(inputs))

    async def _publish(
        self,
        inputs: Sequence[_Input],
        prepared: Any,
        events: Sequence[EventT[bytes]],
        ack: Callable[[EventT[bytes]], Awaitable[Any]],
        turns: Mapping[TP, _Turn],
    ) -> None:
        """Publish each partition's part of the batch once the earlier batch holding
        that partition has published its part."""
        parts: dict[TP, list[int]] = {}
        for index, item in enumerate(inputs):
            parts.setdefault(item.tp, []).append(index)

        async def publish(tp: TP, indexes: list[int]) -> None:
            turn = turns[tp]
            if turn.earlier is not None and not await turn.earlier:
                return  # the earlier part was not published: neither is this (redelivered)
            await self._publish_and_ack(inputs, prepared, events, ack, indexes)
            turn.done.set_result(True)

        await asyncio.gather(*(publish(tp, indexes) for tp, indexes in parts.items()))

    def runs(self, events: Sequence[EventT[bytes]]) -> list[Sequence[EventT[bytes]]]:
        """The batches a taken batch is handled as (in stream order): the whole batch."""
        return [events]

    def _inputs(self, events: Sequence[EventT[bytes]]) -> list[_Input]:
        return [_internal_input(event) for event in events]

    async def prepare(self, inputs: Sequence[_Input]) -> Any:
        """Off-loop work of a batch before anything is published (the pool)."""
        return None

    def records(self, item: _Input, index: int, prepared: Any) -> list[_Encoded]:
        """The records of one input; may read and write tables (its event is current)."""
        raise NotImplementedError

    def published(self, item: _Input, index: int, records: Sequence[_Encoded]) -> None:
        """After the broker acknowledged every record of one input; may write tables."""

    def letter_payload(self, item: _Input) -> bytes:
        """What a dead letter for this input keeps as its payload."""
        return item.payload

    def observe(self, item: _Input, records: Sequence[_Encoded], now: float) -> None:
        """Count the records published for one input."""
        for record in records:
            if record.record is None:
                continue
            value = record.record.value
            self.metrics.records_published.labels(topic=record.topic).inc()
            if isinstance(value, DeadLetter):
                self.metrics.dead_letters.labels(reason=value.reason.value).inc()
            if isinstance(value, Article | DeadLetter) and item.timestamp:
                self.metrics.end_to_end_seconds.observe(max(0.0, now - item.timestamp))

    async def _publish_and_ack(
        self,
        inputs: Sequence[_Input],
        prepared: Any,
        events: Sequence[EventT[bytes]],
        ack: Callable[[EventT[bytes]], Awaitable[Any]],
        indexes: Sequence[int],
    ) -> None:
        async with self.publish_lock:
            published: list[list[_Encoded]] = []
            for index in indexes:
                item = inputs[index]
                with current(item.event):
                    records = self.records(item, index, prepared)
                sent = await self._publish_input(item, records)
                with current(item.event):
                    self.published(item, index, sent)
                published.append(sent)
            await self.flush()
            for index in indexes:
                await ack(events[index])
        now = time.time()
        for index, records in zip(indexes, published, strict=True):
            self.observe(inputs[index], records, now)

    async def _publish_input(self, item: _Input, records: list[_Encoded]) -> list[_Encoded]:
        """Publish one input's records (or its dead letter) and wait for the broker."""
        largest = max((_size(r, item.headers) for r in records), default=0)
        if largest > self.max_message_bytes:
            return [await self._refused(item, f"a record of {largest} bytes")]
        pending = []
        for record in records:
            try:
                pending.append(await self._send(record, item))
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
            return [*kept, await self._refused(item, f"{type(first).__name__}: {first}")]
        return records

    async def _send(self, record: _Encoded, item: _Input) -> Awaitable[Any]:
        headers = item.headers if record.internal else item.output_headers
        return await self.publisher.send(
            record.topic,
            record.key,
            record.value,
            headers,
            item.tp,
            item.timestamp if record.internal else None,
        )

    async def _refused(self, item: _Input, what: str) -> _Encoded:
        """Dead-letter an input whose records the broker cannot take (too large)."""
        log.warning("outputs of %s (key %s) refused: %s", item.origin, item.input_key, what)
        letter = dead_letter(
            RejectReason.TOO_LARGE,
            f"the records made from this event cannot be published ({what}; the limit is "
            f"{self.max_message_bytes} bytes); send a smaller page",
            self.letter_payload(item),
            config=self.config,
            origin=item.origin,
        )
        record = _encode(
            OutputRecord(topic=self.topics.dead_letters, key=item.input_key, value=letter)
        )
        await (await self._send(record, item))
        return record

    def _dead(self, item: _Input, letter: DeadLetter) -> _Encoded:
        return _encode(
            OutputRecord(topic=self.topics.dead_letters, key=item.input_key, value=letter)
        )


class IngestHandler(_Stage):
    """Stage 1: parse a batch of input events in the pool; stories to the parsed topic.

    Args:
        runner (Runner): runs the core off the event loop.
        parsed_topic (str): the internal topic of parsed stories.
        **kwargs: see `_Stage`.
    """

    name = "ingest"

    def __init__(self, *, runner: Runner, parsed_topic: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = runner
        self.parsed_topic = parsed_topic

    def _inputs(self, events: Sequence[EventT[bytes]]) -> list[_Input]:
        inputs = [_source_input(event) for event in events]
        self.metrics.events_consumed.inc(len(inputs))
        self.metrics.batch_size.observe(len(inputs))
        return inputs

    async def prepare(self, inputs: Sequence[_Input]) -> list[Parsed]:
        parsed, seconds = await self.runner.parse(
            [item.payload for item in inputs], [item.origin for item in inputs]
        )
        _observe_stages(self.metrics, seconds, len(inputs))
        return parsed

    def records(self, item: _Input, index: int, prepared: Any) -> list[_Encoded]:
        result: Parsed = prepared[index]
        if isinstance(result, DeadLetter):
            return [self._dead(item, result)]
        return [
            _Encoded(
                self.parsed_topic,
                affinity_key(part.fingerprints),
                encode_value(part),
                internal=True,
            )
            for part in result
        ]

    def observe(self, item: _Input, records: Sequence[_Encoded], now: float) -> None:
        super().observe(item, records, now)
        self.metrics.stage_records.labels(stage=self.name).inc(
            sum(1 for r in records if r.internal)
        )


def affinity_key(fingerprints: Fingerprints) -> bytes:
    """The parsed-topic key of a story: the first value of its MinHash signature.

    Two bodies get the same key with probability equal to their shingle Jaccard
    similarity, so exact copies always, and syndicated near copies mostly, go to the same
    enrich partition, hence to the worker whose paragraph cache holds their paragraphs
    (with a content-hash key, two workers each saw only half of a story's copies). The
    key is still uniform over stories, so partitions stay balanced.
    """
    signature = fingerprints.minhash
    if not signature:
        return fingerprints.content_hash.encode("ascii")
    return f"minhash0:{signature[0]:08x}".encode("ascii")


def _observe_stages(metrics: Metrics, seconds: StageSeconds, count: int) -> None:
    for stage, (wall, cpu) in seconds.items():
        mean = wall / max(1, count)
        for _ in range(count):
            metrics.stage_seconds.labels(stage=stage).observe(mean)
        metrics.stage_cpu_seconds.labels(stage=stage).inc(cpu)


@dataclass
class _Expiry:
    """Per table partition: (seen at, key) by age, and the partition's newest time."""

    heap: list[tuple[dt.datetime, bytes]] = field(default_factory=list)
    watermark: dt.datetime | None = None


STORY_OVERHEAD_BYTES = 4096
"""A parsed story's JSON beyond its body (fingerprints, metadata): about 2–3 KB."""


@dataclass(frozen=True)
class _EnrichedBatch:
    """What `EnrichHandler.prepare` gives a batch's publication (several batches may be in
    progress at once, so nothing of a batch is kept on the handler)."""

    results: list[Enriched]
    parts: list[ArticlePart]
    fresh: frozenset[int]
    """Indexes enriched now (not reused): their enrichment goes into the table."""
    promised: Mapping[str, asyncio.Future[Enriched]]
    """The fresh bodies' results, for batches taken meanwhile (until the table has them)."""


class EnrichHandler(_Stage):
    """Stage 2: NLP for new bodies, reuse for exact copies; stories to the linking topic.

    Args:
        runner (Runner): runs NLP off the event loop.
        enrichments (MutableMapping[bytes, bytes]): the `enrichments` table: content
            hash → `EnrichedPart` JSON of the first story with that body.
        linking_topic (str): the internal topic of enriched stories.
        **kwargs: see `_Stage`.
    """

    name = "enrich"

    def __init__(
        self,
        *,
        runner: Runner,
        enrichments: MutableMapping[bytes, bytes],
        linking_topic: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.runner = runner
        self.enrichments = enrichments
        self.linking_topic = linking_topic
        self.needs_scan = True
        self._expiry: dict[int, _Expiry] = {}
        self._enriching: dict[str, tuple[str, asyncio.Future[Enriched]]] = {}
        """Bodies being enriched by a batch in progress: content hash → (body, result)."""

    def recovered(self) -> None:
        """The tables were recovered (a rebalance): rescan them for retention."""
        self.needs_scan = True

    def runs(self, events: Sequence[EventT[bytes]]) -> list[Sequence[EventT[bytes]]]:
        """A long story (one that takes NLP turns) is handled as a batch of its own, so
        that its batch-mates are published without waiting for its NLP; the runs keep
        stream order, and each partition's records still go out in offset order."""
        if self.config.nlp_turn_chars <= 0:
            return [events]
        runs: list[Sequence[EventT[bytes]]] = []
        current: list[EventT[bytes]] = []
        for event in events:
            if len(event.value) <= self.config.nlp_turn_chars + STORY_OVERHEAD_BYTES:
                current.append(event)
                continue
            if current:
                runs.append(current)
                current = []
            runs.append([event])
        if current:
            runs.append(current)
        return runs

    def _scan(self) -> None:
        self._expiry = {}
        for key, value in list(self.enrichments.items()):
            stored = EnrichedPart.model_validate_json(value)
            self._remember(stored.partition or 0, key, stored.article.fetched_at)
        self.needs_scan = False

    def _remember(self, partition: int, key: bytes, seen_at: dt.datetime) -> None:
        expiry = self._expiry.setdefault(partition, _Expiry())
        heapq.heappush(expiry.heap, (seen_at, key))
        if expiry.watermark is None or seen_at > expiry.watermark:
            expiry.watermark = seen_at

    def _expire(self, partition: int) -> None:
        """Delete this partition's entries older than the retention (on write)."""
        expiry = self._expiry.get(partition)
        if expiry is None or expiry.watermark is None:
            return
        horizon = expiry.watermark - self.config.dedupe_retention
        while expiry.heap and expiry.heap[0][0] < horizon:
            seen_at, key = heapq.heappop(expiry.heap)
            stored = self.enrichments.get(key)
            if stored is None:
                continue
            if EnrichedPart.model_validate_json(stored).article.fetched_at == seen_at:
                del self.enrichments[key]
                self.metrics.table_deletes.labels(table="enrichments").inc()

    async def prepare(self, inputs: Sequence[_Input]) -> _EnrichedBatch:
        if self.needs_scan:
            self._scan()
        parts = [ArticlePart.model_validate_json(item.payload) for item in inputs]
        todo: list[int] = []
        firsts: dict[str, int] = {}
        plan: list[int | EnrichedPart | asyncio.Future[Enriched] | None] = []
        for index, (item, part) in enumerate(zip(inputs, parts, strict=True)):
            digest = part.fingerprints.content_hash
            with current(item.event):
                stored = self.enrichments.get(digest.encode("ascii"))
            earlier = EnrichedPart.model_validate_json(stored) if stored is not None else None
            pending = self._enriching.get(digest)
            if earlier is not None and earlier.article.body == part.body:
                plan.append(earlier)
            elif digest in firsts and parts[firsts[digest]].body == part.body:
                plan.append(firsts[digest])  # an exact copy in this batch
            elif pending is not None and pending[0] == part.body:
                plan.append(pending[1])  # an exact copy in a batch still in progress
            else:
                firsts.setdefault(digest, index)
                todo.append(index)
                plan.append(None)
        mine = self._promise([parts[i] for i in todo])
        try:
            enriched, seconds = await self.runner.enrich([parts[i] for i in todo])
        except BaseException as error:
            self._break(mine, error)
            raise
        _observe_stages(self.metrics, seconds, len(todo))
        done: dict[int, Enriched] = dict(zip(todo, enriched, strict=True))
        for i in todo:
            promised = mine.get(parts[i].fingerprints.content_hash)
            if promised is not None and not promised.done():
                promised.set_result(done[i])
        results: list[Enriched] = []
        for index, (part, how) in enumerate(zip(parts, plan, strict=True)):
            if how is None:
                results.append(done[index])
                continue
            if isinstance(how, asyncio.Future):
                earlier_result: Enriched | EnrichedPart = await how
            else:
                earlier_result = how if isinstance(how, EnrichedPart) else done[how]
            if isinstance(earlier_result, DeadLetter):  # its first copy failed in NLP
                results.append(
                    dead_letter(
                        earlier_result.reason,
                        earlier_result.message,
                        part.model_dump_json().encode(),
                        config=self.config,
                        origin=part.origin,
                    )
                )
                continue
            if isinstance(earlier_result, EnrichedPart):
                source = Processed(
                    articles=(earlier_result.article,), claims=tuple(earlier_result.claims)
                )
            else:
                source = earlier_result
            results.append(reuse_enrichment(part, source))
            self.metrics.nlp_skipped.inc()
        return _EnrichedBatch(results, parts, frozenset(todo), mine)

    def _promise(self, parts: Sequence[ArticlePart]) -> dict[str, asyncio.Future[Enriched]]:
        """Say which bodies this batch enriches, so that a batch taken meanwhile reuses
        them instead of running NLP on an exact copy (it is in no table yet)."""
        loop = asyncio.get_running_loop()
        mine: dict[str, asyncio.Future[Enriched]] = {}
        for part in parts:
            digest = part.fingerprints.content_hash
            if digest not in mine:
                mine[digest] = loop.create_future()
                self._enriching[digest] = (part.body, mine[digest])
        return mine

    def _break(self, mine: Mapping[str, asyncio.Future[Enriched]], error: BaseException) -> None:
        """This batch failed: a batch waiting for one of its bodies fails too."""
        for digest, future in mine.items():
            if not future.done():
                future.set_exception(
                    RuntimeError(f"the batch enriching this body failed: {error!r}")
                )
                future.exception()  # retrieved: no warning when nobody waits
            self._forget(digest, future)

    def _forget(self, digest: str, future: asyncio.Future[Enriched]) -> None:
        entry = self._enriching.get(digest)
        if entry is not None and entry[1] is future:
            del self._enriching[digest]

    def records(self, item: _Input, index: int, prepared: Any) -> list[_Encoded]:
        batch: _EnrichedBatch = prepared
        result = batch.results[index]
        part = batch.parts[index]
        if index in batch.fresh:  # the table has it from here on (or it failed for good)
            digest = part.fingerprints.content_hash
            self._forget(digest, batch.promised[digest])
        if isinstance(result, DeadLetter):
            return [self._dead(item, result)]
        (article,) = result.articles
        enriched = EnrichedPart(article=article, claims=list(result.claims), origin=part.origin)
        if index in batch.fresh:
            partition = item.tp.partition
            stored = enriched.model_copy(update={"partition": partition})
            self.enrichments[part.fingerprints.content_hash.encode("ascii")] = encode_value(stored)
            self.metrics.table_writes.labels(table="enrichments").inc()
            self._remember(partition, part.fingerprints.content_hash.encode("ascii"),
                           article.fetched_at)  # fmt: skip
            self._expire(partition)
        return [
            _Encoded(
                self.linking_topic,
                article.article_id.encode("ascii"),
                encode_value(enriched),
                internal=True,
            )
        ]

    def observe(self, item: _Input, records: Sequence[_Encoded], now: float) -> None:
        super().observe(item, records, now)
        self.metrics.stage_records.labels(stage=self.name).inc(
            sum(1 for r in records if r.internal)
        )


class _JsonTable(MutableMapping[str, ClaimAppearances]):
    """A bytes table seen as claim id → `ClaimAppearances` (what `link` updates)."""

    def __init__(self, table: MutableMapping[bytes, bytes], on_write: Callable[[], None]) -> None:
        self.table = table
        self.on_write = on_write

    def __getitem__(self, key: str) -> ClaimAppearances:
        value = self.table.get(key.encode("utf-8"))
        if value is None:
            raise KeyError(key)
        return ClaimAppearances.model_validate_json(value)

    def __setitem__(self, key: str, value: ClaimAppearances) -> None:
        self.table[key.encode("utf-8")] = encode_value(value)
        self.on_write()

    def __delitem__(self, key: str) -> None:
        del self.table[key.encode("utf-8")]

    def __iter__(self) -> Iterator[str]:
        return (key.decode("utf-8") for key in self.table)

    def __len__(self) -> int:
        return len(self.table)


def story_key(origin: Mapping[str, Any], article_id: str) -> bytes:
    """`topic:partition:offset:article_id`: one story of one input record.

    Kafka topic names cannot contain ':', so the key is unambiguous; an input page can
    hold several stories, hence the article id.
    """
    return f"{origin['topic']}:{origin['partition']}:{origin['offset']}:{article_id}".encode()


def _seen_at(stored: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(orjson.loads(stored)["seen_at"])


class LinkHandler(_Stage):
    """Stage 3 (one partition): stream-wide dedupe and claim appearances; the outputs.

    With `skip_replays` (exactly-once), a story whose input origin was already linked is
    acked without being linked or published again (`records`), which makes up for
    committed consumer offsets trailing committed outputs on the internal topics
    (faust-streaming/faust#606): a story read again upstream is published once.

    Args:
        dedupe_entries (MutableMapping[bytes, bytes]): the `dedupe_entries` table: article
            id → `DedupeIndex.snapshot`; the source of truth the index is rebuilt from.
        claim_appearances (MutableMapping[bytes, bytes]): the `claim_appearances` table:
            claim id → `ClaimAppearances` JSON.
        linked_origins (MutableMapping[bytes, bytes]): the `linked_origins` table:
            `story_key` → `{"seen_at", "partition", "offset"}` JSON (`fetched_at`; the
            linking record that wrote it) for every story whose outputs were published;
            used only with `skip_replays`. Entries older than the dedupe retention
            (stream time, `fetched_at`) are deleted, like `dedupe_entries`.
        skip_replays (bool): skip stories whose origin is in `linked_origins`. Only safe
            when the table write and the outputs commit together (exactly-once); see
            `records`. Defaults to False (every story is linked and published).
        committed_offset (Callable | None): the offset committed for a linking partition
            (the next to read) or None when unknown. Defaults to always unknown.
        local_store (bool): the tables keep their data on local disk across restarts
            (`rocksdb://`), so the store may hold writes of transactions that never
            committed when the worker starts. Defaults to False (`memory://`).
        **kwargs: see `_Stage`.
    """

    name = "linking"

    def __init__(
        self,
        *,
        dedupe_entries: MutableMapping[bytes, bytes],
        claim_appearances: MutableMapping[bytes, bytes],
        linked_origins: MutableMapping[bytes, bytes],
        skip_replays: bool = False,
        committed_offset: Callable[[TP], int | None] | None = None,
        local_store: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dedupe_entries = dedupe_entries
        self.appearances = _JsonTable(
            claim_appearances,
            lambda: self.metrics.table_writes.labels(table="claim_appearances").inc(),
        )
        self.linked_origins = linked_origins
        self.skip_replays = skip_replays
        self.committed_offset: Callable[[TP], int | None] = committed_offset or (lambda tp: None)
        self.index = DedupeIndex(self.config)
        self.needs_restore = True
        self._origin_expiry = _Expiry()
        self._trusted = not local_store
        """Every origin in the table is committed, or in this member's open transaction."""
        self._suspect_all = local_store
        """Any origin may be uncommitted (a local store written by an earlier process);
        otherwise only origins this member wrote itself (`_own`) may be."""
        self._own: set[bytes] = set()
        """Origins this member wrote since its last restore; the rest came from the
        committed changelog."""
        self._forget: list[bytes] = []
        self._keys: dict[int, bytes] = {}

    def recovered(self) -> None:
        """The tables were recovered (a rebalance): rebuild the index before the next batch."""
        self.needs_restore = True

    def assigned(self, holds_linking: bool) -> None:
        """A rebalance assigned partitions; `holds_linking`: the linking partition is one.

        A member that loses the linking partition has its open transaction aborted (the
        next owner fences its producer), so origins it wrote since its last commit were
        never linked for real; Faust does not undo table writes.
        """
        if not holds_linking:
            self._trusted = False

    def _restore(self, inputs: Sequence[_Input]) -> None:
        self.index.restore(list(self.dedupe_entries.values()))
        self.needs_restore = False
        log.info("dedupe index rebuilt from its table: %d articles", len(self.index))
        if self.skip_replays:
            self._origin_expiry = _Expiry()
            resume = self._resume(inputs)
            for key, value in list(self.linked_origins.items()):
                stored = orjson.loads(value)
                seen_at = dt.datetime.fromisoformat(stored["seen_at"])
                after = stored["offset"] >= resume.get(stored["partition"], -1)
                suspect = self._suspect_all or key in self._own
                if not self._trusted and after and suspect:
                    self._forget.append(key)
                else:
                    self._remember_origin(key, seen_at)
            if self._forget:
                log.info("forgetting %d linked origins of records read again", len(self._forget))
            self._trusted = True
            self._suspect_all = False
            self._own.clear()

    def _resume(self, inputs: Sequence[_Input]) -> dict[int, int]:
        """Where each linking partition resumes: the batch's first offset or the committed one."""
        resume: dict[int, int] = {}
        for item in inputs:
            resume[item.tp.partition] = min(item.offset, resume.get(item.tp.partition, item.offset))
            committed = self.committed_offset(item.tp)
            if committed is not None:
                resume[item.tp.partition] = min(resume[item.tp.partition], committed)
        return resume

    def _remember_origin(self, key: bytes, seen_at: dt.datetime) -> None:
        expiry = self._origin_expiry
        heapq.heappush(expiry.heap, (seen_at, key))
        if expiry.watermark is None or seen_at > expiry.watermark:
            expiry.watermark = seen_at

    def _expire_origins(self) -> None:
        """Delete origins older than the retention (on write), as the index evicts articles."""
        expiry = self._origin_expiry
        if expiry.watermark is None:
            return
        horizon = expiry.watermark - self.config.dedupe_retention
        while expiry.heap and expiry.heap[0][0] < horizon:
            seen_at, key = heapq.heappop(expiry.heap)
            stored = self.linked_origins.get(key)
            if stored is not None and _seen_at(stored) == seen_at:
                self._own.discard(key)
                del self.linked_origins[key]  # a tombstone
                self.metrics.table_deletes.labels(table="linked_origins").inc()

    async def prepare(self, inputs: Sequence[_Input]) -> None:
        if self.needs_restore:
            self._restore(inputs)
        self._keys = {}

    def records(self, item: _Input, index: int, prepared: Any) -> list[_Encoded]:
        """Link one story and make its records; nothing for an already linked origin.

        Skipping (`skip_replays`) is safe only when "its origin is in `linked_origins`"
        implies "its outputs are committed" (or are in this member's open transaction,
        which commits them later). Exactly-once gives that: the origin is written
        (`published`) in the transaction of the linking partition, which also holds the
        story's outputs, so both commit or neither does. Faust keeps a table write in the
        store even when its transaction is aborted; that happens to a member that loses
        the linking partition (`assigned`) and to a local store when the worker dies.
        The origins such a store may hold uncommitted (those this member wrote itself,
        `_own`, or, for a local store from an earlier process, any) for records at or
        after where the partition resumes are then deleted (`_restore`): those records
        are read again and linked and published again (if their transaction did commit,
        a duplicate, as without this table). Origins recovered from the changelog are
        committed and kept: deleting them too published 133 of 240 stories twice when a
        paused worker came back (the zombie failover test, under load). At-least-once
        has no such link between a changelog record and the outputs, so it links and
        publishes every story, as before.
        """
        for key in self._forget:
            if self.linked_origins.get(key) is not None:
                del self.linked_origins[key]  # a tombstone
                self.metrics.table_deletes.labels(table="linked_origins").inc()
        self._forget = []
        enriched = EnrichedPart.model_validate_json(item.payload)
        article_id = enriched.article.article_id
        if self.skip_replays:
            key = story_key(item.origin, article_id)
            self._keys[index] = key
            if self.linked_origins.get(key) is not None:
                self.metrics.replays_skipped.inc()
                log.info(
                    "story %s of %s already linked and published: not published again",
                    article_id,
                    item.origin,
                )
                return []
        processed = Processed(articles=(enriched.article,), claims=tuple(enriched.claims))
        known = article_id in self.index
        linked = link(processed, index=self.index, appearances=self.appearances,
                      config=self.config)  # fmt: skip
        if not known:
            for article in linked.articles:
                self.dedupe_entries[article.article_id.encode("ascii")] = self.index.snapshot(
                    article.article_id
                )
                self.metrics.table_writes.labels(table="dedupe_entries").inc()
        for evicted in self.index.take_evicted():
            if self.dedupe_entries.get(evicted.encode("ascii")) is not None:
                del self.dedupe_entries[evicted.encode("ascii")]  # a tombstone
                self.metrics.table_deletes.labels(table="dedupe_entries").inc()
        return [
            _encode(record)
            for record in to_records(linked, topics=self.topics, input_key=item.input_key)
        ]

    def published(self, item: _Input, index: int, records: Sequence[_Encoded]) -> None:
        """Record the story's origin as linked (`skip_replays`), in its outputs' transaction."""
        key = self._keys.get(index)
        if key is None or self.linked_origins.get(key) is not None:
            return
        enriched = EnrichedPart.model_validate_json(item.payload)
        seen_at = enriched.article.fetched_at
        self.linked_origins[key] = orjson.dumps(
            {"seen_at": seen_at.isoformat(), "partition": item.tp.partition, "offset": item.offset}
        )
        self.metrics.table_writes.labels(table="linked_origins").inc()
        self._own.add(key)
        self._remember_origin(key, seen_at)
        self._expire_origins()

    def observe(self, item: _Input, records: Sequence[_Encoded], now: float) -> None:
        super().observe(item, records, now)
        for record in records:
            if record.record is None:
                continue
            value = record.record.value
            if isinstance(value, Article) and value.duplicate_of is not None:
                decision = self.index.decision_of(value.article_id)
                kind = "exact" if decision is not None and decision.exact else "near"
                self.metrics.duplicates.labels(kind=kind).inc()


MAX_BATCHES = 64
"""Most batches of one agent in progress, waiting ones included (bounds memory)."""


class _Batches:
    """The batches of one agent in progress: at most `limit` still in the pool, and at most
    `MAX_BATCHES` in all; the first failure ends the agent (its supervisor then stops the
    worker).

    The agent takes its next batch while earlier ones are in the pool, so the stream has
    one taker and every batch holds consecutive events; `_Stage` publishes each
    partition's records in offset order. A batch whose NLP is done but whose partition
    waits for an earlier batch (a long page) no longer counts against `limit`: counted,
    such batches filled every place and stalled the stage until the long page was done.
    With `limit` 1 (ingest, linking, and enrich under exactly-once) a batch is taken only
    after the previous one is published: their handlers keep per-batch state (linking)
    and transactions need whole batches in order.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tasks: set[asyncio.Task[None]] = set()
        self._working: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._agent = asyncio.current_task()
        self._error: BaseException | None = None

    async def start(self, handling: Callable[[Callable[[], None]], Awaitable[None]]) -> None:
        """Start handling a batch (`handling` gets the callback that says its work is
        done); wait while `limit` batches are in the pool or `MAX_BATCHES` in progress."""
        self._raise()
        task: asyncio.Future[None] | None = None

        def prepared() -> None:
            if self.limit == 1:
                return  # one at a time: the next batch waits for this one's publication
            self._working.discard(task)  # made below, before it can run
            self._changed.set()

        task = asyncio.ensure_future(handling(prepared))
        task.add_done_callback(self._finished)
        self._tasks.add(task)
        self._working.add(task)
        while len(self._working) >= self.limit or len(self._tasks) >= MAX_BATCHES:
            self._changed.clear()
            await self._changed.wait()
            self._raise()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._working.discard(task)
        self._changed.set()
        if task.cancelled() or task.exception() is None or self._error is not None:
            return
        self._error = task.exception()
        if self._agent is not None:
            self._agent.cancel()  # an agent waiting for its next batch learns it now

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    async def stop(self) -> None:
        """Let the batches in progress finish (or stop at a safe point); raise a failure."""
        if self._tasks:
            for task in self._tasks:
                task.cancel()  # `_Stage.handle` finishes a publication it has begun
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._raise()


def _failed(error: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(error)
    return future


def register_agents(
    app: faust.App,
    topics: Topics,
    *,
    ingest: IngestHandler,
    enrich: EnrichHandler,
    linking: LinkHandler,
    batch_size: int,
    within_seconds: float,
    enrich_batches: int = 1,
    before_start: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Register the three stage agents.

    Args:
        app (faust.App): the app.
        topics (Topics): declared topics.
        ingest (IngestHandler): stage 1, on the input topic.
        enrich (EnrichHandler): stage 2, on the parsed topic.
        linking (LinkHandler): stage 3, on the one-partition linking topic.
        batch_size (int): most events per batch.
        within_seconds (float): longest wait to fill a batch.
        enrich_batches (int): enrich batches in progress at once: a batch of short stories
            then passes a long page's turns in the pool.
            Only with at-least-once: a batch acked ahead of an earlier one would let a
            transaction commit its records before the earlier batch's offsets.
        before_start (Callable | None): awaited once before the first batch is taken.

    Returns:
        dict[str, faust.types.AgentT]: the agents by stage name.
    """
    started = asyncio.Event()
    starting: list[asyncio.Task[None]] = []

    async def _ready() -> None:
        if before_start is None or started.is_set():
            return
        if not starting:
            starting.append(asyncio.ensure_future(before_start()))
        await asyncio.shield(starting[0])
        started.set()

    def make(stage: _Stage, channel: faust.TopicT, in_progress: int = 1) -> Any:
        async def process(stream: faust.StreamT[bytes]) -> None:
            await _ready()
            if app.in_transaction:
                guard_commits(app.consumer, stage.publish_lock)
            concrete = cast("faust.Stream[bytes]", stream)
            batches = _Batches(in_progress)
            try:
                # noack_take yields the buffered *events* and leaves acking to us
                async for batch in concrete.noack_take(batch_size, within=within_seconds):
                    events = cast("Sequence[EventT[bytes]]", batch)
                    for run in stage.runs(events):
                        await batches.start(partial(stage.handle, run, concrete.ack))
            except asyncio.CancelledError:
                if not app.should_stop:
                    raise
                # The worker is stopping. Faust stops the agents one by one, and an agent
                # cancelled before its own turn looks unexpected to it ("Restarting on
                # rebalance"), which the crashing supervisor turns into exit code 1.
                log.info("%s stage stopped: the worker is shutting down", stage.name)
            finally:
                await batches.stop()

        process.__doc__ = f"The {stage.name} stage."
        return app.agent(
            channel,
            name=f"streams.{stage.name}",
            concurrency=1,  # one taker: a batch holds consecutive events
            supervisor_strategy=CrashingSupervisor,
        )(process)

    return {
        "ingest": make(ingest, topics.input),
        "enrich": make(enrich, topics.parsed, enrich_batches),
        "linking": make(linking, topics.linking),
    }
