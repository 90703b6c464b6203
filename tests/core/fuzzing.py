"""Shared pieces of the fuzz tests (`test_fuzz_*.py`): input strategies and the per-input budget.

Every fuzz input must end as stories or a dead letter (never an exception, never a
`processing_error`, which is a caught crash), within `SECONDS_PER_INPUT`, with a Python
heap peak under `memory_bound(size)`, and without any attempt to open a connection.
Runs are reproducible: `FUZZ` derandomizes hypothesis and keeps no example database.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from streams.core.document import ParsedArticle

T = TypeVar("T")
R = TypeVar("R")

SECONDS_PER_INPUT = 1.0
"""CPU time one input may take (measured without tracing; see `run_within_budget`). CPU
time, not wall time, so that other processes on a shared CI machine cannot fail a run."""
TIME_RETRIES = 3
"""Untraced runs again of an input over its time; the fastest counts (a shared VM's stolen
cycles show up as CPU time too)."""
HARD_STOP_SECONDS = 10
"""An input still running after this much CPU time is stopped, so the test fails naming it."""
MEMORY_BASE_BYTES = 8 * 1024 * 1024
MEMORY_PER_INPUT_BYTE = 64
"""Heap peak allowed per input: MEMORY_BASE_BYTES + MEMORY_PER_INPUT_BYTE x its size."""
MEMORY_RETRIES = 2
"""Runs again of an input over the memory bound; only the last peak counts."""

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
"""Reproducible settings: the same inputs on every run (CI and locally)."""

URL = "https://www.example-news.test/world/story.html"
FETCHED_AT = "2024-10-28T10:00:00Z"


def memory_bound(size: int) -> int:
    """Largest Python heap peak (bytes) allowed while handling an input of `size` bytes."""
    return MEMORY_BASE_BYTES + MEMORY_PER_INPUT_BYTE * size


@dataclass
class NetworkLog:
    """Connection attempts seen while the guard is on (parsers may swallow the error)."""

    attempts: list[str] = field(default_factory=list)


@contextmanager
def forbid_network() -> Iterator[NetworkLog]:
    """Make every Python-level connect, DNS lookup or socket connection fail and record it."""
    log = NetworkLog()
    saved = {
        "connect": socket.socket.connect,
        "connect_ex": socket.socket.connect_ex,
        "create_connection": socket.create_connection,
        "getaddrinfo": socket.getaddrinfo,
    }

    def refuse(name: str) -> Callable[..., Any]:
        def attempt(*args: Any, **kwargs: Any) -> Any:
            log.attempts.append(f"{name}{args[1:] if name.startswith('connect') else args}")
            raise ConnectionRefusedError(f"fuzz guard: {name} is forbidden while parsing")

        return attempt

    socket.socket.connect = refuse("connect")  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse("connect_ex")  # type: ignore[method-assign]
    socket.create_connection = refuse("create_connection")  # type: ignore[assignment]
    socket.getaddrinfo = refuse("getaddrinfo")  # type: ignore[assignment]
    try:
        yield log
    finally:
        socket.socket.connect = saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = saved["connect_ex"]  # type: ignore[method-assign]
        socket.create_connection = saved["create_connection"]  # type: ignore[assignment]
        socket.getaddrinfo = saved["getaddrinfo"]  # type: ignore[assignment]


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Silence logging while fuzzing: trafilatura logs on most junk input, and pytest keeps
    every record in one growing buffer, whose copies would show up as heap peaks."""
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


class InputTookTooLong(Exception):
    """Raised in the test thread when one input runs past `HARD_STOP_SECONDS`."""


