"""Decode and parse raw events into stories: everything before NLP.

Kept apart from `streams.core.pipeline` so that the worker's parse process imports no
spaCy (about 80 MB less per worker).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from streams.core.config import CoreConfig
from streams.core.decode import dead_letter, decode_event
from streams.core.document import ParsedArticle
from streams.core.fingerprints import article_id, fingerprint
from streams.core.htmlparse import parse_html
from streams.core.textparse import parse_text
from streams.core.timing import StageTimer
from streams.models import ArticlePart, DeadLetter, RawEvent, RejectReason

log = logging.getLogger(__name__)


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


def parts_of(event: RawEvent, stories: Sequence[ParsedArticle], config: CoreConfig,
             origin: Mapping[str, Any]) -> list[ArticlePart]:  # fmt: skip
    """The stories of one event as internal records: ids, metadata, body and fingerprints."""
    page_id = article_id(event.url, 0)
    return [
        ArticlePart(
            article_id=article_id(event.url, story.part_index),
            part_of=page_id if story.part_index > 0 else None,
            url=event.url,
            source=story.source or event.source,
            section=story.section,
            title=story.title,
            byline=story.byline,
            authors=list(story.authors),
            dateline=story.dateline,
            published_at=story.published_at,
            fetched_at=event.fetched_at,
            language=event.language or story.language,
            body=story.body,
            fingerprints=fingerprint(story.body, config),
            extractor=story.extractor,
            origin=dict(origin),
        )
        for story in stories
    ]


def empty_letter(
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


def failure_letter(
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


def parse_payloads(
    payloads: Sequence[bytes],
    *,
    config: CoreConfig,
    origins: Sequence[Mapping[str, Any]] | None = None,
    timer: StageTimer | None = None,
) -> list[list[ArticlePart] | DeadLetter]:
    """Decode and parse a batch (no NLP): the stories of each payload, or why there are none.

    Args:
        payloads (Sequence[bytes]): raw event messages (JSON).
        config (CoreConfig): pipeline settings.
        origins (Sequence[Mapping] | None): per payload, where it came from.
        timer (StageTimer | None): accumulates seconds per stage when given.

    Returns:
        list[list[ArticlePart] | DeadLetter]: per payload, in input order. Never raises.
    """
    origins = origins if origins is not None else [{} for _ in payloads]
    timer = timer if timer is not None else StageTimer()
    results: list[list[ArticlePart] | DeadLetter] = []
    for payload, origin in zip(payloads, origins, strict=True):
        with timer("decode"):
            decoded = decode_event(payload, config=config, origin=origin)
        if isinstance(decoded, DeadLetter):
            results.append(decoded)
            continue
        try:
            with timer("parse"):
                stories = parse_event(decoded, config)
            with timer("fingerprint"):
                parts = parts_of(decoded, stories, config, origin)
        except Exception as error:  # a parser bug must not stall the stream
            results.append(failure_letter(error, payload, config, origin))
            continue
        results.append(parts if parts else empty_letter(decoded, payload, config, origin))
    return results


__all__ = ["empty_letter", "failure_letter", "parse_event", "parse_payloads", "parts_of"]
