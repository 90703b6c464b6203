"""build_app(settings) → faust.App: the stream service's wiring (nothing connects here).

The app runs three batched agents (`streams.app.agents`): ingest (input topic → parse in
the process pool → `<app_id>-parsed`), enrich (NLP in the pool, or reuse of an exact
copy's enrichment from the `enrichments` table → `<app_id>-linking`) and linking (one
partition: stream-wide dedupe and claim appearances against the `dedupe_entries` and
`claim_appearances` tables → articles, claims, claim appearances; with exactly-once,
the `linked_origins` table keeps it from publishing a story read again upstream twice).
It serves `/metrics`, `/healthz` and `/readyz` (`streams.app.web`) and refreshes the
consumer-lag gauge on a timer. `run_worker(settings)` runs it until SIGTERM/SIGINT.

Tables live in `STREAMS_WORKER__STORE` (`memory://`, or `rocksdb://` with the
`rocksdict` package under `STREAMS_WORKER__DATA_DIR`) and are backed by compacted
changelog topics `<app_id>-<table>-changelog` that Faust creates and recovers from.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

import faust
from faust.types import TP
from faust.types.auth import CredentialsT

from streams.app.agents import (
    EnrichHandler,
    FaustPublisher,
    IngestHandler,
    LinkHandler,
    Publisher,
    Runner,
    register_agents,
)
from streams.app.metrics import Metrics
from streams.app.pool import NlpPool
from streams.app.recovery import guard_recovery_races
from streams.app.topics import MAX_REQUEST_BYTES, Topics, declare_topics, ensure_topics
from streams.app.web import register_pages
from streams.kafka_client import BrokerNotConfiguredError, ssl_context
from streams.models import SCHEMA_VERSION
from streams.settings import KafkaSettings, Settings
from streams.topic_admin import create_missing_topics
from streams.topic_specs import TABLES, ServiceTopics, service_topics

log = logging.getLogger(__name__)

LAG_INTERVAL_SECONDS = 5.0
"""How often the consumer-lag gauge is refreshed."""

MAX_POLL_INTERVAL_SECONDS = 1800.0
"""Faust's consumer runs in its own thread and keeps polling while a batch is processed;
this is the longest gap tolerated anyway before the member is considered stuck."""

REBALANCE_TIMEOUT_SECONDS = 300.0
"""Time members get to finish their in-flight batch and rejoin during a rebalance."""

ENRICH_BATCHES = 4
"""Enrich batches in progress at once with at-least-once. Batches of short stories pass a
long page's NLP turns; a batch holding a later event of the long page's partition waits
for it, so one more in progress is not enough (measured: with 2, the stage stalled behind
a 99 KB page and its partition-mate)."""


@dataclass
class WorkerContext:
    """What the agent, the web pages and the timers share."""

    settings: Settings
    topics: Topics
    metrics: Metrics
    pool: NlpPool
    ingest: IngestHandler
    enrich: EnrichHandler
    linking: LinkHandler
    tables: Mapping[str, MutableMapping[bytes, bytes]]
    agents: dict[str, Any] = field(default_factory=dict)
    joined: bool = False
    publish_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def agent(self) -> Any:
        """The first stage's agent (on the input topic)."""
        return self.agents["ingest"]

    @property
    def ready(self) -> bool:
        """Joined the consumer group and the NLP pool has loaded the model (`/readyz`)."""
        return self.joined and self.pool.ready


_CONTEXTS: weakref.WeakKeyDictionary[faust.App, WorkerContext] = weakref.WeakKeyDictionary()


def broker_url(kafka: KafkaSettings) -> str:
    """`host1:port1,host2:port2` → Faust's `kafka://host1:port1;host2:port2`.

    Raises:
        BrokerNotConfiguredError: `KAFKA_BOOTSTRAP_SERVERS` is not set.
    """
    if not kafka.bootstrap_servers:
        raise BrokerNotConfiguredError()
    hosts = [host.strip() for host in kafka.bootstrap_servers.split(",") if host.strip()]
    return "kafka://" + ";".join(hosts)


def credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """Faust credentials for the configured security protocol (None for PLAINTEXT)."""
    context = ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL_"):
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=password,
            mechanism=kafka.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def _package_version() -> str:
    try:
        return version("streams")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def context_of(app: faust.App) -> WorkerContext:
    """The `WorkerContext` of an app made by `build_app`."""
    return _CONTEXTS[app]


