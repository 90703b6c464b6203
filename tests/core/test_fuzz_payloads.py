"""Fuzz: whole raw messages through `parse_payloads` (decode, limits, HTML or text parsing,
fingerprints; no NLP) and a small sample through `process_payloads` with spaCy.

Every payload must end as stories or a dead letter; a `processing_error` dead letter is a
caught crash and fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.config import CoreConfig
from streams.core.outcome import Outcome, Processed
from streams.core.parsing import parse_payloads
from streams.core.pipeline import process_payloads, warm_up
from streams.models import ArticlePart, DeadLetter, RejectReason
from tests.core.fuzzing import (
    FETCHED_AT,
    FUZZ,
    HTML_PAGES,
    LINE,
    NEWS_LINES,
    PAYLOADS,
    TEXT_PAGES,
    URL,
    Budget,
    deep_markup,
    event_bytes,
    json_events,
    quiet_logs,
    run_within_budget,
)

CONFIG = CoreConfig()
PARSE = Budget("parse_payloads")
NLP = Budget("process_payloads (spaCy, per batch of 10)")
NLP_BATCH = 10


@pytest.fixture(scope="module", autouse=True)
def _quiet_and_report() -> Iterator[None]:
    with quiet_logs():
        yield
    print(f"\n{PARSE.report()}\n{NLP.report()}")


def _event(content: tuple[str, str], extra: dict[str, Any]) -> bytes:
    field, value = content
    return event_bytes({"url": URL, "fetched_at": FETCHED_AT, **extra, field: value})


CONTENT = st.one_of(
    st.tuples(st.just("html"), HTML_PAGES),
    st.tuples(st.just("html"), deep_markup(max_depth=1000)),
    st.tuples(st.just("text"), TEXT_PAGES),
)
NEWS_PARAGRAPHS = st.lists(st.one_of(NEWS_LINES, LINE), min_size=1, max_size=12)
PROSE = st.one_of(
    st.tuples(st.just("text"), NEWS_PARAGRAPHS.map("\n\n".join)),
    st.tuples(st.just("text"), TEXT_PAGES),
    st.tuples(
        st.just("html"),
        st.builds(
            lambda paragraphs, junk: (
                "<html><body><article>"
                + "".join(f"<p>{p}</p>" for p in paragraphs)
                + junk
                + "</article></body></html>"
            ),
            NEWS_PARAGRAPHS,
            HTML_PAGES,
        ),
    ),
)
"""Content with prose in it, so that the NLP sample reaches spaCy."""
EVENTS = st.one_of(
    st.builds(_event, CONTENT, st.just({})),
    st.builds(_event, PROSE, st.just({})),
    st.builds(_event, CONTENT, json_events()),
    PAYLOADS,
)
"""Mostly well-formed events whose html or text is hostile, plus any payload at all."""


def _parse_one(payload: bytes) -> list[ArticlePart] | DeadLetter:
    """One payload through `parse_payloads` (the worker's parse stage)."""
    (outcome,) = parse_payloads([payload], config=CONFIG)
    return outcome


def _check_parsed(outcome: list[ArticlePart] | DeadLetter) -> None:
    if isinstance(outcome, DeadLetter):
        assert outcome.reason != RejectReason.PROCESSING_ERROR, outcome.message
        PARSE.outcomes[outcome.reason.value] += 1
        return
    PARSE.outcomes["stories"] += 1
    assert outcome, "no stories must be a dead letter"
    for part in outcome:
        assert isinstance(part, ArticlePart)
        assert part.body.strip()


@settings(FUZZ, max_examples=1200)
@given(EVENTS)
def test_every_payload_parses_to_stories_or_a_dead_letter(payload: bytes) -> None:
    _check_parsed(run_within_budget(PARSE, _parse_one, payload, size=len(payload)))


@pytest.fixture(scope="module")
def nlp_ready() -> None:
    warm_up(CONFIG)


def _process(batch: list[bytes]) -> list[Outcome]:
    return process_payloads(batch, config=CONFIG)


def _check_processed(outcome: Outcome) -> None:
    if isinstance(outcome, DeadLetter):
        assert outcome.reason != RejectReason.PROCESSING_ERROR, outcome.message
        NLP.outcomes[outcome.reason.value] += 1
        return
    assert isinstance(outcome, Processed)
    NLP.outcomes["articles"] += len(outcome.articles)
    NLP.outcomes["claims"] += len(outcome.claims)
    for article in outcome.articles:
        for entity in article.entities:
            for mention in entity.mentions:
                assert article.body[mention.start : mention.end] == mention.text


@settings(FUZZ, max_examples=20)
@given(
    st.lists(
        st.one_of(st.builds(_event, PROSE, st.just({})), EVENTS),
        min_size=NLP_BATCH,
        max_size=NLP_BATCH,
    )
)
def test_sample_through_nlp_gives_articles_or_dead_letters(
    nlp_ready: None, batch: list[bytes]
) -> None:
    """200 inputs (20 batches of 10) through the whole core, spaCy included."""
    outcomes = run_within_budget(
        NLP, _process, batch, size=sum(len(p) for p in batch), seconds=NLP_BATCH * 1.0
    )
    assert len(outcomes) == len(batch)
    for outcome in outcomes:
        _check_processed(outcome)
