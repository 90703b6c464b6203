"""Kafka headers of the records the worker publishes.

Every output record carries:

- `schema_version`: the output contract's version (`streams.models.SCHEMA_VERSION`);
- `content-type`: `application/json`;
- `origin-topic`, `origin-partition`, `origin-offset`: the input record it came from;
- `trace-id` (and `traceparent`): only when the input carries one. A `trace-id` header is
  copied as is; a W3C `traceparent` is copied and its trace id is also set as `trace-id`.
  Inputs without a trace id get none: no id is invented, so re-processing an input
  publishes the same headers, and the origin headers already identify the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from streams.models import SCHEMA_VERSION

CONTENT_TYPE = b"application/json"
TRACE_ID = "trace-id"
TRACEPARENT = "traceparent"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")

Headers = list[tuple[str, bytes]]


def _as_bytes(value: bytes | str | None) -> bytes | None:
    if value is None:
        return None
    return value if isinstance(value, bytes) else value.encode("utf-8")


def trace_headers(incoming: Mapping[str, bytes | str] | Iterable[tuple[str, bytes]]) -> Headers:
    """The trace headers to copy from an input record's headers.

    Args:
        incoming (Mapping | Iterable[tuple]): the input record's headers.

    Returns:
        Headers: `trace-id` (and `traceparent`) when the input has one, else nothing.
    """
    items = incoming.items() if isinstance(incoming, Mapping) else incoming
    found = {name.lower(): _as_bytes(value) for name, value in items}
    trace_id = found.get(TRACE_ID)
    parent = found.get(TRACEPARENT)
    out: Headers = []
    if parent is not None:
        match = _TRACEPARENT.match(parent.decode("ascii", errors="replace").strip().lower())
        if match:
            out.append((TRACEPARENT, parent))
            trace_id = trace_id or match.group(1).encode("ascii")
    if trace_id:
        out.insert(0, (TRACE_ID, trace_id))
    return out


def output_headers(topic: str, partition: int, offset: int, trace: Headers) -> Headers:
    """Headers of every record published for one input.

    Args:
        topic (str): input topic of origin.
        partition (int): input partition of origin.
        offset (int): input offset of origin.
        trace (Headers): from `trace_headers`.

    Returns:
        Headers: `(name, value)` pairs in a fixed order.
    """
    return [
        ("schema_version", SCHEMA_VERSION.encode("ascii")),
        ("content-type", CONTENT_TYPE),
        ("origin-topic", topic.encode("utf-8")),
        ("origin-partition", str(partition).encode("ascii")),
        ("origin-offset", str(offset).encode("ascii")),
        *trace,
    ]
