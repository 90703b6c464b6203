"""Fuzz: the HTML parser on hostile markup (random nested tags, attributes, entities,
comments, scripts, CDATA, deep nesting, huge attributes, unicode edge cases) returns
stories or nothing, never raises and never fetches, within the per-input budget.

Deep markup goes to `parse_html` directly, so it reaches lxml and trafilatura without the
decoder's depth limit in front of it. Random pages go through the decoder's markup scan
first, as in the service: a page over the tag limit is a dead letter and never parsed
(parsing costs 25-70 us a tag, so no parser keeps a page of 50,000 tags under a second; a
CI run found one).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.config import CoreConfig
from streams.core.document import ParsedArticle
from streams.core.htmlparse import parse_html
from streams.core.limits import markup_breach
from tests.core.fuzzing import (
    FUZZ,
    HTML_PAGES,
    SPECIALS,
    URL,
    Budget,
    check_stories,
    deep_markup,
    quiet_logs,
    run_within_budget,
)
from tests.core.pages import render_page, seed_page

CONFIG = CoreConfig()
BUDGET = Budget("parse_html")


@pytest.fixture(scope="module", autouse=True)
def _quiet_and_report() -> Iterator[None]:
    parse_html("<html><body><p>Warm up trafilatura's caches.</p></body></html>", url=URL,
               config=CONFIG)  # fmt: skip
    with quiet_logs():
        yield
    print(f"\n{BUDGET.report()}")


def _parse(html: str) -> list[ParsedArticle]:
    return parse_html(html, url=URL, config=CONFIG, source="Example News")


def _parse_unless_over_limits(html: str) -> list[ParsedArticle]:
    """What the service does with a page: over a limit, a dead letter (nothing parsed)."""
    if markup_breach(html, max_depth=CONFIG.max_html_depth, max_tags=CONFIG.max_html_tags):
        return []
    return _parse(html)


def _size(html: str) -> int:
    return len(html.encode("utf-8"))


@settings(FUZZ, max_examples=1400)
@given(HTML_PAGES)
def test_any_markup_gives_stories_or_none(html: str) -> None:
    outcome = run_within_budget(BUDGET, _parse_unless_over_limits, html, size=_size(html))
    check_stories(outcome, BUDGET)


@settings(FUZZ, max_examples=250)
@given(deep_markup(max_depth=5000))
def test_deep_markup_gives_stories_or_none(html: str) -> None:
    check_stories(run_within_budget(BUDGET, _parse, html, size=_size(html)), BUDGET)


@pytest.fixture(scope="module")
def seed_html(seed_text: str) -> str:
    return render_page(seed_page(seed_text))


@settings(FUZZ, max_examples=150)
@given(st.randoms(use_true_random=False), st.lists(SPECIALS, min_size=1, max_size=5))
def test_damaged_news_page_gives_stories_or_none(
    seed_html: str, rng: random.Random, junk: list[str]
) -> None:
    """A real-looking page cut, spliced with broken markup and with tags dropped."""
    html = seed_html
    for piece in junk:
        where = rng.randrange(len(html) + 1)
        html = html[:where] + piece + html[where + rng.randrange(0, 200) :]
    html = html[: rng.randrange(len(html) // 2, len(html) + 1)]
    check_stories(run_within_budget(BUDGET, _parse, html, size=_size(html)), BUDGET)
