"""Authenticated Kafka: the worker over SASL_SSL (SCRAM-SHA-512), refusals, secret hygiene.

One broker for the module (`sasl_ssl_broker`) whose client port takes only SASL_SSL, with a
CA and certificate made for the test and a user whose random password is looked for in
everything the service prints, serves or publishes. The worker and `streams produce` run
as subprocesses configured only through KAFKA_* / STREAMS_* variables, as in production.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import orjson
import pytest
from aiokafka import TopicPartition
from click.testing import CliRunner
from pydantic import SecretStr, ValidationError

from streams.app.app import credentials
from streams.cli import cli
from streams.errors import KafkaAuthenticationError, KafkaTLSError
from streams.kafka_client import security_problem
from streams.localkafka import LocalKafka
from streams.settings import KafkaSettings, Settings
from tests.kafka_fixtures import SCRAM_USER, create_topic, make_tls_files, read_records, run_async

pytestmark = [pytest.mark.timeout(300)]

STREAMS = [sys.executable, "-m", "streams.cli"]
PAGE = (
    "Council report\n\n"
    "The city council said on Tuesday that the old bridge would close for repairs after "
    "engineers found cracks in its steel supports.\n\n"
    '"We cannot take any risk with public safety," the mayor told reporters.'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _password(broker: LocalKafka) -> str:
    listener = broker.sasl_ssl
    assert listener is not None
    return listener.users[SCRAM_USER].get_secret_value()


def _kafka_env(broker: LocalKafka, **overrides: str) -> dict[str, str]:
    """The process environment with the broker's settings as KAFKA_* variables only."""
    settings = broker.client_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "STREAMS_"))}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": SCRAM_USER,
        "KAFKA_SASL_PASSWORD": _password(broker),
        "KAFKA_SSL_CAFILE": str(settings.ssl_cafile),
    }
    return env | overrides


@dataclass(frozen=True)
class WorkerRun:
    """What one `streams worker` run over SASL_SSL printed, served and published."""

    password: str
    env: dict[str, str]
    topics: dict[str, str]
    articles: list[Any]
    dead_letters: list[Any]
    metrics: str
    stdout: str
    stderr: str
    produce_output: str
    returncode: int


def _wait_ready(process: subprocess.Popen[bytes], port: int, logs: Path) -> None:
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"worker exited {process.returncode}:\n{_tail(logs)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"worker not ready after 150s:\n{_tail(logs)}")


def _tail(logs: Path) -> str:
    return "\n".join(
        path.read_text(errors="replace")[-3000:] for path in sorted(logs.glob("worker.*"))
    )


@pytest.fixture(scope="module")
def worker_run(
    sasl_ssl_broker: LocalKafka, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerRun]:
    """One worker at debug level, fed a good page and a bad event through `streams produce`."""
    tmp = tmp_path_factory.mktemp("secured-worker")
    settings = sasl_ssl_broker.client_settings(client_id="tests")
    tag = uuid.uuid4().hex[:8]
    topics = {
        "INPUT": f"raw-{tag}",
        "ARTICLES": f"articles-{tag}",
        "CLAIMS": f"claims-{tag}",
        "DEAD_LETTERS": f"dlq-{tag}",
        "CLAIM_APPEARANCES": f"appearances-{tag}",
    }
    for name in topics.values():
        run_async(create_topic(settings, name, 1, {}))
    port = _free_port()
    env = _kafka_env(sasl_ssl_broker) | {f"STREAMS_TOPICS__{k}": v for k, v in topics.items()}
    env |= {
        "STREAMS_TOPICS__PARTITIONS": "1",
        "STREAMS_TOPICS__PARSED_PARTITIONS": "2",
        "STREAMS_WORKER__APP_ID": f"streams-secured-{tag}",
        "STREAMS_WORKER__WEB_HOST": "127.0.0.1",
        "STREAMS_WORKER__WEB_PORT": str(port),
        "STREAMS_WORKER__DATA_DIR": str(tmp / "worker-data"),
    }
    stdout, stderr = tmp / "worker.stdout", tmp / "worker.stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*STREAMS, "-v", "worker", "--loglevel", "debug"], env=env, stdout=out, stderr=err
        )
    try:
        _wait_ready(process, port, tmp)
        events = tmp / "events.jsonl"
        good = {"url": f"https://news.example/{tag}", "fetched_at": "2024-10-28T00:00:00Z"}
        events.write_bytes(orjson.dumps(good | {"text": PAGE}) + b"\n{not json\n")
        produced = subprocess.run(
            [*STREAMS, "produce", str(events)], env=env, capture_output=True, timeout=120
        )
        assert produced.returncode == 0, produced.stderr.decode(errors="replace")

        def read(topic: str) -> list[Any]:
            return run_async(
                read_records(
                    settings.bootstrap_servers or "",
                    [TopicPartition(topic, 0)],
                    until=lambda records: len(records) >= 1,
                    timeout=120,
                    settings=settings,
                )
            )

        articles, dead_letters = read(topics["ARTICLES"]), read(topics["DEAD_LETTERS"])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            metrics = reply.read().decode()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    yield WorkerRun(
        password=_password(sasl_ssl_broker),
        env=env,
        topics=topics,
        articles=articles,
        dead_letters=dead_letters,
        metrics=metrics,
        stdout=stdout.read_text(errors="replace"),
        stderr=stderr.read_text(errors="replace"),
        produce_output=(produced.stdout + produced.stderr).decode(errors="replace"),
        returncode=process.returncode,
    )


