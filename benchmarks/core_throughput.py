"""Throughput of the core pipeline (no Kafka) on real pages, with time per stage.

Events are built at run time from aeb-dev's HTML pages and the seed page (read from
shared/, never copied). Prints events/s, articles/s, tokens/s and the seconds each stage
spends per article, and checks that the staged run gives what `process_payloads` gives.

    .venv/bin/python benchmarks/core_throughput.py [--data ../shared] [--repeat 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import orjson

from streams.core import CoreConfig, process_payloads, warm_up
from streams.core.claims import extract_claims
from streams.core.decode import decode_event
from streams.core.entities import extract_entities
from streams.core.fingerprints import fingerprint
from streams.core.nlp import load_nlp
from streams.core.outcome import Processed
from streams.core.parsing import parse_event, parse_payloads
from streams.core.pipeline import enrich_parts, reuse_enrichment
from streams.evaluation.common import cpu_model
from streams.models import DeadLetter, RawEvent

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = ROOT.parent / "shared"


def _events(shared: Path) -> list[bytes]:
    truth = json.loads((shared / "data" / "aeb-dev" / "ground-truth.json").read_text())
    events = []
    for page_id, item in sorted(truth.items()):
        html = gzip.decompress(
            (shared / "data" / "aeb-dev" / "html" / f"{page_id}.html.gz").read_bytes()
        )
        event = {"url": item["url"], "fetched_at": "2024-10-28T00:00:00Z", "html": html.decode()}
        events.append(orjson.dumps(event))
    for seed in sorted((shared / "seed").glob("*.txt")):
        event = {
            "url": seed.as_uri(),
            "fetched_at": "2024-10-28T00:00:00Z",
            "text": seed.read_text(),
        }
        events.append(orjson.dumps(event))
    return events


def _staged(payloads: list[bytes], config: CoreConfig) -> dict[str, float]:
    """Run each stage on its own over all payloads and time it."""
    nlp = load_nlp(config.spacy_model)
    seconds: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    events = [decode_event(p, config=config) for p in payloads]
    seconds["decode"] = time.perf_counter() - started
    started = time.perf_counter()
    parts = [part for e in events if isinstance(e, RawEvent) for part in parse_event(e, config)]
    seconds["parse"] = time.perf_counter() - started
    started = time.perf_counter()
    docs = list(nlp.pipe([p.body for p in parts], batch_size=config.spacy_batch_size))
    seconds["spacy"] = time.perf_counter() - started
    for doc in docs:
        started = time.perf_counter()
        entities = extract_entities(doc)
        seconds["entities"] += time.perf_counter() - started
        started = time.perf_counter()
        extract_claims(doc, entities)
        seconds["claims"] += time.perf_counter() - started
        started = time.perf_counter()
        fingerprint(doc.text, config)
        seconds["fingerprints"] += time.perf_counter() - started
    seconds["articles"] = len(parts)
    seconds["tokens"] = sum(len(d) for d in docs)
    return dict(seconds)


def _reuse_vs_nlp(payloads: list[bytes], config: CoreConfig) -> dict[str, float]:
    """ms per article: enriching with NLP vs reusing an exact copy's enrichment."""
    parts = [
        part
        for item in parse_payloads(payloads, config=config)
        if not isinstance(item, DeadLetter)
        for part in item
    ]
    started = time.perf_counter()
    enriched = enrich_parts(parts, config=config)
    nlp_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for part, earlier in zip(parts, enriched, strict=True):
        if isinstance(earlier, Processed):
            reuse_enrichment(part, earlier)
    reuse_seconds = time.perf_counter() - started
    return {
        "enrich_ms_per_article": round(1000 * nlp_seconds / len(parts), 2),
        "reuse_ms_per_article": round(1000 * reuse_seconds / len(parts), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_SHARED, help="the shared/ folder")
    parser.add_argument("--repeat", type=int, default=3, help="best of N end-to-end runs")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    config = CoreConfig()
    payloads = _events(args.data)
    warm_up(config)  # model, gazetteer and language model loaded before timing

    best = float("inf")
    outcomes = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        outcomes = process_payloads(payloads, config=config)
        best = min(best, time.perf_counter() - started)
    articles = sum(len(getattr(o, "articles", ())) for o in outcomes)
    claims = sum(len(getattr(o, "claims", ())) for o in outcomes)
    stages = _staged(payloads, config)
    n_articles = stages.pop("articles")
    tokens = stages.pop("tokens")
    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, one process",
        "events": len(payloads),
        "articles": articles,
        "claims": claims,
        "seconds": round(best, 3),
        "events_per_second": round(len(payloads) / best, 2),
        "articles_per_second": round(articles / best, 2),
        "tokens_per_second": round(tokens / best),
        "ms_per_article_by_stage": {k: round(1000 * v / n_articles, 2) for k, v in stages.items()},
        "exact_copy": _reuse_vs_nlp(payloads, config),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
