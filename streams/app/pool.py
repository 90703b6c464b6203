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

Chunks take turns in a process (`_TurnOrder`). The enrich stage has several batches in
progress, and a long page's NLP is cut into turns of `nlp_turn_chars` (its paragraphs
parsed ahead into the process's paragraph cache), so a batch of short stories behind it
waits one turn, not the whole page: a 99 KB page held everything behind it for 1.7 s
before (p99 latency).

A process that dies (segfault, out of memory, `os._exit`) breaks its chunk
(`BrokenProcessPool`). The process is then recreated and each input of the broken chunk is
retried once on its own; an input that breaks it again becomes a `processing_error` dead
letter, so one poison input never stalls a partition and its batch-mates are still
processed.
"""

from __future__ import annotations

import asyncio
import itertools
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
from dataclasses import dataclass
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


def warm_chunk(
    parts: Sequence[ArticlePart], origins: Sequence[Mapping[str, Any]], config: CoreConfig
) -> tuple[list[bool], StageSeconds]:
    """Pool task: one NLP turn of a chunk's long bodies (`streams.core` `warm_paragraphs`).

    Returns:
        tuple: [True when the chunk has paragraphs left for another turn]; seconds per stage.
    """
    from streams.core.pipeline import warm_paragraphs  # spaCy: only NLP processes import it

    timer = StageTimer()
    more = warm_paragraphs(parts, config=config, timer=timer)
    return [more], timer.totals()


Poison = Callable[[Any, Mapping[str, Any], BaseException], Any]
"""Makes the dead letter of an input that broke a lane twice."""

MAX_TURNS = 1_000
"""Most warm-up turns of one chunk (each parses at least one paragraph)."""


@dataclass(frozen=True)
class Turns:
    """How a lane cuts a chunk's work into turns: `warm` does one turn and returns
    [True] while work is left; only chunks that `needed` accepts are cut."""

    warm: ChunkTask
    needed: Callable[[Sequence[Any]], bool]


class _TurnOrder:
    """Who runs next in one process: the oldest chunk waiting, unless the last turn was its
    own; then the first to come.

    First come, first served alone lets short chunks pass a long one between its turns,
    but near full load the long one then gets a small share of the process while every
    story of its partition waits for it (p99 at 90 % load went from 4 to 9 s). A chunk
    asks for its next turn only after its last one ended, so alternating on the chunk's
    age gives the oldest every other turn: its slowdown is at most twofold.
    """

    def __init__(self) -> None:
        self._busy = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._last: int | None = None

    async def acquire(self, born: int) -> None:
        """Wait for the process; `born` orders chunks by age (smaller is older)."""
        if not self._busy and not self._waiting:
            self._busy, self._last = True, born
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (born, next(self._arrivals), granted)
        self._waiting.append(entry)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # granted, then cancelled: pass the turn on
            else:
                self._waiting.remove(entry)
            raise

    def release(self) -> None:
        """The turn is over: hand the process to the next chunk."""
        if not self._waiting:
            self._busy = False
            return
        entry = min(self._waiting, key=lambda waiting: waiting[:2])
        if entry[0] == self._last:
            entry = min(self._waiting, key=lambda waiting: waiting[1])
        self._last = entry[0]
        self._waiting.remove(entry)
        entry[2].set_result(None)


class _Slot:
    """One process of a lane, with its own executor: every turn of a chunk runs in the
    same process (its paragraph cache), and `order` says whose turn it is."""

    def __init__(self) -> None:
        self.executor: ProcessPoolExecutor | None = None
        self.order = _TurnOrder()
        self.chunks = 0


class _Lane:
    """Processes for one task, with crash recovery: a broken process is recreated and the
    inputs of its broken chunk retried one by one.

    A chunk runs in turns when `Turns` are given: while their warm task reports work
    left, the chunk gives its process back after each turn, so that a chunk of short
    bodies queued behind a long one runs in between (latency), and the task itself runs
    last, on a warm cache.
    """

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
        self._slots = [_Slot() for _ in range(processes)]
        self._born = itertools.count()
        self._on_queue_depth = on_queue_depth
        self._on_restart = on_restart

    @property
    def started(self) -> bool:
        return all(slot.executor is not None for slot in self._slots)

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=self._initializer,
            initargs=self._initargs,
        )

    def start(self) -> None:
        for slot in self._slots:
            slot.executor = self._new_executor()

    async def run_everywhere(self, task: Callable[[], Any]) -> list[Any]:
        """Run `task` once in each process (each one's initializer runs first)."""
        loop = asyncio.get_running_loop()
        return await asyncio.gather(
            *(loop.run_in_executor(slot.executor, task) for slot in self._slots)
        )

    def shutdown(self, *, wait: bool = True) -> None:
        for slot in self._slots:
            executor, slot.executor = slot.executor, None
            if executor is not None:
                executor.shutdown(wait=wait, cancel_futures=True)

    async def _turn(
        self,
        slot: _Slot,
        task: ChunkTask,
        items: Sequence[Any],
        origins: Sequence[Mapping[str, Any]],
        born: int,
    ) -> tuple[list[Any], StageSeconds]:
        """Run `task` on a chunk in `slot`'s process once it is this chunk's turn.

        Raises:
            BrokenProcessPool: the process died; it is recreated before the turn ends.
        """
        loop = asyncio.get_running_loop()
        self._on_queue_depth(1)
        try:
            await slot.order.acquire(born)
            try:
                if slot.executor is None:
                    raise RuntimeError("NlpPool used before start()")
                try:
                    result: tuple[list[Any], StageSeconds] = await loop.run_in_executor(
                        slot.executor, task, list(items), list(origins), self.config
                    )
                except BrokenProcessPool:
                    log.error("%s process died; recreating it", self.name)
                    slot.executor.shutdown(wait=False, cancel_futures=True)
                    self._on_restart()
                    slot.executor = self._new_executor()
                    raise
                return result
            finally:
                slot.order.release()
        finally:
            self._on_queue_depth(-1)

    async def _chunk(
        self,
        slot: _Slot,
        task: ChunkTask,
        turns: Turns | None,
        items: Sequence[Any],
        origins: Sequence[Mapping[str, Any]],
        poison: Poison,
    ) -> tuple[list[Any], StageSeconds]:
        """A chunk's turns in one process; a broken process → inputs retried one by one."""
        seconds: StageSeconds = {}
        born = next(self._born)
        slot.chunks += 1
        try:
            if turns is not None and turns.needed(items):
                for _ in range(MAX_TURNS):
                    (more,), spent = await self._turn(slot, turns.warm, items, origins, born)
                    add_stage_seconds(seconds, spent)
                    if not more:
                        break
            outcomes, spent = await self._turn(slot, task, items, origins, born)
        except BrokenProcessPool:
            log.error("%s: retrying the %d inputs of a broken chunk one by one", self.name,
                      len(items))  # fmt: skip
            outcomes, spent = await self._one_by_one(slot, task, items, origins, poison, born)
        finally:
            slot.chunks -= 1
        add_stage_seconds(seconds, spent)
        return outcomes, seconds

    async def map(
        self,
        task: ChunkTask,
        items: Sequence[Any],
        origins: Sequence[Mapping[str, Any]],
        poison: Poison,
        *,
        turns: Turns | None = None,
    ) -> tuple[list[Any], StageSeconds]:
        """One chunk per process (the least busy first), results in input order.

        Args:
            task (ChunkTask): the work.
            items (Sequence): its inputs.
            origins (Sequence[Mapping]): where each input came from.
            poison (Poison): the dead letter of an input that breaks a process twice.
            turns (Turns | None): cuts a chunk's work into turns (see the class).

        Returns:
            tuple: one outcome per input, in input order; seconds per stage, summed.
        """
        size = max(1, math.ceil(len(items) / self.processes))
        bounds = [(i, min(i + size, len(items))) for i in range(0, len(items), size)]
        slots = sorted(self._slots, key=lambda slot: slot.chunks)
        results = await asyncio.gather(
            *(
                self._chunk(slot, task, turns, items[a:b], origins[a:b], poison)
                for slot, (a, b) in zip(slots, bounds, strict=False)
            )
        )
        outcomes: list[Any] = []
        seconds: StageSeconds = {}
        for done, spent in results:
            outcomes.extend(done)
            add_stage_seconds(seconds, spent)
        return outcomes, seconds

    async def _one_by_one(
        self,
        slot: _Slot,
        task: ChunkTask,
        items: Sequence[Any],
        origins: Sequence[Mapping[str, Any]],
        poison: Poison,
        born: int,
    ) -> tuple[list[Any], StageSeconds]:
        outcomes: list[Any] = []
        seconds: StageSeconds = {}
        for item, origin in zip(items, origins, strict=True):
            try:
                done, spent = await self._turn(slot, task, [item], [origin], born)
            except BrokenProcessPool as error:
                outcomes.append(poison(item, origin, error))
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
        warm_task (ChunkTask): one NLP turn of a chunk longer than `config.nlp_turn_chars`
            (`_Lane`). Defaults to `warm_chunk`.
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
        warm_task: ChunkTask = warm_chunk,
        on_queue_depth: Callable[[int], None] | None = None,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.processes = processes
        self.parse_task = parse_task
        self.enrich_task = enrich_task
        self._turns = Turns(warm_task, self._long) if config.nlp_turn_chars > 0 else None
        self.model_load_seconds: float | None = None
        self._pending = 0
        self._report_depth = on_queue_depth or (lambda depth: None)
        restart = on_restart or (lambda: None)
        parent = os.getpid()
        self._parse = _Lane("parse", config, 1, _follow_parent, (parent,), self._depth, restart)
        self._nlp = _Lane(
            "NLP", config, processes, _load_model, (parent, config), self._depth, restart
        )

    def _long(self, parts: Sequence[ArticlePart]) -> bool:
        return sum(len(part.body) for part in parts) > self.config.nlp_turn_chars

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
        """NLP for a batch of parsed stories: one chunk per NLP process, in input order; a
        chunk longer than `nlp_turn_chars` runs in turns, between other batches' chunks.

        Args:
            parts (Sequence[ArticlePart]): parsed stories.

        Returns:
            tuple: per story its article and claims or a dead letter; wall and CPU seconds per
            stage.
        """

        def poison(part: ArticlePart, origin: Mapping[str, Any], error: BaseException) -> Enriched:
            return self._poisoned(part.model_dump_json().encode(), origin, error)

        return await self._nlp.map(
            self.enrich_task, parts, [p.origin for p in parts], poison, turns=self._turns
        )

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