# --- 1. the worker, configured only through the environment, works over SASL_SSL ----------


@pytest.mark.kafka
def test_worker_publishes_an_article_over_sasl_ssl(worker_run: WorkerRun) -> None:
    (record,) = worker_run.articles
    article = orjson.loads(record.value)
    assert article["url"].startswith("https://news.example/")
    assert "bridge would close" in article["body"]
    (dead,) = worker_run.dead_letters
    assert orjson.loads(dead.value)["reason"] == "invalid_json"
    assert "Authenticated as streams-worker via SCRAM-SHA-512" in worker_run.stderr


@pytest.mark.kafka
def test_tail_reads_the_article_over_sasl_ssl(worker_run: WorkerRun) -> None:
    """`streams tail`, configured only through the environment, reads the secured topic."""
    topic = worker_run.topics["ARTICLES"]
    result = _run(["tail", topic, "-n", "1", "--idle-timeout", "10"], worker_run.env)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert orjson.loads(line)["topic"] == topic
    assert worker_run.password not in result.stdout + result.stderr


@pytest.mark.kafka
def test_broker_refuses_plain_text_clients(sasl_ssl_broker: LocalKafka) -> None:
    """The client port really is secured: a PLAINTEXT client cannot get metadata."""
    plain = KafkaSettings(
        bootstrap_servers=sasl_ssl_broker.bootstrap_servers,
        security_protocol="PLAINTEXT",
        sasl_mechanism=None,
    )
    from streams.kafka_io import KafkaUnavailableError, check_broker

    with pytest.raises(KafkaUnavailableError):
        run_async(check_broker(plain, timeout=3.0))


# --- 2. refusals: one clear line, no traceback --------------------------------------------


def _run(arguments: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STREAMS, *arguments], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.kafka
@pytest.mark.parametrize("verb", [["worker"], ["tail", "no-such-topic", "--idle-timeout", "1"]])
def test_wrong_password_is_refused_in_one_line(
    sasl_ssl_broker: LocalKafka, verb: list[str]
) -> None:
    wrong = "Wrong-" + uuid.uuid4().hex
    result = _run(verb, _kafka_env(sasl_ssl_broker, KAFKA_SASL_PASSWORD=wrong))
    line = _one_line(result)
    assert line.startswith("streams: error: SASL authentication failed for user "), line
    assert f"'{SCRAM_USER}' at bootstrap {sasl_ssl_broker.bootstrap_servers}" in line
    assert "check KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD" in line
    assert wrong not in result.stdout + result.stderr


@pytest.mark.kafka
def test_unknown_ca_is_refused_in_one_line(sasl_ssl_broker: LocalKafka, tmp_path: Path) -> None:
    other = make_tls_files(tmp_path / "other", ca_name="some other CA")
    result = _run(["worker"], _kafka_env(sasl_ssl_broker, KAFKA_SSL_CAFILE=str(other.cafile)))
    line = _one_line(result)
    assert line.startswith("streams: error: TLS failed with the broker at bootstrap "), line
    assert "certificate verify failed" in line or "unable to get local issuer" in line, line
    assert "check KAFKA_SSL_CAFILE" in line
    assert _password(sasl_ssl_broker) not in result.stdout + result.stderr


