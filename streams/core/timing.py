"""Seconds spent per pipeline stage, so the worker can export them as metrics.

The pipeline runs in worker processes; a StageTimer is a plain dict of floats that
pickles back to the event loop with the results.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("decode", "parse", "nlp", "entities", "claims", "fingerprint", "language")
"""Stages in pipeline order; `nlp` is spaCy itself."""


class StageTimer:
    """Accumulates wall-clock seconds per stage: ``with timer("parse"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
