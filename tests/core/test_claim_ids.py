"""Claim ids: variants of one statement share an id, different statements do not."""

from __future__ import annotations

import pytest

from streams.core.fingerprints import claim_id, normalise_claim

BASE = "The deployment of North Korean troops to Kursk is a sign of growing desperation."
BASE_INSERTED = "The deployment North Korean troops to Kursk is a sign of growing desperation."


@pytest.mark.parametrize(
    "variant",
    [
        "“The deployment of North Korean troops to Kursk is a sign of growing desperation.”",
        '"The deployment of North Korean troops to Kursk is a sign of growing desperation."',
        "‘The deployment of North Korean troops to Kursk is a sign of growing desperation’",
        "The deployment of North Korean troops to Kursk is a sign of growing desperation",
        "the deployment of north korean troops to kursk is a sign of growing desperation!",
        "The deployment of North Korean troops to Kursk is a sign of growing desperation…",
        "  The deployment of North Korean\ntroops to Kursk is a sign of  growing desperation. ",
        "The deployment of North Korean troops to Kursk is a sign of growing desperation,",
    ],
)
def test_quote_style_case_whitespace_and_trimmed_punctuation_share_an_id(variant: str) -> None:
    assert claim_id(variant) == claim_id(BASE)


@pytest.mark.parametrize(
    "variant",
    [
        "The deployment (of) North Korean troops to Kursk is a sign of growing desperation.",
        "The deployment [of] North Korean troops to Kursk is a sign of growing desperation.",
        "“The deployment (of) North Korean troops to Kursk is a sign of growing desperation”",
        "The deployment North Korean troops to Kursk is a sign of (Putin's) growing desperation.",
    ],
)
def test_short_bracketed_insertions_share_an_id(variant: str) -> None:
    assert claim_id(variant) == claim_id(BASE_INSERTED)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Sanctions alone are not enough.", "Sanctions are enough."),
        ("We need weapons now.", "We need weapons."),
        ("More than 600,000 soldiers were killed.", "More than 60,000 soldiers were killed."),
        ("The enemy understands strength.", "Our allies have this strength."),
        ("North Korea sent 10,000 troops.", "North Korea sent 12,000 troops."),
    ],
)
def test_different_statements_get_different_ids(a: str, b: str) -> None:
    assert claim_id(a) != claim_id(b)


def test_id_is_32_hex_digits_and_stable() -> None:
    cid = claim_id(BASE)
    assert len(cid) == 32 and int(cid, 16) >= 0
    assert cid == claim_id(BASE)
    assert normalise_claim("“We need ‘weapons’, now!”") == "we need weapons now"
