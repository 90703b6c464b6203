"""Plain-text page parser: the seed page and small hand-written pages."""

from __future__ import annotations

from datetime import date

import pytest

from streams.core.document import ParsedArticle
from streams.core.textparse import normalise_text, parse_text

BOILERPLATE = (
    "SUPERPOWERS",
    "Related Links",
    "RELATED CONTENT",
    "Subscribe",
    "Tweet",
    "Copyright",
    "read more",
    "India, China and S.Africa",
)


@pytest.fixture(scope="module")
def seed_articles(seed_text: str) -> list[ParsedArticle]:
    return parse_text(seed_text, url="https://example.com/seed.html")


def test_seed_has_two_articles(seed_articles: list[ParsedArticle]) -> None:
    assert len(seed_articles) == 2
    assert [a.part_index for a in seed_articles] == [0, 1]


def test_seed_page_story(seed_articles: list[ParsedArticle]) -> None:
    page = seed_articles[0]
    assert page.title == "NATO chief says N.Korean troop deployment signals Putin's 'desperation'"
    assert page.byline == "AFP Staff Writers"
    assert page.authors == ("AFP Staff Writers",)
    assert page.dateline is not None
    assert page.dateline.text == "Brussels, Belgium (AFP) Oct 28, 2024"
    assert page.dateline.place == "Brussels, Belgium"
    assert page.dateline.agency == "AFP"
    assert page.dateline.date == date(2024, 10, 28)
    assert page.published_at == "2024-10-28"
    assert page.source == "Space Travel News"
    assert page.section == "Superpowers"
    assert page.extractor == "plaintext.v1"
    assert page.paragraphs[0].startswith("NATO chief Mark Rutte on Monday decried")
    assert page.paragraphs[-1].endswith("have also been briefed on the situation, he said.")
    assert len(page.paragraphs) == 14


def test_seed_embedded_story(seed_articles: list[ParsedArticle]) -> None:
    wire = seed_articles[1]
    assert wire.title == "North Korea sent 10,000 troops to train in Russia, US says"
    assert wire.dateline is not None
    assert wire.dateline.text == "Washington (AFP) Oct 28, 2024"
    assert wire.dateline.place == "Washington"
    assert wire.dateline.agency == "AFP"
    assert wire.dateline.date == date(2024, 10, 28)
    assert wire.published_at == "2024-10-28"
    assert wire.part_index == 1
    assert wire.byline is None and wire.authors == ()
    assert wire.source == "Space Travel News" and wire.section == "Superpowers"
    assert wire.paragraphs[0].startswith(
        "North Korea has sent some 10,000 troops to train in Russia"
    )
    assert wire.paragraphs[-1] == '"The enemy understands strength. Our allies have this strength."'
    assert "- Growing threats -" not in wire.body
    assert "- 'Enemy understands strength' -" not in wire.body
    assert "Washington (AFP)" not in wire.body


def test_seed_bodies_have_no_boilerplate(seed_articles: list[ParsedArticle]) -> None:
    for article in seed_articles:
        for marker in BOILERPLATE:
            assert marker not in article.body, marker
        assert all(p.strip() == p and p for p in article.paragraphs)


def test_seed_teaser_is_not_an_article(seed_articles: list[ParsedArticle]) -> None:
    assert all("Kazan" not in (a.dateline.text if a.dateline else "") for a in seed_articles)
    assert all(not (a.title or "").startswith("India, China") for a in seed_articles)


def test_source_argument_wins(seed_text: str) -> None:
    articles = parse_text(seed_text, url="u", source="Space Travel News", extractor="x.v2")
    assert articles[0].source == "Space Travel News"
    assert (
        articles[0].title
        == "NATO chief says N.Korean troop deployment signals Putin's 'desperation'"
    )
    assert {a.extractor for a in articles} == {"x.v2"}


def test_seed_with_crlf_nbsp_and_zero_width(seed_text: str) -> None:
    noisy = seed_text.replace("\n", "\r\n").replace("Mark Rutte", "Mark\u00a0Rutte")
    noisy = noisy.replace("NATO chief", "NATO\u200b chief").replace("Monday", "Mon\u00adday")
    articles = parse_text(noisy, url="u")
    assert [(a.title, a.paragraphs) for a in articles] == [
        (a.title, a.paragraphs) for a in parse_text(seed_text, url="u")
    ]


