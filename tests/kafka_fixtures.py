"""Real-broker fixtures: one local KRaft Kafka per test session, uuid topics and groups per test.

Imported by tests/conftest.py. Tests that use them are marked `kafka` and carry a hard
`pytest.mark.timeout`. The broker is `streams.localkafka.LocalKafka` (Maven jars, no Docker);
missing Java or Maven fails the tests with the install command instead of skipping them, so CI
never passes without having talked to a broker. `sasl_ssl_broker` is a module's own broker
that takes clients over SASL_SSL (SCRAM-SHA-512) only, with a CA and certificate made for the
test by the `openssl` CLI (nothing checked in).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import SecretStr

from streams.kafka_client import client_options
from streams.localkafka import LocalKafka, LocalKafkaError, SaslSslListener
from streams.settings import KafkaSettings

__all__ = [
    "SCRAM_USER",
    "TlsFiles",
    "TopicFactory",
    "create_topic",
    "group_id",
    "kafka_broker",
    "kafka_settings",
    "make_tls_files",
    "private_kafka_broker",
    "read_records",
    "run_async",
    "sasl_ssl_broker",
    "topic_factory",
]

T = TypeVar("T")

TOPIC_READY_SECONDS = 30.0


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from a sync test, even if a loop already runs here."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _start(broker: LocalKafka) -> LocalKafka:
    try:
        return broker.start()
    except LocalKafkaError as error:
        pytest.fail(f"local Kafka broker did not start: {error}", pytrace=False)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """The session's broker on a free 127.0.0.1 port; `restart()` keeps its port and data."""
    broker = _start(LocalKafka(tmp_path_factory.mktemp("kafka")))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def private_kafka_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    """A broker of this test's own, for tests that kill or restart it (~4 s to start)."""
    broker = _start(LocalKafka(tmp_path / "kafka"))
    try:
        yield broker
    finally:
        broker.stop()


SCRAM_USER = "streams-worker"
"""The SCRAM user of `sasl_ssl_broker`."""

_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a test CA and of a broker certificate it signed."""

    cafile: Path
    certfile: Path
    keyfile: Path


def _openssl(*arguments: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl not found; run scripts/ci-deps.sh (apt-get install openssl)")
    result = subprocess.run(
        [openssl, *arguments], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"openssl {arguments[0]} failed: {result.stderr.strip()}", pytrace=False)


def make_tls_files(directory: Path, *, ca_name: str = "streams test CA") -> TlsFiles:
    """A new CA and a broker certificate for 127.0.0.1 and localhost, valid for two days.

    Args:
        directory (Path): where the PEM files go (created).
        ca_name (str): the CA's common name. Defaults to "streams test CA".

    Returns:
        TlsFiles: the CA certificate, the broker's certificate and its unencrypted key.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "openssl.cnf"
    config.write_text(_OPENSSL_CONFIG, encoding="ascii")
    files = TlsFiles(directory / "ca.pem", directory / "broker.pem", directory / "broker.key")
    ca_key, request = directory / "ca.key", directory / "broker.csr"
    rsa = ("-newkey", "rsa:2048", "-nodes", "-config", str(config))
    _openssl("req", "-x509", *rsa, "-keyout", str(ca_key), "-out", str(files.cafile),
             "-days", "2", "-subj", f"/CN={ca_name}", "-extensions", "ca")  # fmt: skip
    _openssl("req", "-new", *rsa, "-keyout", str(files.keyfile), "-out", str(request),
             "-subj", "/CN=localhost")  # fmt: skip
    _openssl("x509", "-req", "-in", str(request), "-CA", str(files.cafile),
             "-CAkey", str(ca_key), "-set_serial", f"0x{secrets.token_hex(8)}",
             "-days", "2", "-extfile", str(config), "-extensions", "server",
             "-out", str(files.certfile))  # fmt: skip
    return files


