"""Split a page body into its own story and the wire stories embedded after it.

Aggregator pages often append a second agency story below the first one. It is
recognised by news-writing conventions alone, independent of plain text or HTML:

1. An embedded story starts at a *headline block* (`looks_like_headline`: short, no
   final period/comma/colon, not a quote, not a dateline) immediately followed by a
   block that starts with a *wire dateline* crediting an agency or giving a date
   ("Washington (AFP) Oct 28, 2024 - North Korea has sent ..."). A block holding both
   on two lines ("Headline\\nWashington (AFP) ... - text") counts too.
2. The headline becomes the part's title; the dateline is removed from the first
   paragraph and becomes the part's dateline; its text after the separator (if any) is
   the first paragraph.
3. A dateline opening the very first block belongs to the page story (part 0).
4. Crossheads ("- Growing threats -") and "* * *" separators are dropped everywhere.
5. Parts left without paragraphs are dropped and the rest renumbered 0, 1, ...; a
   headline + dateline with no text after it (a teaser) therefore never becomes a part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streams.core.boilerplate import is_crosshead, looks_like_headline
from streams.core.metadata import parse_dateline
from streams.models import Dateline


@dataclass(frozen=True)
class StoryPart:
    """One story of a page body: `part_index` 0 is the page's own story."""

    paragraphs: tuple[str, ...]
    title: str | None = None
    dateline: Dateline | None = None
    part_index: int = 0


@dataclass
class _Draft:
    title: str | None
    dateline: Dateline | None
    paragraphs: list[str]


def _wire_dateline(block: str) -> tuple[Dateline, str] | None:
    """A dateline strong enough to open an embedded story: it names an agency or a date."""
    parsed = parse_dateline(block)
    if parsed is None:
        return None
    dateline, _ = parsed
    return parsed if (dateline.agency or dateline.date) else None


def _unfold(blocks: Sequence[str]) -> list[str]:
    """Split a "Headline\\nDateline - text" block into its headline and dateline blocks."""
    out: list[str] = []
    for block in blocks:
        text = block.strip()
        if not text:
            continue
        head, sep, tail = text.partition("\n")
        if sep and looks_like_headline(head) and _wire_dateline(tail.strip()) is not None:
            out.extend((head.strip(), tail.strip()))
        else:
            out.append(text)
    return out


def split_stories(blocks: Sequence[str]) -> list[StoryPart]:
    """Split body blocks into the page story and embedded wire stories (rules: module doc).

    Args:
        blocks (Sequence[str]): body paragraphs/lines of a page, in order, without the
            page header and boilerplate.

    Returns:
        list[StoryPart]: non-empty parts, `part_index` 0, 1, ...; empty when no
        paragraph is left.
    """
    items = [b for b in _unfold(blocks) if not is_crosshead(b)]
    drafts: list[_Draft] = [_Draft(None, None, [])]
    i = 0
    while i < len(items):
        block = items[i]
        nxt = _wire_dateline(items[i + 1]) if i + 1 < len(items) else None
        if nxt is not None and looks_like_headline(block):
            dateline, rest = nxt
            drafts.append(_Draft(block, dateline, [rest] if rest else []))
            i += 2
            continue
        if i == 0:
            lead = parse_dateline(block)
            if lead is not None:
                drafts[0].dateline = lead[0]
                block = lead[1]
        if block:
            drafts[-1].paragraphs.append(block)
        i += 1
    parts = [d for d in drafts if d.paragraphs]
    return [
        StoryPart(tuple(d.paragraphs), title=d.title, dateline=d.dateline, part_index=n)
        for n, d in enumerate(parts)
    ]
