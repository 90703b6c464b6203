"""Raw bytes from a crawler → RawEvent, or a DeadLetter saying exactly what is wrong.

Checks run cheapest first and before any HTML parsing: size, UTF-8, JSON and its
nesting depth, the event model, then the HTML's nesting depth and tag count by a
cheap scan (`limits`). Nothing here raises for bad input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import ValidationError

from streams.core.config import CoreConfig
from streams.core.limits import json_breach, json_depth_breach, markup_breach
from streams.models import DeadLetter, RawEvent, RejectReason


def dead_letter(
    reason: RejectReason,
    message: str,
    payload: bytes,
    *,
    config: CoreConfig,
    url: str | None = None,
    origin: Mapping[str, Any] | None = None,
) -> DeadLetter:
    """A dead letter that keeps the payload, or its start plus size and hash when too large.

    Args:
        reason (RejectReason): machine-readable reason code.
        message (str): what went wrong and what to do.
        payload (bytes): the original input bytes.
        config (CoreConfig): how much of a large payload to keep.
        url (str | None): the event's URL when known.
        origin (Mapping | None): where the input came from.

    Returns:
        DeadLetter: the record to publish on the dead-letter topic.
    """
    keep = len(payload) if reason != RejectReason.TOO_LARGE else config.dead_letter_payload_bytes
    kept = payload[:keep]
    return DeadLetter(
        reason=reason,
        message=message,
        url=url,
        payload=kept.decode("utf-8", errors="replace"),
        payload_size=len(payload),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        truncated=len(kept) < len(payload),
        origin=dict(origin or {}),
    )


def _first_error(error: ValidationError) -> str:
    details = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "event"
        details.append(f"{where}: {item['msg']}")
    return "; ".join(details)


def decode_event(
    payload: bytes, *, config: CoreConfig, origin: Mapping[str, Any] | None = None
) -> RawEvent | DeadLetter:
    """Decode one crawler message.

    Args:
        payload (bytes): the message value (JSON of a RawEvent).
        config (CoreConfig): the size, JSON depth and HTML limits.
        origin (Mapping | None): copied into a dead letter.

    Returns:
        RawEvent | DeadLetter: the event, or why it cannot be processed.
    """

    def reject(reason: RejectReason, message: str, url: str | None = None) -> DeadLetter:
        return dead_letter(reason, message, payload, config=config, url=url, origin=origin)

    if len(payload) > config.max_event_bytes:
        return reject(
            RejectReason.TOO_LARGE,
            f"event is {len(payload)} bytes, over the limit of {config.max_event_bytes}; "
            "send the page's text or raise STREAMS_CORE__MAX_EVENT_BYTES",
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        return reject(
            RejectReason.NOT_UTF8,
            f"event is not UTF-8 (byte {error.start}); encode the JSON event as UTF-8",
        )
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error):  # orjson's own limit: 1024 levels
            too_deep = json_depth_breach(config.max_json_depth)
            return reject(too_deep.reason, too_deep.message)
        return reject(RejectReason.INVALID_JSON, f"event is not JSON: {error}")
    breach = json_breach(data, max_depth=config.max_json_depth)
    if breach is not None:
        return reject(breach.reason, breach.message)
    if not isinstance(data, dict):
        return reject(
            RejectReason.INVALID_EVENT,
            f"event must be a JSON object, got {type(data).__name__}",
        )
    url = data.get("url") if isinstance(data.get("url"), str) else None
    has_content = any(isinstance(data.get(k), str) and data[k].strip() for k in ("html", "text"))
    if not has_content and not any(
        data.get(k) is not None and not isinstance(data.get(k), str) for k in ("html", "text")
    ):
        return reject(
            RejectReason.NO_CONTENT,
            "event has neither 'html' nor 'text' content; send at least one of them",
            url,
        )
    try:
        event = RawEvent.model_validate(data)
    except ValidationError as error:
        return reject(RejectReason.INVALID_EVENT, f"invalid event: {_first_error(error)}", url)
    if event.html:
        breach = markup_breach(
            event.html, max_depth=config.max_html_depth, max_tags=config.max_html_tags
        )
        if breach is not None:
            return reject(breach.reason, breach.message, url)
    return event
