"""End-to-end throughput through a real Kafka broker: the service against a naive baseline.

A workload built from real pages (`benchmarks/workload.py`: aeb-dev HTML, the seed page and
more real news text read from shared/ at run time; about 30 % syndicated copies, a few
percent bad input) is produced to a fresh input topic of a local single-node broker, and
worker processes are timed until the last input has its output (an article or a dead
letter). Each run uses its own topics and consumer group, so no state carries over.

Runs, in order:

- `naive`: `benchmarks/naive_worker.py`, one event at a time in the agent, trafilatura +
  the full default spaCy pipeline + the service's claim and fingerprint code;
- `service-1`, `service-2`: `streams worker` with one, then two worker processes (each with
  one NLP process);
- latency runs of the service with 1 and 2 workers: inputs produced at a steady 50 % and
  90 % of that configuration's sustained rate, end-to-end latency per input = broker
  timestamp of its last output minus that of the input.

Throughput is measured over a backlog: the workers are started and warmed up first (one
event each), then the whole workload is produced at once; the window runs from the first
input's timestamp to the last output's. CPU seconds are read from /proc for each worker
and its NLP processes over the window; RSS is sampled every 0.2 s (peak per worker, its
NLP processes included). State bytes are the live keys and values of the worker's
changelog topics (the latest record per key) per article.

    .venv/bin/python benchmarks/throughput.py [--data ../shared] [--events 2000] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from tqdm import tqdm

if __package__ in (None, ""):  # run as a script: the repository root is the import root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.workload import WorkloadEvent, build_workload, describe
from streams.app.app import TABLES
from streams.evaluation.common import machine
from streams.localkafka import LocalKafka

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = ROOT.parent / "shared"
PARTITIONS = 4
"""Input partitions: more than the largest worker count, as in production."""
_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- processes


def _stat(pid: int) -> tuple[float, int] | None:
    """CPU seconds (user + system) and RSS bytes of one process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS, int(fields[21]) * _PAGE


