# The README's two commands: `make run` (the service) and `make test` (the whole suite).
# Both set up .venv in the repository root on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
INPUT ?= ../shared/seed/000_5ff85278df32db3f.txt

.PHONY: setup deps run process test lint typecheck schemas bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## run: the service: the Kafka worker, plus a local single-node broker (KRaft) when
## KAFKA_BOOTSTRAP_SERVERS is not set (Java 17+ and Maven fetch and run it).
run: setup
	$(BIN)/streams run

## process: the pipeline without Kafka on INPUT (files or directories), records to stdout.
process: setup
	$(BIN)/streams process $(INPUT)

lint: setup
	$(BIN)/ruff check streams tests benchmarks
	$(BIN)/ruff format --check streams tests benchmarks

typecheck: setup
	$(BIN)/mypy streams

schemas: setup
	$(BIN)/streams schemas

## deps: Debian tools the tests use (kcat, promtool, docker-compose; Java/Maven if missing)
## and the Kafka broker's jars from Maven Central (cached in ~/.m2 and ~/.cache/streams).
deps: setup
	scripts/ci-deps.sh

## test: lint, types, schema drift and the whole pytest suite (with a real local Kafka).
test: setup lint typecheck deps
	$(BIN)/streams schemas --check
	$(BIN)/pytest -q

## bench: the throughput benchmark through a local broker (naive baseline, 1 and 2 workers,
## latency at 50 % and 90 % of the sustained rate); about 40 minutes on 2 cores.
bench: setup deps
	$(BIN)/python benchmarks/throughput.py --json benchmarks/results/throughput.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
