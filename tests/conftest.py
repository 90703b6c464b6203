"""Shared fixtures: paths to the seed page and the development data sets (read, never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
SEED_PATH = SHARED / "seed" / "000_5ff85278df32db3f.txt"
DATA_DIR = SHARED / "data"


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The seed page's scraped text (an AFP story with a second one embedded)."""
    if not SEED_PATH.exists():
        pytest.fail(f"seed page missing: {SEED_PATH} (shared/ must sit beside the repository)")
    return SEED_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """`shared/data`: the development sets with their scorers."""
    if not DATA_DIR.exists():
        pytest.fail(f"development data missing: {DATA_DIR}")
    return DATA_DIR


from tests.kafka_fixtures import *  # noqa: E402, F403  (broker fixtures for tests marked `kafka`)
