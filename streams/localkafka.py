"""A single-node Apache Kafka (KRaft) on 127.0.0.1 for `streams run`, `streams broker` and tests.

No Docker: the broker's jars come from Maven Central through `mvn` and `deploy/kafka/pom.xml`,
fetched once into a cache (and ~/.m2), so later starts take seconds. Readiness is proven with a
real Kafka client (a metadata request that lists the broker), not a port probe. The JVM never
outlives us: it is stopped at interpreter exit and, on Linux, gets SIGTERM if the parent dies.

Typical use::

    with LocalKafka() as broker:             # temp data dir, free ports
        produce_to(broker.bootstrap_servers)

    broker = run_local_broker(Path(".streams-data/kafka"), port=9092)  # persisted, reused
    try:
        broker.wait()
    finally:
        broker.stop()

    secured = SaslSslListener(users={"alice": SecretStr("...")}, certfile=cert, keyfile=key,
                              cafile=ca)
    with LocalKafka(sasl_ssl=secured) as broker:  # clients: SASL_SSL + SCRAM-SHA-512
        settings = broker.client_settings("alice")
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import functools
import hashlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Self

from pydantic import SecretStr

from streams.errors import StreamsError
from streams.kafka_client import client_options
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 9092
DEFAULT_DATA_DIR = Path(".streams-data/kafka")
MIN_JAVA = 17
POM_PATH = Path(__file__).resolve().parent.parent / "deploy" / "kafka" / "pom.xml"
_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"
_MARKER = ".complete"
_NODE_ID = 1
_JVM_OPTIONS = (
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
_LOG_TAIL_LINES = 15
_SCRAM_MECHANISM = "SCRAM-SHA-512"
_SCRAM_ITERATIONS = 8192
_SCRAM_USERS_FILE = "scram-users"
_KEYSTORE_FILE = "broker-keystore.pem"
_UNSAFE_IN_SCRAM = re.compile(r'[\s,=\[\]"]')
_UNSAFE = 'a space or one of ,=[]"'


class LocalKafkaError(StreamsError):
    """The local broker cannot be installed, started or stopped."""


class JavaNotFoundError(LocalKafkaError):
    """`java` is missing or older than 17."""


class MavenError(LocalKafkaError):
    """`mvn` is missing or could not fetch the broker's jars."""


class BrokerStartError(LocalKafkaError):
    """The broker did not become ready (the message carries the tail of broker.log)."""


@dataclass(frozen=True)
class SaslSslListener:
    """Serve clients over SASL_SSL with SCRAM-SHA-512, instead of plain text.

    The client port then speaks TLS (the broker's PEM certificate and key) and takes
    SCRAM users, created when the storage is first formatted; the broker's own
    (controller, inter-broker) listeners stay plain text on ports of their own, on
    127.0.0.1 only. Passwords are `SecretStr`, masked in every repr.

    Args:
        users (Mapping[str, SecretStr]): SCRAM user name → password. The first user
            proves readiness. Names must not hold spaces, `,`, `=`, `[`, `]` or `"`
            (kafka-storage's `--add-scram` syntax); passwords never reach a command line.
        certfile (Path): PEM certificate chain of the broker, its own certificate first.
        keyfile (Path): PEM private key of the broker (PKCS#8, unencrypted).
        cafile (Path): PEM CA that signed the certificate, trusted by the readiness probe.
    """

    users: Mapping[str, SecretStr]
    certfile: Path
    keyfile: Path
    cafile: Path

    def __post_init__(self) -> None:
        if not self.users:
            raise LocalKafkaError("a SASL_SSL listener needs at least one SCRAM user")
        for name, password in self.users.items():
            if not name or _UNSAFE_IN_SCRAM.search(name):
                raise LocalKafkaError(f"SCRAM user name {name!r} is empty or holds {_UNSAFE}")
            if not password.get_secret_value():
                raise LocalKafkaError(f"the password of SCRAM user {name!r} is empty")

    @property
    def mechanism(self) -> str:
        """The SASL mechanism clients must use."""
        return _SCRAM_MECHANISM

    def add_scram_arguments(self) -> list[str]:
        """kafka-storage `format` arguments creating every user.

        They carry a random salt and the salted password (PBKDF2-HMAC-SHA512, what the
        broker stores), never the password itself: a command line is visible to every
        local user while it runs.
        """
        arguments = []
        for name, password in self.users.items():
            salt = secrets.token_bytes(24)
            salted = hashlib.pbkdf2_hmac(
                "sha512", password.get_secret_value().encode("utf-8"), salt, _SCRAM_ITERATIONS
            )
            arguments += [
                "--add-scram",
                f"{_SCRAM_MECHANISM}=[name={name},iterations={_SCRAM_ITERATIONS},"
                f'salt="{base64.b64encode(salt).decode()}",'
                f'saltedpassword="{base64.b64encode(salted).decode()}"]',
            ]
        return arguments