def build_app(
    settings: Settings,
    *,
    runner: Runner | None = None,
    publisher: Publisher | None = None,
    tables: Mapping[str, MutableMapping[bytes, bytes]] | None = None,
) -> faust.App:
    """The Faust app of the stream service, configured from `settings`; connects nothing.

    Args:
        settings (Settings): the service settings.
        runner (Runner | None): runs the core; defaults to the NLP process pool.
        publisher (Publisher | None): sends records; defaults to the app's producer.
        tables (Mapping | None): stand-ins for the Faust tables by name (`TABLES`), for
            tests without a broker; defaults to the Faust tables.

    Returns:
        faust.App: the app; `context_of(app)` holds its topics, metrics, pool and agent.

    Raises:
        BrokerNotConfiguredError: `KAFKA_BOOTSTRAP_SERVERS` is not set.
    """
    worker = settings.worker
    kafka = settings.kafka
    app = faust.App(
        worker.app_id,
        broker=broker_url(kafka),
        broker_credentials=credentials(kafka),
        broker_client_id=kafka.client_id,
        processing_guarantee=worker.processing_guarantee,
        store=worker.store,
        datadir=str(worker.data_dir),
        web_enabled=True,
        web_bind=worker.web_host,
        web_port=worker.web_port,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topics.partitions,
        topic_replication_factor=settings.topics.replication_factor,
        broker_session_timeout=worker.broker_session_timeout_seconds,
        broker_request_timeout=worker.broker_request_timeout_seconds,
        broker_heartbeat_interval=min(3.0, worker.broker_session_timeout_seconds / 3),
        broker_max_poll_interval=MAX_POLL_INTERVAL_SECONDS,
        broker_rebalance_timeout=REBALANCE_TIMEOUT_SECONDS,
        consumer_auto_offset_reset="earliest",
        producer_max_request_size=MAX_REQUEST_BYTES,
        producer_acks=-1,
        stream_wait_empty=True,
        # no standby table replicas: promoting a standby partition to active can hang
        # recovery for good in faust-streaming 0.15 (the partition was listed as active
        # and standby at once, and no changelog event ever arrived: a SIGKILL failover
        # run in CI, 2026-11-26). Without standbys, a member that takes partitions over
        # reads their changelogs as actives, the path every other failover run takes.
        table_standby_replicas=0,
        autodiscover=False,
    )
    outputs = settings.topics.outputs()
    metrics = Metrics(
        version=_package_version(),
        schema_version=SCHEMA_VERSION,
        model=settings.core.spacy_model,
        output_topics=(
            outputs.articles,
            outputs.claims,
            outputs.dead_letters,
            outputs.claim_appearances,
        ),
    )
    pool = NlpPool(
        settings.core,
        worker.processes,
        on_queue_depth=metrics.pool_queue_depth.set,
        on_restart=metrics.pool_restarts.inc,
    )
    specs = service_topics(settings)
    topics = declare_topics(app, specs)
    faust_tables: dict[str, Any] = {}
    if tables is None:
        for name in TABLES:
            changelog = specs.changelogs[name]  # partitioned like the topic updating it
            faust_tables[name] = app.Table(
                name,
                key_type=bytes,
                value_type=bytes,
                partitions=changelog.partitions,
                extra_topic_configs=dict(changelog.configs),
                help=f"streams {name} (see streams.app.agents)",
            )
        tables = faust_tables
    lock = asyncio.Lock()
    real = publisher is None
    publisher = publisher or FaustPublisher(app)
    if real:
        _create_topics_before_joining(app, specs, kafka)

    async def flush() -> None:
        await app.producer.flush()

    common: dict[str, Any] = {
        "publisher": publisher,
        "topics": outputs,
        "config": settings.core,
        "metrics": metrics,
        "publish_lock": lock,
    }
    stateful = {**common, "flush": flush if real else None}
    ingest = IngestHandler(
        runner=runner or pool, parsed_topic=topics.parsed.get_topic_name(), **common
    )
    enrich = EnrichHandler(
        runner=runner or pool,
        enrichments=tables["enrichments"],
        linking_topic=topics.linking.get_topic_name(),
        **stateful,
    )

    def committed_offset(tp: TP) -> int | None:
        return app.monitor.tp_committed_offsets.get(tp)

    linking = LinkHandler(
        dedupe_entries=tables["dedupe_entries"],
        claim_appearances=tables["claim_appearances"],
        linked_origins=tables["linked_origins"],
        skip_replays=worker.processing_guarantee == "exactly_once",
        committed_offset=committed_offset if real else None,
        local_store=not worker.store.startswith("memory:"),
        **stateful,
    )
    context = WorkerContext(
        settings, topics, metrics, pool, ingest, enrich, linking, tables, publish_lock=lock
    )
    _CONTEXTS[app] = context
    metrics.ready.set_function(lambda: float(context.ready))
    context.agents = register_agents(
        app,
        topics,
        ingest=ingest,
        enrich=enrich,
        linking=linking,
        batch_size=worker.batch_size,
        within_seconds=worker.batch_within_seconds,
        enrich_batches=1 if worker.processing_guarantee == "exactly_once" else ENRICH_BATCHES,
        before_start=lambda: _start(context, create_topics=real, start_pool=runner is None),
    )
    if faust_tables:

        async def _enrichments_recovered() -> None:
            enrich.recovered()

        async def _dedupe_recovered() -> None:
            linking.recovered()

        faust_tables["enrichments"].on_recover(_enrichments_recovered)
        faust_tables["dedupe_entries"].on_recover(_dedupe_recovered)
        faust_tables["linked_origins"].on_recover(_dedupe_recovered)
    register_pages(app, context)
    guard_recovery_races(app)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode's stub is too narrow
    def _joined(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        context.joined = True
        assigned = args[0] if args else kwargs.get("assigned", ())
        linking_topic = topics.linking.get_topic_name()
        linking.assigned(any(tp.topic == linking_topic for tp in assigned))

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    def _stop_pool(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        pool.shutdown()

    async def _update_lag() -> None:
        update_lag(app, metrics)

    app.timer(LAG_INTERVAL_SECONDS)(_update_lag)

    return app


async def _start(context: WorkerContext, *, create_topics: bool, start_pool: bool) -> None:
    """Before the first batch: create missing topics, load the model in the pool."""
    if create_topics:
        await ensure_topics(context.topics)
    if start_pool and not context.pool.ready:
        await context.pool.start()
        context.metrics.model_load_seconds.set(context.pool.model_load_seconds or 0.0)


def update_lag(app: faust.App, metrics: Metrics) -> None:
    """Set `streams_consumer_lag` for every assigned partition.

    Lag = the partition's high watermark (last stable offset when exactly-once) minus
    the offset committed by this worker; before its first commit, minus the next offset
    to read. Partitions no longer assigned are removed from the gauge.
    """
    try:
        assigned = app.consumer.assignment()
    except Exception:  # consumer not started yet
        return
    committed = app.monitor.tp_committed_offsets
    read = app.monitor.tp_read_offsets
    seen = set()
    for tp in assigned:
        try:
            highwater = app.consumer.highwater(tp)
        except Exception:
            continue
        if highwater is None:
            continue
        done = committed.get(tp)
        if done is None and tp in read:
            done = read[tp] + 1
        if done is None:
            continue
        labels = (tp.topic, str(tp.partition))
        metrics.consumer_lag.labels(*labels).set(max(0, highwater - done))
        seen.add(labels)
    for labels in list(_lag_labels(metrics)):
        if labels not in seen:
            metrics.consumer_lag.remove(*labels)


def _lag_labels(metrics: Metrics) -> list[tuple[str, str]]:
    return [
        (sample.labels["topic"], sample.labels["partition"])
        for family in metrics.consumer_lag.collect()
        for sample in family.samples
    ]


def _create_topics_before_joining(
    app: faust.App, specs: ServiceTopics, kafka: KafkaSettings
) -> None:
    """Create missing topics and wait for their leaders when the app first starts, before
    its consumer joins the group (`create_missing_topics` says why), whoever starts it."""
    first_start = app.on_first_start

    async def create_then_start() -> None:
        created = await create_missing_topics(specs.all(), kafka)
        if created:
            log.info("created %d topics: %s", len(created), ", ".join(created))
        await first_start()

    app.on_first_start = create_then_start  # type: ignore[method-assign]


def run_worker(settings: Settings, *, loglevel: str = "info") -> NoReturn:
    """Run the worker until SIGTERM/SIGINT, then exit (what `streams worker` calls).

    Missing topics are created first, and every topic waited for until its partitions
    have leaders, so the first assignment already holds the changelogs.

    Args:
        settings (Settings): the service settings.
        loglevel (str): Faust's log level. Defaults to "info".
    """
    created = asyncio.run(create_missing_topics(service_topics(settings).all(), settings.kafka))
    if created:
        log.info("created %d topics: %s", len(created), ", ".join(created))
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=loglevel)
    worker.execute_from_commandline()
    raise SystemExit(0)  # pragma: no cover - execute_from_commandline exits