def _tree(pid: int) -> list[int]:
    """The process and all its descendants (the worker and its NLP processes)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except FileNotFoundError:
                continue
    return found


class TreeSampler:
    """Samples each worker's process tree: peak RSS, and CPU seconds at marks.

    CPU of processes that end is lost, so the window is marked while all are alive.
    """

    def __init__(self, roots: Sequence[int], interval: float = 0.2) -> None:
        self.roots = list(roots)
        self.peak_rss = dict.fromkeys(self.roots, 0)
        self.peak_parts: dict[int, list[int]] = {root: [] for root in self.roots}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def cpu_seconds(self) -> dict[int, float]:
        """Per worker: CPU seconds of its whole tree so far."""
        totals = {}
        for root in self.roots:
            stats = [_stat(pid) for pid in _tree(root)]
            totals[root] = sum(s[0] for s in stats if s is not None)
        return totals

    def _run(self) -> None:
        while not self._stop.is_set():
            for root in self.roots:
                stats = {pid: _stat(pid) for pid in _tree(root)}
                rss = sum(s[1] for s in stats.values() if s is not None)
                if rss > self.peak_rss[root]:
                    self.peak_rss[root] = rss
                    self.peak_parts[root] = [s[1] for s in stats.values() if s is not None]
            self._stop.wait(self._interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- one stack


@dataclass
class Stack:
    """The topics and worker processes of one run."""

    broker: LocalKafka
    tmp: Path
    naive: bool
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    workers: list[tuple[subprocess.Popen[bytes], int]] = field(default_factory=list)

    @property
    def topics(self) -> dict[str, str]:
        return {
            "INPUT": f"raw-{self.tag}",
            "ARTICLES": f"articles-{self.tag}",
            "CLAIMS": f"claims-{self.tag}",
            "DEAD_LETTERS": f"dlq-{self.tag}",
            "CLAIM_APPEARANCES": f"appearances-{self.tag}",
        }

    @property
    def app_id(self) -> str:
        return f"bench-{self.tag}"

    def _env(self, port: int, index: int) -> dict[str, str]:
        # STREAMS_WORKER__* settings of the caller pass through (to try a setting)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "STREAMS_"))}
        env |= {k: v for k, v in os.environ.items() if k.startswith("STREAMS_WORKER__")}
        data = self.tmp / f"{self.tag}-worker-{index}"
        if self.naive:
            return env | {
                "NAIVE_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
                "NAIVE_APP_ID": self.app_id,
                "NAIVE_INPUT_TOPIC": self.topics["INPUT"],
                "NAIVE_ARTICLES_TOPIC": self.topics["ARTICLES"],
                "NAIVE_CLAIMS_TOPIC": self.topics["CLAIMS"],
                "NAIVE_DEAD_LETTERS_TOPIC": self.topics["DEAD_LETTERS"],
                "NAIVE_DATA_DIR": str(data),
                "NAIVE_WEB_PORT": str(port),
            }
        env |= {f"STREAMS_TOPICS__{k}": v for k, v in self.topics.items()}
        return env | {
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "STREAMS_TOPICS__PARTITIONS": str(PARTITIONS),
            "STREAMS_WORKER__APP_ID": self.app_id,
            "STREAMS_WORKER__WEB_PORT": str(port),
            "STREAMS_WORKER__WEB_HOST": "127.0.0.1",
            "STREAMS_WORKER__DATA_DIR": str(data),
        }

    def start_worker(self) -> subprocess.Popen[bytes]:
        port, index = _free_port(), len(self.workers)
        command = (
            [sys.executable, str(ROOT / "benchmarks" / "naive_worker.py"), "worker", "-l", "warn"]
            if self.naive
            else [sys.executable, "-m", "streams.cli", "worker"]
        )
        log = (self.tmp / f"{self.tag}-worker-{index}.log").open("wb")
        process = subprocess.Popen(
            command, env=self._env(port, index), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        self.workers.append((process, port))
        return process

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Service workers answer /readyz; the naive one is ready once it has an output."""
        if self.naive:
            return
        deadline = time.monotonic() + timeout
        for process, port in self.workers:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"worker exited {process.returncode}: {self.log_tail()}")
                try:
                    url = f"http://127.0.0.1:{port}/readyz"
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker not ready in {timeout}s: {self.log_tail()}")
                time.sleep(0.5)

    def metrics(self) -> list[str]:
        """Prometheus lines of every live service worker."""
        lines: list[str] = []
        for process, port in self.workers:
            if self.naive or process.poll() is not None:
                continue
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                lines.extend(r.read().decode().splitlines())
        return lines

    def log_tail(self) -> str:
        paths = sorted(self.tmp.glob(f"{self.tag}-worker-*.log"))
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in paths)

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM every live worker; kill what has not ended when the shared time is up."""
        alive = [process for process, _ in self.workers if process.poll() is None]
        for process in alive:
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in alive:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running(stack: Stack, workers: int) -> Iterator[Stack]:
    try:
        for _ in range(workers):
            stack.start_worker()
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()


# --------------------------------------------------------------------------- kafka


async def create_topics(bootstrap: str, names: Sequence[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    finally:
        await admin.close()


Position = tuple[int, int]
"""(partition, offset) of an input record."""


async def produce(
    bootstrap: str, topic: str, events: Sequence[WorkloadEvent], *, rate: float | None = None
) -> dict[Position, int]:
    """Send the events (as fast as possible, or `rate` per second on a steady clock);
    returns each input's position → broker timestamp (ms)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_request_size=2**20)  # fmt: skip
    await producer.start()
    sent: dict[Position, int] = {}
    try:
        futures = []
        started = time.monotonic()
        for i, event in enumerate(events):
            if rate is not None:
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            futures.append(await producer.send(topic, event.value, key=event.key))
        for future in futures:
            meta = await future
            sent[(meta.partition, meta.offset)] = meta.timestamp
    finally:
        await producer.stop()
    return sent


@dataclass
class Outputs:
    """Per input position: timestamps (ms) of its article and dead-letter records."""

    done: dict[Position, list[int]] = field(default_factory=dict)
    articles: int = 0
    dead_letters: int = 0
    claims: int = 0


