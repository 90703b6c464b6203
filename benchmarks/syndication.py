"""Syndicated copies of real stories: the edits other sites make when they republish one.

Shared by the dedupe evaluation (`dedupe_eval.py`) and the throughput workload
(`workload.py`), so both measure against the same kind of copy. Stories are read at run
time from shared/ (nothing is stored in the repository); every random choice comes from
the `random.Random` passed in, so a seed gives the same copies.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from streams.core.textparse import parse_text

# Hand-written boilerplate of made-up sites (not taken from the data): header lines, footer lines.
SITES: list[tuple[list[str], list[str]]] = [
    (
        ["The Morning Ledger", "World | Politics | Business | Sport", "Advertisement"],
        [
            "Sign up for our newsletter to get the day's top stories every morning.",
            "© 2024 The Morning Ledger. All rights reserved.",
        ],
    ),
    (
        ["Share on Facebook", "Share on X", "Email this article"],
        [
            "Reporting by our wire service partners; editing by the news desk.",
            "Related: more stories from our world section",
        ],
    ),
    (
        ["Valley Courier Online", "Breaking news, weather and traffic"],
        [
            "Have a news tip? Contact the newsroom by email at any time.",
            "Copyright 2024 Valley Courier. This material may not be published, broadcast, "
            "rewritten or redistributed.",
        ],
    ),
    (
        ["Advertisement", "Story continues below advertisement"],
        ["Follow us on social media for the latest updates.", "Read more:"],
    ),
    (
        ["Global Wire Digest", "By Wire Staff"],
        [
            "This story was provided by a news agency and has not been edited by our staff.",
            "Comments are closed for this article.",
        ],
    ),
]


def split_paragraphs(body: str) -> list[str]:
    """Paragraphs of a body whose paragraphs are separated by blank lines (aeb-dev gold).

    Args:
        body (str): the text.

    Returns:
        list[str]: the non-empty paragraphs, stripped.
    """
    return [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]


def load_stories(shared: Path) -> dict[str, list[str]]:
    """Real stories to copy: aeb-dev gold bodies and the seed page's stories.

    Args:
        shared (Path): the shared/ folder (holds data/ and seed/).

    Returns:
        dict[str, list[str]]: story id (`aeb-<12 hex>`, `seed-<3>-<part>`) → paragraphs.
    """
    truth = json.loads((shared / "data" / "aeb-dev" / "ground-truth.json").read_text())
    stories: dict[str, list[str]] = {}
    for page_id, item in sorted(truth.items()):
        paragraphs = split_paragraphs(item["articleBody"])
        if paragraphs:
            stories[f"aeb-{page_id[:12]}"] = paragraphs
    for seed in sorted((shared / "seed").glob("*.txt")):
        for part in parse_text(seed.read_text(encoding="utf-8"), url=seed.as_uri()):
            stories[f"seed-{seed.stem[:3]}-{part.part_index}"] = list(part.paragraphs)
    return stories


def word_count(paragraphs: list[str]) -> int:
    """Whitespace-separated words in all paragraphs: the unit every share here is measured in."""
    return sum(len(p.split()) for p in paragraphs)


def add_typos(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Swap two inner letters of a few long words (one per ~250 words, 1-4).

    Args:
        paragraphs (list[str]): the story.
        rng (random.Random): source of every choice.

    Returns:
        list[str]: a new list; the input is not changed.
    """
    out = list(paragraphs)
    count = min(4, max(1, word_count(paragraphs) // 250))
    for _ in range(count):
        i = rng.randrange(len(out))
        words = out[i].split(" ")
        long = [j for j, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not long:
            continue
        j = rng.choice(long)
        w = words[j]
        k = rng.randrange(1, len(w) - 2)
        words[j] = w[:k] + w[k + 1] + w[k] + w[k + 2 :]
        out[i] = " ".join(words)
    return out


def restyle_quotes(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Turn curly quotes straight or straight ones curly (half each), as CMSs do.

    Args:
        paragraphs (list[str]): the story.
        rng (random.Random): picks the direction.

    Returns:
        list[str]: a new list; the input is not changed.
    """
    if rng.random() < 0.5:
        table = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
        return [p.translate(table) for p in paragraphs]
    return [re.sub(r'"([^"]*)"', r"“\1”", p).replace("'", "’") for p in paragraphs]


def drop_paragraphs(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Trim the tail to 60-90 % of the words, or drop middle paragraphs (≤ 20 % of words).

    Args:
        paragraphs (list[str]): the story; fewer than three paragraphs are kept as they are.
        rng (random.Random): source of every choice.

    Returns:
        list[str]: the kept paragraphs (the input list itself when nothing is dropped).
    """
    if len(paragraphs) < 3:
        return paragraphs
    total = word_count(paragraphs)
    if rng.random() < 0.5:  # trim the tail, as syndication usually does
        target = rng.uniform(0.6, 0.9) * total
        keep = 1
        while keep < len(paragraphs) and word_count(paragraphs[: keep + 1]) <= target:
            keep += 1
        return (
            paragraphs[: max(keep, 2)]
            if word_count(paragraphs[:keep]) >= 0.6 * total
            else paragraphs
        )
    out = list(paragraphs)
    for _ in range(2):
        i = rng.randrange(1, len(out))
        if word_count(out) - len(out[i].split()) >= 0.8 * total and len(out) > 2:
            del out[i]
    return out


def swap_paragraphs(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Swap two neighbouring paragraphs after the first (an editor's reordering).

    Args:
        paragraphs (list[str]): the story; fewer than three paragraphs are kept as they are.
        rng (random.Random): picks the pair.

    Returns:
        list[str]: the reordered paragraphs (the input list itself when too short).
    """
    if len(paragraphs) < 3:
        return paragraphs
    out = list(paragraphs)
    i = rng.randrange(1, len(out) - 1)
    out[i], out[i + 1] = out[i + 1], out[i]
    return out


def append_update(paragraphs: list[str], rng: random.Random, other: list[str]) -> list[str]:
    """Append an "UPDATE:" paragraph: the first 60 words of a paragraph of another story.

    Args:
        paragraphs (list[str]): the story.
        rng (random.Random): picks the paragraph of `other`.
        other (list[str]): another story's paragraphs.

    Returns:
        list[str]: a new list, one paragraph longer.
    """
    extra = " ".join(rng.choice(other).split()[:60])
    return [*paragraphs, f"UPDATE: {extra}"]


def add_headline(paragraphs: list[str], rng: random.Random) -> list[str]:
    """Put a rewritten headline first: the first paragraph's first nine words, shuffled.

    Args:
        paragraphs (list[str]): the story.
        rng (random.Random): shuffles the words.

    Returns:
        list[str]: a new list, one paragraph longer.
    """
    words = paragraphs[0].split()[:9]
    rng.shuffle(words)
    return [" ".join(words).capitalize(), *paragraphs]


def add_boilerplate(paragraphs: list[str], site: int) -> list[str]:
    """Wrap the story in a made-up site's header and footer lines.

    Args:
        paragraphs (list[str]): the story.
        site (int): index into `SITES`.

    Returns:
        list[str]: a new list: header, story, footer.
    """
    header, footer = SITES[site]
    return [*header, *paragraphs, *footer]


def syndicated_copy(
    paragraphs: list[str], rng: random.Random, other: list[str]
) -> tuple[list[str], str]:
    """A near copy: three random edits of the story, then boilerplate 70 % of the time.

    The edits are drop, reorder, update, typos, quotes and headline (see the functions
    above); together they keep a copy well above the dedupe threshold of its story.

    Args:
        paragraphs (list[str]): the story.
        rng (random.Random): source of every choice.
        other (list[str]): another story, for the "UPDATE:" paragraph.

    Returns:
        tuple[list[str], str]: the copy's paragraphs and its edits, sorted and joined by "+".
    """
    ops = rng.sample(["drop", "reorder", "update", "typos", "quotes", "headline"], k=3)
    out = list(paragraphs)
    for op in ops:
        if op == "drop":
            out = drop_paragraphs(out, rng)
        elif op == "reorder":
            out = swap_paragraphs(out, rng)
        elif op == "update":
            out = append_update(out, rng, other)
        elif op == "typos":
            out = add_typos(out, rng)
        elif op == "quotes":
            out = restyle_quotes(out, rng)
        else:
            out = add_headline(out, rng)
    if rng.random() < 0.7:
        out = add_boilerplate(out, rng.randrange(len(SITES)))
        ops.append("boilerplate")
    return out, "+".join(sorted(ops))
