"""Entity rules for results tables, headlines and names the model leaves untagged.

Hand-made texts only; entities are set by hand on spaCy's blank English tokenizer (as in
test_entities.py), so each test exercises exactly one rule of `extract_entities`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from streams.core.entities import extract_entities
from streams.core.gazetteer import load_gazetteer
from streams.models import Entity
from tests.core.test_entities import make_doc


@pytest.fixture(scope="module")
def blank() -> Language:
    return spacy.blank("en")


def mentions(doc: Doc, entities: Sequence[Entity]) -> list[tuple[str, str, int]]:
    """(mention text, label, start) in text order; offsets are checked on the way."""
    out = []
    for entity in entities:
        for m in entity.mentions:
            assert doc.text[m.start : m.end] == m.text
            out.append((m.text, entity.label, m.start))
    return sorted(out, key=lambda x: x[2])


def test_gazetteer_reads_capitals() -> None:
    gazetteer = load_gazetteer()
    assert gazetteer.place_kind("DENVER") == "city"
    assert gazetteer.canonical_place("UNITED STATES") == "United States"
    assert gazetteer.is_country("FRANCE") and gazetteer.is_country("France")
    assert not gazetteer.is_country("Denver") and not gazetteer.is_country("Texas")
    assert gazetteer.is_demonym("KENYAN")
    assert gazetteer.place_kind("ZORBLAT") is None


def test_span_splits_at_scores_dashes_and_brackets(blank: Language) -> None:
    text = "Zorvik 3 Blentham 2\nLatvia - Ivo Karlsons ( Kenya ) won."
    doc = make_doc(
        blank, text, [("Zorvik 3 Blentham 2", "ORG"), ("Latvia - Ivo Karlsons ( Kenya", "PERSON")]
    )
    got = [(t, label) for t, label, _ in mentions(doc, extract_entities(doc))]
    assert got == [
        ("Zorvik", "ORG"),
        ("Blentham", "ORG"),
        ("Latvia", "PLACE"),
        ("Ivo Karlsons", "PERSON"),
        ("Kenya", "PLACE"),
    ]


def test_trailing_figures_dropped(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Bowling : J. Marlow 4-43 , T. Quill 17 .",
        [("J. Marlow 4-43", "PERSON"), ("T. Quill 17", "PERSON")],
    )
    got = [(t, label) for t, label, _ in mentions(doc, extract_entities(doc))]
    assert got == [("J. Marlow", "PERSON"), ("T. Quill", "PERSON")]


def test_city_before_a_score_is_a_team(blank: Language) -> None:
    text = "DENVER 1996-08-30\nDenver 5 PHOENIX 1\nLatvia 2 Estonia 1"
    doc = make_doc(
        blank,
        text,
        [
            ("DENVER", "GPE"),
            ("Denver", "GPE"),
            ("PHOENIX", "GPE"),
            ("Latvia", "GPE"),
            ("Estonia", "GPE"),
        ],
    )
    got = [(t, label, start) for t, label, start in mentions(doc, extract_entities(doc))]
    labels = {(t, start): label for t, label, start in got}
    assert labels[("PHOENIX", text.index("PHOENIX"))] == "ORG"
    assert labels[("Latvia", text.index("Latvia"))] == "PLACE"
    assert labels[("Estonia", text.index("Estonia"))] == "PLACE"
    # a dateline is no score: DENVER stays the place it is
    assert labels[("DENVER", 0)] == "PLACE"


def test_untagged_places_and_demonyms(blank: Language) -> None:
    text = "TALKS IN NORWAY\nThe Kenyan envoy flew to Lusaka with the delegation."
    doc = make_doc(blank, text, [])
    got = [(t, label) for t, label, _ in mentions(doc, extract_entities(doc))]
    assert got == [("NORWAY", "PLACE"), ("Kenyan", "NORP"), ("Lusaka", "PLACE")]


def test_untagged_repeats_of_a_tagged_name(blank: Language) -> None:
    text = "Qwixo Dynamics hired Brannigal . Later Qwixo Dynamics said Brannigal left ."
    doc = make_doc(blank, text, [("Qwixo Dynamics", "ORG"), ("Brannigal", "PERSON")])
    got = [(t, label, start) for t, label, start in mentions(doc, extract_entities(doc))]
    second = text.index("Qwixo Dynamics", 5)
    assert ("Qwixo Dynamics", "ORG", second) in got
    assert ("Brannigal", "PERSON", text.index("Brannigal", second)) in got
    assert len(got) == 4


def test_results_and_standings_rows_name_teams(blank: Language) -> None:
    text = (
        "Arlenford 2 Bramby Rovers 1\nQuellin 4 2 1 1 6 4 7\nLatvia 2 Estonia 1\n"
        "Ann Voss 70 68\nARLENFORD 1996-08-30"
    )
    doc = make_doc(blank, text, [("Arlenford", "PERSON"), ("Ann Voss", "PERSON")])
    got = [(t, label) for t, label, _ in mentions(doc, extract_entities(doc))]
    assert got == [
        ("Arlenford", "ORG"),
        ("Bramby Rovers", "ORG"),
        ("Quellin", "ORG"),
        ("Latvia", "PLACE"),
        ("Estonia", "PLACE"),
        ("Ann Voss", "PERSON"),
        ("ARLENFORD", "PLACE"),  # a dateline, not a score
    ]


def test_athlete_with_country_in_brackets_is_a_person(blank: Language) -> None:
    text = "1. Ann Voss ( Norway ) 20.90\nBrask Ettal ( Norway ) 3 Kolvi Dynamo ( Latvia ) 1"
    doc = make_doc(
        blank, text, [("Ann Voss", "ORG"), ("Brask Ettal", "ORG"), ("Kolvi Dynamo", "ORG")]
    )
    labels = {t: label for t, label, _ in mentions(doc, extract_entities(doc))}
    assert labels["Ann Voss"] == "PERSON"
    # followed by a score: a club, still an ORG
    assert labels["Brask Ettal"] == "ORG"
    assert labels["Kolvi Dynamo"] == "ORG"


def test_dateline_parts_are_places(blank: Language) -> None:
    text = (
        "ZORVIK , Latvia 2024-10-28\nQuellport, Oct 28 (Wire) - Talks began.\n"
        "Tuesday, Oct 28 was calm."
    )
    doc = make_doc(blank, text, [("ZORVIK", "ORG"), ("Quellport", "PERSON")])
    got = [(t, label) for t, label, _ in mentions(doc, extract_entities(doc))]
    assert ("ZORVIK", "PLACE") in got
    assert ("Latvia", "PLACE") in got
    assert ("Quellport", "PLACE") in got
    assert all(t != "Tuesday" for t, _ in got)
