"""The naive baseline worker (`benchmarks/naive_worker.py`) on a real broker, as a subprocess.

Five inputs go in (the seed page as text, a hand-written HTML page, a short text, a page
with no article text, a payload that is not JSON); the worker must publish an article for
each good one (with entities and claims for the seed), a dead letter for each bad one, and
put on every record the origin headers of its input, which the benchmark harness counts by.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from tests.conftest import REPO_ROOT
from tests.kafka_fixtures import TopicFactory, read_records, run_async

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

WORKER = REPO_ROOT / "benchmarks" / "naive_worker.py"

HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><title>Harbour bridge to close for repairs | City News</title></head>
<body>
<nav><a href="/">Home</a> <a href="/local">Local</a></nav>
<article>
<h1>Harbour bridge to close for repairs</h1>
<p>The city council of Portsmouth said on Tuesday that the harbour bridge would close for
three weeks after engineers found 14 cracks in its steel supports.</p>
<p>"We cannot take any risk with public safety," Mayor Helen Carter told reporters outside
the town hall, adding that ferries would run every twenty minutes while work goes on.</p>
<p>According to the council, about 40,000 vehicles cross the bridge every day, and repairs
are expected to cost 2.5 million pounds.</p>
</article>
<footer>Copyright 2024 City News</footer>
</body></html>"""

SHORT_TEXT = (
    "Council report\n\n"
    "The city council said on Monday that the old library would reopen in May after "
    "repairs to its roof, Councillor James Wright told reporters."
)


def _event(url: str, **content: str) -> bytes:
    return orjson.dumps({"url": url, "fetched_at": "2024-10-28T00:00:00Z", **content})


async def _produce(servers: str, topic: str, items: list[tuple[bytes, bytes]]) -> list[int]:
    """Send in order; the offset of each."""
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
    await producer.start()
    try:
        return [(await producer.send_and_wait(topic, value=v, key=k)).offset for k, v in items]
    finally:
        await producer.stop()


def test_naive_worker_publishes_articles_claims_and_dead_letters_with_origin_headers(
    kafka_broker: Any, topic_factory: TopicFactory, seed_text: str, tmp_path: Path
) -> None:
    servers = kafka_broker.bootstrap_servers
    names = {
        role: topic_factory(prefix=f"naive-{role}")
        for role in ("input", "articles", "claims", "dlq")
    }
    items = [
        (b"seed", _event("https://www.spacewar.com/seed", text=seed_text)),
        (b"html", _event("https://news.example/bridge", html=HTML_PAGE)),
        (b"bad", b"{not json"),
        (b"short", _event("https://news.example/library", text=SHORT_TEXT)),
        (b"empty", _event("https://news.example/empty", html="<html><body></body></html>")),
    ]
    offsets = dict(zip((k for k, _ in items), run_async(_produce(servers, names["input"], items)),
                       strict=True))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NAIVE_", "KAFKA_"))}
    env |= {
        "NAIVE_BOOTSTRAP_SERVERS": servers,
        "NAIVE_APP_ID": f"naive-test-{names['input'][-8:]}",
        "NAIVE_INPUT_TOPIC": names["input"],
        "NAIVE_ARTICLES_TOPIC": names["articles"],
        "NAIVE_CLAIMS_TOPIC": names["claims"],
        "NAIVE_DEAD_LETTERS_TOPIC": names["dlq"],
        "NAIVE_DATA_DIR": str(tmp_path / "data"),
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), "worker", "-l", "info"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def done(records: list[Any]) -> bool:
            topics = [r.topic for r in records]
            return topics.count(names["articles"]) >= 3 and topics.count(names["dlq"]) >= 2

        records = run_async(
            read_records(
                servers,
                [TopicPartition(t, 0) for t in list(names.values())[1:]],
                until=done,
                timeout=120,
            )
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    logs = log_path.read_text(errors="replace")[-4000:]
    assert done(records), f"outputs missing: {[r.topic for r in records]}\n{logs}"

    key_of = {offset: key.decode() for key, offset in offsets.items()}
    by_input: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for record in records:
        headers = dict(record.headers)
        assert headers["origin-topic"] == names["input"].encode()
        assert headers["origin-partition"] == b"0"
        assert headers["content-type"] == b"application/json"
        key = key_of[int(headers["origin-offset"])]
        role = next(role for role, name in names.items() if name == record.topic)
        by_input.setdefault(key, {}).setdefault(role, []).append(orjson.loads(record.value))

    for key in ("seed", "html", "short"):
        (article,) = by_input[key]["articles"]
        assert article["body"].strip() and article["entities"], key
        assert article["fingerprints"]["content_hash"], key
        assert "dlq" not in by_input[key], key
    seed = by_input["seed"]
    assert "Rutte" in {e["name"].split()[-1] for e in seed["articles"][0]["entities"]}
    assert seed["claims"], "the seed has quotes"
    assert {c["claim_id"] for c in seed["claims"]} <= set(seed["articles"][0]["claim_ids"])
    assert "Harbour bridge" in (by_input["html"]["articles"][0]["title"] or "")
    (bad,) = by_input["bad"]["dlq"]
    assert bad["reason"] == "invalid_json"
    assert bad["origin"] == {"topic": names["input"], "partition": 0, "offset": offsets[b"bad"]}
    (empty,) = by_input["empty"]["dlq"]
    assert empty["reason"] == "empty_after_extraction"
    assert set(by_input) == {"seed", "html", "short", "bad", "empty"}
