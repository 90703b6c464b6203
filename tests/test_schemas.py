"""The committed JSON Schemas are exactly what the pydantic models generate."""

from __future__ import annotations

import json

import jsonschema

from streams.schemas import render_schemas
from tests.conftest import REPO_ROOT


def test_committed_schemas_match_the_models() -> None:
    rendered = render_schemas()
    committed = {p.name for p in (REPO_ROOT / "schemas").glob("*.schema.json")}
    assert committed == set(rendered), "run `streams schemas` and commit the result"
    for name, text in rendered.items():
        on_disk = (REPO_ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert on_disk == text, f"schemas/{name} drifted from the models: run `streams schemas`"


def test_schemas_are_valid_json_schema() -> None:
    for text in render_schemas().values():
        jsonschema.Draft202012Validator.check_schema(json.loads(text))
