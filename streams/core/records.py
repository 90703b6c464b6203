"""Outcomes → keyed records, and the one place records become bytes (orjson).

The CLI prints and the worker publishes exactly these bytes, so both are the same
contract by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from pydantic import BaseModel

from streams.core.outcome import Outcome, Processed
from streams.models import OutputRecord


@dataclass(frozen=True)
class TopicNames:
    """Names of the output topics."""

    articles: str = "articles"
    claims: str = "claims"
    dead_letters: str = "raw-articles.dlq"
    claim_appearances: str = "claim-appearances"


def to_records(
    outcome: Outcome, *, topics: TopicNames, input_key: str | None
) -> list[OutputRecord]:
    """The records an outcome publishes: articles, their claims, the claims' updated
    appearances; or one dead letter.

    Args:
        outcome (Processed | DeadLetter): what an input became.
        topics (TopicNames): where each kind of record goes.
        input_key (str | None): the input's key, used as the dead letter's key.

    Returns:
        list[OutputRecord]: records in publishing order.
    """
    if not isinstance(outcome, Processed):
        return [OutputRecord(topic=topics.dead_letters, key=input_key, value=outcome)]
    records = [
        OutputRecord(topic=topics.articles, key=article.article_id, value=article)
        for article in outcome.articles
    ]
    records.extend(
        OutputRecord(topic=topics.claims, key=claim.claim_id, value=claim)
        for claim in outcome.claims
    )
    records.extend(
        OutputRecord(topic=topics.claim_appearances, key=seen.claim_id, value=seen)
        for seen in outcome.appearances
    )
    return records


def encode_value(value: BaseModel) -> bytes:
    """A record value as JSON bytes (orjson), fields in model order."""
    return orjson.dumps(value.model_dump(mode="json"))


def encode_line(record: OutputRecord) -> bytes:
    """One JSONL line `{"topic", "key", "value"}` (no trailing newline)."""
    return orjson.dumps(
        {"topic": record.topic, "key": record.key, "value": record.value.model_dump(mode="json")}
    )
