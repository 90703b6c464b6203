"""`streams eval`: score the real pipeline on the development data sets (no Kafka).

One module per data set (`extraction`, `ner`, `quotes`) runs the same core functions the
worker runs, writes predictions in the format of the set's scorer and runs that scorer
(`shared/data/score/score_*.py`) as a subprocess. `common` holds what they share: the
held-back split, the scorer runner, throughput and the machine description.
"""

from __future__ import annotations

from streams.evaluation.common import (
    SPLITS,
    EvalDataError,
    EvalResult,
    default_data_dir,
    is_held_back,
    select_ids,
)

SETS: tuple[str, ...] = ("extraction", "ner", "quotes")
"""The data sets `streams eval` knows, in the order of the data README."""

__all__ = [
    "SETS",
    "SPLITS",
    "EvalDataError",
    "EvalResult",
    "default_data_dir",
    "is_held_back",
    "select_ids",
]
