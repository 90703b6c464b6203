"""Attribution patterns on small hand-written paragraphs, through real spaCy and entities."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from spacy.language import Language

from streams.core.claims import ClaimDraft, extract_claims
from streams.core.config import CoreConfig
from streams.core.entities import extract_entities
from streams.core.nlp import load_nlp

Extract = Callable[[str], list[ClaimDraft]]


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_nlp(CoreConfig().spacy_model)


@pytest.fixture(scope="module")
def claims(nlp: Language) -> Extract:
    def run(text: str) -> list[ClaimDraft]:
        doc = nlp(text)
        found = extract_claims(doc, extract_entities(doc))
        for draft in found:
            mention = draft.mentions[0]
            assert doc.text[mention.start : mention.end] == draft.text == mention.text
        return found

    return run


def _only(found: list[ClaimDraft], kind: str) -> ClaimDraft:
    of_kind = [d for d in found if d.kind == kind]
    assert len(of_kind) == 1, found
    return of_kind[0]


def test_speaker_before_quote_with_colon(claims: Extract) -> None:
    draft = _only(
        claims('Finance Minister Jane Porter said: "We will cut taxes. The economy is strong."'),
        "quote",
    )
    assert draft.text == "We will cut taxes. The economy is strong."
    assert draft.speaker is not None
    assert (draft.speaker.name, draft.speaker.title, draft.speaker.type) == (
        "Jane Porter",
        "Finance Minister",
        "person",
    )
    assert draft.cue == "said"


def test_inverted_attribution_with_curly_quotes(claims: Extract) -> None:
    draft = _only(claims("“We will not back down,” said Interior Minister Carlos Mendes."), "quote")
    assert draft.text == "We will not back down"
    assert draft.speaker is not None and draft.speaker.name == "Carlos Mendes"


def test_pronoun_resolves_to_recent_person_with_appositive_title(claims: Extract) -> None:
    found = claims(
        "Carlos Mendes, the interior minister, spoke on Tuesday.\n\n"
        '"We will not back down," he said.'
    )
    draft = _only(found, "quote")
    assert draft.speaker is not None
    assert (draft.speaker.name, draft.speaker.title) == ("Carlos Mendes", "interior minister")


def test_role_description_resolves_through_title(claims: Extract) -> None:
    found = claims(
        "French President Emmanuel Macron met workers on Monday.\n\n"
        '"This plant will stay open," the French leader told reporters.'
    )
    draft = _only(found, "quote")
    assert draft.speaker is not None and draft.speaker.name == "Emmanuel Macron"
    assert draft.speaker.title == "French President"


def test_continuation_paragraph_keeps_previous_speaker(claims: Extract) -> None:
    found = claims(
        '"Prices rose sharply," central bank governor Maria Olsen said.\n\n'
        '"We expect them to fall again by spring."'
    )
    assert [d.kind for d in found] == ["quote", "quote"]
    assert all(d.speaker is not None and d.speaker.name == "Maria Olsen" for d in found)
    assert found[1].text == "We expect them to fall again by spring."


def test_unattributed_quote_without_previous_quote_has_no_speaker(claims: Extract) -> None:
    found = claims('Officials met on Monday.\n\n"We expect them to fall again by spring."')
    assert _only(found, "quote").speaker is None


def test_crosshead_yields_no_claim(claims: Extract) -> None:
    found = claims("- 'Enemy at the gates' -\n\n\"We expect them to fall,\" Maria Olsen said.")
    assert [d.text for d in found] == ["We expect them to fall"]


def test_partial_quote_and_reported_clause(claims: Extract) -> None:
    found = claims('Maria Olsen told reporters the plan was "deeply flawed and unworkable".')
    draft = _only(found, "partial_quote")
    assert draft.text == "deeply flawed and unworkable"
    assert draft.speaker is not None and draft.speaker.name == "Maria Olsen"
    assert not [d for d in found if d.kind == "reported"]  # the fragment carries the claim


def test_short_fragment_leaves_the_reported_clause(claims: Extract) -> None:
    found = claims('Maria Olsen warned prices could "soon" rise by 5 percent.')
    assert not [d for d in found if d.kind == "partial_quote"]
    draft = _only(found, "reported")
    assert '"soon"' in draft.text
    assert [(q.value, q.unit) for q in draft.quantities] == [(5.0, "percent")]


def test_scare_quotes_are_not_claims(claims: Extract) -> None:
    assert claims('The so-called "peace dividend" never arrived.') == []


def test_reported_speech_with_group_and_pronoun_speakers(claims: Extract) -> None:
    group = _only(claims("Analysts warned that the deal could collapse."), "reported")
    assert group.text == "the deal could collapse"
    assert group.speaker is not None and (group.speaker.name, group.speaker.type) == (
        "Analysts",
        "group",
    )
    pronoun = _only(
        claims(
            "Maria Olsen met reporters on Monday. She said the plan would cost about 3,000 jobs."
        ),
        "reported",
    )
    assert pronoun.speaker is not None and pronoun.speaker.name == "Maria Olsen"
    assert [(q.value, q.approx) for q in pronoun.quantities] == [(3000.0, "about")]


def test_unresolvable_pronoun_is_never_a_name(claims: Extract) -> None:
    draft = _only(claims("He said the plan would cost about 3,000 jobs."), "reported")
    assert draft.speaker is not None and draft.speaker.name is None


def test_statistic_credits_the_named_source(claims: Extract) -> None:
    draft = _only(
        claims(
            "Unemployment fell to 4.1 percent in March, "
            "according to the Bureau of Labor Statistics."
        ),
        "statistic",
    )
    assert draft.text == "Unemployment fell to 4.1 percent in March"
    assert draft.cue == "according to"
    assert draft.speaker is not None and draft.speaker.type == "organization"
    assert draft.speaker.name is not None and "Bureau of Labor Statistics" in draft.speaker.name


def test_statistic_needs_a_number(claims: Extract) -> None:
    assert claims("The talks stalled, according to the Bureau of Labor Statistics.") == []
