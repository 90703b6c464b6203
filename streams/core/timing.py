"""Seconds spent per pipeline stage, so the worker can export them as metrics.

The pipeline runs in worker processes; what a StageTimer measured goes back to the event
loop with the results as a plain dict (it pickles). Wall-clock seconds say how long a
stage kept a batch waiting; CPU seconds of the process say what the stage costs, which is
what a benchmark per core needs (wall time grows when processes share a core).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("decode", "parse", "nlp", "entities", "claims", "fingerprint", "language")
"""Stages in pipeline order; `nlp` is spaCy itself."""

StageSeconds = dict[str, tuple[float, float]]
"""Stage → (wall-clock seconds, CPU seconds of the process)."""


class StageTimer:
    """Accumulates wall-clock and CPU seconds per stage: ``with timer("parse"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.cpu_seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
            spent = time.process_time() - cpu
            self.cpu_seconds[stage] = self.cpu_seconds.get(stage, 0.0) + spent

    def totals(self) -> StageSeconds:
        """Both measures per stage, to send back from a pool process."""
        return {
            stage: (wall, self.cpu_seconds.get(stage, 0.0)) for stage, wall in self.seconds.items()
        }


def add_stage_seconds(total: StageSeconds, spent: StageSeconds) -> None:
    """Add one chunk's seconds per stage to a batch's."""
    for stage, (wall, cpu) in spent.items():
        before = total.get(stage, (0.0, 0.0))
        total[stage] = (before[0] + wall, before[1] + cpu)
