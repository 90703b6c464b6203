"""A realistic event stream for the throughput benchmark, built at run time from real pages.

Nothing is stored in the repository: the originals are read from shared/ each time (aeb-dev
HTML pages, the seed page, polnear-dev and conll2003-dev stories as scraped text). When more
originals are needed than these, "variants" of the real text stories are made in which every
line is altered (names swapped, numbers changed, about a fifth of the other words replaced),
so no paragraph repeats verbatim and a variant is not a near duplicate of its source: a
service that caches work by exact content must not gain from the padding.

On top of the originals: `copy_share` syndicated copies, half exact (same HTML or text under
another URL) and half near copies (`benchmarks.syndication` edits of the story's text), each
placed at a random later position than its original; and `bad_share` inputs the service must
reject (not UTF-8, not JSON, no content, a wrong type, a page with no article text).
Deterministic for a seed; every value is at most 900 KB (the broker's default limit is 1 MB).

    .venv/bin/python benchmarks/workload.py [--data ../shared] [--events 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

if __package__ in (None, ""):  # run as `python benchmarks/workload.py`: find `benchmarks`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.syndication import SITES, add_boilerplate, split_paragraphs, syndicated_copy

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = ROOT.parent / "shared"
MAX_VALUE_BYTES = 900 * 1024
"""Largest event value: below the broker's default 1 MB message limit, with headroom."""
KINDS = ("original", "exact_copy", "near_copy", "bad")
BAD_KINDS = ("not_utf8", "invalid_json", "no_content", "wrong_type", "no_article")
START = datetime(2024, 10, 28, 6, 0, tzinfo=UTC)
SECONDS_PER_EVENT = 1.5
"""Mean gap between two events' `fetched_at` (the stream is in fetch order, with jitter)."""

# Made-up publishers (reserved .example domain) that syndicate stories or publish variants.
SYNDICATORS = [
    "www.morning-ledger.example",
    "news.valley-courier.example",
    "www.global-wire-digest.example",
    "www.harbour-times.example",
    "www.northern-gazette.example",
    "www.daily-bulletin.example",
    "metro.evening-post.example",
    "www.capital-observer.example",
]
SECTIONS = ["world", "politics", "business", "news", "sport", "us", "europe", "tech"]
# Hosts of the real stories' publishers (polnear-dev's publisher field; conll is Reuters).
PUBLISHERS = {
    "breitbart": "www.breitbart.com",
    "huff-post": "www.huffingtonpost.com",
    "nyt": "www.nytimes.com",
    "politico": "www.politico.com",
    "usa-today": "www.usatoday.com",
    "wash-post": "www.washingtonpost.com",
    "west-journ": "www.westernjournalism.com",
}
# A page whose content would load by JavaScript: title, scripts, an image, no text.
_APP_SHELL = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
    '<meta name="viewport" content="width=device-width">'
    '<link rel="stylesheet" href="/static/app.{build}.css"></head>'
    '<body><div id="root"></div><div class="ad-slot"><img src="/ads/{build}.gif" alt=""></div>'
    "<script>window.__STATE__ = {state};</script>"
    '<script src="/static/app.{build}.js" defer></script></body></html>'
)
_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$")
_SENTENCE_END = (".", "!", "?", ":", '"', "“", "”")


@dataclass(frozen=True)
class WorkloadEvent:
    """One Kafka message of the workload, with what it is (for checking the results)."""

    key: bytes | None  # the Kafka key: the event's URL as UTF-8 (None for some bad inputs)
    value: bytes  # the Kafka value (raw event JSON bytes, or bad bytes)
    kind: str  # "original" | "exact_copy" | "near_copy" | "bad"
    story: str  # id of the original story it tells ("" for bad)


@dataclass(frozen=True)
class Original:
    """An original story: its content as crawled and its paragraphs for near copies."""

    story: str
    url: str
    content: str  # "html" | "text": which event field holds `body`
    body: str
    paragraphs: tuple[str, ...]


