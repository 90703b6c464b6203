"""`caps_ner`: NER re-run on a case-restored copy of lines written in capitals."""

from __future__ import annotations

import spacy

from streams.core.config import CoreConfig
from streams.core.entities import extract_entities
from streams.core.gazetteer import load_gazetteer
from streams.core.nlp import _case_forms, _shouted_lines, load_nlp


def test_shouted_lines_are_whole_capital_lines() -> None:
    doc = spacy.blank("en")("STORM HITS THE COAST\nThe storm hit NATO and the EU.\nOSLO 2024-01-02")
    lines = _shouted_lines(doc)
    assert [doc[a:b].text for a, b in lines] == ["STORM HITS THE COAST"]


def test_restored_words_follow_the_document_then_the_gazetteer() -> None:
    nlp = load_nlp(CoreConfig().spacy_model)
    caps = nlp.get_pipe("caps_ner")
    doc = nlp.make_doc("KOWALSKI SIGNS FOR BORDEAUX\nPiotr Kowalski signs today.")
    seen = _case_forms(doc)
    gazetteer = load_gazetteer()
    restored = [caps._restore(t.text, seen, gazetteer) for t in doc[:4]]
    assert restored == ["Kowalski", "signs", "for", "Bordeaux"]


def test_capital_headline_names_found_with_offsets() -> None:
    nlp = load_nlp(CoreConfig().spacy_model)
    assert nlp.pipe_names.index("caps_ner") == nlp.pipe_names.index("ner") + 1
    text = "KOWALSKI SIGNS FOR BORDEAUX\nPiotr Kowalski joined Bordeaux on Friday."
    doc = nlp(text)
    entities = {e.name: e for e in extract_entities(doc)}
    kowalski = entities["Piotr Kowalski"]
    assert kowalski.label == "PERSON"
    assert (kowalski.mentions[0].start, kowalski.mentions[0].text) == (0, "KOWALSKI")
    with nlp.select_pipes(disable=["caps_ner"]):
        assert not [e for e in nlp(text).ents if e.start_char == 0]
