"""Claim appearances: the running aggregate of a statement across articles."""

from __future__ import annotations

import datetime as dt

from streams.core.appearances import record_appearance
from streams.core.config import CoreConfig
from streams.core.fingerprints import fingerprint
from streams.models import Article, Claim

FP = fingerprint("a body", CoreConfig())


def _article(aid: str, source: str | None, day: int, url: str | None = None) -> Article:
    return Article(
        article_id=aid,
        url=url or f"https://{aid}.example/story",
        source=source,
        fetched_at=dt.datetime(2024, 10, day, tzinfo=dt.UTC),
        body="a body",
        fingerprints=FP,
        extractor="test",
    )


def _claim(aid: str) -> Claim:
    return Claim(claim_id="c1", kind="quote", text="We need weapons.", mentions=[],
                 article_id=aid, url=f"https://{aid}.example/story")  # fmt: skip


def test_appearances_count_sources_and_first_last_seen() -> None:
    first = _article("a", "Site A", 28)
    state = record_appearance(None, _claim("a"), first)
    assert (state.count, state.sources, state.first_seen.article_id) == (1, ["Site A"], "a")
    state = record_appearance(state, _claim("b"), _article("b", None, 29, "https://b.example/x"))
    state = record_appearance(state, _claim("c"), _article("c", "Site A", 27))
    assert state.count == 3
    assert state.sources == ["Site A", "b.example"]
    assert state.first_seen.article_id == "c"  # fetched earliest
    assert state.last_seen.article_id == "b"


def test_the_same_article_again_is_not_counted_twice() -> None:
    article = _article("a", "Site A", 28)
    state = record_appearance(None, _claim("a"), article)
    assert record_appearance(state, _claim("a"), article) == state