@contextmanager
def _hard_stop(seconds: int) -> Iterator[None]:
    """Raise `InputTookTooLong` after `seconds` of CPU time (SIGPROF: pytest-timeout keeps
    SIGALRM for itself)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise InputTookTooLong(f"still running after {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@dataclass
class Budget:
    """Worst figures seen so far by one fuzz test (printed with `-s`; see the README)."""

    name: str
    inputs: int = 0
    total_seconds: float = 0.0
    slowest_seconds: float = 0.0
    largest_peak: int = 0
    largest_size: int = 0
    slowest_input: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)
    """How inputs ended: "stories" or a dead letter's reason."""

    def report(self) -> str:
        ends = ", ".join(f"{kind} {n}" for kind, n in self.outcomes.most_common())
        return (
            f"{self.name}: {self.inputs} inputs, {self.total_seconds:.1f} s CPU in the code "
            f"under test (traced: tracemalloc slows lxml-heavy code several times), slowest "
            f"{self.slowest_seconds * 1000:.0f} ms, largest heap peak "
            f"{self.largest_peak / 1024:.0f} KiB, largest input {self.largest_size / 1024:.0f} KiB"
            + (f"; ended as: {ends}" if ends else "")
            + f"; slowest input: {self.slowest_input}"
        )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} characters)"


def _traced(fn: Callable[[T], R], value: T) -> tuple[R, float, int]:
    """`fn(value)`, its CPU seconds and its Python heap peak in bytes."""
    tracemalloc.start()
    try:
        start = time.process_time()
        result = fn(value)
        elapsed = time.process_time() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, elapsed, peak


def run_within_budget(
    budget: Budget,
    fn: Callable[[T], R],
    value: T,
    *,
    size: int,
    seconds: float = SECONDS_PER_INPUT,
) -> R:
    """Call `fn(value)` traced, and fail naming the input if it breaks the budget.

    Time is the process's CPU time. The heap peak comes from tracemalloc (Python
    allocations only: lxml's own C memory is not traced). An input over the memory bound
    is run again (`MEMORY_RETRIES`) and only the last peak counts: a library filling a
    cache on first use is not memory per input (htmldate's dateparser compiles the
    patterns of its 205 locales on the first date-like string none of them reads:
    ~40 MB, once per process).
    Tracing slows the code, so an input over its time is run again untraced
    (`TIME_RETRIES`) and the fastest run counts.

    Args:
        budget (Budget): accumulates the figures of this test.
        fn (Callable): the code under test.
        value: the input.
        size (int): the input's size in bytes, for the memory bound.
        seconds (float): time allowed (a batch gets one `SECONDS_PER_INPUT` per input).

    Returns:
        what `fn` returned.
    """
    bound = memory_bound(size)
    with forbid_network() as network, _hard_stop(max(HARD_STOP_SECONDS, 2 * int(seconds))):
        result, elapsed, peak = _traced(fn, value)
        for _ in range(MEMORY_RETRIES):  # a cache filled on first use is not filled again
            if peak <= bound:
                break
            _, elapsed, peak = _traced(fn, value)
        for _ in range(TIME_RETRIES):  # the best of a few untraced runs: noise passes, work stays
            if elapsed <= seconds:
                break
            start = time.process_time()
            fn(value)
            elapsed = min(elapsed, time.process_time() - start)
    assert not network.attempts, f"connection attempted: {network.attempts} for {_show(value)}"
    assert elapsed <= seconds, f"took {elapsed:.2f} s CPU (> {seconds} s) for {_show(value)}"
    assert peak <= bound, f"heap peak {peak} B over {bound} B for {_show(value)}"
    budget.inputs += 1
    budget.total_seconds += elapsed
    if elapsed > budget.slowest_seconds:
        budget.slowest_seconds = elapsed
        budget.slowest_input = f"{_show(value)[:100]} ({size} bytes)"
    budget.largest_peak = max(budget.largest_peak, peak)
    budget.largest_size = max(budget.largest_size, size)
    return result


def check_stories(stories: list[ParsedArticle], budget: Budget) -> None:
    """What every parser returns: stories in order, each with trimmed non-empty paragraphs."""
    assert isinstance(stories, list)
    budget.outcomes[f"{min(len(stories), 2)}{'+' if len(stories) > 1 else ''} stories"] += 1
    for index, story in enumerate(stories):
        assert isinstance(story, ParsedArticle)
        assert story.part_index == index
        assert story.paragraphs
        assert all(p and p.strip() == p for p in story.paragraphs)


# ------------------------------------------------------------------ text pieces

