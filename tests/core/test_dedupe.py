"""Dedupe decisions on hand-written stories: exact copies, near copies, clusters, retention."""

from __future__ import annotations

import datetime as dt

import pytest

from streams.core.config import CoreConfig
from streams.core.dedupe import Decision, DedupeIndex, candidate_keys, sketch_similarity
from streams.core.fingerprints import ShingleSketch, fingerprint, shingle_sketch

CONFIG = CoreConfig()
T0 = dt.datetime(2024, 10, 28, 9, 0, tzinfo=dt.UTC)

PARAGRAPHS = [
    "The city council voted on Tuesday to close the old harbour bridge to heavy lorries "
    "after engineers found cracks in two of its steel supports.",
    "The mayor said the closure would last at least six months while repairs are planned, "
    "and that buses would be rerouted through the northern ring road.",
    "Local businesses warned that the detour would add up to forty minutes to deliveries "
    "and asked the council for compensation during the works.",
    "The bridge, opened in 1932, carries about 18,000 vehicles a day according to the "
    "regional transport office, which will publish a traffic plan next week.",
    "Engineers said the cracks had probably been caused by decades of salt spray and by "
    "the growing weight of delivery vehicles crossing the river every morning.",
    "A public meeting on the closure will be held at the town hall on Thursday evening, "
    "where residents can put questions to the engineers and the transport office.",
]
STORY = "\n\n".join(PARAGRAPHS)
# Same topic, different story: shares one paragraph with STORY.
SAME_TOPIC = "\n\n".join(
    [
        "Hauliers staged a slow protest across the harbour bridge on Friday, a day before "
        "a ban on heavy lorries comes into force.",
        PARAGRAPHS[2],
        "Drivers said the ban would cost them business and accused the council of ignoring "
        "warnings about the state of the bridge for years.",
        "Police escorted the convoy of about forty trucks, and traffic on the ring road was "
        "slowed for more than an hour during the morning rush.",
        "The hauliers' association said it would challenge the decision in court unless the "
        "council agreed to let lighter delivery vans keep using the bridge.",
    ]
)


def _add(index: DedupeIndex, article_id: str, body: str, minutes: float = 0) -> Decision:
    seen_at = T0 + dt.timedelta(minutes=minutes)
    return index.add(article_id, fingerprint(body, CONFIG), shingle_sketch(body, CONFIG), seen_at)


def test_first_article_starts_its_own_cluster() -> None:
    decision = _add(DedupeIndex(CONFIG), "a", STORY)
    assert decision == Decision(duplicate_of=None, cluster_id="a", similarity=0.0, exact=False)


def test_exact_copy_reuses_the_first_id() -> None:
    index = DedupeIndex(CONFIG)
    _add(index, "a", STORY)
    reformatted = "  " + STORY.upper().replace("\n\n", "\n").replace(",", " ,") + "\n"
    decision = _add(index, "b", reformatted, minutes=5)
    assert decision == Decision(duplicate_of="a", cluster_id="a", similarity=1.0, exact=True)


def test_near_copy_with_a_paragraph_dropped_is_a_duplicate_of_the_first() -> None:
    index = DedupeIndex(CONFIG)
    _add(index, "a", STORY)
    trimmed = "\n\n".join(
        ["Harbour Gazette | Local news", *PARAGRAPHS[:3], *PARAGRAPHS[4:], "© Harbour Gazette"]
    )
    decision = _add(index, "b", trimmed.replace("Tuesday", "Tuesday night"), minutes=5)
    assert decision.duplicate_of == "a" and decision.cluster_id == "a"
    assert not decision.exact
    assert CONFIG.dedupe_threshold <= decision.similarity < 1.0


def test_tail_trimmed_copy_is_found_through_sketch_anchors() -> None:
    index = DedupeIndex(CONFIG)
    _add(index, "a", STORY)
    decision = _add(index, "b", "\n\n".join(PARAGRAPHS[:3]), minutes=5)
    assert decision.duplicate_of == "a"
    # Containment is 1 although Jaccard is only about a half.
    sim = sketch_similarity(shingle_sketch(STORY, CONFIG), shingle_sketch(PARAGRAPHS[0], CONFIG))
    assert sim.containment == pytest.approx(1.0) and sim.jaccard < 0.3


def test_different_story_on_the_same_topic_is_not_a_duplicate() -> None:
    index = DedupeIndex(CONFIG)
    _add(index, "a", STORY)
    decision = _add(index, "b", SAME_TOPIC, minutes=5)
    assert decision.duplicate_of is None and decision.cluster_id == "b"
    shared = sketch_similarity(shingle_sketch(STORY, CONFIG), shingle_sketch(SAME_TOPIC, CONFIG))
    assert 0.1 < shared.score < CONFIG.dedupe_threshold  # one shared paragraph


def test_copy_of_a_copy_joins_the_first_cluster() -> None:
    index = DedupeIndex(CONFIG)
    _add(index, "a", STORY)
    first_copy = "\n\n".join(PARAGRAPHS[:5])  # last paragraph dropped
    assert _add(index, "b", first_copy, minutes=1).cluster_id == "a"
    # Second-generation copy: drops more of the story and adds an update, so it is closer to
    # b than to a; it still joins a's cluster.
    update = "UPDATE: the council said on Wednesday that lorries under 7.5 tonnes may cross."
    second = "\n\n".join([*PARAGRAPHS[1:5], update])
    decision = _add(index, "c", second, minutes=2)
    assert decision.cluster_id == "a"
    assert decision.duplicate_of in {"a", "b"}


