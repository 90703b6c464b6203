"""Command-line tools the tests call (installed by scripts/ci-deps.sh)."""

from __future__ import annotations

import shutil

import pytest


def require_tool(name: str, package: str) -> str:
    """Path of `name`; a missing tool fails the test (CI installs it), it never skips."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found: install Debian's package (apt-get install {package}); "
            "`make test` (scripts/ci-deps.sh) installs it"
        )
    return path