@pytest.fixture(scope="module")
def sasl_ssl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A broker of this module whose client port takes only SASL_SSL with SCRAM-SHA-512.

    One user, `SCRAM_USER`, with a random password (so tests can look for it in outputs);
    `broker.client_settings()` gives a client's settings, `broker.sasl_ssl` the CA file.
    """
    tmp = tmp_path_factory.mktemp("kafka-sasl")
    tls = make_tls_files(tmp / "tls")
    listener = SaslSslListener(
        # ",]=" would break kafka-storage's --add-scram syntax: they must not matter
        users={SCRAM_USER: SecretStr(f"Zebra,]={secrets.token_hex(12)}-pw")},
        certfile=tls.certfile,
        keyfile=tls.keyfile,
        cafile=tls.cafile,
    )
    broker = _start(LocalKafka(tmp / "kafka", sasl_ssl=listener))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_settings(kafka_broker: LocalKafka) -> KafkaSettings:
    """Plain-text settings for the session broker (explicit values win over KAFKA_* env)."""
    return KafkaSettings(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        security_protocol="PLAINTEXT",
        sasl_mechanism=None,
        client_id="streams-tests",
    )


@pytest.fixture
def group_id() -> str:
    """A consumer group no other test shares."""
    return f"test-group-{uuid.uuid4().hex}"


class TopicFactory(Protocol):
    """Creates a uuid-named topic and returns its name."""

    def __call__(
        self, partitions: int = 1, *, prefix: str = "test", config: dict[str, str] | None = None
    ) -> str: ...


async def create_topic(
    settings: KafkaSettings, name: str, partitions: int, config: dict[str, str]
) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=config)], timeout_ms=30_000
        )
        for topic, code, *rest in response.topic_errors:
            if code != 0:
                raise RuntimeError(f"creating topic {topic} failed: error {code} {rest}")
        # Creation is asynchronous: wait until every partition has a leader.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TOPIC_READY_SECONDS
        while True:
            described = await admin.describe_topics([name])
            found = described[0] if described else {}
            ready = [p for p in found.get("partitions", []) if p.get("leader", -1) >= 0]
            if found.get("error_code") == 0 and len(ready) == partitions:
                return
            if loop.time() > deadline:
                raise RuntimeError(f"topic {name} has no leaders after {TOPIC_READY_SECONDS}s")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def _delete_topics(settings: KafkaSettings, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.delete_topics(names, timeout_ms=10_000)
    finally:
        await admin.close()


@pytest.fixture
def topic_factory(kafka_settings: KafkaSettings) -> Iterator[TopicFactory]:
    """Create uuid-named topics on the session broker; they are deleted after the test."""
    created: list[str] = []

    def make(
        partitions: int = 1, *, prefix: str = "test", config: dict[str, str] | None = None
    ) -> str:
        name = f"{prefix}-{uuid.uuid4().hex}"
        run_async(create_topic(kafka_settings, name, partitions, dict(config or {})))
        created.append(name)
        return name

    yield make
    if created:  # best effort: the broker may be down after a test that stopped it
        with contextlib.suppress(Exception):
            run_async(_delete_topics(kafka_settings, created))


async def read_records(
    bootstrap_servers: str,
    partitions: Sequence[TopicPartition],
    *,
    until: Callable[[list[Any]], bool],
    timeout: float,
    committed: bool = False,
    settings: KafkaSettings | None = None,
) -> list[Any]:
    """Every record of `partitions` from the beginning, until `until(records)` or `timeout`.

    `committed` reads with isolation_level=read_committed (outputs of committed transactions
    only). `settings` (with the same bootstrap servers) adds their TLS and SASL options."""
    options = client_options(settings) if settings else {"bootstrap_servers": bootstrap_servers}
    consumer = AIOKafkaConsumer(
        **options,
        enable_auto_commit=False,
        isolation_level="read_committed" if committed else "read_uncommitted",
    )
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(list(partitions))
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until(records):
            batches = await consumer.getmany(timeout_ms=1000)
            records.extend(r for batch in batches.values() for r in batch)
    finally:
        await consumer.stop()
    return records
