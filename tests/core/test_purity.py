"""The core stays pure: importing it pulls in no Kafka client, Faust or settings."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_no_kafka_faust_or_settings() -> None:
    code = (
        "import sys, streams.core.pipeline, streams.core.records;"
        "bad = [m for m in ('faust', 'aiokafka', 'streams.settings', 'pydantic_settings')"
        " if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_core_never_reads_the_environment() -> None:
    from tests.conftest import REPO_ROOT

    for path in (REPO_ROOT / "streams" / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "os.environ" not in text and "getenv" not in text, path
