"""parse_html: stories and metadata from HTML pages (seed page, aeb-dev pages, odd input)."""

from __future__ import annotations

import gzip
import importlib
import json
import re
import socket
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.boilerplate import is_boilerplate
from streams.core.config import CoreConfig
from streams.core.document import ParsedArticle
from streams.core.htmlextract import body_blocks
from streams.core.htmlparse import parse_html
from tests.core.pages import NewsPage, render_page, seed_page

CONFIG = CoreConfig()
etree: Any = importlib.import_module("lxml.etree")  # lxml ships no type stubs
SEED_URL = "https://www.example-news.test/reports/nato_chief_2024.html"

# ------------------------------------------------------------------ seed page


@pytest.fixture(scope="module")
def page(seed_text: str) -> NewsPage:
    return seed_page(seed_text)


@pytest.fixture(scope="module", params=["bold-br", "h2"])
def parts(request: pytest.FixtureRequest, page: NewsPage) -> list[ParsedArticle]:
    """The seed rendered as a news page; the embedded headline as <b>+<br> or as <h2>."""
    return parse_html(render_page(page, embedded_style=request.param), url=SEED_URL, config=CONFIG)


def test_seed_page_yields_page_story_and_embedded_story(parts: list[ParsedArticle]) -> None:
    assert [p.part_index for p in parts] == [0, 1]
    assert (
        parts[0].title == "NATO chief says N.Korean troop deployment signals Putin's 'desperation'"
    )
    assert parts[1].title == "North Korea sent 10,000 troops to train in Russia, US says"


def test_seed_page_metadata_on_part_zero(parts: list[ParsedArticle]) -> None:
    first = parts[0]
    assert first.dateline is not None
    assert first.dateline.place == "Brussels, Belgium"
    assert first.dateline.agency == "AFP"
    assert first.dateline.date == date(2024, 10, 28)
    assert first.byline == "AFP Staff Writers"
    assert first.published_at is not None and first.published_at.startswith("2024-10-28")
    assert first.source == "Space Travel News"
    assert first.section == "SUPERPOWERS"
    assert first.language == "en"
    assert all(p.extractor == CONFIG.html_extractor for p in parts)


def test_seed_page_embedded_dateline(parts: list[ParsedArticle]) -> None:
    second = parts[1]
    assert second.dateline is not None
    assert (second.dateline.place, second.dateline.agency) == ("Washington", "AFP")
    assert second.dateline.date == date(2024, 10, 28)
    assert second.published_at == "2024-10-28"
    assert second.byline is None


def test_seed_page_bodies_start_and_end_where_the_stories_do(
    parts: list[ParsedArticle],
) -> None:
    first, second = parts
    assert first.paragraphs[0].startswith("NATO chief Mark Rutte on Monday decried")
    assert first.paragraphs[-1].endswith("have also been briefed on the situation, he said.")
    assert second.paragraphs[0].startswith("North Korea has sent some 10,000 troops")
    assert second.paragraphs[-1].endswith('Our allies have this strength."')
    assert len(first.paragraphs) == 14


def test_seed_page_bodies_hold_no_furniture(parts: list[ParsedArticle], page: NewsPage) -> None:
    furniture = [
        *page.related_links,
        page.subscribe,
        page.related_intro,
        page.footer[:60],
        *(t.title for t in page.teasers),
        *(t.snippet[:60] for t in page.teasers),
        *(item for _, items in page.headline_groups for item in items),
        *page.nav,
        "Related Links",
        "RELATED CONTENT",
        "Tweet",
        "cookies",
        page.title,
        page.byline,
        page.dateline,
    ]
    for part in parts:
        for paragraph in part.paragraphs:
            assert not is_boilerplate(paragraph), paragraph
            assert not re.match(r"^\s*-.*-\s*$", paragraph), f"crosshead kept: {paragraph}"
        for text in furniture:
            assert text not in part.body.split("\n\n"), text
        assert "Copyright" not in part.body
        assert "read more" not in part.body


def test_source_argument_wins_over_site_name(page: NewsPage) -> None:
    parts = parse_html(render_page(page), url=SEED_URL, config=CONFIG, source="Wire Feed")
    assert {p.source for p in parts} == {"Wire Feed"}


def test_same_page_gives_same_result(page: NewsPage) -> None:
    html = render_page(page)
    assert parse_html(html, url=SEED_URL, config=CONFIG) == parse_html(
        html, url=SEED_URL, config=CONFIG
    )


