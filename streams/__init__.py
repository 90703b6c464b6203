"""streams: news-intelligence stream processor (raw pages → articles, entities, claims)."""

from __future__ import annotations

from streams.models import (
    SCHEMA_VERSION,
    Article,
    Claim,
    DeadLetter,
    Entity,
    Fingerprints,
    Mention,
    OutputRecord,
    Quantity,
    RawEvent,
    RejectReason,
    Speaker,
)

__all__ = [
    "SCHEMA_VERSION",
    "Article",
    "Claim",
    "DeadLetter",
    "Entity",
    "Fingerprints",
    "Mention",
    "OutputRecord",
    "Quantity",
    "RawEvent",
    "RejectReason",
    "Speaker",
]
