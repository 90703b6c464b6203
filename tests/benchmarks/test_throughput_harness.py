"""The throughput harness's own measuring parts (the benchmark itself is not a test)."""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.throughput import TreeSampler, _percentile, _ratios, _stage_cpu


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert _percentile(values, 50) == 50.0
    assert _percentile(values, 99) == 99.0
    assert _percentile(values, 100) == 100.0
    assert _percentile([3.0], 99) == 3.0


def test_sampler_counts_the_cpu_and_memory_of_a_process_tree() -> None:
    spin = "import time\nend = time.time() + 1.0\nwhile time.time() < end: pass\n"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run([sys.executable, '-c', {spin!r}])",
        ]
    )
    try:
        with TreeSampler([child.pid], interval=0.05) as sampler:
            time.sleep(0.5)
            during = sampler.cpu_seconds()[child.pid]
        child.wait(timeout=10)
    finally:
        child.kill()
    assert during > 0.2  # the grandchild's busy loop is counted
    assert sampler.peak_rss[child.pid] > 2 * 2**20
    assert len(sampler.peak_parts[child.pid]) == 2  # the child and its own child


def test_stage_cpu_prefers_the_cpu_counter() -> None:
    lines = [
        'streams_stage_seconds_sum{stage="nlp"} 9.0',
        'streams_stage_cpu_seconds_total{stage="nlp"} 4.0',
        'streams_stage_cpu_seconds_total{stage="parse"} 1.5',
    ]
    assert _stage_cpu(lines) == {"nlp": 4.0, "parse": 1.5}
    assert _stage_cpu(lines[:1]) == {"nlp": 9.0}


def test_ratios_compare_runs_of_the_same_benchmark() -> None:
    runs = {
        "naive-1": {"articles_per_second": 2.0, "articles_per_cpu_second": 2.5},
        "service-1": {"articles_per_second": 5.0, "articles_per_cpu_second": 5.0},
        "service-2": {"articles_per_second": 9.0, "articles_per_cpu_second": 4.9},
    }
    assert _ratios(runs) == {
        "service_1_vs_naive_articles_per_second": 2.5,
        "service_1_vs_naive_articles_per_cpu_second": 2.0,
        "two_workers_vs_one": 1.8,
    }
