"""The whole core on the seed page: articles, claims and ids end to end, batch = single."""

from __future__ import annotations

import orjson
import pytest

from streams.core.config import CoreConfig
from streams.core.outcome import Processed
from streams.core.pipeline import process_payload, process_payloads
from streams.core.records import TopicNames, encode_line, to_records
from streams.models import DeadLetter, RejectReason

CONFIG = CoreConfig()
URL = "https://www.spacewar.example/reports/NATO_chief_999.html"


def _event(**fields: object) -> bytes:
    return orjson.dumps({"url": URL, "fetched_at": "2024-10-28T18:00:00Z", **fields})


@pytest.fixture(scope="module")
def seed_result(seed_text: str) -> Processed:
    result = process_payload(_event(text=seed_text), config=CONFIG)
    assert isinstance(result, Processed), result
    return result


def test_seed_yields_page_story_and_embedded_story(seed_result: Processed) -> None:
    page, embedded = seed_result.articles
    assert page.part_of is None and embedded.part_of == page.article_id
    assert page.article_id != embedded.article_id
    assert page.title == "NATO chief says N.Korean troop deployment signals Putin's 'desperation'"
    assert embedded.title == "North Korea sent 10,000 troops to train in Russia, US says"
    assert page.dateline is not None and embedded.dateline is not None
    assert (page.dateline.place, page.dateline.agency) == ("Brussels, Belgium", "AFP")
    assert (embedded.dateline.place, embedded.dateline.agency) == ("Washington", "AFP")
    assert page.published_at == embedded.published_at == "2024-10-28"
    assert page.source == "Space Travel News"
    assert page.body.startswith("NATO chief Mark Rutte on Monday decried")
    assert page.body.endswith("have also been briefed on the situation, he said.")
    assert embedded.body.startswith("North Korea has sent some 10,000 troops to train in Russia")
    assert embedded.body.endswith('Our allies have this strength."')


def test_article_ids_are_stable(seed_text: str, seed_result: Processed) -> None:
    again = process_payload(_event(text=seed_text), config=CONFIG)
    assert isinstance(again, Processed)
    assert again == seed_result


def test_claims_reference_their_article_and_body_offsets(seed_result: Processed) -> None:
    bodies = {a.article_id: a.body for a in seed_result.articles}
    ids_by_article = {a.article_id: a.claim_ids for a in seed_result.articles}
    for claim in seed_result.claims:
        assert claim.claim_id in ids_by_article[claim.article_id]
        for mention in claim.mentions:
            assert bodies[claim.article_id][mention.start : mention.end] == mention.text
    for ids in ids_by_article.values():
        assert len(ids) == len(set(ids)), "a repeated claim must be one claim"


def test_quote_repeated_across_the_two_stories_has_one_claim_id(seed_result: Processed) -> None:
    page, embedded = seed_result.articles
    by_text = {c.text.strip(' ."'): c for c in seed_result.claims}
    quote = "The deepening military cooperation between Russia and North Korea is a threat"
    ids = {c.claim_id for t, c in by_text.items() if t.startswith(quote)}
    assert len(ids) == 1
    (cid,) = ids
    assert cid in page.claim_ids and cid in embedded.claim_ids


def test_batch_gives_exactly_what_single_events_give(seed_text: str) -> None:
    payloads = [_event(text=seed_text), b"{broken", _event(text="Short note. " * 3)]
    batch = process_payloads(payloads, config=CONFIG)
    single = [process_payload(p, config=CONFIG) for p in payloads]
    assert batch == single
    assert isinstance(batch[1], DeadLetter) and batch[1].reason == RejectReason.INVALID_JSON


def test_page_of_only_boilerplate_is_dead_lettered() -> None:
    html = "<html><body><nav>Home | World</nav><footer>Copyright 2024</footer></body></html>"
    result = process_payload(_event(html=html), config=CONFIG)
    assert isinstance(result, DeadLetter)
    assert result.reason == RejectReason.EMPTY_AFTER_EXTRACTION
    assert result.url == URL


