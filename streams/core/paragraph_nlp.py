"""spaCy over article bodies paragraph by paragraph, with a bounded cache of parsed paragraphs.

Syndicated copies of a wire story repeat most of its paragraphs word for word, and a
follow-up story repeats some of the first one's (the seed page's two AFP stories do).
Sentences never cross a paragraph break in this pipeline (`paragraph_boundaries`), so a
paragraph parses the same on its own: only the model's few tokens of context across the
break are lost (`streams eval` measures the effect on entities and quotes). Each distinct
paragraph therefore goes through the model once per process while it stays in the cache;
a body's paragraphs are then joined into one Doc, and the components that read the whole
document (`caps_ner`) run on that. Short documents also batch better than long ones.

The result never depends on the cache: a paragraph is always parsed alone.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

import numpy
import xxhash
from spacy.language import Language
from spacy.tokens import Doc

PARAGRAPH_BREAK: Final[str] = "\n\n"
DOCUMENT_COMPONENTS: Final[tuple[str, ...]] = ("caps_ner",)
"""Components that read the whole body; they run after the paragraphs are joined."""


def split_paragraphs(text: str) -> list[str]:
    """The body cut after each paragraph break; the pieces join back to `text`."""
    parts = text.split(PARAGRAPH_BREAK)
    pieces = [part + PARAGRAPH_BREAK for part in parts[:-1]] + [parts[-1]]
    return [piece for piece in pieces if piece]


def _join(parts: list[Doc]) -> Doc:
    """One Doc of a body's parsed paragraphs (their text already holds the breaks)."""
    # spaCy's type stub lacks from_docs' `exclude` keyword (present since spaCy 3.4)
    return Doc.from_docs(parts, ensure_whitespace=False, exclude=["tensor"])  # type: ignore[call-arg]


class ParagraphPipe:
    """Runs a pipeline over bodies one paragraph at a time, reusing parsed paragraphs.

    Args:
        nlp (Language): the loaded pipeline (`streams.core.nlp.load_nlp`).
        cache_size (int): most paragraphs kept (least recently used go first); 0 keeps none.
        batch_size (int): paragraphs per `nlp.pipe` batch.
    """

    def __init__(self, nlp: Language, *, cache_size: int, batch_size: int) -> None:
        self.nlp = nlp
        self.cache_size = cache_size
        self.batch_size = batch_size
        self.hits = 0
        self.misses = 0
        self._cache: OrderedDict[bytes, Doc] = OrderedDict()
        self._warmed: set[bytes] = set()
        self._document = [name for name in DOCUMENT_COMPONENTS if name in nlp.pipe_names]

    def __call__(self, texts: Sequence[str]) -> list[Doc]:
        """One Doc per text, equal in text and tokens to what `nlp` would give on its own."""
        pieces = [split_paragraphs(text) for text in texts]
        parsed = self._paragraphs({p for body in pieces for p in body})
        docs = []
        for text, body in zip(texts, pieces, strict=True):
            parts = [parsed[piece] for piece in body]
            doc = _join(parts) if parts else None
            if doc is None or doc.text != text:  # never expected: parse the body whole
                doc = self.nlp(text)
            docs.append(doc)
        for name in self._document:
            docs = list(self.nlp.get_pipe(name).pipe(docs))  # type: ignore[attr-defined]
        return docs

    def warm(self, texts: Sequence[str], budget_chars: int) -> bool:
        """Parse about `budget_chars` characters of the bodies' paragraphs not in the cache.

        A scheduler cuts a long body's NLP into short turns this way, so that short bodies
        waiting behind it get the process in between; the body's own call then finds its
        paragraphs in the cache. Bodies with more new paragraphs than half the cache are
        left alone (warming would evict its own work).

        Args:
            texts (Sequence[str]): the bodies.
            budget_chars (int): paragraph characters to parse in this turn (at least one
                paragraph is parsed).

        Returns:
            bool: True when paragraphs not in the cache remain.
        """
        if self.cache_size <= 0:
            return False
        todo = [
            (key, piece)
            for piece in sorted({p for text in texts for p in split_paragraphs(text)})
            if (key := _key(piece)) not in self._cache
        ]
        if len(todo) > self.cache_size // 2:
            return False
        size = 0
        turn: list[tuple[bytes, str]] = []
        for key, piece in todo:
            if turn and size + len(piece) > budget_chars:
                break
            turn.append((key, piece))
            size += len(piece)
        for key, _ in self._parse(turn).items():
            self._warmed.add(key)
        return len(turn) < len(todo)

    def _paragraphs(self, wanted: set[str]) -> dict[str, Doc]:
        """Parsed paragraphs: from the cache, or through the model in one batch."""
        found: dict[str, Doc] = {}
        todo: list[tuple[bytes, str]] = []
        warmed = 0
        for piece in sorted(wanted):
            key = _key(piece)
            doc = self._cache.get(key)
            if doc is None:
                todo.append((key, piece))
                continue
            self._cache.move_to_end(key)
            found[piece] = doc
            if key in self._warmed:  # parsed ahead for this body: not a reuse
                self._warmed.discard(key)
                warmed += 1
        self.hits += len(found) - warmed
        self.misses += len(todo) + warmed
        for (_, piece), doc in zip(todo, self._parse(todo).values(), strict=True):
            found[piece] = doc
        return found

    def _parse(self, todo: Sequence[tuple[bytes, str]]) -> dict[bytes, Doc]:
        """Paragraphs through the model in one batch, remembered in the cache."""
        docs: dict[bytes, Doc] = {}
        with self.nlp.select_pipes(disable=self._document):
            parsed = self.nlp.pipe([piece for _, piece in todo], batch_size=self.batch_size)
            for (key, _), doc in zip(todo, parsed, strict=True):
                doc.tensor = numpy.zeros((0,), dtype="float32")  # not needed once joined
                docs[key] = doc
                self._remember(key, doc)
        return docs

    def _remember(self, key: bytes, doc: Doc) -> None:
        if self.cache_size <= 0:
            return
        self._cache[key] = doc
        while len(self._cache) > self.cache_size:
            evicted, _ = self._cache.popitem(last=False)
            self._warmed.discard(evicted)


def _key(paragraph: str) -> bytes:
    return xxhash.xxh3_128_digest(paragraph.encode("utf-8"))


__all__ = ["DOCUMENT_COMPONENTS", "ParagraphPipe", "split_paragraphs"]
