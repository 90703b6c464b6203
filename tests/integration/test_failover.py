"""Worker processes (`streams worker`) against a real broker: failover and broker restart.

Every input is a page with a unique URL (or a bad payload with a unique key), so each can
be accounted for in the outputs: one article per good page, one dead letter per bad one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.localkafka import LocalKafka
from streams.settings import KafkaSettings, TopicSettings
from tests.kafka_fixtures import create_topic, read_records, run_async

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

BAD_EVERY = 10
"""Every tenth input is bad (not JSON), to be dead-lettered."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _page(i: int) -> str:
    return (
        f"Council report {i}\n\n"
        f"The city council said on Tuesday that bridge number {i} would close for repairs "
        f"after engineers found {i + 3} cracks in its steel supports.\n\n"
        f'"We cannot take any risk with public safety," the mayor told reporters.'
    )


def _payloads(count: int) -> list[tuple[bytes, bytes]]:
    items = []
    for i in range(count):
        key = f"input-{i}".encode()
        if i % BAD_EVERY == BAD_EVERY - 1:
            items.append((key, b"{not json " + key))
        else:
            event = {
                "url": f"https://news.example/{i}",
                "fetched_at": "2024-10-28T00:00:00Z",
                "text": _page(i),
            }
            items.append((key, orjson.dumps(event)))
    return items


KNOWN_NOISE = "Invalid state transition TransactionState.IN_TRANSACTION"
"""Faust begins a transaction on a producer already in one at every rebalance; harmless."""


def _log_summary(path: Path) -> str:
    """A worker log's first problems, the traceback of its first crash, and its tail."""
    lines = path.read_text(errors="replace").splitlines()
    problems = [
        line
        for line in lines
        if any(level in line for level in ("[ERROR]", "[CRITICAL]", "[WARNING]"))
        and KNOWN_NOISE not in line
    ][:20]
    crash = next((i for i, line in enumerate(lines) if "Crashed reason" in line), None)
    first_crash = lines[crash : crash + 40] if crash is not None else []
    tail = "\n".join(lines)[-3000:]
    return "\n".join(
        [f"--- {path.name}: first problems", *problems, "--- first crash", *first_crash,
         "--- tail", tail]
    )  # fmt: skip