def test_records_are_keyed_and_serialised(seed_result: Processed) -> None:
    records = to_records(seed_result, topics=TopicNames(), input_key=URL)
    topics = [r.topic for r in records]
    assert topics[:2] == ["articles", "articles"] and set(topics[2:]) == {"claims"}
    for record in records:
        line = orjson.loads(encode_line(record))
        assert set(line) == {"topic", "key", "value"}
        id_field = "article_id" if record.topic == "articles" else "claim_id"
        assert line["key"] == line["value"][id_field]


def test_language_comes_from_hint_else_detection(seed_text: str, seed_result: Processed) -> None:
    assert {a.language for a in seed_result.articles} == {"en"}
    hinted = process_payload(_event(text=seed_text, language="en-GB"), config=CONFIG)
    assert isinstance(hinted, Processed)
    assert {a.language for a in hinted.articles} == {"en-GB"}


@pytest.mark.parametrize(
    "statement",
    [
        "The deepening military cooperation between Russia and North Korea",
        "The enemy understands strength. Our allies have this strength.",
        "This is an escalation. Sanctions alone are not enough.",
        "Today, Russia brings in North Korea; next, it could broaden their engagement",
        "cease these actions immediately",
    ],
)
def test_statements_repeated_in_both_stories_share_one_claim_id(
    seed_result: Processed, statement: str
) -> None:
    page, embedded = seed_result.articles
    matching = [c for c in seed_result.claims if c.text.startswith(statement)]
    assert {c.article_id for c in matching} == {page.article_id, embedded.article_id}
    assert len({c.claim_id for c in matching}) == 1


def test_stage_timer_accounts_for_every_stage(seed_text: str) -> None:
    from streams.core.timing import STAGES, StageTimer

    timer = StageTimer()
    process_payloads([_event(text=seed_text), b"{bad"], config=CONFIG, timer=timer)
    assert set(timer.seconds) == set(STAGES)
    assert all(timer.seconds[stage] > 0 for stage in STAGES)
    assert timer.seconds["nlp"] > timer.seconds["fingerprint"]
    totals = timer.totals()
    assert set(totals) == set(STAGES)
    assert totals["nlp"][1] > 0  # CPU seconds of this process
    assert totals["nlp"][1] <= totals["nlp"][0] * 1.5 + 0.05  # one thread: CPU ~ wall


def test_paragraphs_are_parsed_once_per_process(seed_text: str) -> None:
    from streams.core.config import CoreConfig
    from streams.core.nlp import load_nlp
    from streams.core.paragraph_nlp import ParagraphPipe, split_paragraphs

    nlp = load_nlp(CONFIG.spacy_model)
    pipe = ParagraphPipe(nlp, cache_size=1000, batch_size=CoreConfig().paragraph_batch_size)
    body = "\n\n".join(["First paragraph, said Ann Lee.", "Second one here.", "Third."])
    copy = body.replace("Third.", "A new ending paragraph.")
    first, again = pipe([body, body])
    assert again.text == first.text == body
    assert pipe.misses == 3 and pipe.hits == 0  # a paragraph repeated in a batch: once
    (changed,) = pipe([copy])
    assert (pipe.misses, pipe.hits) == (4, 2)
    assert first.text == body and changed.text == copy
    alone = ParagraphPipe(nlp, cache_size=0, batch_size=8)([copy])[0]
    assert [(t.text, t.tag_, t.dep_, t.head.i, t.ent_type_) for t in changed] == [
        (t.text, t.tag_, t.dep_, t.head.i, t.ent_type_) for t in alone
    ]  # the result never depends on the cache
    starts = {s.start_char for s in changed.sents}
    assert {copy.index("Second"), copy.index("A new")} <= starts  # paragraphs start sentences
    assert "".join(split_paragraphs(seed_text)) == seed_text