def _lines(text: str) -> list[str]:
    """Non-empty lines, stripped: the unit of "paragraph" for scraped text."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _slug(text: str, words: int = 7) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:words]) or "story"


def _fit_html(html: str) -> str:
    """The page, with inline styles and then scripts emptied if its event would pass 900 KB.

    Four aeb-dev pages carry over 600 KB of inline CSS and JavaScript; the article text is
    untouched, and extraction ignores both elements anyway.
    """
    limit = MAX_VALUE_BYTES - 4096  # room for url, fetched_at and JSON escapes
    for tag in ("style", "script"):
        if len(orjson.dumps(html)) <= limit:
            break
        html = re.sub(rf"(?is)(<{tag}\b[^>]*>).*?(</{tag}>)", r"\1\2", html)
    return html


def load_originals(shared: Path) -> list[Original]:
    """The real originals, in a fixed order: aeb-dev HTML, seed, polnear-dev, conll2003-dev.

    Args:
        shared (Path): the shared/ folder (holds data/ and seed/).

    Returns:
        list[Original]: 61 HTML pages and 301 scraped-text stories.
    """
    data = shared / "data"
    truth = json.loads((data / "aeb-dev" / "ground-truth.json").read_text(encoding="utf-8"))
    originals = []
    for page_id, item in sorted(truth.items()):
        raw = gzip.decompress((data / "aeb-dev" / "html" / f"{page_id}.html.gz").read_bytes())
        originals.append(
            Original(
                story=f"aeb-{page_id[:12]}",
                url=item["url"],
                content="html",
                body=_fit_html(raw.decode("utf-8")),
                paragraphs=tuple(split_paragraphs(item["articleBody"])),
            )
        )
    for seed in sorted((shared / "seed").glob("*.txt")):
        text = seed.read_text(encoding="utf-8")
        url = f"https://www.spacewar.example/reports/{_slug(_lines(text)[2])}.html"
        originals.append(Original(f"seed-{seed.stem[:3]}", url, "text", text, (*_lines(text),)))
    for line in (data / "polnear-dev" / "polnear_dev.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        date = row["publication_date"].replace("-", "/")
        host = PUBLISHERS.get(row["publisher"], f"www.{row['publisher']}.com")
        url = f"https://{host}/{date}/{row['id'].split('_', 2)[-1]}/"
        text = row["text"]
        originals.append(Original(f"polnear-{row['id']}", url, "text", text, (*_lines(text),)))
    for line in (data / "conll2003-dev" / "docs.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        text = row["text"]
        url = f"https://www.reuters.com/article/1996/08/{_slug(text, 6)}-{row['id']}"
        originals.append(Original(f"conll-{row['id']}", url, "text", text, (*_lines(text),)))
    return originals


def _split_token(token: str) -> tuple[str, str, str]:
    """Leading punctuation, the word, trailing punctuation."""
    match = _TOKEN.fullmatch(token)
    if match is None:  # cannot happen: every part of the pattern may be empty
        return "", token, ""
    return match.group(1), match.group(2), match.group(3)


def _case_like(word: str, model: str) -> str:
    if len(model) > 1 and model.isupper():
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word.lower()


def _renumber(core: str, rng: random.Random) -> str:
    """Every digit replaced (the first one stays non-zero), so the number always changes."""
    while True:
        digits = [
            str(rng.randrange(1 if i == 0 and c != "0" else 0, 10)) if c.isdigit() else c
            for i, c in enumerate(core)
        ]
        new = "".join(digits)
        if new != core:
            return new


def _names(text: str) -> list[str]:
    """Capitalised words inside sentences (mostly proper names), in order of appearance."""
    found: dict[str, None] = {}
    for line in _lines(text):
        tokens = line.split()
        for prev, token in itertools.pairwise(tokens):
            core = _split_token(token)[1]
            if (
                len(core) >= 3
                and core.isalpha()
                and core[0].isupper()
                and not core.isupper()
                and not prev.endswith(_SENTENCE_END)
            ):
                found[core] = None
    return list(found)


def _alter_line(
    line: str,
    rng: random.Random,
    names: dict[str, str],
    vocabulary: tuple[list[str], list[str]],
    share: float,
) -> str:
    """One line with names swapped, every number changed and `share` of other words replaced.

    A token longer than 20 characters (a run of Japanese text, a long compound) gets
    `share` of its letters replaced instead, so the line keeps its length.
    """
    words, letters = vocabulary
    out = []
    for token in line.split(" "):
        pre, core, post = _split_token(token)
        if not core:
            out.append(token)
            continue
        key = core.title() if core.isupper() else core
        if any(c.isdigit() for c in core):
            core = _renumber(core, rng)
        elif key in names:
            core = _case_like(names[key], core)
        elif len(core) > 20:
            core = "".join(
                rng.choice(letters) if c.isalpha() and rng.random() < share else c for c in core
            )
        elif rng.random() < share:
            core = _case_like(rng.choice(words), core)
        out.append(pre + core + post)
    return " ".join(out)


def make_variant(
    text: str, rng: random.Random, name_pool: Sequence[str], seen: set[str] | None = None
) -> str:
    """A different story of the same shape: every line of a real text altered.

    About 70 % of the proper names are swapped (consistently) for names from `name_pool`,
    every number is changed and about 20 % of the other words are replaced by words of the
    same text; a line that comes out unchanged or already in `seen` is altered again, more
    strongly. Word 5-gram Jaccard against the source is typically 0.1-0.2.

    Args:
        text (str): the source story (lines and blank lines are kept where they are).
        rng (random.Random): source of every choice.
        name_pool (Sequence[str]): replacement proper names.
        seen (set[str] | None): stripped lines already used anywhere; the new lines are added.

    Returns:
        str: the variant, with the same number of lines and about the same length.
    """
    seen = seen if seen is not None else set()
    words = [w.lower() for w in re.findall(r"[^\W\d_]{3,}", text)] or ["news"]
    letters = [c for c in text if c.isalpha()] or ["a"]
    names = {n: rng.choice(name_pool) for n in _names(text) if rng.random() < 0.7}
    out = []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            out.append(line)
            continue
        new = stripped
        for attempt in range(12):
            new = _alter_line(stripped, rng, names, (words, letters), 0.2 + 0.1 * attempt)
            if new != stripped and new not in seen:
                break
        while new == stripped or new in seen:  # a line of punctuation only, or bad luck
            new = f"{new} {rng.choice(words)}"
        seen.add(new)
        out.append(line.replace(stripped, new, 1))
    return "\n".join(out)


def _bad_value(
    reason: str, rng: random.Random, url: str, fetched_at: str, donor: Original
) -> tuple[bytes | None, bytes]:
    """Key and value of an input the service must reject for `reason` (see BAD_KINDS)."""
    key: bytes | None = url.encode()
    snippet = "\n\n".join(donor.paragraphs[:3])
    if reason == "not_utf8":  # a crawler that sent Windows-1252 or UTF-16
        text = f"“{snippet}” — ©"
        raw = json.dumps({"url": url, "fetched_at": fetched_at, "text": text}, ensure_ascii=False)
        codec = rng.choice(["cp1252", "utf-16"])
        return key, raw.encode(codec, errors="replace")
    if reason == "invalid_json":  # a truncated message
        raw = json.dumps({"url": url, "fetched_at": fetched_at, "text": snippet})
        cut = rng.randrange(len(raw) // 10, len(raw) * 9 // 10)
        return rng.choice([key, None]), raw[:cut].encode()
    if reason == "no_content":
        options: list[dict[str, Any]] = [
            {"url": url, "fetched_at": fetched_at},
            {"url": url, "fetched_at": fetched_at, "text": "  \n "},
            {"url": url, "fetched_at": fetched_at, "html": "", "text": None},
        ]
        return key, orjson.dumps(rng.choice(options))
    if reason == "wrong_type":
        which = rng.randrange(5)
        if which == 0:
            return None, orjson.dumps([{"url": url, "fetched_at": fetched_at, "text": snippet}])
        event: dict[str, Any] = {"url": url, "fetched_at": fetched_at, "text": snippet}
        if which == 1:
            event["text"] = rng.randrange(10**6)
        elif which == 2:
            event = {"url": url, "fetched_at": fetched_at, "html": [snippet]}
        elif which == 3:
            event["url"] = rng.randrange(10**6)
        else:
            event["fetched_at"] = rng.choice(["yesterday", "28/10/2024 06:00", ""])
        return key, orjson.dumps(event)
    state = json.dumps(
        {"slots": [{"id": f"{rng.getrandbits(64):016x}"} for _ in range(rng.randrange(5, 400))]}
    )
    build = f"{rng.getrandbits(32):08x}"
    title = SITES[rng.randrange(len(SITES))][0][0]
    html = _APP_SHELL.format(title=title, build=build, state=state)
    return key, orjson.dumps({"url": url, "fetched_at": fetched_at, "html": html})


def build_workload(
    shared: Path,
    events: int = 2000,
    *,
    seed: int = 7,
    copy_share: float = 0.30,
    bad_share: float = 0.03,
) -> list[WorkloadEvent]:
    """The event stream: originals, later syndicated copies and bad inputs, interleaved.

    Args:
        shared (Path): the shared/ folder (holds data/ and seed/).
        events (int): number of events. Defaults to 2000.
        seed (int): seed of every random choice. Defaults to 7.
        copy_share (float): share of copies, half exact and half near. Defaults to 0.30.
        bad_share (float): share of inputs the service must reject. Defaults to 0.03.

    Returns:
        list[WorkloadEvent]: in the order to produce them; every value ≤ 900 KB.

    Raises:
        ValueError: when the shares leave no room for originals.
    """
    rng = random.Random(seed)
    n_bad = round(events * bad_share)
    n_copies = round(events * copy_share)
    n_originals = events - n_bad - n_copies
    if n_originals < 1 or n_bad < 0 or n_copies < 0:
        raise ValueError(f"no originals left: {events} events, {n_copies} copies, {n_bad} bad")

    real = load_originals(shared)
    if n_originals <= len(real):
        originals = rng.sample(real, n_originals)
    else:
        originals = [*real, *_variants(real, n_originals - len(real), rng)]
        rng.shuffle(originals)

    # Sort keys: an original sits at its index, a copy a random lag after its original.
    mean_lag = max(3.0, n_originals / 10)
    slots: list[tuple[float, int, str, int]] = [
        (float(i), 0, "original", i) for i in range(n_originals)
    ]
    for n in range(n_copies):
        i = rng.randrange(n_originals)
        lag = rng.expovariate(1 / mean_lag)
        place = i + lag if i + lag < n_originals else rng.uniform(i, n_originals)
        slots.append((place, 1, "exact_copy" if n % 2 == 0 else "near_copy", i))
    for n in range(n_bad):
        slots.append((rng.uniform(0, n_originals), 2, "bad", n))
    slots.sort()

    bad_reasons = [BAD_KINDS[n % len(BAD_KINDS)] for n in range(n_bad)]
    rng.shuffle(bad_reasons)
    workload = []
    for position, (_, _, kind, index) in enumerate(slots):
        seconds = position * SECONDS_PER_EVENT + rng.uniform(0, SECONDS_PER_EVENT)
        fetched_at = (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")
        fetched_at = fetched_at.replace("+00:00", "Z")
        host = rng.choice(SYNDICATORS)
        if kind == "bad":
            url = f"https://{host}/{rng.choice(SECTIONS)}/item-{position}"
            key, value = _bad_value(bad_reasons[index], rng, url, fetched_at, rng.choice(originals))
            workload.append(WorkloadEvent(key, value, kind, ""))
            continue
        original = originals[index]
        if kind == "original":
            url, field, body = original.url, original.content, original.body
        else:
            url = f"https://{host}/{rng.choice(SECTIONS)}/2024/10/28/"
            url += f"{_slug(original.paragraphs[0])}-{position}"
            field, body = original.content, original.body
            if kind == "near_copy":
                field, body = "text", _near_copy(original, originals, rng)
        value = orjson.dumps({"url": url, "fetched_at": fetched_at, field: body})
        workload.append(WorkloadEvent(url.encode(), value, kind, original.story))

    too_big = [e.key for e in workload if len(e.value) > MAX_VALUE_BYTES]
    if too_big:  # a bug: _fit_html keeps every page below the limit
        raise RuntimeError(f"events over {MAX_VALUE_BYTES} bytes: {too_big[:3]}")
    return workload


def _near_copy(original: Original, originals: Sequence[Original], rng: random.Random) -> str:
    """The story's paragraphs (gold body for HTML pages) edited as a syndicating site would."""
    paragraphs = list(original.paragraphs)
    other = rng.choice(originals).paragraphs or ("More details were not immediately available.",)
    copy, _ = syndicated_copy(paragraphs, rng, list(other))
    if copy == paragraphs:  # the edits changed nothing (a short story): add a site's lines
        copy = add_boilerplate(copy, rng.randrange(len(SITES)))
    return "\n\n".join(copy)


