"""Orchestration only: bytes → event → parse → entities → claims → fingerprints → records.

Every field is computed by the module that owns it; this module only puts pieces
together. One event and a batch share one path: `process_events` runs `nlp.pipe` over the
bodies of a whole batch and returns exactly what `process_event` returns for each.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from streams.core.claims import ClaimDraft, extract_claims
from streams.core.config import CoreConfig
from streams.core.decode import dead_letter, decode_event
from streams.core.document import ParsedArticle
from streams.core.entities import extract_entities
from streams.core.fingerprints import article_id, claim_id, fingerprint
from streams.core.htmlparse import parse_html
from streams.core.language import detect_language
from streams.core.nlp import load_nlp
from streams.core.outcome import Outcome, Processed
from streams.core.textparse import parse_text
from streams.core.timing import StageTimer
from streams.models import (
    Article,
    Claim,
    DeadLetter,
    Mention,
    RawEvent,
    RejectReason,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Pending:
    """An event parsed into stories, waiting for NLP."""

    event: RawEvent
    parts: tuple[ParsedArticle, ...]


def parse_event(event: RawEvent, config: CoreConfig) -> tuple[ParsedArticle, ...]:
    """Stories on the event's page: HTML first (trafilatura), scraped text otherwise."""
    parts: list[ParsedArticle] = []
    if event.html and event.html.strip():
        parts = parse_html(event.html, url=event.url, config=config, source=event.source)
    if not parts and event.text and event.text.strip():
        parts = parse_text(
            event.text, url=event.url, source=event.source, extractor=config.text_extractor
        )
    return tuple(part for part in parts if part.paragraphs)


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


def _build(
    event: RawEvent,
    parts: Sequence[ParsedArticle],
    docs: Sequence[Doc],
    config: CoreConfig,
    timer: StageTimer,
) -> Processed:
    page_id = article_id(event.url, 0)
    articles: list[Article] = []
    claims: list[Claim] = []
    for part, doc in zip(parts, docs, strict=True):
        aid = article_id(event.url, part.part_index)
        with timer("entities"):
            entities = extract_entities(doc)
        with timer("claims"):
            merged = _merge_claims(extract_claims(doc, entities))
        with timer("fingerprint"):
            fingerprints = fingerprint(doc.text, config)
        with timer("language"):
            language = event.language or part.language or detect_language(doc.text)
        article_claims = [
            Claim(
                claim_id=cid,
                kind=draft.kind,
                text=draft.text,
                speaker=draft.speaker,
                cue=draft.cue,
                quantities=list(draft.quantities),
                mentions=mentions,
                article_id=aid,
                url=event.url,
                published_at=part.published_at,
            )
            for cid, draft, mentions in merged
        ]
        claims.extend(article_claims)
        articles.append(
            Article(
                article_id=aid,
                part_of=page_id if part.part_index > 0 else None,
                url=event.url,
                source=part.source or event.source,
                section=part.section,
                title=part.title,
                byline=part.byline,
                authors=list(part.authors),
                dateline=part.dateline,
                published_at=part.published_at,
                fetched_at=event.fetched_at,
                language=language,
                body=doc.text,
                entities=entities,
                claim_ids=[claim.claim_id for claim in article_claims],
                fingerprints=fingerprints,
                extractor=part.extractor,
            )
        )
    return Processed(articles=tuple(articles), claims=tuple(claims))


def _empty(
    event: RawEvent, payload: bytes, config: CoreConfig, origin: Mapping[str, Any]
) -> DeadLetter:
    return dead_letter(
        RejectReason.EMPTY_AFTER_EXTRACTION,
        "no article text left after removing boilerplate; check that the page is an article",
        payload,
        config=config,
        url=event.url,
        origin=origin,
    )


def _failure(
    error: Exception, payload: bytes, config: CoreConfig, origin: Mapping[str, Any]
) -> DeadLetter:
    log.exception("processing failed for payload of %d bytes", len(payload))
    return dead_letter(
        RejectReason.PROCESSING_ERROR,
        f"internal error while processing ({type(error).__name__}: {error}); "
        "this is a bug: report it with this record",
        payload,
        config=config,
        origin=origin,
    )


def process_payloads(
    payloads: Sequence[bytes],
    *,
    config: CoreConfig,
    origins: Sequence[Mapping[str, Any]] | None = None,
    nlp: Language | None = None,
    timer: StageTimer | None = None,
) -> list[Outcome]:
    """Process a batch of raw messages, one outcome per payload, in input order.

    Args:
        payloads (Sequence[bytes]): raw event messages (JSON).
        config (CoreConfig): pipeline settings.
        origins (Sequence[Mapping] | None): per payload, where it came from (for dead letters).
        nlp (Language | None): a loaded pipeline; loaded from `config.spacy_model` if None.
        timer (StageTimer | None): accumulates seconds per stage when given.

    Returns:
        list[Processed | DeadLetter]: what each payload became. Never raises for bad input.
    """
    origins = origins if origins is not None else [{} for _ in payloads]
    timer = timer if timer is not None else StageTimer()
    outcomes: list[Outcome | _Pending] = []
    for payload, origin in zip(payloads, origins, strict=True):
        with timer("decode"):
            decoded = decode_event(payload, config=config, origin=origin)
        if isinstance(decoded, DeadLetter):
            outcomes.append(decoded)
            continue
        try:
            with timer("parse"):
                parts = parse_event(decoded, config)
        except Exception as error:  # a parser bug must not stall the stream
            outcomes.append(_failure(error, payload, config, origin))
            continue
        outcomes.append(
            _Pending(decoded, parts) if parts else _empty(decoded, payload, config, origin)
        )

    pending = [item for item in outcomes if isinstance(item, _Pending)]
    nlp = nlp if nlp is not None or not pending else load_nlp(config.spacy_model)
    bodies = [part.body for item in pending for part in item.parts]
    with timer("nlp"):
        # spaCy runs eagerly so that its time is not mixed into the enrichment stages
        parsed = list(nlp.pipe(bodies, batch_size=config.spacy_batch_size)) if nlp else []
    docs: Iterator[Doc] = iter(parsed)

    results: list[Outcome] = []
    for item, payload, origin in zip(outcomes, payloads, origins, strict=True):
        if not isinstance(item, _Pending):
            results.append(item)
            continue
        item_docs = [next(docs) for _ in item.parts]
        try:
            results.append(_build(item.event, item.parts, item_docs, config, timer))
        except Exception as error:  # an enrichment bug must not stall the stream
            results.append(_failure(error, payload, config, origin))
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
