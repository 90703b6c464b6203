"""The local KRaft broker: produce/consume, restarts keep data, no orphan JVMs, clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import UnknownTopicOrPartitionError
from aiokafka.structs import ConsumerRecord

from streams import localkafka
from streams.kafka_client import client_options
from streams.localkafka import (
    BrokerStartError,
    JavaNotFoundError,
    LocalKafka,
    MavenError,
    ensure_jars,
)
from streams.settings import KafkaSettings
from tests.kafka_fixtures import TopicFactory, create_topic, run_async

REPO_ROOT = Path(__file__).resolve().parent.parent


def _settings(bootstrap_servers: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=bootstrap_servers, security_protocol="PLAINTEXT")


async def _produce(settings: KafkaSettings, topic: str, *values: bytes) -> None:
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"k", headers=[("trace-id", b"t-1")])
    finally:
        await producer.stop()


async def _consume(settings: KafkaSettings, topic: str, count: int) -> list[ConsumerRecord]:
    consumer = AIOKafkaConsumer(
        topic,
        **client_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        while len(records) < count:
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


# --- with a broker ------------------------------------------------------------------------


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_produced_record_is_consumed_back(
    kafka_settings: KafkaSettings, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    run_async(_produce(kafka_settings, topic, b'{"hello": "kafka"}'))
    (record,) = run_async(_consume(kafka_settings, topic, 1))
    assert (record.key, record.value) == (b"k", b'{"hello": "kafka"}')
    assert list(record.headers) == [("trace-id", b"t-1")]


@pytest.mark.kafka
@pytest.mark.timeout(180)
def test_restart_keeps_data_and_port(private_kafka_broker: LocalKafka) -> None:
    broker = private_kafka_broker
    settings = _settings(broker.bootstrap_servers)
    topic = "restart-check"
    run_async(create_topic(settings, topic, 1, {}))
    run_async(_produce(settings, topic, b"before clean restart"))
    port, first_pid = broker.port, broker.pid

    broker.restart()
    assert (broker.port, broker.running) == (port, True)
    assert broker.pid != first_pid
    run_async(_produce(settings, topic, b"before crash"))

    broker.restart(hard=True)  # SIGKILL: a crash, then log recovery
    values = [r.value for r in run_async(_consume(settings, topic, 2))]
    assert values == [b"before clean restart", b"before crash"]


@pytest.mark.kafka
@pytest.mark.timeout(60)
def test_topics_are_not_auto_created(kafka_settings: KafkaSettings) -> None:
    async def metadata_for_missing_topic() -> set[str]:
        producer = AIOKafkaProducer(**client_options(kafka_settings), request_timeout_ms=3000)
        await producer.start()
        try:
            await producer.client.fetch_all_metadata()
            with pytest.raises(UnknownTopicOrPartitionError):
                await producer.send_and_wait("never-declared", b"x")
            metadata = await producer.client.fetch_all_metadata()
            return set(metadata.topics())
        finally:
            await producer.stop()

    assert "never-declared" not in run_async(metadata_for_missing_topic())


@pytest.mark.kafka
@pytest.mark.timeout(60)
def test_second_ensure_jars_is_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    jars = ensure_jars()  # fetched by the session (or scripts/ci-deps.sh) already

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("ensure_jars ran a command although its marker exists")

    monkeypatch.setattr("streams.localkafka.subprocess.run", no_subprocess)
    monkeypatch.setattr("streams.localkafka.shutil.which", lambda name: None)
    started = time.monotonic()
    assert ensure_jars() == jars
    assert time.monotonic() - started < 0.5
    assert len(list(jars.glob("kafka_2.13-*.jar"))) == 1


@pytest.mark.kafka
@pytest.mark.timeout(60)
def test_second_broker_on_a_busy_data_dir_is_refused(kafka_broker: LocalKafka) -> None:
    with pytest.raises(BrokerStartError, match="another Kafka broker is using"):
        LocalKafka(kafka_broker.data_dir).start()
    assert kafka_broker.running


@pytest.mark.kafka
@pytest.mark.timeout(60)
def test_busy_port_is_refused_before_the_jvm_starts(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        broker = LocalKafka(tmp_path / "kafka", port=port)
        with pytest.raises(BrokerStartError, match=f"port 127.0.0.1:{port} is in use"):
            broker.start()
        assert not broker.running


@pytest.mark.kafka
@pytest.mark.timeout(60)
def test_start_timeout_reports_the_broker_log(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path / "kafka", start_timeout=0.5)
    with pytest.raises(BrokerStartError, match="not ready after") as raised:
        broker.start()
    assert "broker.log" in str(raised.value)
    assert not broker.running


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.kafka
@pytest.mark.timeout(120)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
@pytest.mark.parametrize("how", ["normal exit", "SIGKILL"])
def test_broker_dies_with_its_parent(tmp_path: Path, how: str) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from streams.localkafka import LocalKafka
        broker = LocalKafka(Path({str(tmp_path / "kafka")!r})).start()
        print(broker.pid, flush=True)
        if {how == "SIGKILL"}:
            time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )
    assert parent.stdout is not None
    jvm_pid = int(parent.stdout.readline())
    assert _alive(jvm_pid)
    if how == "SIGKILL":
        parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=60)
    deadline = time.monotonic() + 30
    while _alive(jvm_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(jvm_pid):
        os.kill(jvm_pid, signal.SIGKILL)
        pytest.fail(f"the broker JVM (pid {jvm_pid}) outlived its parent ({how})")


# --- without a broker ----------------------------------------------------------------------


def test_server_properties_fit_one_node_and_exactly_once(tmp_path: Path) -> None:
    text = localkafka._server_properties(tmp_path, 9092, 9093)
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert props["auto.create.topics.enable"] == "false"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"


def test_cluster_ids_look_like_kafka_uuids() -> None:
    ids = {localkafka._new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_missing_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("streams.localkafka.shutil.which", lambda name: None)
    with pytest.raises(JavaNotFoundError) as raised:
        localkafka.find_java()
    assert "Java 17 or newer is required: apt-get install openjdk-17-jre-headless" in str(
        raised.value
    )
    assert "\n" not in str(raised.value)


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("streams.localkafka.shutil.which", lambda name: "/usr/bin/java")
    monkeypatch.setattr(localkafka, "_java_major", lambda java: 11)
    with pytest.raises(JavaNotFoundError, match="is Java 11; Java 17 or newer is required"):
        localkafka.find_java()


def test_missing_maven_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(localkafka, "find_java", lambda: "/usr/bin/java")
    monkeypatch.setattr("streams.localkafka.shutil.which", lambda name: None)
    with pytest.raises(MavenError, match=r"mvn not found on PATH; .*apt-get install maven"):
        ensure_jars(tmp_path / "libs")


def test_kafka_version_comes_from_the_pom() -> None:
    assert localkafka.kafka_version().startswith("4.")
    assert localkafka.default_jars_dir().parent.name == f"kafka-{localkafka.kafka_version()}"
