"""The NLP process pool: the core runs here, off the event loop.

Each pool process loads the spaCy model once (its initializer runs a tiny warm-up
event through `process_payloads`) and then processes chunks of a batch. Processes are
started with the 'spawn' context, so no event loop, socket or thread of the worker is
inherited.

Two tasks run here, each in its own lane of processes: `parse` (decode and parse, no
model) for the ingest stage, in one process that never loads spaCy, and `enrich` (spaCy)
for the enrich stage (`streams.app.agents`), in `processes` processes. With one lane for
both, every parse chunk waited behind a batch's NLP and the enrich stage then waited for
what ingest had not yet parsed: the NLP process sat idle a third of the time.

A process that dies (segfault, out of memory, `os._exit`) breaks its lane
(`BrokenProcessPool`). The lane is then recreated and each input of the broken chunks is
retried once on its own; an input that breaks it again becomes a `processing_error` dead
letter, so one poison input never stalls a partition and its batch-mates are still
processed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from streams.core import CoreConfig, Processed, StageTimer, dead_letter
from streams.core.parsing import parse_payloads
from streams.core.timing import StageSeconds, add_stage_seconds
from streams.models import ArticlePart, DeadLetter, RejectReason

log = logging.getLogger(__name__)

Parsed = list[ArticlePart] | DeadLetter
"""What parsing one payload gives: its stories, or why there are none."""

Enriched = Processed | DeadLetter
"""What enriching one story gives."""

ChunkTask = Callable[[Sequence[Any], Sequence[Mapping[str, Any]], CoreConfig], Any]
"""A pool task: (items, origins, config) → (one result per item, seconds per stage)."""

_load_seconds = 0.0


def _exit_with_parent(parent: int) -> None:
    """Watchdog thread: end this process when the worker that started it is gone.

    A worker killed with SIGKILL cannot shut its pool down, and the pool's processes
    would otherwise wait for work forever.
    """
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _follow_parent(parent: int) -> None:
    """Lane initializer: ignore Ctrl-C (the worker stops its pool in order) and end with
    the worker that started this process.

    `parent` is the worker's pid as the worker saw it: a process whose start outlived the
    worker (killed while it spawned) sees another parent and ends at once.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _load_model(parent: int, config: CoreConfig) -> None:
    """NLP lane initializer: follow the parent's life, load the model once (tiny event)."""
    global _load_seconds
    from streams.core.pipeline import warm_up  # spaCy: only NLP processes import it

    _follow_parent(parent)
    started = time.perf_counter()
    warm_up(config)
    _load_seconds = time.perf_counter() - started


def _started() -> bool:
    """Parse lane task: the process is up (its initializer ran)."""
    return True


def model_load_seconds() -> float:
    """Pool task: seconds this process's initializer took (proves the model is loaded)."""
    return _load_seconds


def parse_chunk(
    payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]], config: CoreConfig
) -> tuple[list[Parsed], StageSeconds]:
    """Pool task: decode and parse a chunk of payloads (`streams.core` `parse_payloads`).

    Args:
        payloads (Sequence[bytes]): raw input messages.
        origins (Sequence[Mapping]): topic, partition and offset of each.
        config (CoreConfig): pipeline settings.

    Returns:
        tuple: per payload its stories or dead letter, in input order; wall and CPU seconds
            per stage.
    """
    timer = StageTimer()
    parsed = parse_payloads(payloads, config=config, origins=origins, timer=timer)
    return parsed, timer.totals()


def enrich_chunk(
    parts: Sequence[ArticlePart], origins: Sequence[Mapping[str, Any]], config: CoreConfig
) -> tuple[list[Enriched], StageSeconds]:
    """Pool task: NLP for a chunk of parsed stories (`streams.core` `enrich_parts`).

    Args:
        parts (Sequence[ArticlePart]): parsed stories.
        origins (Sequence[Mapping]): unused (each story carries its origin).
        config (CoreConfig): pipeline settings.

    Returns:
        tuple: per story its article and claims (or a dead letter); wall and CPU seconds
            per stage.
    """
    from streams.core.pipeline import enrich_parts  # spaCy: only NLP processes import it

    timer = StageTimer()
    enriched = enrich_parts(parts, config=config, timer=timer)  # the model is cached
    return enriched, timer.totals()


