"""Entry point for the Faust command line: ``faust -A streams.app.main worker -l info``.

`streams worker` (which calls `streams.app.run_worker`) is the usual way to start the
worker; this module exists so Faust's own tooling works too. Faust's `-A` needs a
module-level app, so the settings are read here, from the same environment variables.
"""

from __future__ import annotations

from streams.app.app import build_app
from streams.settings import Settings

app = build_app(Settings())
