"""Quick NER check on conll2003-dev: spaCy's raw entities vs `extract_entities`.

`streams eval ner` is the tracked figure; this adds a comparison with spaCy's own
entities (labels passed through) and times spaCy alone against the entity code on the
seed page. Reads shared/data at run time (never copied), writes predictions to --out
(default /tmp/ner_quick) and scores both with shared/data/score/score_ner.py.

    .venv/bin/python benchmarks/ner_quick.py [--data ../shared/data] [--split all] [--limit N]

Label mapping, loading, tagging and the scorer run are `streams.evaluation`'s. This is a
guard against regressions, not a target to tune the rules to.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from streams.core.config import CoreConfig
from streams.evaluation.common import (
    SPLITS,
    default_data_dir,
    run_scorer,
    scorer_path,
    select_gold,
    write_jsonl,
)
from streams.evaluation.ner import Tagged, gold_path, scorer_entities, tag

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "000_5ff85278df32db3f.txt"


def _raw_entities(doc: Doc) -> list[dict[str, Any]]:
    return [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents]


def _report(name: str, tagged: Tagged) -> None:
    spacy_s, post_s, tokens = tagged.spacy_seconds, tagged.entity_seconds, tagged.tokens
    print(
        f"{name}: {tokens} spaCy tokens; spaCy {tokens / spacy_s:,.0f} tok/s; "
        f"spaCy+entities {tokens / (spacy_s + post_s):,.0f} tok/s; "
        f"entities alone {tokens / post_s:,.0f} tok/s ({100 * post_s / spacy_s:.1f}% of spaCy)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=Path("/tmp/ner_quick"))
    parser.add_argument("--split", choices=SPLITS, default="all")
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument("--seed-repeats", type=int, default=20)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    gold = args.out / "gold.jsonl"
    rows = select_gold(gold_path(args.data), args.split, args.limit, gold)
    config = CoreConfig()
    tagged = tag([r["text"] for r in rows], config=config)
    _report("conll2003-dev", tagged)
    conll_tokens = sum(r["n_tokens"] for r in rows)
    print(
        f"  ({conll_tokens} CoNLL tokens: spaCy {conll_tokens / tagged.spacy_seconds:,.0f} tok/s)"
    )

    if SEED.exists():
        seed = SEED.read_text(encoding="utf-8")
        one_by_one = config.model_copy(update={"spacy_batch_size": 1})
        _report(
            f"seed page x{args.seed_repeats}", tag([seed] * args.seed_repeats, config=one_by_one)
        )

    scorer = scorer_path(args.data, "ner")
    predictions = {
        "raw": [_raw_entities(doc) for doc in tagged.docs],
        "post": [scorer_entities(found) for found in tagged.entities],
    }
    for name, entities in predictions.items():
        pred = write_jsonl(
            args.out / f"{name}.jsonl",
            ({"id": r["id"], "entities": e} for r, e in zip(rows, entities, strict=True)),
        )
        print(f"\n== {name} ({pred})", flush=True)
        _, printed = run_scorer(scorer, ["score", gold, pred], args.out / f"{name}.json")
        print(printed, end="")


if __name__ == "__main__":
    main()
