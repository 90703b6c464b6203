"""The Kafka worker (Faust): moves records between topics and the pure core.

`run_worker(settings)` runs it; `build_app(settings)` only builds the app (nothing
connects at import or build time). Faust is imported on first use, so the NLP pool's
processes, which import `streams.app.pool`, stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.app.app import WorkerContext, build_app, context_of, run_worker

__all__ = ["WorkerContext", "build_app", "context_of", "run_worker"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("streams.app.app"), name)
    raise AttributeError(f"module 'streams.app' has no attribute {name!r}")
