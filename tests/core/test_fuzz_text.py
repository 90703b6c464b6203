"""Fuzz: the scraped-text parser on odd text (whitespace, quotes, unicode, long repeats)
returns stories or nothing, never raises, within the per-input budget."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings

from streams.core.document import ParsedArticle
from streams.core.textparse import parse_text
from tests.core.fuzzing import (
    FUZZ,
    TEXT_PAGES,
    URL,
    Budget,
    check_stories,
    quiet_logs,
    run_within_budget,
)

BUDGET = Budget("parse_text")


@pytest.fixture(scope="module", autouse=True)
def _quiet_and_report() -> Iterator[None]:
    with quiet_logs():
        yield
    print(f"\n{BUDGET.report()}")


def _parse(text: str) -> list[ParsedArticle]:
    return parse_text(text, url=URL, source="Example News")


@settings(FUZZ, max_examples=2500)
@given(TEXT_PAGES)
def test_any_text_gives_stories_or_none(text: str) -> None:
    stories = run_within_budget(BUDGET, _parse, text, size=len(text.encode("utf-8")))
    check_stories(stories, BUDGET)