def _variants(real: Sequence[Original], count: int, rng: random.Random) -> list[Original]:
    """`count` variants of the real text stories (each used about equally often)."""
    bases = [o for o in real if o.content == "text" and not o.story.startswith("seed-")]
    bases += [  # aeb-dev gold bodies as scraped text
        Original(o.story, o.url, "text", "\n\n".join(o.paragraphs), o.paragraphs)
        for o in real
        if o.content == "html"
    ]
    # Every line of every real text (HTML pages: their gold paragraphs) and the site lines.
    seen = {line for o in bases for line in _lines(o.body)}
    seen |= {line for o in real for line in o.paragraphs}
    seen |= {line for header, footer in SITES for line in (*header, *footer)}
    name_pool = sorted({n for o in bases for n in _names(o.body)})
    variants = []
    order: list[Original] = []
    for n in range(count):
        if n % len(bases) == 0:
            order = rng.sample(bases, len(bases))
        base = order[n % len(bases)]
        text = make_variant(base.body, rng, name_pool, seen)
        story = f"{base.story}~v{n // len(bases) + 1}"
        host = rng.choice(SYNDICATORS)
        url = f"https://{host}/{rng.choice(SECTIONS)}/{_slug(text)}-v{n}"
        variants.append(Original(story, url, "text", text, (*_lines(text),)))
    return variants


