"""Records on the wire: what crawlers publish and what the service publishes.

These pydantic v2 models are the single source of truth for the output contract:
`schemas/*.schema.json` is generated from them (`streams schemas`) and a test fails
when the committed schemas drift from the models.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = "1.0"
"""Version of the output contract; bumped on any incompatible change of a record."""


class _Record(BaseModel):
    """Base of every published record: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- input


class RawEvent(BaseModel):
    """A raw article event as upstream crawlers publish it.

    At least one of `html` or `text` must be present. Fields this model does not
    know are kept (``extra="allow"``) so that crawler metadata is never lost.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    url: str = Field(min_length=1, description="Address the page was fetched from.")
    fetched_at: dt.datetime = Field(description="When the crawler fetched the page (ISO 8601).")
    html: str | None = Field(default=None, description="The page's HTML.")
    text: str | None = Field(default=None, description="The page's scraped text.")
    source: str | None = Field(default=None, description="Site or publisher name.")
    language: str | None = Field(default=None, description="Language hint (ISO 639-1).")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP response headers.")
    crawler: str | None = Field(default=None, description="Name of the crawler that fetched it.")

    @model_validator(mode="after")
    def _needs_content(self) -> RawEvent:
        if not (self.html and self.html.strip()) and not (self.text and self.text.strip()):
            raise ValueError("event has neither 'html' nor 'text' content")
        return self


# --------------------------------------------------------------------------- pieces


class Mention(_Record):
    """One occurrence of something in an article's `body`: ``body[start:end] == text``."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class Dateline(_Record):
    """A wire-story dateline, e.g. "Brussels, Belgium (AFP) Oct 28, 2024"."""

    text: str = Field(description="The dateline as printed.")
    place: str | None = None
    agency: str | None = None
    date: dt.date | None = None


EntityLabel = Literal[
    "PERSON",
    "ORG",
    "PLACE",
    "NORP",
    "EVENT",
    "PRODUCT",
    "WORK_OF_ART",
    "LAW",
    "LANGUAGE",
    "DATE",
    "TIME",
    "MONEY",
    "QUANTITY",
    "PERCENT",
]
"""Entity types we publish. spaCy's GPE, LOC and FAC become PLACE; CARDINAL and
ORDINAL are not published (numbers live in claim quantities)."""


class Entity(_Record):
    """A distinct entity of an article with every mention of it."""

    name: str = Field(description="Canonical name, e.g. 'Mark Rutte' for a mention 'Rutte'.")
    label: EntityLabel
    mentions: list[Mention]


class Speaker(_Record):
    """Who made a claim."""

    name: str | None = Field(description="Canonical name; null when it cannot be resolved.")
    title: str | None = Field(default=None, description="Role, e.g. 'NATO chief'.")
    type: Literal["person", "organization", "place", "group", "unknown"] = "unknown"


class Quantity(_Record):
    """A number stated in a claim."""

    value: float
    unit: str | None = None
    approx: str | None = Field(default=None, description="Qualifier, e.g. 'more than', 'some'.")
    text: str = Field(description="The quantity as written.")


ClaimKind = Literal["quote", "partial_quote", "reported", "statistic"]


class FingerprintParams(_Record):
    """How fingerprints were made, so consumers only compare like with like."""

    strategy: str = Field(description="Versioned name of the fingerprint strategy.")
    normalisation: str
    simhash_bits: int
    simhash_shingle_words: int
    minhash_shingle_words: int
    minhash_num_perm: int
    minhash_seed: int
    lsh_bands: int
    lsh_rows: int
    lsh_threshold: float = Field(description="Jaccard similarity the LSH bands are tuned for.")


class Fingerprints(_Record):
    """Dedupe fingerprints of an article body."""

    content_hash: str = Field(description="sha256 (hex) of the normalised body: exact copies.")
    simhash: str = Field(description="64-bit SimHash of the normalised body, 16 hex digits.")
    minhash: list[int] = Field(description="MinHash signature of word shingles.")
    lsh_bands: list[str] = Field(description="LSH band keys '<band>:<hex>' of the signature.")
    params: FingerprintParams


# --------------------------------------------------------------------------- outputs


