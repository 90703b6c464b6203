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


def _records(done: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    assert done.returncode == 0, done.stderr.decode()
    return [orjson.loads(line) for line in done.stdout.splitlines()]


def test_directory_input_reads_pages_and_dead_letters_undecodable_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "Bridge to close for repairs\n\nThe council said on Tuesday that the old bridge would "
        "close for six months after engineers found cracks in its supports.\n",
        encoding="utf-8",
    )
    (tmp_path / "b.txt").write_bytes(b"caf\xe9 au lait \xff\xfe")
    (tmp_path / "notes.md").write_text("ignored: not a page type")
    records = _records(_run("process", str(tmp_path)))
    topics = [r["topic"] for r in records]
    assert topics.count("articles") == 1
    dead = [r["value"] for r in records if r["topic"] == "raw-articles.dlq"]
    assert len(dead) == 1 and dead[0]["reason"] == "not_utf8"  # type: ignore[index]


def test_size_limit_comes_from_the_environment(tmp_path: Path) -> None:
    import os

    page = tmp_path / "big.txt"
    page.write_text("A sentence that is long enough to be an article body. " * 100)
    env = {**os.environ, "STREAMS_CORE__MAX_EVENT_BYTES": "2048"}
    done = subprocess.run(
        [*STREAMS, "process", str(page)], capture_output=True, timeout=300, env=env
    )
    (record,) = _records(done)
    value = record["value"]
    assert isinstance(value, dict)
    assert value["reason"] == "too_large" and value["payload_size"] > 2048
    assert "2048" in value["message"]


def test_invalid_configuration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "STREAMS_CORE__MAX_EVENT_BYTES": "lots"}
    done = subprocess.run(
        [*STREAMS, "process", str(SEED_PATH)], capture_output=True, timeout=300, env=env
    )
    assert done.returncode == 2
    err = done.stderr.decode().strip()
    assert err.startswith("streams: error: invalid configuration") and "\n" not in err


def test_kafka_configuration_errors_name_the_variable() -> None:
    import os

    env = {**os.environ, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    env.pop("KAFKA_SASL_MECHANISM", None)
    done = subprocess.run([*STREAMS, "worker"], capture_output=True, timeout=60, env=env)
    assert done.returncode == 2
    err = done.stderr.decode().strip()
    assert "KAFKA_SASL_MECHANISM is required" in err and "\n" not in err
    assert "Traceback" not in err


def test_syndicated_copies_in_one_run_are_linked_to_the_first(tmp_path: Path) -> None:
    text = SEED_PATH.read_text(encoding="utf-8")
    exact = tmp_path / "exact-copy.txt"
    exact.write_text(text, encoding="utf-8")
    trimmed = tmp_path / "trimmed-copy.txt"
    paragraphs = text.split("\n\n")
    del paragraphs[4]  # a syndication partner dropped a paragraph and retitled the page
    trimmed.write_text(
        "Other Site\n" + "\n\n".join(paragraphs).replace("signals", "shows", 1), encoding="utf-8"
    )
    plain = _records(_run("process", str(SEED_PATH), str(exact), str(trimmed)))
    assert not [r for r in plain if r["topic"] == "claim-appearances"]
    assert all(r["value"]["cluster_id"] is None for r in plain if r["topic"] == "articles")  # type: ignore[index]
    records = _records(_run("process", "--dedupe", str(SEED_PATH), str(exact), str(trimmed)))
    articles = [r["value"] for r in records if r["topic"] == "articles"]
    assert len(articles) == 6
    originals, copies = articles[:2], articles[2:]
    assert all(a["duplicate_of"] is None for a in originals)  # type: ignore[index]
    first_ids = {a["article_id"] for a in originals}  # type: ignore[index]
    assert {a["duplicate_of"] for a in copies} == first_ids  # type: ignore[index]
    assert {a["cluster_id"] for a in copies} == first_ids  # type: ignore[index]
    exact_sims = [a["similarity"] for a in copies[:2]]  # type: ignore[index]
    assert exact_sims == [1.0, 1.0]
    assert all(0.6 <= a["similarity"] < 1.0 for a in copies[2:3])  # type: ignore[index,operator]
    final: dict[str, dict[str, object]] = {}
    for record in records:
        if record["topic"] == "claim-appearances":
            value = record["value"]
            assert isinstance(value, dict)
            final[str(value["claim_id"])] = value
    deepening = [v for v in final.values() if str(v["text"]).startswith("The deepening military")]
    assert [v["count"] for v in deepening] == [6]  # both stories of all three pages