# --- jars -----------------------------------------------------------------------------------


def kafka_version(pom: Path = POM_PATH) -> str:
    """The Kafka version the pom pins (`<kafka.version>`), which names the jar cache.

    Raises:
        MavenError: the pom is missing or has no kafka.version property.
    """
    try:
        root = ElementTree.parse(pom).getroot()
    except (OSError, ElementTree.ParseError) as error:
        raise MavenError(f"cannot read {pom}: {error}; it ships in the repository") from error
    found = root.find("{*}properties/{*}kafka.version")
    if found is None or not (found.text or "").strip():
        raise MavenError(f"{pom} has no <kafka.version> property")
    return (found.text or "").strip()


def default_jars_dir(pom: Path = POM_PATH) -> Path:
    """`~/.cache/streams/kafka-<version>/libs`: shared by every checkout on the machine."""
    return Path.home() / ".cache" / "streams" / f"kafka-{kafka_version(pom)}" / "libs"


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _marker_matches(marker: Path, digest: str) -> bool:
    try:
        return marker.read_text(encoding="utf-8").strip() == digest
    except OSError:
        return False


@functools.cache
def _java_major(java: str) -> int | None:
    result = subprocess.run(
        [java, "-version"], capture_output=True, text=True, timeout=60, check=False
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java() -> str:
    """Path of a `java` (17 or newer) on PATH.

    Raises:
        JavaNotFoundError: no java, or an older one.
    """
    hint = f"Java {MIN_JAVA} or newer is required: apt-get install openjdk-17-jre-headless"
    java = shutil.which("java")
    if java is None:
        raise JavaNotFoundError(f"java not found on PATH; {hint}")
    major = _java_major(java)
    if major is None or major < MIN_JAVA:
        found = "an unknown version" if major is None else f"Java {major}"
        raise JavaNotFoundError(f"{java} is {found}; {hint}")
    return java


def ensure_jars(cache_dir: Path | None = None, *, pom: Path = POM_PATH) -> Path:
    """The directory holding every jar the broker needs, fetched with mvn on first use.

    A marker file (the pom's sha256) makes later calls instant; editing the pom refetches.
    mvn's own cache (~/.m2) keeps downloads across cache directories.

    Args:
        cache_dir (Path | None): where the jars go. Defaults to `default_jars_dir()`.
        pom (Path): the pom naming the broker's dependencies. Defaults to deploy/kafka/pom.xml.

    Returns:
        Path: the jar directory (use it as `-cp 'DIR/*'`).

    Raises:
        JavaNotFoundError: java is missing or older than 17.
        MavenError: mvn is missing or failed.
    """
    jars = cache_dir if cache_dir is not None else default_jars_dir(pom)
    digest = _pom_digest(pom)
    marker = jars / _MARKER
    if _marker_matches(marker, digest):
        return jars
    find_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenError(
            "mvn not found on PATH; the local broker's jars come from Maven Central: "
            "apt-get install maven (or run scripts/ci-deps.sh)"
        )
    jars.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{jars.name}.", dir=jars.parent))
    started = time.monotonic()
    log.info("fetching the Kafka broker's jars with mvn into %s (first run only)", jars)
    try:
        result = subprocess.run(
            [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom), _DEPENDENCY_PLUGIN,
             f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
            capture_output=True, text=True, timeout=1200, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
            lines = [line.strip() for line in output.splitlines() if line.strip()]
            errors = [line for line in lines if line.startswith("[ERROR]")]
            first = (errors or lines or ["no output"])[0]
            raise MavenError(
                f"mvn could not fetch the Kafka jars (exit {result.returncode}): {first}; "
                "check access to Maven Central (~/.m2/settings.xml for a mirror)"
            )
        (staging / _MARKER).write_text(digest + "\n", encoding="utf-8")
        if _marker_matches(marker, digest):  # another process published them meanwhile
            return jars
        if jars.exists():
            shutil.rmtree(jars)
        try:
            staging.rename(jars)
        except OSError as error:  # another process published the same jars first
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("Kafka jars ready in %.1fs: %s", time.monotonic() - started, jars)
    return jars


# --- broker ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    """Whether a listener could bind `port` (SO_REUSEADDR, as the JVM does; TIME_WAIT is fine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64, not starting with '-' (as Kafka)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


def _read_properties(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _listener_properties(
    port: int, controller_port: int, internal_port: int | None, keystore: Path | None
) -> dict[str, str]:
    """Plain text on `port`; or SASL_SSL (SCRAM) on `port` and plain text on `internal_port`."""
    controller = f"CONTROLLER://{HOST}:{controller_port}"
    if keystore is None or internal_port is None:
        return {
            "listeners": f"PLAINTEXT://{HOST}:{port},{controller}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        }
    clients, internal = f"SASL_SSL://{HOST}:{port}", f"PLAINTEXT://{HOST}:{internal_port}"
    return {
        "listeners": f"{clients},{internal},{controller}",
        "advertised.listeners": f"{clients},{internal}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": (
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL"
        ),
        "sasl.enabled.mechanisms": _SCRAM_MECHANISM,
        f"listener.name.sasl_ssl.{_SCRAM_MECHANISM.lower()}.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": str(keystore),
        "listener.name.sasl_ssl.ssl.client.auth": "none",
    }


def _server_properties(
    data: Path,
    port: int,
    controller_port: int,
    *,
    internal_port: int | None = None,
    keystore: Path | None = None,
) -> str:
    """KRaft combined broker+controller; every internal topic fits one node; no auto-create."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(_NODE_ID),
        "controller.quorum.voters": f"{_NODE_ID}@{HOST}:{controller_port}",
        **_listener_properties(port, controller_port, internal_port, keystore),
        "log.dirs": str(data / "logs"),
        # The service declares its topics; a typo must fail, not create a topic.
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        # Exactly-once needs the transaction log writable with one replica.
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # After a crash the controller refuses the new incarnation until the old session
        # expires (default 9 s); one local node can afford a shorter one.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "4000",
        # Oversized events (> 5 MiB) must reach the worker to be dead-lettered `too_large`.
        "message.max.bytes": str(16 * 1024 * 1024),
        "log.retention.hours": "168",
        "log.segment.bytes": str(64 * 1024 * 1024),
    }
    lines = ["# Written by streams.localkafka on every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _log4j2_properties(data: Path) -> str:
    """The broker logs to <data>/broker.log (rolled at 10 MiB), never to our terminal."""
    log_file = data / "broker.log"
    return "\n".join(
        [
            "status = warn",
            "appender.file.type = RollingFile",
            "appender.file.name = FILE",
            f"appender.file.fileName = {log_file}",
            f"appender.file.filePattern = {log_file}.%i",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "appender.file.policies.type = Policies",
            "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
            "appender.file.policies.size.size = 10MB",
            "appender.file.strategy.type = DefaultRolloverStrategy",
            "appender.file.strategy.max = 3",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = FILE",
            "logger.state.name = state.change.logger",
            "logger.state.level = WARN",
            "logger.request.name = kafka.request.logger",
            "logger.request.level = WARN",
            "",
        ]
    )


_PR_SET_PDEATHSIG = 1


def _parent_death_hook() -> Callable[[], None] | None:
    """A preexec_fn that asks Linux to SIGTERM the child when this thread dies (best effort).

    PR_SET_PDEATHSIG fires when the *thread* that forked exits, so it is only used from the
    main thread; atexit covers normal interpreter exit everywhere.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not (
        threading.main_thread()
    ):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        prctl = ctypes.CDLL(name, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return hook


_RUNNING: set[LocalKafka] = set()


@atexit.register
def _stop_all() -> None:
    """No orphan JVMs: stop every broker this interpreter still runs."""
    for broker in list(_RUNNING):
        with contextlib.suppress(Exception):
            broker.stop(timeout=15.0)


def _run_coroutine(factory: Callable[[], Any]) -> Any:
    """Run `factory()` (a coroutine) on a fresh loop in a thread: safe inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="localkafka") as pool:
        return pool.submit(asyncio.run, factory()).result()


async def _cluster_ready(settings: KafkaSettings, timeout: float) -> bool:
    """Whether a real client gets metadata listing our broker (node 1) and a controller."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        cluster = await asyncio.wait_for(admin.describe_cluster(), timeout)
    except Exception:  # any failure means "not ready yet"
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    brokers = cluster.get("brokers") or []
    return any(b.get("node_id") == _NODE_ID for b in brokers) and (
        cluster.get("controller_id", -1) >= 0
    )


class LocalKafka:
    """A single-node KRaft Kafka (broker + controller) on 127.0.0.1, run as a child JVM.

    Args:
        data_dir (Path | None): keeps logs, config and broker.log; formatted once, reused on
            later starts. Defaults to a fresh temp dir, removed by `stop()`.
        port (int | None): client port. Defaults to the port of the last run in `data_dir`
            when free, else a free port.
        controller_port (int | None): KRaft controller port. Chosen like `port`.
        jars_dir (Path | None): jar directory. Defaults to `ensure_jars()`.
        heap (str): JVM maximum heap. Defaults to "512m".
        start_timeout (float): seconds to wait for readiness. Defaults to 120.
        sasl_ssl (SaslSslListener | None): serve clients on `port` over SASL_SSL with
            SCRAM-SHA-512 users (the broker's own listeners stay plain text on ports of
            their own). Defaults to None: plain text, no authentication.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        jars_dir: Path | None = None,
        heap: str = "512m",
        start_timeout: float = 120.0,
        sasl_ssl: SaslSslListener | None = None,
    ) -> None:
        self._temporary = data_dir is None
        self._sasl_ssl = sasl_ssl
        self._requested_internal_port: int | None = None
        self._internal_port: int | None = None
        self._data_dir = data_dir.resolve() if data_dir is not None else None
        self._requested_port = port
        self._requested_controller_port = controller_port
        self._jars_dir = jars_dir
        self._heap = heap
        self._start_timeout = start_timeout
        self._port: int | None = None
        self._controller_port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    # -- public surface --

    @property
    def bootstrap_servers(self) -> str:
        """`127.0.0.1:PORT` of the running broker (what KAFKA_BOOTSTRAP_SERVERS should say).

        With `sasl_ssl`, the SASL_SSL listener: clients need `client_settings()`.
        """
        if self._port is None:
            raise LocalKafkaError("the local broker is not started; call start() first")
        return f"{HOST}:{self._port}"

    @property
    def sasl_ssl(self) -> SaslSslListener | None:
        """The SASL_SSL client listener's users and TLS files, when secured."""
        return self._sasl_ssl

    def client_settings(
        self, username: str | None = None, *, client_id: str = "streams"
    ) -> KafkaSettings:
        """Settings a client needs to reach this broker (nothing read from the environment).

        Args:
            username (str | None): the SCRAM user to log in as, with `sasl_ssl`. Defaults to
                the first user.
            client_id (str): the client id. Defaults to "streams".

        Returns:
            KafkaSettings: PLAINTEXT, or SASL_SSL with SCRAM-SHA-512, the user's password and
                the listener's CA file.

        Raises:
            LocalKafkaError: not started, or an unknown user.
        """
        secured = self._sasl_ssl
        explicit: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": client_id,
            "ssl_certfile": None,
            "ssl_keyfile": None,
            "ssl_check_hostname": True,
        }
        if secured is None:
            return KafkaSettings(
                **explicit,
                security_protocol="PLAINTEXT",
                sasl_mechanism=None,
                sasl_username=None,
                sasl_password=None,
                ssl_cafile=None,
            )
        name = username if username is not None else next(iter(secured.users))
        if name not in secured.users:
            raise LocalKafkaError(f"the local broker has no SCRAM user {name!r}")
        return KafkaSettings(
            **explicit,
            security_protocol="SASL_SSL",
            sasl_mechanism=_SCRAM_MECHANISM,
            sasl_username=name,
            sasl_password=secured.users[name],
            ssl_cafile=secured.cafile,
        )

    @property
    def port(self) -> int | None:
        """Client port, once started (kept by `restart()`)."""
        return self._port

    @property
    def data_dir(self) -> Path:
        """The data directory (created on start when temporary)."""
        if self._data_dir is None:
            raise LocalKafkaError("the local broker has no data directory before start()")
        return self._data_dir

    @property
    def log_path(self) -> Path:
        """The broker's own log file."""
        return self.data_dir / "broker.log"

    @property
    def pid(self) -> int | None:
        """PID of the broker JVM while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def running(self) -> bool:
        """Whether the JVM is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Fetch jars if needed, format storage on first use, start the JVM and wait until ready.

        Returns:
            LocalKafka: self, ready for clients.

        Raises:
            JavaNotFoundError, MavenError: missing tooling.
            BrokerStartError: port taken, another broker owns the data dir, or not ready in time.
        """
        with self._lock:
            if self.running:
                return self
            java = find_java()
            jars = self._jars_dir or ensure_jars()
            data = self._prepare_data_dir()
            self._choose_ports(data)
            properties = data / "server.properties"
            properties.write_text(
                _server_properties(
                    data,
                    self._port_or_fail(),
                    self._controller_port_or_fail(),
                    internal_port=self._internal_port,
                    keystore=self._write_keystore(data),
                ),
                encoding="utf-8",
            )
            (data / "log4j2.properties").write_text(_log4j2_properties(data), encoding="utf-8")
            classpath = f"{jars}{os.sep}*"
            if not (data / "logs" / "meta.properties").exists():
                self._format(java, classpath, data, properties)
            self._check_scram_users(data)
            self._launch(java, classpath, data, properties)
        self._wait_ready()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the JVM (a clean shutdown), SIGKILL it after `timeout`; remove a temp dir."""
        self._terminate(timeout=timeout, hard=False)
        if self._temporary and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None
            self._port = self._controller_port = self._internal_port = None

    def kill(self) -> None:
        """SIGKILL the JVM (a crash) and keep the data: `start()` or `restart()` recovers it."""
        self._terminate(timeout=0.0, hard=True)

    def restart(self, *, hard: bool = False) -> Self:
        """Stop and start again with the same data dir and ports (clients reconnect).

        Args:
            hard (bool): SIGKILL instead of a clean shutdown. Defaults to False.
        """
        self._terminate(timeout=30.0, hard=hard)
        self._requested_port = self._port
        self._requested_controller_port = self._controller_port
        self._requested_internal_port = self._internal_port
        return self.start()

    def wait(self) -> int:
        """Block until the JVM exits (for `streams broker`); returns its exit code."""
        if self._process is None:
            raise LocalKafkaError("the local broker is not started; call start() first")
        return self._process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"{HOST}:{self._port}" if self._port else "not started"
        protocol = "SASL_SSL" if self._sasl_ssl else "PLAINTEXT"
        return f"LocalKafka({where}, {protocol}, data_dir={self._data_dir}, running={self.running})"

    # -- internals --

    def _port_or_fail(self) -> int:
        if self._port is None:
            raise LocalKafkaError("no port chosen")
        return self._port

    def _controller_port_or_fail(self) -> int:
        if self._controller_port is None:
            raise LocalKafkaError("no controller port chosen")
        return self._controller_port

    def _prepare_data_dir(self) -> Path:
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="streams-kafka-"))
        data = self._data_dir
        (data / "logs").mkdir(parents=True, exist_ok=True)
        lock = data / "logs" / ".lock"
        if lock.exists():
            # Kafka holds an fcntl lock on logs/.lock while it runs: a clear message beats
            # the JVM's "Failed to acquire lock" after a slow start.
            with lock.open("a") as handle:
                try:
                    fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    previous = _read_properties(data / "server.properties").get("listeners", "")
                    raise BrokerStartError(
                        f"another Kafka broker is using {data} ({previous or 'unknown port'}); "
                        "stop it, or point KAFKA_BOOTSTRAP_SERVERS at it"
                    ) from None
                fcntl.lockf(handle, fcntl.LOCK_UN)
        return data

    def _choose_ports(self, data: Path) -> None:
        previous = _read_properties(data / "server.properties").get("listeners", "")
        last = {name: int(port) for name, port in re.findall(r"(\w+)://[^:,]+:(\d+)", previous)}
        clients = "SASL_SSL" if self._sasl_ssl else "PLAINTEXT"
        self._port = self._pick(self._requested_port, last.get(clients), "port")
        taken: tuple[int, ...] = (self._port,)
        if self._sasl_ssl is not None:
            self._internal_port = self._pick(
                self._requested_internal_port, last.get("PLAINTEXT"), "inter-broker port",
                avoid=taken,
            )  # fmt: skip
            taken += (self._internal_port,)
        self._controller_port = self._pick(
            self._requested_controller_port, last.get("CONTROLLER"), "controller port",
            avoid=taken,
        )  # fmt: skip

    @staticmethod
    def _pick(
        requested: int | None, last: int | None, what: str, avoid: tuple[int, ...] = ()
    ) -> int:
        if requested:
            if not _port_free(requested):
                raise BrokerStartError(
                    f"{what} {HOST}:{requested} is in use; stop what listens there "
                    "or choose another port"
                )
            return requested
        if last and last not in avoid and _port_free(last):
            return last
        while (port := _free_port()) in avoid:
            continue
        return port

    def _write_keystore(self, data: Path) -> Path | None:
        """The broker's PEM keystore (key, then certificate chain), readable by us only."""
        secured = self._sasl_ssl
        if secured is None:
            return None
        try:
            key = secured.keyfile.read_text(encoding="ascii")
            chain = secured.certfile.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise BrokerStartError(
                f"cannot read the broker's TLS key or certificate: {error}; "
                "give PEM files to SaslSslListener"
            ) from None
        if "PRIVATE KEY-----" not in key or "CERTIFICATE-----" not in chain:
            raise BrokerStartError(
                f"{secured.keyfile} or {secured.certfile} is not PEM; "
                "give a PKCS#8 key and a certificate chain"
            )
        keystore = data / _KEYSTORE_FILE
        keystore.touch(mode=0o600)
        keystore.chmod(0o600)
        keystore.write_text(key.strip() + "\n" + chain.strip() + "\n", encoding="ascii")
        return keystore

    def _check_scram_users(self, data: Path) -> None:
        """SCRAM users are created at format time only: a data dir formatted without them
        would refuse every client, so say so instead of timing out."""
        secured = self._sasl_ssl
        if secured is None:
            return
        marker = data / _SCRAM_USERS_FILE
        try:
            formatted_with = set(marker.read_text(encoding="utf-8").split())
        except OSError:
            formatted_with = set()
        missing = sorted(set(secured.users) - formatted_with)
        if missing:
            raise BrokerStartError(
                f"{data} was formatted without SCRAM user(s) {', '.join(missing)}; "
                "users are created when the storage is first formatted: use a new data dir"
            )

    def _java_command(self, java: str, classpath: str, data: Path) -> list[str]:
        options = [opt for opt in _JVM_OPTIONS if not opt.startswith("-Xmx")]
        return [
            java,
            f"-Xmx{self._heap}",
            *options,
            f"-Dlog4j2.configurationFile={data / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={data}",
            "-cp",
            classpath,
        ]

    def _format(self, java: str, classpath: str, data: Path, properties: Path) -> None:
        secured = self._sasl_ssl
        command = [
            *self._java_command(java, classpath, data),
            "kafka.tools.StorageTool", "format", "--ignore-formatted",
            "-t", _new_cluster_id(), "-c", str(properties),
            *(secured.add_scram_arguments() if secured else []),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            output = " ".join((result.stdout + result.stderr).split())[-400:]
            raise BrokerStartError(
                f"formatting Kafka storage in {data} failed (exit {result.returncode}): {output}"
            )
        if secured is not None:
            (data / _SCRAM_USERS_FILE).write_text("\n".join(secured.users) + "\n", "utf-8")

    def _launch(self, java: str, classpath: str, data: Path, properties: Path) -> None:
        command = [*self._java_command(java, classpath, data), "kafka.Kafka", str(properties)]
        with (data / "jvm.out").open("ab") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=data,
                start_new_session=True,  # Ctrl-C reaches us, and we stop the broker last
                preexec_fn=_parent_death_hook(),  # best effort, main thread only
            )
        self._process = process
        (data / "broker.pid").write_text(f"{process.pid}\n", encoding="ascii")
        _RUNNING.add(self)
        log.info(
            "local Kafka starting: pid %s on %s, data %s",
            process.pid, self.bootstrap_servers, data,
        )  # fmt: skip

    def _wait_ready(self) -> None:
        started = time.monotonic()
        deadline = started + self._start_timeout
        port = self._port_or_fail()
        while time.monotonic() < deadline:
            if not self.running:
                code = self._process.returncode if self._process else None
                self._fail_start(f"the broker JVM exited with code {code} while starting")
            # Connect with a real client only once something listens (keeps aiokafka quiet).
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                listening = sock.connect_ex((HOST, port)) == 0
            if listening and _run_coroutine(
                functools.partial(
                    _cluster_ready, self.client_settings(client_id="streams-localkafka-probe"), 5.0
                )
            ):
                log.info(
                    "local Kafka ready on %s in %.1fs",
                    self.bootstrap_servers, time.monotonic() - started,
                )  # fmt: skip
                return
            time.sleep(0.2)
        self._terminate(timeout=10.0, hard=False)
        self._fail_start(f"the broker was not ready after {self._start_timeout:.0f}s")

    def _fail_start(self, reason: str) -> NoReturn:
        data = self.data_dir
        tail = _tail(data / "broker.log") or _tail(data / "jvm.out") or "(broker.log is empty)"
        _RUNNING.discard(self)
        raise BrokerStartError(f"{reason}; see {data / 'broker.log'}; last lines:\n{tail}")

    def _terminate(self, *, timeout: float, hard: bool) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                process.wait(timeout=timeout if not hard else 10.0)
            except subprocess.TimeoutExpired:
                log.warning("local Kafka (pid %s) ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait(timeout=10.0)
        self._process = None
        _RUNNING.discard(self)
        if self._data_dir is not None:
            with contextlib.suppress(OSError):
                (self._data_dir / "broker.pid").unlink()


def run_local_broker(
    data_dir: Path = DEFAULT_DATA_DIR, port: int | None = DEFAULT_PORT
) -> LocalKafka:
    """Start the persisted local broker for `streams broker` / `streams run` and return it ready.

    The data dir survives, so a second run reuses the formatted storage and starts in seconds.
    The caller stops it (`broker.stop()`, or `with run_local_broker(...) as broker:`); it is also
    stopped at interpreter exit.

    Args:
        data_dir (Path): broker data. Defaults to `.streams-data/kafka`.
        port (int | None): client port; None picks a free one. Defaults to 9092.

    Returns:
        LocalKafka: the running broker; `bootstrap_servers` says where it listens.

    Raises:
        LocalKafkaError: missing Java/Maven, port in use, or the broker did not start.
    """
    return LocalKafka(data_dir, port=port).start()


__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_PORT",
    "BrokerStartError",
    "JavaNotFoundError",
    "LocalKafka",
    "LocalKafkaError",
    "MavenError",
    "SaslSslListener",
    "default_jars_dir",
    "ensure_jars",
    "find_java",
    "kafka_version",
    "run_local_broker",
]