# ------------------------------------------------------------------ hand-made pages

_PARAGRAPHS = (
    "The harbour authority on Tuesday approved a plan to dredge the northern channel, "
    "officials said, ending a dispute that had lasted for more than two years.",
    "The project will cost about 40 million euros and is expected to take eighteen months, "
    "according to a statement from the port.",
    "Local fishermen had opposed the plan, arguing that it would disturb breeding grounds "
    "in the bay during the spring season.",
)


def _article_page(lead: str, *, tail: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in _PARAGRAPHS)
    return (
        "<html lang='en-GB'><head><title>Port approves dredging plan</title>"
        "<meta property='article:published_time' content='2023-03-14'></head>"
        f"<body><article><h1>Port approves dredging plan</h1>{lead}{body}{tail}"
        "</article></body></html>"
    )


def test_byline_and_dateline_blocks_leave_the_body() -> None:
    html = _article_page(
        "<p>by Jane Doe and John Smith</p><p>Rotterdam, Netherlands (Reuters) Mar 14, 2023</p>"
    )
    (part,) = parse_html(html, url="https://example.org/port", config=CONFIG)
    assert part.paragraphs == _PARAGRAPHS
    assert part.title == "Port approves dredging plan"
    assert part.byline == "Jane Doe and John Smith"
    assert part.authors == ("Jane Doe", "John Smith")
    assert part.dateline is not None and part.dateline.agency == "Reuters"
    assert part.dateline.place == "Rotterdam, Netherlands"
    assert part.published_at == "2023-03-14"
    assert part.language == "en"


def test_dateline_opening_the_first_paragraph() -> None:
    html = _article_page("").replace(
        "<p>The harbour", "<p>ROTTERDAM, Netherlands (Reuters) - The harbour", 1
    )
    (part,) = parse_html(html, url="https://example.org/port", config=CONFIG)
    assert part.dateline is not None and part.dateline.agency == "Reuters"
    assert part.paragraphs == _PARAGRAPHS


def test_story_is_cut_at_end_marker() -> None:
    tail = (
        "<p>Copyright 2023 Harbour Times. All rights reserved.</p>"
        "<p>This later paragraph belongs to the footer area and should be left out.</p>"
    )
    (part,) = parse_html(_article_page("", tail=tail), url="https://x.test/a", config=CONFIG)
    assert part.paragraphs == _PARAGRAPHS


def test_paragraphs_split_at_line_breaks_and_lists_kept() -> None:
    html = (
        "<html><body><article><h1>Budget vote</h1>"
        f"<p>{_PARAGRAPHS[0]}<br><br>{_PARAGRAPHS[1]}</p>"
        "<ul><li>First point of the plan, <b>in bold</b>, with words.</li>"
        "<li>Second point of the plan.</li></ul>"
        f"<p>{_PARAGRAPHS[2]}</p></article></body></html>"
    )
    (part,) = parse_html(html, url="https://x.test/b", config=CONFIG)
    assert part.paragraphs == (
        _PARAGRAPHS[0],
        _PARAGRAPHS[1],
        "First point of the plan, in bold, with words.",
        "Second point of the plan.",
        _PARAGRAPHS[2],
    )


def test_block_text_keeps_words_apart() -> None:
    """trafilatura's output tree -> blocks: nested blocks, soft hyphens, <lb/>, tails."""
    body = etree.fromstring(
        "<body><list><item><head>One</head><head>Two</head></item></list>"
        "<p>Soft\u00adhyphen<hi>ated</hi> word<lb/>next line</p>tail text</body>"
    )
    assert [(b.kind, b.text) for b in body_blocks(body)] == [
        ("item", "One Two"),
        ("p", "Softhyphenated word"),
        ("p", "next line"),
        ("p", "tail text"),
    ]


@pytest.mark.parametrize("html", ["", "   ", "<html><body></body></html>", "\x00\x01", "<<<>>>>"])
def test_empty_or_junk_pages_give_no_story_text(html: str) -> None:
    for part in parse_html(html, url="u", config=CONFIG):
        assert part.paragraphs
        assert all(p.strip() for p in part.paragraphs)


def test_fragment_without_document_is_parsed() -> None:
    (part,) = parse_html(f"<p>{_PARAGRAPHS[0]}</p>", url="u", config=CONFIG)
    assert part.paragraphs == (_PARAGRAPHS[0],)


