"""Output headers (trace propagation), the metrics registry and the app's configuration."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from streams.app import build_app, context_of
from streams.app.app import broker_url, credentials
from streams.app.headers import output_headers, trace_headers
from streams.app.metrics import Metrics
from streams.settings import KafkaSettings
from tests.app.conftest import worker_settings

PARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [
        ([], []),
        ([("trace-id", b"abc")], [("trace-id", b"abc")]),
        ([("Traceparent", PARENT)], [("trace-id", PARENT[3:35]), ("traceparent", PARENT)]),
        (
            [("trace-id", b"mine"), ("traceparent", PARENT)],
            [("trace-id", b"mine"), ("traceparent", PARENT)],
        ),
        ([("traceparent", b"garbage")], []),
        ({"trace-id": "text"}, [("trace-id", b"text")]),
    ],
)
def test_trace_headers(incoming: object, expected: list[tuple[str, bytes]]) -> None:
    assert trace_headers(incoming) == expected  # type: ignore[arg-type]


def test_output_headers_order() -> None:
    assert output_headers("raw", 3, 42, [("trace-id", b"t")]) == [
        ("schema_version", b"1.0"),
        ("content-type", b"application/json"),
        ("origin-topic", b"raw"),
        ("origin-partition", b"3"),
        ("origin-offset", b"42"),
        ("trace-id", b"t"),
    ]


def test_metrics_are_on_their_own_registry_with_conventional_names() -> None:
    one = Metrics(version="1", schema_version="1.0", model="m")
    two = Metrics(version="1", schema_version="1.0", model="m")  # no clash
    one.duplicates.labels(kind="exact").inc()
    text = one.exposition().decode()
    assert 'streams_duplicates_total{kind="exact"} 1.0' in text
    assert 'streams_duplicates_total{kind="near"} 0.0' in text
    assert "streams_nlp_skipped_total 0.0" in text
    assert "streams_replays_skipped_total 0.0" in text
    assert 'streams_stage_events_total{stage="linking"} 0.0' in text
    assert 'streams_dead_letters_total{reason="too_large"} 0.0' in text
    assert 'streams_build_info{model="m",schema_version="1.0",version="1"} 1.0' in text
    assert "streams_stage_seconds_bucket" in text or "streams_stage_seconds" in text
    assert two.exposition() != b""


def test_broker_url_and_credentials() -> None:
    kafka = KafkaSettings(bootstrap_servers="h1:9092, h2:9093", sasl_mechanism=None)
    assert broker_url(kafka) == "kafka://h1:9092;h2:9093"
    assert credentials(kafka) is None
    sasl = KafkaSettings(
        bootstrap_servers="h1:9092",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="u",
        sasl_password=SecretStr("p"),
    )
    creds = credentials(sasl)
    assert creds is not None
    assert (creds.username, creds.password, creds.mechanism.value) == ("u", "p", "SCRAM-SHA-512")


def test_build_app_configures_faust_without_connecting() -> None:
    settings = worker_settings(processing_guarantee="exactly_once", web_port=16123)
    app = build_app(settings)
    conf = app.conf
    assert str(conf.broker[0]) == "kafka://127.0.0.1:9"
    assert conf.processing_guarantee.value == "exactly_once"
    assert conf.web_port == 16123
    assert conf.broker_max_poll_interval >= 600
    assert conf.producer_max_request_size > 8 * 1024 * 1024
    topics = context_of(app).topics
    assert topics.input.get_topic_name() == settings.topics.input
    assert topics.articles.config["max.message.bytes"] == str(8 * 1024 * 1024)
    assert topics.claims.partitions == settings.topics.partitions
    assert topics.claim_appearances.config["cleanup.policy"] == "compact"
    assert topics.parsed.get_topic_name() == f"{settings.worker.app_id}-parsed"
    assert topics.parsed.partitions == settings.topics.parsed_partitions == 16
    assert topics.linking.partitions == 1
    assert set(app.tables) == {
        "enrichments",
        "dedupe_entries",
        "claim_appearances",
        "linked_origins",
    }
    assert app.tables["linked_origins"].partitions == 1
    assert app.tables["dedupe_entries"].partitions == 1


def test_ready_gauge_says_what_readyz_says() -> None:
    """`streams_ready` (for alerting) is 0 until the worker joined and the model loaded; the
    real worker's 1 is checked in tests/app/test_worker_kafka.py."""
    context = context_of(build_app(worker_settings()))
    assert "streams_ready 0.0" in context.metrics.exposition().decode()
    context.joined = True  # the NLP pool has not loaded the model yet
    assert not context.ready
    assert "streams_ready 0.0" in context.metrics.exposition().decode()
