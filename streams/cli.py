"""`streams <verb>`: the command line. Settings are built here, once, and passed down."""

from __future__ import annotations

import itertools
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import click
from tqdm import tqdm

from streams.errors import StreamsError
from streams.evaluation.common import (
    SPLITS,
    EvalDataError,
    EvalResult,
    Split,
    default_data_dir,
    require,
)
from streams.settings import Settings

log = logging.getLogger("streams")


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"streams: error: {message}", err=True)
    sys.exit(code)


def _settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or error.title}: "
            f"{str(item['msg']).removeprefix('Value error, ')}"
            for item in error.errors()[:3]
        )
        _fail(f"invalid configuration ({problems}); check the KAFKA_* and STREAMS_* variables", 2)


def _wait_for_broker(settings: Settings) -> None:
    """Wait for the cluster; a refused TLS handshake or password stops at once, in one line."""
    import asyncio

    from streams.kafka_client import security_problem
    from streams.kafka_io import KafkaUnavailableError, check_broker

    async def wait() -> None:
        if (refused := await security_problem(settings.kafka)) is not None:
            raise refused
        try:
            await check_broker(settings.kafka)
        except KafkaUnavailableError:  # the broker may have come up meanwhile, and refused us
            if (refused := await security_problem(settings.kafka, after_failure=True)) is not None:
                raise refused from None
            raise

    asyncio.run(wait())


def _connection_failed(settings: Settings, error: StreamsError) -> NoReturn:
    """Fail with the broker's refusal (TLS, SASL) when that is why Kafka was unreachable."""
    import asyncio

    from streams.kafka_client import security_problem
    from streams.kafka_io import KafkaUnavailableError

    if isinstance(error, KafkaUnavailableError) and settings.kafka.bootstrap_servers:
        refused: StreamsError | None
        try:
            refused = asyncio.run(security_problem(settings.kafka, after_failure=True))
        except StreamsError as problem:
            refused = problem
        if refused is not None:
            _fail(str(refused))
    _fail(str(error))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="streams")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
