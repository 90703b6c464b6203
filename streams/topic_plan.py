"""Desired topic specs + what a cluster has → what `streams topics apply` will do.

Pure: the cluster's state comes in as `TopicState` values (read by `streams.topic_admin`),
so every decision (create, add partitions, set configs, refuse) is testable without a
broker. Kafka can add partitions but never remove them, and changing the replication
factor needs a partition reassignment: a plan that asks for either is refused as a whole,
so `apply` changes nothing rather than half of what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from streams.errors import StreamsError
from streams.topic_specs import TopicSpec

UNORDERED_LIST_CONFIGS = frozenset({"cleanup.policy"})
"""List-valued configs whose order means nothing (`compact,delete` = `delete,compact`)."""


class TopicRefusedError(StreamsError):
    """The settings ask for a change Kafka cannot make (nothing was changed)."""


@dataclass(frozen=True)
class TopicState:
    """A topic as the cluster has it.

    Args:
        name (str): topic name.
        partitions (int): partition count.
        replication_factor (int): replicas of its partitions.
        configs (dict[str, str]): effective value of every topic config.
        overrides (dict[str, str]): the configs set on the topic itself, which a
            non-incremental alter would otherwise reset.
    """

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """A change Kafka (or this command) cannot make: fewer partitions, other replication.

    Args:
        what (Literal): "partitions" or "replication".
        current (int): what the topic has.
        desired (int): what the settings ask for.
        setting (str | None): the variable that would keep the current value.
    """

    what: Literal["partitions", "replication"]
    current: int
    desired: int
    setting: str | None

    def reason(self) -> str:
        """Why it cannot be done, and what to do instead."""
        keep = f"set {self.setting}={self.current}" if self.setting else "keep it"
        if self.what == "partitions":
            return (
                f"cannot shrink from {self.current} to {self.desired} partitions: Kafka "
                f"cannot remove partitions ({keep}, or recreate the topic)"
            )
        return (
            f"cannot change replication factor {self.current} to {self.desired}: that needs "
            f"a partition reassignment (kafka-reassign-partitions.sh), which this command "
            f"does not do ({keep})"
        )


@dataclass(frozen=True)
class ConfigChange:
    """One config to set: its current effective value (None if unknown) and the new one."""

    name: str
    current: str | None
    desired: str


@dataclass(frozen=True)
class TopicPlan:
    """What to do with one topic.

    Args:
        spec (TopicSpec): the desired state.
        current (TopicState | None): the cluster's state (None: the topic is missing).
        config_changes (tuple[ConfigChange, ...]): configs that differ.
        refusals (tuple[Refusal, ...]): what cannot be done, if anything.
    """

    spec: TopicSpec
    current: TopicState | None
    config_changes: tuple[ConfigChange, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    @property
    def refusal(self) -> str | None:
        """Why the topic cannot be brought to its spec (None when it can)."""
        return "; ".join(r.reason() for r in self.refusals) or None

    @property
    def create(self) -> bool:
        """The topic is missing."""
        return self.current is None

    @property
    def add_partitions(self) -> bool:
        """The topic exists with fewer partitions than desired."""
        return self.current is not None and self.current.partitions < self.spec.partitions

    @property
    def up_to_date(self) -> bool:
        """Nothing to do."""
        return not (self.create or self.add_partitions or self.config_changes or self.refusal)

    def alter_configs(self) -> dict[str, str]:
        """The full config set to send: the topic's own overrides, then the desired ones.

        A non-incremental alter replaces every override of the topic, so overrides the
        service does not manage (set by an operator) are sent back unchanged.
        """
        overrides = self.current.overrides if self.current else {}
        return {**overrides, **self.spec.configs}

    def describe(self, *, dry_run: bool = False) -> str:
        """One line: the topic and what was (or, with `dry_run`, would be) done."""
        spec = self.spec
        if self.refusal:
            return f"{spec.name}: refused: {self.refusal}"
        if self.up_to_date:
            return f"{spec.name}: up to date"
        actions = []
        if self.create:
            configs = ", ".join(f"{k}={v}" for k, v in sorted(spec.configs.items()))
            verb = "would create" if dry_run else "created"
            actions.append(
                f"{verb} with {spec.partitions} partitions, replication "
                f"{spec.replication_factor} ({configs or 'broker defaults'})"
            )
        if self.add_partitions and self.current is not None:
            verb = "would add" if dry_run else "added"
            actions.append(
                f"{verb} partitions {self.current.partitions} -> {spec.partitions} (keys "
                "now map to other partitions: a key's new records may not follow its old ones)"
            )
        if self.config_changes:
            verb = "would set" if dry_run else "set"
            changes = ", ".join(
                f"{c.name}={c.desired} (was {c.current if c.current is not None else 'unset'})"
                for c in self.config_changes
            )
            actions.append(f"{verb} {changes}")
        return f"{spec.name}: " + "; ".join(actions)


def _normalized(name: str, value: str | None) -> str | None:
    if value is not None and name in UNORDERED_LIST_CONFIGS:
        return ",".join(sorted(part.strip() for part in value.split(",")))
    return value


def _refusals(spec: TopicSpec, current: TopicState) -> tuple[Refusal, ...]:
    refusals = []
    if current.partitions > spec.partitions:
        refusals.append(
            Refusal("partitions", current.partitions, spec.partitions, spec.partitions_setting)
        )
    if current.replication_factor != spec.replication_factor:
        refusals.append(
            Refusal(
                "replication",
                current.replication_factor,
                spec.replication_factor,
                "STREAMS_TOPICS__REPLICATION_FACTOR",
            )
        )
    return tuple(refusals)


def plan_topic(spec: TopicSpec, current: TopicState | None) -> TopicPlan:
    """What to do to make `current` (None: missing) match `spec`."""
    if current is None:
        return TopicPlan(spec, None)
    changes = tuple(
        ConfigChange(name, current.configs.get(name), desired)
        for name, desired in sorted(spec.configs.items())
        if _normalized(name, current.configs.get(name)) != _normalized(name, desired)
    )
    return TopicPlan(spec, current, changes, _refusals(spec, current))


def plan_topics(specs: Sequence[TopicSpec], existing: Mapping[str, TopicState]) -> list[TopicPlan]:
    """A plan per spec, in the specs' order."""
    return [plan_topic(spec, existing.get(spec.name)) for spec in specs]


