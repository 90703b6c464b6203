"""Property tests: the text parser and dateline reader never raise on any input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.document import ParsedArticle
from streams.core.metadata import parse_byline, parse_dateline, published_at_from_meta
from streams.core.segment import split_stories
from streams.core.textparse import parse_text

FAST = settings(max_examples=200, deadline=None)

_LINES = st.sampled_from(
    [
        "Space News",
        "SUPERPOWERS",
        "Leaders meet at summit, officials say",
        "by AFP Staff Writers",
        "By Jane Doe and John Smith",
        "Brussels, Belgium (AFP) Oct 28, 2024",
        "Washington (AFP) Oct 28, 2024 - Troops were sent on Monday.",
        "LONDON (Reuters) - Prices rose.",
        "WASHINGTON —",
        "- Growing threats -",
        "Related Links",
        "RELATED CONTENT",
        "Subscribe Free To Our Daily Newsletters",
        "Tweet",
        "Copyright 2024 Example. All rights reserved.",
        "The leader wants to use ... read more",
        "Learn about space at Example.com",
        '"The enemy understands strength."',
        "The minister said the talks would continue next week.",
        "and the talks went on",
        "",
        " \t\u00a0",
        "\u200b",
        "(AFP)",
        "Oct 28, 2024",
    ]
)
_PAGES = st.lists(st.one_of(_LINES, st.text(max_size=40)), max_size=30).map("\n".join)


def _check(articles: list[ParsedArticle]) -> None:
    assert isinstance(articles, list)
    for index, article in enumerate(articles):
        assert isinstance(article, ParsedArticle)
        assert article.paragraphs
        assert all(p and p.strip() == p for p in article.paragraphs)
        assert article.part_index == index


@FAST
@given(st.text())
def test_parse_text_arbitrary_text(text: str) -> None:
    _check(parse_text(text, url="https://example.com/x"))


@FAST
@given(_PAGES)
def test_parse_text_line_structured_pages(text: str) -> None:
    _check(parse_text(text, url="https://example.com/x"))


@FAST
@given(st.lists(st.one_of(_LINES, st.text(max_size=60)), max_size=20))
def test_split_stories_never_raises(blocks: list[str]) -> None:
    parts = split_stories(blocks)
    assert [p.part_index for p in parts] == list(range(len(parts)))
    assert all(p.paragraphs for p in parts)


@FAST
@given(st.one_of(st.text(), _LINES.flatmap(lambda s: st.text(max_size=20).map(lambda t: s + t))))
def test_line_readers_never_raise(line: str) -> None:
    parsed = parse_dateline(line)
    if parsed is not None:
        assert parsed[0].text
    parse_byline(line)
    published_at_from_meta(line)
