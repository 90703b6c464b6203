"""The NLP process pool: results equal the core's, and a crashing input is dead-lettered."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pytest

from streams.app.pool import NlpPool, Parsed, enrich_chunk, parse_chunk
from streams.core import CoreConfig, Processed, encode_value, process_payloads
from streams.models import ArticlePart, DeadLetter, RejectReason
from tests.app.conftest import sync

pytestmark = pytest.mark.timeout(120)

GOOD = orjson.dumps(
    {
        "url": "https://example.com/a",
        "fetched_at": "2024-10-28T00:00:00Z",
        "text": 'NATO chief Mark Rutte said on Monday: "We stand with Ukraine."',
    }
)
POISON = b'{"crash": true}'


def crashing_chunk(
    payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]], config: CoreConfig
) -> tuple[list[Parsed], dict[str, float]]:
    """A pool task whose process dies on the poison input (like a segfault)."""
    if POISON in payloads:
        os._exit(3)
    return parse_chunk(payloads, origins, config)


@sync
async def test_pool_returns_what_the_core_returns() -> None:
    config = CoreConfig()
    pool = NlpPool(config, 2)
    await pool.start()
    try:
        assert pool.ready and pool.model_load_seconds and pool.model_load_seconds > 0
        payloads = [GOOD, b"not json", GOOD]
        origins = [{"offset": i} for i in range(3)]
        parsed, parse_seconds = await pool.parse(payloads, origins)
        parts = [p for item in parsed if isinstance(item, list) for p in item]
        enriched, seconds = await pool.enrich(parts)
    finally:
        pool.shutdown()
    expected = process_payloads(payloads, config=config, origins=origins)
    assert isinstance(parsed[1], DeadLetter)
    assert _bytes(parsed[1]) == _bytes(expected[1])
    assert [_bytes(o) for o in enriched] == [_bytes(expected[0]), _bytes(expected[2])]
    assert seconds["nlp"][0] > 0 and seconds["nlp"][1] > 0  # wall and CPU
    assert parse_seconds.get("nlp", (0.0, 0.0)) == (0.0, 0.0)
    assert not pool.ready


@sync
async def test_a_crashing_input_is_dead_lettered_and_its_batch_mates_processed() -> None:
    restarts = []
    pool = NlpPool(
        CoreConfig(), 1, parse_task=crashing_chunk, on_restart=lambda: restarts.append(1)
    )
    await pool.start()
    try:
        outcomes, _ = await pool.parse(
            [GOOD, POISON, b"not json"], [{"offset": 0}, {"offset": 1}, {"offset": 2}]
        )
        again, _ = await pool.parse([GOOD], [{"offset": 3}])  # the pool works afterwards
    finally:
        pool.shutdown()
    assert isinstance(outcomes[0], list) and isinstance(outcomes[0][0], ArticlePart)
    assert isinstance(outcomes[1], DeadLetter)
    assert outcomes[1].reason == RejectReason.PROCESSING_ERROR
    assert outcomes[1].origin == {"offset": 1}
    assert outcomes[1].payload == POISON.decode()
    assert isinstance(outcomes[2], DeadLetter) and outcomes[2].reason == "invalid_json"
    assert isinstance(again[0], list)
    assert len(restarts) == 2  # once for the batch, once for the poison input alone


@sync
async def test_a_short_batch_takes_its_turn_between_a_long_ones_turns(seed_text: str) -> None:
    config = CoreConfig(nlp_turn_chars=400)
    report = "\n\n".join(  # distinct paragraphs: about 1 s of NLP in all
        f"In district {i}, officials counted {i * 37} ballots before noon, the commission said."
        for i in range(150)
    )
    long_event = orjson.dumps({"url": "https://example.com/long", "text": seed_text + report,
                               "fetched_at": "2024-10-28T00:00:00Z"})  # fmt: skip
    parsed, _ = parse_chunk([long_event, GOOD], [{}, {}], config)
    assert isinstance(parsed[0], list) and isinstance(parsed[1], list)
    finished: list[str] = []
    pool = NlpPool(config, 1)
    await pool.start()

    async def enrich(name: str, parts: list[ArticlePart]) -> list[Any]:
        outcomes, _ = await pool.enrich(parts)
        finished.append(name)
        return outcomes

    try:
        long_run = asyncio.ensure_future(enrich("long", parsed[0]))
        await asyncio.sleep(0.2)  # the long batch is in its turns
        short = await enrich("short", parsed[1])
        long = await long_run
    finally:
        pool.shutdown()
    assert finished == ["short", "long"]
    for outcomes, parts in ((long, parsed[0]), (short, parsed[1])):
        expected, _ = enrich_chunk(parts, [{}] * len(parts), CoreConfig(nlp_turn_chars=0))
        assert [_bytes(o) for o in outcomes] == [_bytes(o) for o in expected]


def test_enrich_chunk_equals_the_core() -> None:
    config = CoreConfig()
    parsed, _ = parse_chunk([GOOD], [{}], config)
    assert isinstance(parsed[0], list)
    enriched, _ = enrich_chunk(parsed[0], [{}], config)
    assert [_bytes(o) for o in enriched] == [_bytes(process_payloads([GOOD], config=config)[0])]


def _bytes(outcome: Any) -> list[bytes]:
    if isinstance(outcome, Processed):
        return [encode_value(v) for v in (*outcome.articles, *outcome.claims)]
    return [encode_value(outcome)]


@sync
async def test_the_oldest_chunk_gets_every_other_turn() -> None:
    from streams.app.pool import _TurnOrder

    order = _TurnOrder()
    granted: list[str] = []

    async def turns(name: str, born: int, count: int) -> None:
        for _ in range(count):  # like `_Lane._chunk`: the next turn is asked for after one ends
            await order.acquire(born)
            granted.append(name)
            await asyncio.sleep(0.01)  # the turn's work; the others queue meanwhile
            order.release()

    long = asyncio.ensure_future(turns("long", 0, 3))
    await asyncio.sleep(0)  # the long chunk (the oldest) has the process
    shorts = [asyncio.ensure_future(turns(n, b, 1)) for n, b in (("a", 1), ("b", 2), ("c", 3))]
    await asyncio.gather(long, *shorts)
    assert granted == ["long", "a", "long", "b", "long", "c"]
