"""A stage cancelled while the worker stops ends quietly (`agent.test_context()`).

Faust stops the agents one at a time and takes a cancel of an agent not yet told to stop
for a crash; with the crashing supervisor that made a SIGTERMed worker exit with code 1
(seen in CI on a loaded machine). Outside a shutdown a cancel still crashes the stage.
"""

from __future__ import annotations

import asyncio

import pytest

from streams.app import build_app, context_of
from streams.app.app import TABLES
from tests.app.conftest import InlineRunner, MemoryPublisher, sync, worker_settings
from tests.app.test_agent import _event, _wait

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("worker_stopping", [True, False], ids=["stopping", "running"])
@sync
async def test_a_stage_cancelled_while_the_worker_stops_does_not_crash(
    seed_text: str, worker_stopping: bool
) -> None:
    settings = worker_settings()
    tables: dict[str, dict[bytes, bytes]] = {name: {} for name in TABLES}
    app = build_app(
        settings, runner=InlineRunner(settings.core), publisher=MemoryPublisher(), tables=tables
    )
    async with context_of(app).agents["ingest"].test_context() as running:
        event = await running.put(_event(seed_text), key=b"k", wait=False)
        await _wait(lambda: event.message.acked)
        if worker_stopping:
            app._stopped.set()  # what `Service.stop` does before it stops the app's parts
        (actor,) = running._actors
        actor.actor_task.cancel()
        await asyncio.wait([actor.actor_task], timeout=10)
        assert actor.actor_task.done()
        assert running.crashed is not worker_stopping
