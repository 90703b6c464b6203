"""The held-back split rule, the NER label mapping and the quote speaker rule, on
hand-written cases (no data-set text)."""

from __future__ import annotations

import pytest

from streams.core.outcome import Processed
from streams.evaluation.common import is_held_back, select_ids
from streams.models import Claim, Entity, Mention, Speaker

IDS = [f"doc-{i}" for i in range(1, 19)]
# SHA-1 of these ids starts with 0, 1 or 2 (worked out by hand with hashlib):
# doc-4 0b7…, doc-8 278…, doc-11 0…, doc-15 1…, doc-17 2…, doc-18 1…
HELD_BACK = ["doc-4", "doc-8", "doc-11", "doc-15", "doc-17", "doc-18"]


def test_held_back_rule_is_the_first_sha1_hex_digit() -> None:
    assert [i for i in IDS if is_held_back(i)] == HELD_BACK
    assert not is_held_back("doc-7")  # 390…: a 3 is not held back
    assert not is_held_back("a")  # 86f…


def test_splits_partition_the_ids_in_order() -> None:
    dev = select_ids(IDS, "dev")
    held = select_ids(IDS, "held-back")
    assert held == HELD_BACK
    assert dev == [i for i in IDS if i not in HELD_BACK]
    assert select_ids(IDS, "all") == IDS


def test_limit_takes_the_first_ids_of_the_split() -> None:
    assert select_ids(IDS, "held-back", limit=2) == ["doc-4", "doc-8"]
    assert select_ids(IDS, "dev", limit=3) == ["doc-1", "doc-2", "doc-3"]


def test_unknown_split_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown split"):
        select_ids(IDS, "test")  # type: ignore[arg-type]


def _entity(name: str, label: str, start: int) -> Entity:
    mention = Mention(start=start, end=start + len(name), text=name)
    return Entity(name=name, label=label, mentions=[mention])  # type: ignore[arg-type]


def test_published_labels_map_to_conll_types() -> None:
    from streams.evaluation.ner import scorer_entities, scorer_label

    assert scorer_label("PERSON") == "PER"
    assert scorer_label("PLACE") == "LOC"
    assert scorer_label("ORG") == "ORG"
    for other in ("NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"):
        assert scorer_label(other) == "MISC"
    for dropped in ("DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "CARDINAL"):
        assert scorer_label(dropped) is None
    entities = [
        _entity("Ada Byron", "PERSON", 0),
        _entity("Tuesday", "DATE", 13),
        _entity("Lakeside", "PLACE", 24),
    ]
    assert scorer_entities(entities) == [
        {"start": 0, "end": 9, "label": "PER"},
        {"start": 24, "end": 32, "label": "LOC"},
    ]


def _claim(kind: str, text: str, speaker: str | None) -> Claim:
    return Claim(
        claim_id=f"c-{text}",
        kind=kind,  # type: ignore[arg-type]
        text=text,
        speaker=Speaker(name=speaker) if speaker is not None else None,
        mentions=[],
        article_id="a",
        url="https://example.com/a",
    )


def test_speech_claims_become_quote_predictions_with_named_speakers() -> None:
    from streams.evaluation.quotes import quote_predictions, text_event

    outcome = Processed(
        articles=(),
        claims=(
            _claim("quote", "We will rebuild the pier", "Ada Byron"),
            _claim("partial_quote", "a fine day", "She"),
            _claim("reported", "the ferry would run", None),
            _claim("statistic", "Prices rose 3 percent", "Ada Byron"),
        ),
    )
    assert quote_predictions(outcome) == [
        {"text": "We will rebuild the pier", "speaker": "Ada Byron"},
        {"text": "a fine day", "speaker": None},
        {"text": "the ferry would run", "speaker": None},
    ]
    event = text_event({"id": "x1", "publication_date": "2016-09-08", "text": "Hello."})
    assert b'"url": "https://polnear.example/x1"' in event
    assert b'"fetched_at": "2016-09-08T00:00:00Z"' in event
