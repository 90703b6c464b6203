"""Long NLP must not cause consumer-group timeouts or rebalances (issue 3), on a real broker.

The worker runs in-process (`build_app` on its own event loop in a thread) with the
broker's shortest session timeout (6 s = `group.min.session.timeout.ms`) and a runner
that runs the real core off the loop, like the NLP pool, after sleeping three session
timeouts in that thread on its first batch. While that batch is in the "pool":

- the broker's view of the group (DescribeGroups, from a separate admin client) is polled:
  it must stay `Stable` with the worker's one member id. A member whose heartbeats stop
  is removed after the session timeout (the group turns `Empty`) and rejoins under a new
  member id, so both show (checked once by stalling Faust's consumer thread instead);
- `/healthz` is requested every half second and must answer 200 within 2 s. The web
  server shares the worker's event loop, so this is what fails if the NLP blocks the
  loop: Faust heartbeats from its own consumer thread, so a blocked loop alone neither
  expires the session nor rebalances (checked once by sleeping on the loop instead).

Afterwards the worker's own view must not have moved: `app.rebalancing_count` (Faust adds
one in its `on_partitions_revoked` listener, i.e. at the start of every rebalance) and
`app.consumer_generation_id` (the group generation Faust records on every assignment)
are what they were before the slow batch; and every input's records were published.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.app import build_app, context_of
from streams.app.pool import Enriched, Parsed, enrich_chunk, parse_chunk
from streams.core import CoreConfig
from streams.core.timing import StageSeconds
from streams.inputs import read_inputs
from streams.kafka_client import client_options
from streams.models import ArticlePart
from streams.settings import KafkaSettings, Settings, TopicSettings
from tests.app.conftest import by_topic, linked_records, worker_settings
from tests.app.test_worker_kafka import _consume, _produce
from tests.conftest import SEED_PATH
from tests.kafka_fixtures import TopicFactory, run_async

SESSION_TIMEOUT_SECONDS = 6.0
"""The broker's `group.min.session.timeout.ms` (its default): the shortest it accepts."""

NLP_SECONDS = 3 * SESSION_TIMEOUT_SECONDS
INPUTS = 4

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]


class SlowRunner:
    """The real core in a worker thread (off the loop, like the pool), sleeping on batch 1.

    Args:
        config (CoreConfig): the core configuration.
        seconds (float): how long the first batch sleeps in the worker thread.
    """

    def __init__(self, config: CoreConfig, seconds: float) -> None:
        self.config = config
        self.seconds = seconds
        self.batches: list[int] = []
        self.slow_started = threading.Event()
        self.slow_finished = threading.Event()

    async def parse(
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Parsed], StageSeconds]:
        self.batches.append(len(payloads))
        return await asyncio.to_thread(parse_chunk, payloads, origins, self.config)

    async def enrich(self, parts: Sequence[ArticlePart]) -> tuple[list[Enriched], StageSeconds]:
        slow = not self.slow_started.is_set()
        if slow:
            self.slow_started.set()
        try:
            return await asyncio.to_thread(self._work, parts, slow)
        finally:
            if slow:
                self.slow_finished.set()

    def _work(
        self, parts: Sequence[ArticlePart], slow: bool
    ) -> tuple[list[Enriched], StageSeconds]:
        if slow:
            time.sleep(self.seconds)
        return enrich_chunk(parts, [p.origin for p in parts], self.config)


class InProcessWorker:
    """`build_app(settings, runner=...)` started on an event loop of its own thread."""

    def __init__(self, settings: Settings, runner: SlowRunner) -> None:
        self.settings = settings
        self.runner = runner
        self.url = f"http://127.0.0.1:{settings.worker.web_port}"
        self.app: faust.App | None = None
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="worker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported by wait_joined / stop
            self.error = error
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.app = build_app(self.settings, runner=self.runner)
        await self.app.start()
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.app.stop()

    def wait_joined(self, timeout: float = 40.0) -> faust.App:
        deadline = time.monotonic() + timeout
        assert self._started.wait(timeout), "the worker did not start"
        while self.error is None and time.monotonic() < deadline:
            app = self.app
            if app is not None and context_of(app).joined and not app.rebalancing:
                return app
            time.sleep(0.1)
        raise AssertionError(f"the worker did not join its group: {self.error!r}")

    def healthz(self) -> int:
        with urllib.request.urlopen(self.url + "/healthz", timeout=2.0) as response:
            status: int = response.status
            return status

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@dataclass
class Sample:
    """What the observer saw at one moment of the slow batch."""

    at: float
    state: str
    members: frozenset[str]
    healthz: int | str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _group(admin: AIOKafkaAdminClient, group: str) -> tuple[str, frozenset[str]]:
    """(state, member ids) of `group` as the group coordinator reports them."""
    response = (await admin.describe_consumer_groups([group]))[0]
    _error, _group_id, state, _type, _protocol, members, *_ = response.groups[0]
    return state, frozenset(member[0] for member in members)


