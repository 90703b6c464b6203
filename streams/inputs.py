"""Files a user points the CLI at → raw event messages, exactly as a crawler would publish them.

`streams process` and `streams produce` both read inputs through here, so the bytes the
worker consumes for a file are the bytes `streams process` processes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.errors import InputError

TEXT_SUFFIXES = frozenset({".txt", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES


@dataclass(frozen=True)
class InputMessage:
    """One raw event message: the key and value a crawler would publish, and where it came from."""

    key: str | None
    value: bytes
    origin: dict[str, Any] = field(default_factory=dict)


def _file_event(path: Path, kind: str) -> InputMessage:
    data = path.read_bytes()
    url = path.resolve().as_uri()
    origin = {"file": str(path)}
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        return InputMessage(key=url, value=data, origin=origin)  # dead-lettered as not_utf8
    fetched = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(microsecond=0)
    event = {"url": url, "fetched_at": fetched.isoformat(), kind: content}
    return InputMessage(key=url, value=orjson.dumps(event), origin=origin)


def _event_key(line: bytes) -> str | None:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


def _jsonl(lines: Iterator[bytes], name: str) -> Iterator[InputMessage]:
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line:
            yield InputMessage(_event_key(line), line, {"file": name, "line": number})


def _walk(path: Path) -> Iterator[Path]:
    if path.is_dir():
        found = (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)
        yield from sorted(found)
    else:
        yield path


def read_inputs(paths: list[str]) -> Iterator[InputMessage]:
    """Raw event messages from files, directories or `-` (stdin, JSONL), in order.

    Args:
        paths (list[str]): `.txt`, `.html`, `.jsonl` files, directories of them, or `-`.

    Yields:
        InputMessage: one per page file, one per JSONL line.

    Raises:
        InputError: a path does not exist, cannot be read or has an unsupported type.
    """
    for name in paths:
        if name == "-":
            yield from _jsonl(iter(sys.stdin.buffer), "<stdin>")
            continue
        root = Path(name)
        if not root.exists():
            raise InputError(f"{name}: no such file or directory")
        for path in _walk(root):
            suffix = path.suffix.lower()
            try:
                if suffix in TEXT_SUFFIXES:
                    yield _file_event(path, "text")
                elif suffix in HTML_SUFFIXES:
                    yield _file_event(path, "html")
                elif suffix in JSONL_SUFFIXES:
                    with path.open("rb") as handle:
                        yield from _jsonl(iter(handle), str(path))
                else:
                    raise InputError(
                        f"{path}: unsupported file type {suffix or '(none)'}; "
                        "use .txt, .html or .jsonl (raw events)"
                    )
            except OSError as error:
                raise InputError(f"{path}: cannot read ({error.strerror or error})") from error
