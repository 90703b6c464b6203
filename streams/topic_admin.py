"""`streams topics apply`: make the cluster's topics match `streams.topic_specs`.

Reads every topic's partitions, replication and configs, plans (`streams.topic_plan`),
refuses the whole plan when a topic would have to shrink or change replication, then
creates missing topics, adds partitions and sets configs that differ. A second run finds
nothing to do. Connects with the worker's client options (`streams.kafka_client`, SASL
and TLS included).

aiokafka's admin client has no incremental alter (`IncrementalAlterConfigs`), so configs
are set with `AlterConfigs`, which replaces a topic's overrides as a whole: the request
carries the topic's current overrides plus the desired values (`TopicPlan.alter_configs`).
An override someone sets between the read and the alter (or one the broker does not show
yet: configs become visible about a second after they are set) would be lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from streams.errors import StreamsError
from streams.kafka_client import client_options
from streams.kafka_io import KafkaUnavailableError
from streams.settings import KafkaSettings
from streams.topic_plan import (
    TopicPlan,
    TopicState,
    check_plans,
    plan_topic,
    plan_topics,
    topics_count,
)
from streams.topic_specs import TopicSpec

REQUEST_TIMEOUT_MS = 30_000
READY_TIMEOUT_SECONDS = 30.0
DYNAMIC_TOPIC_CONFIG = 1
"""`config_source` of a config set on the topic itself (DescribeConfigs v1+)."""


class TopicAdminError(StreamsError):
    """The broker refused a topic request (authorization, policy, invalid config)."""


def _new_topic(spec: TopicSpec) -> NewTopic:
    return NewTopic(spec.name, spec.partitions, spec.replication_factor, topic_configs=spec.configs)


def _error_name(code: int) -> str:
    return str(for_code(code).__name__)


def _check(
    kind: str,
    entries: Sequence[tuple[Any, ...]],
    *,
    name_at: int,
    code_at: int,
    message_at: int,
    tolerate: int | None = None,
) -> None:
    """Raise on the first error code of a create/alter response (other than `tolerate`)."""
    for entry in entries:
        if entry[code_at] and entry[code_at] != tolerate:
            message = entry[message_at] if len(entry) > message_at else None
            raise TopicAdminError(
                f"{kind} {entry[name_at]!r} failed: {_error_name(entry[code_at])}"
                f"{': ' + message if message else ''}; check the ACLs of the Kafka user "
                "and the broker's topic policies"
            )


async def _describe(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, TopicState]:
    """The state of the topics among `names` that exist.

    All topics are listed (a metadata request for named topics may auto-create missing
    ones on brokers with `auto.create.topics.enable`), then configs are read for those.
    """
    wanted = set(names)
    listed = {t["topic"]: t for t in await admin.describe_topics() if t["topic"] in wanted}
    existing = sorted(name for name, t in listed.items() if not t.get("error_code"))
    if not existing:
        return {}
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in existing]
    )
    configs: dict[str, dict[str, str]] = {}
    overrides: dict[str, dict[str, str]] = {}
    for response in responses:
        for code, message, _type, name, entries in response.resources:
            if code:
                raise TopicAdminError(
                    f"cannot read the configs of {name!r}: {_error_name(code)} {message or ''}"
                    "; check the ACLs of the Kafka user (DescribeConfigs)"
                )
            configs[name] = {entry[0]: entry[1] for entry in entries if entry[1] is not None}
            overrides[name] = {
                entry[0]: entry[1]
                for entry in entries
                if len(entry) > 5 and entry[3] == DYNAMIC_TOPIC_CONFIG and entry[1] is not None
            }
    states: dict[str, TopicState] = {}
    for name in existing:
        partitions = listed[name]["partitions"]
        states[name] = TopicState(
            name,
            len(partitions),
            max((len(p["replicas"]) for p in partitions), default=0),
            configs.get(name, {}),
            overrides.get(name, {}),
        )
    return states


async def _wait_until_applied(admin: AIOKafkaAdminClient, plans: Sequence[TopicPlan]) -> None:
    """Wait until the cluster shows every change and new partitions have leaders.

    Brokers learn of new configs and partitions asynchronously (about a second on a
    single KRaft node): without waiting, a read right after `apply` (or a second
    `apply`) could still see the old state.
    """
    specs = {plan.spec.name: plan.spec for plan in plans}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_SECONDS
    while True:
        states = await _describe(admin, list(specs))
        led = {
            topic["topic"]: sum(p.get("leader", -1) >= 0 for p in topic.get("partitions", []))
            for topic in await admin.describe_topics(list(states))
        }
        pending = sorted(
            name
            for name, spec in specs.items()
            if not plan_topic(spec, states.get(name)).up_to_date
            or led.get(name, 0) < spec.partitions
        )
        if not pending:
            return
        if loop.time() > deadline:
            raise TopicAdminError(
                f"{', '.join(pending)} not updated after {READY_TIMEOUT_SECONDS:.0f}s "
                "(configs not visible or partitions without a leader); check the brokers"
            )
        await asyncio.sleep(0.2)


async def _execute(
    admin: AIOKafkaAdminClient, plans: Sequence[TopicPlan], say: Callable[[str], object]
) -> None:
    creates = [p.spec for p in plans if p.create]
    if creates:
        say(f"creating {topics_count(len(creates))}")
        response = await admin.create_topics(
            [_new_topic(s) for s in creates],
            timeout_ms=REQUEST_TIMEOUT_MS,
        )
        _check("creating topic", response.topic_errors, name_at=0, code_at=1, message_at=2)
    grows = [p for p in plans if p.add_partitions]
    if grows:
        say(f"adding partitions to {topics_count(len(grows))}")
        try:
            await admin.create_partitions(
                {p.spec.name: NewPartitions(p.spec.partitions) for p in grows},
                timeout_ms=REQUEST_TIMEOUT_MS,
            )
        except KafkaError as error:  # raised for the first topic the broker refused
            raise TopicAdminError(
                f"adding partitions failed: {error}; check the ACLs of the Kafka user"
            ) from error
    alters = [p for p in plans if p.config_changes]
    if alters:
        say(f"setting configs of {topics_count(len(alters))}")
        responses = await admin.alter_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, p.spec.name, p.alter_configs())
                for p in alters
            ]
        )
        for response in responses:
            _check("setting the configs of", response.resources, name_at=3, code_at=0, message_at=1)
    changed = [p for p in plans if not p.up_to_date]
    if changed:
        say(f"waiting until the cluster shows the changes of {topics_count(len(changed))}")
        await _wait_until_applied(admin, changed)


async def _wait_until_led(admin: AIOKafkaAdminClient, names: Sequence[str]) -> None:
    """Wait until every topic of `names` exists and each of its partitions has a leader."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_SECONDS
    wanted = set(names)
    while True:
        listed = {t["topic"]: t for t in await admin.describe_topics() if t["topic"] in wanted}
        pending = sorted(
            name
            for name in wanted
            if name not in listed
            or listed[name].get("error_code")
            or not listed[name].get("partitions")
            or any(p.get("leader", -1) < 0 for p in listed[name]["partitions"])
        )
        if not pending:
            return
        if loop.time() > deadline:
            raise TopicAdminError(
                f"{', '.join(pending)} not ready after {READY_TIMEOUT_SECONDS:.0f}s "
                "(missing or partitions without a leader); check the brokers"
            )
        await asyncio.sleep(0.2)