async def collect(
    bootstrap: str,
    topics: dict[str, str],
    expected: set[Position],
    *,
    timeout: float,
    progress: tqdm[Any] | None = None,
) -> Outputs:
    """Read articles, claims and dead letters until every expected input has an output."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 * 2**20)  # fmt: skip
    await consumer.start()
    outputs = Outputs()
    wanted = [topics["ARTICLES"], topics["DEAD_LETTERS"], topics["CLAIMS"]]
    try:
        partitions = [TopicPartition(t, p) for t in wanted for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while not expected <= outputs.done.keys():
            if time.monotonic() > deadline:
                missing = len(expected - outputs.done.keys())
                raise TimeoutError(f"{missing} inputs have no output after {timeout:.0f}s")
            batches = await consumer.getmany(timeout_ms=500)
            for record in (r for batch in batches.values() for r in batch):
                if record.topic == topics["CLAIMS"]:
                    outputs.claims += 1
                    continue
                headers = dict(record.headers)
                position = (int(headers["origin-partition"]), int(headers["origin-offset"]))
                if record.topic == topics["ARTICLES"]:
                    outputs.articles += 1
                else:
                    outputs.dead_letters += 1
                if position not in outputs.done and progress is not None:
                    progress.update(1)
                outputs.done.setdefault(position, []).append(record.timestamp)
    finally:
        await consumer.stop()
    return outputs


async def _partition_counts(bootstrap: str, names: Sequence[str]) -> list[tuple[str, int]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    missing = [d["topic"] for d in described if d["error_code"]]
    if missing:
        raise RuntimeError(f"changelog topics missing: {missing}")
    return [(d["topic"], len(d["partitions"])) for d in described]


async def state_bytes(bootstrap: str, app_id: str) -> int:
    """Live bytes of the service's tables: the latest key and value per key of each
    changelog topic (a tombstone removes its key)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    live: dict[tuple[str, bytes], int] = {}
    try:
        names = sorted(f"{app_id}-{table}-changelog" for table in TABLES)
        partitions = [
            TopicPartition(topic, p) for topic, count in (await _partition_counts(bootstrap, names))
            for p in range(count)
        ]  # fmt: skip
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=1000)
            for record in (r for batch in batches.values() for r in batch):
                key = (record.topic, record.key or b"")
                if record.value is None:
                    live.pop(key, None)
                else:
                    live[key] = len(record.key or b"") + len(record.value)
    finally:
        await consumer.stop()
    return sum(live.values())


def _warm_up_event(tag: str, i: int) -> WorkloadEvent:
    event = {
        "url": f"https://warm-up.example/{tag}/{i}",
        "fetched_at": "2024-10-28T00:00:00Z",
        "text": "Warm-up\n\nThe council said on Monday that the bridge would reopen soon.",
    }
    return WorkloadEvent(key=None, value=orjson.dumps(event), kind="warm_up", story="")


# --------------------------------------------------------------------------- runs


def _percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (a value that occurred)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = math.ceil(q / 100 * len(ordered))  # nearest rank, 1-based
    return ordered[min(len(ordered), max(1, rank)) - 1]


def _others_cpu(broker: LocalKafka) -> tuple[float, float]:
    """CPU seconds so far of the broker JVM and of this process (producer and reader): they
    share the machine's cores with the workers."""
    stat = _stat(broker.pid) if broker.pid is not None else None
    return (stat[0] if stat is not None else 0.0), time.process_time()


def _stage_cpu(lines: Sequence[str]) -> dict[str, float]:
    """CPU seconds per stage summed over the workers' `streams_stage_cpu_seconds_total`,
    else wall seconds from `streams_stage_seconds_sum` (NLP processes are one per core)."""
    totals: dict[str, float] = {}
    for metric in ("streams_stage_cpu_seconds_total", "streams_stage_seconds_sum"):
        for line in lines:
            if line.startswith(metric + "{"):
                stage = line.split('stage="', 1)[1].split('"', 1)[0]
                totals[stage] = totals.get(stage, 0.0) + float(line.rsplit(" ", 1)[1])
        if totals:
            return totals
    return totals


