"""Line and block classifiers for page furniture, shared by the text and HTML parsers.

News pages wrap a story in the same furniture everywhere: section banners, share
buttons, newsletter and cookie prompts, "Related" teaser lists and a copyright
footer. The rules are data: `RULES` is an ordered table of (category, pattern,
ends_body); the first matching rule classifies a line. A rule with ``ends_body``
marks the end of the story: nothing after it is body (teaser lists follow it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from streams.core.metadata import parse_dateline


@dataclass(frozen=True)
class Rule:
    """One boilerplate pattern: lines it matches are `category` furniture."""

    category: str
    pattern: re.Pattern[str]
    ends_body: bool = False
    max_words: int | None = None
    """Only lines with at most this many words match (None: any length)."""


def _rule(
    category: str, regex: str, *, ends_body: bool = False, max_words: int | None = None
) -> Rule:
    return Rule(category, re.compile(regex, re.IGNORECASE), ends_body, max_words)


RULES: tuple[Rule, ...] = (
    # Headings that open the teaser area after a story.
    _rule(
        "related",
        r"^(?:related|more)\s+(?:links|content|articles?|stories|coverage|news|topics|posts|"
        r"reading|videos?|on this (?:story|topic))\s*:?$",
        ends_body=True,
    ),
    _rule(
        "related",
        r"^(?:you (?:may|might) (?:also )?(?:like|be interested in)"
        r"|recommended(?: for you| reading)?"
        r"|most (?:read|popular|viewed|shared)|trending(?: now)?|read next|further reading"
        r"|also read|see also|editor'?s picks|top stories|latest news|more from .{1,40})\s*:?$",
        ends_body=True,
    ),
    _rule(
        "comments",
        r"^(?:\d+\s+)?(?:comments?|leave a (?:comment|reply)|join the discussion"
        r"|about the author|share your thoughts)(?:\s*\(\d+\))?\s*:?$",
        ends_body=True,
    ),
    # Copyright footers end the story wherever they appear.
    _rule("copyright", r"^(?:copyright\b|©|\(c\)\s*\d{4})", ends_body=True),
    _rule("copyright", r"\bcopyright\s*(?:©|\(c\))?\s*\d{4}", ends_body=True),
    _rule("copyright", r"\ball rights reserved\b", ends_body=True, max_words=40),
    # Share and social buttons.
    _rule(
        "share",
        r"^(?:(?:tweet|share|email|e-mail|print|print (?:this )?(?:article|page|story)"
        r"|(?:order )?reprints|facebook|twitter|x|linkedin|whatsapp|reddit"
        r"|pinterest|telegram|copy link|share (?:this|on)(?: \w+)?|share this (?:article|story))"
        r"[\s|,/·•]*)+$",
    ),
    # Newsletter and subscription prompts.
    _rule(
        "subscribe",
        r"^(?:subscribe|sign up|signup|get our|join our)\b.*\b(?:newsletters?|free|today|now"
        r"|updates|inbox|channel|podcast|latest)\b.*$",
        max_words=16,
    ),
    _rule("subscribe", r"^(?!.*[.!?][\"'”’]?$).*\bnewsletters?\b", max_words=10),
    # What a sign-up, share-by-email or comment form prints after it is used.
    _rule(
        "form",
        r"^(?:thanks? (?:you )?for (?:signing up|subscribing|registering)\b"
        r"|keep an eye on your inbox\b|(?:sorry|oops)\W*$|thank you\W*$"
        r"|(?:an )?error (?:has )?occurred\b"
        r"|there was an (?:error|problem) (?:processing|with) your\b"
        r"|this (?:article|story|page) has been sent to\b|please try again(?: later)?\W*$)",
        max_words=12,
    ),
    # Reprint notices and author contact lines.
    _rule("reprint", r"\bfor your personal,? non-commercial use only\b"),
    _rule("contact", r"^write to .{1,80}\bat \S+@\S+\.\w+\.?$", max_words=16),
    _rule(
        "credit",
        r"\bcontributed (?:to this (?:report|story|article)|(?:additional )?reporting)\b",
        max_words=25,
    ),
    # Cookie, consent and privacy banners.
    _rule(
        "cookie",
        r"\b(?:(?:we|this (?:site|website)|our (?:site|website|partners)) uses? cookies"
        r"|accept (?:all )?cookies|cookie (?:policy|settings|preferences|consent)"
        r"|by (?:using|continuing to (?:use|browse)) (?:our|this) (?:site|website)"
        r"|general data protection regulation \(gdpr\) statement)\b",
    ),
    _rule(
        "privacy",
        r"^[|·•\s]*(?:(?:privacy (?:policy|statement|notice|settings)|terms (?:of|and conditions"
        r" of) (?:use|service)|terms and conditions|cookie policy|contact us|about us"
        r"|accessibility|sitemap)(?:[.|·•\s]+|$))+$",
    ),
    # Navigation menus and breadcrumbs: short items joined by bars or chevrons.
    _rule(
        "navigation",
        r"^(?:home|menu|search|sections|skip navigation)$"
        r"|^(?:[^\W\d_][\w&'’.-]*(?: [\w&'’.-]+){0,2}\s*[|·•»›>]\s*)+"
        r"[^\W\d_][\w&'’.-]*(?: [\w&'’.-]+){0,2}$",
    ),
    # Teasers and link promotions.
    _rule("teaser", r"(?:\.{3}|…)\s*(?:read more|more|continue reading)\s*»?$"),
    _rule(
        "teaser",
        r"^(?:read more|continue reading|read the (?:full|rest of the) (?:story|article)"
        r"|read the rest(?: of (?:the|this) (?:story|article))?(?: here)?|click here\b.*"
        r"|full story|more »|read on)\s*[.:»>]*$",
    ),
    _rule(
        "teaser",
        r"^(?:(?:see|read|watch) (?:more|also)|related(?: posts?| articles?| stor(?:y|ies))?)"
        r"\s*:\s*\S.{0,160}$",
        max_words=30,
    ),
    _rule(
        "caption",
        r"\b(?:photos?|images?|pictures?|illustrations?)\s*(?:©|\(c\)|courtesy\b)",
        max_words=20,
    ),
    _rule(
        "promo",
        r"^(?:learn (?:more )?about|read more (?:about|at|on)|visit|follow|find us on"
        r"|more (?:news|stories) (?:at|on))\b.{0,160}\b[\w-]+\.(?:com|org|net|info|io|co|news"
        r"|gov|edu)(?:/\S*)?\s*\.?$",
    ),
    _rule(
        "promo",
        r"^if you (?:enjoyed|liked|value|appreciated) (?:this|our)"
        r" (?:article|story|post|journalism)\b",
    ),
    _rule(
        "promo",
        r"^(?:advertisement|advertising|sponsored(?: content)?|story continues below"
        r"(?: advertisement)?|skip to (?:main )?content|back to top|loading\.*|scroll to continue"
        r"|(?:photo|image|video):? .{0,60}(?:getty|afp|reuters|ap) images?)$",
    ),
)
"""Ordered boilerplate rules; the first match wins."""

_SENTENCE_PUNCT = re.compile(r"[.!?:;,][\"'”’)\]]*$")
_QUOTE_START = re.compile(r"^[\"'“”‘’«»„]")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_CROSSHEAD = re.compile(
    r"^\s*[-–—*•=#]+(?:\s+[-–—*•=#]+)*\s*[^-–—*•=#\s].{0,80}?\s*[-–—*•=#]+(?:\s+[-–—*•=#]+)*\s*$"
)
"""Runs of marks are separated by spaces, so each line splits one way only (a form with
nested repeats, `(?:[-]+\\s*)+`, tried 2^n splits: 14 s on 26 dashes and a word)."""
_SEPARATOR = re.compile(r"^\s*(?:[-–—*•=#_~.·]\s*){3,}$")

MAX_BANNER_WORDS = 4
"""A section banner is an ALL-CAPS line of at most this many words ("SUPERPOWERS")."""
MAX_HEADLINE_WORDS = 22
MAX_HEADLINE_CHARS = 160
MIN_HEADLINE_RUN = 3
"""This many headline-like lines in a row are a teaser list, not body."""


def _word_count(line: str) -> int:
    return len(line.split())


def is_banner(line: str) -> bool:
    """A short ALL-CAPS line such as a site section ("SUPERPOWERS", "WORLD NEWS")."""
    text = line.strip()
    if not text or _word_count(text) > MAX_BANNER_WORDS or not _HAS_LETTER.search(text):
        return False
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 3 or not all(c.isupper() for c in letters) or text.endswith("."):
        return False
    return parse_dateline(text) is None  # "LONDON 1996-08-30" is a dateline, not a banner


def is_crosshead(line: str) -> bool:
    """A dash-framed sub-heading ("- Growing threats -") or a "* * *" separator."""
    text = line.strip()
    return bool(_CROSSHEAD.match(text) or _SEPARATOR.match(text)) and "\n" not in text


def looks_like_headline(line: str) -> bool:
    """Short, title-like and not a sentence: no final period/comma/colon, not a quote.

    Used for headline lists (teasers) and for the title of an embedded wire story.
    """
    text = line.strip()
    if not text or "\n" in text or len(text) > MAX_HEADLINE_CHARS:
        return False
    words = _word_count(text)
    if not 2 <= words <= MAX_HEADLINE_WORDS:
        return False
    if _SENTENCE_PUNCT.search(text) or _QUOTE_START.match(text):
        return False
    if is_crosshead(text) or parse_dateline(text) is not None:
        return False
    first = text[0]
    return first.isupper() or first.isdigit()


def classify_line(line: str) -> Rule | None:
    """The first rule of `RULES` matching `line` (banners count too), or None for content."""
    text = " ".join(line.split())
    if not text:
        return None
    words = _word_count(text)
    for rule in RULES:
        if rule.max_words is not None and words > rule.max_words:
            continue
        if rule.pattern.search(text):
            return rule
    return _BANNER_RULE if is_banner(text) else None


_BANNER_RULE = Rule("banner", re.compile(r"^$"))


def is_boilerplate(line: str) -> bool:
    """True when `line` is page furniture, not story text."""
    return classify_line(line) is not None


def ends_body(line: str) -> bool:
    """True when `line` marks the end of the story ("Related Links", a copyright footer)."""
    rule = classify_line(line)
    return rule is not None and rule.ends_body


def headline_runs(blocks: Sequence[str]) -> list[tuple[int, int]]:
    """Spans [start, end) of `MIN_HEADLINE_RUN`+ headline-like blocks in a row (teaser lists).

    A headline followed directly by a dateline starts an embedded story, so it ends a run
    instead of belonging to it.
    """
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for i, block in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else ""
        headline = looks_like_headline(block) and parse_dateline(nxt) is None
        if headline and start is None:
            start = i
        elif not headline and start is not None:
            if i - start >= MIN_HEADLINE_RUN:
                spans.append((start, i))
            start = None
    if start is not None and len(blocks) - start >= MIN_HEADLINE_RUN:
        spans.append((start, len(blocks)))
    return spans


def strip_boilerplate(blocks: Sequence[str]) -> list[str]:
    """The story blocks of a page body: cut at the first end marker, furniture removed.

    Args:
        blocks (Sequence[str]): body blocks (paragraphs or lines) in page order.

    Returns:
        list[str]: the blocks before the first `ends_body` line, without boilerplate
        lines and without teaser headline lists.
    """
    kept: list[str] = []
    for block in blocks:
        rule = classify_line(block)
        if rule is not None and rule.ends_body:
            break
        if rule is None and block.strip():
            kept.append(block)
    drop = {i for start, end in headline_runs(kept) for i in range(start, end)}
    return [b for i, b in enumerate(kept) if i not in drop]
