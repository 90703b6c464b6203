"""HTML page -> ParsedArticles: main text by trafilatura, stories by news conventions.

The order is: parse the tree once (no network, no entity loading), let trafilatura
find the main text and page metadata (`htmlextract`), drop the title repeat and the
header lines (byline, dateline) from the top of the text, drop page furniture with the
shared boilerplate rules, then split embedded wire stories out (`segment`). Page
metadata goes on part 0; an embedded story gets its own title and dateline.

Extraction settings were chosen on aeb-dev (61 pages, benchmark 4-gram F1; see
benchmarks/html_extraction_settings.py, trafilatura 2.3.1):

    settings (fallbacks on; off gives the same)  F1     P      R
    favor_precision, tables                       0.955  0.957  0.953
    favor_precision, no tables                    0.946  0.957  0.936
    default, tables                               0.962  0.950  0.974
    default, no tables                            0.954  0.950  0.958
    favor_recall, tables                          0.960  0.949  0.972

Tables stay in. Paragraph blocks score the same as trafilatura's txt output. Post-clean
on the default settings (`clean_blocks`):

    default, tables, raw blocks                   0.962  0.950  0.974
    + title repeat dropped                        0.964  0.955  0.974
    + cut at end marker, furniture lines dropped  0.964  0.959  0.970   <- chosen
    + teaser headline runs dropped too            0.963  0.964  0.962
    shared strip_boilerplate (runs over lists)    0.949  0.964  0.935
    parse_html, html_favor_precision=False        0.964  0.958  0.969
    parse_html, html_favor_precision=True         0.953  0.959  0.948

So `html_favor_precision=False` is the better default (F1 +0.010, precision -0.001).

Issue 5 (tuned on the 50 dev pages of aeb-dev, sha1(id)[0] not in "012"; the 11
held-back pages only measured at the end), each step on top of the one before:

    dev pages                                                F1     P      R
    parse_html before                                        0.967  0.956  0.979
    + header: kicker, fuzzy title repeat, dek headings       0.973  0.967  0.979
    + furniture rules (form messages, reprints, "SEE MORE:")  0.977  0.974  0.979
    + teaser links (runs of linked blocks, lone linked line)  0.984  0.988  0.979
    + captions repeating an <img alt> / <figcaption>          0.984  0.989  0.979
    + link run share 0.3 -> 0.25, contributor credit lines    0.985  0.991  0.979
    held-back 11 pages: before 0.947 (P 0.969, R 0.927), after 0.947 (P 0.973, R 0.922)
    all 61 pages:       before 0.964 (P 0.958, R 0.969), after 0.978 (P 0.988, R 0.969)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from streams.core.boilerplate import classify_line
from streams.core.config import CoreConfig
from streams.core.document import ParsedArticle
from streams.core.htmlextract import (
    Block,
    ExtractionSettings,
    LinkTexts,
    PageExtraction,
    caption_keys,
    extract_page,
    link_texts,
    load_tree,
    page_language,
    short_texts_before,
    text_key,
    visible_text,
)
from streams.core.metadata import parse_byline, parse_dateline, published_at_from
from streams.core.segment import StoryPart, split_stories
from streams.core.textparse import parse_text
from streams.models import Dateline

_NON_WORD = re.compile(r"\W+")

MAX_HEADER_BLOCKS = 4
"""How many blocks at the top of the main text may be title repeats or a byline."""
MAX_BYLINE_WORDS = 10
TITLE_WORD_SHARE = 0.8
"""A title repeat: at least this share of its words are title words..."""
MIN_TITLE_COVER = 0.6
"""...and it holds at least this share of the title's distinct words."""
LINK_RUN_SHARE = 0.25
"""A block with at least this share of link text can belong to a teaser list..."""
MIN_LINK_RUN = 3
"""...of this many such blocks in a row."""
LINK_LINE_SHARE = 0.8
"""A lone headline-like block with at least this share of link text is a teaser link."""
MIN_LINK_WORDS = 4
"""Shorter blocks are never dropped as links (a list of names or products)."""
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
MIN_DEK_WORDS = 6
"""A heading right below the title with this many words is a dek, not a subhead."""


def settings_for(config: CoreConfig) -> ExtractionSettings:
    """trafilatura options from the core config (tables on, fallbacks on: measured best)."""
    return ExtractionSettings(favor_precision=config.html_favor_precision, include_tables=True)


