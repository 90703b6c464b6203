"""Every metric of the worker, defined once, on the worker's own registry.

Names follow the Prometheus conventions: a `streams_` prefix, base units (seconds),
`_total` on counters. One `Metrics` object per app, so tests can build several apps
in one process without clashing in the global registry.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from streams.models import RejectReason

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format that `generate_latest` writes."""

_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_E2E_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class SeenSet:
    """A bounded set of recently seen keys (oldest forgotten first).

    Args:
        capacity (int): how many keys to remember.
    """

    def __init__(self, capacity: int) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def seen(self, key: str) -> bool:
        """Remember `key`; True when it was already remembered."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return False


class Metrics:
    """The worker's metrics on a dedicated `CollectorRegistry`.

    Args:
        version (str): the `streams` package version.
        schema_version (str): version of the output contract.
        model (str): the spaCy model the pool loads.
        output_topics (Sequence[str]): topics whose publish counters start at zero.
        duplicate_memory (int): content hashes / claim ids remembered to count repeats.
            Defaults to 100_000 each.
    """

    def __init__(
        self,
        *,
        version: str,
        schema_version: str,
        model: str,
        output_topics: Sequence[str] = (),
        duplicate_memory: int = 100_000,
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
            "Published records whose content this worker already published since it started "
            "(article: same content_hash; claim: same claim_id); a bounded, per-worker count.",
            ["record"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "streams_stage_seconds",
            "Processing seconds per input event and pipeline stage (mean over its pool task).",
            ["stage"],
            buckets=_SECONDS_BUCKETS,
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
        for record in ("article", "claim"):
            self.duplicates.labels(record=record)
        self._articles_seen = SeenSet(duplicate_memory)
        self._claims_seen = SeenSet(duplicate_memory)

    def count_article(self, content_hash: str) -> None:
        """Count an article published; a repeat of a content hash counts as a duplicate."""
        if self._articles_seen.seen(content_hash):
            self.duplicates.labels(record="article").inc()

    def count_claim(self, claim_id: str) -> None:
        """Count a claim published; a repeat of a claim id counts as a duplicate."""
        if self._claims_seen.seen(claim_id):
            self.duplicates.labels(record="claim").inc()

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
