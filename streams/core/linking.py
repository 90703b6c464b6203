"""Linking an article to what the stream has seen: dedupe decision and claim appearances.

The one step that needs state across inputs. `streams process` runs it with in-memory
state over the inputs of one run; the worker runs it in a single-partition stage whose
state lives in Faust tables, so both publish the same records for the same stream.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from streams.core.appearances import record_appearance
from streams.core.config import CoreConfig
from streams.core.dedupe import DedupeIndex
from streams.core.fingerprints import shingle_sketch
from streams.core.outcome import Processed
from streams.models import Article, ClaimAppearances


def link(
    processed: Processed,
    *,
    index: DedupeIndex,
    appearances: MutableMapping[str, ClaimAppearances],
    config: CoreConfig,
) -> Processed:
    """Mark duplicates, assign clusters and update claim appearances, in article order.

    Args:
        processed (Processed): articles and claims of one input (or one story).
        index (DedupeIndex): what the stream has seen; the articles are added to it.
        appearances (MutableMapping): claim id → running aggregate; updated in place.
        config (CoreConfig): sketch parameters.

    Returns:
        Processed: the articles with `duplicate_of`, `cluster_id` and `similarity` set, the
            same claims, and the updated aggregate of each claim.
    """
    articles: dict[str, Article] = {}
    for article in processed.articles:
        sketch = shingle_sketch(article.body, config)
        decision = index.add(article.article_id, article.fingerprints, sketch, article.fetched_at)
        duplicate = decision.duplicate_of is not None
        articles[article.article_id] = article.model_copy(
            update={
                "duplicate_of": decision.duplicate_of,
                "cluster_id": decision.cluster_id,
                "similarity": decision.similarity if duplicate else None,
            }
        )
    updated: dict[str, ClaimAppearances] = {}
    for claim in processed.claims:
        current = appearances.get(claim.claim_id)
        seen = record_appearance(current, claim, articles[claim.article_id])
        if seen != current:
            appearances[claim.claim_id] = seen
            updated[claim.claim_id] = seen
    return Processed(
        articles=tuple(articles.values()),
        claims=processed.claims,
        appearances=tuple(updated.values()),
    )
