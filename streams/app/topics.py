"""Topic declarations: names, partitions and replication from `TopicSettings`.

Keys and values are raw bytes (`raw` codec): values are the JSON bytes of
`streams.models` records made by `streams.core.encode_value`, keys the record keys
(`article_id`, `claim_id`, the input's key for dead letters), so the outputs can be
compacted by a downstream operator. The topics keep the broker's default cleanup
policy (delete), except `claim-appearances` (a running aggregate per claim id), which
is created compacted.

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

from streams.settings import TopicSettings

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""`max.message.bytes` of the topics the service creates."""

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


def declare_topics(app: faust.App, topics: TopicSettings) -> Topics:
    """Declare the input, output and dead-letter topics on `app` (nothing connects).

    The input and the internal stage topics are declared `internal`, so Faust creates
    them (when missing) before it subscribes; `ensure_topics` creates the outputs at
    start-up.

    Args:
        app (faust.App): the app.
        topics (TopicSettings): names, partitions and replication factor.

    Returns:
        Topics: the declared topics.
    """

    def topic(
        name: str,
        *,
        internal: bool = False,
        partitions: int = topics.partitions,
        compact: bool = False,
    ) -> faust.TopicT:
        config = {"max.message.bytes": str(MAX_MESSAGE_BYTES)}
        if compact:
            config["cleanup.policy"] = "compact"
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
            replicas=topics.replication_factor,
            config=config,
            internal=internal,
        )

    app_id = app.conf.id
    return Topics(
        input=topic(topics.input, internal=True),
        articles=topic(topics.articles),
        claims=topic(topics.claims),
        dead_letters=topic(topics.dead_letters),
        claim_appearances=topic(topics.claim_appearances, compact=True),
        parsed=topic(f"{app_id}-parsed", internal=True, partitions=topics.parsed_partitions),
        linking=topic(f"{app_id}-linking", internal=True, partitions=1),
    )


async def ensure_topics(topics: Topics) -> None:
    """Create every topic that does not exist yet (existing topics are left as they are)."""
    for topic in topics.all():
        await topic.maybe_declare()