def throughput_run(
    broker: LocalKafka, tmp: Path, workload: Sequence[WorkloadEvent], *, workers: int, naive: bool
) -> dict[str, Any]:
    """Drain a backlog of the whole workload; the figures of one configuration."""
    stack = Stack(broker, tmp, naive)
    bootstrap = broker.bootstrap_servers
    asyncio.run(create_topics(bootstrap, list(stack.topics.values())))
    name = f"{'naive' if naive else 'service'}-{workers}"
    with running(stack, workers):
        warm = [_warm_up_event(stack.tag, i) for i in range(workers * PARTITIONS)]
        warm_sent = asyncio.run(produce(bootstrap, stack.topics["INPUT"], warm))
        asyncio.run(collect(bootstrap, stack.topics, set(warm_sent), timeout=600))
        roots = [process.pid for process, _ in stack.workers]
        with TreeSampler(roots) as sampler:
            cpu_before = sampler.cpu_seconds()
            others_before = _others_cpu(broker)
            metrics_before = _stage_cpu(stack.metrics())
            total = len(workload) + len(warm_sent)  # the warm-up outputs are read again
            progress = tqdm(total=total, desc=name, unit="event", file=sys.stderr)

            async def go() -> tuple[dict[Position, int], Outputs]:
                sent = await produce(bootstrap, stack.topics["INPUT"], workload)
                expected = set(sent) | set(warm_sent)
                outputs = await collect(
                    bootstrap, stack.topics, expected, timeout=7200, progress=progress
                )
                return sent, outputs

            sent, outputs = asyncio.run(go())
            progress.close()
            cpu_after = sampler.cpu_seconds()
            others_after = _others_cpu(broker)
            metrics_after = _stage_cpu(stack.metrics())
        peak_rss = dict(sampler.peak_rss)
        peak_parts = dict(sampler.peak_parts)
    measured = {p: ts for p, ts in outputs.done.items() if p in sent}
    first_input = min(sent.values())
    last_output = max(max(ts) for ts in measured.values())
    window = (last_output - first_input) / 1000
    articles = outputs.articles - len(warm_sent)
    cpu = sum(cpu_after[r] - cpu_before.get(r, 0.0) for r in cpu_after)
    stages = {
        stage: round((metrics_after[stage] - metrics_before.get(stage, 0.0)) / articles, 4)
        for stage in metrics_after
    }
    result: dict[str, Any] = {
        "name": name,
        "workers": workers,
        "events": len(sent),
        "articles": articles,
        "dead_letters": outputs.dead_letters,
        "seconds": round(window, 2),
        "events_per_second": round(len(sent) / window, 3),
        "articles_per_second": round(articles / window, 3),
        "cpu_seconds": round(cpu, 1),
        "cores_used": round(cpu / window, 2),
        "cpu_seconds_per_article": round(cpu / articles, 4),
        "articles_per_cpu_second": round(articles / cpu, 3),
        "stage_seconds_per_article": stages,
        "broker_cores_used": round((others_after[0] - others_before[0]) / window, 2),
        "load_generator_cores_used": round((others_after[1] - others_before[1]) / window, 2),
        "peak_rss_mb_per_worker": [round(v / 2**20) for v in peak_rss.values()],
        "rss_mb_by_process_at_peak": [
            [round(v / 2**20) for v in parts] for parts in peak_parts.values()
        ],
    }
    if not naive:
        result["state_bytes_per_article"] = round(
            asyncio.run(state_bytes(bootstrap, stack.app_id)) / max(1, articles)
        )
    return result


