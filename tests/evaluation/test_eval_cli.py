"""`streams eval` end to end on the real development data (read from ../shared/data).

CI copies ../shared next to the clone; when it is missing these tests fail (the
`data_dir` fixture says so) rather than skip.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from streams.cli import cli


def _eval(data_set: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["eval", data_set, *args], catch_exceptions=False)


def _in_unit(value: float) -> bool:
    return 0.0 <= value <= 1.0


@pytest.mark.parametrize(
    ("data_set", "headline"),
    [
        ("extraction", lambda s: [s["f1"], s["precision"], s["recall"], s["accuracy"]]),
        ("ner", lambda s: [s["overall"]["f1"], s["overlap"]["f1"]]),
        ("quotes", lambda s: [s["quote"]["f1"], s["attribution"]["f1"]]),
    ],
)
def test_eval_three_documents_writes_sane_json(
    data_set: str, headline: Any, data_dir: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    result = _eval(
        data_set,
        "--data",
        str(data_dir),
        "--limit",
        "3",
        "--out",
        str(tmp_path / "out"),
        "--json",
        str(report),
    )
    assert result.exit_code == 0, result.output
    record = json.loads(report.read_text(encoding="utf-8"))
    assert record["set"] == data_set and record["split"] == "dev"
    assert record["documents"] == 3
    assert all(_in_unit(v) for v in headline(record["scores"]))
    assert record["throughput"]["docs_per_s"] > 0
    assert record["machine"]["cores"] >= 1 and record["date"].endswith("Z")
    assert "throughput:" in result.stdout and "machine:" in result.stdout
    assert (tmp_path / "out" / f"{data_set}.jsonl").exists()


def test_missing_data_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _eval("ner", "--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"streams: error: data directory not found: {tmp_path / 'nowhere'} (pass --data DIR)"
    )


def test_missing_scorer_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "aeb-dev").mkdir()
    result = _eval("extraction", "--data", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"streams: error: scorer score_extraction.py not found: "
        f"{tmp_path / 'score' / 'score_extraction.py'} (pass --data DIR)"
    ]
