"""`streams process` as a user runs it: files in, JSONL records out, summary on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from tests.conftest import SEED_PATH

STREAMS = [sys.executable, "-m", "streams.cli"]


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*STREAMS, *args], input=stdin, capture_output=True, timeout=300)


def test_process_seed_and_bad_jsonl_prints_records_and_summary(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(
        b'{"url": "https://example.com/x", "fetched_at": "2024-10-28T00:00:00Z"}\nnot json at all\n'
    )
    done = _run("process", str(SEED_PATH), str(events))
    assert done.returncode == 0, done.stderr.decode()
    lines = [orjson.loads(line) for line in done.stdout.splitlines()]
    topics = [line["topic"] for line in lines]
    assert topics.count("articles") == 2
    assert topics.count("claims") >= 20
    dead = [line["value"] for line in lines if line["topic"] == "raw-articles.dlq"]
    assert [d["reason"] for d in dead] == ["no_content", "invalid_json"]
    assert dead[1]["origin"] == {"file": str(events), "line": 2}
    summary = done.stderr.decode().strip().splitlines()[-1]
    assert summary.startswith("processed 3 events") and "2 dead letters" in summary


def test_process_reads_jsonl_from_stdin() -> None:
    event = orjson.dumps(
        {
            "url": "https://example.com/n",
            "fetched_at": "2024-10-28T00:00:00Z",
            "text": "Officials said on Monday that the bridge would reopen in May.",
        }
    )
    done = _run("process", "-", stdin=event + b"\n")
    assert done.returncode == 0, done.stderr.decode()
    (article,) = [orjson.loads(x) for x in done.stdout.splitlines() if b'"articles"' in x[:30]]
    assert article["key"] == article["value"]["article_id"]
    assert article["value"]["url"] == "https://example.com/n"


def test_missing_file_is_one_clear_line_and_exit_1() -> None:
    done = _run("process", "/nonexistent/page.txt")
    assert done.returncode == 1
    err = done.stderr.decode().strip()
    assert err == "streams: error: /nonexistent/page.txt: no such file or directory"


def test_unsupported_file_type_is_a_clear_error(tmp_path: Path) -> None:
    odd = tmp_path / "page.pdf"
    odd.write_bytes(b"%PDF")
    done = _run("process", str(odd))
    assert done.returncode == 1
    assert b"unsupported file type .pdf" in done.stderr
    assert b"Traceback" not in done.stderr


def test_every_verb_has_help() -> None:
    for verb in ("process", "schemas"):
        done = _run(verb, "--help")
        assert done.returncode == 0 and b"Usage:" in done.stdout
