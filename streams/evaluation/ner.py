"""Named entities on conll2003-dev: the pipeline's spaCy model plus the entity stage.

Each `docs.jsonl` text goes through the pipeline's spaCy path (`ParagraphPipe` over
`load_nlp(config.spacy_model)`, no reuse between texts) and `extract_entities`,
the functions the worker's entity stage runs; every mention of a name is a prediction.
Published labels are mapped for the scorer: PLACE -> LOC, PERSON -> PER, ORG -> ORG, the
other name labels -> MISC; dates and numbers are dropped. Throughput counts spaCy tokens
per second of the entity stage (spaCy + our entity code).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from streams.core.config import CoreConfig
from streams.core.entities import NAME_LABELS, extract_entities
from streams.core.gazetteer import load_gazetteer
from streams.core.nlp import load_nlp
from streams.core.paragraph_nlp import ParagraphPipe
from streams.evaluation.common import Predictions, Request, per_second, require, select_gold
from streams.models import Entity

SET_DIR = "conll2003-dev"
SCORER_LABELS: dict[str, str] = {"PLACE": "LOC", "PERSON": "PER", "ORG": "ORG"}
"""Our published name labels that have a CoNLL type of their own; other names are MISC."""


def scorer_label(label: str) -> str | None:
    """The CoNLL type of a published label: PER, ORG, LOC, MISC, or None (not a name)."""
    if label not in NAME_LABELS:
        return None
    return SCORER_LABELS.get(label, "MISC")


def scorer_entities(entities: Iterable[Entity]) -> list[dict[str, Any]]:
    """Every mention of every name, as the scorer's `{"start", "end", "label"}`."""
    out = []
    for entity in entities:
        label = scorer_label(entity.label)
        if label is not None:
            out += [{"start": m.start, "end": m.end, "label": label} for m in entity.mentions]
    return out


def gold_path(data: Path) -> Path:
    """`docs.jsonl`: the stories' text and gold entities."""
    return require(data / SET_DIR / "docs.jsonl", "conll2003-dev docs.jsonl")


@dataclass(frozen=True)
class Tagged:
    """The entity stage's output on some texts, with its timing."""

    docs: list[Doc]
    entities: list[list[Entity]]
    spacy_seconds: float
    entity_seconds: float

    @property
    def tokens(self) -> int:
        """spaCy tokens over all texts."""
        return sum(len(doc) for doc in self.docs)


def tag(
    texts: Sequence[str],
    *,
    config: CoreConfig,
    nlp: Language | None = None,
    progress: Callable[[int], object] | None = None,
) -> Tagged:
    """Run spaCy (in batches, as the pipeline does) and `extract_entities` on each text.

    The model and gazetteer are loaded before timing starts.
    """
    pipe = ParagraphPipe(
        nlp if nlp is not None else load_nlp(config.spacy_model),
        cache_size=0,  # each text counts: no reuse between documents
        batch_size=config.paragraph_batch_size,
    )
    load_gazetteer()
    docs: list[Doc] = []
    entities: list[list[Entity]] = []
    spacy_s = entity_s = 0.0
    for first in range(0, len(texts), config.spacy_batch_size):
        started = time.perf_counter()
        batch = pipe(texts[first : first + config.spacy_batch_size])
        spacy_s += time.perf_counter() - started
        for doc in batch:
            started = time.perf_counter()
            entities.append(extract_entities(doc))
            entity_s += time.perf_counter() - started
            docs.append(doc)
            if progress is not None:
                progress(1)
    return Tagged(docs=docs, entities=entities, spacy_seconds=spacy_s, entity_seconds=entity_s)


def predict(request: Request) -> Predictions:
    """Every name mention in each story of the split (scored against those stories only)."""
    gold = request.out / "ner-gold.jsonl"
    rows = select_gold(gold_path(request.data), request.split, request.limit, gold)
    tagged = tag([row["text"] for row in rows], config=request.config, progress=request.progress)
    seconds = tagged.spacy_seconds + tagged.entity_seconds
    conll_tokens = sum(int(row.get("n_tokens", 0)) for row in rows)
    return Predictions(
        rows=[
            {"id": row["id"], "entities": scorer_entities(found)}
            for row, found in zip(rows, tagged.entities, strict=True)
        ],
        scorer_args=lambda path: ["score", gold, path],
        seconds=seconds,
        throughput={
            "spacy_tokens": tagged.tokens,
            "tokens_per_s": per_second(tagged.tokens, seconds),
            "spacy_only_tokens_per_s": per_second(tagged.tokens, tagged.spacy_seconds),
            "conll_tokens": conll_tokens,
            "conll_tokens_per_s": per_second(conll_tokens, seconds),
        },
    )