async def _observe(
    kafka: KafkaSettings, worker: InProcessWorker, group: str, until: threading.Event
) -> list[Sample]:
    """Sample the group and `/healthz` every 0.5 s until `until` is set."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    samples: list[Sample] = []
    start = time.monotonic()
    try:
        while True:
            done = until.is_set()
            state, members = await _group(admin, group)
            try:
                health: int | str = await asyncio.to_thread(worker.healthz)
            except OSError as error:
                health = f"{type(error).__name__}: {error}"
            samples.append(Sample(time.monotonic() - start, state, members, health))
            if done:
                return samples
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


@pytest.fixture
def slow_worker(
    tmp_path: Path, kafka_settings: KafkaSettings, topic_factory: TopicFactory
) -> Iterator[InProcessWorker]:
    settings = worker_settings(
        kafka_settings,
        web_host="127.0.0.1",
        web_port=_free_port(),
        data_dir=tmp_path / "data",
        batch_size=INPUTS,
        batch_within_seconds=1.0,
        broker_session_timeout_seconds=SESSION_TIMEOUT_SECONDS,
    )
    # topics exist before the worker subscribes, so no metadata change rebalances the group
    topics = TopicSettings(
        input=topic_factory(2, prefix="raw"),
        articles=topic_factory(2, prefix="articles"),
        claims=topic_factory(2, prefix="claims"),
        dead_letters=topic_factory(2, prefix="dlq"),
        claim_appearances=topic_factory(2, prefix="appearances"),
        partitions=2,
    )
    settings = settings.model_copy(update={"topics": topics})
    worker = InProcessWorker(settings, SlowRunner(settings.core, NLP_SECONDS))
    try:
        yield worker
    finally:
        worker.stop()


def test_nlp_longer_than_the_session_timeout_neither_rebalances_nor_blocks_healthz(
    slow_worker: InProcessWorker, kafka_settings: KafkaSettings
) -> None:
    runner, settings = slow_worker.runner, slow_worker.settings
    topics, group = settings.topics, settings.worker.app_id
    app = slow_worker.wait_joined()
    rebalances, generation = app.rebalancing_count, app.consumer_generation_id
    baseline_state, baseline_members = run_async(_group_of(kafka_settings, group))
    assert baseline_state == "Stable" and len(baseline_members) == 1

    seed = next(iter(read_inputs([str(SEED_PATH)])))
    messages: list[tuple[bytes | None, bytes, list[Any]]] = [
        (f"page-{i}".encode(), seed.value, []) for i in range(INPUTS)
    ]
    origins = run_async(_produce(kafka_settings, topics.input, messages))
    assert runner.slow_started.wait(20), "the slow batch never started"
    began = time.monotonic()
    samples = run_async(_observe(kafka_settings, slow_worker, group, runner.slow_finished))
    slow_seconds = time.monotonic() - began

    keys = [key.decode() if key else None for key, _, _ in messages]
    expected = linked_records([v for _, v, _ in messages], keys, origins, settings)
    outputs = [topics.articles, topics.claims, topics.dead_letters, topics.claim_appearances]
    got = run_async(_consume(kafka_settings, outputs, len(expected)))
    # (1) every input's records are published
    assert by_topic([(r.topic, r.key, r.value) for r in got], topics.claim_appearances) == (
        by_topic(expected, topics.claim_appearances)
    )
    assert sum(runner.batches) == INPUTS
    # (3) /healthz answered 200 within 2 s at every sample
    assert [s.healthz for s in samples] == [200 for _ in samples], samples
    # the batch really outlived the session timeout several times over, and was watched
    assert slow_seconds >= NLP_SECONDS - 1.0
    assert len(samples) >= NLP_SECONDS
    # (2) the coordinator kept the group stable with the same member throughout ...
    assert [(s.state, s.members) for s in samples] == [
        ("Stable", baseline_members) for _ in samples
    ], samples
    # ... and the worker never started a rebalance nor saw a new generation
    assert (app.rebalancing_count, app.consumer_generation_id) == (rebalances, generation)
    assert slow_worker.error is None


async def _group_of(kafka: KafkaSettings, group: str) -> tuple[str, frozenset[str]]:
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        return await _group(admin, group)
    finally:
        await admin.close()