def _same_text(a: str, b: str) -> bool:
    """Equal once case, punctuation and spacing are ignored."""
    return _NON_WORD.sub(" ", a).strip().casefold() == _NON_WORD.sub(" ", b).strip().casefold()


def clean_blocks(blocks: Sequence[Block]) -> list[Block]:
    """Cut the text at the first end-of-story marker and drop furniture lines.

    Uses the shared boilerplate rules. Teaser headline runs are not dropped here:
    on aeb-dev that also removed real lists and tables (F1 0.964 -> 0.963).
    """
    kept: list[Block] = []
    for block in blocks:
        rule = classify_line(block.text)
        if rule is not None and rule.ends_body:
            break
        if rule is None:
            kept.append(block)
    return kept


def _words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", text).casefold().split()


def _title_like(text: str, title: str) -> bool:
    """The page title printed again, perhaps shortened or with the site name around it.

    Nearly all words of `text` are in the title and it carries most of the title's
    words ("X" vs "X | Site", one word added or dropped).
    """
    words, title_words = _words(text), set(_words(title))
    if not words or not title_words:
        return False
    shared = sum(1 for word in words if word in title_words)
    covered = len(set(words) & title_words)
    return shared >= TITLE_WORD_SHARE * len(words) and covered >= MIN_TITLE_COVER * len(title_words)


def _header_start(blocks: Sequence[Block], title: str | None) -> int:
    """Index of the first block after the page's own header: kicker, headline and dek.

    When one of the top blocks repeats the title, the short blocks above it (a section
    kicker, a byline) and the sentence-length headings right below it (the dek or
    standfirst, printed as a sub-heading) are header, not body.
    """
    if not title:
        return 0
    for k, block in enumerate(blocks[:MAX_HEADER_BLOCKS]):
        if _title_like(block.text, title):
            if any(len(b.text.split()) > MAX_BYLINE_WORDS for b in blocks[:k]):
                return 0
            start = k + 1
            while (
                start < len(blocks) - 1
                and blocks[start].kind == "head"
                and len(blocks[start].text.split()) >= MIN_DEK_WORDS
            ):
                start += 1
            return start
    return 0


def _link_share(block: Block, links: LinkTexts) -> float:
    """How much of a block is link text; 0 for quotes (embedded posts), URLs and short lines."""
    if block.kind == "quote" or "://" in block.text or len(block.text.split()) < MIN_LINK_WORDS:
        return 0.0
    return links.share(block.text)


def drop_link_blocks(blocks: Sequence[Block], links: LinkTexts) -> list[Block]:
    """Drop teaser links: runs of linked headlines and single linked headline lines.

    A run of `MIN_LINK_RUN` or more blocks in a row that are each at least
    `LINK_RUN_SHARE` link text is a teaser list (a linked headline plus an unlinked
    summary line per item). A lone block that is nearly all link text and does not
    end like a sentence is a "read also" link.
    """
    shares = [_link_share(block, links) for block in blocks]
    drop: set[int] = set()
    start = 0
    while start < len(blocks):
        end = start
        while end < len(blocks) and shares[end] >= LINK_RUN_SHARE:
            end += 1
        if end - start >= MIN_LINK_RUN:
            drop.update(range(start, end))
        start = max(end, start + 1)
    return [
        block
        for i, block in enumerate(blocks)
        if i not in drop
        and not (shares[i] >= LINK_LINE_SHARE and not _SENTENCE_END.search(block.text))
    ]


def _header(
    blocks: Sequence[Block], title: str | None
) -> tuple[list[Block], str | None, tuple[str, ...]]:
    """Drop the header (kicker, title repeats, dek, byline lines) from the top of the text.

    Returns the remaining blocks, the byline and its authors. A dateline at the
    top is left in place: `split_stories` makes it part 0's dateline.
    """
    byline: str | None = None
    authors: tuple[str, ...] = ()
    skipped = _header_start(blocks, title)
    for block in blocks[:skipped]:
        parsed = parse_byline(block.text) if len(block.text.split()) <= MAX_BYLINE_WORDS else None
        if parsed is not None and byline is None:
            byline, authors = parsed
    start = skipped
    for block in blocks[skipped : skipped + MAX_HEADER_BLOCKS]:
        if title and _same_text(block.text, title):
            start += 1
            continue
        parsed = parse_byline(block.text) if len(block.text.split()) <= MAX_BYLINE_WORDS else None
        if parsed is not None and byline is None:
            byline, authors = parsed
            start += 1
            continue
        break
    return list(blocks[start:]), byline, authors


