"""The pure core: raw event bytes → articles, entities, claims, fingerprints (no Kafka).

Heavy names (the pipeline, which imports spaCy) are loaded on first use, so importing
a light submodule such as `streams.core.records` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from streams.core.config import CoreConfig
from streams.core.decode import dead_letter
from streams.core.outcome import Outcome, Processed
from streams.core.records import TopicNames, encode_line, encode_value, to_records
from streams.core.timing import STAGES, StageTimer

if TYPE_CHECKING:
    from streams.core.linking import link
    from streams.core.pipeline import process_payload, process_payloads, warm_up

__all__ = [
    "STAGES",
    "CoreConfig",
    "Outcome",
    "Processed",
    "StageTimer",
    "TopicNames",
    "dead_letter",
    "encode_line",
    "encode_value",
    "link",
    "process_payload",
    "process_payloads",
    "to_records",
    "warm_up",
]

_LAZY = {
    **dict.fromkeys(("process_payload", "process_payloads", "warm_up"), "streams.core.pipeline"),
    "link": "streams.core.linking",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'streams.core' has no attribute {name!r}")
