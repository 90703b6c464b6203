"""Limits checked before parsing: how deep an event's JSON nests, how deep and big its HTML is.

Input is untrusted (crawler output from the open web). lxml and trafilatura are not made
for hostile markup: their time grows with the number of elements, some of their walks also
with the depth, and the tree walks in `htmlextract` recurse. So the markup is measured
first by a cheap scan, and input over a limit becomes a dead letter before any parser
sees it. The scan is one forward pass: every search starts where the scan stands or
reuses the last result (`_Forward`), so it stays linear on any input, however broken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from streams.models import RejectReason

_MARKUP = re.compile(r"<(/?)([A-Za-z][^\t\n\f\r />]*)|<!--")
"""A start tag, an end tag (group 1 is "/") or the start of a comment (no groups)."""
_TAG_END = re.compile(">")
_COMMENT_END = re.compile("-->")

VOID_ELEMENTS = frozenset(
    {
        "area", "base", "basefont", "bgsound", "br", "col", "command", "embed", "frame", "hr",
        "image", "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
    }
)  # fmt: skip
"""Elements that never have content, so they never nest."""
OPTIONAL_END_ELEMENTS = frozenset(
    {
        "html", "head", "body", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody",
        "tfoot", "option", "optgroup", "colgroup", "caption", "rb", "rt", "rtc", "rp",
    }
)  # fmt: skip
"""Elements whose end tag HTML lets pages leave out: a parser closes them at the next
sibling, so an unclosed one does not nest deeper. They count as tags, not as depth."""
RAW_TEXT_ELEMENTS = ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes")
"""Elements whose content is text up to their end tag ("<div>" in a script is no element)."""


@dataclass(frozen=True)
class LimitBreach:
    """Why input is over a limit: the dead letter's reason and message."""

    reason: RejectReason
    message: str


class _Forward:
    """The next match of a pattern at or after a position that only moves forward.

    A result is reused while it still lies ahead and "none left" is remembered, so
    repeated searches over the same text cost one pass in total.
    """

    def __init__(self, text: str, pattern: re.Pattern[str]) -> None:
        self._text = text
        self._pattern = pattern
        self._found: tuple[int, int] | None = (-1, -1)

    def at_or_after(self, pos: int) -> tuple[int, int] | None:
        """(start, end) of the first match at or after `pos`, or None when there is none."""
        if self._found is not None and self._found[0] < pos:
            match = self._pattern.search(self._text, pos)
            self._found = match.span() if match else None
        return self._found


def _raw_text_end(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}(?=[\t\n\f\r />]|$)", re.IGNORECASE)


_RAW_TEXT_ENDS = {name: _raw_text_end(name) for name in RAW_TEXT_ELEMENTS}


def markup_breach(html: str, *, max_depth: int, max_tags: int) -> LimitBreach | None:
    """Scan HTML for nesting deeper than `max_depth` or more than `max_tags` tags.

    Tags are start tags, end tags and comments: every step of the scan, so the scan's
    own work is bounded by the limit too. Depth counts open elements other than void and
    optional-end ones (see `OPTIONAL_END_ELEMENTS`); an end tag closes its element and
    every element opened inside it, as parsers do. The content of comments and raw-text
    elements (script, style, ...) is skipped; when one is never closed the scan goes on
    right after its start, so a missing end can never hide elements. A start tag ending
    in "/>" does not nest. The scan stops at the first breach.

    Args:
        html (str): the page's HTML, untrusted.
        max_depth (int): deepest nesting allowed.
        max_tags (int): most tags allowed.

    Returns:
        LimitBreach | None: the first limit broken, or None when the page is within both.
    """
    open_names: list[str] = []
    open_count: dict[str, int] = {}
    tags = 0
    tag_end = _Forward(html, _TAG_END)
    comment_end = _Forward(html, _COMMENT_END)
    raw_ends: dict[str, _Forward] = {}
    pos = 0
    while (match := _MARKUP.search(html, pos)) is not None:
        pos = match.end()
        tags += 1
        if tags > max_tags:
            return LimitBreach(
                RejectReason.TOO_MANY_TAGS,
                f"html has more than {max_tags} tags (at character {match.start()}); this is "
                "not a normal page: send its text, or raise STREAMS_CORE__MAX_HTML_TAGS if "
                "such pages are expected",
            )
        if match.group(2) is None:  # "<!--"
            found = comment_end.at_or_after(pos)
            pos = found[1] if found else pos
            continue
        name = match.group(2).lower()
        if match.group(1):  # an end tag closes the innermost open element of its name
            if open_count.get(name):
                while (top := open_names.pop()) != name:
                    open_count[top] -= 1
                open_count[name] -= 1
            continue
        if name in _RAW_TEXT_ENDS:
            raw_end = raw_ends.get(name)
            if raw_end is None:
                raw_end = raw_ends[name] = _Forward(html, _RAW_TEXT_ENDS[name])
            found = raw_end.at_or_after(pos)
            pos = found[1] if found else pos
            continue
        if name in VOID_ELEMENTS or name in OPTIONAL_END_ELEMENTS:
            continue
        found = tag_end.at_or_after(pos)
        if found is not None and html[found[0] - 1] == "/":  # "<x/>": no content
            continue
        open_names.append(name)
        open_count[name] = open_count.get(name, 0) + 1
        if len(open_names) > max_depth:
            return LimitBreach(
                RejectReason.TOO_DEEP,
                f"html nests elements more than {max_depth} deep (at character "
                f"{match.start()}); this is not a normal page: send its text, or raise "
                "STREAMS_CORE__MAX_HTML_DEPTH if such pages are expected",
            )
    return None


def json_breach(value: Any, *, max_depth: int) -> LimitBreach | None:
    """Check that decoded JSON nests at most `max_depth` arrays and objects deep.

    Walks level by level without recursion, so any depth the JSON parser accepted is safe.

    Args:
        value (Any): the decoded JSON value.
        max_depth (int): deepest nesting allowed (an event object alone is depth 1).

    Returns:
        LimitBreach | None: a `too_deep` breach, or None when within the limit.
    """
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return json_depth_breach(max_depth)
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend(child for child in children if isinstance(child, dict | list))
        level = below
    return None


def json_depth_breach(max_depth: int) -> LimitBreach:
    """The breach of JSON nested deeper than `max_depth` (also when the JSON parser gave up)."""
    return LimitBreach(
        RejectReason.TOO_DEEP,
        f"event JSON nests arrays/objects more than {max_depth} deep; an event is a flat "
        "object: flatten its extra fields, or raise STREAMS_CORE__MAX_JSON_DEPTH",
    )


__all__ = [
    "OPTIONAL_END_ELEMENTS",
    "RAW_TEXT_ELEMENTS",
    "VOID_ELEMENTS",
    "LimitBreach",
    "json_breach",
    "json_depth_breach",
    "markup_breach",
]
