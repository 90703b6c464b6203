"""Article metadata from news-writing conventions: datelines, bylines, publication dates.

One function per field, each with a fixed order of sources, shared by the plain-text
and the HTML parser so that a field is always derived the same way:

- `parse_dateline` reads a wire dateline at the start of a line or paragraph.
- `parse_byline` reads a "By Jane Doe and John Smith" line.
- `published_at_from` picks the publication date: page metadata first (it usually has
  a time of day), then the story's dateline date.

Everything here is pure and never raises on odd input: a line that is not a dateline
or byline gives None.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime

from streams.models import Dateline

# --------------------------------------------------------------------------- tables

AGENCIES: dict[str, str] = {
    key.casefold(): key
    for key in (
        "AFP",
        "AP",
        "Reuters",
        "UPI",
        "IANS",
        "Xinhua",
        "dpa",
        "ANI",
        "PTI",
        "UNI",
        "Bloomberg",
        "AAP",
        "EFE",
        "ANSA",
        "Kyodo",
        "Jiji",
        "Yonhap",
        "TASS",
        "RIA Novosti",
        "Interfax",
        "Sputnik",
        "KCNA",
        "Bernama",
        "Antara",
        "WAM",
        "SPA",
        "KUNA",
        "IRNA",
        "Anadolu",
        "PAP",
        "CTK",
        "APA",
        "CNA",
        "CNN",
        "BBC",
        "Agence France-Presse",
        "Associated Press",
        "Canadian Press",
        "CP",
        "Press Association",
        "PA",
        "SNS",
        "BSS",
        "NNA",
        "Belga",
        "Lusa",
        "Ukrinform",
        "MENA",
        "Prensa Latina",
        "Notimex",
        "HT",
        "AA",
    )
}
"""News agencies a dateline may credit, keyed case-insensitively to their usual spelling."""

MONTHS: dict[str, int] = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}

BYLINE_ROLES: frozenset[str] = frozenset(
    {
        "staff writer",
        "staff reporter",
        "staff",
        "correspondent",
        "reporter",
        "editor",
        "contributor",
        "senior writer",
        "special correspondent",
        "foreign correspondent",
        "columnist",
        "and agencies",
        "agencies",
    }
)
"""Byline parts that name a role, not a person (dropped from authors if a name remains)."""

# Lower-case particles of place names, kept lower-case when an ALL-CAPS place is recased.
_PLACE_PARTICLES = frozenset(
    {"de", "del", "la", "le", "es", "au", "al", "el", "da", "do", "of", "on", "upon", "am", "an"}
    | {"der", "den", "di", "du", "des", "y", "sur", "en", "i", "dos", "das", "bin", "ibn"}
)

# --------------------------------------------------------------------------- patterns

_MONTH_RE = r"(?i:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"  # noqa: E501
_DATE_RE = (
    rf"(?:{_MONTH_RE}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}\s+{_MONTH_RE}\.?,?(?:\s+\d{{4}})?"
    r"|\d{4}-\d{2}-\d{2})"
)
_SEP_RE = r"(?:--|[-–—:])"
# After "(Agency)" some wires print no dash at all ("NEW DELHI, Oct 28 (IANS) The ...").
_REST_RE = rf"(?:[ \t]*{_SEP_RE}[ \t]*(?P<rest>.*)|[ \t]+(?P<bare>[A-Z\"“‘'].*))?"
_PLACE_RE = r"[^\W\d_][^()\d\n]{0,70}?"
_AGENCY_RE = r"[^\W\d_][^()\n]{0,40}"

# "Brussels, Belgium (AFP) Oct 28, 2024 - text" / "LONDON (Reuters) - text"
_AGENCY_FIRST = re.compile(
    rf"^(?P<head>(?P<place>{_PLACE_RE})\s*\((?P<agency>{_AGENCY_RE})\)"
    rf"(?:[ \t,]+(?P<date>{_DATE_RE}))?)"
    rf"{_REST_RE}[ \t]*$",
    re.DOTALL,
)
# "Paris, Oct 28 (AFP) - text" / "WASHINGTON, Oct. 28, 2024 (UPI) -- text"
_DATE_FIRST = re.compile(
    rf"^(?P<head>(?P<place>{_PLACE_RE}),\s*(?P<date>{_DATE_RE})\s*\((?P<agency>{_AGENCY_RE})\))"
    rf"{_REST_RE}[ \t]*$",
    re.DOTALL,
)
# "WASHINGTON — text" / "KYIV, Ukraine -- text": no agency, so the place must be ALL CAPS
# and the separator a dash that sentences rarely open with.
_CAPS_ONLY = re.compile(
    r"^(?P<head>(?P<place>[A-Z][A-Z.'’\- ]{1,40}[A-Z.](?:,\s*[A-Z][\w.'’\- ]{1,30})?))"
    r"[ \t]*(?:—|–|--)[ \t]*(?P<rest>\S.*)$",
    re.DOTALL,
)
# "LONDON 1996-08-30": an ALL-CAPS place and an ISO date alone on a line (Reuters archives).
_CAPS_ISO_DATE = re.compile(
    r"^(?P<head>(?P<place>[A-Z][A-Z.'’\- ]{1,40}[A-Z.](?:\s*,\s*[A-Z][\w.'’\- ]{0,30})?)"
    r"\s+(?P<date>\d{4}-\d{2}-\d{2}))\s*$"
)
_DATELINE_PATTERNS: tuple[re.Pattern[str], ...] = (
    _AGENCY_FIRST,
    _DATE_FIRST,
    _CAPS_ONLY,
    _CAPS_ISO_DATE,
)

_MONTH_DAY_YEAR = re.compile(
    rf"^(?P<mon>{_MONTH_RE})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?",
    re.IGNORECASE,
)
_DAY_MONTH_YEAR = re.compile(
    rf"^(?P<day>\d{{1,2}})\s+(?P<mon>{_MONTH_RE})\.?,?(?:\s+(?P<year>\d{{4}}))?", re.IGNORECASE
)
_ISO_DATE = re.compile(r"^(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})")
_SLASH_DATE = re.compile(r"^(?P<year>\d{4})/(?P<mon>\d{1,2})/(?P<day>\d{1,2})$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_WEEKDAY_PREFIX = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)

_BYLINE = re.compile(
    r"^(?:(?:written|posted|story|report|words|reporting)\s+)?by[:\s]\s*(?P<names>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_BYLINE_TAIL = re.compile(
    r"\s*(?:\||·|•|\s-\s|\s–\s|\s—\s|\bon\s+(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|\bpublished\b|\bupdated\b|\d{1,2}:\d{2}|\d{4}).*$",
    re.IGNORECASE | re.DOTALL,
)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b)\s*", re.IGNORECASE)
_NAME_START = re.compile(r"^[^\W\d_]")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*$")
_PLACE_BAD_END = re.compile(r"(?:[!?]|[a-z]{3}\.)\s*$")


# --------------------------------------------------------------------------- dates


def parse_date_text(text: str, *, year: int | None = None) -> date | None:
    """Read a printed calendar date ("Oct 28, 2024", "28 October 2024", "2024-10-28").

    Args:
        text (str): the date as printed, possibly followed by other text.
        year (int | None): year to assume when the text has none. Defaults to None
            (then a date without a year gives None: we never guess one).

    Returns:
        date | None: the date, or None when it is not a valid date.
    """
    text = _WEEKDAY_PREFIX.sub("", text.strip())
    for pattern in (_ISO_DATE, _SLASH_DATE, _MONTH_DAY_YEAR, _DAY_MONTH_YEAR):
        match = pattern.match(text)
        if match is None:
            continue
        mon_text = match.group("mon")
        month = int(mon_text) if mon_text.isdigit() else MONTHS.get(mon_text.casefold().rstrip("."))
        year_text = match.group("year")
        full_year = int(year_text) if year_text else year
        if month is None or full_year is None:
            return None
        try:
            return date(full_year, month, int(match.group("day")))
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------- datelines


def canonical_agency(text: str) -> str | None:
    """The usual spelling of a news agency credit ("reuters" -> "Reuters"), None if unknown.

    Joint credits ("AFP/Reuters", "AP and Reuters") are accepted when every part is known.
    """
    parts = [p for p in re.split(r"\s*(?:/|,|&|\band\b|-)\s*", text.strip()) if p]
    whole = AGENCIES.get(text.strip().casefold())
    if whole is not None:
        return whole
    if len(parts) < 2:
        return None
    known = [AGENCIES.get(p.casefold()) for p in parts]
    if any(k is None for k in known):
        return None
    return "/".join(k for k in known if k is not None)


def _recase_place(place: str) -> str:
    """Title-case the ALL-CAPS words of a place ("KYIV, Ukraine" -> "Kyiv, Ukraine").

    Wire styles print the city in capitals; consumers want one spelling per place.
    """

    def word(w: str) -> str:
        if not (w.isupper() and len(w) > 1) or "." in w.rstrip("."):
            return w  # mixed case already, or an initialism such as "D.C."
        pieces = re.split(r"([-'’])", w)
        out: list[str] = []
        for i, piece in enumerate(pieces):
            low = piece.lower()
            out.append(low if (i > 0 and low in _PLACE_PARTICLES) else piece.capitalize())
        return "".join(out)

    return " ".join(word(w) for w in place.split(" "))


def _valid_place(place: str) -> bool:
    """A place is a few capitalised words, optionally "City, Region" - not a clause."""
    parts = [p.strip() for p in place.split(",")]
    if not 1 <= len(parts) <= 3 or any(not p for p in parts):
        return False
    if len(place.split()) > 7:
        return False
    words = place.replace(",", " ").split()
    return all(w[0].isupper() or w.casefold() in _PLACE_PARTICLES for w in words) and not (
        _PLACE_BAD_END.search(place)
    )


def parse_dateline(line: str, *, year: int | None = None) -> tuple[Dateline, str] | None:
    """Recognise a wire dateline at the start of a line or paragraph.

    Accepted forms (agency names from `AGENCIES`; separators "-", "--", "–", "—", ":"):
    "Brussels, Belgium (AFP) Oct 28, 2024", "Washington (AFP) Oct 28, 2024 - text",
    "LONDON (Reuters) - text", "Paris, Oct 28 (AFP) - text", and, without an agency,
    only an ALL-CAPS place before a long dash ("WASHINGTON — text") or alone with an ISO
    date ("LONDON 1996-08-30").

    Args:
        line (str): the line (or paragraph) to read.
        year (int | None): year for a dateline date printed without one. Defaults to None.

    Returns:
        tuple[Dateline, str] | None: the dateline and the text after the separator ("" when
        the line is only the dateline), or None when the line does not start with one.
    """
    if not line or len(line) < 4:
        return None
    text = line.strip()
    for pattern in _DATELINE_PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        groups = match.groupdict()
        place = groups["place"].strip().rstrip(",").strip()
        if not _valid_place(place):
            continue
        agency: str | None = None
        if groups.get("agency") is not None:
            agency = canonical_agency(groups["agency"])
            if agency is None:
                continue
        date_text = groups.get("date")
        rest = (groups.get("rest") or groups.get("bare") or "").strip()
        dateline = Dateline(
            text=match.group("head").strip(),
            place=_recase_place(place),
            agency=agency,
            date=parse_date_text(date_text, year=year) if date_text else None,
        )
        return dateline, rest
    return None


# --------------------------------------------------------------------------- bylines


def parse_byline(line: str) -> tuple[str, tuple[str, ...]] | None:
    """Read a byline line: "by AFP Staff Writers", "By Jane Doe and John Smith".

    Trailing dates, times and "| Site" parts are cut off; parts that only name a role
    ("Staff Writer") or an agency are dropped from the authors when a name remains.

    Args:
        line (str): the candidate line.

    Returns:
        tuple[str, tuple[str, ...]] | None: (byline as printed after "by", authors), or
        None when the line is not a byline.
    """
    text = " ".join(line.split())
    if not text or len(text) > 160:
        return None
    match = _BYLINE.match(text)
    if match is None:
        return None
    names = _BYLINE_TAIL.sub("", match.group("names")).strip(" ,;:.-")
    if not names or not _NAME_START.match(names) or not names[0].isupper():
        return None
    n_words = len(names.split())
    if n_words > 12 or (n_words > 6 and _SENTENCE_END.search(match.group("names").strip())):
        return None
    parts = [p.strip(" .") for p in _AUTHOR_SPLIT.split(names) if p.strip(" .")]
    if not parts or any(not p[0].isupper() for p in parts if p.casefold() not in BYLINE_ROLES):
        return None
    people = [p for p in parts if p.casefold() not in BYLINE_ROLES and canonical_agency(p) is None]
    authors = tuple(people) if people else tuple(parts[:1])
    return names, authors


# --------------------------------------------------------------------------- published_at


def published_at_from_dateline(dateline: Dateline | None) -> str | None:
    """ISO 8601 date ("2024-10-28") of a dateline, None when it has no date."""
    if dateline is None or dateline.date is None:
        return None
    return dateline.date.isoformat()


def published_at_from_meta(value: str | None) -> str | None:
    """Normalise a metadata date string (meta tags, JSON-LD, HTTP headers) to ISO 8601.

    Date-times keep their time and offset ("2024-10-28T09:30:00+00:00"); plain dates
    give "YYYY-MM-DD". Accepts ISO 8601 (with "Z"), RFC 2822 ("Mon, 28 Oct 2024 09:30:00
    GMT"), "2024/10/28" and written dates ("October 28, 2024").

    Args:
        value (str | None): the raw string.

    Returns:
        str | None: the ISO 8601 string, or None when the value is not a date.
    """
    if not value:
        return None
    text = value.strip()
    if not text or len(text) > 80:
        return None
    if _ISO_DATETIME.match(text):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
        except ValueError:
            pass
    if re.match(r"^[A-Za-z]{3},\s+\d", text):
        try:
            return parsedate_to_datetime(text).isoformat()
        except (TypeError, ValueError, IndexError):
            pass
    parsed = parse_date_text(text)
    return parsed.isoformat() if parsed is not None else None


def published_at_from(*, meta: str | None = None, dateline: Dateline | None = None) -> str | None:
    """The article's publication date, by fixed precedence: page metadata, then dateline.

    Metadata wins because it usually carries a time of day; a story embedded in a page
    should be given only its own dateline (its page's metadata dates the page).

    Args:
        meta (str | None): a raw metadata date string. Defaults to None.
        dateline (Dateline | None): the story's dateline. Defaults to None.

    Returns:
        str | None: ISO 8601 date or date-time, or None when neither source has one.
    """
    return published_at_from_meta(meta) or published_at_from_dateline(dateline)
