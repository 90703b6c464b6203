"""Arbitrary pages through the whole core: never an exception, never a processing error."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.config import CoreConfig
from streams.core.outcome import Processed
from streams.core.pipeline import process_payload
from streams.models import DeadLetter, RejectReason

CONFIG = CoreConfig()
WORDS = st.sampled_from(
    [
        "said", "told", "“", "”", '"', "he", "She", "added", "Rutte", "NATO", "chief", "the",
        "more than", "10,000", "478 square kilometers", "according to", "Paris", "(AFP)",
        "Oct 28, 2024 -", "\n\n", "\n", ".", ",", "Related Links", "by", "Staff Writers",
        "- Crosshead -", "'s", "Ukrainian", "leader", "put the number at", "3,000",
    ]
)  # fmt: skip
PAGES = st.one_of(
    st.text(max_size=400),
    st.lists(WORDS, max_size=120).map(" ".join),
)


def _check(outcome: Processed | DeadLetter) -> None:
    if isinstance(outcome, DeadLetter):
        assert outcome.reason != RejectReason.PROCESSING_ERROR, outcome.message
        return
    for article in outcome.articles:
        for entity in article.entities:
            for mention in entity.mentions:
                assert article.body[mention.start : mention.end] == mention.text
    bodies = {a.article_id: a.body for a in outcome.articles}
    for claim in outcome.claims:
        for mention in claim.mentions:
            assert bodies[claim.article_id][mention.start : mention.end] == mention.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=PAGES, as_html=st.booleans())
def test_any_page_gives_articles_or_a_dead_letter(page: str, as_html: bool) -> None:
    field = "html" if as_html else "text"
    payload = orjson.dumps({"url": "https://example.com/p", "fetched_at": "2024-01-01T00:00:00Z",
                            field: page})  # fmt: skip
    _check(process_payload(payload, config=CONFIG))
