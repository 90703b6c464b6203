"""HTTP endpoints on Faust's web server (default port 6066).

- `GET /metrics`: the worker's metrics in the Prometheus text format (0.0.4);
- `GET /healthz`: 200 while the worker process serves requests (liveness);
- `GET /readyz`: 200 once the worker joined its consumer group (a rebalance completed)
  and the NLP pool has loaded the model; 503 with the reason otherwise (readiness).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust
from faust.web import Request, Response, View

from streams.app.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from streams.app.app import WorkerContext


def register_pages(app: faust.App, context: WorkerContext) -> None:
    """Add `/metrics`, `/healthz` and `/readyz` to `app`'s web server."""

    @app.page("/metrics")
    async def metrics(self: View, request: Request) -> Response:
        return self.bytes(context.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    @app.page("/healthz")
    async def healthz(self: View, request: Request) -> Response:
        return self.json({"status": "alive"})

    @app.page("/readyz")
    async def readyz(self: View, request: Request) -> Response:
        body: dict[str, Any] = {
            "joined_group": context.joined,
            "model_loaded": context.pool.ready,
            "rebalancing": bool(app.rebalancing),
        }
        ready = context.ready
        body["status"] = "ready" if ready else "not ready"
        return self.json(body, status=200 if ready else 503)
