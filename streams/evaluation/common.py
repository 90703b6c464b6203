"""What the three evaluations share: data paths, the held-back split, the scorer runner,
throughput and the machine description. No NLP here, so it imports fast."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from streams.core.config import CoreConfig
from streams.errors import StreamsError

Split = Literal["dev", "held-back", "all"]
SPLITS: tuple[Split, ...] = ("dev", "held-back", "all")
"""`dev` to tune on, `held-back` to check on, `all` for both."""

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_ENV = "STREAMS_EVAL_DATA"
"""Environment variable naming the data directory (default: `<repo>/../shared/data`)."""


class EvalDataError(StreamsError):
    """A data set or its scorer is missing or unusable."""


def is_held_back(doc_id: str) -> bool:
    """The one held-back rule for every set: the id's SHA-1 starts with 0, 1 or 2 (~3/16).

    Args:
        doc_id (str): a document id of a data set (page id, CoNLL or PolNeAR article id).

    Returns:
        bool: True when the document is held back from tuning.
    """
    return hashlib.sha1(doc_id.encode()).hexdigest()[0] in "012"


def select_ids(ids: Iterable[str], split: Split, limit: int | None = None) -> list[str]:
    """The ids of `split`, in the given order, the first `limit` of them when given."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    chosen = [i for i in ids if split == "all" or is_held_back(i) == (split == "held-back")]
    return chosen[:limit] if limit is not None else chosen


def default_data_dir() -> Path:
    """`$STREAMS_EVAL_DATA`, else `shared/data` beside the repository."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def require(path: Path, what: str) -> Path:
    """`path`, or an `EvalDataError` naming what is missing."""
    if not path.exists():
        raise EvalDataError(f"{what} not found: {path} (pass --data DIR)")
    return path


def scorer_path(data: Path, name: str) -> Path:
    """The data set's scorer, `score/score_<name>.py` under `data`."""
    return require(data / "score" / f"score_{name}.py", f"scorer score_{name}.py")


def read_jsonl_lines(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """Each non-blank line of a JSONL file, verbatim and parsed."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(line, json.loads(line)) for line in lines if line.strip()]


def select_gold(path: Path, split: Split, limit: int | None, gold: Path) -> list[dict[str, Any]]:
    """The split's documents of a gold JSONL file (`id` per line), also written to `gold`.

    The scorers score exactly the documents of the gold file they get, so the selected
    lines are copied verbatim to `gold` (in the run's output directory, never the repo).
    """
    lines = read_jsonl_lines(path)
    ids = set(select_ids([row["id"] for _, row in lines], split, limit))
    chosen = [(line, row) for line, row in lines if row["id"] in ids]
    gold.write_text("".join(line + "\n" for line, _ in chosen), encoding="utf-8")
    return [row for _, row in chosen]


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write one JSON object per line (UTF-8, not ASCII-escaped); returns `path`."""
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def run_scorer(
    script: Path, args: Sequence[str | Path], json_out: Path
) -> tuple[dict[str, Any], str]:
    """Run a data set's scorer with `--json`, as the data README shows.

    Args:
        script (Path): `score_<set>.py`.
        args (Sequence[str | Path]): its arguments before `--json`.
        json_out (Path): where it writes its figures.

    Returns:
        tuple[dict, str]: the scorer's JSON figures and what it printed.

    Raises:
        EvalDataError: the scorer failed (its last stderr line is in the message).
    """
    command = [sys.executable, str(script), *map(str, args), "--json", str(json_out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise EvalDataError(f"{script.name} failed with exit code {done.returncode}: {last}")
    return json.loads(json_out.read_text(encoding="utf-8")), done.stdout


def per_second(count: float, seconds: float) -> float:
    """`count / seconds`, rounded for reports (0 when nothing was timed)."""
    return round(count / seconds, 1) if seconds > 0 else 0.0


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else the platform's best guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, Any]:
    """Where the figures were measured: CPU model, cores, OS and Python."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 1,
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
    }


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class EvalResult:
    """One evaluation run: the scorer's figures and how fast the pipeline went."""

    set: str
    split: Split
    documents: int
    scores: dict[str, Any]
    throughput: dict[str, float]
    predictions: Path
    scorer_output: str = ""
    date: str = field(default_factory=now)
    machine: dict[str, Any] = field(default_factory=machine)

    def record(self) -> dict[str, Any]:
        """The JSON written by `--json`, for tracking figures over time."""
        return {
            "set": self.set,
            "split": self.split,
            "date": self.date,
            "machine": self.machine,
            "scores": self.scores,
            "throughput": self.throughput,
            "documents": self.documents,
        }


@dataclass(frozen=True)
class Request:
    """What to evaluate: the data, the split, the pipeline settings and where output goes."""

    data: Path
    split: Split
    config: CoreConfig
    out: Path
    limit: int | None = None
    progress: Callable[[int], object] | None = None

    def advance(self, documents: int = 1) -> None:
        """Tell the progress bar that `documents` more are done."""
        if self.progress is not None:
            self.progress(documents)


@dataclass(frozen=True)
class Predictions:
    """A set module's output: one scorer row per document, and how long the pipeline took."""

    rows: list[dict[str, Any]]
    scorer_args: Callable[[Path], list[str | Path]]
    """The scorer's arguments (before `--json`), given the predictions file."""
    seconds: float
    throughput: dict[str, float] = field(default_factory=dict)
    """Figures beyond seconds and documents per second (tokens for NER)."""


def evaluate(name: str, request: Request) -> EvalResult:
    """Run `streams.evaluation.<name>.predict`, write its predictions and score them.

    Args:
        name (str): the data set: extraction, ner or quotes.
        request (Request): data, split, settings and output directory.

    Returns:
        EvalResult: the scorer's figures, throughput and the predictions file.

    Raises:
        EvalDataError: the data set or its scorer is missing, or the scorer failed.
    """
    scorer = scorer_path(request.data, name)
    module = importlib.import_module(f"streams.evaluation.{name}")
    require(request.data / module.SET_DIR, f"data set {module.SET_DIR}")
    predicted: Predictions = module.predict(request)
    path = write_jsonl(request.out / f"{name}.jsonl", predicted.rows)
    scores, printed = run_scorer(
        scorer, predicted.scorer_args(path), request.out / f"{name}-scores.json"
    )
    documents = len(predicted.rows)
    return EvalResult(
        set=name,
        split=request.split,
        documents=documents,
        scores=scores,
        throughput={
            "seconds": round(predicted.seconds, 2),
            "docs_per_s": per_second(documents, predicted.seconds),
            **predicted.throughput,
        },
        predictions=path,
        scorer_output=printed,
    )
