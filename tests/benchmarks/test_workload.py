"""The throughput benchmark's workload, built from the real shared data (read, never copied).

Checks what makes the benchmark honest: the share of each kind of event, exact copies that
really repeat their original, copies that arrive after it, padding variants that share no
paragraph with anything else, and bad inputs the service really rejects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.workload import (
    MAX_VALUE_BYTES,
    WorkloadEvent,
    build_workload,
    describe,
    load_originals,
)
from streams.core import CoreConfig
from streams.core.decode import decode_event
from streams.core.dedupe import sketch_similarity
from streams.core.fingerprints import shingle_sketch
from streams.core.parsing import parse_payloads
from streams.models import DeadLetter, RawEvent, RejectReason


@pytest.fixture(scope="module")
def shared(data_dir: Path) -> Path:
    """The shared/ folder: data/ and seed/."""
    return data_dir.parent


@pytest.fixture(scope="module")
def small(shared: Path) -> list[WorkloadEvent]:
    """400 events: fewer originals than real stories, so no variants."""
    return build_workload(shared, 400)


@pytest.fixture(scope="module")
def padded(shared: Path) -> list[WorkloadEvent]:
    """900 events: 603 originals, so 241 of them are variants of real stories."""
    return build_workload(shared, 900, seed=3)


def _event(e: WorkloadEvent) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(e.value)
    return data


def _content(e: WorkloadEvent) -> dict[str, Any]:
    return {k: v for k, v in _event(e).items() if k not in ("url", "fetched_at")}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _grams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def test_shares_of_kinds(small: list[WorkloadEvent]) -> None:
    kinds = Counter(e.kind for e in small)
    assert len(small) == 400
    assert abs(kinds["exact_copy"] + kinds["near_copy"] - 0.30 * 400) <= 4
    assert abs(kinds["exact_copy"] - kinds["near_copy"]) <= 2
    assert abs(kinds["bad"] - 0.03 * 400) <= 2
    assert kinds["original"] == 400 - kinds["exact_copy"] - kinds["near_copy"] - kinds["bad"]
    summary = describe(small)
    assert summary["kinds"] == {k: kinds[k] for k in ("original", "exact_copy", "near_copy", "bad")}
    assert summary["content"]["html"] > 0 and summary["content"]["text"] > 0
    assert summary["stories"] == kinds["original"]


def test_exact_copies_repeat_their_original(small: list[WorkloadEvent]) -> None:
    originals = {e.story: e for e in small if e.kind == "original"}
    copies = [e for e in small if e.kind == "exact_copy"]
    assert copies
    for copy in copies:
        original = originals[copy.story]
        assert _content(copy) == _content(original)
        assert _event(copy)["url"] != _event(original)["url"]
        assert _event(copy)["fetched_at"] > _event(original)["fetched_at"]


def test_near_copies_are_edited_text_of_their_story(small: list[WorkloadEvent]) -> None:
    originals = {e.story: _content(e) for e in small if e.kind == "original"}
    near = [e for e in small if e.kind == "near_copy"]
    assert near
    for copy in near:
        assert set(_content(copy)) == {"text"}
        assert _content(copy) != originals[copy.story]


def test_copies_come_after_their_originals(small: list[WorkloadEvent]) -> None:
    first = {e.story: n for n, e in reversed(list(enumerate(small))) if e.kind == "original"}
    copies = [(n, e) for n, e in enumerate(small) if e.kind in ("exact_copy", "near_copy")]
    assert all(n > first[e.story] for n, e in copies)
    # interleaved: copies are spread over the stream, not appended at its end
    assert min(n for n, _ in copies) < len(small) // 4


def test_keys_urls_times_and_sizes(small: list[WorkloadEvent]) -> None:
    good = [e for e in small if e.kind != "bad"]
    urls = [_event(e)["url"] for e in good]
    assert len(set(urls)) == len(urls)
    assert [e.key for e in good] == [u.encode() for u in urls]
    assert all(u.startswith(("https://", "http://")) for u in urls)  # aeb-dev: as saved
    times = [dt.datetime.fromisoformat(_event(e)["fetched_at"]) for e in good]
    assert times == sorted(times)  # produced in fetch order
    assert max(len(e.value) for e in small) <= MAX_VALUE_BYTES


def test_every_page_fits_the_broker_limit(shared: Path) -> None:
    originals = load_originals(shared)
    assert len(originals) == 61 + 1 + 84 + 216
    assert max(len(orjson.dumps(o.body)) for o in originals) < MAX_VALUE_BYTES


def test_variants_share_no_paragraph_and_are_not_near_copies(
    shared: Path, padded: list[WorkloadEvent]
) -> None:
    originals = [e for e in padded if e.kind == "original"]
    variants = [e for e in originals if "~v" in e.story]
    assert len(variants) == 603 - 362
    line_count = Counter(
        line for e in originals if "text" in _event(e) for line in set(_lines(_event(e)["text"]))
    )
    sources = {o.story: o for o in load_originals(shared)}
    config = CoreConfig()
    for variant in variants:
        text = _event(variant)["text"]
        assert all(line_count[line] == 1 for line in _lines(text)), variant.story
        source = sources[variant.story.split("~")[0]]
        source_text = source.body if source.content == "text" else "\n\n".join(source.paragraphs)
        a, b = _grams(text), _grams(source_text)
        assert len(a & b) / len(a | b) < 0.5, variant.story
        score = sketch_similarity(
            shingle_sketch(text, config), shingle_sketch(source_text, config)
        ).score
        assert score < config.dedupe_threshold, variant.story  # the service's own check
        assert len(_lines(text)) == len(_lines(source_text))
        assert 0.8 < len(text) / len(source_text) < 1.3


def test_bad_inputs_are_rejected_and_good_ones_are_not(padded: list[WorkloadEvent]) -> None:
    config = CoreConfig()
    bad = [e for e in padded if e.kind == "bad"]
    results = parse_payloads([e.value for e in bad], config=config)
    assert all(isinstance(r, DeadLetter) for r in results)
    reasons = Counter(r.reason for r in results if isinstance(r, DeadLetter))
    assert set(reasons) == {
        RejectReason.NOT_UTF8,
        RejectReason.INVALID_JSON,
        RejectReason.NO_CONTENT,
        RejectReason.INVALID_EVENT,
        RejectReason.EMPTY_AFTER_EXTRACTION,
    }
    # all but the pages without article text are stopped by the decoder already
    decoded = [decode_event(e.value, config=config) for e in bad]
    assert (
        sum(isinstance(d, RawEvent) for d in decoded)
        == reasons[RejectReason.EMPTY_AFTER_EXTRACTION]
    )
    assert describe(padded)["bad_reasons"] == {
        "invalid_json": reasons[RejectReason.INVALID_JSON],
        "no_article": reasons[RejectReason.EMPTY_AFTER_EXTRACTION],
        "no_content": reasons[RejectReason.NO_CONTENT],
        "not_utf8": reasons[RejectReason.NOT_UTF8],
        "wrong_type": reasons[RejectReason.INVALID_EVENT],
    }
    good = [e for e in padded if e.kind != "bad"]
    assert all(isinstance(decode_event(e.value, config=config), RawEvent) for e in good)


def test_deterministic_for_a_seed(shared: Path, small: list[WorkloadEvent]) -> None:
    assert build_workload(shared, 400) == small
    assert build_workload(shared, 400, seed=8) != small
