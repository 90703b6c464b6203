"""The naive baseline worker: what a straightforward first implementation would be.

Used by the throughput benchmark to compute the service's speed-up on the same workload.
One agent handles ONE event at a time, inline on the event loop: decode with the service's
decoder, `trafilatura.extract` with default settings, the FULL default spaCy pipeline
(`spacy.load`, every component the model enables), then the service's own entity, claim
and fingerprint code. No batching, no process pool, no reuse of exact copies, no trimmed
components. Not slowed down on purpose either: the model loads once, records are encoded
with orjson like the service's, and every output carries the service's origin headers so
the harness can count outputs per input.

    NAIVE_BOOTSTRAP_SERVERS=127.0.0.1:9092 NAIVE_INPUT_TOPIC=raw-articles \\
        .venv/bin/python benchmarks/naive_worker.py worker -l info

Environment: NAIVE_BOOTSTRAP_SERVERS (host:port[,host:port]), NAIVE_APP_ID,
NAIVE_INPUT_TOPIC, NAIVE_ARTICLES_TOPIC, NAIVE_CLAIMS_TOPIC, NAIVE_DEAD_LETTERS_TOPIC,
NAIVE_DATA_DIR, NAIVE_WEB_PORT (unset or 0: no web server), NAIVE_SPACY_MODEL.
Topics must exist (the harness creates them).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import faust
import orjson
import spacy
import trafilatura

from streams.app.headers import Headers, output_headers
from streams.app.topics import MAX_REQUEST_BYTES
from streams.core.claims import extract_claims
from streams.core.config import CoreConfig
from streams.core.decode import dead_letter, decode_event
from streams.core.entities import extract_entities
from streams.core.fingerprints import article_id, claim_id, fingerprint
from streams.core.records import encode_value
from streams.models import Claim, DeadLetter, RawEvent, RejectReason

log = logging.getLogger(__name__)

CONFIG = CoreConfig()
"""Core defaults: fingerprint parameters and dead-letter limits, as the service uses."""


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


BOOTSTRAP = _env("NAIVE_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
WEB_PORT = int(_env("NAIVE_WEB_PORT", "0"))
MODEL = _env("NAIVE_SPACY_MODEL", CONFIG.spacy_model)

app = faust.App(
    _env("NAIVE_APP_ID", "naive-baseline"),
    broker="kafka://" + ";".join(h.strip() for h in BOOTSTRAP.split(",") if h.strip()),
    processing_guarantee="at_least_once",
    datadir=_env("NAIVE_DATA_DIR", ".naive-data"),
    web_enabled=WEB_PORT > 0,
    web_port=WEB_PORT or 6066,
    web_bind="127.0.0.1",
    key_serializer="raw",
    value_serializer="raw",
    producer_max_request_size=MAX_REQUEST_BYTES,  # the service's limit: big dead letters fit
    autodiscover=False,
)


def _topic(variable: str, default: str) -> faust.TopicT:
    """An existing topic of raw bytes (not internal: Faust never creates or alters it)."""
    return app.topic(
        _env(variable, default),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )


input_topic = _topic("NAIVE_INPUT_TOPIC", "raw-articles")
articles_topic = _topic("NAIVE_ARTICLES_TOPIC", "articles")
claims_topic = _topic("NAIVE_CLAIMS_TOPIC", "claims")
dead_letters_topic = _topic("NAIVE_DEAD_LETTERS_TOPIC", "raw-articles.dlq")

nlp = spacy.load(MODEL)  # the full default pipeline, loaded once at start
"""The model's default pipeline, nothing disabled or added."""


def process(event: RawEvent) -> tuple[dict[str, Any], list[Claim]] | None:
    """One event → its article (as a JSON-ready dict) and claims; None when no text is left.

    Args:
        event (RawEvent): a decoded input event.

    Returns:
        tuple | None: the article and its claims, or None when extraction left no text.
    """
    title = None
    body = ""
    if event.html and event.html.strip():
        body = trafilatura.extract(event.html) or ""
        metadata = trafilatura.extract_metadata(event.html)
        title = metadata.title if metadata is not None else None
    if not body.strip() and event.text:
        body = event.text
    if not body.strip():
        return None
    doc = nlp(body)
    entities = extract_entities(doc)
    drafts = extract_claims(doc, entities)
    aid = article_id(event.url, 0)
    claims = [
        Claim(
            claim_id=claim_id(draft.text),
            kind=draft.kind,
            text=draft.text,
            speaker=draft.speaker,
            cue=draft.cue,
            quantities=list(draft.quantities),
            mentions=list(draft.mentions),
            article_id=aid,
            url=event.url,
        )
        for draft in drafts
        if draft.text.strip()
    ]
    article = {
        "article_id": aid,
        "url": event.url,
        "title": title,
        "body": body,
        "entities": [entity.model_dump(mode="json") for entity in entities],
        "claim_ids": [claim.claim_id for claim in claims],
        "fingerprints": fingerprint(body, CONFIG).model_dump(mode="json"),
    }
    return article, claims


async def _dead(letter: DeadLetter, key: bytes | None, headers: Headers) -> None:
    await dead_letters_topic.send(key=key, value=encode_value(letter), headers=headers)


def _letter(reason: RejectReason, message: str, payload: bytes, event: RawEvent,
            origin: dict[str, Any]) -> DeadLetter:  # fmt: skip
    return dead_letter(reason, message, payload, config=CONFIG, url=event.url, origin=origin)


@app.agent(input_topic)
async def naive(stream: faust.StreamT[bytes]) -> None:
    """Every input event, one at a time, processed inline on the event loop."""
    async for event in stream.events():
        message = event.message
        headers = output_headers(message.tp.topic, message.tp.partition, message.offset, [])
        origin = {"topic": message.tp.topic, "partition": message.tp.partition,
                  "offset": message.offset}  # fmt: skip
        payload = bytes(message.value or b"")
        key = message.key if isinstance(message.key, bytes) else None
        decoded = decode_event(payload, config=CONFIG, origin=origin)
        if isinstance(decoded, DeadLetter):
            await _dead(decoded, key, headers)
            continue
        try:
            result = process(decoded)
        except Exception as error:  # odd input must not stop the stream
            log.exception("processing failed at %s", origin)
            message_text = f"{type(error).__name__}: {error}"
            letter = _letter(RejectReason.PROCESSING_ERROR, message_text, payload, decoded, origin)
            await _dead(letter, key, headers)
            continue
        if result is None:
            why = "no article text left after extraction"
            letter = _letter(RejectReason.EMPTY_AFTER_EXTRACTION, why, payload, decoded, origin)
            await _dead(letter, key, headers)
            continue
        article, claims = result
        await articles_topic.send(
            key=article["article_id"].encode("ascii"), value=orjson.dumps(article), headers=headers
        )
        for claim in claims:
            await claims_topic.send(
                key=claim.claim_id.encode("ascii"), value=encode_value(claim), headers=headers
            )


if __name__ == "__main__":
    if not WEB_PORT and "worker" in sys.argv and "--without-web" not in sys.argv:
        sys.argv.append("--without-web")  # the CLI would turn web on again (port 6066)
    app.main()