def test_reuters_one_liner_dateline() -> None:
    text = (
        "Inflation eases again\n"
        "\n"
        "LONDON (Reuters) - British inflation fell to 2% in October, official data showed.\n"
        "\n"
        "Economists had expected a smaller fall.\n"
    )
    [article] = parse_text(text, url="u")
    assert article.title == "Inflation eases again"
    assert article.dateline is not None
    assert (article.dateline.place, article.dateline.agency) == ("London", "Reuters")
    assert article.published_at is None
    assert article.paragraphs == (
        "British inflation fell to 2% in October, official data showed.",
        "Economists had expected a smaller fall.",
    )


def test_only_paragraphs() -> None:
    text = "The council met on Tuesday.\n\nIt approved the budget, members said.\n"
    [article] = parse_text(text, url="u")
    assert article.title is None and article.source is None and article.dateline is None
    assert article.paragraphs == (
        "The council met on Tuesday.",
        "It approved the budget, members said.",
    )


def test_cookie_banner_lines_are_dropped() -> None:
    text = (
        "We use cookies to give you the best experience. Accept all cookies\n"
        "Privacy Policy | Terms of Use\n"
        "City opens new library\n"
        "By Jane Doe\n"
        "\n"
        "The city opened a new library on Saturday.\n"
        "Share this article\n"
        "Hundreds of residents attended the opening.\n"
        "Copyright 2024 Example News. All rights reserved.\n"
        "Unrelated footer text.\n"
    )
    [article] = parse_text(text, url="u")
    assert article.title == "City opens new library"
    assert article.byline == "Jane Doe" and article.authors == ("Jane Doe",)
    assert article.paragraphs == (
        "The city opened a new library on Saturday.",
        "Hundreds of residents attended the opening.",
    )


def test_hard_wrapped_lines_are_joined() -> None:
    text = "The minister said the plan, which was\nannounced on Monday, would go ahead.\n"
    [article] = parse_text(text, url="u")
    assert article.paragraphs == (
        "The minister said the plan, which was announced on Monday, would go ahead.",
    )


def test_title_case_title_with_period() -> None:
    text = "Mayor Wins Second Term in Landslide Vote.\n\nThe mayor won easily on Sunday.\n"
    [article] = parse_text(text, url="u")
    assert article.title == "Mayor Wins Second Term in Landslide Vote."
    assert article.paragraphs == ("The mayor won easily on Sunday.",)


@pytest.mark.parametrize(
    "text", ["", "   \n\t\n", "\u200b\u00a0", "Tweet\nSUPERPOWERS\nRelated Links"]
)
def test_nothing_left_gives_no_articles(text: str) -> None:
    assert parse_text(text, url="u") == []


def test_single_short_line_is_kept() -> None:
    [article] = parse_text("Markets closed higher", url="u")
    assert article.paragraphs == ("Markets closed higher",)


def test_normalise_text() -> None:
    assert normalise_text("a\u00a0\tb\r\nc\u200bd \ufeff") == "a b\ncd"
    assert normalise_text("e\u0301") == "\u00e9"
    assert normalise_text("x\r\ny\rz") == "x\ny\nz"


def test_title_author_dateline_layout() -> None:
    text = (
        "Port strike ends after two weeks .\n"
        "Jane Doe\n"
        "ROTTERDAM 1996-08-30\n"
        "Dock workers returned to work on Friday , the union said .\n"
        "Shipping lines welcomed the deal .\n"
    )
    [article] = parse_text(text, url="u")
    assert article.title == "Port strike ends after two weeks ."
    assert article.authors == ("Jane Doe",)
    assert article.dateline is not None and article.dateline.place == "Rotterdam"
    assert article.published_at == "1996-08-30"
    assert article.paragraphs[0].startswith("Dock workers")


def test_lone_first_sentence_before_long_lede_is_title() -> None:
    text = (
        "Senator calls for inquiry into contracts.\n"
        "\n"
        "A senior senator on Wednesday called for an inquiry into defence contracts awarded "
        "last year, saying the process had not been transparent.\n"
    )
    [article] = parse_text(text, url="u")
    assert article.title == "Senator calls for inquiry into contracts."
    assert len(article.paragraphs) == 1
