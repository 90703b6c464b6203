"""The NLP process pool: the core runs here, off the event loop.

Each pool process loads the spaCy model once (its initializer runs a tiny warm-up
event through `process_payloads`) and then processes chunks of a batch. Processes are
started with the 'spawn' context, so no event loop, socket or thread of the worker is
inherited.

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

from streams.core import CoreConfig, Outcome, StageTimer, dead_letter, process_payloads, warm_up
from streams.models import RejectReason

log = logging.getLogger(__name__)

ChunkResult = tuple[list[Outcome], dict[str, float]]
"""What a pool task returns: one outcome per payload, and seconds per stage."""

ChunkTask = Callable[[Sequence[bytes], Sequence[Mapping[str, Any]], CoreConfig], ChunkResult]

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


def process_chunk(
    payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]], config: CoreConfig
) -> ChunkResult:
    """Pool task: run the core on a chunk of payloads.

    Args:
        payloads (Sequence[bytes]): raw input messages.
        origins (Sequence[Mapping]): topic, partition and offset of each.
        config (CoreConfig): pipeline settings.

    Returns:
        ChunkResult: outcomes in input order and seconds per stage.
    """
    timer = StageTimer()
    outcomes = process_payloads(payloads, config=config, origins=origins, timer=timer)
    return outcomes, timer.seconds


class NlpPool:
    """A process pool that runs the core, with crash recovery.

    Args:
        config (CoreConfig): pipeline settings (the model to load).
        processes (int): pool size; each process holds one model.
        task (ChunkTask): the function run in the pool. Defaults to `process_chunk`.
        on_queue_depth (Callable[[int], None] | None): told the number of unfinished tasks.
        on_restart (Callable[[], None] | None): told when a broken pool is recreated.
    """

    def __init__(
        self,
        config: CoreConfig,
        processes: int,
        *,
        task: ChunkTask = process_chunk,
        on_queue_depth: Callable[[int], None] | None = None,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.processes = processes
        self.task = task
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
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> ChunkResult:
        if self._executor is None:
            raise RuntimeError("NlpPool.run() before start()")
        loop = asyncio.get_running_loop()
        self._pending += 1
        self._on_queue_depth(self._pending)
        try:
            return await loop.run_in_executor(
                self._executor, self.task, list(payloads), list(origins), self.config
            )
        finally:
            self._pending -= 1
            self._on_queue_depth(self._pending)

    async def run(
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> ChunkResult:
        """Process a batch: one chunk per process, outcomes in input order.

        Args:
            payloads (Sequence[bytes]): raw input messages.
            origins (Sequence[Mapping]): where each came from.

        Returns:
            ChunkResult: one outcome per payload, and seconds per stage summed over chunks.
        """
        size = max(1, math.ceil(len(payloads) / self.processes))
        bounds = [(i, min(i + size, len(payloads))) for i in range(0, len(payloads), size)]
        results = await asyncio.gather(
            *(self._submit(payloads[a:b], origins[a:b]) for a, b in bounds),
            return_exceptions=True,
        )
        outcomes: list[Outcome] = []
        seconds: dict[str, float] = {}
        broken = False
        for (a, b), result in zip(bounds, results, strict=True):
            if isinstance(result, BrokenProcessPool):
                if not broken:
                    log.error("NLP pool broke; recreating it and retrying inputs one by one")
                    await self._restart()
                    broken = True
                result = await self._one_by_one(payloads[a:b], origins[a:b])
            elif isinstance(result, BaseException):
                raise result
            outcomes.extend(result[0])
            for stage, value in result[1].items():
                seconds[stage] = seconds.get(stage, 0.0) + value
        return outcomes, seconds

    async def _one_by_one(
        self, payloads: Sequence[bytes], origins: Sequence[Mapping[str, Any]]
    ) -> ChunkResult:
        outcomes: list[Outcome] = []
        seconds: dict[str, float] = {}
        for payload, origin in zip(payloads, origins, strict=True):
            try:
                done, spent = await self._submit([payload], [origin])
            except BrokenProcessPool as error:
                log.error("input at %s broke the NLP pool again; dead-lettering it", origin)
                outcomes.append(
                    dead_letter(
                        RejectReason.PROCESSING_ERROR,
                        "the NLP process crashed twice on this input "
                        f"({type(error).__name__}); this is a bug: report it with this record",
                        payload,
                        config=self.config,
                        origin=origin,
                    )
                )
                await self._restart()
                continue
            outcomes.extend(done)
            for stage, value in spent.items():
                seconds[stage] = seconds.get(stage, 0.0) + value
        return outcomes, seconds
