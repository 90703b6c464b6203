"""Entity extraction: the seed's two stories, plus one hand-built doc per clean-up rule.

Hand-built docs use spaCy's blank English tokenizer with entities set by hand, so each
rule is tested on exactly the spans it must fix, independent of the model's guesses.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from streams.core.config import CoreConfig
from streams.core.entities import NAME_LABELS, extract_entities
from streams.core.gazetteer import load_gazetteer
from streams.core.nlp import load_nlp
from streams.core.textparse import parse_text
from streams.models import Entity

# --------------------------------------------------------------------------- helpers

_POS = {"and": "CCONJ", "or": "CCONJ", "the": "DET", "of": "ADP", "in": "ADP", "at": "ADP"}


@pytest.fixture(scope="module")
def blank() -> Language:
    return spacy.blank("en")


def make_doc(nlp: Language, text: str, ents: Sequence[tuple[str, str]]) -> Doc:
    """Tokenise `text` and mark each (substring, label) in order as an entity.

    Tags are a crude guess (capitalised -> PROPN), enough for the rules that read them.
    """
    doc = nlp.make_doc(text)
    for token in doc:
        guess = "PROPN" if token.text[:1].isupper() else "NOUN"
        token.pos_ = _POS.get(token.lower_, "PUNCT" if token.is_punct else guess)
    spans = []
    cursor = 0
    for surface, label in ents:
        start = text.index(surface, cursor)
        cursor = start + len(surface)
        span = doc.char_span(start, cursor, label=label)
        assert span is not None, surface
        spans.append(span)
    doc.ents = spans
    return doc


def by_name(entities: Sequence[Entity]) -> dict[str, Entity]:
    return {e.name: e for e in entities}


def check_offsets(doc: Doc, entities: Sequence[Entity]) -> None:
    for entity in entities:
        for m in entity.mentions:
            assert doc.text[m.start : m.end] == m.text, (entity.name, m)


# --------------------------------------------------------------------------- the seed


@pytest.fixture(scope="module")
def seed_entities(seed_text: str) -> list[tuple[Doc, list[Entity]]]:
    nlp = load_nlp(CoreConfig().spacy_model)
    parts = parse_text(seed_text, url="https://example.com/seed.html")
    assert len(parts) == 2
    docs = list(nlp.pipe(p.body for p in parts))
    return [(doc, extract_entities(doc)) for doc in docs]


def test_seed_offsets_and_clean_names(seed_entities: list[tuple[Doc, list[Entity]]]) -> None:
    for doc, entities in seed_entities:
        check_offsets(doc, entities)
        for entity in entities:
            assert "'s" not in entity.name and "’s" not in entity.name
            assert "\n" not in entity.name
            if entity.label in NAME_LABELS:
                assert not entity.name.lower().startswith("the ")
            assert not entity.name.endswith((" and", " or", ",", "."))
            assert all("'s" not in m.text and "\n" not in m.text for m in entity.mentions)
        firsts = [e.mentions[0].start for e in entities]
        assert firsts == sorted(firsts)
        assert len({(e.name, e.label) for e in entities}) == len(entities)


def test_seed_people(seed_entities: list[tuple[Doc, list[Entity]]]) -> None:
    (doc1, ents1), (doc2, ents2) = seed_entities
    one, two = by_name(ents1), by_name(ents2)
    for entities in (one, two):
        rutte = entities["Mark Rutte"]
        assert rutte.label == "PERSON"
        assert "Rutte" in [m.text for m in rutte.mentions]
        zelensky = entities["Volodymyr Zelensky"]
        assert zelensky.label == "PERSON"
        texts = [m.text for m in zelensky.mentions]
        assert "Zelensky" in texts
        assert "Zelensky" not in entities and "Rutte" not in entities
    for doc, entities in ((doc1, one), (doc2, two)):
        # the possessive "Zelensky's chief of staff" resolves to the full name
        at = doc.text.index("Zelensky's chief")
        assert any(
            m.start == at and m.text == "Zelensky" for m in entities["Volodymyr Zelensky"].mentions
        )
        assert entities["Andriy Yermak"].label == "PERSON"
    assert len(one["Mark Rutte"].mentions) >= 5
    assert one["Vladimir Putin"].label == "PERSON"
    assert [m.text for m in one["Vladimir Putin"].mentions].count("Putin") >= 2
    for name in ("Joe Biden", "Sabrina Singh", "Matthew Miller", "Ursula von der Leyen",
                 "Yoon Suk Yeol"):  # fmt: skip
        assert two[name].label == "PERSON", name


def test_seed_places_and_orgs(seed_entities: list[tuple[Doc, list[Entity]]]) -> None:
    (_, ents1), (_, ents2) = seed_entities
    one, two = by_name(ents1), by_name(ents2)
    for entities in (one, two):
        assert entities["Kursk"].label == "PLACE"
        assert entities["Brussels"].label == "PLACE"
        assert entities["North Korea"].label == "PLACE"
        assert entities["NATO"].label == "ORG"
        assert entities["Ukrainian"].label == "NORP"
        assert entities["United States"].label == "PLACE"
        assert "North Korea's" not in entities
    assert "US" in [m.text for m in two["United States"].mentions]
    assert "Leyen" not in two
    labels = {e.label for e in ents1 + ents2}
    assert not labels & {"GPE", "LOC", "FAC", "CARDINAL", "ORDINAL"}


# --------------------------------------------------------------------------- rules


def test_labels_mapped_and_numbers_dropped(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Three ships left Oslo Harbour for Norway on Monday.",
        [("Three", "CARDINAL"), ("Oslo Harbour", "FAC"), ("Norway", "GPE"), ("Monday", "DATE")],
    )
    got = [(e.name, e.label) for e in extract_entities(doc)]
    assert got == [("Oslo Harbour", "PLACE"), ("Norway", "PLACE"), ("Monday", "DATE")]


def test_possessive_dropped(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Talks with Zelensky's team on North Korea’s army.",
        [("Zelensky's", "PERSON"), ("North Korea’s", "GPE")],
    )
    entities = extract_entities(doc)
    check_offsets(doc, entities)
    assert [(e.name, e.mentions[0].text) for e in entities] == [
        ("Zelensky", "Zelensky"),
        ("North Korea", "North Korea"),
    ]


def test_line_break_splits_a_span(blank: Language) -> None:
    doc = make_doc(blank, "Agents of Acme Dynamics\nNATO said.", [("Acme Dynamics\nNATO", "ORG")])
    entities = extract_entities(doc)
    check_offsets(doc, entities)
    assert [e.name for e in entities] == ["Acme Dynamics", "NATO"]


def test_leading_article_and_trailing_junk(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Both the Zorbian Alliance and the United States sent a Acme troop.",
        [("the Zorbian Alliance and", "ORG"), ("the United States", "GPE"), ("Acme troop", "ORG")],
    )
    entities = extract_entities(doc)
    check_offsets(doc, entities)
    assert [(e.name, e.label, e.mentions[0].text) for e in entities] == [
        ("Zorbian Alliance", "ORG", "Zorbian Alliance"),
        ("United States", "PLACE", "United States"),
        ("Acme", "ORG", "Acme"),
    ]


def test_hyphenated_name_and_honorific_kept_apart(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Mr. Kang Young-hoon met Dr Smith.",
        [("Mr. Kang Young-hoon", "PERSON"), ("Dr Smith", "PERSON")],
    )
    assert [e.name for e in extract_entities(doc)] == ["Kang Young-hoon", "Smith"]


def test_surname_resolves_to_full_name(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Kowalczyk spoke first. Anna Kowalczyk, the minister, agreed. Kowalczyk's aide left.",
        [("Kowalczyk", "PERSON"), ("Anna Kowalczyk", "PERSON"), ("Kowalczyk's", "PERSON")],
    )
    entities = extract_entities(doc)
    check_offsets(doc, entities)
    assert len(entities) == 1
    assert entities[0].name == "Anna Kowalczyk"
    assert [m.text for m in entities[0].mentions] == ["Kowalczyk", "Anna Kowalczyk", "Kowalczyk"]


def test_ambiguous_surname_stays_apart(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Anna Kowalczyk and Piotr Kowalczyk met. Kowalczyk said no.",
        [("Anna Kowalczyk", "PERSON"), ("Piotr Kowalczyk", "PERSON"), ("Kowalczyk", "PERSON")],
    )
    assert [e.name for e in extract_entities(doc)] == [
        "Anna Kowalczyk",
        "Piotr Kowalczyk",
        "Kowalczyk",
    ]


def test_family_name_first_and_mislabelled_and_untagged_surnames(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Xi Jinping met Anna Kowalczyk. Xi smiled; Kowalczyk nodded. Later Kowalczyk left.",
        [("Xi Jinping", "PERSON"), ("Anna Kowalczyk", "PERSON"), ("Xi", "PERSON"),
         ("Kowalczyk", "ORG")],
    )  # fmt: skip
    entities = by_name(extract_entities(doc))
    assert [m.text for m in entities["Xi Jinping"].mentions] == ["Xi Jinping", "Xi"]
    kowalczyk = entities["Anna Kowalczyk"]
    assert kowalczyk.label == "PERSON"
    assert len(kowalczyk.mentions) == 3  # full name, the ORG-tagged one, the untagged one
    assert set(entities) == {"Xi Jinping", "Anna Kowalczyk"}


def test_name_particle_absorbs_split_surname(blank: Language) -> None:
    doc = make_doc(
        blank,
        "EU chief Ursula von der Leyen warned.",
        [("EU", "ORG"), ("Ursula von der", "PERSON"), ("Leyen", "GPE")],
    )
    entities = extract_entities(doc)
    check_offsets(doc, entities)
    assert [(e.name, e.label) for e in entities] == [
        ("EU", "ORG"),
        ("Ursula von der Leyen", "PERSON"),
    ]


def test_gazetteer_relabels_places_and_demonyms(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Ukrainian troops and Ukrainians held Kursk while Poland's Charlotte watched.",
        [("Ukrainian", "GPE"), ("Ukrainians", "GPE"), ("Kursk", "PRODUCT"), ("Poland's", "ORG"),
         ("Charlotte", "PERSON")],
    )  # fmt: skip
    got = [(e.name, e.label) for e in extract_entities(doc)]
    assert got == [
        ("Ukrainian", "NORP"),
        ("Ukrainians", "NORP"),
        ("Kursk", "PLACE"),
        ("Poland", "PLACE"),
        ("Charlotte", "PERSON"),  # a city, but also a first name: no place cue here
    ]


def test_city_named_person_needs_a_place_cue(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Georgia Smith flew in Charlotte; Georgia said yes.",
        [("Georgia Smith", "PERSON"), ("Charlotte", "PERSON"), ("Georgia", "PERSON")],
    )
    entities = by_name(extract_entities(doc))
    assert entities["Charlotte"].label == "PLACE"
    assert entities["Georgia Smith"].label == "PERSON"
    assert "Georgia" not in entities  # the first name of a known person, not the country


def test_acronyms_aliases_and_corporate_suffix(blank: Language) -> None:
    doc = make_doc(
        blank,
        "The European Union and Acme Corp told the US. The EU and Acme agreed with the U.S.",
        [("European Union", "ORG"), ("Acme Corp", "ORG"), ("US", "GPE"), ("EU", "ORG"),
         ("Acme", "ORG"), ("U.S.", "GPE")],
    )  # fmt: skip
    entities = extract_entities(doc)
    check_offsets(doc, entities)
    assert [(e.name, [m.text for m in e.mentions]) for e in entities] == [
        ("European Union", ["European Union", "EU"]),
        ("Acme Corp", ["Acme Corp", "Acme"]),
        ("United States", ["US", "U.S."]),
    ]


def test_majority_label_per_name(blank: Language) -> None:
    doc = make_doc(
        blank,
        "Zorba rose. Zorba fell. Zorba won.",
        [("Zorba", "ORG"), ("Zorba", "PERSON"), ("Zorba", "ORG")],
    )
    assert [(e.name, e.label, len(e.mentions)) for e in extract_entities(doc)] == [
        ("Zorba", "ORG", 3)
    ]


def test_gazetteer_loads_once_and_looks_up() -> None:
    gazetteer = load_gazetteer()
    assert load_gazetteer() is gazetteer
    assert gazetteer.place_kind("Ukraine") == "country"
    assert gazetteer.place_kind("Texas") == "country"
    assert gazetteer.place_kind("Kursk") == "city"
    assert gazetteer.place_kind("Sao Paulo") == "city"
    assert gazetteer.place_kind("Zelensky") is None
    assert gazetteer.canonical_place("US") == "United States"
    assert gazetteer.canonical_place("Netherlands") == "Netherlands"
    assert gazetteer.city_population("Kursk") > 100_000
    assert gazetteer.is_demonym("North Korean") and gazetteer.is_demonym("Ukrainians")
    assert not gazetteer.is_demonym("Ukraine")
