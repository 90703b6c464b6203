"""Claim appearances: how often, where and since when a statement has been carried.

A pure fold: the worker keeps the current aggregate per claim id in a table and calls
`record_appearance` for every claim it publishes; the result is the new aggregate.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from streams.models import Article, Claim, ClaimAppearances, Sighting

MAX_SOURCES = 1000
"""Distinct sources kept per claim (the count goes on; the list stops growing)."""


def _source_of(article: Article) -> str:
    """The publisher: the article's source, else the URL's host."""
    return article.source or urlsplit(article.url).netloc or article.url


def record_appearance(
    current: ClaimAppearances | None, claim: Claim, article: Article
) -> ClaimAppearances:
    """Fold one appearance of `claim` (in `article`) into its running aggregate.

    An article seen again right away (a redelivered input) counts once; under the
    at-least-once guarantee a redelivery of an older article can count twice, under
    exactly-once it cannot.

    Args:
        current (ClaimAppearances | None): the aggregate so far, None for a new claim.
        claim (Claim): the claim as published for `article`.
        article (Article): the article carrying it.

    Returns:
        ClaimAppearances: the updated aggregate.
    """
    sighting = Sighting(
        article_id=article.article_id,
        url=article.url,
        source=article.source,
        seen_at=article.fetched_at,
    )
    source = _source_of(article)
    if current is None:
        return ClaimAppearances(
            claim_id=claim.claim_id,
            text=claim.text,
            first_seen=sighting,
            last_seen=sighting,
            count=1,
            sources=[source],
        )
    if article.article_id in (current.first_seen.article_id, current.last_seen.article_id):
        return current
    sources = current.sources
    if source not in sources and len(sources) < MAX_SOURCES:
        sources = sorted([*sources, source])
    first = current.first_seen if current.first_seen.seen_at <= sighting.seen_at else sighting
    last = current.last_seen if current.last_seen.seen_at > sighting.seen_at else sighting
    return current.model_copy(
        update={
            "first_seen": first,
            "last_seen": last,
            "count": current.count + 1,
            "sources": sources,
        }
    )
