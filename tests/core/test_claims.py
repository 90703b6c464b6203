"""Claims on the seed page: both AFP stories, against real spaCy and real entities."""

from __future__ import annotations

import pytest
from spacy.language import Language
from spacy.tokens import Doc

from streams.core.claims import ClaimDraft, extract_claims
from streams.core.config import CoreConfig
from streams.core.cues import PRONOUN_TYPES
from streams.core.entities import extract_entities
from streams.core.nlp import load_nlp
from streams.core.textparse import parse_text

SEED_URL = "https://www.spacewar.com/reports/seed.html"


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_nlp(CoreConfig().spacy_model)


@pytest.fixture(scope="module")
def docs(nlp: Language, seed_text: str) -> list[Doc]:
    articles = parse_text(seed_text, url=SEED_URL)
    assert len(articles) == 2
    assert articles[0].body.startswith("NATO chief Mark Rutte on Monday decried")
    assert articles[1].body.startswith("North Korea has sent some 10,000 troops")
    return [nlp(a.body) for a in articles]


@pytest.fixture(scope="module")
def claims(docs: list[Doc]) -> list[list[ClaimDraft]]:
    return [extract_claims(doc, extract_entities(doc)) for doc in docs]


def _by_text(drafts: list[ClaimDraft], prefix: str) -> list[ClaimDraft]:
    found = [d for d in drafts if d.text.startswith(prefix)]
    assert found, f"no claim starting {prefix!r}"
    return found


def _speaker(draft: ClaimDraft) -> str | None:
    return draft.speaker.name if draft.speaker else None


def test_offsets_match_the_body(docs: list[Doc], claims: list[list[ClaimDraft]]) -> None:
    for doc, drafts in zip(docs, claims, strict=True):
        for draft in drafts:
            for mention in draft.mentions:
                assert doc.text[mention.start : mention.end] == mention.text
            assert draft.text == " ".join(m.text for m in draft.mentions)


@pytest.mark.parametrize(
    "name",
    [
        "Mark Rutte",
        "Andriy Yermak",
        "Sabrina Singh",
        "Volodymyr Zelensky",
        "Matthew Miller",
        "Ursula von der Leyen",
        "Joe Biden",
    ],
)
def test_every_quoted_speaker_is_canonical(claims: list[list[ClaimDraft]], name: str) -> None:
    quoted = {
        _speaker(d) for drafts in claims for d in drafts if d.kind in {"quote", "partial_quote"}
    }
    assert name in quoted


def test_pronoun_continuation_and_role_attribution(claims: list[list[ClaimDraft]]) -> None:
    first, second = claims
    for drafts in claims:
        for prefix in ("Today, Russia brings in North Korea", "The enemy understands strength."):
            assert {_speaker(d) for d in _by_text(drafts, prefix)} == {"Andriy Yermak"}
    (enemy,) = _by_text(first, "The enemy understands strength.")
    assert enemy.text == "The enemy understands strength. Our allies have this strength."
    assert enemy.kind == "quote"
    (continuation,) = _by_text(first, "The deployment (of) North Korean troops to Kursk")
    assert (continuation.kind, _speaker(continuation)) == ("quote", "Mark Rutte")
    (soon,) = _by_text(second, "We think that they will have 12,000 soon")
    assert (soon.kind, _speaker(soon), soon.cue) == ("quote", "Volodymyr Zelensky", "added")
    (she,) = _by_text(second, "the EU's response to this development")
    assert (she.kind, _speaker(she)) == ("partial_quote", "Ursula von der Leyen")


def test_reported_claims_carry_their_quantities(claims: list[list[ClaimDraft]]) -> None:
    first, second = claims
    for drafts in claims:
        (killed,) = _by_text(drafts, "more than 600,000 Russian soldiers")
        assert (killed.kind, _speaker(killed)) == ("reported", "Mark Rutte")
        assert [(q.value, q.approx) for q in killed.quantities] == [(600000.0, "more than")]
    (claimed,) = _by_text(first, "North Korea is training 10,000 soldiers")
    assert (claimed.kind, _speaker(claimed), claimed.cue) == (
        "reported",
        "Volodymyr Zelensky",
        "claimed",
    )
    assert [q.value for q in claimed.quantities] == [10000.0]
    (washington,) = _by_text(second, "North Korea has sent some 10,000 troops")
    assert washington.speaker is not None
    assert (washington.kind, washington.speaker.name, washington.speaker.type) == (
        "reported",
        "Washington",
        "place",
    )
    assert [(q.value, q.approx) for q in washington.quantities] == [(10000.0, "some")]
    (three,) = _by_text(second, "there were already around 3,000")
    assert (_speaker(three), three.quantities[0].value) == ("Volodymyr Zelensky", 3000.0)
    (group,) = _by_text(first, "thousands of North Korean troops are training")
    assert group.speaker is not None and group.speaker.type == "group"


