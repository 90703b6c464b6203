"""The topic specs from settings: names, partitions, replication and policies (no broker)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from streams.settings import KafkaSettings, Settings, TopicSettings, WorkerSettings
from streams.topic_specs import (
    MAX_MESSAGE_BYTES,
    TABLES,
    Role,
    ServiceTopics,
    retention_ms,
    service_topics,
)

KAFKA = KafkaSettings(bootstrap_servers=None, sasl_mechanism=None)
MAX = str(MAX_MESSAGE_BYTES)
WEEK_MS = str(7 * 24 * 3600 * 1000)
MONTH_MS = str(30 * 24 * 3600 * 1000)


def _specs(**topics: object) -> ServiceTopics:
    return service_topics(
        Settings(
            topics=TopicSettings(**topics),  # type: ignore[arg-type]
            worker=WorkerSettings(app_id="app"),
            kafka=KAFKA,
        )
    )


def test_every_topic_with_its_name_partitions_and_role() -> None:
    specs = _specs()
    layout = [(s.name, s.partitions, s.replication_factor, s.role) for s in specs.all()]
    assert layout == [
        ("raw-articles", 4, 1, Role.INPUT),
        ("articles", 4, 1, Role.OUTPUT),
        ("claims", 4, 1, Role.OUTPUT),
        ("raw-articles.dlq", 4, 1, Role.OUTPUT),
        ("claim-appearances", 4, 1, Role.OUTPUT),
        ("app-parsed", 16, 1, Role.INTERNAL),
        ("app-linking", 1, 1, Role.INTERNAL),
        ("app-__assignor-__leader", 1, 1, Role.INTERNAL),
        ("app-enrichments-changelog", 16, 1, Role.CHANGELOG),
        ("app-dedupe_entries-changelog", 1, 1, Role.CHANGELOG),
        ("app-claim_appearances-changelog", 1, 1, Role.CHANGELOG),
        ("app-linked_origins-changelog", 1, 1, Role.CHANGELOG),
    ]
    assert set(specs.changelogs) == set(TABLES)


def test_keyed_outputs_and_changelogs_are_compacted_the_rest_deleted_by_age() -> None:
    specs = _specs()
    compact = {"cleanup.policy": "compact", "max.message.bytes": MAX}
    for spec in (specs.articles, specs.claims, specs.claim_appearances, *specs.changelogs.values()):
        assert spec.configs == compact, spec.name
        assert spec.compacted
    week = {"cleanup.policy": "delete", "retention.ms": WEEK_MS, "max.message.bytes": MAX}
    for spec in (specs.input, specs.parsed, specs.linking):
        assert spec.configs == week, spec.name
        assert not spec.compacted
    assert specs.dead_letters.configs == {
        "cleanup.policy": "delete",
        "retention.ms": MONTH_MS,
        "max.message.bytes": MAX,
    }
    assert specs.leader.configs == {}  # as Faust creates it


def test_partitions_follow_the_settings_and_the_enrich_tables_the_parsed_topic() -> None:
    specs = _specs(partitions=6, parsed_partitions=8)
    assert specs.input.partitions == specs.dead_letters.partitions == 6
    assert specs.parsed.partitions == specs.changelogs["enrichments"].partitions == 8
    assert specs.linking.partitions == specs.changelogs["dedupe_entries"].partitions == 1
    assert specs.articles.partitions_setting == "STREAMS_TOPICS__PARTITIONS"
    assert specs.parsed.partitions_setting == "STREAMS_TOPICS__PARSED_PARTITIONS"
    assert specs.linking.partitions_setting is None


@pytest.mark.parametrize(("replicas", "min_insync"), [(1, None), (2, None), (3, "2"), (5, "3")])
def test_min_insync_replicas_is_a_majority_from_three_replicas(
    replicas: int, min_insync: str | None
) -> None:
    for spec in _specs(replication_factor=replicas).all():
        assert spec.replication_factor == replicas
        assert spec.configs.get("min.insync.replicas") == min_insync, spec.name


def test_retention_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMS_TOPICS__INPUT_RETENTION", "PT1H")
    monkeypatch.setenv("STREAMS_TOPICS__DEAD_LETTERS_RETENTION", "P14D")
    settings = Settings(kafka=KAFKA)
    assert settings.topics.input_retention == timedelta(hours=1)
    specs = service_topics(settings)
    assert specs.input.configs["retention.ms"] == "3600000"
    assert specs.parsed.configs["retention.ms"] == "3600000"
    assert specs.dead_letters.configs["retention.ms"] == str(14 * 24 * 3600 * 1000)


def test_retention_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        TopicSettings(dead_letters_retention=timedelta(0))
    assert retention_ms(timedelta(milliseconds=1500)) == "1500"


def test_names_are_unique() -> None:
    names = [spec.name for spec in _specs().all()]
    assert len(names) == len(set(names))
