"""parse_html post-cleaning on hand-made pages: header, teaser links, captions, furniture."""

from __future__ import annotations

import pytest

from streams.core.boilerplate import classify_line
from streams.core.config import CoreConfig
from streams.core.htmlextract import Block, link_texts, load_tree
from streams.core.htmlparse import drop_link_blocks, parse_html

CONFIG = CoreConfig()
URL = "https://example.org/news/bridge"
TITLE = "City council backs new footbridge over the river"

_STORY = (
    "The city council on Thursday voted to build a footbridge across the river, "
    "ending a debate that had split the neighbourhood for most of the year.",
    "The bridge will link the old market with the rail station and is expected to "
    "open to walkers and cyclists in the autumn of next year, the mayor said.",
    "Opponents had argued that the money would be better spent on repairing the "
    "existing road bridge, which has been closed to lorries since the spring.",
)


def _page(before: str = "", after: str = "", title: str = TITLE) -> str:
    story = "".join(f"<p>{p}</p>" for p in _STORY)
    return (
        f"<html lang='en'><head><title>{title} | Riverside Gazette</title></head><body>"
        f"<article>{before}{story}{after}</article></body></html>"
    )


def _body(html: str) -> tuple[str, ...]:
    (part,) = parse_html(html, url=URL, config=CONFIG)
    return part.paragraphs


def test_kicker_headline_and_dek_leave_the_body() -> None:
    header = (
        "<h3>Local politics</h3>"
        "<h1>Council backs new footbridge over the river</h1>"  # shortened title
        "<h2>Walkers and cyclists will cross from the market to the station by next year.</h2>"
    )
    assert _body(_page(before=header)) == _STORY


def test_subhead_after_the_lead_stays() -> None:
    middle = "<h2>Years of debate</h2>"
    html = _page(before=f"<h1>{TITLE}</h1>").replace("<p>Opponents", f"{middle}<p>Opponents", 1)
    assert _body(html) == (_STORY[0], _STORY[1], "Years of debate", _STORY[2])


def test_teaser_list_of_linked_headlines_is_dropped() -> None:
    items = "".join(
        f"<li><h3><a href='/news/{n}'>{head}</a></h3><p>{dek}</p></li>"
        for n, (head, dek) in enumerate(
            [
                ("Ferry timetable changes this winter", "Fewer crossings on Sundays"),
                ("School roof repairs run over budget", "The work is now due in March"),
                ("Farmers market moves to the square", "Stalls open earlier on Saturdays"),
            ]
        )
    )
    assert _body(_page(before=f"<h1>{TITLE}</h1>", after=f"<ul>{items}</ul>")) == _STORY


def test_lone_linked_headline_is_dropped_but_linked_sentence_kept() -> None:
    teaser = "<p><a href='/news/ferry'><strong>FERRY TIMETABLE CHANGES THIS WINTER</strong></a></p>"
    sentence = (
        "<p><a href='/report'>The full report on the footbridge was published by the "
        "council this week.</a></p>"
    )
    html = _page(before=f"<h1>{TITLE}</h1>").replace("<p>Opponents", f"{teaser}<p>Opponents", 1)
    html = html.replace("</article>", f"{sentence}</article>")
    assert _body(html) == (
        *_STORY,
        "The full report on the footbridge was published by the council this week.",
    )


def test_image_caption_repeating_the_alt_text_is_dropped() -> None:
    caption = "An artist's impression of the planned footbridge"
    figure = (
        f"<div><img src='b.jpg' alt=\"{caption}\"><br><span class='small'>{caption}</span></div>"
    )
    html = _page(before=f"<h1>{TITLE}</h1>").replace("<p>The bridge", f"{figure}<p>The bridge", 1)
    assert _body(html) == _STORY


def test_drop_link_blocks_keeps_quotes_and_short_lines() -> None:
    tree = load_tree(
        "<html><body><a href='/a'>A linked line that is a quote from a post</a>"
        "<a href='/b'>Short link</a></body></html>"
    )
    blocks = [
        Block("quote", "A linked line that is a quote from a post"),
        Block("item", "Short link"),
        Block("p", "A linked line that is a quote from a post"),
    ]
    assert drop_link_blocks(blocks, link_texts(tree)) == blocks[:2]


@pytest.mark.parametrize(
    "line",
    [
        "Thanks for signing up!",
        "Keep an eye on your inbox for the next edition.",
        "There was an error processing your subscription.",
        "An error has occurred, please try again later.",
        "Order Reprints",
        "Print Article",
        "This copy is for your personal, non-commercial use only.",
        "Write to Jane Doe at jane.doe@example.org",
        "SEE MORE: Ferry timetable changes this winter",
        "Related: School roof repairs run over budget",
        "The new footbridge at dusk, photo © Jane Doe, 2024",
        "Subscribe to our YouTube channel for the latest videos!",
        "If you enjoyed this article, become a member today.",
        "Follow our full coverage of the election at https://example.org/election",
        "Jane Doe contributed reporting from the harbour.",
        "Our correspondent in the capital contributed to this report.",
    ],
)
def test_new_furniture_lines(line: str) -> None:
    assert classify_line(line) is not None


@pytest.mark.parametrize(
    "line",
    [
        "Thank you for coming, she told the crowd, before leaving the stage.",
        "Write to the council before the end of the month, residents were told.",
        "Following the vote, the mayor thanked the residents who had campaigned for it.",
        "See the map below for the route of the new bridge.",
        "Residents contributed money to the campaign for the footbridge.",
    ],
)
def test_story_lines_are_not_furniture(line: str) -> None:
    assert classify_line(line) is None
