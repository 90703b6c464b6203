"""Article body extraction on aeb-dev: the worker's HTML parse path, scored on 4-gram F1.

Each page becomes a raw event `{"url", "fetched_at", "html"}` (the ground truth's URL) and
goes through `parse_payloads`, exactly as an HTML event in the worker; the prediction is
the body of the page's main article (the story with `part_of` None), paragraphs separated
by blank lines.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass
from pathlib import Path

from streams.core.config import CoreConfig
from streams.core.parsing import parse_payloads
from streams.evaluation.common import Predictions, Request, require, select_ids
from streams.models import ArticlePart, DeadLetter

SET_DIR = "aeb-dev"
FETCHED_AT = "2020-01-01T00:00:00Z"
"""A fixed fetch time for every page (the body does not depend on it)."""


@dataclass(frozen=True)
class Page:
    """One benchmark page: its id (the HTML file name), saved URL and HTML."""

    id: str
    url: str
    html: str


def page_ids(data: Path) -> list[str]:
    """The ids of the set's pages, sorted."""
    truth = require(data / SET_DIR / "ground-truth.json", "aeb-dev ground truth")
    return sorted(json.loads(truth.read_text(encoding="utf-8")))


def load_pages(data: Path, ids: list[str] | None = None) -> list[Page]:
    """The pages of `ids` (default: all), in that order, HTML decoded from the .html.gz."""
    truth_path = require(data / SET_DIR / "ground-truth.json", "aeb-dev ground truth")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    pages = []
    for page_id in ids if ids is not None else sorted(truth):
        html_path = require(data / SET_DIR / "html" / f"{page_id}.html.gz", "aeb-dev page")
        html = gzip.decompress(html_path.read_bytes()).decode("utf-8", errors="replace")
        pages.append(Page(id=page_id, url=truth[page_id]["url"], html=html))
    return pages


def html_event(page: Page) -> bytes:
    """The raw event a crawler would publish for the page."""
    return json.dumps({"url": page.url, "fetched_at": FETCHED_AT, "html": page.html}).encode()


def page_parts(page: Page, config: CoreConfig) -> list[ArticlePart]:
    """The stories the worker's parse stage finds on the page (none when dead-lettered)."""
    (parsed,) = parse_payloads([html_event(page)], config=config)
    return [] if isinstance(parsed, DeadLetter) else parsed


def main_body(parts: list[ArticlePart]) -> str:
    """The body of the page's main article (`part_of` None), or "" when there is none."""
    return next((part.body for part in parts if part.part_of is None), "")


def predict(request: Request) -> Predictions:
    """The main-article body of each page of the split (scored with `--ids` of the split)."""
    ids = select_ids(page_ids(request.data), request.split, request.limit)
    ids_file = request.out / "extraction-ids.txt"
    ids_file.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    rows = []
    seconds = 0.0
    for page in load_pages(request.data, ids):
        started = time.perf_counter()
        body = main_body(page_parts(page, request.config))
        seconds += time.perf_counter() - started
        rows.append({"id": page.id, "body": body})
        request.advance()
    return Predictions(
        rows=rows,
        scorer_args=lambda path: [path, request.data / SET_DIR, "--ids", ids_file],
        seconds=seconds,
    )
