"""Stream-wide dedupe with two worker processes on a 4-partition input (issue 4).

The seed's main story is sent as 5 syndicated variants (site boilerplate, a changed
headline, a dropped paragraph, an appended update, an exact copy at another URL), keyed
by URL so they spread over the input partitions. Two workers must publish one cluster
with 4 `duplicate_of` links, run NLP once for the exact copy's body, and count every
claim's appearances right. Then both workers are stopped, two new ones start (tables
recovered from their changelogs) and one more copy is still recognised.
"""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from streams.core import CoreConfig, Processed, process_payloads
from tests.conftest import SEED_PATH
from tests.integration.test_failover import Stack, _produce, _read_all, stack_factory
from tests.kafka_fixtures import run_async

__all__ = ["stack_factory"]

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]

UPDATE = (
    "UPDATE: NATO said on Tuesday that allies would discuss the deployment at a meeting of "
    "defence ministers in Brussels later this month."
)


def _story_paragraphs() -> tuple[str, list[str]]:
    """Title and body paragraphs of the seed's main story."""
    event = orjson.dumps(
        {"url": "https://seed.example/", "fetched_at": "2024-10-28T12:00:00Z",
         "text": SEED_PATH.read_text(encoding="utf-8")}
    )  # fmt: skip
    outcome = process_payloads([event], config=CoreConfig())[0]
    assert isinstance(outcome, Processed)
    main = next(a for a in outcome.articles if a.part_of is None)
    return main.title or "NATO chief", main.body.split("\n\n")


def _page(site: str, section: str, title: str, paragraphs: list[str]) -> str:
    return (
        "\n".join([site, section, title, "by AFP Staff Writers", ""])
        + "\n"
        + "\n\n".join(paragraphs)
    )


def _variants() -> list[tuple[str, str]]:
    """(url, text) of the five variants and of the copy sent after the restart."""
    title, paragraphs = _story_paragraphs()
    original = _page("Space Travel News", "SUPERPOWERS", title, paragraphs)
    return [
        ("https://space-travel.example/nato", original),
        ("https://globe.example/world/nato",
         _page("The Daily Globe", "WORLD", "Rutte: North Korean troops show Putin's desperation",
               paragraphs)),
        ("https://herald.example/nato-korea",
         _page("Herald", "EUROPE", title, paragraphs[:3] + paragraphs[4:])),
        ("https://courier.example/nato", _page("Courier", "NEWS", title, [*paragraphs, UPDATE])),
        ("https://mirror.example/nato-copy", original),
        ("https://late.example/nato-again", original),
    ]  # fmt: skip


def _event(url: str, text: str, i: int) -> tuple[bytes, bytes]:
    fetched = f"2024-10-28T12:{i:02d}:00Z"
    return url.encode(), orjson.dumps({"url": url, "fetched_at": fetched, "text": text})


def _metric(stack: Stack, process: Any, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.port(process)}/metrics") as response:
        text = response.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def _articles(stack: Stack, count: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    topics = stack.topics
    wanted = [topics["ARTICLES"], topics["CLAIM_APPEARANCES"], topics["CLAIMS"]]

    def done(records: list[Any]) -> bool:
        return sum(1 for r in records if r.topic == topics["ARTICLES"]) >= count

    records = run_async(_read_all(stack.kafka, wanted, until=done, timeout=60, committed=False))
    time.sleep(1.0)  # the last claim appearances follow their article
    records = run_async(
        _read_all(stack.kafka, wanted, until=lambda r: False, timeout=2, committed=False)
    ) if len(records) else records  # fmt: skip
    articles = [orjson.loads(r.value) for r in records if r.topic == topics["ARTICLES"]]
    appearances = {}
    for record in sorted(
        (r for r in records if r.topic == topics["CLAIM_APPEARANCES"]),
        key=lambda r: (r.partition, r.offset),
    ):
        appearances[record.key.decode()] = orjson.loads(record.value)
    return articles, appearances


def _check(stack: Stack, articles: list[dict[str, Any]], appearances: dict[str, Any],
           count: int) -> None:  # fmt: skip
    try:
        _check_links(articles, appearances, count)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{stack.logs()}") from None


def _check_links(articles: list[dict[str, Any]], appearances: dict[str, Any], count: int) -> None:
    latest = {a["article_id"]: a for a in articles}  # a redelivery repeats an article
    assert len(latest) == count, [a["url"] for a in articles]
    assert len({a["cluster_id"] for a in latest.values()}) == 1, "one story, one cluster"
    roots = [a for a in latest.values() if a["duplicate_of"] is None]
    assert len(roots) == 1 and roots[0]["cluster_id"] == roots[0]["article_id"]
    linked = [a for a in latest.values() if a["duplicate_of"] is not None]
    assert len(linked) == count - 1
    assert all(a["duplicate_of"] in latest for a in linked)
    carried = Counter(c for a in latest.values() for c in a["claim_ids"])
    assert carried, "the story has claims"
    assert {c: appearances[c]["count"] for c in carried} == dict(carried)
    for claim in carried:
        sources = {
            a["source"] or urlsplit(a["url"]).netloc
            for a in latest.values()
            if claim in a["claim_ids"]
        }
        assert appearances[claim]["sources"] == sorted(sources)


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_five_syndicated_variants_two_workers_then_a_restart(
    stack_factory: Any, store: str
) -> None:
    stack: Stack = stack_factory("at_least_once")
    variants = _variants()
    env = {"STREAMS_WORKER__STORE": store}
    first = [stack.start_worker(**env), stack.start_worker(**env)]
    for process in first:
        stack.wait_ready(process)
    items = [_event(url, text, i) for i, (url, text) in enumerate(variants[:5])]
    run_async(_produce(stack.kafka, stack.topics["INPUT"], items))
    articles, appearances = _articles(stack, 5)
    _check(stack, articles, appearances, 5)
    exact = [a for a in articles if a["url"] == variants[4][0]][-1]
    assert exact["similarity"] == 1.0
    bodies = Counter(a["fingerprints"]["content_hash"] for a in articles)
    repeats = sum(n - 1 for n in bodies.values())
    assert repeats >= 1
    skipped = sum(_metric(stack, p, "streams_nlp_skipped_total") for p in first)
    assert skipped == repeats, "NLP runs once per distinct body"
    duplicates = sum(_metric(stack, p, "streams_duplicates_total") for p in first)
    assert duplicates == 4

    stack.stop_all()
    assert [p.returncode for p in first] == [0, 0], stack.logs()
    second = [stack.start_worker(**env), stack.start_worker(**env)]
    for process in second:
        stack.wait_ready(process)
    run_async(_produce(stack.kafka, stack.topics["INPUT"], [_event(*variants[5], 30)]))
    articles, appearances = _articles(stack, len(articles) + 1)
    _check(stack, articles, appearances, 6)
    late = next(a for a in articles if a["url"] == variants[5][0])
    root = next(a for a in articles if a["duplicate_of"] is None)
    same_body = {
        a["article_id"]
        for a in articles
        if a["fingerprints"]["content_hash"] == late["fingerprints"]["content_hash"]
        and a["article_id"] != late["article_id"]
    }
    assert late["duplicate_of"] in same_body  # an exact copy links to its first copy
    assert late["cluster_id"] == root["article_id"]
    assert late["similarity"] == 1.0
    skipped = sum(_metric(stack, p, "streams_nlp_skipped_total") for p in second)
    assert skipped == 1, "the enrichment was recovered from the changelog: no NLP"
