"""Orchestration only: bytes → event → parse → entities → claims → fingerprints → records.

Every field is computed by the module that owns it; this module only puts pieces
together. One event and a batch share one path: `process_payloads` runs spaCy over the
paragraphs of a whole batch (`paragraph_nlp`) and returns exactly what `process_payload`
returns for each. Parsing (everything before NLP) lives in `parsing`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from streams.core.claims import ClaimDraft, extract_claims
from streams.core.config import CoreConfig
from streams.core.decode import dead_letter
from streams.core.entities import extract_entities
from streams.core.fingerprints import claim_id
from streams.core.language import detect_language
from streams.core.nlp import load_nlp
from streams.core.outcome import Outcome, Processed
from streams.core.paragraph_nlp import ParagraphPipe
from streams.core.parsing import failure_letter, parse_payloads
from streams.core.timing import StageTimer
from streams.models import (
    Article,
    ArticlePart,
    Claim,
    DeadLetter,
    Mention,
)

log = logging.getLogger(__name__)


def _merge_claims(drafts: Sequence[ClaimDraft]) -> list[tuple[str, ClaimDraft, list[Mention]]]:
    """One entry per distinct statement (by claim id), in order of first appearance."""
    merged: dict[str, tuple[ClaimDraft, list[Mention]]] = {}
    for draft in drafts:
        cid = claim_id(draft.text)
        if not cid or not draft.text.strip():
            continue
        if cid in merged:
            merged[cid][1].extend(draft.mentions)
        else:
            merged[cid] = (draft, list(draft.mentions))
    return [
        (cid, draft, sorted(set(mentions), key=lambda m: (m.start, m.end)))
        for cid, (draft, mentions) in merged.items()
    ]


def _enrich(part: ArticlePart, doc: Doc, timer: StageTimer) -> Processed:
    """Entities, claims and language of one parsed story."""
    with timer("entities"):
        entities = extract_entities(doc)
    with timer("claims"):
        merged = _merge_claims(extract_claims(doc, entities))
    with timer("language"):
        language = part.language or detect_language(part.body)
    claims = tuple(
        Claim(
            claim_id=cid,
            kind=draft.kind,
            text=draft.text,
            speaker=draft.speaker,
            cue=draft.cue,
            quantities=list(draft.quantities),
            mentions=mentions,
            article_id=part.article_id,
            url=part.url,
            published_at=part.published_at,
        )
        for cid, draft, mentions in merged
    )
    article = Article(
        **part.model_dump(exclude={"origin", "language"}),
        language=language,
        entities=entities,
        claim_ids=[claim.claim_id for claim in claims],
    )
    return Processed(articles=(article,), claims=claims)


def reuse_enrichment(part: ArticlePart, earlier: Processed) -> Processed:
    """The enrichment of an exact copy, taken from the first article with the same body.

    Entities and claims depend on the body alone, so the result equals running NLP again
    (a test checks this); only the copy's own ids and metadata change.

    Args:
        part (ArticlePart): the copy.
        earlier (Processed): the first article with an identical body, and its claims.

    Returns:
        Processed: the copy's article and claims.

    Raises:
        ValueError: the bodies differ (offsets would not fit).
    """
    (first,) = earlier.articles
    if first.body != part.body:
        raise ValueError("enrichment can only be reused for an identical body")
    language = part.language or first.language
    article = Article.model_validate(
        {
            **first.model_dump(),
            **part.model_dump(exclude={"origin", "language", "body"}),
            "language": language,
        }
    )
    claims = tuple(
        claim.model_copy(
            update={
                "article_id": part.article_id,
                "url": part.url,
                "published_at": part.published_at,
            }
        )
        for claim in earlier.claims
    )
    return Processed(articles=(article,), claims=claims)


@functools.lru_cache(maxsize=4)
def paragraph_pipe(config: CoreConfig) -> ParagraphPipe:
    """The process's paragraph pipeline for `config` (one model and one cache)."""
    return ParagraphPipe(
        load_nlp(config.spacy_model),
        cache_size=config.paragraph_cache_size,
        batch_size=config.paragraph_batch_size,
    )