def test_statistic_according_to(claims: list[list[ClaimDraft]]) -> None:
    (stat,) = [d for d in claims[1] if d.kind == "statistic" and d.cue == "according to"]
    assert stat.text.startswith("Moscow's army has advanced 478 square kilometers")
    assert "according to" not in stat.text
    assert stat.cue == "according to"
    assert stat.speaker is not None and stat.speaker.type == "organization"
    assert stat.speaker.name == "Institute for the Study of War"
    assert [(q.value, q.unit) for q in stat.quantities][:2] == [
        (478.0, "square kilometers"),
        (184.0, "square miles"),
    ]


def test_statistic_put_at(claims: list[list[ClaimDraft]]) -> None:
    (stat,) = [d for d in claims[1] if d.kind == "statistic" and d.cue == "put"]
    assert stat.text == "the number of North Korean troops in Russia at more than 3,000"
    assert _speaker(stat) == "Washington"
    assert [(q.value, q.approx) for q in stat.quantities] == [(3000.0, "more than")]


def test_titles(claims: list[list[ClaimDraft]]) -> None:
    titles = {d.speaker.name: d.speaker.title for drafts in claims for d in drafts if d.speaker}
    assert titles["Mark Rutte"] == "NATO chief"
    assert titles["Sabrina Singh"] == "Deputy Pentagon Press Secretary"
    assert titles["Matthew Miller"] == "State Department spokesman"
    assert titles["Andriy Yermak"] == "Zelensky's chief of staff"
    assert titles["Ursula von der Leyen"] == "EU chief"
    assert titles["Joe Biden"] == "US President"


def test_no_crosshead_text_and_no_pronoun_speaker(claims: list[list[ClaimDraft]]) -> None:
    for drafts in claims:
        for draft in drafts:
            assert "Growing threats" not in draft.text
            assert not draft.text.startswith("- ")
            name = _speaker(draft)
            assert name is None or name.lower() not in PRONOUN_TYPES


def test_short_fragments_are_not_claims(claims: list[list[ClaimDraft]]) -> None:
    texts = {d.text for drafts in claims for d in drafts}
    assert "soon" not in texts
    assert "for the first time" not in texts
    assert 'the deployment as "very dangerous."' in texts


def test_crossheads_inside_a_body_are_skipped(nlp: Language, docs: list[Doc]) -> None:
    body = docs[1].text.replace(
        "\n\nSpeaking in Brussels", "\n\n- Growing threats -\n\nSpeaking in Brussels"
    )
    doc = nlp(body)
    drafts = extract_claims(doc, extract_entities(doc))
    assert not [d for d in drafts if "Growing threats" in d.text]


@pytest.mark.parametrize(
    ("sentence", "speaker", "figure"),
    [
        (
            "Officials in the capital put the number of displaced people at more than 3,000.",
            "Officials",
            3000.0,
        ),
        (
            "Health officials put the death toll at 45 on Sunday, up from 30.",
            "Health officials",
            45.0,
        ),
    ],
)
def test_figure_put_at_a_number_is_a_statistic(
    nlp: Language, sentence: str, speaker: str, figure: float
) -> None:
    doc = nlp(sentence)
    (draft,) = [d for d in extract_claims(doc, extract_entities(doc)) if d.kind == "statistic"]
    assert draft.cue == "put"
    assert draft.quantities[0].value == figure
    assert _speaker(draft) == speaker
    assert draft.speaker is not None and draft.speaker.type == "group"


def test_putting_an_object_somewhere_is_not_a_statistic(nlp: Language) -> None:
    doc = nlp("He put the book at the end of the table after 3 days.")
    assert not [d for d in extract_claims(doc, extract_entities(doc)) if d.kind == "statistic"]
