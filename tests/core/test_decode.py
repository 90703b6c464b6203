"""Raw bytes → RawEvent or a dead letter with a reason; nothing raises."""

from __future__ import annotations

import hashlib

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.config import CoreConfig
from streams.core.decode import decode_event
from streams.models import DeadLetter, RawEvent, RejectReason

CONFIG = CoreConfig(max_event_bytes=4096, dead_letter_payload_bytes=100)
GOOD = {"url": "https://example.com/a", "fetched_at": "2024-10-28T10:00:00Z", "text": "Hello."}


def _decode(payload: bytes) -> RawEvent | DeadLetter:
    return decode_event(payload, config=CONFIG, origin={"file": "t"})


def test_valid_event_decodes_and_keeps_unknown_fields() -> None:
    event = _decode(orjson.dumps({**GOOD, "crawler": "c1", "priority": 3}))
    assert isinstance(event, RawEvent)
    assert event.url == GOOD["url"] and event.crawler == "c1"
    assert event.model_extra == {"priority": 3}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe not utf8", RejectReason.NOT_UTF8),
        (b"{not json", RejectReason.INVALID_JSON),
        (b"[1, 2]", RejectReason.INVALID_EVENT),
        (orjson.dumps({"url": "u", "fetched_at": "2024-01-01T00:00:00Z"}), RejectReason.NO_CONTENT),
        (orjson.dumps({**GOOD, "text": "   "}), RejectReason.NO_CONTENT),
        (orjson.dumps({**GOOD, "fetched_at": "yesterday"}), RejectReason.INVALID_EVENT),
        (orjson.dumps({**GOOD, "text": 42}), RejectReason.INVALID_EVENT),
        (orjson.dumps({**GOOD, "url": None}), RejectReason.INVALID_EVENT),
    ],
)
def test_bad_input_becomes_a_dead_letter_with_reason(payload: bytes, reason: RejectReason) -> None:
    letter = _decode(payload)
    assert isinstance(letter, DeadLetter)
    assert letter.reason == reason
    assert letter.message
    assert letter.payload_size == len(payload)
    assert letter.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert letter.origin == {"file": "t"}
    assert not letter.truncated


def test_too_large_payload_is_truncated_with_size_and_hash() -> None:
    payload = orjson.dumps({**GOOD, "text": "x" * 5000})
    letter = _decode(payload)
    assert isinstance(letter, DeadLetter)
    assert letter.reason == RejectReason.TOO_LARGE
    assert letter.truncated and letter.payload is not None and len(letter.payload) == 100
    assert letter.payload_size == len(payload)
    assert "4096" in letter.message


def test_invalid_event_message_names_the_field() -> None:
    letter = _decode(orjson.dumps({**GOOD, "fetched_at": "yesterday"}))
    assert isinstance(letter, DeadLetter) and "fetched_at" in letter.message
    assert letter.url == GOOD["url"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_decoder_never_raises(payload: bytes) -> None:
    assert isinstance(_decode(payload), RawEvent | DeadLetter)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["url", "fetched_at", "html", "text", "source", "headers", "x"]),
        st.one_of(
            st.none(),
            st.integers(-(2**63), 2**63 - 1),
            st.text(max_size=40),
            st.lists(st.booleans()),
        ),
    )
)
def test_decoder_never_raises_on_arbitrary_objects(data: dict[str, object]) -> None:
    assert isinstance(_decode(orjson.dumps(data)), RawEvent | DeadLetter)