def test_a_long_body_is_parsed_in_turns_ahead_of_its_own_call(seed_text: str) -> None:
    from streams.core.nlp import load_nlp
    from streams.core.paragraph_nlp import ParagraphPipe, split_paragraphs

    nlp = load_nlp(CONFIG.spacy_model)
    pipe = ParagraphPipe(nlp, cache_size=1000, batch_size=8)
    paragraphs = len(set(split_paragraphs(seed_text)))
    turns = 1
    while pipe.warm([seed_text], budget_chars=500):
        turns += 1
    assert turns >= len(seed_text) // 1000  # about 500 characters a turn
    assert not pipe.warm([seed_text], budget_chars=500)  # nothing left to parse
    (doc,) = pipe([seed_text])
    assert (pipe.hits, pipe.misses) == (0, paragraphs)  # parsed ahead is not a reuse
    alone = ParagraphPipe(nlp, cache_size=0, batch_size=8)([seed_text])[0]
    assert [(t.text, t.tag_, t.dep_, t.head.i, t.ent_type_) for t in doc] == [
        (t.text, t.tag_, t.dep_, t.head.i, t.ent_type_) for t in alone
    ]
    small = ParagraphPipe(nlp, cache_size=paragraphs, batch_size=8)
    assert not small.warm([seed_text], budget_chars=500)  # would evict its own paragraphs
    assert not ParagraphPipe(nlp, cache_size=0, batch_size=8).warm([seed_text], 500)


def test_parse_then_enrich_is_process_payloads(seed_text: str) -> None:
    from streams.core.parsing import parse_payloads
    from streams.core.pipeline import enrich_parts

    payload = _event(text=seed_text)
    (parts,) = parse_payloads([payload], config=CONFIG)
    assert isinstance(parts, list) and len(parts) == 2
    enriched = enrich_parts(parts, config=CONFIG)
    whole = process_payload(payload, config=CONFIG)
    assert isinstance(whole, Processed)
    assert tuple(a for e in enriched if isinstance(e, Processed) for a in e.articles) == (
        whole.articles
    )
    assert tuple(c for e in enriched if isinstance(e, Processed) for c in e.claims) == whole.claims


def test_reused_enrichment_of_an_exact_copy_equals_running_nlp_again(seed_text: str) -> None:
    from streams.core.parsing import parse_payloads
    from streams.core.pipeline import enrich_parts, reuse_enrichment

    first_payload = _event(text=seed_text)
    copy_payload = orjson.dumps(
        {"url": "https://copy.example/syndicated", "fetched_at": "2024-10-29T08:00:00Z",
         "text": seed_text, "source": "Other Site"}
    )  # fmt: skip
    (first_parts,) = parse_payloads([first_payload], config=CONFIG)
    (copy_parts,) = parse_payloads([copy_payload], config=CONFIG)
    assert isinstance(first_parts, list) and isinstance(copy_parts, list)
    for first, copy in zip(first_parts, copy_parts, strict=True):
        assert first.fingerprints.content_hash == copy.fingerprints.content_hash
        (earlier,) = enrich_parts([first], config=CONFIG)
        (fresh,) = enrich_parts([copy], config=CONFIG)
        assert isinstance(earlier, Processed)
        reused = reuse_enrichment(copy, earlier)
        assert reused == fresh
        assert reused.articles[0].url == "https://copy.example/syndicated"
        assert reused.articles[0].source == "Other Site"


def test_enrichment_is_not_reused_for_a_different_body(seed_text: str) -> None:
    from streams.core.parsing import parse_payloads
    from streams.core.pipeline import enrich_parts, reuse_enrichment

    (parts,) = parse_payloads([_event(text=seed_text)], config=CONFIG)
    assert isinstance(parts, list)
    (earlier,) = enrich_parts(parts[:1], config=CONFIG)
    assert isinstance(earlier, Processed)
    with pytest.raises(ValueError, match="identical body"):
        reuse_enrichment(parts[1], earlier)
