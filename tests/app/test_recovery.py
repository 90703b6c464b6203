"""The guards of `streams.app.recovery` against Faust's rebalance races.

The races themselves are exercised against a real broker by
`tests/integration/test_failover.py::test_sigterm_stops_the_worker_cleanly` and
`tests/integration/test_stream_dedupe.py`; these tests pin the guards' own logic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import faust
from faust.types import TP

from streams.app.recovery import guard_recovery_races, rewind_uncommitted, stop_lost_producers

INPUT = TP("raw-articles", 0)
FRESH = TP("raw-articles", 1)
ZERO = TP("raw-articles", 2)
CHANGELOG = TP("streams-enrichments-changelog", 0)


class RecordingConsumer:
    """The part of Faust's consumer that `rewind_uncommitted` uses, recording its seeks."""

    def __init__(self, committed: Mapping[TP, int | None]) -> None:
        self.committed = dict(committed)
        self.sought: dict[TP, int] = {}
        self.asked: list[TP] = []

    async def seek_to_committed(self) -> Mapping[TP, int | None]:
        self.sought.update({tp: offset for tp, offset in self.committed.items() if offset})
        return self.committed

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp.topic.endswith("-changelog")

    async def earliest_offsets(self, *partitions: TP) -> Mapping[TP, int]:
        self.asked.extend(partitions)
        return {tp: 7 for tp in partitions}

    async def seek_wait(self, partitions: Mapping[TP, int]) -> None:
        self.sought.update(partitions)


def test_partitions_never_committed_go_back_to_their_beginning() -> None:
    consumer = RecordingConsumer({INPUT: 42, FRESH: None, ZERO: 0, CHANGELOG: None})
    rewind_uncommitted(consumer)
    committed = asyncio.run(consumer.seek_to_committed())
    assert committed == {INPUT: 42, FRESH: None, ZERO: 0, CHANGELOG: None}
    assert sorted(consumer.asked) == [FRESH, ZERO]
    # committed partitions stay at their offset; changelogs are left to Faust's recovery
    assert consumer.sought == {INPUT: 42, FRESH: 7, ZERO: 7}


def test_committed_partitions_are_not_rewound_and_the_wrapper_is_installed_once() -> None:
    consumer = RecordingConsumer({INPUT: 42})
    rewind_uncommitted(consumer)
    wrapped = consumer.seek_to_committed
    rewind_uncommitted(consumer)
    assert consumer.seek_to_committed is wrapped
    asyncio.run(consumer.seek_to_committed())
    assert consumer.asked == []
    assert consumer.sought == {INPUT: 42}


def test_rebalance_complete_stops_the_flow_until_faust_resumes_it() -> None:
    app = faust.App("streams-recovery-test", broker="kafka://127.0.0.1:1", autodiscover=False)
    guard_recovery_races(app)
    consumer = app.consumer
    consumer.resume_flow()

    async def complete() -> None:
        await app.on_rebalance_complete.send()

    asyncio.run(complete())
    assert not consumer.flow_active, "no fetched record may reach a stream before the clear"
    assert getattr(consumer.seek_to_committed, "_streams_rewinds", False)
    consumer.resume_flow()  # what Faust does after it cleared the stream queues
    assert consumer.flow_active


class RecordingTransactions:
    """The part of Faust's `TransactionManager` that `stop_lost_producers` uses."""

    def __init__(self) -> None:
        self.rebalances: list[set[TP]] = []

    def _tps_to_transactional_ids(self, tps: set[TP]) -> set[str]:
        return {f"app-1-{tp.partition}" for tp in tps if not tp.topic.endswith("-changelog")}

    async def on_rebalance(self, assigned: set[TP], revoked: set[TP], new: set[TP]) -> None:
        self.rebalances.append(assigned)


class RecordingProducer:
    def __init__(self, held: list[str]) -> None:
        self._transaction_producers = dict.fromkeys(held, object())
        self.stopped: list[str] = []

    async def stop_transaction(self, transactional_id: str) -> None:
        self.stopped.append(transactional_id)
        self._transaction_producers.pop(transactional_id, None)


def test_producers_of_lost_partitions_are_stopped_before_a_rebalance() -> None:
    transactions = RecordingTransactions()
    producer = RecordingProducer(["app-1-0", "app-1-1", "app-1-2"])
    stop_lost_producers(transactions, producer)
    stop_lost_producers(transactions, producer)  # installed once
    assigned = {INPUT, ZERO, CHANGELOG}  # partitions 0 and 2 kept, 1 lost
    asyncio.run(transactions.on_rebalance(assigned, set(), set()))
    assert producer.stopped == ["app-1-1"]
    assert transactions.rebalances == [assigned]
