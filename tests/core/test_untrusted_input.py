"""Untrusted input: no entity expansion, no file or network access, limits before parsing.

Pages come from the open web. A page's DOCTYPE may declare entities (billion laughs, an
external SYSTEM entity naming a local file or a URL) and its markup may nest without end;
none of it may expand, be read, be fetched or reach the parsers.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from lxml import etree

from streams.core.boilerplate import classify_line, is_crosshead
from streams.core.config import CoreConfig
from streams.core.decode import decode_event
from streams.core.htmlextract import load_tree
from streams.core.htmlparse import parse_html
from streams.core.limits import json_breach, markup_breach
from streams.core.parsing import parse_payloads
from streams.core.textparse import parse_text
from streams.models import ArticlePart, DeadLetter, RawEvent, RejectReason
from tests.core.fuzzing import FETCHED_AT, URL, forbid_network
from tests.core.pages import render_page, seed_page

CONFIG = CoreConfig()
STORY = (
    "The council said on Tuesday that the old bridge would close for repairs next month. "
    "Engineers found cracks in two of its supports during an inspection in September."
)
SECOND = (
    "Traffic will be sent across the new ring road while the work goes on, officials said, "
    "and buses will run every ten minutes between the two banks of the river."
)

# ------------------------------------------------------------------ a listening port


@dataclass
class Listener:
    """A real TCP port on 127.0.0.1 that records every connection made to it."""

    port: int
    connections: list[tuple[str, int]] = field(default_factory=list)

    def settle(self) -> list[tuple[str, int]]:
        """The connections seen, after giving late ones a moment to arrive."""
        time.sleep(0.2)
        return list(self.connections)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.05)
    seen = Listener(port=server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except TimeoutError:
                continue
            seen.connections.append(addr)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield seen
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_the_listener_sees_a_connection(listener: Listener) -> None:
    """The port check below can fail: a real connection is seen."""
    with socket.create_connection(("127.0.0.1", listener.port), timeout=2):
        pass
    assert len(listener.settle()) == 1


def test_the_guard_records_a_python_connection_attempt(listener: Listener) -> None:
    """The socket guard can fail too: it records (and refuses) a connection attempt."""
    with forbid_network() as network, pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", listener.port), timeout=2)
    assert network.attempts
    assert listener.settle() == []


# ------------------------------------------------------------------ hostile DOCTYPEs

SECRET = "TOP-SECRET-7f3a9c"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def _laughs() -> str:
    """The billion laughs: ten levels of ten references, 10^9 "lol"s when expanded."""
    lines = ['<!ENTITY lol0 "lol">']
    lines += [
        f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    ]
    return "\n".join(lines)


ATTACKS = ("laughs", "file", "network")


def hostile_page(secret: Path, port: int, *, attacks: tuple[str, ...], prolog: bool) -> str:
    """A news page whose DOCTYPE declares expanding, local-file and network entities."""
    base = f"http://127.0.0.1:{port}"
    declared = {
        "laughs": _laughs(),
        "file": f'<!ENTITY secret SYSTEM "file://{secret}">\n'
        '<!ENTITY host SYSTEM "file:///etc/hostname">',
        "network": f'<!ENTITY remote SYSTEM "{base}/entity">\n'
        f'<!ENTITY % dtd SYSTEM "{base}/evil.dtd"> %dtd;',
    }
    used = {"laughs": "&lol9;", "file": "&secret; &host;", "network": "&remote;"}
    refs = " ".join(used[a] for a in attacks)
    external_dtd = f' PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "{base}/xhtml1.dtd"'
    head = "<?xml version='1.0' encoding='utf-8'?>\n" if prolog else ""
    subset = "\n".join(declared[a] for a in attacks)
    doctype = f"<!DOCTYPE html{external_dtd if 'network' in attacks else ''} [\n{subset}\n]>\n"
    return (
        f"{head}{doctype}"
        '<html xmlns:xi="http://www.w3.org/2001/XInclude">'
        f"<head><title>Bridge to close {refs}</title>"
        f'<meta property="og:title" content="Bridge to close {refs}">'
        f'<meta name="author" content="{refs}">'
        f'<link rel="stylesheet" href="{base}/s.css"><script src="{base}/a.js"></script>'
        f'<base href="{base}/"><meta http-equiv="refresh" content="0; url={base}/r"></head>'
        f"<body><article><h1>Bridge to close {refs}</h1>"
        f"<p>{refs} {STORY}</p>"
        f'<img src="{base}/i.png" alt="{refs}"><iframe src="{base}/f"></iframe>'
        f'<object data="{base}/o"></object><xi:include href="file://{secret}"/>'
        f'<xi:include href="{base}/x" parse="text"/>'
        f"<p>{SECOND}</p></article></body></html>"
    )


def _hostname() -> str | None:
    try:
        name = Path("/etc/hostname").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if len(name) >= 4 else None


def _dump(parts: list[ArticlePart] | DeadLetter) -> str:
    if isinstance(parts, DeadLetter):
        return parts.model_dump_json()
    return "\n".join(part.model_dump_json() for part in parts)


@pytest.mark.parametrize("prolog", [True, False], ids=["xml-prolog", "no-prolog"])
@pytest.mark.parametrize("attacks", [(a,) for a in ATTACKS] + [ATTACKS], ids=[*ATTACKS, "all"])
def test_doctype_entities_are_never_expanded_read_or_fetched(
    listener: Listener, secret_file: Path, attacks: tuple[str, ...], prolog: bool
) -> None:
    html = hostile_page(secret_file, listener.port, attacks=attacks, prolog=prolog)
    payload = orjson.dumps({"url": URL, "fetched_at": FETCHED_AT, "html": html})
    hostname = _hostname()
    with forbid_network() as network:
        start = time.process_time()
        (parsed,) = parse_payloads([payload], config=CONFIG)
        direct = parse_html(html, url=f"http://127.0.0.1:{listener.port}/page", config=CONFIG)
        tree = load_tree(html)  # the tree every extractor reads
        elapsed = time.process_time() - start
    assert network.attempts == []
    assert listener.settle() == [], "a parser connected to a URL named in the page"
    assert tree is not None
    parsed_tree = etree.tostring(tree, encoding="unicode")
    output = "\n".join([_dump(parsed), *(repr(story) for story in direct), parsed_tree])
    assert SECRET not in output, "an external entity was read from a local file"
    if hostname is not None and hostname not in html:
        assert hostname not in output, "/etc/hostname was read"
    assert output.count("lol") < 100, "the billion laughs were expanded"
    assert not isinstance(parsed, DeadLetter), parsed.message
    assert STORY in parsed[0].body and SECOND in parsed[0].body  # the page itself still parses
    assert elapsed < 2.0


def test_entity_references_in_text_event_stay_text(secret_file: Path) -> None:
    text = f"Bridge to close\n\n&secret; {STORY}\n\n{SECOND}"
    payload = orjson.dumps({"url": URL, "fetched_at": FETCHED_AT, "text": text})
    (parsed,) = parse_payloads([payload], config=CONFIG)
    assert not isinstance(parsed, DeadLetter)
    assert SECRET not in _dump(parsed)


# ------------------------------------------------------------------ the markup scan


def _breach(html: str, depth: int = 10, tags: int = 1000) -> RejectReason | None:
    found = markup_breach(html, max_depth=depth, max_tags=tags)
    return found.reason if found is not None else None


def test_nesting_over_the_depth_limit_is_a_breach() -> None:
    assert _breach("<div>" * 10 + "x" + "</div>" * 10) is None
    assert _breach("<div>" * 11 + "x" + "</div>" * 11) == RejectReason.TOO_DEEP
    assert _breach("<div>" * 11) == RejectReason.TOO_DEEP  # never closed
    assert _breach("<div><SPAN>" * 6) == RejectReason.TOO_DEEP  # case and a cycle of tags


def test_closed_siblings_and_omitted_end_tags_do_not_nest() -> None:
    assert _breach("<div>x</div>" * 500) is None
    assert _breach("<p>para" * 500) is None  # <p> closes at the next <p>
    assert _breach("<ul>" + "<li>item" * 500 + "</ul>") is None
    assert _breach("<table>" + "<tr><td>cell" * 300 + "</table>") is None
    assert _breach("<br><img src=x><hr><input><meta><link>" * 100) is None
    assert _breach("<svg>" + "<path d='M0'/>" * 500 + "</svg>") is None


def test_an_end_tag_closes_what_was_left_open_inside() -> None:
    assert _breach("<div><span><b><i>x</div>" * 100) is None  # sloppy inline tags
    assert _breach("</div>" * 50 + "<div>" * 10) is None  # stray end tags
    assert _breach("<div>" + "<span>x</i>" * 20) == RejectReason.TOO_DEEP


def test_comments_and_raw_text_hide_no_elements_and_add_none() -> None:
    assert _breach("<!--" + "<div>" * 50 + "-->") is None
    assert _breach("<script>" + "document.write('<div>');" * 50 + "</script>") is None
    assert _breach("<style>" + "a<b{}" * 50 + "</STYLE >") is None
    # Never closed: the scan goes on after the start, so nothing can hide behind it.
    assert _breach("<!--" + "<div>" * 50) == RejectReason.TOO_DEEP
    assert _breach("<script>" + "<div>" * 50) == RejectReason.TOO_DEEP
    assert _breach("<textarea>" + "<div>" * 50) == RejectReason.TOO_DEEP


def test_more_tags_than_the_limit_is_a_breach() -> None:
    assert _breach("<br>" * 1000) is None
    assert _breach("<br>" * 1001) == RejectReason.TOO_MANY_TAGS
    assert _breach("<p>x</p>" * 500) is None
    assert _breach("<p>x</p>" * 501) == RejectReason.TOO_MANY_TAGS  # end tags count
    assert _breach("<!-- <br> -->" * 1001) == RejectReason.TOO_MANY_TAGS  # comments count
    assert _breach("<script><br><br></script>" * 1001) == RejectReason.TOO_MANY_TAGS
    assert _breach("<script>" + "<br>" * 5000 + "</script>") is None  # content is no tags
    assert _breach("a < b and c<2 " * 5000) is None  # "<" before a space or digit is text


@pytest.mark.parametrize(
    "unit",
    ["<!--", "<script>", "<style x", "<a", "<a/", "</", "<", "<!--<script>", "<title><", "-->"],
)
def test_the_scan_is_linear_on_adversarial_input(unit: str) -> None:
    """5 MB of an unfinished construct: every search resumes, none rescans the rest."""
    html = unit * (5 * 1024 * 1024 // len(unit))
    start = time.process_time()
    markup_breach(html, max_depth=CONFIG.max_html_depth, max_tags=CONFIG.max_html_tags)
    assert time.process_time() - start < 1.0


# ------------------------------------------------------------------ limits in the decoder


def _event(**fields: object) -> bytes:
    return orjson.dumps({"url": URL, "fetched_at": FETCHED_AT, **fields})


def test_deep_html_event_is_a_too_deep_dead_letter() -> None:
    depth = CONFIG.max_html_depth + 1
    letter = decode_event(_event(html="<div>" * depth + STORY), config=CONFIG)
    assert isinstance(letter, DeadLetter)
    assert letter.reason == RejectReason.TOO_DEEP
    assert letter.url == URL
    assert str(CONFIG.max_html_depth) in letter.message
    assert "STREAMS_CORE__MAX_HTML_DEPTH" in letter.message
    ok = decode_event(_event(html="<div>" * (depth - 1) + STORY), config=CONFIG)
    assert isinstance(ok, RawEvent)


def test_html_with_too_many_tags_is_a_dead_letter() -> None:
    letter = decode_event(_event(html="<br>" * (CONFIG.max_html_tags + 1)), config=CONFIG)
    assert isinstance(letter, DeadLetter)
    assert letter.reason == RejectReason.TOO_MANY_TAGS
    assert "STREAMS_CORE__MAX_HTML_TAGS" in letter.message
    assert letter.payload is not None and not letter.truncated


def test_json_nested_over_the_limit_is_a_too_deep_dead_letter() -> None:
    limit = CONFIG.max_json_depth
    nested: object = 1
    for _ in range(limit - 1):  # the event object itself is level 1
        nested = [nested]
    assert isinstance(decode_event(_event(text=STORY, x=nested), config=CONFIG), RawEvent)
    letter = decode_event(_event(text=STORY, x=[nested]), config=CONFIG)
    assert isinstance(letter, DeadLetter) and letter.reason == RejectReason.TOO_DEEP
    assert "STREAMS_CORE__MAX_JSON_DEPTH" in letter.message


def test_json_past_orjsons_own_limit_is_too_deep_not_invalid() -> None:
    payload = b'{"url":"u","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    letter = decode_event(payload, config=CONFIG)
    assert isinstance(letter, DeadLetter) and letter.reason == RejectReason.TOO_DEEP


def test_json_breach_walks_wide_and_deep_values() -> None:
    assert json_breach({"a": [1, {"b": [2]}]}, max_depth=4) is None
    assert json_breach({"a": [1, {"b": [[2]]}]}, max_depth=4) is not None
    assert json_breach(list(range(100_000)), max_depth=1) is None
    assert json_breach("plain", max_depth=1) is None


def test_over_limit_page_never_reaches_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_payloads dead-letters the page without calling lxml or trafilatura."""
    import streams.core.parsing as parsing

    def no_parse(*args: object, **kwargs: object) -> list[object]:
        raise AssertionError("the HTML parser ran on an over-limit page")

    monkeypatch.setattr(parsing, "parse_html", no_parse)
    html = "<section>" * (CONFIG.max_html_depth + 1) + f"<p>{STORY}</p>"
    (outcome,) = parse_payloads([_event(html=html, text=STORY)], config=CONFIG)
    assert isinstance(outcome, DeadLetter) and outcome.reason == RejectReason.TOO_DEEP


