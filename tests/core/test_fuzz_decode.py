"""Fuzz: the raw-event decoder on untrusted bytes ends every payload as an event or a
dead letter, within the per-input budget (`tests.core.fuzzing`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from hypothesis import given, settings

from streams.core.config import CoreConfig
from streams.core.decode import decode_event
from streams.models import DeadLetter, RawEvent, RejectReason
from tests.core.fuzzing import FUZZ, PAYLOADS, Budget, deep_json, quiet_logs, run_within_budget

CONFIG = CoreConfig()
BUDGET = Budget("decode_event")


@pytest.fixture(scope="module", autouse=True)
def _quiet_and_report() -> Iterator[None]:
    with quiet_logs():
        yield
    print(f"\n{BUDGET.report()}")


def _decode(payload: bytes) -> RawEvent | DeadLetter:
    return decode_event(payload, config=CONFIG, origin={"fuzz": True})


def _check(outcome: RawEvent | DeadLetter, payload: bytes) -> None:
    BUDGET.outcomes["event" if isinstance(outcome, RawEvent) else outcome.reason.value] += 1
    if isinstance(outcome, RawEvent):
        assert outcome.url
        assert (outcome.html or "").strip() or (outcome.text or "").strip()
        return
    assert isinstance(outcome, DeadLetter)
    assert outcome.reason != RejectReason.PROCESSING_ERROR, outcome.message
    assert outcome.message
    assert outcome.payload_size == len(payload)
    assert outcome.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert outcome.origin == {"fuzz": True}
    if outcome.reason != RejectReason.TOO_LARGE:
        assert outcome.payload == payload.decode("utf-8", errors="replace")


@settings(FUZZ, max_examples=4500)
@given(PAYLOADS)
def test_every_payload_decodes_to_an_event_or_a_dead_letter(payload: bytes) -> None:
    _check(run_within_budget(BUDGET, _decode, payload, size=len(payload)), payload)


@pytest.mark.parametrize("kind", ["array", "object", "bare"])
@pytest.mark.parametrize("depth", [CONFIG.max_json_depth + 1, 1023, 1025, 100_000])
def test_deep_json_is_a_too_deep_dead_letter(kind: str, depth: int) -> None:
    payload = deep_json(depth, kind)
    outcome = run_within_budget(BUDGET, _decode, payload, size=len(payload))
    assert isinstance(outcome, DeadLetter)
    assert outcome.reason == RejectReason.TOO_DEEP, outcome.message
