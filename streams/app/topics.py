"""Topic declarations on the Faust app, from `streams.topic_specs` (the one source).

Keys and values are raw bytes (`raw` codec): values are the JSON bytes of
`streams.models` records made by `streams.core.encode_value`, keys the record keys
(`article_id`, `claim_id`, the input's key for dead letters). Names, partitions,
replication and configs (compaction, retention, `max.message.bytes`) come from
`service_topics(settings)`, the specs `streams topics apply` applies, so a topic the
worker creates at start is one `apply` finds up to date.

Two internal topics connect the worker's stages (`streams.app.agents`), both named
after the app id and created by Faust: `<app_id>-parsed` (parsed stories keyed by the
first value of their MinHash signature, `parsed_partitions` partitions (16), so exact
copies meet on one partition and near copies mostly do) and `<app_id>-linking`
(enriched stories keyed by article id, ONE partition, so one member links every article
against the stream-wide state).

An article can be larger than Kafka's default 1 MiB message limit, and a dead letter
keeps an input of up to `STREAMS_CORE__MAX_EVENT_BYTES` (5 MiB), so every topic the
service creates accepts messages up to `MAX_MESSAGE_BYTES`, and the producer's request
limit is raised to match.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.topic_specs import MAX_MESSAGE_BYTES, ServiceTopics, TopicSpec

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_REQUEST_BYTES",
    "RECORD_OVERHEAD_BYTES",
    "Topics",
    "declare_topics",
    "ensure_topics",
]

MAX_REQUEST_BYTES = MAX_MESSAGE_BYTES + 64 * 1024
"""Producer `max_request_size`: one record of `MAX_MESSAGE_BYTES` plus its framing."""

RECORD_OVERHEAD_BYTES = 1024
"""Room for a record's headers and framing when checking a record against the limit."""


@dataclass(frozen=True)
class Topics:
    """The service's topics, declared on the app."""

    input: faust.TopicT
    articles: faust.TopicT
    claims: faust.TopicT
    dead_letters: faust.TopicT
    claim_appearances: faust.TopicT
    parsed: faust.TopicT
    linking: faust.TopicT

    def outputs(self) -> tuple[faust.TopicT, ...]:
        """The topics the worker publishes its results to."""
        return (self.articles, self.claims, self.dead_letters, self.claim_appearances)

    def all(self) -> tuple[faust.TopicT, ...]:
        """Every topic, input first, then the outputs and the internal topics."""
        return (self.input, *self.outputs(), self.parsed, self.linking)


def declare_topics(app: faust.App, specs: ServiceTopics) -> Topics:
    """Declare the input, output and internal topics on `app` from their specs.

    Nothing connects. The input and the internal stage topics are declared `internal`,
    so Faust creates them (when missing) before it subscribes; `ensure_topics` creates
    the outputs at start-up.

    Args:
        app (faust.App): the app.
        specs (ServiceTopics): the topics' specs (`streams.topic_specs.service_topics`).

    Returns:
        Topics: the declared topics.
    """

    def topic(spec: TopicSpec, *, internal: bool = False) -> faust.TopicT:
        return app.topic(
            spec.name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=spec.partitions,
            replicas=spec.replication_factor,
            config=dict(spec.configs),
            internal=internal,
        )

    return Topics(
        input=topic(specs.input, internal=True),
        articles=topic(specs.articles),
        claims=topic(specs.claims),
        dead_letters=topic(specs.dead_letters),
        claim_appearances=topic(specs.claim_appearances),
        parsed=topic(specs.parsed, internal=True),
        linking=topic(specs.linking, internal=True),
    )


async def ensure_topics(topics: Topics) -> None:
    """Create every topic that does not exist yet (existing topics are left as they are)."""
    for topic in topics.all():
        await topic.maybe_declare()