# ------------------------------------------------------------------ real pages pass


def _real_pages(data_dir: Path, seed_text: str) -> Iterator[tuple[str, str]]:
    yield "seed", render_page(seed_page(seed_text))
    for path in sorted((data_dir / "aeb-dev" / "html").glob("*.html.gz")):
        yield path.name, gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")


def test_real_pages_are_well_within_the_default_limits(data_dir: Path, seed_text: str) -> None:
    """No false positives: every development page passes at half the default limits."""
    pages = list(_real_pages(data_dir, seed_text))
    assert len(pages) > 50
    for name, html in pages:
        breach = markup_breach(
            html,
            max_depth=CONFIG.max_html_depth // 2,
            max_tags=CONFIG.max_html_tags // 2,
        )
        assert breach is None, f"{name}: {breach}"


# ------------------------------------------------------------------ regressions (fuzz finds)


def _cpu_seconds(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


@pytest.mark.parametrize(
    "line",
    [
        "-" * 30 + " x",  # was 2^29 splits of the dash run: minutes
        "x " + "-" * 30 + " y",
        "- Growing threats " + "-" * 5000 + " x",
        "=" * 40 + " Head " + "=" * 40 + "!",
    ],
)
def test_crosshead_check_is_fast_on_long_runs_of_marks(line: str) -> None:
    """boilerplate._CROSSHEAD nested repeats backtracked exponentially (14 s at 26 dashes)."""
    assert _cpu_seconds(lambda: is_crosshead(line)) < 0.5
    assert _cpu_seconds(lambda: parse_text(f"{line}\n\n{STORY}", url=URL)) < 0.5


def test_crosshead_rule_still_reads_crossheads() -> None:
    for line in ("- Growing threats -", "-- Growing threats --", "* * *", "— Crosshead —"):
        assert is_crosshead(line), line
    for line in ("-" * 30 + " x", "A sentence - with a dash - inside.", "x -"):
        assert not is_crosshead(line), line


def test_privacy_rule_is_fast_on_long_separator_runs() -> None:
    """The privacy-links rule backtracked quadratically over a run of separators (8 s)."""
    line = "Privacy policy" + " |" * 30_000 + " X"
    assert _cpu_seconds(lambda: classify_line(line)) < 0.5
    rule = classify_line("Privacy policy | Terms of use | Contact us")
    assert rule is not None and rule.category == "privacy"


def test_many_wrapped_lines_join_in_linear_time() -> None:
    """textparse joined hard-wrapped lines by re-searching the growing line (2.8 s at 8,000)."""
    text = "by and\n" * 64_000
    assert _cpu_seconds(lambda: parse_text(text, url=URL)) < 1.0
    (story,) = parse_text("The council said the bridge\nwould close next month.", url=URL)
    assert story.paragraphs == ("The council said the bridge would close next month.",)


def test_a_page_just_under_the_tag_limit_parses_within_a_second() -> None:
    """A CI fuzz find: 66,000 `<p>` in a meta tag took 6.6 s (trafilatura, 25-70 us a tag),
    under the old limit of 100,000 tags. At 20,000 a page just under the limit took 0.8 s
    alone but 1.5 s late in a full CI run; the limit is now 10,000."""
    story = "<p>NATO chief Mark Rutte said on Monday that the alliance stands with Ukraine.</p>"
    page = f"<html><head><meta name={'<p>' * 9_500}</head><body>{story}</body></html>"
    assert (
        markup_breach(page, max_depth=CONFIG.max_html_depth, max_tags=CONFIG.max_html_tags) is None
    )
    assert _cpu_seconds(lambda: parse_html(page, url=URL, config=CONFIG, source="News")) < 1.0
    over = f"<html><head><meta name={'<p>' * 66_000}</head><body>{story}</body></html>"
    event = orjson.dumps({"url": URL, "fetched_at": FETCHED_AT, "html": over})
    (letter,) = parse_payloads([event], config=CONFIG, origins=[{}])
    assert isinstance(letter, DeadLetter) and letter.reason == RejectReason.TOO_MANY_TAGS
