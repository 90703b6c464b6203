"""ParsedArticle: what a parser hands to the enrichment stages (internal, never published)."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.models import Dateline


@dataclass(frozen=True)
class ParsedArticle:
    """One story found on a page, before NLP.

    `part_index` is 0 for the page's own story and 1, 2, ... for wire stories embedded
    in it (those get `part_of` = the page story's id).
    """

    paragraphs: tuple[str, ...]
    title: str | None = None
    byline: str | None = None
    authors: tuple[str, ...] = ()
    dateline: Dateline | None = None
    published_at: str | None = None
    source: str | None = None
    section: str | None = None
    language: str | None = None
    part_index: int = 0
    extractor: str = ""
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> str:
        """The body text: paragraphs separated by one blank line (offsets refer to this)."""
        return "\n\n".join(self.paragraphs)