WEIRD_SPACE = st.sampled_from(
    [" ", "  ", "\t", "\n", "\n\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u00a0", "\u1680",
     "\u2000", "\u2007", "\u200a", "\u200b", "\u200c", "\u200d", "\u2028", "\u2029", "\u202f",
     "\u205f", "\u2060", "\u3000", "\ufeff", "\u00ad", "\x00", "\x1f", "\x7f", "\x9f"]
)  # fmt: skip
QUOTES = st.sampled_from(
    ['"', "'", "“", "”", "„", "‟", "‘", "’", "‚", "‛", "«", "»", "‹", "›", "「", "」",
     "『", "』", "〝", "〞", "＂", "`", "´", "''", '""', "“”", "‘’"]
)  # fmt: skip
ODD_CHARS = st.sampled_from(
    ["\u0301", "\u0338", "e\u0301", "\u200e", "\u200f", "\u202e", "\u2066", "\u2069",
     "ﬁ", "ß", "İ", "ǅ", "Σ", "ς", "Ⅻ", "①", "٣", "१", "\U0001f600", "\U0001f1fa\U0001f1f8",
     "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\ufffd", "\uffff", "\U0010ffff", "\u0000",
     "＜", "＞", "—", "–", "‐", "…", "·", "•", "§", "©", "®", "™", "°", "€", "₹", "%"]
)  # fmt: skip
NEWS_LINES = st.sampled_from(
    ["Space News", "SUPERPOWERS", "WORLD", "Leaders meet at summit, officials say",
     "By Jane Doe and John Smith", "by AFP Staff Writers", "By", "By ,", "by and",
     "Brussels, Belgium (AFP) Oct 28, 2024", "Paris (AFP) Feb 30, 2024",
     "Washington (AFP) Oct 28, 2024 - Troops were sent on Monday.",
     "LONDON (Reuters) - Prices rose.", "WASHINGTON —", "(AFP) -", "Oct 28, 2024",
     "28/10/2024", "2024-13-45", "9999-12-31T25:61:61Z", "Jan 0, 0000", "- Growing threats -",
     "Related Links", "RELATED CONTENT", "Subscribe Free To Our Daily Newsletters", "Tweet",
     "Copyright 2024 Example. All rights reserved.", "The leader wants to use ... read more",
     '"The enemy understands strength," the minister said on Tuesday.',
     "“We will not back down,” she told reporters, adding that 10,000 troops were ready.",
     "The council said more than 3,000 people had been moved, according to officials.",
     "and the talks went on", "Advertisement", "SEE MORE:", "Read more", "Share this article"]
)  # fmt: skip
WORDS = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    NEWS_LINES,
    QUOTES,
    ODD_CHARS,
    WEIRD_SPACE,
)
LINE = st.lists(WORDS, max_size=12).map(" ".join)


