"""The NLP process pool: the core runs here, off the event loop.

Each pool process loads the spaCy model once (its initializer runs a tiny warm-up
event through `process_payloads`) and then processes chunks of a batch. Processes are
started with the 'spawn' context, so no event loop, socket or thread of the worker is
inherited.

Two tasks run here: `parse` (decode and parse, no NLP) for the ingest stage and
`enrich` (spaCy) for the enrich stage (`streams.app.agents`).

A pool process that dies (segfault, out of memory, `os._exit`) breaks the whole pool
(`BrokenProcessPool`). The pool is then recreated and each input of the broken chunks is
retried once on its own; an input that breaks the pool again becomes a
`processing_error` dead letter, so one poison input never stalls a partition and its
batch-mates are still processed.
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

from streams.core import CoreConfig, Processed, StageTimer, dead_letter, warm_up
from streams.core.pipeline import enrich_parts, parse_payloads
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


def _load_model(config: CoreConfig) -> None:
    """Pool initializer: follow the parent's life, load the model once (tiny event)."""
    global _load_seconds
    # Ctrl-C reaches the whole process group; the worker itself stops the pool in order
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    started = time.perf_counter()
    warm_up(config)
    _load_seconds = time.perf_counter() - started


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
    timer = StageTimer()
    enriched = enrich_parts(parts, config=config, timer=timer)  # the model is cached
    return enriched, timer.totals()


class NlpPool:
    """A process pool that runs the core's parse and enrich stages, with crash recovery.

    Args:
        config (CoreConfig): pipeline settings (the model to load).
        processes (int): pool size; each process holds one model.
        parse_task (ChunkTask): the parse task. Defaults to `parse_chunk`.
        enrich_task (ChunkTask): the NLP task. Defaults to `enrich_chunk`.
        on_queue_depth (Callable[[int], None] | None): told the number of unfinished tasks.
        on_restart (Callable[[], None] | None): told when a broken pool is recreated.
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
        self._executor: ProcessPoolExecutor | None = None
        self._pending = 0
        self._on_queue_depth = on_queue_depth or (lambda depth: None)
        self._on_restart = on_restart or (lambda: None)

    @property
    def ready(self) -> bool:
        """True once a pool process has loaded the model."""
        return self._executor is not None and self.model_load_seconds is not None

    async def start(self) -> None:
        """Start the processes and wait until each has loaded the model.

        Raises:
            BrokenProcessPool: the model cannot be loaded (e.g. not installed).
        """
        self._executor = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load_model,
            initargs=(self.config,),
        )
        loop = asyncio.get_running_loop()
        seconds = await asyncio.gather(
            *(
                loop.run_in_executor(self._executor, model_load_seconds)
                for _ in range(self.processes)
            )
        )
        self.model_load_seconds = max(seconds)
        log.info(
            "NLP pool ready: %d processes, model loaded in %.1fs", self.processes, max(seconds)
        )

    def shutdown(self) -> None:
        """Stop the processes (waits for running tasks)."""
        executor, self._executor = self._executor, None
        self.model_load_seconds = None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    async def _restart(self) -> None:
        old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        self._on_restart()
        await self.start()

    async def _submit(
        self, task: ChunkTask, items: Sequence[Any], origins: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Any], StageSeconds]:
        if self._executor is None:
            raise RuntimeError("NlpPool used before start()")
        loop = asyncio.get_running_loop()
        self._pending += 1
        self._on_queue_depth(self._pending)
        try:
            result: tuple[list[Any], StageSeconds] = await loop.run_in_executor(
                self._executor, task, list(items), list(origins), self.config
            )
            return result
        finally:
            self._pending -= 1
            self._on_queue_depth(self._pending)

    async def parse(
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Parsed], StageSeconds]:
        """Decode and parse a batch (no NLP): one chunk per process, results in input order.

        Args:
            payloads (Sequence[bytes]): raw input messages.
            origins (Sequence[Mapping]): where each came from.

        Returns:
            tuple: per payload its stories or dead letter; wall and CPU seconds per stage, summed.
        """

        def poison(payload: bytes, origin: Mapping[str, Any], error: BaseException) -> Parsed:
            return self._poisoned(payload, origin, error)

        return await self._map(self.parse_task, payloads, origins, poison)

    async def enrich(self, parts: Sequence[ArticlePart]) -> tuple[list[Enriched], StageSeconds]:
        """NLP for a batch of parsed stories: one chunk per process, results in input order.

        Args:
            parts (Sequence[ArticlePart]): parsed stories.

        Returns:
            tuple: per story its article and claims or a dead letter; wall and CPU seconds per
            stage.
        """

        def poison(part: ArticlePart, origin: Mapping[str, Any], error: BaseException) -> Enriched:
            return self._poisoned(part.model_dump_json().encode(), origin, error)

        return await self._map(self.enrich_task, parts, [p.origin for p in parts], poison)

    def _poisoned(
        self, payload: bytes, origin: Mapping[str, Any], error: BaseException
    ) -> DeadLetter:
        log.error("input at %s broke the NLP pool again; dead-lettering it", origin)
        return dead_letter(
            RejectReason.PROCESSING_ERROR,
            "the NLP process crashed twice on this input "
            f"({type(error).__name__}); this is a bug: report it with this record",
            payload,
            config=self.config,
            origin=origin,
        )

    async def _map(
        self,
        task: ChunkTask,
        items: Sequence[Any],
        origins: Sequence[Mapping[str, Any]],
        poison: Callable[[Any, Mapping[str, Any], BaseException], Any],
    ) -> tuple[list[Any], StageSeconds]:
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
                    log.error("NLP pool broke; recreating it and retrying inputs one by one")
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
        poison: Callable[[Any, Mapping[str, Any], BaseException], Any],
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
