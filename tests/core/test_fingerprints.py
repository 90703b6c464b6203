"""Fingerprints, ids and claim-id normalisation on hand-written text."""

from __future__ import annotations

import pytest

from streams.core.config import CoreConfig
from streams.core.fingerprints import (
    article_id,
    canonical_url,
    claim_id,
    fingerprint,
    minhash_similarity,
    normalise_claim,
    simhash_distance,
)

CONFIG = CoreConfig()

STORY = (
    "The city council voted on Tuesday to close the old harbour bridge to heavy lorries "
    "after engineers found cracks in two of its steel supports.\n\n"
    "The mayor said the closure would last at least six months while repairs are planned, "
    "and that buses would be rerouted through the northern ring road.\n\n"
    "Local businesses warned that the detour would add up to forty minutes to deliveries "
    "and asked the council for compensation during the works.\n\n"
    "The bridge, opened in 1932, carries about 18,000 vehicles a day according to the "
    "regional transport office, which will publish a traffic plan next week."
)
OTHER = (
    "Scientists at the national observatory reported a bright new comet that should be "
    "visible to the naked eye from southern latitudes early next month.\n\n"
    "The comet was first spotted by an amateur astronomer using a small telescope, and "
    "its orbit suggests it last passed the Sun thousands of years ago.\n\n"
    "Astronomers advised observers to look low on the western horizon shortly after sunset."
)


def test_exact_copy_with_other_formatting_has_same_content_hash() -> None:
    reformatted = STORY.upper().replace("\n\n", "\n").replace(",", " ,") + "  "
    assert fingerprint(reformatted, CONFIG).content_hash == fingerprint(STORY, CONFIG).content_hash


def test_changed_word_changes_content_hash() -> None:
    edited = STORY.replace("six months", "seven months")
    assert fingerprint(edited, CONFIG).content_hash != fingerprint(STORY, CONFIG).content_hash


def test_near_copy_is_similar_and_shares_an_lsh_band() -> None:
    near = STORY.replace("Tuesday", "Wednesday") + "\n\nThe council will meet again in May."
    a, b = fingerprint(STORY, CONFIG), fingerprint(near, CONFIG)
    assert minhash_similarity(a, b) > 0.6
    assert simhash_distance(a, b) <= 12
    assert set(a.lsh_bands) & set(b.lsh_bands)


def test_different_stories_are_dissimilar_and_share_no_band() -> None:
    a, b = fingerprint(STORY, CONFIG), fingerprint(OTHER, CONFIG)
    assert minhash_similarity(a, b) < 0.1
    assert simhash_distance(a, b) > 12
    assert not set(a.lsh_bands) & set(b.lsh_bands)


def test_fingerprint_records_its_parameters() -> None:
    fp = fingerprint(STORY, CONFIG)
    assert fp.params.strategy == "minhash-simhash.v1"
    assert fp.params.lsh_bands * fp.params.lsh_rows <= fp.params.minhash_num_perm
    assert len(fp.minhash) == fp.params.minhash_num_perm
    assert len(fp.lsh_bands) == fp.params.lsh_bands
    assert len(fp.simhash) == 16 and int(fp.simhash, 16) >= 0


def test_fingerprint_of_empty_and_tiny_bodies_does_not_fail() -> None:
    assert fingerprint("", CONFIG).content_hash
    assert fingerprint("One word", CONFIG).minhash


def test_comparing_fingerprints_of_other_parameters_is_refused() -> None:
    other = CoreConfig(minhash_num_perm=64)
    with pytest.raises(ValueError, match="different parameters"):
        minhash_similarity(fingerprint(STORY, CONFIG), fingerprint(STORY, other))


@pytest.mark.parametrize(
    "variant",
    [
        "“The deployment (of) troops is a sign of growing desperation.”",
        '"The deployment troops is a sign of growing desperation"',
        "the deployment troops is a sign of growing  desperation.",
        "The deployment [of] troops is a sign of growing desperation…",
    ],
)
def test_claim_id_ignores_quote_style_case_punctuation_and_insertions(variant: str) -> None:
    assert claim_id(variant) == claim_id("The deployment troops is a sign of growing desperation.")


def test_different_statements_get_different_claim_ids() -> None:
    assert claim_id("Sanctions alone are not enough.") != claim_id("Sanctions are enough.")
    assert normalise_claim("We need “weapons”, now!") == "we need weapons now"


def test_article_id_is_stable_and_ignores_tracking() -> None:
    url = "https://News.example.com/world/story-1?id=7"
    assert article_id(url, 0) == article_id("https://news.example.com/world/story-1?id=7#top", 0)
    assert article_id(url, 0) == article_id(url + "&utm_source=feed", 0)
    assert article_id(url, 0) != article_id(url, 1)
    assert article_id(url, 0) != article_id("https://news.example.com/world/story-2?id=7", 0)
    assert canonical_url("https://example.com:443") == "https://example.com/"
