"""Datelines, bylines and publication dates from news-writing conventions."""

from __future__ import annotations

from datetime import date

import pytest

from streams.core.metadata import (
    canonical_agency,
    parse_byline,
    parse_date_text,
    parse_dateline,
    published_at_from,
    published_at_from_dateline,
    published_at_from_meta,
)
from streams.models import Dateline


@pytest.mark.parametrize(
    ("line", "text", "place", "agency", "day", "rest"),
    [
        (
            "Brussels, Belgium (AFP) Oct 28, 2024",
            "Brussels, Belgium (AFP) Oct 28, 2024",
            "Brussels, Belgium",
            "AFP",
            date(2024, 10, 28),
            "",
        ),
        (
            "Washington (AFP) Oct 28, 2024 - North Korea has sent troops.",
            "Washington (AFP) Oct 28, 2024",
            "Washington",
            "AFP",
            date(2024, 10, 28),
            "North Korea has sent troops.",
        ),
        (
            "LONDON (Reuters) - Prices rose.",
            "LONDON (Reuters)",
            "London",
            "Reuters",
            None,
            "Prices rose.",
        ),
        (
            "KYIV, Ukraine (AP) — Drones hit.",
            "KYIV, Ukraine (AP)",
            "Kyiv, Ukraine",
            "AP",
            None,
            "Drones hit.",
        ),
        (
            "Paris, Oct 28 (AFP) - France said no.",
            "Paris, Oct 28 (AFP)",
            "Paris",
            "AFP",
            None,
            "France said no.",
        ),
        (
            "WASHINGTON, Oct. 28, 2024 (UPI) -- The Senate met.",
            "WASHINGTON, Oct. 28, 2024 (UPI)",
            "Washington",
            "UPI",
            date(2024, 10, 28),
            "The Senate met.",
        ),
        (
            "NEW DELHI, Oct 28 (IANS) The minister spoke.",
            "NEW DELHI, Oct 28 (IANS)",
            "New Delhi",
            "IANS",
            None,
            "The minister spoke.",
        ),
        (
            "BEIJING, Oct. 28 (Xinhua) -- China said.",
            "BEIJING, Oct. 28 (Xinhua)",
            "Beijing",
            "Xinhua",
            None,
            "China said.",
        ),
        ("Berlin (dpa) - Die Zeit.", "Berlin (dpa)", "Berlin", "dpa", None, "Die Zeit."),
        (
            "PORT-AU-PRINCE, Haiti (AP) — Gangs.",
            "PORT-AU-PRINCE, Haiti (AP)",
            "Port-au-Prince, Haiti",
            "AP",
            None,
            "Gangs.",
        ),
        (
            "WASHINGTON — The Senate voted.",
            "WASHINGTON",
            "Washington",
            None,
            None,
            "The Senate voted.",
        ),
        ("LONDON 1996-08-30", "LONDON 1996-08-30", "London", None, date(1996, 8, 30), ""),
    ],
)
def test_parse_dateline_variants(
    line: str, text: str, place: str, agency: str | None, day: date | None, rest: str
) -> None:
    parsed = parse_dateline(line)
    assert parsed is not None
    dateline, after = parsed
    assert dateline == Dateline(text=text, place=place, agency=agency, date=day)
    assert after == rest


@pytest.mark.parametrize(
    "line",
    [
        "NATO chief says N.Korean troop deployment signals Putin's 'desperation'",
        "The president (Joe Biden) - said nothing.",
        "He said (AFP) - nothing",
        "Germany (DE) - a country",
        "Berlin (AFP) the lower-case start is not a dateline",
        "NATO - the alliance met.",
        "",
        "(AFP)",
    ],
)
def test_parse_dateline_rejects_prose(line: str) -> None:
    assert parse_dateline(line) is None


def test_dateline_year_hint() -> None:
    parsed = parse_dateline("Paris, Oct 28 (AFP) - Text.", year=2024)
    assert parsed is not None and parsed[0].date == date(2024, 10, 28)


def test_canonical_agency() -> None:
    assert canonical_agency("reuters") == "Reuters"
    assert canonical_agency("AFP/Reuters") == "AFP/Reuters"
    assert canonical_agency("Joe Biden") is None


@pytest.mark.parametrize(
    ("line", "byline", "authors"),
    [
        ("by AFP Staff Writers", "AFP Staff Writers", ("AFP Staff Writers",)),
        ("By Jane Doe and John Smith", "Jane Doe and John Smith", ("Jane Doe", "John Smith")),
        ("By Jane Doe, Reuters", "Jane Doe, Reuters", ("Jane Doe",)),
        ("By Jane Doe, Staff Writer", "Jane Doe, Staff Writer", ("Jane Doe",)),
        ("BY JANE DOE | Oct 28, 2024", "JANE DOE", ("JANE DOE",)),
        ("Written by Ann Lee; Bo Chan", "Ann Lee; Bo Chan", ("Ann Lee", "Bo Chan")),
    ],
)
def test_parse_byline(line: str, byline: str, authors: tuple[str, ...]) -> None:
    assert parse_byline(line) == (byline, authors)


@pytest.mark.parametrize(
    "line", ["by the way, this is prose", "Bystanders watched.", "", "by 2025 it will be over"]
)
def test_parse_byline_rejects(line: str) -> None:
    assert parse_byline(line) is None


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2024-10-28T09:30:00Z", "2024-10-28T09:30:00+00:00"),
        ("2024-10-28T09:30:00+02:00", "2024-10-28T09:30:00+02:00"),
        ("Mon, 28 Oct 2024 09:30:00 GMT", "2024-10-28T09:30:00+00:00"),
        ("2024-10-28", "2024-10-28"),
        ("October 28, 2024", "2024-10-28"),
        ("28 Oct 2024", "2024-10-28"),
        ("2024/10/28", "2024-10-28"),
        ("not a date", None),
        ("2024-13-45", None),
        (None, None),
    ],
)
def test_published_at_from_meta(raw: str | None, iso: str | None) -> None:
    assert published_at_from_meta(raw) == iso


def test_published_at_precedence() -> None:
    dl = Dateline(text="X (AFP) Oct 27, 2024", place="X", agency="AFP", date=date(2024, 10, 27))
    assert published_at_from_dateline(dl) == "2024-10-27"
    assert published_at_from(dateline=dl) == "2024-10-27"
    assert (
        published_at_from(meta="2024-10-28T10:00:00Z", dateline=dl) == "2024-10-28T10:00:00+00:00"
    )
    assert published_at_from(meta="garbage", dateline=dl) == "2024-10-27"
    assert published_at_from() is None


def test_parse_date_text() -> None:
    assert parse_date_text("Sept. 5, 2024") == date(2024, 9, 5)
    assert parse_date_text("Oct 28") is None
    assert parse_date_text("Feb 30, 2024") is None