@pytest.mark.kafka
@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "PLAINTEXT"])
def test_plain_text_client_on_the_tls_port_is_told_the_protocol(
    sasl_ssl_broker: LocalKafka, protocol: str
) -> None:
    env = _kafka_env(sasl_ssl_broker, KAFKA_SECURITY_PROTOCOL=protocol)
    line = _one_line(_run(["tail", "no-such-topic", "--idle-timeout", "1"], env))
    assert f"closed the connection before a {protocol} session was set up" in line, line
    assert "check KAFKA_SECURITY_PROTOCOL" in line


@pytest.mark.kafka
def test_missing_ca_file_is_one_line(sasl_ssl_broker: LocalKafka, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    line = _one_line(_run(["worker"], _kafka_env(sasl_ssl_broker, KAFKA_SSL_CAFILE=str(missing))))
    assert f"cannot load KAFKA_SSL_CAFILE {missing}" in line
    assert "check KAFKA_SSL_CAFILE" in line


@pytest.mark.kafka
def test_probe_tells_the_refusals_apart(sasl_ssl_broker: LocalKafka, tmp_path: Path) -> None:
    """`security_problem` itself: None when accepted, the right error when refused."""
    good = sasl_ssl_broker.client_settings()
    assert run_async(security_problem(good)) is None
    wrong = good.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    assert isinstance(run_async(security_problem(wrong)), KafkaAuthenticationError)
    other = make_tls_files(tmp_path / "other")
    untrusted = good.model_copy(update={"ssl_cafile": other.cafile})
    assert isinstance(run_async(security_problem(untrusted)), KafkaTLSError)


# --- 3. the password never appears ---------------------------------------------------------


@pytest.mark.kafka
def test_password_absent_from_worker_logs(worker_run: WorkerRun) -> None:
    assert "DEBUG" in worker_run.stderr + worker_run.stdout  # the logs were at debug level
    assert worker_run.password not in worker_run.stdout
    assert worker_run.password not in worker_run.stderr
    assert worker_run.password not in worker_run.produce_output


@pytest.mark.kafka
def test_password_absent_from_metrics(worker_run: WorkerRun) -> None:
    assert "streams_" in worker_run.metrics
    assert worker_run.password not in worker_run.metrics


@pytest.mark.kafka
def test_password_absent_from_dead_letters(worker_run: WorkerRun) -> None:
    (dead,) = worker_run.dead_letters
    headers = b"".join(name.encode() + (value or b"") for name, value in dead.headers)
    assert worker_run.password.encode() not in (dead.value or b"") + (dead.key or b"") + headers


def _verbs(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _verbs(command, (*prefix, name))


SECRET = "Hush-3f9c2e7d1b-secret"


def _secret_env(**extra: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": SCRAM_USER,
        "KAFKA_SASL_PASSWORD": SECRET,
        **extra,
    }


def test_password_absent_from_help() -> None:
    verbs = list(_verbs(cli))
    assert {("worker",), ("produce",), ("eval", "ner")} <= set(verbs)
    runner = CliRunner()
    for verb in [(), *verbs]:
        result = runner.invoke(cli, [*verb, "--help"], env=_secret_env(), prog_name="streams")
        assert result.exit_code == 0, (verb, result.output)
        assert "Usage: streams" in result.output
        assert SECRET not in result.output, verb


def test_password_absent_from_settings_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _secret_env().items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get_secret_value() == SECRET  # it was read
    kafka = settings.kafka
    texts = [
        *(repr(settings), str(settings), repr(kafka), str(kafka), str(kafka.model_dump())),
        *(kafka.model_dump_json(), settings.model_dump_json(), repr(credentials(kafka))),
    ]
    for text in texts:
        assert SECRET not in text, text


def test_password_absent_from_validation_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid configuration is reported without echoing the input (which holds it)."""
    env = _secret_env()
    del env["KAFKA_SASL_USERNAME"]  # SASL without a user: the whole input is at fault
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        KafkaSettings()
    assert "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required" in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
    with pytest.raises(ValidationError) as nested:
        Settings()
    assert SECRET not in str(nested.value)
    result = CliRunner().invoke(cli, ["worker"], env=env, prog_name="streams")
    assert result.exit_code == 2
    assert "invalid configuration" in result.output
    assert SECRET not in result.output


def test_password_absent_from_errors_and_broker_repr(tmp_path: Path) -> None:
    error = KafkaAuthenticationError(
        username=SCRAM_USER, bootstrap="127.0.0.1:9093", mechanism="SCRAM-SHA-512",
        reason="Authentication failed during authentication due to invalid credentials",
    )  # fmt: skip
    assert "check KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD" in str(error)
    from streams.localkafka import SaslSslListener

    listener = SaslSslListener(
        users={SCRAM_USER: SecretStr(SECRET)},
        certfile=tmp_path / "c.pem",
        keyfile=tmp_path / "k.pem",
        cafile=tmp_path / "ca.pem",
    )
    broker = LocalKafka(tmp_path / "kafka", sasl_ssl=listener)
    for text in (repr(listener), str(listener), repr(broker), *listener.add_scram_arguments()):
        assert SECRET not in text, text


# --- the secured local broker itself --------------------------------------------------------


def test_scram_users_must_fit_the_storage_tool_syntax(tmp_path: Path) -> None:
    from streams.localkafka import LocalKafkaError, SaslSslListener

    files = {"certfile": tmp_path / "c", "keyfile": tmp_path / "k", "cafile": tmp_path / "ca"}
    with pytest.raises(LocalKafkaError, match="SCRAM user name 'b,ob'"):
        SaslSslListener(users={"b,ob": SecretStr(SECRET)}, **files)
    with pytest.raises(LocalKafkaError, match="password of SCRAM user 'bob' is empty"):
        SaslSslListener(users={"bob": SecretStr("")}, **files)
    with pytest.raises(LocalKafkaError, match="at least one SCRAM user"):
        SaslSslListener(users={}, **files)
    listener = SaslSslListener(users={"bob": SecretStr(SECRET)}, **files)
    flag, scram = listener.add_scram_arguments()  # the format command line: no password
    assert flag == "--add-scram"
    assert scram.startswith("SCRAM-SHA-512=[name=bob,iterations=8192,salt=")
    assert "saltedpassword=" in scram and SECRET not in scram


@pytest.mark.kafka
def test_data_dir_formatted_without_users_is_refused(
    sasl_ssl_broker: LocalKafka, tmp_path: Path
) -> None:
    """Users are created at format time only: reusing a plain data dir fails clearly."""
    from streams.localkafka import BrokerStartError

    listener = sasl_ssl_broker.sasl_ssl
    assert listener is not None
    data = tmp_path / "kafka"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "meta.properties").write_text("version=1\n")  # formatted, no users
    with pytest.raises(BrokerStartError, match=f"without SCRAM user.*{SCRAM_USER}.*new data dir"):
        LocalKafka(data, sasl_ssl=listener).start()


@pytest.mark.kafka
def test_secured_broker_restarts_with_its_users(sasl_ssl_broker: LocalKafka) -> None:
    """Last in the module: a restart keeps the SCRAM users, the ports and TLS."""
    port = sasl_ssl_broker.port
    sasl_ssl_broker.restart()
    assert sasl_ssl_broker.port == port
    good = sasl_ssl_broker.client_settings()
    assert run_async(security_problem(good)) is None
    wrong = good.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    assert isinstance(run_async(security_problem(wrong)), KafkaAuthenticationError)


def test_sasl_payloads_masked_in_aiokafka_debug_log(caplog: pytest.LogCaptureFixture) -> None:
    """With SASL/PLAIN the payload is the password; aiokafka logs every request at debug."""
    from aiokafka.protocol.admin import SaslAuthenticateRequest_v1

    import streams.kafka_client  # noqa: F401  (installs the mask)

    request = SaslAuthenticateRequest_v1(f"\0{SCRAM_USER}\0{SECRET}".encode())
    assert SECRET in repr(request)  # what aiokafka would print
    with caplog.at_level(logging.DEBUG, logger="aiokafka.conn"):
        logging.getLogger("aiokafka.conn").debug(
            "Request to %s:%d %d: %s", "127.0.0.1", 9093, 7, request
        )
    assert "Request to 127.0.0.1:9093 7: SaslAuthenticateRequest(<masked>)" in caplog.text
    assert SECRET not in caplog.text