def cli(verbose: bool) -> None:
    """News-intelligence stream processor: raw pages to articles, entities, claims."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # client libraries log expected connection retries as errors
        for noisy in ("aiokafka", "kafka", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)


def _batches(items: Iterator[object], size: int) -> Iterator[list[object]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Events per NLP batch (default: STREAMS_CORE__SPACY_BATCH_SIZE, 16).",
)
@click.option(
    "--dedupe",
    is_flag=True,
    help="Link copies across the inputs of this run: duplicate_of, cluster_id, similarity, "
    "and claim-appearances records.",
)
def process(paths: tuple[str, ...], batch_size: int | None, dedupe: bool) -> None:
    """Run the pipeline on raw pages without Kafka and print the output records.

    PATHS are raw pages (.txt scraped text, .html), JSONL files of raw events (one
    {"url", "fetched_at", "html"|"text", ...} object per line), directories of those, or
    `-` for JSONL on stdin.

    Writes one JSON line per output record to stdout, {"topic", "key", "value"}, exactly
    the records the Kafka worker publishes: articles, claims, and dead letters for input
    that cannot be processed. With --dedupe, copies of an earlier input of the run are
    marked (duplicate_of, cluster_id, similarity) and claim-appearances records follow.
    A summary goes to stderr. Exit code 0 when every input was processed (dead-lettered
    input included); 1 for unreadable input, 2 for usage errors.
    """
    from streams.core import Processed, encode_line, link, process_payloads, to_records
    from streams.core.dedupe import DedupeIndex
    from streams.inputs import InputMessage, read_inputs
    from streams.models import ClaimAppearances

    settings = _settings()
    config = settings.core
    index = DedupeIndex(config)
    appearances: dict[str, ClaimAppearances] = {}
    topics = settings.topics.outputs()
    size = batch_size or config.spacy_batch_size
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    started = time.perf_counter()
    out = sys.stdout.buffer
    progress = tqdm(desc="events", unit="event", file=sys.stderr, disable=None, leave=False)
    try:
        for batch in _batches(read_inputs(list(paths)), size):
            messages = [m for m in batch if isinstance(m, InputMessage)]
            outcomes = process_payloads(
                [m.value for m in messages], config=config, origins=[m.origin for m in messages]
            )
            for message, outcome in zip(messages, outcomes, strict=True):
                if dedupe and isinstance(outcome, Processed):
                    outcome = link(outcome, index=index, appearances=appearances, config=config)
                for record in to_records(outcome, topics=topics, input_key=message.key):
                    out.write(encode_line(record) + b"\n")
                    counts[record.topic] += 1
                    if getattr(record.value, "duplicate_of", None):
                        counts["duplicates"] += 1
                    reason = getattr(record.value, "reason", None)
                    if reason is not None:
                        reasons[str(reason)] += 1
            out.flush()
            counts["events"] += len(messages)
            progress.update(len(messages))
    except StreamsError as error:
        _fail(str(error))
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    finally:
        progress.close()
    elapsed = time.perf_counter() - started
    dead = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())) or "none"
    click.echo(
        f"processed {counts['events']} events in {elapsed:.1f}s: "
        f"{counts[topics.articles]} articles ({counts['duplicates']} duplicates), "
        f"{counts[topics.claims]} claims, "
        f"{counts[topics.dead_letters]} dead letters ({dead})",
        err=True,
    )


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Where the JSON Schemas live.",
)
@click.option("--check", is_flag=True, help="Only compare; exit 1 when a schema is out of date.")
def schemas(directory: Path, check: bool) -> None:
    """Write the JSON Schemas of the records (generated from the pydantic models)."""
    from streams.schemas import render_schemas

    stale = []
    for name, text in render_schemas().items():
        path = directory / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not check:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        _fail(f"schemas out of date: {', '.join(stale)}; run `streams schemas` and commit them")
    click.echo(f"{len(stale)} schema(s) {'stale' if check else 'written'} in {directory}", err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--topic", default=None, help="Topic to publish to (default: the input topic).")
def produce(paths: tuple[str, ...], topic: str | None) -> None:
    """Publish raw pages to the input topic, as a crawler would.

    PATHS are the same as for `streams process`: .txt and .html pages, JSONL files of raw
    events, directories of those, or `-` for JSONL on stdin. Each message is keyed by the
    page URL and carries a new `trace-id` header. Needs KAFKA_BOOTSTRAP_SERVERS.
    """
    import asyncio

    from streams.inputs import read_inputs
    from streams.kafka_io import produce as produce_messages

    settings = _settings()
    target = topic or settings.topics.input
    progress = tqdm(desc="produced", unit="event", file=sys.stderr, disable=None, leave=False)
    try:
        summary = asyncio.run(
            produce_messages(
                read_inputs(list(paths)),
                kafka=settings.kafka,
                topic=target,
                on_sent=progress.update,
            )
        )
    except StreamsError as error:
        _connection_failed(settings, error)
    finally:
        progress.close()
    click.echo(f"produced {summary.messages} events ({summary.bytes} bytes) to {target}", err=True)


@cli.command()
@click.argument("topic")
@click.option("--latest", is_flag=True, help="Only records published from now on.")
@click.option("-n", "--max-records", type=click.IntRange(min=1), default=None, help="Stop after N.")
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Stop after this many seconds without a record (default: follow forever).",
)
def tail(topic: str, latest: bool, max_records: int | None, idle_timeout: float | None) -> None:
    """Print a topic's records as {"topic", "key", "value"} JSON lines.

    The same line format as `streams process`, so outputs of the worker and of the
    offline pipeline can be compared. Reads every partition without joining a consumer
    group (nothing is committed). Needs KAFKA_BOOTSTRAP_SERVERS.
    """
    import asyncio

    from streams.kafka_io import tail as tail_topic

    settings = _settings()
    try:
        asyncio.run(
            tail_topic(
                topic,
                kafka=settings.kafka,
                from_beginning=not latest,
                max_records=max_records,
                idle_timeout=idle_timeout,
            )
        )
    except StreamsError as error:
        _connection_failed(settings, error)
    except KeyboardInterrupt:
        pass


@cli.command()
@click.option("-l", "--loglevel", default="info", show_default=True, help="Worker log level.")
def worker(loglevel: str) -> None:
    """Run the Kafka worker: raw events in; articles, claims and dead letters out.

    Consumes STREAMS_TOPICS__INPUT (raw-articles) in batches, runs the pipeline in
    STREAMS_WORKER__PROCESSES NLP processes and publishes to the output topics, creating
    missing topics first. Serves /metrics, /healthz and /readyz on STREAMS_WORKER__WEB_PORT
    (6066). Stops cleanly on SIGTERM or Ctrl-C. Needs KAFKA_BOOTSTRAP_SERVERS; `streams run`
    starts a local broker when it is not set. `faust -A streams.app.main worker` also works.
    """
    from streams.app import run_worker

    settings = _settings()
    try:
        _wait_for_broker(settings)
        run_worker(settings, loglevel=loglevel)
    except StreamsError as error:
        _fail(str(error))


@cli.command()
@click.option("-l", "--loglevel", default="info", show_default=True, help="Worker log level.")
def run(loglevel: str) -> None:
    """Run the service: the worker, plus a local Kafka broker when none is configured.

    With KAFKA_BOOTSTRAP_SERVERS set this is `streams worker`. Without it, a single-node
    Apache Kafka (KRaft) starts on 127.0.0.1:9092 from jars fetched through Maven (Java 17+
    needed; data in STREAMS_WORKER__DATA_DIR/kafka, kept between runs), then the worker;
    the broker stops when the worker does.
    """
    from streams.app import run_worker

    settings = _settings()
    local = None
    try:
        if not settings.kafka.bootstrap_servers:
            from streams.localkafka import run_local_broker

            local = run_local_broker(settings.worker.data_dir / "kafka")
            click.echo(f"local kafka ready at {local.bootstrap_servers}", err=True)
            kafka = settings.kafka.model_copy(update={"bootstrap_servers": local.bootstrap_servers})
            settings = settings.model_copy(update={"kafka": kafka})
        _wait_for_broker(settings)
        run_worker(settings, loglevel=loglevel)
    except StreamsError as error:
        _fail(str(error))
    finally:
        if local is not None:
            local.stop()


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".streams-data/kafka"),
    show_default=True,
    help="Broker data (kept between runs, so a second start takes seconds).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=9092, show_default=True)
def broker(data_dir: Path, port: int) -> None:
    """Run a single-node Apache Kafka broker (KRaft) on 127.0.0.1 until Ctrl-C.

    For development and tests when no cluster is configured. Needs Java 17+ and Maven:
    the broker's jars come from Maven Central on first use (cached in ~/.m2 and
    ~/.cache/streams). Prints the bootstrap address when the broker answers a real client.
    """
    from streams.localkafka import run_local_broker

    try:
        local = run_local_broker(data_dir, port)
    except StreamsError as error:
        _fail(str(error))
    click.echo(f"kafka ready: KAFKA_BOOTSTRAP_SERVERS={local.bootstrap_servers}", err=True)
    try:
        local.wait()
    except KeyboardInterrupt:
        pass
    finally:
        local.stop()


@cli.group("topics")
def topics_group() -> None:
    """Topic definitions as code: show, plan and apply the topics the service uses.

    The specs come from the STREAMS_TOPICS__* and STREAMS_WORKER__APP_ID settings: input,
    outputs, the internal stage topics and the tables' changelogs, with their partitions,
    replication and configs (compaction, retention, max.message.bytes). The worker
    creates missing topics from the same specs; `apply` also fixes existing ones.
    """


@topics_group.command("show")
def topics_show() -> None:
    """Print the desired topics, one line each (no broker needed)."""
    from streams.topic_specs import service_topics

    for spec in service_topics(_settings()).all():
        configs = " ".join(f"{k}={v}" for k, v in sorted(spec.configs.items()))
        click.echo(
            f"{spec.name}\t{spec.role}\tpartitions={spec.partitions}\t"
            f"replication={spec.replication_factor}\t{configs}"
        )


def _apply_topics(dry_run: bool) -> None:
    import asyncio

    from streams.topic_admin import apply_topics
    from streams.topic_plan import summary
    from streams.topic_specs import service_topics

    settings = _settings()
    specs = service_topics(settings).all()
    try:
        plans = asyncio.run(
            apply_topics(
                specs,
                settings.kafka,
                dry_run=dry_run,
                progress=lambda line: click.echo(line, err=True),
            )
        )
    except StreamsError as error:
        _fail(str(error))
    for plan in plans:
        click.echo(plan.describe(dry_run=dry_run))
    click.echo(summary(plans, dry_run=dry_run), err=True)


@topics_group.command("apply")
@click.option("--dry-run", is_flag=True, help="Only print what would change (= `topics plan`).")
def topics_apply(dry_run: bool) -> None:
    """Create missing topics, add partitions, set configs that differ.

    Prints one line per topic with what was done ("up to date" when nothing); progress
    and a summary go to stderr. Refuses, changing nothing and exiting 1, when a topic
    has more partitions than the settings ask for or another replication factor (Kafka
    cannot remove partitions; replication needs a reassignment). Adding partitions to a
    keyed topic sends a key's new records to another partition than its old ones.
    Configs the service does not manage are kept. Needs KAFKA_BOOTSTRAP_SERVERS (and the
    KAFKA_* security settings, as the worker).
    """
    _apply_topics(dry_run)


@topics_group.command("plan")
def topics_plan() -> None:
    """Print what `streams topics apply` would do, changing nothing.

    One line per topic ("would create", "would add partitions", "would set", "up to
    date"); exit 1 when the apply would be refused. Needs KAFKA_BOOTSTRAP_SERVERS.
    """
    _apply_topics(dry_run=True)


@cli.group("eval")
def eval_group() -> None:
    """Score the pipeline on the development data sets and time it.

    Each verb runs the same core functions as the worker on one set from shared/data
    (read in place, never copied), writes predictions in the scorer's format, runs the
    set's scorer (shared/data/score/score_<set>.py) and prints its figures, the
    throughput, the date and the machine. Documents whose id's SHA-1 starts with 0, 1 or 2
    are held back: tune on `--split dev` (the default), check on `--split held-back`.
    Exit code 2 when the data or the scorer is missing.
    """


def _eval_options(command: Callable[..., None]) -> Callable[..., None]:
    options = [
        click.option(
            "--data",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="The data sets with their scorers (default: $STREAMS_EVAL_DATA, else "
            "../shared/data beside the repository).",
        ),
        click.option(
            "--split",
            type=click.Choice(SPLITS),
            default="dev",
            show_default=True,
            help="dev: the documents to tune on; held-back: the others; all: both.",
        ),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            default=None,
            help="Only the first N documents of the split.",
        ),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Where predictions, the split's gold and scores go (default: a new temp dir).",
        ),
        click.option(
            "--json",
            "json_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help='Also write {"set", "split", "date", "machine", "scores", "throughput", '
            '"documents"} to FILE, for tracking.',
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


_EVAL_HELP = {
    "extraction": """Article body extraction on aeb-dev: 4-gram F1, precision, recall, exact pages.

    Each page goes through the worker's HTML parse path as a raw event with its saved URL;
    the body of the main article (not the extra stories of the page) is compared with the
    hand-written body by score_extraction.py. Throughput: pages parsed per second.
    """,
    "ner": """Named entities on conll2003-dev: exact-span P/R/F1 per CoNLL type, and overlap F1.

    Runs the pipeline's spaCy model and entity stage on each story; labels are mapped
    PLACE->LOC, PERSON->PER, ORG->ORG, other names->MISC (dates and numbers dropped) and
    scored by score_ner.py. Throughput: spaCy tokens per second of spaCy + entity code.
    """,
    "quotes": """Quotes and speakers on polnear-dev: quote and quote+speaker P/R/F1, recall by kind.

    Each article's text is processed as a raw text event by the full pipeline; its quote,
    partial-quote and reported-speech claims, with the speaker's name (null for a bare
    pronoun), are scored by score_quotes.py on direct and mixed quotes. Throughput:
    articles per second through the whole pipeline.
    """,
}


def _print_result(result: EvalResult) -> None:
    speed = result.throughput
    click.echo(f"== streams eval {result.set} --split {result.split}: {result.documents} documents")
    click.echo(result.scorer_output.rstrip())
    line = f"throughput: {speed['docs_per_s']:,.1f} docs/s ({speed['seconds']:.1f}s)"
    if "tokens_per_s" in speed:
        line += (
            f", {speed['tokens_per_s']:,.0f} spaCy tokens/s for spaCy + entities "
            f"({speed['spacy_only_tokens_per_s']:,.0f} spaCy alone, "
            f"{speed['conll_tokens_per_s']:,.0f} CoNLL tokens/s)"
        )
    click.echo(line)
    box = result.machine
    click.echo(f"date: {result.date}; machine: {box['cpu']}, {box['cores']} cores")


def _evaluate(
    name: str,
    data: Path | None,
    split: Split,
    limit: int | None,
    out: Path | None,
    json_path: Path | None,
) -> None:
    import json
    import tempfile

    from streams.evaluation.common import Request, evaluate

    config = _settings().core
    data = data if data is not None else default_data_dir()
    try:
        require(data, "data directory")
        require(data / "score" / f"score_{name}.py", f"scorer score_{name}.py")
        if out is None:
            out = Path(tempfile.mkdtemp(prefix=f"streams-eval-{name}-"))
        out.mkdir(parents=True, exist_ok=True)
        click.echo(f"predictions and scores in {out}", err=True)
        progress = tqdm(desc=name, unit="doc", file=sys.stderr, disable=None, leave=False)
        request = Request(data, split, config, out, limit, progress=progress.update)
        try:
            result = evaluate(name, request)
        finally:
            progress.close()
    except StreamsError as error:
        _fail(str(error), 2 if isinstance(error, EvalDataError) else 1)
    _print_result(result)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result.record(), indent=2) + "\n", encoding="utf-8")


def _eval_verb(name: str) -> None:
    @eval_group.command(name, help=_EVAL_HELP[name])
    @_eval_options
    def verb(
        data: Path | None, split: Split, limit: int | None, out: Path | None, json_path: Path | None
    ) -> None:
        _evaluate(name, data, split, limit, out, json_path)


for _name in _EVAL_HELP:
    _eval_verb(_name)


def main() -> None:
    """Console-script entry point: errors end as one line, never a traceback."""
    try:
        cli.main(prog_name="streams")
    except StreamsError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail("interrupted", 130)


if __name__ == "__main__":
    main()
