"""JSON Schemas of the records on the wire, generated from the pydantic models.

`schemas/*.schema.json` in the repository is this module's output; a test fails when
they differ, so the published contract never drifts from the code.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from streams.models import SCHEMA_VERSION, Article, Claim, ClaimAppearances, DeadLetter, RawEvent

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "raw-event.schema.json": RawEvent,
    "article.schema.json": Article,
    "claim.schema.json": Claim,
    "claim-appearances.schema.json": ClaimAppearances,
    "dead-letter.schema.json": DeadLetter,
}


def render_schemas() -> dict[str, str]:
    """File name → JSON Schema text (stable key order, trailing newline)."""
    rendered = {}
    for name, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema(mode="serialization")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"streams/{name}",
            "x-schema-version": SCHEMA_VERSION,
            **schema,
        }
        rendered[name] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return rendered