def latency_run(
    broker: LocalKafka,
    tmp: Path,
    workload: Sequence[WorkloadEvent],
    *,
    workers: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Inputs at a steady `rate`; end-to-end latency of each (its last output)."""
    stack = Stack(broker, tmp, naive=False)
    bootstrap = broker.bootstrap_servers
    asyncio.run(create_topics(bootstrap, list(stack.topics.values())))
    count = min(len(workload), max(20, round(rate * seconds)))
    events = list(workload[:count])
    with running(stack, workers):
        warm = [_warm_up_event(stack.tag, i) for i in range(workers * PARTITIONS)]
        warm_sent = asyncio.run(produce(bootstrap, stack.topics["INPUT"], warm))
        asyncio.run(collect(bootstrap, stack.topics, set(warm_sent), timeout=600))
        progress = tqdm(total=count + len(warm_sent), desc=f"latency {workers}w @{rate:.2f}/s",
                        file=sys.stderr)  # fmt: skip

        async def go() -> tuple[dict[Position, int], Outputs]:
            producing = asyncio.create_task(
                produce(bootstrap, stack.topics["INPUT"], events, rate=rate)
            )
            await asyncio.sleep(0)
            sent = await producing
            outputs = await collect(
                bootstrap, stack.topics, set(sent) | set(warm_sent), timeout=3600,
                progress=progress,
            )  # fmt: skip
            return sent, outputs

        sent, outputs = asyncio.run(go())
        progress.close()
    latencies = [(max(outputs.done[p]) - ts) / 1000 for p, ts in sent.items()]
    slowest = sorted(zip(latencies, events, strict=True), key=lambda pair: -pair[0])[:5]
    return {
        "workers": workers,
        "rate_events_per_second": round(rate, 3),
        "events": count,
        "p50_seconds": round(_percentile(latencies, 50), 3),
        "p95_seconds": round(_percentile(latencies, 95), 3),
        "p99_seconds": round(_percentile(latencies, 99), 3),
        "max_seconds": round(max(latencies), 3),
        "slowest": [
            {"seconds": round(seconds, 3), "kind": event.kind, "bytes": len(event.value)}
            for seconds, event in slowest
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_SHARED, help="the shared/ folder")
    parser.add_argument("--events", type=int, default=2000, help="workload size")
    parser.add_argument(
        "--naive-events", type=int, default=None, help="naive run on a prefix (default: all)"
    )
    parser.add_argument("--latency-seconds", type=float, default=90.0,
                        help="length of each latency run")  # fmt: skip
    parser.add_argument("--workers", default="1,2", help="worker counts to run")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--rates-from",
        type=Path,
        help="latency runs only, at the sustained rates of this earlier result (its runs kept)",
    )
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args()

    workload = build_workload(args.data, args.events)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "workload": describe(workload),
        "runs": [],
        "latency": [],
    }
    with LocalKafka(heap="1g") as broker:
        tmp = broker.data_dir / "bench"
        tmp.mkdir(exist_ok=True)
        runs: dict[str, dict[str, Any]] = {}
        if args.rates_from:
            earlier = json.loads(args.rates_from.read_text())
            runs = {run["name"]: run for run in earlier["runs"]}
            result["throughput_from"] = earlier["date"]
        elif not args.skip_naive:
            naive_load = workload[: args.naive_events] if args.naive_events else workload
            runs["naive-1"] = throughput_run(broker, tmp, naive_load, workers=1, naive=True)
            print(json.dumps(runs["naive-1"]), file=sys.stderr)
        for workers in (int(w) for w in args.workers.split(",") if not args.rates_from):
            run = throughput_run(broker, tmp, workload, workers=workers, naive=False)
            runs[run["name"]] = run
            print(json.dumps(run), file=sys.stderr)
        result["runs"] = list(runs.values())
        if not args.skip_latency:
            for workers in (int(w) for w in args.workers.split(",")):
                sustained = runs[f"service-{workers}"]["events_per_second"]
                for share in (0.5, 0.9):
                    latency = latency_run(broker, tmp, workload, workers=workers,
                                          rate=share * sustained,
                                          seconds=args.latency_seconds)  # fmt: skip
                    latency["share_of_sustained"] = share
                    result["latency"].append(latency)
                    print(json.dumps(latency), file=sys.stderr)
    result["ratios"] = _ratios(runs)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def _ratios(runs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The issue's targets as ratios of the same run."""
    ratios: dict[str, float] = {}
    one, two, naive = runs.get("service-1"), runs.get("service-2"), runs.get("naive-1")
    if one and naive:
        ratios["service_1_vs_naive_articles_per_second"] = round(
            one["articles_per_second"] / naive["articles_per_second"], 2
        )
        ratios["service_1_vs_naive_articles_per_cpu_second"] = round(
            one["articles_per_cpu_second"] / naive["articles_per_cpu_second"], 2
        )
    if one and two:
        ratios["two_workers_vs_one"] = round(
            two["articles_per_second"] / one["articles_per_second"], 2
        )
    return ratios


if __name__ == "__main__":
    main()
