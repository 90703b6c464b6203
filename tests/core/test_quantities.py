"""Quantities: every number form news copy uses, and the dates/years that are not numbers."""

from __future__ import annotations

import pytest

from streams.core.quantities import extract_quantities


def _one(text: str) -> tuple[float, str | None, str | None, str]:
    found = extract_quantities(text)
    assert len(found) == 1, found
    q = found[0]
    return q.value, q.unit, q.approx, q.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("more than 600,000 soldiers", (600000.0, None, "more than", "more than 600,000")),
        ("some 10,000 troops", (10000.0, None, "some", "some 10,000")),
        ("3,000 soldiers", (3000.0, None, None, "3,000")),
        ("as many as 12,000 soldiers", (12000.0, None, "as many as", "as many as 12,000")),
        ("around 3,000 soldiers", (3000.0, None, "around", "around 3,000")),
        (
            "advanced 478 square kilometers into",
            (478.0, "square kilometers", None, "478 square kilometers"),
        ),
        (
            "several 478 square kilometres",
            (478.0, "square kilometers", None, "478 square kilometres"),
        ),
        (
            "459 square-kilometer advances",
            (459.0, "square kilometers", None, "459 square-kilometer"),
        ),
        ("(184 square miles)", (184.0, "square miles", None, "184 square miles")),
        ("a $1.2 billion deal", (1.2e9, "USD", None, "$1.2 billion")),
        ("€3bn in aid", (3e9, "EUR", None, "€3bn")),
        ("£5m fine", (5e6, "GBP", None, "£5m")),
        ("over 3.5 million euros", (3.5e6, "EUR", "over", "over 3.5 million euros")),
        ("up 5 percent", (5.0, "percent", None, "5 percent")),
        ("up 5% on the year", (5.0, "percent", None, "5%")),
        ("2.5 per cent growth", (2.5, "percent", None, "2.5 per cent")),
        ("at least 7.5 tonnes", (7.5, "tonnes", "at least", "at least 7.5 tonnes")),
        ("nearly 40 km away", (40.0, "kilometers", "nearly", "nearly 40 km")),
        ("almost 90 people", (90.0, None, "almost", "almost 90")),
        ("up to 200 drones", (200.0, None, "up to", "up to 200")),
        ("about 10m people", (1e7, None, "about", "about 10m")),
    ],
)
def test_number_forms(text: str, expected: tuple[float, str | None, str | None, str]) -> None:
    assert _one(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "since the conflict started in 2022",
        "Washington (AFP) Oct 28, 2024",
        "on 28 October",
        "at 10:30 am",
        "F-16 jets and Covid-19",
        "the 12th round",
        "thousands of troops",
    ],
)
def test_dates_years_codes_and_words_are_not_quantities(text: str) -> None:
    assert extract_quantities(text) == ()


def test_several_numbers_keep_text_order() -> None:
    found = extract_quantities("477 and 459 square-kilometer advances, up from 2022")
    assert [(q.value, q.unit) for q in found] == [(477.0, None), (459.0, "square kilometers")]
