"""Every metric of the worker, defined once, on the worker's own registry.

Names follow the Prometheus conventions: a `streams_` prefix, base units (seconds),
`_total` on counters. One `Metrics` object per app, so tests can build several apps
in one process without clashing in the global registry.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from streams.models import RejectReason

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format that `generate_latest` writes."""

_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_E2E_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    """The worker's metrics on a dedicated `CollectorRegistry`.

    Args:
        version (str): the `streams` package version.
        schema_version (str): version of the output contract.
        model (str): the spaCy model the pool loads.
        output_topics (Sequence[str]): topics whose publish counters start at zero.
    """

    def __init__(
        self,
        *,
        version: str,
        schema_version: str,
        model: str,
        output_topics: Sequence[str] = (),
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events_consumed = Counter(
            "streams_events_consumed", "Input events taken from the input topic.", registry=r
        )
        self.records_published = Counter(
            "streams_records_published",
            "Records acknowledged by the broker, by output topic.",
            ["topic"],
            registry=r,
        )
        self.dead_letters = Counter(
            "streams_dead_letters",
            "Inputs published to the dead-letter topic, by reason code.",
            ["reason"],
            registry=r,
        )
        self.duplicates = Counter(
            "streams_duplicates",
            "Articles published as stream-wide duplicates of an earlier article, by kind "
            "(exact: same body; near: similar body).",
            ["kind"],
            registry=r,
        )
        self.nlp_skipped = Counter(
            "streams_nlp_skipped",
            "Stories whose NLP was skipped: an exact copy reused the first copy's enrichment.",
            registry=r,
        )
        self.replays_skipped = Counter(
            "streams_replays_skipped",
            "Stories the linking stage acked without publishing them again: their input "
            "origin was already linked and its outputs committed (exactly-once only).",
            registry=r,
        )
        self.stage_events = Counter(
            "streams_stage_events",
            "Messages taken by each stage (ingest: input events; enrich and linking: stories).",
            ["stage"],
            registry=r,
        )
        self.stage_records = Counter(
            "streams_stage_records",
            "Records a stage sent to the next stage's internal topic.",
            ["stage"],
            registry=r,
        )
        self.table_writes = Counter(
            "streams_table_writes",
            "Keys set in the worker's tables (each also a changelog record).",
            ["table"],
            registry=r,
        )
        self.table_deletes = Counter(
            "streams_table_deletes",
            "Keys deleted from the worker's tables for retention (changelog tombstones).",
            ["table"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "streams_stage_seconds",
            "Processing seconds per input event and pipeline stage (mean over its pool task).",
            ["stage"],
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.stage_cpu_seconds = Counter(
            "streams_stage_cpu_seconds",
            "CPU seconds spent per pipeline stage (in the NLP processes).",
            ["stage"],
            registry=r,
        )
        self.end_to_end_seconds = Histogram(
            "streams_end_to_end_seconds",
            "Seconds from an input record's timestamp to all its outputs being acknowledged.",
            buckets=_E2E_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "streams_batch_size",
            "Input events per batch taken from the stream.",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.in_flight_events = Gauge(
            "streams_in_flight_events",
            "Events taken from the stream whose outputs are not yet acknowledged.",
            registry=r,
        )
        self.pool_queue_depth = Gauge(
            "streams_pool_queue_depth",
            "Tasks submitted to the NLP process pool and not yet finished.",
            registry=r,
        )
        self.model_load_seconds = Gauge(
            "streams_model_load_seconds",
            "Seconds the last NLP pool process took to load the spaCy model.",
            registry=r,
        )
        self.ready = Gauge(
            "streams_ready",
            "1 while the worker is ready (joined its consumer group, NLP model loaded), "
            "as GET /readyz answers; else 0.",
            registry=r,
        )
        self.pool_restarts = Counter(
            "streams_pool_restarts",
            "Times the NLP process pool broke and was recreated.",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "streams_consumer_lag",
            "Messages not yet committed: high watermark minus committed offset.",
            ["topic", "partition"],
            registry=r,
        )
        self.build_info = Gauge(
            "streams_build_info",
            "Build information; the value is always 1.",
            ["version", "schema_version", "model"],
            registry=r,
        )
        self.build_info.labels(version=version, schema_version=schema_version, model=model).set(1)
        for reason in RejectReason:
            self.dead_letters.labels(reason=reason.value)
        for topic in output_topics:
            self.records_published.labels(topic=topic)
        for kind in ("exact", "near"):
            self.duplicates.labels(kind=kind)
        for stage in ("ingest", "enrich", "linking"):
            self.stage_events.labels(stage=stage)
        for stage in ("ingest", "enrich"):
            self.stage_records.labels(stage=stage)
        for table in ("enrichments", "dedupe_entries", "claim_appearances", "linked_origins"):
            self.table_writes.labels(table=table)
        for table in ("enrichments", "dedupe_entries", "linked_origins"):
            self.table_deletes.labels(table=table)

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
