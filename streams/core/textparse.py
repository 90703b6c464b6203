"""Plain-text page parser: scraped page text -> ParsedArticle per story.

A scraped news page reads top to bottom as a header (site name, section banner, the
headline - often printed twice -, a byline, a dateline), the body paragraphs, then
furniture (related links, newsletter prompts, teaser lists, a copyright footer). The
parser finds the header by position and shape, cuts the body at the first end-of-story
marker (`boilerplate.ends_body`), drops furniture lines and hands the rest to
`segment.split_stories`, which separates wire stories embedded below the page story.

Decisions:
- Each non-blank line is a block; a line is joined to the next only when it is
  visibly hard-wrapped (no final punctuation and the next line starts in lower case).
- An ALL-CAPS section banner is title-cased ("SUPERPOWERS" -> "Superpowers"); any
  other section is kept as printed.
- Text without a header is all body; its first line is the title only when it looks
  like a headline and prose follows.
- Never raises: odd input gives fewer or no articles.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from streams.core.boilerplate import (
    classify_line,
    is_banner,
    looks_like_headline,
    strip_boilerplate,
)
from streams.core.document import ParsedArticle
from streams.core.metadata import parse_byline, parse_dateline, published_at_from
from streams.core.segment import StoryPart, split_stories
from streams.models import Dateline

MAX_HEADER_LINES = 8
"""The header (site, section, title, byline, dateline) never spans more lines."""
MAX_TITLE_WORDS = 20
TITLE_CASE_SHARE = 0.7
"""A line is in Title Case when this share of its longer words is capitalised."""
TITLE_LEDE_RATIO = 1.5
"""A lone first sentence is a title when the next paragraph has this many times its words."""
MAX_NAME_WORDS = 4

_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_OPEN_END = re.compile(r"[^.!?:;\"'”’)\]]$")
_LOWER_START = re.compile(r"^[a-z]")
_FIRST_LINE_ALONE = re.compile(r"^\n*[^\n]+\n\n")
_INNER_SENTENCE_BREAK = re.compile(r"[a-z]{2}[.!?][\"'”’]?\s+[A-Z\"“‘]")


@dataclass(frozen=True)
class _Header:
    """What the page header told us; `body_start` is the index of the first body line."""

    body_start: int = 0
    source: str | None = None
    section: str | None = None
    title: str | None = None
    byline: str | None = None
    authors: tuple[str, ...] = ()
    dateline: Dateline | None = None


def normalise_text(text: str) -> str:
    """NFC, "\\n" line breaks, no zero-width or control characters, single spaces per line."""
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _ZERO_WIDTH.sub("", text)
    text = _CONTROL.sub("", text.replace("\t", " "))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def _logical_lines(text: str) -> list[str]:
    """Non-blank lines, hard-wrapped continuations joined to the line they continue.

    Continuations are collected and joined once, and only the last one is looked at,
    so thousands of wrapped lines cost linear time (re-searching the joined line was
    quadratic: 2.8 s for 8,000 short lines).
    """
    out: list[list[str]] = []
    can_join = False
    for line in text.split("\n"):
        if not line:
            can_join = False
            continue
        if can_join and out and _OPEN_END.search(out[-1][-1]) and _LOWER_START.match(line):
            out[-1].append(line)
        else:
            out.append([line])
        can_join = True
    return [" ".join(parts) for parts in out]


def _is_prose(line: str) -> bool:
    """A body line: a sentence or a long line, not a header item."""
    return not (
        looks_like_headline(line)
        or is_banner(line)
        or parse_byline(line) is not None
        or classify_line(line) is not None
    )


def _is_title_case(words: Sequence[str]) -> bool:
    long_words = [w for w in words if len(w) > 3 and w[0].isalpha()]
    capped = [w for w in long_words if w[0].isupper()]
    return bool(long_words) and len(capped) >= TITLE_CASE_SHARE * len(long_words)


def _first_line_is_title(lines: Sequence[str], first_alone: bool) -> bool:
    """Whether a sentence-like first line is still the title.

    It is when it is short and either written in Title Case, or followed by a dateline,
    or printed alone (a blank line after it) and followed by a paragraph
    `TITLE_LEDE_RATIO` times as long.
    """
    if len(lines) < 2 or parse_dateline(lines[0]) is not None:
        return False
    words = lines[0].split()
    if not 2 <= len(words) <= MAX_TITLE_WORDS:
        return False
    if _is_title_case(words) or _dateline_within(lines, 1, 3):
        return True
    if not first_alone:
        return False
    one_sentence = _INNER_SENTENCE_BREAK.search(lines[0]) is None
    return one_sentence and len(lines[1].split()) >= TITLE_LEDE_RATIO * len(words)


def _dateline_within(lines: Sequence[str], start: int, stop: int) -> bool:
    """Whether a dateline line follows within lines[start:stop], only header lines between."""
    for line in lines[start:stop]:
        if parse_dateline(line) is not None:
            return True
        if _is_prose(line):
            return False
    return False


def _name_line(line: str) -> bool:
    """A bare author line: two to four capitalised words ("Jane Doe")."""
    words = line.split()
    return 2 <= len(words) <= MAX_NAME_WORDS and all(w[:1].isupper() for w in words)


def _section(banner: str) -> str:
    """Title-case an ALL-CAPS banner; keep any other spelling."""
    return banner.title() if banner.isupper() else banner


def _parse_header(lines: Sequence[str], source: str | None, first_alone: bool) -> _Header:
    """Read the header lines before the first prose line (see module doc)."""
    lead_title: str | None = None
    if lines and _is_prose(lines[0]) and _first_line_is_title(lines, first_alone):
        lead_title = lines[0]
    start = end = 1 if lead_title is not None else 0
    while end < len(lines) and end < MAX_HEADER_LINES:
        line = lines[end]
        dated = parse_dateline(line)
        if dated is not None and dated[1]:
            break
        if dated is None and _is_prose(line):
            break
        end += 1
    if end >= MAX_HEADER_LINES and end < len(lines):
        return _Header()
    section: str | None = None
    byline: tuple[str, tuple[str, ...]] | None = None
    dateline: Dateline | None = None
    candidates: list[str] = []
    for line in lines[start:end]:
        dated = parse_dateline(line)
        by = parse_byline(line)
        if dated is not None:
            dateline = dateline or dated[0]
        elif by is not None:
            byline = byline or by
        elif is_banner(line):
            section = section or _section(line)
        elif classify_line(line) is None:
            candidates.append(line)
    if source is not None:
        candidates = [c for c in candidates if c.casefold() != source.casefold()]
    site, title = _site_and_title(candidates)
    if lead_title is not None:
        site, title = None, lead_title
        if byline is None and len(candidates) == 1 and _name_line(candidates[0]):
            byline = (candidates[0], (candidates[0],))  # title, author, dateline
    return _Header(
        body_start=end,
        source=source if source is not None else site,
        section=section,
        title=title,
        byline=byline[0] if byline else None,
        authors=byline[1] if byline else (),
        dateline=dateline,
    )


def _site_and_title(candidates: Sequence[str]) -> tuple[str | None, str | None]:
    """A line printed twice is the title; else with two or more lines, first site, last title."""
    seen: set[str] = set()
    for line in candidates:
        if line in seen:
            distinct = [c for c in dict.fromkeys(candidates) if c != line]
            return (distinct[0] if distinct else None), line
        seen.add(line)
    if len(candidates) >= 2:
        return candidates[0], candidates[-1]
    return None, candidates[0] if candidates else None


def _to_article(
    part: StoryPart, header: _Header, *, source: str | None, extractor: str
) -> ParsedArticle:
    """The page story takes the header's fields; embedded stories only their own."""
    if part.part_index == 0:
        dateline = header.dateline or part.dateline
        return ParsedArticle(
            paragraphs=part.paragraphs,
            title=header.title or part.title,
            byline=header.byline,
            authors=header.authors,
            dateline=dateline,
            published_at=published_at_from(dateline=dateline),
            source=source,
            section=header.section,
            part_index=0,
            extractor=extractor,
        )
    return ParsedArticle(
        paragraphs=part.paragraphs,
        title=part.title,
        dateline=part.dateline,
        published_at=published_at_from(dateline=part.dateline),
        source=source,
        section=header.section,
        part_index=part.part_index,
        extractor=extractor,
    )


def parse_text(
    text: str, *, url: str, source: str | None = None, extractor: str = "plaintext.v1"
) -> list[ParsedArticle]:
    """Parse a scraped-text page into its stories.

    Args:
        text (str): the page text.
        url (str): the page address (kept for the caller's logs; parsing ignores it).
        source (str | None): publisher name; when None the page's site-name line is used.
            Defaults to None.
        extractor (str): versioned parser name stored on each article.
            Defaults to "plaintext.v1".

    Returns:
        list[ParsedArticle]: the page story (part 0) and embedded stories; empty when no
        body text is left.
    """
    del url  # parsing is independent of the address
    normalised = normalise_text(text or "")
    lines = _logical_lines(normalised)
    header = _parse_header(lines, source, _FIRST_LINE_ALONE.match(normalised) is not None)
    parts = split_stories(strip_boilerplate(lines[header.body_start :]))
    if not parts and header.body_start:
        header = _Header(source=source)
        parts = split_stories(strip_boilerplate(lines))
    page_source = header.source if header.source is not None else source
    return [_to_article(p, header, source=page_source, extractor=extractor) for p in parts]