def check_plans(plans: Sequence[TopicPlan]) -> None:
    """Refuse the whole plan when any topic asks for what Kafka cannot do.

    Raises:
        TopicRefusedError: one line, topics grouped by refusal; nothing may be changed.
    """
    grouped: dict[Refusal, list[str]] = {}
    for plan in plans:
        for refusal in plan.refusals:
            grouped.setdefault(refusal, []).append(plan.spec.name)
    if grouped:
        problems = [f"{', '.join(names)}: {r.reason()}" for r, names in grouped.items()]
        raise TopicRefusedError("; ".join(problems) + "; nothing was changed")


def topics_count(count: int) -> str:
    """`1 topic`, `12 topics`."""
    return f"{count} topic{'' if count == 1 else 's'}"


def summary(plans: Sequence[TopicPlan], *, dry_run: bool = False) -> str:
    """`12 topics: 2 created, 1 changed, 9 up to date` (or `all 12 topics up to date`)."""
    created = sum(plan.create for plan in plans)
    current = sum(plan.up_to_date for plan in plans)
    changed = len(plans) - created - current
    total = topics_count(len(plans))
    if current == len(plans):
        return f"all {total} up to date"
    if dry_run:
        return (
            f"{total}: {created} to create, {changed} to change, {current} up to date "
            "(dry run: nothing changed)"
        )
    return f"{total}: {created} created, {changed} changed, {current} up to date"