@st.composite
def repeated(draw: st.DrawFn, unit: st.SearchStrategy[str], *, max_chars: int) -> str:
    """A short unit repeated up to `max_chars` characters: finds quadratic behaviour."""
    piece = draw(unit) or "x"
    times = draw(st.integers(1, max(1, max_chars // len(piece))))
    return piece * times


RUNS = st.builds(
    lambda head, unit, times, tail: head + unit * times + tail,
    st.sampled_from(["", " ", "- ", "x ", "Privacy policy", "Home", "Share", "By ",
                     "LONDON (AFP) ", "Paris, ", "Subscribe ", "Related: "]),
    st.sampled_from(["-", "—", "–", "*", "•", "=", "#", "_", "~", ".", "·", " ", "- ", "'", '"',
                     "“", "(", ")", ",", ":", "A", "a", "1", "A.", "By ", "and ", " |", "| ",
                     " » ", "Home | ", "x", "Tweet ", "share "]),
    st.integers(1, 300),
    st.one_of(st.just(""), st.sampled_from([" x", " -", "!", " Growing threats -"]), LINE),
)  # fmt: skip
"""A run of one character or word with something around it: backtracking regexes."""

TEXT_PAGES = st.one_of(
    RUNS,
    st.lists(st.one_of(RUNS, LINE), max_size=6).map("\n".join),
    st.text(max_size=400),
    st.lists(st.one_of(LINE, NEWS_LINES, WEIRD_SPACE), max_size=40).map("\n".join),
    st.lists(st.one_of(LINE, NEWS_LINES), max_size=20).map("\r\n".join),
    st.lists(st.one_of(QUOTES, WORDS, NEWS_LINES), max_size=60).map("".join),
    repeated(st.one_of(WORDS, QUOTES, WEIRD_SPACE, NEWS_LINES.map(lambda s: s + "\n")),
             max_chars=60_000),
)  # fmt: skip
"""Scraped-text pages: arbitrary text, news-shaped lines with odd whitespace and quotes,
and long repeats (one line of 60,000 characters, thousands of lines)."""

# ------------------------------------------------------------------ HTML pieces

TAGS = st.sampled_from(
    ["html", "head", "body", "title", "meta", "link", "base", "div", "p", "span", "a", "b",
     "i", "em", "strong", "br", "hr", "img", "h1", "h2", "h3", "ul", "ol", "li", "dl", "dt",
     "dd", "table", "thead", "tbody", "tr", "td", "th", "caption", "blockquote", "q", "pre",
     "code", "article", "section", "header", "footer", "nav", "aside", "main", "figure",
     "figcaption", "time", "address", "form", "input", "select", "option", "textarea",
     "button", "label", "script", "style", "noscript", "template", "iframe", "object",
     "embed", "svg", "path", "math", "mi", "xmp", "plaintext", "frameset", "frame", "font",
     "center", "marquee", "x-widget", "my:tag", "DIV", "P", "Script", "lb", "graphic", "ref",
     "doc", "head", "list", "item", "row", "cell", "quote"]
)  # fmt: skip
ATTR_NAMES = st.one_of(
    st.sampled_from(
        ["class", "id", "href", "src", "lang", "xml:lang", "xmlns", "style", "alt", "content",
         "property", "name", "http-equiv", "itemprop", "itemtype", "datetime", "rel", "charset",
         "data-x", "onload", "srcset", "type", "role", "hidden"]
    ),
    st.text(alphabet="abcxyz-:_0123456789", min_size=1, max_size=8),
)  # fmt: skip
ATTR_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["caption", "article", "story-body", "byline", "en", "en-US", "xx-yy-zz", "fr_FR",
         "http://127.0.0.1:9/x", "file:///etc/hostname", "javascript:alert(1)", "//evil/x",
         "og:title", "article:published_time", "2024-10-28", "0000-00-00", "author",
         "content-language", "text/html; charset=utf-16", "\x00", "&quot;", "&#0;", "'", '"']
    ),
    repeated(st.sampled_from(["a", "é", "&amp;", " ", "\"'", "<p>", "\U0001f600"]),
             max_chars=2_000),
)  # fmt: skip
HUGE_VALUES = repeated(
    st.sampled_from(["a", "é", "&amp;", " ", "\"'", "<p>", "\U0001f600", "x y ", "&#"]),
    max_chars=100_000,
)
"""Attribute values up to 100,000 characters."""


def _huge_attribute(tag: str, name: str, value: str, quote: str) -> str:
    return (
        f"<html><head><meta {name}={quote}{value}{quote}></head><body><article>"
        f"<{tag} {name}={quote}{value}{quote}><p>Officials said the talks would go on.</p>"
        f"</{tag}></article></body></html>"
    )


HUGE_ATTRIBUTES = st.builds(_huge_attribute, TAGS, ATTR_NAMES, HUGE_VALUES,
                            st.sampled_from(['"', "'", ""]))  # fmt: skip
"""A page whose meta and one element carry a huge attribute (quoted or not)."""
ENTITIES = st.sampled_from(
    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&nbsp;", "&shy;", "&#0;", "&#x0;",
     "&#9;", "&#128;", "&#x80;", "&#1114111;", "&#1114112;", "&#xD800;", "&#xDFFF;",
     "&#99999999999999999999;", "&#x110000;", "&unknown;", "&xxe;", "&", "&#", "&#x;",
     "&amp", "&notin", "&notit;", "&lt;script&gt;", "&#60;b&#62;"]
)  # fmt: skip
SPECIALS = st.sampled_from(
    ["<!-- comment -->", "<!--", "-->", "<!-->", "<!--->", "<!-- -- -->", "<![CDATA[x<y]]>",
     "<![CDATA[", "]]>", "<?xml version='1.0' encoding='utf-16'?>", "<?php echo 1; ?>",
     "<!DOCTYPE html>", "<!doctype html public '-//W3C//DTD HTML 4.01//EN'>",
     "<!DOCTYPE html [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>",
     "<!DOCTYPE html SYSTEM 'http://127.0.0.1:9/x.dtd'>", "</", "<", ">", "<a<b", "</div",
     "<div", "<p/>", "<br/>", "</br>", "</p>", "<///>", "<a href='x'", "\x00",
     "<script>var s = '</scr' + 'ipt><div>';</script>", "<script><!--", "<style>p{}</style>",
     "<title>T</title>", "<template><p>inside</p></template>", "<svg><path d='M0'/></svg>",
     "<meta property='og:title' content='Title'>",
     "<meta name='date' content='2024-10-28'>", "<html lang='en'>", "</html>", "</body>",
     "<body>", "<head>", '<script type="application/ld+json">{"@type":"NewsArticle",'
     '"headline":"H","datePublished":"2024-10-28","author":{"name":"A"}}</script>',
     '<script type="application/ld+json">{"@graph": [[[[{}]]]], "author": []}</script>',
     '<script type="application/ld+json">{</script>']
)  # fmt: skip
HTML_TEXT = st.one_of(
    st.text(max_size=40), NEWS_LINES, ENTITIES, ODD_CHARS, WEIRD_SPACE, QUOTES, RUNS
)


