"""Quotes and their speakers on polnear-dev: the whole pipeline on each article's text.

Each article becomes a raw text event `{"url": "https://polnear.example/<id>",
"fetched_at": "<publication date>T00:00:00Z", "text": ...}` and goes through
`process_payloads` (the worker's path, batched as the worker batches). Every claim of
kind quote, partial quote or reported speech is a prediction `{"text", "speaker"}`; a
speaker that is only a pronoun (or unresolved) is null.
"""

from __future__ import annotations

import json
import time
from typing import Any

from streams.core.outcome import Outcome, Processed
from streams.core.pipeline import process_payloads, warm_up
from streams.evaluation.common import Predictions, Request, require, select_gold
from streams.models import Claim

SET_DIR = "polnear-dev"
QUOTE_KINDS: frozenset[str] = frozenset({"quote", "partial_quote", "reported"})
"""Claim kinds that are speech (statistics are not)."""
PRONOUNS: frozenset[str] = frozenset(
    {"i", "you", "he", "she", "it", "we", "they", "me", "him", "her", "us", "them"}
)
"""Speakers that are only one of these are reported as unknown (null)."""


def text_event(article: dict[str, Any]) -> bytes:
    """The raw text event for one `polnear_dev.jsonl` article."""
    event = {
        "url": f"https://polnear.example/{article['id']}",
        "fetched_at": f"{article['publication_date']}T00:00:00Z",
        "text": article["text"],
    }
    return json.dumps(event).encode()


def speaker_name(claim: Claim) -> str | None:
    """The claim's speaker name, or None when unknown or only a pronoun."""
    name = claim.speaker.name if claim.speaker is not None else None
    if not name or not name.strip() or name.strip().lower() in PRONOUNS:
        return None
    return name


def quote_predictions(outcome: Outcome) -> list[dict[str, Any]]:
    """The scorer's `{"text", "speaker"}` for each speech claim of the outcome."""
    if not isinstance(outcome, Processed):
        return []
    return [
        {"text": claim.text, "speaker": speaker_name(claim)}
        for claim in outcome.claims
        if claim.kind in QUOTE_KINDS
    ]


def predict(request: Request) -> Predictions:
    """The speech claims of each article of the split (scored against those articles only)."""
    gold = request.out / "quotes-gold.jsonl"
    source = require(request.data / SET_DIR / "polnear_dev.jsonl", "polnear_dev.jsonl")
    chosen = select_gold(source, request.split, request.limit, gold)
    config = request.config
    warm_up(config)
    rows = []
    seconds = 0.0
    for first in range(0, len(chosen), config.spacy_batch_size):
        batch = chosen[first : first + config.spacy_batch_size]
        started = time.perf_counter()
        outcomes = process_payloads([text_event(row) for row in batch], config=config)
        seconds += time.perf_counter() - started
        for row, outcome in zip(batch, outcomes, strict=True):
            rows.append({"id": row["id"], "quotes": quote_predictions(outcome)})
        request.advance(len(batch))
    return Predictions(rows=rows, scorer_args=lambda path: [gold, path], seconds=seconds)
