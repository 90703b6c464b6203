"""Topic definitions as code: the desired layout of every topic the service uses.

Pure (no Kafka client, nothing connects): `service_topics(settings)` gives, for each
topic, its name, partitions, replication factor and topic-level configs. The worker
declares its topics and tables from these specs (`streams.app.topics`, `streams.app.app`)
and `streams topics apply` makes a cluster match them (`streams.topic_admin`), so what
the worker creates and what an operator applies never disagree.

Policies, and why:

- **Keyed outputs are compacted** (`articles` by `article_id`, `claims` by `claim_id`,
  `claim-appearances` by `claim_id`) and so are the tables' changelogs: compaction keeps
  the latest record per key, which is what a consumer that rebuilds its state (a search
  index, a claim database, a restarted worker's table) needs, however old the key is.
- **The input and the dead letters are deleted by age** (`retention.ms`): the input is
  kept long enough to catch up or reprocess after an outage (7 days); dead letters are
  kept longer (30 days) so someone can triage them after the fact. Neither can be
  compacted: a dead letter's key is the input's, which may be missing or repeat.
- **The internal stage topics** (`<app_id>-parsed`, `<app_id>-linking`) keep what the
  input keeps: a worker stopped for as long as the input is retained loses nothing.
- **Every topic accepts `MAX_MESSAGE_BYTES`**: an article with its entities, or a dead
  letter keeping a 5 MiB input, exceeds Kafka's 1 MiB default.
- **`min.insync.replicas` is a majority of the replicas** when there are 3 or more: with
  the producers' `acks=all`, an acknowledged record is on a majority, and one broker
  can be down without stopping writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from streams.settings import Settings

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""`max.message.bytes` of the service's topics (above an article or a 5 MiB dead letter)."""

TABLES = ("enrichments", "dedupe_entries", "claim_appearances", "linked_origins")
"""The worker's Faust tables (bytes keys and values), each backed by a changelog topic."""

PARSED_TABLES = frozenset({"enrichments"})
"""Tables updated by the enrich stage: partitioned like `<app_id>-parsed`. The others are
updated by the linking stage, on the one partition of `<app_id>-linking`."""

MIN_REPLICAS_FOR_MIN_INSYNC = 3
"""From this replication factor on, `min.insync.replicas` is set to a majority."""


class Role(StrEnum):
    """What a topic is for (shown by `streams topics show`)."""

    INPUT = "input"
    OUTPUT = "output"
    INTERNAL = "internal"
    CHANGELOG = "changelog"


@dataclass(frozen=True)
class TopicSpec:
    """The desired state of one topic.

    Args:
        name (str): topic name.
        partitions (int): desired partition count.
        replication_factor (int): replicas per partition.
        configs (dict[str, str]): topic-level configs the service sets (others are left
            to the broker's defaults or to the operator).
        role (Role): input, output, internal or changelog.
        partitions_setting (str | None): the variable that sets `partitions`, for error
            messages (None when the count is fixed by the design).
    """

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)
    role: Role = Role.OUTPUT
    partitions_setting: str | None = None

    @property
    def compacted(self) -> bool:
        """Whether the topic keeps the latest record per key."""
        return "compact" in self.configs.get("cleanup.policy", "").split(",")


@dataclass(frozen=True)
class ServiceTopics:
    """Every topic the service uses, by what it is for."""

    input: TopicSpec
    articles: TopicSpec
    claims: TopicSpec
    dead_letters: TopicSpec
    claim_appearances: TopicSpec
    parsed: TopicSpec
    linking: TopicSpec
    leader: TopicSpec
    changelogs: dict[str, TopicSpec]

    def all(self) -> tuple[TopicSpec, ...]:
        """Input, outputs, internal stage topics, Faust's leader topic, changelogs."""
        return (
            self.input,
            self.articles,
            self.claims,
            self.dead_letters,
            self.claim_appearances,
            self.parsed,
            self.linking,
            self.leader,
            *(self.changelogs[table] for table in TABLES),
        )


def retention_ms(duration: timedelta) -> str:
    """A duration as Kafka's `retention.ms` value."""
    return str(int(duration.total_seconds() * 1000))


def changelog_name(app_id: str, table: str) -> str:
    """The changelog topic Faust backs `table` with: `<app_id>-<table>-changelog`."""
    return f"{app_id}-{table}-changelog"


def leader_name(app_id: str) -> str:
    """The one-partition topic Faust's assignor uses to elect the group's leader."""
    return f"{app_id}-__assignor-__leader"


def durability_configs(replication_factor: int) -> dict[str, str]:
    """`min.insync.replicas` = a majority, with 3+ replicas (nothing with fewer).

    With 1 or 2 replicas a minimum of 2 would stop every write when one broker is down,
    so the broker's default (1) stays.
    """
    if replication_factor < MIN_REPLICAS_FOR_MIN_INSYNC:
        return {}
    return {"min.insync.replicas": str(replication_factor // 2 + 1)}


def compacted_configs(replication_factor: int) -> dict[str, str]:
    """Keep the latest record per key: for consumers (and tables) that rebuild state."""
    return {
        "cleanup.policy": "compact",
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
        **durability_configs(replication_factor),
    }


def retained_configs(replication_factor: int, retention: timedelta) -> dict[str, str]:
    """Delete records older than `retention`: for streams read once, in order."""
    return {
        "cleanup.policy": "delete",
        "retention.ms": retention_ms(retention),
        "max.message.bytes": str(MAX_MESSAGE_BYTES),
        **durability_configs(replication_factor),
    }


def service_topics(settings: Settings) -> ServiceTopics:
    """The desired spec of every topic the service uses, from `settings`.

    Args:
        settings (Settings): topic names, partitions, replication, retention and app id.

    Returns:
        ServiceTopics: the specs, by what each topic is for.
    """
    topics = settings.topics
    app_id = settings.worker.app_id
    replicas = topics.replication_factor
    partitions_var = "STREAMS_TOPICS__PARTITIONS"

    def external(name: str, configs: dict[str, str], role: Role) -> TopicSpec:
        return TopicSpec(name, topics.partitions, replicas, configs, role, partitions_var)

    def output(name: str) -> TopicSpec:
        return external(name, compacted_configs(replicas), Role.OUTPUT)

    stage = retained_configs(replicas, topics.input_retention)
    parsed = TopicSpec(
        f"{app_id}-parsed",
        topics.parsed_partitions,
        replicas,
        stage,
        Role.INTERNAL,
        "STREAMS_TOPICS__PARSED_PARTITIONS",
    )
    linking = TopicSpec(f"{app_id}-linking", 1, replicas, stage, Role.INTERNAL)
    changelogs = {
        table: TopicSpec(
            changelog_name(app_id, table),
            parsed.partitions if table in PARSED_TABLES else linking.partitions,
            replicas,
            compacted_configs(replicas),
            Role.CHANGELOG,
            parsed.partitions_setting if table in PARSED_TABLES else None,
        )
        for table in TABLES
    }
    return ServiceTopics(
        input=external(
            topics.input, retained_configs(replicas, topics.input_retention), Role.INPUT
        ),
        articles=output(topics.articles),
        claims=output(topics.claims),
        dead_letters=external(
            topics.dead_letters,
            retained_configs(replicas, topics.dead_letters_retention),
            Role.OUTPUT,
        ),
        claim_appearances=output(topics.claim_appearances),
        parsed=parsed,
        linking=linking,
        # created by Faust without configs; the same here, so a worker-made one is up to date
        leader=TopicSpec(
            leader_name(app_id), 1, replicas, durability_configs(replicas), Role.INTERNAL
        ),
        changelogs=changelogs,
    )
