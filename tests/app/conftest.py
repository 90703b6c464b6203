"""Fixtures of the worker tests: in-memory stand-ins (real classes) and broker helpers.

The real-broker fixtures come from `tests/kafka_fixtures.py` (one local KRaft broker per
session, uuid topics, random groups).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from faust.types import TP

from streams.app.headers import Headers
from streams.app.pool import Enriched, Parsed, enrich_chunk, parse_chunk
from streams.core import CoreConfig
from streams.core.timing import StageSeconds
from streams.models import ArticlePart
from streams.settings import KafkaSettings, Settings, TopicSettings, WorkerSettings


class InlineRunner:
    """Runs the core in a thread of this process (no process pool), like the pool tasks."""

    def __init__(self, config: CoreConfig) -> None:
        self.config = config
        self.calls = 0
        self.enriched = 0

    async def parse(
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Parsed], StageSeconds]:
        self.calls += 1
        return await asyncio.to_thread(parse_chunk, payloads, origins, self.config)

    async def enrich(self, parts: Sequence[ArticlePart]) -> tuple[list[Enriched], StageSeconds]:
        self.enriched += len(parts)
        return await asyncio.to_thread(enrich_chunk, parts, [p.origin for p in parts], self.config)


@dataclass
class Sent:
    """One record handed to the publisher."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers
    source: TP


class MemoryPublisher:
    """Keeps what would be sent; `refuse(record)` or `fail(record)` make a send fail.

    Args:
        refuse (Callable | None): return an exception to fail that record's send with.
    """

    def __init__(self, refuse: Callable[[Sent], BaseException | None] | None = None) -> None:
        self.sent: list[Sent] = []
        self.acknowledged: list[Sent] = []
        self.refuse = refuse or (lambda sent: None)

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Headers,
        source: TP,
        timestamp: float | None = None,
    ) -> Awaitable[Any]:
        record = Sent(topic, key, value, list(headers), source)
        self.sent.append(record)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        error = self.refuse(record)
        if error is not None:
            future.set_exception(error)
        else:
            self.acknowledged.append(record)
            future.set_result(None)
        return future


def sync(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an `async def` test on a fresh event loop (no asyncio plugin here)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return run


def worker_settings(
    kafka: KafkaSettings | None = None, *, core: CoreConfig | None = None, **worker: Any
) -> Settings:
    """Settings with uuid topic names and app id (no broker needed unless `kafka` is real)."""
    tag = uuid.uuid4().hex[:12]
    return Settings(
        core=core or CoreConfig(),
        topics=TopicSettings(
            input=f"raw-{tag}",
            articles=f"articles-{tag}",
            claims=f"claims-{tag}",
            dead_letters=f"raw-{tag}.dlq",
            claim_appearances=f"appearances-{tag}",
            partitions=2,
        ),
        worker=WorkerSettings(app_id=f"streams-test-{tag}", **worker),
        kafka=kafka or KafkaSettings(bootstrap_servers="127.0.0.1:9", sasl_mechanism=None),
    )


@pytest.fixture
def core_config() -> CoreConfig:
    """The default core configuration."""
    return CoreConfig()


Record = tuple[str, bytes | None, bytes]
"""(topic, key, value bytes) of one published record."""


def linked_records(
    payloads: Sequence[bytes],
    keys: Sequence[str | None],
    origins: Sequence[Mapping[str, Any]],
    settings: Settings,
) -> list[Record]:
    """What `streams process` publishes for these inputs in this order (run-wide dedupe)."""
    from streams.core import Processed, encode_value, link, process_payloads, to_records
    from streams.core.dedupe import DedupeIndex

    index = DedupeIndex(settings.core)
    appearances: dict[str, Any] = {}
    out: list[Record] = []
    outcomes = process_payloads(payloads, config=settings.core, origins=origins)
    for outcome, key in zip(outcomes, keys, strict=True):
        if isinstance(outcome, Processed):
            outcome = link(outcome, index=index, appearances=appearances, config=settings.core)
        for record in to_records(outcome, topics=settings.topics.outputs(), input_key=key):
            out.append(
                (record.topic, record.key.encode() if record.key else None,
                 encode_value(record.value))
            )  # fmt: skip
    return out


def by_topic(records: Sequence[Record], appearances_topic: str) -> dict[str, Any]:
    """Records per topic as sorted lists, claim appearances as the final value per claim id."""
    grouped: dict[str, Any] = {}
    for topic, key, value in records:
        if topic == appearances_topic:
            grouped.setdefault(topic, {})[key] = value
        else:
            grouped.setdefault(topic, []).append((key, value))
    return {t: v if isinstance(v, dict) else sorted(v, key=repr) for t, v in grouped.items()}
