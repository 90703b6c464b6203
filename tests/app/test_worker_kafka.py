"""The worker on a real broker (local KRaft Kafka), started as a subprocess like in production.

- end to end: the seed page (text) and an HTML page go in through a real producer; the
  worker publishes exactly the records `streams process` prints for them (same keys, same
  value bytes) with the contract's headers; bad inputs come out as dead letters with
  reason and origin; `/metrics` counts them; SIGTERM ends the worker cleanly with every
  offset committed;
- `promtool check metrics` finds nothing to complain about in the real `/metrics`;
- with `exactly_once` the outputs are readable with `isolation_level=read_committed`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.app.app import TABLES
from streams.core import process_payloads, to_records
from streams.inputs import read_inputs
from streams.kafka_client import client_options
from streams.settings import KafkaSettings, Settings
from tests.app.conftest import by_topic, linked_records, worker_settings
from tests.conftest import REPO_ROOT, SEED_PATH
from tests.core.pages import render_page, seed_page
from tests.kafka_fixtures import run_async
from tests.tools import require_tool

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]

TRACE = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
MAX_EVENT_BYTES = 65_536


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(settings: Settings) -> dict[str, str]:
    topics, worker = settings.topics, settings.worker
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMS_", "KAFKA_"))}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers or "",
            "STREAMS_TOPICS__INPUT": topics.input,
            "STREAMS_TOPICS__ARTICLES": topics.articles,
            "STREAMS_TOPICS__CLAIMS": topics.claims,
            "STREAMS_TOPICS__DEAD_LETTERS": topics.dead_letters,
            "STREAMS_TOPICS__CLAIM_APPEARANCES": topics.claim_appearances,
            "STREAMS_TOPICS__PARTITIONS": str(topics.partitions),
            "STREAMS_WORKER__APP_ID": worker.app_id,
            "STREAMS_WORKER__WEB_HOST": "127.0.0.1",
            "STREAMS_WORKER__WEB_PORT": str(worker.web_port),
            "STREAMS_WORKER__DATA_DIR": str(worker.data_dir),
            "STREAMS_WORKER__BATCH_WITHIN_SECONDS": str(worker.batch_within_seconds),
            "STREAMS_WORKER__STORE": worker.store,
            "STREAMS_WORKER__PROCESSING_GUARANTEE": worker.processing_guarantee,
            "STREAMS_WORKER__BATCH_SIZE": str(worker.batch_size),
            "STREAMS_WORKER__BROKER_SESSION_TIMEOUT_SECONDS": str(
                worker.broker_session_timeout_seconds
            ),
            "STREAMS_CORE__MAX_EVENT_BYTES": str(settings.core.max_event_bytes),
        }
    )
    return env


class WorkerProcess:
    """`faust -A streams.app.main worker` in a subprocess, with its web port."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.url = f"http://127.0.0.1:{settings.worker.web_port}"
        self.log = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", "streams.app.main", "worker", "-l", "info"],
            cwd=REPO_ROOT,
            env=_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def get(self, path: str) -> tuple[int, bytes, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return response.status, response.read(), response.headers["Content-Type"]
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers["Content-Type"]

    def wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited: {self.tail()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"worker not ready after {timeout}s: {self.tail()}")

    def terminate(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def tail(self) -> str:
        self._log.flush()
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def start_worker(tmp_path: Path, kafka_settings: KafkaSettings) -> Iterator[Any]:
    started: list[WorkerProcess] = []

    def start(**worker: Any) -> WorkerProcess:
        from streams.core import CoreConfig

        settings = worker_settings(
            kafka_settings,
            core=CoreConfig(max_event_bytes=MAX_EVENT_BYTES),
            web_port=_free_port(),
            data_dir=tmp_path / f"data-{len(started)}",
            batch_within_seconds=0.2,
            **worker,
        )
        process = WorkerProcess(settings, tmp_path / f"worker-{len(started)}.log")
        started.append(process)
        process.wait_ready()
        return process

    yield start
    for process in started:
        process.terminate()


async def _produce(
    kafka: KafkaSettings, topic: str, messages: list[tuple[bytes | None, bytes, list[Any]]]
) -> list[dict[str, Any]]:
    producer = AIOKafkaProducer(**client_options(kafka), max_request_size=1024 * 1024)
    await producer.start()
    try:
        origins = []
        for key, value, headers in messages:
            meta = await producer.send_and_wait(topic, value, key=key, headers=headers)
            origins.append({"topic": topic, "partition": meta.partition, "offset": meta.offset})
        return origins
    finally:
        await producer.stop()


async def _consume(
    kafka: KafkaSettings, topics: list[str], count: int, *, read_committed: bool = False
) -> list[Any]:
    consumer = AIOKafkaConsumer(
        *topics,
        **client_options(kafka),
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level="read_committed" if read_committed else "read_uncommitted",
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + 40
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records.extend(messages)
        await asyncio.sleep(1.0)  # anything beyond the expected count would show up here
        for messages in (await consumer.getmany(timeout_ms=500)).values():
            records.extend(messages)
        return records
    finally:
        await consumer.stop()


def _cli_records(*paths: Path) -> list[tuple[str, bytes | None, bytes]]:
    """What `streams process --dedupe PATHS` prints: (topic, key, value bytes) per line."""
    out = subprocess.run(
        [sys.executable, "-m", "streams.cli", "process", "--dedupe", *map(str, paths)],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("STREAMS_")},
        capture_output=True,
        check=True,
    ).stdout
    lines = [orjson.loads(line) for line in out.splitlines()]
    return [
        (line["topic"], line["key"].encode() if line["key"] else None, orjson.dumps(line["value"]))
        for line in lines
    ]


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_end_to_end_seed_and_html_page_bad_inputs_metrics_and_sigterm(
    start_worker: Any, kafka_settings: KafkaSettings, seed_text: str, tmp_path: Path, store: str
) -> None:
    html_path = tmp_path / "seed.html"
    html_path.write_text(render_page(seed_page(seed_text)), encoding="utf-8")
    pages = [SEED_PATH, html_path]
    page_messages = [m for path in pages for m in read_inputs([str(path)])]
    bad = [
        (b"not-utf8", b'{"url": "https://x.example/\xff"}'),
        (b"not-json", b"{oops"),
        (b"no-content", orjson.dumps({"url": "https://x.example/", "fetched_at": "2024-01-01"})),
        (b"oversized", orjson.dumps({"url": "u", "text": "x" * MAX_EVENT_BYTES})),
    ]
    messages = [
        (m.key.encode() if m.key else None, m.value, [("traceparent", TRACE)])
        for m in page_messages
    ]
    messages += [(key, value, []) for key, value in bad]

    worker = start_worker(store=store)
    settings = worker.settings
    topics = settings.topics
    outputs = [topics.articles, topics.claims, topics.dead_letters, topics.claim_appearances]
    # the pages one at a time (the second copies the first: linking order matters), then
    # the bad inputs
    origins: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        origins += run_async(_produce(kafka_settings, topics.input, [message]))
        if i < len(page_messages):
            run_async(_wait_articles(kafka_settings, topics.articles, origins))

    keys = [key.decode() if key else None for key, _, _ in messages]
    expected = linked_records([v for _, v, _ in messages], keys, origins, settings)
    # the worker's records of the pages are the lines `streams process` prints for them
    # (one run, so with its run-wide dedupe), renamed topics aside
    renamed = {
        "articles": topics.articles,
        "claims": topics.claims,
        "claim-appearances": topics.claim_appearances,
    }
    expected_cli = [(renamed[t], k, v) for t, k, v in _cli_records(*pages)]
    assert by_topic(expected_cli, topics.claim_appearances) == by_topic(
        [r for r in expected if r[0] != topics.dead_letters], topics.claim_appearances
    )
    articles = [orjson.loads(v) for t, _, v in expected if t == topics.articles]
    assert any(a["duplicate_of"] for a in articles), "the HTML page copies the text page"

    at_least = len(expected)
    got = run_async(_consume(kafka_settings, outputs, at_least))
    published = [(r.topic, r.key, r.value) for r in got]
    assert by_topic(published, topics.claim_appearances) == by_topic(
        expected, topics.claim_appearances
    )
    by_origin = {(o["partition"], o["offset"]) for o in origins}
    for record in got:
        headers = dict(record.headers)
        assert headers["schema_version"] == b"1.0"
        assert headers["content-type"] == b"application/json"
        assert headers["origin-topic"] == topics.input.encode()
        assert (int(headers["origin-partition"]), int(headers["origin-offset"])) in by_origin
        assert "streams-input-key" not in headers
        if record.topic != topics.dead_letters:
            assert headers["traceparent"] == TRACE
            assert headers["trace-id"] == TRACE[3:35]
    letters = {r.key: orjson.loads(r.value) for r in got if r.topic == topics.dead_letters}
    assert {k: v["reason"] for k, v in letters.items()} == {
        b"not-utf8": "not_utf8",
        b"not-json": "invalid_json",
        b"no-content": "no_content",
        b"oversized": "too_large",
    }
    assert letters[b"not-json"]["origin"] == origins[len(page_messages) + 1]

    status, body, content_type = worker.get("/metrics")
    text = body.decode()
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    assert _metric(text, "streams_events_consumed_total") == len(messages)
    for reason in ("not_utf8", "invalid_json", "no_content", "too_large"):
        assert _metric(text, f'streams_dead_letters_total{{reason="{reason}"}}') == 1
    claims = sum(1 for r in got if r.topic == topics.claims)
    assert _metric(text, f'streams_records_published_total{{topic="{topics.claims}"}}') == claims
    # one observation per published article and dead letter
    assert _metric(text, "streams_end_to_end_seconds_count") == len(articles) + len(bad)
    duplicates = sum(1 for a in articles if a["duplicate_of"])
    assert (
        _metric(text, 'streams_duplicates_total{kind="exact"}')
        + _metric(text, 'streams_duplicates_total{kind="near"}')
        == duplicates
    )
    assert worker.get("/healthz")[0] == 200
    assert _metric(text, "streams_ready") == 1  # /readyz said ready (start_worker waits)

    # SIGTERM: exits cleanly and every input offset is committed for the group
    assert worker.terminate() == 0, worker.tail()
    committed = run_async(_committed(kafka_settings, settings.worker.app_id, topics.input, 2))
    ends: dict[int, int] = {}
    for origin in origins:
        ends[origin["partition"]] = max(ends.get(origin["partition"], 0), origin["offset"] + 1)
    assert {p: committed[p] for p in ends} == ends

    # claim appearances and the tables' changelogs are compacted topics on the broker
    app_id = settings.worker.app_id
    changelogs = [f"{app_id}-{table}-changelog" for table in TABLES]
    for name in [topics.claim_appearances, *changelogs]:
        config = run_async(_topic_config(kafka_settings, name))
        assert config["cleanup.policy"] == "compact", name


async def _wait_articles(
    kafka: KafkaSettings, topic: str, origins: list[dict[str, Any]], timeout: float = 40.0
) -> None:
    """Wait until an article of the last input in `origins` is on `topic`."""
    last = origins[-1]
    want = (str(last["partition"]).encode(), str(last["offset"]).encode())
    consumer = AIOKafkaConsumer(
        topic, **client_options(kafka), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for record in messages:
                    headers = dict(record.headers)
                    if (headers["origin-partition"], headers["origin-offset"]) == want:
                        return
        raise AssertionError(f"no article of input {last} after {timeout}s")
    finally:
        await consumer.stop()


async def _topic_config(kafka: KafkaSettings, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    return {
        entry[0]: entry[1]
        for response in responses
        for resource in response.resources
        for entry in resource[4]
    }


async def _committed(
    kafka: KafkaSettings, group: str, topic: str, partitions: int
) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**client_options(kafka), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {
            p: (await consumer.committed(TopicPartition(topic, p))) or 0 for p in range(partitions)
        }
    finally:
        await consumer.stop()


def test_promtool_check_metrics_reports_nothing(
    start_worker: Any, kafka_settings: KafkaSettings
) -> None:
    promtool = require_tool("promtool", "prometheus")
    worker = start_worker()
    run_async(_produce(kafka_settings, worker.settings.topics.input, [(b"k", b"{oops", [])]))
    deadline = time.monotonic() + 30
    text = b""
    while time.monotonic() < deadline:
        text = worker.get("/metrics")[1]
        if b'streams_dead_letters_total{reason="invalid_json"} 1.0' in text:
            break
        time.sleep(0.2)
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b"", (
        result.stdout + result.stderr
    )


def test_exactly_once_outputs_are_read_committed(
    start_worker: Any, kafka_settings: KafkaSettings, seed_text: str
) -> None:
    worker = start_worker(processing_guarantee="exactly_once")
    topics = worker.settings.topics
    messages = [
        (m.key.encode() if m.key else None, m.value, []) for m in read_inputs([str(SEED_PATH)])
    ]
    messages.append((b"bad", b"{oops", []))
    origins = run_async(_produce(kafka_settings, topics.input, messages))
    keys = [key.decode() if key else None for key, _, _ in messages]
    expected = linked_records([v for _, v, _ in messages], keys, origins, worker.settings)
    outputs = [topics.articles, topics.claims, topics.dead_letters, topics.claim_appearances]
    got = run_async(_consume(kafka_settings, outputs, len(expected), read_committed=True))
    published = [(r.topic, r.key, r.value) for r in got]
    assert by_topic(published, topics.claim_appearances) == by_topic(
        expected, topics.claim_appearances
    )
    # written in transactions: each committed transaction leaves a marker taking an offset
    ends = run_async(_end_offsets(kafka_settings, [r.topic for r in got], topics.partitions))
    assert sum(ends.values()) > len(got)
    assert worker.terminate() == 0, worker.tail()
    assert "No transaction producer" not in worker.log.read_text(errors="replace")


async def _end_offsets(kafka: KafkaSettings, topics: list[str], partitions: int) -> dict[Any, int]:
    consumer = AIOKafkaConsumer(**client_options(kafka), group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in set(topics) for p in range(partitions)]
        ends: dict[Any, int] = await consumer.end_offsets(tps)
        return ends
    finally:
        await consumer.stop()


def test_sigkill_mid_batch_redelivers_every_input(
    start_worker: Any, kafka_settings: KafkaSettings
) -> None:
    # the killed member leaves the group only when its session times out
    first = start_worker(batch_size=4, broker_session_timeout_seconds=8.0)
    settings = first.settings
    topics = settings.topics
    seed = next(iter(read_inputs([str(SEED_PATH)])))
    messages = [(f"page-{i}".encode(), seed.value, []) for i in range(12)]
    origins = run_async(_produce(kafka_settings, topics.input, messages))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # kill while a batch is in the NLP pool
        text = first.get("/metrics")[1].decode()
        if _metric(text, "streams_in_flight_events") > 0:
            break
        time.sleep(0.02)
    pool_processes = _children(first.process.pid)
    assert pool_processes, "the NLP pool runs in child processes"
    first.process.kill()
    first.process.wait()
    in_flight_at_kill = _metric(text, "streams_in_flight_events")

    # a new worker in the same group gets everything not committed again
    second = WorkerProcess(settings, first.log.with_name("worker-restarted.log"))
    try:
        second.wait_ready()
        outcome = process_payloads([seed.value], config=settings.core)[0]
        per_input = len(to_records(outcome, topics=topics.outputs(), input_key="k"))
        got: list[Any] = []
        deadline = time.monotonic() + 120
        seen: set[tuple[int, int]] = set()
        while time.monotonic() < deadline:
            got = run_async(
                _consume(kafka_settings, [topics.articles, topics.claims, topics.dead_letters], 0)
            )
            seen = {
                (int(dict(r.headers)["origin-partition"]), int(dict(r.headers)["origin-offset"]))
                for r in got
            }
            # every input seen is not enough: the last one's records may still be coming
            if len(seen) == len(origins) and len(got) >= len(origins) * per_input:
                break
        assert seen == {(o["partition"], o["offset"]) for o in origins}
        assert len(got) >= len(origins) * per_input
        assert in_flight_at_kill > 0
        assert not [pid for pid in pool_processes if _alive(pid)], "orphaned pool processes"
    finally:
        assert second.terminate() == 0, second.tail()


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in found.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")
