"""Two enrich batches in progress (`agent.test_context()`): a later batch passes an earlier
one still in NLP, yet each partition's records go out in offset order, and an exact copy
taken meanwhile reuses the earlier batch's NLP instead of running it again."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from streams.app import build_app, context_of
from streams.app.app import TABLES
from streams.app.pool import Enriched
from streams.core import CoreConfig
from streams.core.pipeline import warm_up
from streams.core.timing import StageSeconds
from streams.models import ArticlePart
from tests.app.conftest import InlineRunner, MemoryPublisher, sync, worker_settings
from tests.app.test_agent import _event, _wait

pytestmark = pytest.mark.timeout(60)

LONG = (
    'NATO chief Mark Rutte said on Monday: "We stand with Ukraine."\n\n'
    "The alliance met in Brussels to discuss the war.\n\n"
)
SHORT = 'Finance minister Jane Doe said: "Prices will fall next year."'


class GatedRunner(InlineRunner):
    """Holds back the NLP of any batch holding the long story until `release` is set."""

    def __init__(self, config: CoreConfig) -> None:
        super().__init__(config)
        self.release = asyncio.Event()
        self.bodies: list[str] = []

    async def enrich(self, parts: Sequence[ArticlePart]) -> tuple[list[Enriched], StageSeconds]:
        self.bodies.extend(part.body for part in parts)
        if any("NATO" in part.body for part in parts):
            await self.release.wait()
        return await super().enrich(parts)


async def _parsed(texts: Sequence[str]) -> list[bytes]:
    """The parsed-topic values the ingest stage makes of these texts."""
    publisher = MemoryPublisher()
    settings = worker_settings()
    runner = InlineRunner(settings.core)
    tables: dict[str, dict[bytes, bytes]] = {name: {} for name in TABLES}
    app = build_app(settings, runner=runner, publisher=publisher, tables=tables)
    context = context_of(app)
    async with context.agents["ingest"].test_context() as running:
        events = [
            await running.put(_event(text, url=f"https://example.com/{i}"), key=b"k", wait=False)
            for i, text in enumerate(texts)
        ]
        await _wait(lambda: all(event.message.acked for event in events))
    parsed = context.topics.parsed.get_topic_name()
    return [s.value for s in publisher.sent if s.topic == parsed]


@dataclass
class GatedStage:
    """The enrich stage of an app whose NLP holds back the long story (`GatedRunner`)."""

    runner: GatedRunner
    publisher: MemoryPublisher
    context: Any
    tables: dict[str, dict[bytes, bytes]]

    def linking(self) -> list[dict[str, Any]]:
        """What the stage published so far, in order."""
        name = self.context.topics.linking.get_topic_name()
        return [orjson.loads(s.value) for s in self.publisher.sent if s.topic == name]


async def _gated_stage(within_seconds: float) -> GatedStage:
    await asyncio.to_thread(warm_up, CoreConfig())  # the model loads before the clock runs
    publisher = MemoryPublisher()
    settings = worker_settings(batch_size=8, batch_within_seconds=within_seconds)
    runner = GatedRunner(settings.core)
    tables: dict[str, dict[bytes, bytes]] = {name: {} for name in TABLES}
    context = context_of(build_app(settings, runner=runner, publisher=publisher, tables=tables))
    return GatedStage(runner, publisher, context, tables)


async def _enrich_two(partitions: tuple[int, int], texts: tuple[str, str]) -> dict[str, Any]:
    """Put the first story, then the second while the first is held in NLP."""
    first, second = await _parsed(texts)
    stage = await _gated_stage(0.05)
    runner, publisher, context, tables = stage.runner, stage.publisher, stage.context, stage.tables
    linking = context.topics.linking.get_topic_name()
    async with context.agents["enrich"].test_context() as running:
        held = await running.put(first, key=b"a", partition=partitions[0], wait=False)
        await _wait(lambda: len(runner.bodies) == 1)
        later = await running.put(second, key=b"b", partition=partitions[1], wait=False)
        await asyncio.sleep(1.0)
        before = {
            "later_acked": later.message.acked,
            "held_acked": held.message.acked,
            "published": [s.value for s in publisher.sent if s.topic == linking],
        }
        runner.release.set()
        await _wait(lambda: held.message.acked and later.message.acked)
    return {
        **before,
        "after": [orjson.loads(s.value) for s in publisher.sent if s.topic == linking],
        "enriched": runner.enriched,
        "skipped": context.metrics.nlp_skipped._value.get(),
        "table": len(tables["enrichments"]),
    }


@sync
async def test_a_later_batch_of_another_partition_passes_one_still_in_nlp() -> None:
    got = await _enrich_two((0, 1), (LONG, SHORT))
    assert got["later_acked"] and not got["held_acked"]
    assert len(got["published"]) == 1 and b"Jane Doe" in got["published"][0]
    assert [e["article"]["body"].startswith("NATO") for e in got["after"]] == [False, True]


@sync
async def test_a_partition_publishes_in_offset_order_when_a_later_batch_finishes_first() -> None:
    got = await _enrich_two((0, 0), (LONG, SHORT))
    assert not got["later_acked"] and not got["held_acked"]
    assert got["published"] == []
    assert [e["article"]["body"].startswith("NATO") for e in got["after"]] == [True, False]


@sync
async def test_an_exact_copy_taken_meanwhile_reuses_the_nlp_in_progress() -> None:
    got = await _enrich_two((0, 0), (LONG, LONG))
    assert got["enriched"] == 1 and got["skipped"] == 1 and got["table"] == 1
    first, copy = got["after"]
    assert first["article"]["url"] == "https://example.com/0"
    assert copy["article"]["url"] == "https://example.com/1"
    assert [c["text"] for c in copy["claims"]] == [c["text"] for c in first["claims"]]
    assert copy["claims"] and copy["claims"][0]["article_id"] == copy["article"]["article_id"]


def test_near_copies_mostly_share_the_enrich_partition_key(seed_text: str) -> None:
    import random

    from streams.app.agents import affinity_key
    from streams.core.fingerprints import fingerprint

    config = CoreConfig()
    body = seed_text
    words = body.split(" ")
    rng = random.Random(7)
    key = affinity_key(fingerprint(body, config))
    assert affinity_key(fingerprint(body, config)) == key  # exact copies: always
    same = 0
    for _ in range(40):
        edited = list(words)
        edited[rng.randrange(len(edited))] = "changed"
        same += affinity_key(fingerprint(" ".join(edited), config)) == key
    assert same >= 36  # one word changed: a few of ~1,000 shingles differ
    others = {affinity_key(fingerprint(f"Story number {i} about topic {i * 7}.", config))
              for i in range(40)}  # fmt: skip
    assert len(others) == 40


@sync
async def test_a_batch_publishes_the_partitions_no_earlier_batch_holds_up() -> None:
    other = 'Mayor Ann Lee said: "The bridge reopens on Friday."'
    held_value, short, free = await _parsed((LONG, SHORT, other))
    stage = await _gated_stage(0.2)
    runner, context = stage.runner, stage.context
    async with context.agents["enrich"].test_context() as running:
        held = await running.put(held_value, key=b"a", partition=0, wait=False)
        await _wait(lambda: len(runner.bodies) == 1)
        behind = await running.put(short, key=b"b", partition=0, wait=False)
        passing = await running.put(free, key=b"c", partition=1, wait=False)
        await _wait(lambda: passing.message.acked)
        assert len(runner.bodies) == 3  # one batch of two after the held one
        assert not behind.message.acked and not held.message.acked
        assert [p["article"]["body"] for p in stage.linking()] == [other]
        runner.release.set()
        await _wait(lambda: held.message.acked and behind.message.acked)
    bodies = [p["article"]["body"] for p in stage.linking()]
    assert bodies.index(LONG.strip()) < bodies.index(SHORT)


@sync
async def test_a_long_story_does_not_hold_up_its_batch_mates() -> None:
    filler = "\n\n".join(f"Paragraph {i} of the long report on the alliance." for i in range(400))
    long_text = LONG + filler
    long_value, short = await _parsed((long_text, SHORT))
    assert len(long_value) > CoreConfig().nlp_turn_chars + 4096
    stage = await _gated_stage(0.5)
    runner, context = stage.runner, stage.context
    async with context.agents["enrich"].test_context() as running:
        held = await running.put(long_value, key=b"a", partition=0, wait=False)
        mate = await running.put(short, key=b"b", partition=1, wait=False)  # same batch
        await _wait(lambda: mate.message.acked)
        assert not held.message.acked
        runner.release.set()
        await _wait(lambda: held.message.acked)
    assert runner.enriched == 2 and len(runner.bodies) == 2


@sync
async def test_one_batch_at_a_time_waits_for_publication_not_only_for_the_pool() -> None:
    from streams.app.agents import _Batches

    publishing = asyncio.Event()
    log: list[str] = []

    async def first(prepared: Any) -> None:
        prepared()  # the pool work is done ...
        log.append("first prepared")
        await publishing.wait()  # ... but the batch is still being published
        log.append("first published")

    async def second(prepared: Any) -> None:
        log.append("second started")

    cases = (
        (1, ["first prepared", "first published", "second started"]),
        (2, ["first prepared", "second started", "first published"]),
    )
    for limit, expected in cases:
        log.clear()
        publishing.clear()

        async def agent(limit: int = limit) -> None:  # takes batches one after the other
            batches = _Batches(limit)
            await batches.start(first)
            await batches.start(second)
            await publishing.wait()
            await asyncio.sleep(0.01)  # the first batch finishes its publication
            await batches.stop()

        running = asyncio.ensure_future(agent())
        await asyncio.sleep(0.05)
        publishing.set()
        await running
        assert log == expected