def enrich_parts(
    parts: Sequence[ArticlePart],
    *,
    config: CoreConfig,
    nlp: Language | None = None,
    timer: StageTimer | None = None,
) -> list[Processed | DeadLetter]:
    """NLP for a batch of parsed stories (their paragraphs through `nlp.pipe` at once; a
    paragraph parsed before in this process is reused, `streams.core.paragraph_nlp`).

    Args:
        parts (Sequence[ArticlePart]): parsed stories.
        config (CoreConfig): pipeline settings.
        nlp (Language | None): a loaded pipeline; loaded from `config.spacy_model` if None.
        timer (StageTimer | None): accumulates seconds per stage when given.

    Returns:
        list[Processed | DeadLetter]: per story, its article and claims; a bug in enrichment
            becomes a `processing_error` dead letter carrying the story record.
    """
    timer = timer if timer is not None else StageTimer()
    if not parts:
        return []
    pipe = (
        paragraph_pipe(config)
        if nlp is None
        else ParagraphPipe(nlp, cache_size=0, batch_size=config.paragraph_batch_size)
    )
    with timer("nlp"):
        # spaCy runs eagerly so that its time is not mixed into the enrichment stages
        docs = pipe([part.body for part in parts])
    results: list[Processed | DeadLetter] = []
    for part, doc in zip(parts, docs, strict=True):
        try:
            results.append(_enrich(part, doc, timer))
        except Exception as error:  # an enrichment bug must not stall the stream
            payload = part.model_dump_json().encode()
            results.append(failure_letter(error, payload, config, part.origin))
    return results


def warm_paragraphs(
    parts: Sequence[ArticlePart], *, config: CoreConfig, timer: StageTimer | None = None
) -> bool:
    """Parse one turn (`config.nlp_turn_chars`) of the stories' paragraphs ahead into this
    process's paragraph cache, so that a long body's NLP can be cut into turns.

    `enrich_parts` on the same stories afterwards gives exactly what it gives without
    this (a paragraph is always parsed alone); it only finds less left to parse.

    Args:
        parts (Sequence[ArticlePart]): parsed stories.
        config (CoreConfig): pipeline settings.
        timer (StageTimer | None): accumulates the seconds under "nlp" when given.

    Returns:
        bool: True when paragraphs remain for another turn.
    """
    timer = timer if timer is not None else StageTimer()
    if config.nlp_turn_chars <= 0:
        return False
    with timer("nlp"):
        return paragraph_pipe(config).warm([part.body for part in parts], config.nlp_turn_chars)


def process_payloads(
    payloads: Sequence[bytes],
    *,
    config: CoreConfig,
    origins: Sequence[Mapping[str, Any]] | None = None,
    nlp: Language | None = None,
    timer: StageTimer | None = None,
) -> list[Outcome]:
    """Process a batch of raw messages, one outcome per payload, in input order.

    The same as `parse_payloads` followed by `enrich_parts` on every story.

    Args:
        payloads (Sequence[bytes]): raw event messages (JSON).
        config (CoreConfig): pipeline settings.
        origins (Sequence[Mapping] | None): per payload, where it came from (for dead letters).
        nlp (Language | None): a loaded pipeline; loaded from `config.spacy_model` if None.
        timer (StageTimer | None): accumulates seconds per stage when given.

    Returns:
        list[Processed | DeadLetter]: what each payload became. Never raises for bad input.
    """
    timer = timer if timer is not None else StageTimer()
    parsed = parse_payloads(payloads, config=config, origins=origins, timer=timer)
    parts = [part for item in parsed if not isinstance(item, DeadLetter) for part in item]
    enriched = iter(enrich_parts(parts, config=config, nlp=nlp, timer=timer))
    origins = origins if origins is not None else [{} for _ in payloads]
    results: list[Outcome] = []
    for item, payload, origin in zip(parsed, payloads, origins, strict=True):
        if isinstance(item, DeadLetter):
            results.append(item)
            continue
        done = [next(enriched) for _ in item]
        failed = next((d for d in done if isinstance(d, DeadLetter)), None)
        if failed is not None:  # keep the original payload, not the story record
            results.append(
                dead_letter(
                    failed.reason,
                    failed.message,
                    payload,
                    config=config,
                    url=item[0].url,
                    origin=origin,
                )
            )
            continue
        processed = [d for d in done if isinstance(d, Processed)]
        results.append(
            Processed(
                articles=tuple(a for p in processed for a in p.articles),
                claims=tuple(c for p in processed for c in p.claims),
            )
        )
    return results


def process_payload(
    payload: bytes,
    *,
    config: CoreConfig,
    origin: Mapping[str, Any] | None = None,
    nlp: Language | None = None,
    timer: StageTimer | None = None,
) -> Outcome:
    """Process one raw message; the same as a batch of one."""
    return process_payloads([payload], config=config, origins=[origin or {}], nlp=nlp, timer=timer)[
        0
    ]


_WARM_UP_EVENT = (
    b'{"url":"streams:warm-up","fetched_at":"2000-01-01T00:00:00Z","text":'
    b'"The council said on Tuesday that the old bridge would close for repairs, '
    b'\\"We take no risks,\\" the mayor told reporters."}'
)


def warm_up(config: CoreConfig) -> None:
    """Load everything a first event would (spaCy, gazetteer, language model) ahead of time.

    A worker calls it before it reports ready, so the first real event is not slow.
    """
    outcome = process_payload(_WARM_UP_EVENT, config=config)
    if isinstance(outcome, DeadLetter):
        raise RuntimeError(f"warm-up event failed: {outcome.reason}: {outcome.message}")