def test_chain_through_a_copy_that_no_longer_matches_the_first() -> None:
    index = DedupeIndex(CONFIG.model_copy(update={"dedupe_threshold": 0.9}))
    seen = T0
    index.add("a", fingerprint(STORY, CONFIG), shingle_sketch(STORY, CONFIG), seen)
    middle = "\n\n".join(PARAGRAPHS[:5])
    index.add("b", fingerprint(middle, CONFIG), shingle_sketch(middle, CONFIG), seen)
    last = "\n\n".join([*PARAGRAPHS[:5], SAME_TOPIC])  # b is contained, a only in part
    decision = index.add("c", fingerprint(last, CONFIG), shingle_sketch(last, CONFIG), seen)
    assert decision.duplicate_of == "b" and decision.cluster_id == "a"


def test_redelivered_article_gets_its_first_decision() -> None:
    index = DedupeIndex(CONFIG)
    _add(index, "a", STORY)
    first = _add(index, "b", STORY, minutes=1)
    assert _add(index, "b", STORY, minutes=30) == first
    assert len(index) == 2


def test_retention_evicts_old_entries() -> None:
    index = DedupeIndex(CONFIG)
    _add(index, "a", STORY)
    later = CONFIG.dedupe_retention.total_seconds() / 60 + 1
    decision = _add(index, "b", STORY, minutes=later)
    assert decision.duplicate_of is None and decision.cluster_id == "b"
    assert "a" not in index and len(index) == 1


def test_check_ignores_expired_entries_and_does_not_change_the_index() -> None:
    index = DedupeIndex(CONFIG.model_copy(update={"dedupe_retention": dt.timedelta(hours=1)}))
    _add(index, "a", STORY)
    fp, sketch = fingerprint(STORY, CONFIG), shingle_sketch(STORY, CONFIG)
    assert index.check("b", fp, sketch, T0 + dt.timedelta(minutes=59)).duplicate_of == "a"
    assert index.check("b", fp, sketch, T0 + dt.timedelta(minutes=61)).duplicate_of is None
    assert len(index) == 1
    assert index.expire(T0 + dt.timedelta(minutes=61)) == 1 and len(index) == 0


def test_decisions_do_not_depend_on_anything_but_the_input() -> None:
    runs = []
    for _ in range(2):
        index = DedupeIndex(CONFIG)
        runs.append([_add(index, aid, body) for aid, body in [("a", STORY), ("b", SAME_TOPIC)]])
    assert runs[0] == runs[1]


def test_state_per_article_is_small() -> None:
    index = DedupeIndex(CONFIG)
    _add(index, "a", STORY)
    # short body: every shingle kept; never more than ~1.9 KB at k = 256
    assert 500 < index.state_bytes("a") <= 1900


def test_sketch_keeps_the_smallest_hashes_and_round_trips() -> None:
    long_body = " ".join(f"word{i}" for i in range(1000))
    sketch = shingle_sketch(long_body, CONFIG)
    assert sketch.size == 996 and len(sketch.hashes) == CONFIG.dedupe_sketch_size
    assert list(sketch.hashes) == sorted(set(sketch.hashes))
    assert ShingleSketch.from_bytes(sketch.to_bytes()) == sketch
    assert len(sketch.to_bytes()) == 4 * (CONFIG.dedupe_sketch_size + 1)


def test_similarity_of_identical_disjoint_and_empty_bodies() -> None:
    a, b = shingle_sketch(STORY, CONFIG), shingle_sketch(SAME_TOPIC, CONFIG)
    assert sketch_similarity(a, a).score == pytest.approx(1.0)
    assert sketch_similarity(a, shingle_sketch("", CONFIG)).score == 0.0
    other = shingle_sketch("Astronomers reported a bright new comet visible next month.", CONFIG)
    assert sketch_similarity(a, other).score == 0.0
    assert sketch_similarity(a, b).score == pytest.approx(sketch_similarity(b, a).score)


def test_candidate_keys_are_band_keys_then_anchors() -> None:
    fp, sketch = fingerprint(STORY, CONFIG), shingle_sketch(STORY, CONFIG)
    keys = candidate_keys(fp, sketch, CONFIG)
    assert keys[: len(fp.lsh_bands)] == tuple(fp.lsh_bands)
    assert len(keys) == len(fp.lsh_bands) + CONFIG.dedupe_anchor_keys
    assert all(k.startswith("a:") for k in keys[len(fp.lsh_bands) :])


def test_restored_index_decides_like_the_original() -> None:
    config = CoreConfig(dedupe_retention=dt.timedelta(hours=2))
    bodies = [STORY, SAME_TOPIC, "\n\n".join(PARAGRAPHS[:4]), STORY, "\n\n".join(PARAGRAPHS[1:])]
    original = DedupeIndex(config)
    snapshots: dict[str, bytes] = {}
    for i, body in enumerate(bodies[:3]):
        aid = f"a{i}"
        original.add(aid, fingerprint(body, config), shingle_sketch(body, config),
                     T0 + dt.timedelta(minutes=i))  # fmt: skip
        snapshots[aid] = original.snapshot(aid)
    restored = DedupeIndex(config)
    restored.restore(reversed(list(snapshots.values())))
    assert len(restored) == len(original) == 3
    assert all(restored.snapshot(aid) == data for aid, data in snapshots.items())
    for i, body in enumerate(bodies[3:], start=3):
        args = (f"a{i}", fingerprint(body, config), shingle_sketch(body, config),
                T0 + dt.timedelta(minutes=i))  # fmt: skip
        assert restored.add(*args) == original.add(*args)
    assert restored.take_evicted() == original.take_evicted() == []
    later = T0 + dt.timedelta(hours=2, minutes=2)
    assert restored.expire(later) == original.expire(later) == 2
    assert restored.take_evicted() == original.take_evicted() == ["a0", "a1"]
    assert restored.take_evicted() == []
