"""`streams produce` and `streams tail` against a real broker."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streams.inputs import read_inputs
from streams.kafka_io import KafkaUnavailableError, produce, tail
from streams.settings import KafkaSettings
from tests.conftest import SEED_PATH
from tests.kafka_fixtures import TopicFactory, run_async

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


def test_produced_events_are_read_back_byte_for_byte(
    kafka_settings: KafkaSettings, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    topic = topic_factory(partitions=1)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"url": "https://example.com/a", "fetched_at": "2024-01-01T00:00:00Z"}\n')
    messages = list(read_inputs([str(SEED_PATH), str(events)]))
    summary = run_async(produce(messages, kafka=kafka_settings, topic=topic))
    assert summary.messages == 2

    out = io.BytesIO()
    printed = run_async(tail(topic, kafka=kafka_settings, out=out, idle_timeout=3))
    assert printed == 2
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert [line["key"] for line in lines] == [m.key for m in messages]
    assert [orjson.dumps(line["value"]) for line in lines] == [
        orjson.dumps(orjson.loads(m.value)) for m in messages
    ]
    assert all(line["topic"] == topic for line in lines)


def test_tail_stops_after_max_records(
    kafka_settings: KafkaSettings, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=3)
    messages = list(read_inputs([str(SEED_PATH)])) * 5
    run_async(produce(messages, kafka=kafka_settings, topic=topic))
    out = io.BytesIO()
    assert run_async(tail(topic, kafka=kafka_settings, out=out, max_records=3)) == 3
    assert len(out.getvalue().splitlines()) == 3


def test_tail_of_a_missing_topic_is_a_clear_error(kafka_settings: KafkaSettings) -> None:
    with pytest.raises(KafkaUnavailableError, match="does not exist"):
        run_async(tail("no-such-topic", kafka=kafka_settings, out=io.BytesIO(), idle_timeout=1))


def test_cli_produce_then_tail(kafka_settings: KafkaSettings, topic_factory: TopicFactory) -> None:
    topic = topic_factory(partitions=2)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers or ""}
    cli = [sys.executable, "-m", "streams.cli"]
    done = subprocess.run(
        [*cli, "produce", "--topic", topic, str(SEED_PATH)],
        capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().strip().endswith(f"to {topic}")
    done = subprocess.run(
        [*cli, "tail", topic, "--idle-timeout", "3"], capture_output=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    (line,) = done.stdout.splitlines()
    assert orjson.loads(line)["key"] == SEED_PATH.resolve().as_uri()


def test_unreachable_broker_is_one_clear_line() -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "produce", str(SEED_PATH)],
        capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    err = done.stderr.decode().strip()
    assert err.startswith("streams: error: cannot reach Kafka at 127.0.0.1:1") and "\n" not in err


def test_check_broker_answers_for_a_live_broker_and_fails_clearly_for_a_dead_one(
    kafka_settings: KafkaSettings,
) -> None:
    from streams.kafka_io import check_broker

    run_async(check_broker(kafka_settings, timeout=10))
    dead = KafkaSettings(bootstrap_servers="127.0.0.1:1")
    with pytest.raises(KafkaUnavailableError, match=r"cannot reach Kafka at 127.0.0.1:1 after 2s"):
        run_async(check_broker(dead, timeout=2))
