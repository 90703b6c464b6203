"""HTML page -> main-text blocks and page metadata, via trafilatura.

This module only wraps trafilatura: it never decides what a story is (that is
`htmlparse`). Nothing here fetches: trafilatura is given a parsed tree, and the date
search gets a fixed upper bound instead of "today" so output does not depend on the
clock.

Pages are untrusted. Only lxml's HTML parser (libxml2 in HTML mode, via trafilatura's
`load_html`) reads them; no XML parser is on this path. It reads no DTD, so a DOCTYPE's
entity declarations are neither expanded (billion laughs) nor loaded (a SYSTEM entity
naming a local file or a URL), and it never touches the network
(tests/core/test_untrusted_input.py). It keeps at most 256 levels of nesting and drops
what lies deeper, so the decoder turns deeper pages away before parsing (`limits`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

import trafilatura
from trafilatura.settings import Document
from trafilatura.utils import load_html

Element: TypeAlias = Any
"""An lxml element (lxml ships no type stubs, so it is opaque to mypy)."""

_WS = re.compile(r"\s+")
_INVISIBLE_CHARS = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_LANG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")

MAX_DATE = "2099-12-31"
"""Upper bound for htmldate (trafilatura defaults to today's date, which is not pure)."""

# Block-level elements of trafilatura's output tree and the kind of block each yields.
_KIND_BY_TAG: dict[str, str] = {
    "p": "p",
    "head": "head",
    "quote": "quote",
    "code": "code",
    "list": "item",
    "table": "row",
}
# Output elements that sit inside another block but are blocks themselves.
_NESTED_BLOCK_TAGS = frozenset({"p", "head", "item", "list", "quote", "code", "row", "table"})
# Elements of the source page whose text is never visible.
_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg", "iframe", "object")
# Source elements that break a line of visible text.
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
        "table", "section", "article", "header", "footer", "nav", "aside", "main",
        "blockquote", "pre", "dd", "dt", "dl", "figure", "figcaption", "form", "hr",
        "address", "td", "th", "title",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ExtractionSettings:
    """trafilatura options that change what counts as main text.

    Chosen by measurement on aeb-dev (see benchmarks/html_extraction_settings.py).
    """

    favor_precision: bool = False
    favor_recall: bool = False
    include_tables: bool = True
    fast: bool = False
    """Skip the justext/readability fallbacks (same F1 on aeb-dev; kept off for odd pages)."""


@dataclass(frozen=True)
class Block:
    """One paragraph-like unit of main text: `kind` is p, head, item, quote, code or row."""

    kind: str
    text: str


@dataclass(frozen=True)
class PageExtraction:
    """What trafilatura found on a page: main-text blocks plus raw metadata strings."""

    blocks: tuple[Block, ...]
    title: str | None = None
    author: str | None = None
    date: str | None = None
    sitename: str | None = None
    categories: tuple[str, ...] = ()
    language: str | None = None


def _load(html: str) -> Element | None:
    try:
        tree = load_html(html)
    except Exception:  # lxml and trafilatura raise assorted errors on odd input
        return None
    return tree if tree is not None and isinstance(tree.tag, str) else None


def load_tree(html: str) -> Element | None:
    """Parse `html` with trafilatura's lxml HTML parser (no network, no DTD, no entities).

    trafilatura rejects a bare fragment ("<p>text</p>" or plain text) as "not HTML";
    such input is wrapped in a document and parsed again.
    """
    tree = _load(html)
    return tree if tree is not None else _load(f"<html><body><div>{html}</div></body></html>")


def clean_text(text: str) -> str:
    """Drop soft hyphens and zero-width marks, collapse whitespace runs, trim."""
    return _WS.sub(" ", _INVISIBLE_CHARS.sub("", text)).strip()


def page_language(tree: Element) -> str | None:
    """ISO 639 code from <html lang>, Content-Language or og:locale, lower case."""
    candidates: list[str] = []
    root = tree.getroottree().getroot()
    for attr in ("lang", "{http://www.w3.org/XML/1998/namespace}lang", "xml:lang"):
        value = root.get(attr)
        if value:
            candidates.append(value)
    for meta in tree.iter("meta"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language", "dc.language"):
            candidates.append(meta.get("content") or "")
    for value in candidates:
        match = _LANG.match(value.strip().split(",")[0].strip())
        if match:
            return match.group(1).lower()
    return None


def _walk_lines(node: Element, lines: list[list[str]], skip: str) -> None:
    """Append the text under `node` in document order, leaving out `skip` children.

    <lb/> and nested block elements (a heading inside a list item, say) start a new line,
    so words of neighbouring blocks never run together.
    """
    if node.tag == "lb":
        lines.append([])
    elif node.text:
        lines[-1].append(node.text)
    for child in node:
        nested_block = child.tag in _NESTED_BLOCK_TAGS
        if nested_block:
            lines.append([])
        if child.tag != skip:
            _walk_lines(child, lines, skip)
        if nested_block:
            lines.append([])
        if child.tail:
            lines[-1].append(child.tail)


def _element_lines(element: Element, skip: str = "") -> list[str]:
    """Non-empty lines of text of a trafilatura output element."""
    lines: list[list[str]] = [[]]
    _walk_lines(element, lines, skip)
    return [text for text in (clean_text("".join(parts)) for parts in lines) if text]


def _blocks_of(element: Element, kind: str) -> Iterator[Block]:
    """Blocks of one top-level output element.

    Paragraphs split at line breaks (sites that separate paragraphs with <br><br> end up
    as one <p> with <lb/>s); list items and table rows stay one block each.
    """
    if kind == "item":
        for item in element.iter("item"):  # nested lists yield their own items
            yield Block(kind, " ".join(_element_lines(item, skip="list")))
        return
    if kind == "row":
        for row in element.iter("row"):
            cells = (" ".join(_element_lines(cell)) for cell in row.iter("cell"))
            yield Block(kind, " | ".join(cell for cell in cells if cell))
        return
    if kind == "quote" and any(child.tag in _KIND_BY_TAG for child in element):
        if element.text and element.text.strip():
            yield Block(kind, clean_text(element.text))
        for child in element:
            yield from _blocks_of(child, _KIND_BY_TAG.get(str(child.tag), "quote"))
            if child.tail and child.tail.strip():
                yield Block(kind, clean_text(child.tail))
        return
    for line in _element_lines(element):
        yield Block(kind, line)


def body_blocks(body: Element) -> tuple[Block, ...]:
    """trafilatura's output tree as non-empty blocks, one per paragraph, heading or item.

    Text lying directly in <body> (before or between block elements) becomes paragraphs.
    """
    blocks: list[Block] = []
    if body.text and body.text.strip():
        blocks.append(Block("p", clean_text(body.text)))
    for element in body:
        kind = _KIND_BY_TAG.get(str(element.tag))
        if kind is not None:  # graphic, ref and other non-text elements are skipped
            blocks.extend(block for block in _blocks_of(element, kind) if block.text)
        if element.tail and element.tail.strip():
            blocks.append(Block("p", clean_text(element.tail)))
    return tuple(blocks)


def _as_text(value: Any) -> str | None:
    """A metadata value as a trimmed string (trafilatura may hand lists or None)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value if v)
    text = clean_text(str(value))
    return text or None


def trafilatura_document(tree: Element, *, url: str, settings: ExtractionSettings) -> Any:
    """trafilatura's own result for a parsed page (a Document), or None.

    The one place trafilatura is called, so every caller extracts with the same options.
    """
    try:
        return trafilatura.bare_extraction(
            tree,
            url=url,
            favor_precision=settings.favor_precision,
            favor_recall=settings.favor_recall,
            fast=settings.fast,
            include_tables=settings.include_tables,
            include_comments=False,
            include_images=False,
            include_links=False,
            include_formatting=False,
            deduplicate=False,
            with_metadata=True,
            date_extraction_params={
                "original_date": True,
                "extensive_search": True,
                "max_date": MAX_DATE,
            },
        )
    except Exception:  # trafilatura must never take the pipeline down
        return None


def extract_page(tree: Element, *, url: str, settings: ExtractionSettings) -> PageExtraction | None:
    """Run trafilatura on a parsed page; None when it finds no main text.

    Args:
        tree (Element): the page from `load_tree` (trafilatura works on a copy).
        url (str): the page address (helps metadata; never fetched).
        settings (ExtractionSettings): trafilatura options.

    Returns:
        PageExtraction | None: blocks and metadata, or None if nothing was extracted.
    """
    document = trafilatura_document(tree, url=url, settings=settings)
    if not isinstance(document, Document) or document.body is None:
        return None
    blocks = body_blocks(document.body)
    if not blocks:
        return None
    categories = tuple(
        c for c in (clean_text(str(c)) for c in (getattr(document, "categories", None) or [])) if c
    )
    return PageExtraction(
        blocks=blocks,
        title=_as_text(document.title),
        author=_as_text(document.author),
        date=_as_text(document.date),
        sitename=_as_text(document.sitename),
        categories=categories,
        language=_as_text(document.language) or page_language(tree),
    )


def _visible_lines(element: Element, out: list[str]) -> None:
    """Append the visible text under `element`, with a line break at block elements."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _INVISIBLE:
        if element.tail:
            out.append(element.tail)
        return
    block = tag in _BLOCK_TAGS
    if block:
        out.append("\n")
    if tag and element.text:
        out.append(element.text)
    for child in element:
        _visible_lines(child, out)
    if block:
        out.append("\n")
    if element.tail:
        out.append(element.tail)


def visible_text(tree: Element) -> str:
    """The page's visible text, one line per block element (scripts and styles left out)."""
    out: list[str] = []
    root = tree.getroottree().getroot()
    body = root.find("body")
    _visible_lines(body if body is not None else root, out)
    lines = (clean_text(line) for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line)


def _bounded_text(element: Element, limit: int) -> str:
    """The element's text, read lazily and cut after `limit` characters."""
    parts: list[str] = []
    size = 0
    for piece in element.itertext():
        parts.append(piece)
        size += len(piece)
        if size > limit:
            break
    return clean_text("".join(parts))


def short_texts_before(tree: Element, stop: str, *, max_chars: int = 120) -> list[str]:
    """Whole texts of short elements that come before the text `stop` in the page.

    Used to find header lines (a dateline printed in its own element) that trafilatura
    leaves out of the main text; the walk ends at the first element whose text starts
    with `stop`, so teasers and footers after the story are never read.

    Args:
        tree (Element): the parsed page.
        stop (str): the start of the main text (e.g. its first paragraph).
        max_chars (int): longest element text returned. Defaults to 120.

    Returns:
        list[str]: distinct short texts in page order; empty when `stop` is not found
        (then nothing read can be known to lie above the main text).
    """
    key = clean_text(stop)[:60]
    if not key:
        return []
    limit = max(max_chars, len(key)) + 1
    seen: list[str] = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in _INVISIBLE:
            continue
        text = _bounded_text(element, limit)
        if not text:
            continue
        if text.startswith(key):
            return seen
        if len(text) <= max_chars and text not in seen:
            seen.append(text)
    return []


_NON_WORD = re.compile(r"\W+")
MIN_LINK_KEY_CHARS = 12
"""Shorter link texts ("Home", "More") are never compared with blocks."""
MAX_LINK_BLOCK_CHARS = 250
"""Longer blocks are never taken for link lists (a teaser is a headline plus a line)."""


def text_key(text: str) -> str:
    """`text` without spaces and punctuation, case folded: the same words, however laid out."""
    return _NON_WORD.sub("", text).casefold()


@dataclass(frozen=True)
class LinkTexts:
    """The texts of a page's links (`<a href>`), as `text_key`s sorted by length."""

    keys: tuple[str, ...]
    lengths: tuple[int, ...]

    def share(self, text: str) -> float:
        """How much of `text` is link text: the summed length of the page's link texts
        found in it, over its length (capped at 1). Only short texts are compared;
        longer ones get 0.
        """
        key = text_key(text)
        if not MIN_LINK_KEY_CHARS <= len(key) <= MAX_LINK_BLOCK_CHARS:
            return 0.0
        high = bisect.bisect_right(self.lengths, len(key))
        covered = sum(self.lengths[i] for i in range(high) if self.keys[i] in key)
        return min(1.0, covered / len(key))


def link_texts(tree: Element) -> LinkTexts:
    """The distinct link texts of the page (links inside scripts never count)."""
    keys: set[str] = set()
    for anchor in tree.iter("a"):
        if anchor.get("href") is None:
            continue
        key = text_key(anchor.text_content())
        if len(key) >= MIN_LINK_KEY_CHARS:
            keys.add(key)
    ordered = tuple(sorted(keys, key=len))
    return LinkTexts(ordered, tuple(len(k) for k in ordered))


def caption_keys(tree: Element) -> frozenset[str]:
    """`text_key`s of the page's image captions: <img alt>, <figcaption> and elements
    whose class names a caption. A block with exactly such text is a caption, not story.
    """
    keys: set[str] = set()
    for element in tree.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if tag == "img":
            text = element.get("alt") or ""
        elif tag == "figcaption" or "caption" in (element.get("class") or "").lower():
            text = element.text_content()
        else:
            continue
        key = text_key(text)
        if len(key) >= MIN_LINK_KEY_CHARS:
            keys.add(key)
    return frozenset(keys)