class Article(_Record):
    """One article: the `articles` topic's value, keyed by `article_id`."""

    article_id: str = Field(description="Stable id: the same page always gets the same id.")
    part_of: str | None = Field(
        default=None, description="For a story embedded in a page: the page article's id."
    )
    url: str
    source: str | None = Field(default=None, description="Publisher or site name.")
    section: str | None = None
    title: str | None = None
    byline: str | None = None
    authors: list[str] = Field(default_factory=list)
    dateline: Dateline | None = None
    published_at: str | None = Field(
        default=None, description="ISO 8601 date or date-time of publication."
    )
    fetched_at: dt.datetime
    language: str | None = None
    body: str = Field(description="Clean body text; paragraphs separated by a blank line.")
    entities: list[Entity] = Field(default_factory=list)
    claim_ids: list[str] = Field(default_factory=list)
    fingerprints: Fingerprints
    extractor: str = Field(description="Which parser produced the article (versioned name).")
    duplicate_of: str | None = Field(
        default=None,
        description="Id of the first-seen article this one copies (exact or near duplicate).",
    )
    cluster_id: str | None = Field(
        default=None, description="Stable story id shared by an article and all its copies."
    )
    similarity: float | None = Field(
        default=None, description="Similarity to `duplicate_of` (1.0 for an exact copy)."
    )
    schema_version: str = SCHEMA_VERSION


class ArticlePart(_Record):
    """A parsed story waiting for NLP (internal topic between the parse and enrich stages)."""

    article_id: str
    part_of: str | None
    url: str
    source: str | None
    section: str | None
    title: str | None
    byline: str | None
    authors: list[str]
    dateline: Dateline | None
    published_at: str | None
    fetched_at: dt.datetime
    language: str | None = Field(description="Language hint of the event or the page, if any.")
    body: str
    fingerprints: Fingerprints
    extractor: str
    origin: dict[str, Any] = Field(default_factory=dict)


class Claim(_Record):
    """One distinct statement of an article: the `claims` topic's value, keyed by `claim_id`."""

    claim_id: str = Field(description="Fingerprint of the normalised statement.")
    kind: ClaimKind
    text: str = Field(description="Quoted words without quote marks, or the reported clause.")
    speaker: Speaker | None = None
    cue: str | None = Field(default=None, description="Speech verb, e.g. 'said', 'warned'.")
    quantities: list[Quantity] = Field(default_factory=list)
    mentions: list[Mention] = Field(description="Where the statement appears in the body.")
    article_id: str
    url: str
    published_at: str | None = None
    schema_version: str = SCHEMA_VERSION


class EnrichedPart(_Record):
    """An enriched story: its article and claims (internal: the linking topic and the
    worker's `enrichments` table, where `partition` says which table partition holds it)."""

    article: Article
    claims: list[Claim]
    origin: dict[str, Any] = Field(default_factory=dict)
    partition: int | None = None


class Sighting(_Record):
    """Where and when a claim was seen."""

    article_id: str
    url: str
    source: str | None = None
    seen_at: dt.datetime = Field(description="When the article carrying it was fetched.")


class ClaimAppearances(_Record):
    """Running aggregate of a claim across the stream: the `claim-appearances` topic's value,
    keyed by `claim_id` (compacted: the latest record per claim is its current state)."""

    claim_id: str
    text: str = Field(description="The statement as first seen.")
    first_seen: Sighting
    last_seen: Sighting
    count: int = Field(ge=1, description="Articles carrying the claim (each article once).")
    sources: list[str] = Field(description="Distinct sources (publishers) that carried it.")
    schema_version: str = SCHEMA_VERSION


class RejectReason(StrEnum):
    """Machine-readable reasons an input could not be processed."""

    NOT_UTF8 = "not_utf8"
    INVALID_JSON = "invalid_json"
    INVALID_EVENT = "invalid_event"
    NO_CONTENT = "no_content"
    EMPTY_AFTER_EXTRACTION = "empty_after_extraction"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    TOO_MANY_TAGS = "too_many_tags"
    PROCESSING_ERROR = "processing_error"


class DeadLetter(_Record):
    """An input that could not be processed, with why: the dead-letter topic's value."""

    reason: RejectReason
    message: str = Field(description="Human-readable explanation and what to do.")
    url: str | None = Field(default=None, description="The event's URL when it could be read.")
    payload: str | None = Field(
        description="The original payload (UTF-8, invalid bytes replaced), truncated if too large."
    )
    payload_size: int = Field(description="Size of the original payload in bytes.")
    payload_sha256: str = Field(description="sha256 (hex) of the original payload bytes.")
    truncated: bool = Field(description="True when `payload` holds only the start of it.")
    origin: dict[str, Any] = Field(
        default_factory=dict,
        description="Where the input came from (file, or topic, partition and offset).",
    )
    schema_version: str = SCHEMA_VERSION


class OutputRecord(_Record):
    """A record to publish: topic, key and value (what `streams process` prints per line)."""

    topic: str
    key: str | None
    value: Article | Claim | ClaimAppearances | DeadLetter
