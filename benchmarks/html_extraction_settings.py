"""Compare trafilatura settings for body extraction on aeb-dev (4-gram F1, benchmark metric).

Reads the evaluation pages from shared/data at run time (never copied) and writes one
prediction file per variant under --out (default /tmp/html_extraction), then scores each
with shared/data/score/score_extraction.py (200 bootstrap rounds).

    .venv/bin/python benchmarks/html_extraction_settings.py [--data ../shared/data] [--quick]

Variants: favor_precision / default / favor_recall x include_tables x fallbacks, each
output both as trafilatura's txt and as our paragraph blocks (`htmlextract.body_blocks`);
`--pipeline` adds the worker's parse path (`streams.evaluation.extraction`, as
`streams eval extraction` runs it: post-clean, dateline, story split). Page loading and
the scorer run are `streams.evaluation`'s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from streams.core.config import CoreConfig
from streams.core.htmlextract import (
    ExtractionSettings,
    body_blocks,
    extract_page,
    load_tree,
    trafilatura_document,
)
from streams.core.htmlparse import settings_for
from streams.evaluation.common import default_data_dir, run_scorer, scorer_path, write_jsonl
from streams.evaluation.extraction import SET_DIR, Page, load_pages, main_body, page_parts


def _variants() -> dict[str, ExtractionSettings]:
    out = {}
    for mode in ("precision", "default", "recall"):
        for tables in (True, False):
            for fallback in (True, False):
                name = f"{mode}|tables={'y' if tables else 'n'}|fallback={'y' if fallback else 'n'}"
                out[name] = ExtractionSettings(
                    favor_precision=mode == "precision",
                    favor_recall=mode == "recall",
                    include_tables=tables,
                    fast=not fallback,
                )
    return out


def _run_settings(args: tuple[Page, ExtractionSettings]) -> tuple[str, str, str, str]:
    """(page, variant) -> txt body and block body."""
    page, settings = args
    page_id, url = page.id, page.url
    tree = load_tree(page.html)
    if tree is None:
        return page_id, "", "", ""
    doc = trafilatura_document(tree, url=url, settings=settings)
    if doc is None:
        return page_id, "", "", ""
    blocks = "\n\n".join(b.text for b in body_blocks(doc.body))
    return page_id, doc.text or "", blocks, doc.title or ""


def _run_postclean(args: tuple[Page, bool]) -> tuple[str, dict[str, str]]:
    """Post-clean variants on the chosen settings: title repeat, boilerplate rules."""
    from streams.core.boilerplate import headline_runs, is_boilerplate, strip_boilerplate
    from streams.core.htmlparse import _same_text, clean_blocks

    item, precision = args
    page_id, url = item.id, item.url
    tree = load_tree(item.html)
    page = (
        extract_page(
            tree, url=url, settings=settings_for(CoreConfig(html_favor_precision=precision))
        )
        if tree is not None
        else None
    )
    if page is None:
        return page_id, {}
    texts = [b.text for b in page.blocks]
    no_title = list(texts)
    while no_title and page.title and _same_text(no_title[0], page.title):
        no_title.pop(0)
    kept = [b for b in page.blocks if not (page.title and _same_text(b.text, page.title))]
    cut = clean_blocks(kept)
    masked = [b.text if b.kind in ("p", "head") else "" for b in cut]
    drop = {i for start, end in headline_runs(masked) for i in range(start, end)}
    return page_id, {
        "cut_and_drop_lines": "\n\n".join(b.text for b in cut),
        "cut_and_drop_lines+paragraph_runs": "\n\n".join(
            b.text for i, b in enumerate(cut) if i not in drop
        ),
        "raw": "\n\n".join(texts),
        "no_title": "\n\n".join(no_title),
        "no_title+drop_boilerplate_lines": "\n\n".join(
            t for t in no_title if not is_boilerplate(t)
        ),
        "no_title+strip_boilerplate": "\n\n".join(strip_boilerplate(no_title)),
    }


def _run_pipeline(args: tuple[Page, bool]) -> tuple[str, str, str]:
    """`streams eval extraction`'s path: the main article's body, and every story's."""
    page, precision = args
    parts = page_parts(page, CoreConfig(html_favor_precision=precision))
    return page.id, main_body(parts), "\n\n".join(p.body for p in parts)


def _score(data: Path, preds: dict[str, str], out: Path) -> dict[str, float]:
    write_jsonl(out, ({"id": page_id, "body": body} for page_id, body in preds.items()))
    result, _ = run_scorer(
        scorer_path(data, "extraction"),
        [out, data / SET_DIR, "--bootstrap", "200"],
        out.with_suffix(".scores.json"),
    )
    return {k: round(result[k], 4) for k in ("f1", "f1_std", "precision", "recall", "accuracy")}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--out", type=Path, default=Path("/tmp/html_extraction"))
    ap.add_argument("--pipeline", action="store_true", help="also score the worker's parse path")
    ap.add_argument("--only-pipeline", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    pages = load_pages(args.data)
    results: dict[str, dict[str, float]] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        if not args.only_pipeline:
            for name, settings in _variants().items():
                started = time.perf_counter()
                jobs = [(page, settings) for page in pages]
                txt, blocks = {}, {}
                for page_id, t, b, _title in pool.map(_run_settings, jobs):
                    txt[page_id], blocks[page_id] = t, b
                secs = round(time.perf_counter() - started, 1)
                slug = name.replace("|", "_").replace("=", "")
                results[f"{name}|txt"] = _score(args.data, txt, args.out / f"{slug}_txt.jsonl")
                results[f"{name}|blocks"] = _score(
                    args.data, blocks, args.out / f"{slug}_blocks.jsonl"
                )
                print(
                    name,
                    "txt",
                    results[f"{name}|txt"],
                    "blocks",
                    results[f"{name}|blocks"],
                    f"{secs}s",
                    flush=True,
                )
        if args.pipeline or args.only_pipeline:
            for precision in (True, False):
                jobs3 = [(page, precision) for page in pages]
                variants: dict[str, dict[str, str]] = {}
                for page_id, bodies in pool.map(_run_postclean, jobs3):
                    for variant, body in bodies.items():
                        variants.setdefault(variant, {})[page_id] = body
                for variant, preds in variants.items():
                    tag = f"postclean|precision={'y' if precision else 'n'}|{variant}"
                    results[tag] = _score(
                        args.data, preds, args.out / f"post{precision}_{variant}.jsonl"
                    )
                    print(tag, results[tag], flush=True)
            for precision in (True, False):
                jobs2 = [(page, precision) for page in pages]
                part0, every = {}, {}
                for page_id, p0, ev in pool.map(_run_pipeline, jobs2):
                    part0[page_id], every[page_id] = p0, ev
                tag = f"parse_html|precision={'y' if precision else 'n'}"
                results[f"{tag}|part0"] = _score(
                    args.data, part0, args.out / f"pipeline{precision}_part0.jsonl"
                )
                results[f"{tag}|all"] = _score(
                    args.data, every, args.out / f"pipeline{precision}_all.jsonl"
                )
                print(
                    tag,
                    "part0",
                    results[f"{tag}|part0"],
                    "all parts",
                    results[f"{tag}|all"],
                    flush=True,
                )
    (args.out / "summary.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    best = max(results.items(), key=lambda kv: kv[1]["f1"])
    print("best:", best, file=sys.stderr)


if __name__ == "__main__":
    main()
