"""Planning `streams topics apply` from specs and a cluster's state (no broker)."""

from __future__ import annotations

import pytest

from streams.topic_plan import (
    TopicRefusedError,
    TopicState,
    check_plans,
    plan_topic,
    plan_topics,
    summary,
)
from streams.topic_specs import Role, TopicSpec

SPEC = TopicSpec(
    "articles",
    4,
    1,
    {"cleanup.policy": "compact", "max.message.bytes": "8388608"},
    Role.OUTPUT,
    "STREAMS_TOPICS__PARTITIONS",
)
DEFAULTS = {"cleanup.policy": "delete", "max.message.bytes": "1048588", "segment.ms": "604800000"}


def _state(partitions: int = 4, replicas: int = 1, **configs: str) -> TopicState:
    overrides = {k.replace("_", "."): v for k, v in configs.items()}
    return TopicState("articles", partitions, replicas, {**DEFAULTS, **overrides}, overrides)


def test_missing_topic_is_created() -> None:
    plan = plan_topic(SPEC, None)
    assert plan.create and not plan.up_to_date
    assert plan.describe() == (
        "articles: created with 4 partitions, replication 1 "
        "(cleanup.policy=compact, max.message.bytes=8388608)"
    )
    assert plan.describe(dry_run=True).startswith("articles: would create with 4 partitions")


def test_matching_topic_is_up_to_date() -> None:
    plan = plan_topic(SPEC, _state(cleanup_policy="compact", max_message_bytes="8388608"))
    assert plan.up_to_date
    assert plan.describe() == "articles: up to date"


def test_cleanup_policy_order_does_not_matter() -> None:
    spec = TopicSpec("t", 1, 1, {"cleanup.policy": "delete,compact"})
    state = TopicState("t", 1, 1, {"cleanup.policy": "compact,delete"})
    assert plan_topic(spec, state).up_to_date


def test_configs_that_differ_are_set_keeping_the_operators_overrides() -> None:
    plan = plan_topic(SPEC, _state(segment_ms="3600000", max_message_bytes="8388608"))
    assert [(c.name, c.current, c.desired) for c in plan.config_changes] == [
        ("cleanup.policy", "delete", "compact")
    ]
    assert plan.alter_configs() == {
        "segment.ms": "3600000",
        "max.message.bytes": "8388608",
        "cleanup.policy": "compact",
    }
    assert plan.describe() == "articles: set cleanup.policy=compact (was delete)"


def test_fewer_partitions_are_added_with_a_warning_about_keys() -> None:
    plan = plan_topic(SPEC, _state(2, cleanup_policy="compact", max_message_bytes="8388608"))
    assert plan.add_partitions and not plan.create and not plan.config_changes
    assert plan.describe().startswith("articles: added partitions 2 -> 4 (keys now map")


def test_shrinking_or_changing_replication_is_refused_for_the_whole_plan() -> None:
    other = TopicSpec("claims", 4, 1, {})
    plans = plan_topics(
        [SPEC, other],
        {"articles": _state(6, 3), "claims": TopicState("claims", 4, 1, {})},
    )
    refusal = plans[0].refusal or ""
    assert "cannot shrink from 6 to 4 partitions" in refusal
    assert "set STREAMS_TOPICS__PARTITIONS=6" in refusal
    assert "cannot change replication factor 3 to 1" in refusal
    assert plans[0].describe().startswith("articles: refused: cannot shrink")
    assert plans[1].up_to_date
    with pytest.raises(TopicRefusedError, match="nothing was changed") as raised:
        check_plans(plans)
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("articles: cannot shrink")


def test_refusals_are_grouped_into_one_line() -> None:
    specs = [TopicSpec(name, 2, 1, {}, Role.OUTPUT, "STREAMS_TOPICS__PARTITIONS") for name in "ab"]
    states = {name: TopicState(name, 4, 1, {}) for name in "ab"}
    with pytest.raises(TopicRefusedError) as raised:
        check_plans(plan_topics(specs, states))
    assert str(raised.value) == (
        "a, b: cannot shrink from 4 to 2 partitions: Kafka cannot remove partitions "
        "(set STREAMS_TOPICS__PARTITIONS=4, or recreate the topic); nothing was changed"
    )


def test_summary_says_up_to_date_when_nothing_is_to_do() -> None:
    current = _state(cleanup_policy="compact", max_message_bytes="8388608")
    assert summary([plan_topic(SPEC, current)]) == "all 1 topic up to date"
    plans = [plan_topic(SPEC, None), plan_topic(SPEC, current), plan_topic(SPEC, _state())]
    assert summary(plans) == "3 topics: 1 created, 1 changed, 1 up to date"
    assert "dry run" in summary(plans, dry_run=True)
