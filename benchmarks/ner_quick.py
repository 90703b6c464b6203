"""Quick NER check on conll2003-dev: spaCy's raw entities vs `extract_entities`.

Reads shared/data at run time (never copied), writes two prediction files to --out
(default /tmp/ner_quick) and scores both with shared/data/score/score_ner.py. Also times
spaCy alone against the entity post-processing, in tokens per second, on the CoNLL texts
and on the seed page.

    .venv/bin/python benchmarks/ner_quick.py [--data ../shared/data] [--limit N]

Published labels are mapped for the scorer: PLACE -> LOC, PERSON -> PER, ORG -> ORG, the
other name labels -> MISC; dates and numbers are dropped. This is a guard against
regressions, not a target to tune the rules to.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from streams.core.config import CoreConfig
from streams.core.entities import NAME_LABELS, extract_entities
from streams.core.gazetteer import load_gazetteer
from streams.core.nlp import load_nlp

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
SEED = ROOT.parent / "shared" / "seed" / "000_5ff85278df32db3f.txt"
SCORER_LABELS = {"PLACE": "LOC", "PERSON": "PER", "ORG": "ORG"}


def _post_entities(doc: Doc) -> list[dict[str, Any]]:
    out = []
    for entity in extract_entities(doc):
        if entity.label not in NAME_LABELS:
            continue
        label = SCORER_LABELS.get(entity.label, "MISC")
        out += [{"start": m.start, "end": m.end, "label": label} for m in entity.mentions]
    return out


def _raw_entities(doc: Doc) -> list[dict[str, Any]]:
    return [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents]


def _timed(texts: list[str], batch_size: int) -> tuple[list[Doc], float, float, int]:
    """Docs, spaCy seconds, post-processing seconds, spaCy token count."""
    nlp = load_nlp(CoreConfig().spacy_model)
    t0 = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    t1 = time.perf_counter()
    for doc in docs:
        extract_entities(doc)
    t2 = time.perf_counter()
    return docs, t1 - t0, t2 - t1, sum(len(d) for d in docs)


def _report(name: str, spacy_s: float, post_s: float, tokens: int) -> None:
    print(
        f"{name}: {tokens} spaCy tokens; spaCy {tokens / spacy_s:,.0f} tok/s; "
        f"spaCy+entities {tokens / (spacy_s + post_s):,.0f} tok/s; "
        f"entities alone {tokens / post_s:,.0f} tok/s ({100 * post_s / spacy_s:.1f}% of spaCy)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ner_quick"))
    parser.add_argument("--limit", type=int, default=0, help="score only the first N documents")
    parser.add_argument("--seed-repeats", type=int, default=20)
    args = parser.parse_args()

    gold_path = args.data / "conll2003-dev" / "docs.jsonl"
    rows = [json.loads(line) for line in gold_path.read_text(encoding="utf-8").splitlines()]
    if args.limit:
        rows = rows[: args.limit]
    args.out.mkdir(parents=True, exist_ok=True)
    gold = args.out / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    load_nlp(CoreConfig().spacy_model)
    load_gazetteer()
    docs, spacy_s, post_s, tokens = _timed([r["text"] for r in rows], batch_size=16)
    conll_tokens = sum(r["n_tokens"] for r in rows)
    _report("conll2003-dev", spacy_s, post_s, tokens)
    print(f"  ({conll_tokens} CoNLL tokens: spaCy {conll_tokens / spacy_s:,.0f} tok/s)")

    if SEED.exists():
        seed = SEED.read_text(encoding="utf-8")
        _, s_spacy, s_post, s_tokens = _timed([seed] * args.seed_repeats, batch_size=1)
        _report(f"seed page x{args.seed_repeats}", s_spacy, s_post, s_tokens)

    scorer = args.data / "score" / "score_ner.py"
    for name, fn in (("raw", _raw_entities), ("post", _post_entities)):
        pred = args.out / f"{name}.jsonl"
        lines = [
            json.dumps({"id": r["id"], "entities": fn(d)}) for r, d in zip(rows, docs, strict=True)
        ]
        pred.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"\n== {name} ({pred})", flush=True)
        subprocess.run([sys.executable, str(scorer), "score", str(gold), str(pred)], check=True)


if __name__ == "__main__":
    main()