Poison = Callable[[Any, Mapping[str, Any], BaseException], Any]
"""Makes the dead letter of an input that broke a lane twice."""


class _Lane:
    """Processes for one task, with crash recovery: a broken lane is recreated and the
    inputs of its broken chunks retried one by one."""

    def __init__(
        self,
        name: str,
        config: CoreConfig,
        processes: int,
        initializer: Callable[..., None],
        initargs: tuple[Any, ...],
        on_queue_depth: Callable[[int], None],
        on_restart: Callable[[], None],
    ) -> None:
        self.name = name
        self.config = config
        self.processes = processes
        self._initializer = initializer
        self._initargs = initargs
        self._executor: ProcessPoolExecutor | None = None
        self._on_queue_depth = on_queue_depth
        self._on_restart = on_restart

    @property
    def started(self) -> bool:
        return self._executor is not None

    def start(self) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=self._initializer,
            initargs=self._initargs,
        )

    async def run_everywhere(self, task: Callable[[], Any]) -> list[Any]:
        """Run `task` once per process slot (each slot's initializer runs first)."""
        loop = asyncio.get_running_loop()
        return await asyncio.gather(
            *(loop.run_in_executor(self._executor, task) for _ in range(self.processes))
        )

    def shutdown(self, *, wait: bool = True) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)

    async def _restart(self) -> None:
        self.shutdown(wait=False)
        self._on_restart()
        self.start()

    async def _submit(
        self, task: ChunkTask, items: Sequence[Any], origins: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Any], StageSeconds]:
        if self._executor is None:
            raise RuntimeError("NlpPool used before start()")
        loop = asyncio.get_running_loop()
        self._on_queue_depth(1)
        try:
            result: tuple[list[Any], StageSeconds] = await loop.run_in_executor(
                self._executor, task, list(items), list(origins), self.config
            )
            return result
        finally:
            self._on_queue_depth(-1)

    async def map(
        self,
        task: ChunkTask,
        items: Sequence[Any],
        origins: Sequence[Mapping[str, Any]],
        poison: Poison,
    ) -> tuple[list[Any], StageSeconds]:
        """One chunk per process, results in input order."""
        size = max(1, math.ceil(len(items) / self.processes))
        bounds = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]
        results = await asyncio.gather(
            *(self._submit(task, items[a:b], origins[a:b]) for a, b in bounds),
            return_exceptions=True,
        )
        outcomes: list[Any] = []
        seconds: StageSeconds = {}
        broken = False
        for (a, b), result in zip(bounds, results, strict=True):
            if isinstance(result, BrokenProcessPool):
                if not broken:
                    log.error("%s lane broke; recreating it, retrying inputs one by one", self.name)
                    await self._restart()
                    broken = True
                result = await self._one_by_one(task, items[a:b], origins[a:b], poison)
            elif isinstance(result, BaseException):
                raise result
            outcomes.extend(result[0])
            add_stage_seconds(seconds, result[1])
        return outcomes, seconds

    async def _one_by_one(
        self,
        task: ChunkTask,
        items: Sequence[Any],
        origins: Sequence[Mapping[str, Any]],
        poison: Poison,
    ) -> tuple[list[Any], StageSeconds]:
        outcomes: list[Any] = []
        seconds: StageSeconds = {}
        for item, origin in zip(items, origins, strict=True):
            try:
                done, spent = await self._submit(task, [item], [origin])
            except BrokenProcessPool as error:
                outcomes.append(poison(item, origin, error))
                await self._restart()
                continue
            outcomes.extend(done)
            add_stage_seconds(seconds, spent)
        return outcomes, seconds


