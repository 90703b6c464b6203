"""Benchmarks and evaluations of the service, run as scripts (`python benchmarks/x.py`).

A package so that scripts can share helpers (`benchmarks.syndication`, `benchmarks.workload`)
and tests can import them; nothing here is part of the `streams` distribution.
"""