class Stack:
    """Topics of one test and the worker processes consuming them."""

    def __init__(self, broker: LocalKafka, tmp: Path, guarantee: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.broker = broker
        self.tmp = tmp
        self.topics = {
            "INPUT": f"raw-{tag}",
            "ARTICLES": f"articles-{tag}",
            "CLAIMS": f"claims-{tag}",
            "DEAD_LETTERS": f"dlq-{tag}",
            "CLAIM_APPEARANCES": f"appearances-{tag}",
        }
        self.app_id = f"streams-test-{tag}"
        self.guarantee = guarantee
        self.workers: list[tuple[subprocess.Popen[bytes], int]] = []

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=self.broker.bootstrap_servers, client_id="tests")

    def env(self, port: int, index: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "STREAMS_"))}
        env |= {f"STREAMS_TOPICS__{k}": v for k, v in self.topics.items()}
        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "STREAMS_TOPICS__PARTITIONS": "4",
            "STREAMS_WORKER__APP_ID": self.app_id,
            "STREAMS_WORKER__WEB_PORT": str(port),
            "STREAMS_WORKER__WEB_HOST": "127.0.0.1",
            "STREAMS_WORKER__BATCH_SIZE": "8",
            "STREAMS_WORKER__BROKER_SESSION_TIMEOUT_SECONDS": "10",
            "STREAMS_WORKER__PROCESSING_GUARANTEE": self.guarantee,
            "STREAMS_WORKER__DATA_DIR": str(self.tmp / f"worker-{index}"),
        }
        return env

    def start_worker(self, **extra: str) -> subprocess.Popen[bytes]:
        port = _free_port()
        index = len(self.workers)
        log = (self.tmp / f"worker-{index}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=self.env(port, index) | extra,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append((process, port))
        return process

    def port(self, process: subprocess.Popen[bytes]) -> int:
        return dict((id(p), port) for p, port in self.workers)[id(process)]

    def wait_ready(self, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
        port = self.port(process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, self.logs()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"worker not ready after {timeout}s\n{self.logs()}")

    def logs(self) -> str:
        """The tail of every worker's log, then the stage metrics of the live workers."""
        logs = [_log_summary(path) for path in sorted(self.tmp.glob("worker-*.log"))]
        return "\n".join(logs + [self._progress(process) for process, _ in self.workers])

    def _progress(self, process: subprocess.Popen[bytes]) -> str:
        if process.poll() is not None:
            return f"--- pid {process.pid}: exited {process.returncode}"
        wanted = ("streams_stage_events_total", "streams_consumer_lag", "streams_records_pub")
        try:
            url = f"http://127.0.0.1:{self.port(process)}/metrics"
            with urllib.request.urlopen(url, timeout=5) as response:
                lines = response.read().decode().splitlines()
        except OSError as error:
            return f"--- pid {process.pid}: no metrics ({error})"
        return f"--- pid {process.pid} metrics\n" + "\n".join(
            line for line in lines if line.startswith(wanted)
        )

    def stop_all(self) -> None:
        for process, _ in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self.workers:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def stack_factory(private_kafka_broker: LocalKafka, tmp_path: Path) -> Iterator[Any]:
    stacks: list[Stack] = []

    def make(guarantee: str = "at_least_once") -> Stack:
        stack = Stack(private_kafka_broker, tmp_path, guarantee)
        kafka = stack.kafka
        for name in stack.topics.values():
            run_async(create_topic(kafka, name, 4, {}))
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop_all()


async def _produce(kafka: KafkaSettings, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def _read_all(
    kafka: KafkaSettings, topics: list[str], *, until: Any, timeout: float, committed: bool
) -> list[Any]:
    partitions = [TopicPartition(t, p) for t in topics for p in range(4)]
    return await read_records(
        kafka.bootstrap_servers, partitions, until=until, timeout=timeout, committed=committed
    )


def _accounting(records: list[Any], topics: dict[str, str]) -> Counter[str]:
    """Input key → how many times it came out (as its article, or as its dead letter)."""
    seen: Counter[str] = Counter()
    for record in records:
        value = orjson.loads(record.value)
        if record.topic == topics["ARTICLES"] and value["part_of"] is None:
            seen["input-" + value["url"].rsplit("/", 1)[1]] += 1
        elif record.topic == topics["DEAD_LETTERS"]:
            seen[record.key.decode()] += 1
    return seen


def _complete(expected: int, topics: dict[str, str]) -> Any:
    return lambda records: len(_accounting(records, topics)) >= expected


def _two_busy_workers(
    stack: Stack, items: list[tuple[bytes, bytes]]
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """Start two workers, produce `items`, and return once 40 inputs came out, read
    uncommitted (records of open transactions show as soon as they are written), so
    whatever the test does next lands while most of the stream is still to be processed."""
    first, second = stack.start_worker(), stack.start_worker()
    stack.wait_ready(first)
    stack.wait_ready(second)
    run_async(_produce(stack.kafka, stack.topics["INPUT"], items))
    early = run_async(
        _read_all(stack.kafka, _outputs(stack), until=_complete(40, stack.topics), timeout=120,
                  committed=False)
    )  # fmt: skip
    assert len(_accounting(early, stack.topics)) < len(items), "must act mid-stream"
    return first, second


def _outputs(stack: Stack) -> list[str]:
    return [stack.topics["ARTICLES"], stack.topics["DEAD_LETTERS"]]


def _assert_each_input_out(
    stack: Stack, records: list[Any], count: int, *, once: bool = True
) -> None:
    """Every one of `count` inputs came out (and, with `once`, none more than once)."""
    seen = _accounting(records, stack.topics)
    missing = {f"input-{i}" for i in range(count)} - set(seen)
    assert not missing, f"lost inputs: {sorted(missing)[:10]}\n{stack.logs()}"
    twice = {key: n for key, n in seen.items() if n != 1}
    assert not (once and twice), f"inputs published more than once: {twice}\n{stack.logs()}"


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
def test_two_workers_survive_a_sigkill_mid_stream(stack_factory: Any, guarantee: str) -> None:
    """One of two workers is killed while both are busy: no input is lost; with
    exactly_once the killed worker's uncommitted outputs are aborted, so none is doubled."""
    stack: Stack = stack_factory(guarantee)
    items = _payloads(240)
    first, second = _two_busy_workers(stack, items)
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=30)
    exactly_once = guarantee == "exactly_once"
    records = run_async(
        _read_all(stack.kafka, _outputs(stack), until=_complete(len(items), stack.topics),
                  timeout=300, committed=exactly_once)
    )  # fmt: skip
    _assert_each_input_out(stack, records, len(items), once=exactly_once)
    dead = [orjson.loads(r.value) for r in records if r.topic == stack.topics["DEAD_LETTERS"]]
    assert {d["reason"] for d in dead} == {"invalid_json"}
    origins = {(d["origin"]["partition"], d["origin"]["offset"]) for d in dead}
    assert len(origins) == len(items) // BAD_EVERY
    assert first.poll() is None, f"the surviving worker must keep running\n{stack.logs()}"


def test_exactly_once_worker_takes_back_its_partitions_after_a_sigkill(stack_factory: Any) -> None:
    """The first worker runs alone, hands half its partitions to a second one, and takes
    them back when that one is SIGKILLed: it must not reuse the transactional producers
    of those partitions, which the second worker's producers fenced."""
    stack: Stack = stack_factory("exactly_once")
    first = stack.start_worker()
    stack.wait_ready(first)
    second = stack.start_worker()
    stack.wait_ready(second)
    items = _payloads(80)
    outputs = [stack.topics["ARTICLES"], stack.topics["DEAD_LETTERS"]]
    run_async(_produce(stack.kafka, stack.topics["INPUT"], items[:40]))
    run_async(
        _read_all(stack.kafka, outputs, until=_complete(40, stack.topics), timeout=300,
                  committed=True)
    )  # fmt: skip
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=30)
    # half of these are on the killed worker's partitions: only a takeover publishes them
    run_async(_produce(stack.kafka, stack.topics["INPUT"], items[40:]))
    records = run_async(
        _read_all(stack.kafka, outputs, until=_complete(len(items), stack.topics), timeout=300,
                  committed=True)
    )  # fmt: skip
    _assert_each_input_out(stack, records, len(items))
    assert first.poll() is None, f"the surviving worker must keep running\n{stack.logs()}"


async def _rewind(kafka: KafkaSettings, group: str, topics: dict[str, int]) -> None:
    """Commit offset 0 for the partitions of `topics` (name → partitions) in `group`,
    which must have no members."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t, count in topics.items() for p in range(count)]
        consumer.assign(partitions)
        await consumer.commit({tp: 0 for tp in partitions})
    finally:
        await consumer.stop()


def _metric(stack: Stack, process: subprocess.Popen[bytes], name: str) -> float:
    url = f"http://127.0.0.1:{stack.port(process)}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return 0.0


def test_exactly_once_publishes_stories_read_again_once(stack_factory: Any) -> None:
    """Committed offsets of the internal topics can trail the committed outputs
    (faust-streaming/faust#606), so a worker may read stories again whose articles are
    committed: rewound to the beginning of `<app>-parsed` and `<app>-linking`, a new
    worker publishes nothing twice."""
    stack: Stack = stack_factory("exactly_once")
    worker = stack.start_worker()
    stack.wait_ready(worker)
    items = _payloads(40)
    run_async(_produce(stack.kafka, stack.topics["INPUT"], items))
    outputs = [stack.topics["ARTICLES"], stack.topics["DEAD_LETTERS"]]
    first = run_async(
        _read_all(stack.kafka, outputs, until=_complete(len(items), stack.topics), timeout=300,
                  committed=True)
    )  # fmt: skip
    stories = sum(1 for r in first if r.topic == stack.topics["ARTICLES"])
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=90) == 0, stack.logs()
    parsed = TopicSettings().parsed_partitions  # the stack leaves it at its default
    internal = {f"{stack.app_id}-parsed": parsed, f"{stack.app_id}-linking": 1}
    run_async(_rewind(stack.kafka, stack.app_id, internal))

    again = stack.start_worker()
    stack.wait_ready(again)
    # every story comes to linking twice: sent again by enrich, and read again itself
    deadline = time.monotonic() + 300
    while _metric(stack, again, 'streams_stage_events_total{stage="linking"}') < 2 * stories:
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(1)
    time.sleep(5)  # a commit interval: the transactions of the replays are committed
    records = run_async(
        _read_all(stack.kafka, outputs, until=lambda records: False, timeout=10, committed=True)
    )
    seen = _accounting(records, stack.topics)
    assert set(seen) == {f"input-{i}" for i in range(len(items))}
    twice = {key: n for key, n in seen.items() if n != 1}
    assert not twice, f"inputs published more than once: {twice}\n{stack.logs()}"
    assert sum(1 for r in records if r.topic == stack.topics["ARTICLES"]) == stories
    assert _metric(stack, again, "streams_replays_skipped_total") == 2 * stories


def test_worker_recovers_from_a_broker_restart_without_losing_events(
    stack_factory: Any,
) -> None:
    stack: Stack = stack_factory("at_least_once")
    worker = stack.start_worker()
    stack.wait_ready(worker)
    items = _payloads(60)
    run_async(_produce(stack.kafka, stack.topics["INPUT"], items[:30]))
    time.sleep(2)
    stack.broker.restart(hard=True)
    run_async(_produce(stack.kafka, stack.topics["INPUT"], items[30:]))
    outputs = [stack.topics["ARTICLES"], stack.topics["DEAD_LETTERS"]]
    records = run_async(
        _read_all(
            stack.kafka,
            outputs,
            until=_complete(len(items), stack.topics),
            timeout=300,
            committed=False,
        )
    )
    seen = _accounting(records, stack.topics)
    missing = {f"input-{i}" for i in range(len(items))} - set(seen)
    assert not missing, f"lost inputs: {sorted(missing)[:10]}\n{stack.logs()}"
    assert worker.poll() is None, f"the worker must survive the restart\n{stack.logs()}"


def test_sigterm_stops_the_worker_cleanly(stack_factory: Any) -> None:
    stack: Stack = stack_factory("at_least_once")
    worker = stack.start_worker()
    stack.wait_ready(worker)
    run_async(_produce(stack.kafka, stack.topics["INPUT"], _payloads(20)))
    time.sleep(1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=90) == 0, stack.logs()
    # everything it took is either published or handed back: a new worker finishes the rest
    again = stack.start_worker()
    stack.wait_ready(again)
    records = run_async(
        _read_all(
            stack.kafka,
            [stack.topics["ARTICLES"], stack.topics["DEAD_LETTERS"]],
            until=_complete(20, stack.topics),
            timeout=120,
            committed=False,
        )
    )
    assert len(_accounting(records, stack.topics)) == 20, stack.logs()


def test_a_paused_worker_that_comes_back_loses_and_doubles_nothing(stack_factory: Any) -> None:
    """One of two exactly-once workers freezes (SIGSTOP) past its session timeout
    mid-stream, so the other takes its partitions and fences its producers, then wakes up
    (SIGCONT) with batches half done: a zombie. Every input comes out once."""
    stack: Stack = stack_factory("exactly_once")
    items = _payloads(240)
    first, second = _two_busy_workers(stack, items)
    second.send_signal(signal.SIGSTOP)
    time.sleep(25)  # past the 10 s session timeout: the group moves on without it
    second.send_signal(signal.SIGCONT)
    run_async(
        _read_all(stack.kafka, _outputs(stack), until=_complete(len(items), stack.topics),
                  timeout=300, committed=True)
    )  # fmt: skip
    time.sleep(15)  # the zombie finishes what it had begun: its publications and commits
    records = run_async(
        _read_all(stack.kafka, _outputs(stack), until=lambda records: False, timeout=10,
                  committed=True)
    )  # fmt: skip
    _assert_each_input_out(stack, records, len(items))
    assert first.poll() is None, f"the worker that stayed must keep running\n{stack.logs()}"


def test_a_worker_stopped_mid_stream_hands_over_exactly_once(stack_factory: Any) -> None:
    """A rolling restart: one of two exactly-once workers gets SIGTERM while both are
    busy; it exits 0 and the other finishes the stream: every input once."""
    stack: Stack = stack_factory("exactly_once")
    items = _payloads(240)
    first, second = _two_busy_workers(stack, items)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=90) == 0, stack.logs()
    records = run_async(
        _read_all(stack.kafka, _outputs(stack), until=_complete(len(items), stack.topics),
                  timeout=300, committed=True)
    )  # fmt: skip
    _assert_each_input_out(stack, records, len(items))
    assert first.poll() is None, f"the worker that stayed must keep running\n{stack.logs()}"
