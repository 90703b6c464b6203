"""Embedded wire stories, crossheads and boilerplate classifiers."""

from __future__ import annotations

from datetime import date

import pytest

from streams.core.boilerplate import (
    classify_line,
    ends_body,
    headline_runs,
    is_banner,
    is_boilerplate,
    is_crosshead,
    looks_like_headline,
    strip_boilerplate,
)
from streams.core.segment import StoryPart, split_stories

PAGE = [
    "The minister said on Monday the plan would go ahead.",
    "- A new plan -",
    "Critics said the plan was too costly.",
    "Talks stall over budget, officials say",
    "Rome (AFP) Oct 28, 2024 - Budget talks stalled on Monday.",
    "Negotiators will meet again next week.",
    "* * *",
    '"We are not done," one of them said.',
]


def test_split_embedded_story() -> None:
    parts = split_stories(PAGE)
    assert [p.part_index for p in parts] == [0, 1]
    page, wire = parts
    assert page.title is None and page.dateline is None
    assert page.paragraphs == (PAGE[0], PAGE[2])
    assert wire.title == "Talks stall over budget, officials say"
    assert wire.dateline is not None
    assert (wire.dateline.place, wire.dateline.agency, wire.dateline.date) == (
        "Rome",
        "AFP",
        date(2024, 10, 28),
    )
    assert wire.paragraphs == (
        "Budget talks stalled on Monday.",
        "Negotiators will meet again next week.",
        '"We are not done," one of them said.',
    )


def test_headline_and_dateline_in_one_block() -> None:
    blocks = ["First story text.", "Talks stall, officials say\nRome (AFP) - Talks stalled."]
    parts = split_stories(blocks)
    assert len(parts) == 2
    assert parts[1].title == "Talks stall, officials say"
    assert parts[1].paragraphs == ("Talks stalled.",)


def test_dateline_on_own_line_then_body() -> None:
    blocks = ["Story one.", "Headline of two", "Rome (AFP) Oct 28, 2024", "Body of two."]
    parts = split_stories(blocks)
    assert parts[1].paragraphs == ("Body of two.",)
    assert parts[1].dateline is not None and parts[1].dateline.text == "Rome (AFP) Oct 28, 2024"


def test_teaser_without_text_is_not_a_story() -> None:
    parts = split_stories(["Story one.", "Headline of two", "Rome (AFP) Oct 28, 2024"])
    assert parts == [StoryPart(paragraphs=("Story one.",), part_index=0)]


def test_leading_dateline_belongs_to_page_story() -> None:
    parts = split_stories(["LONDON (Reuters) - Prices rose.", "They fell later."])
    assert len(parts) == 1
    assert parts[0].dateline is not None and parts[0].dateline.agency == "Reuters"
    assert parts[0].paragraphs == ("Prices rose.", "They fell later.")


def test_quote_or_sentence_before_dateline_is_not_a_title() -> None:
    blocks = ["Story one ends here.", "Rome (AFP) - More text."]
    assert len(split_stories(blocks)) == 1
    blocks = ['"A quote without a period', "Rome (AFP) - More text."]
    assert len(split_stories(blocks)) == 1


def test_empty_input() -> None:
    assert split_stories([]) == []
    assert split_stories(["", "  ", "- Crosshead -"]) == []


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("SUPERPOWERS", "banner"),
        ("Related Links", "related"),
        ("RELATED CONTENT", "related"),
        ("Related content:", "related"),
        ("Subscribe Free To Our Daily Newsletters", "subscribe"),
        ("Tweet", "share"),
        ("Share | Facebook | Twitter", "share"),
        ("Copyright 2024 Some Media. All rights reserved.", "copyright"),
        ("The content herein is Copyright 1995-2024 - Some Network.", "copyright"),
        ("© 2024 Example Ltd", "copyright"),
        ("We use cookies to improve your experience. Accept all cookies", "cookie"),
        ("Privacy Policy | Terms of Use", "privacy"),
        ("The Kremlin leader wants to use ... read more", "teaser"),
        ("Read the rest here.", "teaser"),
        ("Learn about rockets at Example.com", "promo"),
        ("Advertisement", "promo"),
        ("Home | World | Business", "navigation"),
        ("News › Europe › France", "navigation"),
    ],
)
def test_classify_line(line: str, category: str) -> None:
    rule = classify_line(line)
    assert rule is not None and rule.category == category


@pytest.mark.parametrize(
    "line",
    [
        "The newsletter was banned by the court.",
        "The company's privacy policy was criticised by regulators on Monday.",
        "Rutte said more than 600,000 Russian soldiers have been killed.",
        "Share prices fell sharply on Monday.",
        "NATO chief says troops are ready",
    ],
)
def test_content_is_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)


def test_end_markers() -> None:
    assert ends_body("Related Links") and ends_body("RELATED CONTENT")
    assert ends_body("Copyright 2024 Example")
    assert not ends_body("Tweet")


def test_shapes() -> None:
    assert is_banner("WORLD NEWS") and not is_banner("NATO chief says")
    assert is_crosshead("- Growing threats -") and is_crosshead("- 'Enemy understands' -")
    assert not is_crosshead("- a bullet item")
    assert looks_like_headline("North Korea sent 10,000 troops to train in Russia, US says")
    assert not looks_like_headline("A sentence ends with a period.")
    assert not looks_like_headline('"The enemy understands strength"')


def test_headline_runs_and_strip() -> None:
    blocks = [
        "Body paragraph one.",
        "Mars rover finds rocks",
        "Probe lifts off for Jupiter",
        "Crew selected for mission",
        "Body paragraph two.",
    ]
    assert headline_runs(blocks) == [(1, 4)]
    assert strip_boilerplate([*blocks, "Tweet", "Related Links", "More text."]) == [
        "Body paragraph one.",
        "Body paragraph two.",
    ]