class NlpPool:
    """The worker's processes for the core's parse and enrich stages, with crash recovery.

    Args:
        config (CoreConfig): pipeline settings (the model to load).
        processes (int): NLP processes; each holds one model. Parsing has one more process
            of its own, without a model.
        parse_task (ChunkTask): the parse task. Defaults to `parse_chunk`.
        enrich_task (ChunkTask): the NLP task. Defaults to `enrich_chunk`.
        on_queue_depth (Callable[[int], None] | None): told the number of unfinished tasks.
        on_restart (Callable[[], None] | None): told when a broken lane is recreated.
    """

    def __init__(
        self,
        config: CoreConfig,
        processes: int,
        *,
        parse_task: ChunkTask = parse_chunk,
        enrich_task: ChunkTask = enrich_chunk,
        on_queue_depth: Callable[[int], None] | None = None,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.processes = processes
        self.parse_task = parse_task
        self.enrich_task = enrich_task
        self.model_load_seconds: float | None = None
        self._pending = 0
        self._report_depth = on_queue_depth or (lambda depth: None)
        restart = on_restart or (lambda: None)
        parent = os.getpid()
        self._parse = _Lane("parse", config, 1, _follow_parent, (parent,), self._depth, restart)
        self._nlp = _Lane(
            "NLP", config, processes, _load_model, (parent, config), self._depth, restart
        )

    def _depth(self, change: int) -> None:
        self._pending += change
        self._report_depth(self._pending)

    @property
    def ready(self) -> bool:
        """True once the NLP processes have loaded the model."""
        return self._parse.started and self.model_load_seconds is not None

    async def start(self) -> None:
        """Start the processes and wait until each NLP process has loaded the model.

        Raises:
            BrokenProcessPool: the model cannot be loaded (e.g. not installed).
        """
        self._parse.start()
        self._nlp.start()
        # every process is spawned now, not at a first batch (a worker killed while a
        # process spawns would leave it behind)
        await self._parse.run_everywhere(_started)
        seconds = await self._nlp.run_everywhere(model_load_seconds)
        self.model_load_seconds = max(seconds)
        log.info(
            "NLP pool ready: %d processes, model loaded in %.1fs", self.processes, max(seconds)
        )

    def shutdown(self) -> None:
        """Stop the processes (waits for running tasks)."""
        self.model_load_seconds = None
        self._parse.shutdown()
        self._nlp.shutdown()

    async def parse(
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Parsed], StageSeconds]:
        """Decode and parse a batch (no NLP), in the parse process.

        Args:
            payloads (Sequence[bytes]): raw input messages.
            origins (Sequence[Mapping]): where each came from.

        Returns:
            tuple: per payload its stories or dead letter; wall and CPU seconds per stage, summed.
        """

        def poison(payload: bytes, origin: Mapping[str, Any], error: BaseException) -> Parsed:
            return self._poisoned(payload, origin, error)

        return await self._parse.map(self.parse_task, payloads, origins, poison)

    async def enrich(self, parts: Sequence[ArticlePart]) -> tuple[list[Enriched], StageSeconds]:
        """NLP for a batch of parsed stories: one chunk per NLP process, in input order.

        Args:
            parts (Sequence[ArticlePart]): parsed stories.

        Returns:
            tuple: per story its article and claims or a dead letter; wall and CPU seconds per
            stage.
        """

        def poison(part: ArticlePart, origin: Mapping[str, Any], error: BaseException) -> Enriched:
            return self._poisoned(part.model_dump_json().encode(), origin, error)

        return await self._nlp.map(self.enrich_task, parts, [p.origin for p in parts], poison)

    def _poisoned(
        self, payload: bytes, origin: Mapping[str, Any], error: BaseException
    ) -> DeadLetter:
        log.error("input at %s broke a pool process again; dead-lettering it", origin)
        return dead_letter(
            RejectReason.PROCESSING_ERROR,
            "the pipeline process crashed twice on this input "
            f"({type(error).__name__}); this is a bug: report it with this record",
            payload,
            config=self.config,
            origin=origin,
        )
