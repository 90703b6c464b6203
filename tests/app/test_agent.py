"""The agent in memory (`agent.test_context()`): what it publishes, in what order, when it acks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from streams.app import build_app, context_of
from streams.app.app import TABLES
from streams.core import CoreConfig
from streams.models import SCHEMA_VERSION
from tests.app.conftest import (
    InlineRunner,
    MemoryPublisher,
    Sent,
    by_topic,
    linked_records,
    sync,
    worker_settings,
)

SEED_URL = "file:///work/shared/seed/000_5ff85278df32db3f.txt"

pytestmark = pytest.mark.timeout(60)


def _event(text: str, url: str = SEED_URL) -> bytes:
    return orjson.dumps({"url": url, "fetched_at": "2024-10-28T12:00:00Z", "text": text})


BAD = [
    b"\xff\xfe not utf-8",
    b"{not json",
    orjson.dumps({"url": "https://example.com/x", "fetched_at": "2024-10-28T00:00:00Z"}),
    orjson.dumps({"url": 1, "fetched_at": "yesterday", "text": "x"}),
]


async def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the agent")
        await asyncio.sleep(0.02)


async def _stage(agent: Any, messages: list[Any], expect_acks: bool) -> list[Any]:
    async with agent.test_context() as running:
        events = [
            await running.put(value, key=key, headers=headers, wait=False)
            for key, value, headers in messages
        ]
        if expect_acks:
            await _wait(lambda: all(event.message.acked for event in events))
        else:
            await asyncio.sleep(3)
    return events


async def _run(
    messages: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]],
    publisher: MemoryPublisher,
    *,
    core: CoreConfig | None = None,
    expect_acks: bool = True,
    max_message_bytes: int | None = None,
    **worker: Any,
) -> tuple[Any, list[Any]]:
    """Run the three stages one after the other, feeding each what the previous sent."""
    settings = worker_settings(core=core, batch_size=8, batch_within_seconds=0.05, **worker)
    tables: dict[str, dict[bytes, bytes]] = {name: {} for name in TABLES}
    runner = InlineRunner(settings.core)
    app = build_app(settings, runner=runner, publisher=publisher, tables=tables)
    context = context_of(app)
    if max_message_bytes is not None:
        context.linking.max_message_bytes = max_message_bytes
    context.runner = runner
    events = await _stage(context.agents["ingest"], messages, True)
    for stage, topic in (("enrich", context.topics.parsed), ("linking", context.topics.linking)):
        name = topic.get_topic_name()
        sent = [(s.key, s.value, s.headers) for s in publisher.sent if s.topic == name]
        events = await _stage(context.agents[stage], sent, expect_acks or stage == "enrich")
    return context, events


def _outputs(publisher: MemoryPublisher, context: Any) -> list[tuple[str, bytes | None, bytes]]:
    internal = {context.topics.parsed.get_topic_name(), context.topics.linking.get_topic_name()}
    return [(s.topic, s.key, s.value) for s in publisher.sent if s.topic not in internal]


@sync
async def test_publishes_the_records_of_streams_process(seed_text: str) -> None:
    copy = _event(seed_text, url="https://mirror.example/copy")
    payloads = [_event(seed_text), *BAD, copy]
    keys = [SEED_URL, "bad-0", "bad-1", "bad-2", "bad-3", "copy"]
    publisher = MemoryPublisher()
    trace = [("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    messages = [
        (key.encode(), payload, trace if i == 0 else [])
        for i, (key, payload) in enumerate(zip(keys, payloads, strict=True))
    ]
    context, _ = await _run(messages, publisher)

    settings = context.settings
    outputs = settings.topics
    origins = [{"topic": outputs.input, "partition": 0, "offset": i} for i in range(6)]
    expected = linked_records(payloads, keys, origins, settings)
    got = _outputs(publisher, context)
    assert by_topic(got, outputs.claim_appearances) == by_topic(expected, outputs.claim_appearances)
    articles = [orjson.loads(v) for t, _, v in got if t == outputs.articles]
    assert [a["duplicate_of"] is not None for a in articles] == [False, False, True, True]
    # the copy's two stories reused the first copy's enrichment: NLP ran for two bodies
    assert context.runner.enriched == 2
    assert context.metrics.nlp_skipped._value.get() == 2
    assert context.metrics.duplicates.labels(kind="exact")._value.get() == 2
    assert len(context.tables["enrichments"]) == 2
    assert len(context.tables["dedupe_entries"]) == 4
    first: Sent = next(s for s in publisher.sent if s.topic == outputs.articles)
    headers = dict(first.headers)
    assert headers["schema_version"] == SCHEMA_VERSION.encode()
    assert headers["content-type"] == b"application/json"
    assert headers["origin-topic"] == outputs.input.encode()
    assert (headers["origin-partition"], headers["origin-offset"]) == (b"0", b"0")
    assert headers["trace-id"] == b"0af7651916cd43dd8448eb211c80319c"
    assert "streams-input-key" not in headers
    letters = [s for s in publisher.sent if s.topic == outputs.dead_letters]
    assert [orjson.loads(s.value)["reason"] for s in letters] == [
        "not_utf8",
        "invalid_json",
        "no_content",
        "invalid_event",
    ]
    assert [orjson.loads(s.value)["origin"]["offset"] for s in letters] == [1, 2, 3, 4]
    assert all("trace-id" not in dict(s.headers) for s in letters)

    metrics = context.metrics
    assert metrics.events_consumed._value.get() == 6
    assert metrics.dead_letters.labels(reason="not_utf8")._value.get() == 1
    assert metrics.records_published.labels(topic=outputs.claims)._value.get() == sum(
        1 for s in publisher.sent if s.topic == outputs.claims
    )
    assert metrics.in_flight_events._value.get() == 0


@sync
async def test_acks_only_after_every_record_is_acknowledged(seed_text: str) -> None:
    publisher = MemoryPublisher(
        refuse=lambda sent: KafkaTimeoutError() if sent.topic.startswith("claims") else None
    )
    _, events = await _run(
        [(b"k", _event(seed_text), []), (b"k2", BAD[0], [])], publisher, expect_acks=False
    )
    assert events, "stories reached the linking stage"
    assert not any(event.message.acked for event in events), "nothing acked after a failure"


@sync
async def test_a_record_the_broker_refuses_becomes_a_dead_letter(seed_text: str) -> None:
    publisher = MemoryPublisher(
        refuse=lambda sent: (
            MessageSizeTooLargeError("too big") if sent.topic.startswith("articles") else None
        )
    )
    context, _ = await _run([(b"page", _event(seed_text), [])], publisher)
    letters = [s for s in publisher.acknowledged if s.topic == context.settings.topics.dead_letters]
    assert len(letters) == 2  # one per story
    letter = orjson.loads(letters[0].value)
    assert letter["reason"] == "too_large"
    assert "MessageSizeTooLargeError" in letter["message"]
    assert letter["origin"] == {"topic": context.settings.topics.input, "partition": 0, "offset": 0}
    assert letters[0].key == b"page"


@sync
async def test_records_over_the_topic_limit_are_dead_lettered_without_sending(
    seed_text: str,
) -> None:
    publisher = MemoryPublisher()
    # the seed's articles are ~10 KB
    context, _ = await _run([(b"page", _event(seed_text), [])], publisher, max_message_bytes=4096)
    settings = context.settings
    assert [t for t, _, _ in _outputs(publisher, context)] == [settings.topics.dead_letters] * 2
    letter = orjson.loads(publisher.sent[-1].value)
    assert letter["reason"] == "too_large"
    assert letter["payload_sha256"]


def _articles(publisher: MemoryPublisher, context: Any) -> list[bytes]:
    return [s.value for s in publisher.sent if s.topic == context.settings.topics.articles]


def _linking_records(publisher: MemoryPublisher, context: Any) -> list[Any]:
    name = context.topics.linking.get_topic_name()
    return [(s.key, s.value, s.headers) for s in publisher.sent if s.topic == name]


@pytest.mark.parametrize(("guarantee", "published"), [("exactly_once", 1), ("at_least_once", 2)])
@sync
async def test_linking_publishes_a_replayed_origin_once_when_exactly_once(
    seed_text: str, guarantee: str, published: int
) -> None:
    # enrich sends the stories of an input to the linking topic again (it read the parsed
    # topic again from an offset committed behind its committed outputs, faust#606)
    publisher = MemoryPublisher()
    context, _ = await _run([(b"page", _event(seed_text), [])], publisher,
                            processing_guarantee=guarantee)  # fmt: skip
    first = _articles(publisher, context)
    assert len(first) == 2  # the seed page holds two stories
    replay = _linking_records(publisher, context)
    events = await _stage(context.agents["linking"], replay, True)
    assert all(event.message.acked for event in events)

    articles = _articles(publisher, context)
    assert len(articles) == published * len(first)
    assert sorted(set(articles)) == sorted(first)
    skipped = context.metrics.replays_skipped._value.get()
    origins = context.tables["linked_origins"]
    if guarantee == "exactly_once":
        assert skipped == 2
        assert len(origins) == 2
        topic = context.settings.topics.input
        assert {key.decode().rsplit(":", 1)[0] for key in origins} == {f"{topic}:0:0"}
    else:  # at-least-once: linked and published again, as before (nothing recorded)
        assert skipped == 0
        assert not origins


@pytest.mark.parametrize("lost", [False, True])
@sync
async def test_origins_are_forgotten_for_records_read_again_after_losing_the_partition(
    seed_text: str, lost: bool
) -> None:
    # the linking partition resumes at the records whose origins were written: kept across
    # the rebalance, their transaction stays open and commits later (skip them); lost
    # meanwhile, it was aborted while Faust kept the table writes (link them again)
    publisher = MemoryPublisher()
    context, _ = await _run([(b"page", _event(seed_text), [])], publisher,
                            processing_guarantee="exactly_once")  # fmt: skip
    first = _articles(publisher, context)
    if lost:
        context.linking.assigned(False)
    context.linking.assigned(True)
    context.linking.recovered()
    await _stage(context.agents["linking"], _linking_records(publisher, context), True)
    metrics = context.metrics
    deletes = metrics.table_deletes.labels(table="linked_origins")._value.get()
    assert len(context.tables["linked_origins"]) == 2
    if lost:
        assert len(_articles(publisher, context)) == 2 * len(first)
        assert metrics.replays_skipped._value.get() == 0
        assert deletes == 2
    else:
        assert len(_articles(publisher, context)) == len(first)
        assert metrics.replays_skipped._value.get() == 2
        assert deletes == 0


@sync
async def test_linked_origins_expire_with_the_dedupe_retention(seed_text: str) -> None:
    publisher = MemoryPublisher()
    old = _event(seed_text, url="https://example.com/old")
    new = orjson.dumps({**orjson.loads(old), "url": "https://example.com/new",
                        "fetched_at": "2024-11-28T12:00:00Z"})  # fmt: skip
    context, _ = await _run([(b"old", old, []), (b"new", new, [])], publisher,
                            processing_guarantee="exactly_once")  # fmt: skip
    origins = context.tables["linked_origins"]
    topic = context.settings.topics.input
    # a month later: the first page's stories are past the 7-day retention
    assert {key.decode().rsplit(":", 1)[0] for key in origins} == {f"{topic}:0:1"}
    assert context.metrics.table_deletes.labels(table="linked_origins")._value.get() == 2


@pytest.mark.parametrize(("store", "skipped"), [("memory://", 2), ("rocksdb://", 0)])
@sync
async def test_a_restarted_worker_trusts_origins_only_from_a_store_it_recovered(
    seed_text: str, store: str, skipped: int
) -> None:
    # a new worker reads the linking records again from offset 0: with `memory://` its
    # table holds only what it recovered from the changelog (committed), while a local
    # `rocksdb://` store may keep writes of a transaction aborted when the worker died
    publisher = MemoryPublisher()
    context, _ = await _run([(b"page", _event(seed_text), [])], publisher,
                            processing_guarantee="exactly_once", store=store)  # fmt: skip
    first = _articles(publisher, context)
    replay = _linking_records(publisher, context)
    app = build_app(
        context.settings, runner=context.runner, publisher=publisher, tables=context.tables
    )
    restarted = context_of(app)
    await _stage(restarted.agents["linking"], replay, True)
    assert len(_articles(publisher, context)) == (2 if skipped == 0 else 1) * len(first)
    assert restarted.metrics.replays_skipped._value.get() == skipped
    assert len(context.tables["linked_origins"]) == 2


@sync
async def test_a_member_that_regains_the_partition_keeps_origins_others_committed(
    seed_text: str,
) -> None:
    # member A linked the story (its origins reached the changelog); member B held the
    # partition before, lost it, and now takes it back: its table holds A's origins as
    # recovered from the changelog, committed, so the records read again are skipped.
    # Only origins B wrote itself could be of an aborted transaction.
    publisher = MemoryPublisher()
    context, _ = await _run([(b"page", _event(seed_text), [])], publisher,
                            processing_guarantee="exactly_once")  # fmt: skip
    first = _articles(publisher, context)
    replay = _linking_records(publisher, context)
    app = build_app(
        context.settings, runner=context.runner, publisher=publisher, tables=context.tables
    )
    member_b = context_of(app)
    member_b.linking.assigned(False)
    member_b.linking.assigned(True)
    member_b.linking.recovered()
    await _stage(member_b.agents["linking"], replay, True)
    assert len(_articles(publisher, context)) == len(first)
    assert member_b.metrics.replays_skipped._value.get() == 2
    assert member_b.metrics.table_deletes.labels(table="linked_origins")._value.get() == 0
