"""Guards against Faust bugs around a rebalance (faust-streaming 0.15).

The first two races silently skip input records: they leave a partition's fetch
position past records that no stream handled, so nothing ever acks them: they wait
unseen, and are skipped for good once a later offset of the partition commits. The
failover and two-worker dedupe tests caught both. The third crashes an exactly-once
worker that takes partitions back (the SIGKILL failover tests caught it).

1. **Flow resumed too early** (faust-streaming/faust#596, open in 0.15). When a worker
   with tables finishes recovering them, `Recovery.on_recovery_completed` resumes the
   stream partitions and seeks them to their committed offsets while the consumer's
   flow still runs (it was resumed to read the changelogs). Records fetched right after
   the seek go into the streams' queues, and then `app.flow_control.resume()` clears
   those queues. Guard: stop the consumer's flow when `on_rebalance_complete` fires,
   which Faust sends before it resumes the stream partitions, in both recovery paths.
   While flow is stopped, `Consumer.getmany` drops what it fetched and seeks back to
   the committed offsets; Faust resumes the flow itself once it has cleared the queues.
   A rebalance that starts again in between runs a new recovery, which resumes the flow.
2. **No committed offset, no seek back.** Every path that drops fetched records (the
   queues cleared at a rebalance, `getmany` while flow is stopped, a generation change)
   relies on "seek to committed offsets" to fetch them again. aiokafka's
   `seek_to_committed` leaves a partition where it is when the group has not committed
   an offset for it yet (a new topic, or a partition's first seconds of traffic), so the
   dropped records are gone. Guard: after `seek_to_committed`, input partitions (not
   changelogs, whose positions Faust manages) without a committed offset go back to
   their beginning, which is where `auto_offset_reset=earliest` starts them anyway.
   Records handled but not yet committed are then handled again (at-least-once).
3. **Lost partitions keep their transactional producer** (exactly-once). Faust never
   stopped the transactional producer of a partition group this member lost at a
   rebalance (no "Stopping ... transactional producers" line in any failover log); the
   new owner's producer fences it, and when the partitions come back (the other member
   died), Faust "begins" a transaction on the fenced producer: the next send raises
   `ProducerFenced` and the surviving worker crashes. Guard: before Faust starts the
   producers of a new assignment, stop every transactional producer whose id belongs to
   no active partition of that assignment; one is created again (fencing the previous
   owner) when its partitions come back.
4. **Changelog highwaters unknown** (exactly-once). Faust takes the highwaters of the
   changelogs to recover from `last_stable_offset`, which aiokafka knows only after a
   fetch of that partition; for a partition just assigned it is None, which Faust turns
   into -1 ("empty"). Recovery then reads nothing of that changelog (a member taking
   over a table starts without its rows), or, for a partition this member had read
   before, its consistency check crashes the worker ("persisted offset ... higher than
   the highwater (1 > -1)": the zombie failover test under disk load). Guard: ask the
   broker (`end_offsets`, which with read_committed is the last stable offset).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import wraps
from typing import Any

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

log = logging.getLogger(__name__)


def guard_recovery_races(app: faust.App) -> None:
    """Install the guards on `app`; its consumer is patched at the first rebalance."""
    ask_broker_for_highwaters()

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode's stub is too narrow
    async def _patch(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        rewind_uncommitted(app.consumer)
        if app.in_transaction:
            stop_lost_producers(app.consumer.transactions, app.producer)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def _hold_flow(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        rewind_uncommitted(app.consumer)
        app.consumer.stop_flow()


def rewind_uncommitted(consumer: Any) -> None:
    """Make `consumer.seek_to_committed` also rewind input partitions never committed."""
    seek_to_committed = consumer.seek_to_committed
    if getattr(seek_to_committed, "_streams_rewinds", False):
        return

    @wraps(seek_to_committed)
    async def seek_and_rewind() -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await seek_to_committed()
        never = [
            tp
            for tp, offset in committed.items()
            if not offset and not consumer._is_changelog_tp(tp)
        ]
        if never:
            await consumer.seek_wait(await consumer.earliest_offsets(*never))
        return committed

    seek_and_rewind._streams_rewinds = True  # type: ignore[attr-defined]
    consumer.seek_to_committed = seek_and_rewind


def stop_lost_producers(transactions: Any, producer: Any) -> None:
    """Make `transactions.on_rebalance` first stop the producers of partitions not kept.

    Args:
        transactions (Any): the consumer's `TransactionManager`.
        producer (Any): the app's producer (holds the transactional producers by id).
    """
    on_rebalance = transactions.on_rebalance
    if getattr(on_rebalance, "_streams_stops_lost", False):
        return

    @wraps(on_rebalance)
    async def stop_then_rebalance(
        assigned: set[TP], revoked: set[TP], newly_assigned: set[TP]
    ) -> None:
        kept = transactions._tps_to_transactional_ids(assigned)
        held = getattr(producer, "_transaction_producers", {})
        for transactional_id in sorted(set(held) - kept):
            log.info("stopping the transactional producer %s: its partitions are gone",
                     transactional_id)  # fmt: skip
            await producer.stop_transaction(transactional_id)
        await on_rebalance(assigned, revoked, newly_assigned)

    stop_then_rebalance._streams_stops_lost = True  # type: ignore[attr-defined]
    transactions.on_rebalance = stop_then_rebalance


def ask_broker_for_highwaters() -> None:
    """Make Faust's consumer thread read highwaters from the broker, also exactly-once."""
    thread = AIOKafkaConsumerThread
    if getattr(thread._highwaters, "_streams_asks_broker", False):
        return

    @wraps(thread._highwaters)  # `__wrapped__` keeps Faust's own
    async def _highwaters(self: Any, partitions: list[TP]) -> Mapping[TP, int]:
        offsets: Mapping[TP, int] = await self._ensure_consumer().end_offsets(partitions)
        return offsets

    _highwaters._streams_asks_broker = True  # type: ignore[attr-defined]
    thread._highwaters = _highwaters  # type: ignore[method-assign]