def _bad_reason(value: bytes) -> str:
    """Which BAD_KINDS a bad value is (the checks of the service's decoder, cheapest first)."""
    try:
        data = json.loads(value.decode("utf-8"))
    except UnicodeDecodeError:
        return "not_utf8"
    except ValueError:
        return "invalid_json"
    if not isinstance(data, dict):
        return "wrong_type"
    html, text = data.get("html"), data.get("text")
    if isinstance(text, str) and text.strip():
        return "wrong_type"  # text is fine, so another field is wrong
    if isinstance(html, str) and html.strip():
        return "no_article"
    if (html is None or isinstance(html, str)) and (text is None or isinstance(text, str)):
        return "no_content"
    return "wrong_type"


def _percentile(sorted_values: Sequence[int], share: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, round(share * (len(sorted_values) - 1)))]


def describe(workload: Sequence[WorkloadEvent]) -> dict[str, Any]:
    """What the workload holds, for the benchmark's report and for checking it by eye.

    Args:
        workload (Sequence[WorkloadEvent]): the events.

    Returns:
        dict[str, Any]: counts per kind, content field and bad reason, value sizes (bytes)
        and the number of distinct stories (all, and by source of the originals).
    """
    kinds = Counter(e.kind for e in workload)
    content = Counter(
        "html" if "html" in orjson.loads(e.value) else "text" for e in workload if e.kind != "bad"
    )
    bad = Counter(_bad_reason(e.value) for e in workload if e.kind == "bad")
    sizes = sorted(len(e.value) for e in workload)
    sources = Counter(
        "variant" if "~v" in e.story else e.story.split("-")[0]
        for e in workload
        if e.kind == "original"
    )
    return {
        "events": len(workload),
        "kinds": {k: kinds[k] for k in KINDS},
        "shares": {k: round(kinds[k] / max(1, len(workload)), 4) for k in KINDS},
        "content": dict(sorted(content.items())),
        "bad_reasons": dict(sorted(bad.items())),
        "originals_by_source": dict(sorted(sources.items())),
        "value_bytes": {
            "p50": _percentile(sizes, 0.5) if sizes else 0,
            "p95": _percentile(sizes, 0.95) if sizes else 0,
            "max": sizes[-1] if sizes else 0,
            "total": sum(sizes),
        },
        "stories": len({e.story for e in workload if e.story}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_SHARED, help="the shared/ folder")
    parser.add_argument("--events", type=int, default=2000, help="number of events")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = parser.parse_args()
    print(json.dumps(describe(build_workload(args.data, args.events, seed=args.seed)), indent=2))


if __name__ == "__main__":
    main()