def test_nothing_is_fetched_and_no_entity_is_resolved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("parse_html tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    html = (
        "<?xml version='1.0'?>"
        f"<!DOCTYPE html [<!ENTITY xxe SYSTEM 'file://{secret}'>"
        "<!ENTITY net SYSTEM 'http://198.51.100.7/x.dtd'>]>"
        "<html><head><link rel='stylesheet' href='http://198.51.100.7/s.css'>"
        "<script src='http://198.51.100.7/a.js'></script></head><body><article>"
        f"<p>&xxe; &net; {_PARAGRAPHS[0]}</p><img src='http://198.51.100.7/i.png'>"
        f"<iframe src='http://198.51.100.7/'></iframe><p>{_PARAGRAPHS[1]}</p>"
        "</article></body></html>"
    )
    parts = parse_html(html, url="http://198.51.100.7/page", config=CONFIG)
    assert all("TOP-SECRET" not in p.body for p in parts)


# ------------------------------------------------------------------ aeb-dev pages

_WORD = re.compile(r"\w+")
AEB_PAGES = 8
AEB_MIN_PAGE_F1 = 0.70
"""Lowest 4-gram F1 of one page. Measured on the first 8 English pages: 0.79-1.00."""
AEB_MIN_MEAN_F1 = 0.88
"""Mean over those pages. Measured: 0.963 (favor_precision), 0.925 (default settings)."""


def _f1_4gram(gold: str, pred: str) -> float:
    """The benchmark's per-page 4-gram F1 (multiset of word 4-grams, case kept)."""

    def shingles(text: str) -> Counter[tuple[str, ...]]:
        toks = _WORD.findall(text)
        if len(toks) < 4:
            return Counter([tuple(toks)]) if toks else Counter()
        return Counter(tuple(toks[i : i + 4]) for i in range(len(toks) - 3))

    g, p = shingles(gold), shingles(pred)
    tp = sum((g & p).values())
    if not tp:
        return 0.0
    precision, recall = tp / sum(p.values()), tp / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def _non_latin(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) < 0.5 * len(letters)


def test_aeb_dev_pages_reach_benchmark_f1(data_dir: Path) -> None:
    aeb = data_dir / "aeb-dev"
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    scores: dict[str, float] = {}
    for page_id in sorted(truth):
        gold = truth[page_id]["articleBody"] or ""
        if _non_latin(gold):  # the Russian and Japanese pages
            continue
        raw = gzip.decompress((aeb / "html" / f"{page_id}.html.gz").read_bytes())
        parts = parse_html(raw.decode("utf-8", "replace"), url=truth[page_id]["url"], config=CONFIG)
        assert parts, page_id
        assert parts[0].title, page_id
        scores[page_id] = _f1_4gram(gold, parts[0].body)
        if len(scores) == AEB_PAGES:
            break
    assert min(scores.values()) >= AEB_MIN_PAGE_F1, scores
    assert sum(scores.values()) / len(scores) >= AEB_MIN_MEAN_F1, scores


# ------------------------------------------------------------------ never raises

_TAGS = ["p", "div", "html", "body", "head", "title", "br", "article", "script", "h1", "li", "ul"]
_soup = st.lists(
    st.one_of(
        st.sampled_from(_TAGS).map(lambda t: f"<{t}>"),
        st.sampled_from(_TAGS).map(lambda t: f"</{t}>"),
        st.sampled_from(["<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&#0;", "&bogus;", "<?xml?>"]),
        st.text(max_size=40),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=st.one_of(st.text(), _soup))
def test_parse_html_never_raises(html: str) -> None:
    parts = parse_html(html, url="https://x.test/p", config=CONFIG)
    for part in parts:
        assert all(p.strip() for p in part.paragraphs)


def test_teaser_dateline_below_the_story_is_not_taken(page: NewsPage) -> None:
    """Without a dateline of its own, part 0 must not borrow a teaser's from further down."""
    parts = parse_html(render_page(replace(page, dateline="")), url=SEED_URL, config=CONFIG)
    assert parts[0].dateline is None
    assert parts[1].dateline is not None and parts[1].dateline.place == "Washington"


def test_visible_text_fallback_when_trafilatura_finds_nothing() -> None:
    """Text only in an <aside>: trafilatura keeps nothing, the plain-text parser takes over."""
    html = f"<html lang='en'><body><aside class='sidebar'>{_PARAGRAPHS[0]}</aside></body></html>"
    (part,) = parse_html(html, url="https://x.test/c", config=CONFIG)
    assert part.paragraphs == (_PARAGRAPHS[0],)
    assert part.language == "en"
