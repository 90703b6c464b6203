"""Attribution patterns on small hand-written paragraphs, through real spaCy and entities."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from spacy.language import Language

from streams.core.attribution import Attributor
from streams.core.claims import ClaimDraft, extract_claims
from streams.core.config import CoreConfig
from streams.core.entities import extract_entities
from streams.core.nlp import load_nlp
from streams.models import Entity, Mention

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
            for mention in draft.mentions:
                assert doc.text[mention.start : mention.end] == mention.text
            assert draft.text == " ".join(m.text for m in draft.mentions)
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


def test_partial_quote_is_the_reported_clause_around_the_fragment(claims: Extract) -> None:
    found = claims('Maria Olsen told reporters the plan was "deeply flawed and unworkable".')
    draft = _only(found, "partial_quote")
    assert draft.text == 'the plan was "deeply flawed and unworkable"'
    assert draft.speaker is not None and draft.speaker.name == "Maria Olsen"
    assert not [d for d in found if d.kind == "reported"]  # one claim, not two


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


def test_according_to_without_a_number_is_reported_speech(claims: Extract) -> None:
    found = claims("The talks stalled on Friday, according to the Bureau of Labor Statistics.")
    assert not [d for d in found if d.kind == "statistic"]
    draft = _only(found, "reported")
    assert draft.text == "The talks stalled on Friday"
    assert draft.speaker is not None and draft.speaker.name is not None
    assert "Bureau of Labor Statistics" in draft.speaker.name


def test_according_to_an_unnamed_group(claims: Extract) -> None:
    draft = _only(
        claims("The factory will close next spring, according to union officials."), "reported"
    )
    assert draft.text == "The factory will close next spring"
    assert draft.speaker is not None and draft.speaker.name == "union officials"


# ---------------------------------------------------------------- issue 5: quotes and speakers


def test_quote_interrupted_by_its_attribution_is_one_claim(claims: Extract) -> None:
    found = claims('"We will win this race," Mayor Ann Fields said on Tuesday. "Nobody doubts it."')
    draft = _only(found, "quote")
    assert draft.text == "We will win this race Nobody doubts it."
    assert [m.text for m in draft.mentions] == ["We will win this race", "Nobody doubts it."]
    assert draft.speaker is not None and draft.speaker.name == "Ann Fields"


def test_lowercase_continuation_after_the_attribution_joins(claims: Extract) -> None:
    found = claims(
        "Ann Fields spoke to the council on Tuesday.\n\n"
        '"The budget is balanced," she said, "and the city knows it."'
    )
    draft = _only(found, "quote")
    assert draft.text == "The budget is balanced and the city knows it"
    assert draft.speaker is not None and draft.speaker.name == "Ann Fields"


def test_second_quote_with_its_own_speaker_stays_apart(claims: Extract) -> None:
    found = claims('"Taxes must fall," Ann Fields said. "They will not," Tom Reyes replied.')
    quotes = [d for d in found if d.kind == "quote"]
    assert [(d.text, d.speaker.name if d.speaker else None) for d in quotes] == [
        ("Taxes must fall", "Ann Fields"),
        ("They will not", "Tom Reyes"),
    ]


def test_fragment_after_a_speech_verb_takes_its_argument(claims: Extract) -> None:
    found = claims('Senator Paul Grant called the bill "a betrayal of working families" on Friday.')
    draft = _only(found, "partial_quote")
    assert draft.text == 'the bill "a betrayal of working families"'
    assert draft.speaker is not None and draft.speaker.name == "Paul Grant"


def test_quote_credited_after_a_dash(claims: Extract) -> None:
    found = claims(
        "Readers wrote in after the vote.\n\n“It was the best night of my life.” ― Maria Lopez"
    )
    draft = _only(found, "quote")
    assert draft.text == "It was the best night of my life."
    assert draft.speaker is not None and draft.speaker.name == "Maria Lopez"


def test_paragraph_ending_with_a_colon_introduces_the_next_quote(claims: Extract) -> None:
    found = claims(
        "Governor Tom Reyes answered the critics on Monday.\n\n"
        "He said:\n\n"
        '"We will build the bridge, and we will build it on time."'
    )
    draft = _only(found, "quote")
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"


def test_participle_borrows_the_subject_of_the_main_clause(claims: Extract) -> None:
    found = claims(
        "Governor Tom Reyes spoke in Denver on Tuesday, arguing that the new tax was unfair."
    )
    draft = _only(found, "reported")
    assert draft.text == "the new tax was unfair"
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"


def test_pronoun_skips_a_person_of_the_other_gender(claims: Extract) -> None:
    found = claims(
        "Ms. Ann Fields said her plan would pass.\n\n"
        "Tom Reyes told his staff to fight the plan.\n\n"
        '"The votes are there," she said.'
    )
    draft = _only(found, "quote")
    assert draft.speaker is not None and draft.speaker.name == "Ann Fields"


def test_question_verb_is_a_speech_cue(claims: Extract) -> None:
    draft = _only(claims('"Where did the money go?" Tom Reyes asked.'), "quote")
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"
    assert draft.cue == "asked"


def test_quoted_words_are_never_the_subject(claims: Extract) -> None:
    found = claims(
        '"The party is in real trouble. Real trouble," said Janet Corley, '
        "a director of the Western Farmers Union."
    )
    draft = _only(found, "quote")
    assert draft.speaker is not None and draft.speaker.name == "Janet Corley"


def test_two_apostrophes_are_a_quote_mark(claims: Extract) -> None:
    found = claims("''We are ready for the storm,'' said Tom Reyes, the city manager.")
    draft = _only(found, "quote")
    assert draft.text == "We are ready for the storm"
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"


def test_parenthetical_attribution_reports_the_clause_around_it(claims: Extract) -> None:
    draft = _only(claims("The economy, Tom Reyes said, is stronger than it looks."), "reported")
    assert draft.text == "The economy is stronger than it looks"
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"


def test_pronoun_skips_a_person_named_inside_reported_speech(claims: Extract) -> None:
    found = claims(
        'Tom Reyes said Paul Grant would lose the vote.\n\n"We are certain of it," he said.'
    )
    draft = _only(found, "quote")
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"


def test_group_speaker_keeps_its_of_phrase(claims: Extract) -> None:
    draft = _only(claims("Small groups of protesters said the curfew was unfair."), "reported")
    assert draft.speaker is not None and draft.speaker.name == "Small groups of protesters"


def test_speech_quoted_inside_a_reported_clause_does_not_cut_it(claims: Extract) -> None:
    draft = _only(
        claims('Ann Fields said voters are tired of "he said this, he said that" politics.'),
        "partial_quote",
    )
    assert draft.text.startswith('voters are tired of "he said this, he said that"')


def test_evaluative_verb_credits_the_quoted_words(claims: Extract) -> None:
    draft = _only(
        claims('Senator Paul Grant blasted the media for being "utterly dishonest."'),
        "partial_quote",
    )
    assert draft.text == 'the media for being "utterly dishonest."'
    assert draft.speaker is not None and draft.speaker.name == "Paul Grant"
    assert draft.cue == "blasted"


def test_trailing_participle_after_a_comma_is_not_reported(claims: Extract) -> None:
    found = claims("Ann Fields told reporters the plan would fail, implicitly blaming the mayor.")
    draft = _only(found, "reported")
    assert draft.text == "the plan would fail"


def test_joined_quote_is_not_reported_again_as_a_clause(claims: Extract) -> None:
    found = claims(
        "Tom Reyes spoke in an interview.\n\n"
        '"If even a part of the town floods," he said, "we will need help from the state."'
    )
    assert len(found) == 1
    assert found[0].kind == "quote"
    assert found[0].text == "If even a part of the town floods we will need help from the state"


def test_second_verb_of_a_conjunction_shares_the_subject(claims: Extract) -> None:
    found = claims(
        "Tom Reyes, the party chairman, criticized the budget and said he thought it was "
        '"a very big mistake" for the town.'
    )
    draft = _only(found, "partial_quote")
    assert draft.text == 'he thought it was "a very big mistake" for the town'
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"


def test_gerund_after_a_preposition_borrows_the_main_subject(claims: Extract) -> None:
    found = claims('Ann Fields appeared on the radio and began by saying she would "never" vote.')
    draft = _only(found, "reported")
    assert draft.speaker is not None and draft.speaker.name == "Ann Fields"


def test_bare_quote_paragraph_quotes_the_person_just_described(claims: Extract) -> None:
    found = claims(
        "Tom Reyes kept his comments on the bank to future scenarios.\n\n"
        '"If a bank cannot be managed, it should be broken up."'
    )
    draft = _only(found, "quote")
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"


def test_verbless_quote_without_a_cue_is_a_title_not_a_claim(claims: Extract) -> None:
    found = claims('Fans packed the hall for the premiere. "Summer Nights" drew a long line.')
    assert [d for d in found if d.kind == "quote"] == []


def test_colon_after_any_verb_introduces_the_quote(claims: Extract) -> None:
    found = claims(
        "Ann Fields spoke to the crowd for an hour on Sunday. Ann Fields continued: "
        '"The plan will not pass. We have the votes."'
    )
    draft = _only(found, "quote")
    assert draft.text == "The plan will not pass. We have the votes."
    assert draft.speaker is not None and draft.speaker.name == "Ann Fields"


def test_description_matches_an_abbreviated_title(claims: Extract) -> None:
    found = claims(
        "Indiana Gov. Tom Reyes visited the plant on Monday.\n\n"
        "The governor said the state would pay for the new road."
    )
    draft = _only(found, "reported")
    assert draft.text == "the state would pay for the new road"
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"


def test_bare_surname_taken_for_an_organisation_is_the_person(nlp: Language) -> None:
    text = "Mayor Dana Whitcombe opened the school.\n\nWhitcombe said it would grow in May."
    doc = nlp(text)
    full, bare = text.index("Dana Whitcombe"), text.index("Whitcombe said")
    entities = [
        Entity(
            name="Dana Whitcombe",
            label="PERSON",
            mentions=[Mention(start=full, end=full + 14, text="Dana Whitcombe")],
        ),
        Entity(
            name="Whitcombe",
            label="ORG",
            mentions=[Mention(start=bare, end=bare + 9, text="Whitcombe")],
        ),
    ]
    draft = _only(extract_claims(doc, entities), "reported")
    assert draft.text == "it would grow in May"
    assert draft.speaker is not None
    assert (draft.speaker.name, draft.speaker.type) == ("Dana Whitcombe", "person")


def test_pronoun_before_a_name_says_nothing_of_its_gender(claims: Extract) -> None:
    found = claims(
        "Asked on Sunday, he could not say why the plan was praised by Ann Fields.\n\n"
        "Ann Fields backed the plan on Monday. Paul Grant said he opposed it.\n\n"
        '"It will help families," she said.'
    )
    draft = _only(found, "quote")
    assert draft.text == "It will help families"
    assert draft.speaker is not None and draft.speaker.name == "Ann Fields"


def test_a_verb_conjoined_to_a_name_is_not_a_second_speaker(nlp: Language) -> None:
    doc = nlp("Tom Reyes and has aides have also attacked the council.")
    attributor = Attributor(doc, extract_entities(doc), lambda _: False)
    name = next(t for t in doc if t.text == "Reyes")
    assert [c.pos_ for c in name.children if c.dep_ == "conj"] == ["VERB"]
    speaker = attributor.speaker(name)
    assert (speaker.name, speaker.type) == ("Tom Reyes", "person")


def test_one_quoted_word_a_naming_verb_puts_on_something_is_a_claim(claims: Extract) -> None:
    found = claims('At the rally, Senator Maria Lopez called the new tariff plan "reckless."')
    draft = _only(found, "partial_quote")
    assert draft.text == 'the new tariff plan "reckless."'
    assert draft.speaker is not None and draft.speaker.name == "Maria Lopez"
    assert draft.cue == "called"


def test_one_quoted_word_without_a_naming_verb_is_no_claim(claims: Extract) -> None:
    assert not claims('The so-called "reform" passed the chamber on Tuesday night.')


def test_claim_noun_reports_its_that_clause(claims: Extract) -> None:
    found = claims(
        "Reporters checked Governor Tom Reyes's claim that the state had cut "
        "unemployment in half since 2019."
    )
    draft = _only(found, "reported")
    assert draft.text == "the state had cut unemployment in half since 2019"
    assert draft.speaker is not None and draft.speaker.name == "Tom Reyes"
    assert draft.cue == "claim"


def test_writer_relative_clause_after_a_comma_ends_the_report(claims: Extract) -> None:
    found = claims(
        "Dr. Alan Brooks said he expects the mayor to recover from the infection, "
        "which forced her to cancel three public events last week."
    )
    draft = _only(found, "reported")
    assert draft.text == "he expects the mayor to recover from the infection"


def test_second_clause_the_verb_reports_is_kept(claims: Extract) -> None:
    found = claims(
        'Karen Webb said the budget is "a serious mistake" but "nobody wants to fix it."'
    )
    draft = _only(found, "partial_quote")
    assert draft.text == 'the budget is "a serious mistake" but "nobody wants to fix it."'


def test_coordinated_that_clause_with_a_speech_lemma_is_still_reported(claims: Extract) -> None:
    found = claims(
        "Economists said the proposal would raise revenue but that it would add "
        "new paperwork for small firms."
    )
    draft = _only(found, "reported")
    assert draft.text.endswith("but that it would add new paperwork for small firms")


def test_quoted_title_is_not_anybody_s_words(claims: Extract) -> None:
    found = claims('Ms. Dana Cole, who wrote "Raise Your Kid to Be Rich," said it was luck.')
    assert all("Raise Your Kid" not in d.text for d in found), found


def test_speaker_before_an_apposition_is_the_subject_the_parser_lost(claims: Extract) -> None:
    found = claims(
        '"There is a severe gap between this office and frankly the council and our staff," '
        "Whitfield, a top city planner, said Thursday on the radio."
    )
    draft = _only(found, "quote")
    assert draft.speaker is not None and draft.speaker.name == "Whitfield"


def test_named_subject_with_an_apposition_and_an_adverb(claims: Extract) -> None:
    found = claims(
        "At a forum in Denver, Paul Okafor, the director of the Civic Budget Project, "
        'firmly told the audience that "cutting the transit budget would be a mistake."'
    )
    draft = _only(found, "partial_quote")
    assert draft.speaker is not None and draft.speaker.name == "Paul Okafor"
