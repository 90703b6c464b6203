"""Builds the spaCy pipeline once per process from CoreConfig.

Only installed packages are loaded (nothing downloads at run time). A small registered
component marks every paragraph start as a sentence start, so that no sentence, entity
or quote ever spans two paragraphs of the body. A second one, `caps_ner`, re-runs NER on
a case-restored copy of lines written in capitals (headlines, datelines), where the
small model otherwise finds few names.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Iterator

import spacy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span

from streams.core.gazetteer import Gazetteer, load_gazetteer
from streams.errors import ModelNotInstalledError

PARAGRAPH_BREAK = "\n\n"


@Language.component(
    "paragraph_boundaries", assigns=["token.is_sent_start"], requires=[], retokenizes=False
)
def paragraph_boundaries(doc: Doc) -> Doc:
    """Start a sentence after every whitespace token holding a paragraph break."""
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


@functools.lru_cache(maxsize=4)
def load_nlp(model: str) -> Language:
    """Load `model` once per process.

    Args:
        model (str): name of an installed spaCy pipeline package.

    Returns:
        Language: the pipeline, with `paragraph_boundaries` before the parser and
        `caps_ner` right after "ner".

    Raises:
        ModelNotInstalledError: the package is not installed.
    """
    if importlib.util.find_spec(model) is None:
        raise ModelNotInstalledError(model)
    nlp = spacy.load(model)
    before = "parser" if "parser" in nlp.pipe_names else None
    if before:
        nlp.add_pipe("paragraph_boundaries", before=before)
    else:
        nlp.add_pipe("paragraph_boundaries", first=True)
    if "ner" in nlp.pipe_names:
        nlp.add_pipe("caps_ner", after="ner")
    return nlp


# --------------------------------------------------------------------------- capitals

_MIN_SHOUTED = 2
"""A line needs this many all-capital words (and no lowercase word) to be re-read."""


class CapsNer:
    """Re-run NER on a case-restored copy of lines written in capitals.

    The small model finds few names in "CRICKET - DERBYSHIRE BEAT KENT AT CHESTERFIELD":
    all words look alike in capitals. Each such line is rewritten word by word (same
    tokens, so the same offsets): a form of the word seen elsewhere in the document wins
    ("Derbyshire"); a known place or demonym is capitalised; a common English word or stop
    word is lowercased; anything else is capitalised as a name. The NER component then
    runs on those lines only, and its entities replace the model's within them.
    """

    def __init__(self, nlp: Language, name: str = "caps_ner") -> None:
        self.name = name
        self.ner: TrainablePipe = nlp.get_pipe("ner")
        self.vocab = nlp.vocab
        lemmatizer = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None
        words: set[str] = set(nlp.Defaults.stop_words)
        tables = getattr(lemmatizer, "lookups", None)
        if tables is not None and tables.has_table("lemma_index"):
            index = tables.get_table("lemma_index")
            for key in index:
                words.update(w for w in index[key] if "_" not in w)
        self.common = frozenset(words)

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Re-read the capital lines of a batch of documents in one NER batch."""
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._batch(batch)
                batch = []
        yield from self._batch(batch)

    def _batch(self, batch: list[Doc]) -> list[Doc]:
        jobs = [(doc, lines) for doc in batch if (lines := _shouted_lines(doc))]
        copies = [self._copy(doc, lines) for doc, lines in jobs]
        restored = self.ner.pipe(copy for copy, _ in copies)
        for (doc, lines), (_, where), copy in zip(jobs, copies, restored, strict=True):
            _replace_ents(doc, lines, copy, where)
        return batch

    def _copy(self, doc: Doc, lines: list[tuple[int, int]]) -> tuple[Doc, list[int]]:
        """The capital lines, case restored, one after another; and each token's source."""
        seen = _case_forms(doc)
        gazetteer = load_gazetteer()
        words: list[str] = []
        spaces: list[bool] = []
        where: list[int] = []
        for start, end in lines:
            for token in doc[start:end]:
                words.append(self._restore(token.text, seen, gazetteer))
                spaces.append(bool(token.whitespace_))
                where.append(token.i)
            words.append("\n")
            spaces.append(False)
            where.append(-1)
        return Doc(self.vocab, words=words, spaces=spaces), where

    def _restore(self, word: str, seen: dict[str, str], gazetteer: Gazetteer) -> str:
        """The word as it would be printed in a sentence (a line's first word is left
        lowercase when common: "Cricket" at a line start reads as a name to the model)."""
        if not word.isupper() or not word.isalpha():
            return word
        lower = word.lower()
        if lower in seen:
            return seen[lower]
        title = word.title()
        if gazetteer.place_kind(title) or gazetteer.is_demonym(title):
            return title
        if lower in self.common or lower.rstrip("s") in self.common:
            return lower
        return title


def _replace_ents(doc: Doc, lines: list[tuple[int, int]], copy: Doc, where: list[int]) -> None:
    """Within `lines`, the entities of the case-restored `copy` replace the model's."""
    inside = bytearray(len(doc))
    for start, end in lines:
        inside[start:end] = b"\x01" * (end - start)
    kept = [e for e in doc.ents if not any(inside[e.start : e.end])]
    found = [
        Span(doc, where[e.start], where[e.end - 1] + 1, label=e.label_)
        for e in copy.ents
        if -1 not in where[e.start : e.end]  # never across two lines
    ]
    doc.ents = sorted(kept + found, key=lambda s: s.start)


def _shouted_lines(doc: Doc) -> list[tuple[int, int]]:
    """Token ranges of lines with no lowercase letter and at least two all-capital words."""
    lines: list[tuple[int, int]] = []
    offset = 0
    for line in doc.text.split("\n"):
        if line.isupper() and sum(w.isalpha() and len(w) > 1 for w in line.split()) >= 2:
            span = doc.char_span(offset, offset + len(line), alignment_mode="expand")
            if span is not None and len(span):
                lines.append((span.start, span.end))
        offset += len(line) + 1
    return lines


def _case_forms(doc: Doc) -> dict[str, str]:
    """Lowercased word -> how the document writes it when not in capitals."""
    forms: dict[str, str] = {}
    for token in doc:
        text = token.text
        if token.is_alpha and not token.is_upper and (token.is_lower or not token.is_sent_start):
            forms.setdefault(text.lower(), text)
    return forms


@Language.factory("caps_ner", requires=["doc.ents"], assigns=["doc.ents"])
def make_caps_ner(nlp: Language, name: str) -> CapsNer:
    """Factory of `CapsNer` (added after "ner" by `load_nlp`)."""
    return CapsNer(nlp, name)