async def create_missing_topics(specs: Sequence[TopicSpec], kafka: KafkaSettings) -> list[str]:
    """Create the topics of `specs` that do not exist, then wait until all are led.

    What the worker does before it joins its group. Faust creates missing topics too,
    but does not wait for them: on a slow broker the first assignment then lacked the
    changelog topics ("Ignoring missing topic"), and the first table write crashed the
    worker ("changelog topic has 0 partitions"). Existing topics are left as they are
    (`apply_topics` changes them).

    Returns:
        list[str]: the names of the topics created.

    Raises:
        TopicAdminError: the broker refused to create a topic, or a topic has no leader.
        KafkaUnavailableError: the cluster cannot be reached.
    """
    admin = AIOKafkaAdminClient(**client_options(kafka), request_timeout_ms=REQUEST_TIMEOUT_MS)
    try:
        try:
            await admin.start()
            plans = plan_topics(specs, await _describe(admin, [s.name for s in specs]))
            missing = [p.spec for p in plans if p.create]
            if missing:
                response = await admin.create_topics(
                    [
                        NewTopic(
                            s.name, s.partitions, s.replication_factor, topic_configs=s.configs
                        )
                        for s in missing
                    ],
                    timeout_ms=REQUEST_TIMEOUT_MS,
                )
                _check("creating topic", response.topic_errors, name_at=0, code_at=1, message_at=2,
                       tolerate=TopicAlreadyExistsError.errno)  # fmt: skip
            await _wait_until_led(admin, [s.name for s in specs])
        except (KafkaError, TimeoutError) as error:
            raise KafkaUnavailableError(
                f"creating the topics on {kafka.bootstrap_servers} failed "
                f"({type(error).__name__}: {error}); check KAFKA_BOOTSTRAP_SERVERS, the "
                "credentials and the broker"
            ) from error
    finally:
        await admin.close()
    return [s.name for s in missing]


async def apply_topics(
    specs: Sequence[TopicSpec],
    kafka: KafkaSettings,
    *,
    dry_run: bool = False,
    progress: Callable[[str], object] | None = None,
) -> list[TopicPlan]:
    """Make the cluster's topics match `specs` (or, with `dry_run`, only say how).

    Args:
        specs (Sequence[TopicSpec]): the desired topics (`service_topics(...).all()`).
        kafka (KafkaSettings): the cluster and its security settings.
        dry_run (bool): plan only; change nothing. Defaults to False.
        progress (Callable | None): called with a line per step (for stderr).

    Returns:
        list[TopicPlan]: what was (or would be) done, one per spec in order.

    Raises:
        TopicRefusedError: a topic would have to shrink or change replication; nothing
            was changed.
        TopicAdminError: the broker refused a request.
        KafkaUnavailableError: the cluster cannot be reached.
    """
    say: Callable[[str], object] = progress or (lambda line: None)
    admin = AIOKafkaAdminClient(**client_options(kafka), request_timeout_ms=REQUEST_TIMEOUT_MS)
    try:
        try:
            await admin.start()
            say(f"reading {topics_count(len(specs))} from {kafka.bootstrap_servers}")
            plans = plan_topics(specs, await _describe(admin, [s.name for s in specs]))
            check_plans(plans)
            if not dry_run:
                await _execute(admin, plans, say)
        except (KafkaError, TimeoutError) as error:
            raise KafkaUnavailableError(
                f"topic administration on {kafka.bootstrap_servers} failed "
                f"({type(error).__name__}: {error}); check KAFKA_BOOTSTRAP_SERVERS, the "
                "credentials and the broker"
            ) from error
    finally:
        await admin.close()
    return plans