def _authors(author: str | None) -> tuple[str | None, tuple[str, ...]]:
    """Byline and authors from trafilatura's author string ("A; B"), roles dropped."""
    if not author:
        return None, ()
    parsed = parse_byline(author if author.lower().startswith("by ") else f"By {author}")
    if parsed is not None:
        return parsed
    names = tuple(name.strip() for name in author.split(";") if name.strip())
    return author, names


def _page_dateline(tree_texts: Sequence[str]) -> Dateline | None:
    """The last bare dateline line printed above the main text, if any."""
    found: Dateline | None = None
    for text in tree_texts:
        parsed = parse_dateline(text)
        if parsed is not None and not parsed[1]:
            found = parsed[0]
    return found


def _from_text(
    text: str, *, url: str, config: CoreConfig, source: str | None, language: str | None
) -> list[ParsedArticle]:
    """Fallback when trafilatura finds no main text: parse the visible text as plain text."""
    parts = parse_text(text, url=url, source=source, extractor=config.html_extractor)
    if language is None:
        return parts
    return [
        part if part.language else dataclasses.replace(part, language=language) for part in parts
    ]


def _articles(
    page: PageExtraction,
    stories: Sequence[StoryPart],
    *,
    byline: str | None,
    authors: tuple[str, ...],
    page_dateline: Dateline | None,
    source: str | None,
    extractor: str,
) -> list[ParsedArticle]:
    """Attach the page metadata to part 0 and each embedded story's own to the others."""
    section = page.categories[0] if page.categories else None
    site = source or page.sitename
    out: list[ParsedArticle] = []
    for part in stories:
        if part.part_index == 0:
            dateline = part.dateline or page_dateline
            out.append(
                ParsedArticle(
                    paragraphs=part.paragraphs,
                    title=page.title or part.title,
                    byline=byline,
                    authors=authors,
                    dateline=dateline,
                    published_at=published_at_from(meta=page.date, dateline=dateline),
                    source=site,
                    section=section,
                    language=page.language,
                    part_index=0,
                    extractor=extractor,
                )
            )
        else:
            out.append(
                ParsedArticle(
                    paragraphs=part.paragraphs,
                    title=part.title,
                    dateline=part.dateline,
                    published_at=published_at_from(dateline=part.dateline),
                    source=site,
                    section=section,
                    language=page.language,
                    part_index=part.part_index,
                    extractor=extractor,
                )
            )
    return out


def parse_html(
    html: str, *, url: str, config: CoreConfig, source: str | None = None
) -> list[ParsedArticle]:
    """Find the stories of an HTML page.

    Never raises on odd input and never fetches anything. Size, depth and tag limits
    are the decoder's job (`streams.core.limits`), checked before this is called.

    Args:
        html (str): the page's HTML.
        url (str): the page address (metadata hint only; never fetched).
        config (CoreConfig): core settings (`html_favor_precision`, `html_extractor`).
        source (str | None): publisher name from the event; wins over the page's
            site name. Defaults to None.

    Returns:
        list[ParsedArticle]: part 0 (the page story) first, then embedded stories;
        empty when the page has no text.
    """
    tree = load_tree(html)
    if tree is None:
        return []
    page = extract_page(tree, url=url, settings=settings_for(config))
    if page is None:
        text = visible_text(tree)
        if not text:
            return []
        return _from_text(text, url=url, config=config, source=source, language=page_language(tree))
    blocks, byline, authors = _header(page.blocks, page.title)
    if byline is None:
        byline, authors = _authors(page.author)
    captions = caption_keys(tree)
    kept = [b for b in clean_blocks(blocks) if text_key(b.text) not in captions]
    kept = drop_link_blocks(kept, link_texts(tree)) or clean_blocks(blocks)
    stories = split_stories([block.text for block in kept])
    page_dateline: Dateline | None = None
    if stories and stories[0].dateline is None:
        # A dateline printed in its own element above the text (trafilatura drops it).
        page_dateline = _page_dateline(short_texts_before(tree, stories[0].paragraphs[0]))
    return _articles(
        page,
        stories,
        byline=byline,
        authors=authors,
        page_dateline=page_dateline,
        source=source,
        extractor=config.html_extractor,
    )