def _element(tag: str, attrs: list[tuple[str, str]], children: list[str], ending: str) -> str:
    quoted = "".join(f' {name}="{value}"' for name, value in attrs)
    inner = "".join(children)
    if ending == "self":
        return f"<{tag}{quoted}/>{inner}"
    if ending == "open":
        return f"<{tag}{quoted}>{inner}"
    if ending == "upper":
        return f"<{tag}{quoted}>{inner}</{tag.upper()}>"
    return f"<{tag}{quoted}>{inner}</{tag}>"


ELEMENTS = st.recursive(
    st.one_of(HTML_TEXT, SPECIALS),
    lambda children: st.builds(
        _element,
        TAGS,
        st.lists(st.tuples(ATTR_NAMES, ATTR_VALUES), max_size=3),
        st.lists(children, max_size=6),
        st.sampled_from(["close", "close", "close", "open", "self", "upper"]),
    ),
    max_leaves=40,
)


def _document(head: list[str], body: list[str], doctype: str, wrap: bool) -> str:
    if not wrap:
        return doctype + "".join(body)
    return f"{doctype}<html><head>{''.join(head)}</head><body>{''.join(body)}</body></html>"


HTML_DOCUMENTS = st.builds(
    _document,
    st.lists(st.one_of(SPECIALS, ELEMENTS), max_size=4),
    st.lists(st.one_of(ELEMENTS, st.lists(NEWS_LINES, min_size=1, max_size=5).map(
        lambda lines: "".join(f"<p>{line}</p>" for line in lines))), max_size=8),
    st.sampled_from(["", "<!DOCTYPE html>", "<?xml version='1.0'?>", "\ufeff", "  \n"]),
    st.booleans(),
)  # fmt: skip
"""Random documents: nested tags, attributes, entities, comments, scripts, CDATA."""


@st.composite
def deep_markup(draw: st.DrawFn, *, max_depth: int) -> str:
    """Markup nested up to `max_depth` deep: one tag or a cycle of tags, closed or not."""
    tags = draw(st.lists(TAGS, min_size=1, max_size=4))
    depth = draw(st.integers(1, max_depth))
    attr = draw(st.sampled_from(["", " class='x'", " id=a", "/"]))
    text = draw(st.sampled_from(["", "x", "Officials said the talks would go on. " * 3]))
    opened = "".join(f"<{tags[i % len(tags)]}{attr}>" for i in range(depth))
    closed = draw(st.booleans())
    closing = "".join(f"</{tags[i % len(tags)]}>" for i in reversed(range(depth))) if closed else ""
    return opened + text + closing


UNICODE_HTML = st.builds(
    lambda parts: "<html><body><article>" + "".join(parts) + "</article></body></html>",
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
            ODD_CHARS, WEIRD_SPACE, QUOTES, ENTITIES,
            st.lists(st.one_of(ODD_CHARS, NEWS_LINES, QUOTES), max_size=10).map(
                lambda p: "<p>" + " ".join(p) + "</p>"),
        ),
        max_size=30,
    ),
)  # fmt: skip
"""Pages of unicode edge cases: combining marks, bidi controls, astral, NUL, odd spaces."""

HTML_PAGES = st.one_of(
    HTML_DOCUMENTS,
    HUGE_ATTRIBUTES,
    UNICODE_HTML,
    st.text(max_size=300),
    repeated(st.one_of(SPECIALS, ENTITIES, st.sampled_from(["<p>x", "<div>", "</div>", "<a>"])),
             max_chars=8_000),
)  # fmt: skip


# ------------------------------------------------------------------ events


def event_bytes(fields: dict[str, Any]) -> bytes:
    """The JSON bytes of an event dictionary (orjson refuses what JSON cannot carry)."""
    try:
        return orjson.dumps(fields)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(fields, default=str).encode("utf-8", "surrogatepass")


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "url": st.one_of(st.just(URL), st.text(max_size=30), JSON_VALUES),
    "fetched_at": st.one_of(
        st.just(FETCHED_AT),
        st.sampled_from(["2024-10-28", "2024-10-28T10:00:00+14:00", "0001-01-01T00:00:00Z",
                         "9999-12-31T23:59:59Z", "2024-02-30T00:00:00Z", "yesterday", "",
                         "1730109600", "2024-10-28T10:00:00.123456789Z"]),
        st.integers(-(2**63), 2**63), st.floats(), JSON_VALUES,
    ),
    "html": st.one_of(HTML_DOCUMENTS, st.text(max_size=50), JSON_VALUES),
    "text": st.one_of(TEXT_PAGES, JSON_VALUES),
    "source": st.one_of(st.none(), st.text(max_size=20), JSON_VALUES),
    "language": st.one_of(st.none(), st.sampled_from(["en", "EN", "xx", "", "en-US"]), JSON_VALUES),
    "headers": st.one_of(st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
                         JSON_VALUES),
    "crawler": st.one_of(st.text(max_size=10), JSON_VALUES),
}  # fmt: skip
"""Per event field: a valid value, odd values and values of the wrong JSON type."""


@st.composite
def json_events(draw: st.DrawFn) -> dict[str, Any]:
    """Event objects with a random subset of fields, some of the wrong type, plus extras."""
    event: dict[str, Any] = {}
    for name, values in FIELD_VALUES.items():
        if draw(st.integers(0, 9)) < (8 if name in ("url", "fetched_at") else 4):
            event[name] = draw(values)
    for _ in range(draw(st.integers(0, 2))):
        event[draw(st.text(max_size=8))] = draw(JSON_VALUES)
    return event


@st.composite
def mutated(draw: st.DrawFn, payloads: st.SearchStrategy[bytes]) -> bytes:
    """A payload with a few bytes flipped, cut, inserted or a slice repeated."""
    data = bytearray(draw(payloads))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if action == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[where : where + draw(st.integers(1, 8))]
        elif action == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif action == "repeat":
            data[where:where] = data[where : where + 16] * draw(st.integers(1, 50))
        else:
            del data[where:]
    return bytes(data)


def deep_json(depth: int, kind: str) -> bytes:
    """An event whose extra field nests `depth` arrays or objects (or the payload itself)."""
    if kind == "bare":
        return ("[" * depth + "]" * depth).encode()
    opened, closed = (
        ("[" * depth, "]" * depth) if kind == "array" else ('{"a":' * depth, "}" * depth)
    )
    inner = f"{opened}1{closed}"
    head = f'{{"url":"{URL}","fetched_at":"{FETCHED_AT}","text":"Officials said so.","x":'
    return (head + inner + "}").encode()


PAYLOADS = st.one_of(
    st.binary(max_size=500),
    st.builds(event_bytes, json_events()),
    mutated(st.builds(event_bytes, json_events())),
    st.builds(deep_json, st.integers(1, 3000), st.sampled_from(["array", "object", "bare"])),
    st.text(max_size=200).map(lambda s: s.encode("utf-8")),
)
"""Raw event messages: arbitrary bytes, JSON-shaped events with random fields and types,
mutated events and deeply nested JSON."""
