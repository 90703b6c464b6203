"""Entities: spaCy's named entities, cleaned, relabelled and grouped under canonical names.

Published labels (`streams.models.EntityLabel`): PERSON, ORG, NORP, EVENT, PRODUCT,
WORK_OF_ART, LAW, LANGUAGE, DATE, TIME, MONEY, QUANTITY and PERCENT as spaCy gives them;
GPE, LOC and FAC become PLACE; CARDINAL and ORDINAL are dropped (numbers live in claim
quantities).

The small model's spans need work before they are worth publishing, so each step below
is one small function, run in this order:

1. spans: doc.ents with mapped labels; a PERSON ending in a name particle ("Ursula von
   der") takes in the surname the model split off ("Leyen").
2. clean: split at line breaks, and PERSON/ORG/PLACE spans also at free-standing scores,
   dashes and brackets ("Pohang 3 Ulsan 2"); drop leading "the" and honorifics,
   possessive "'s", edge punctuation, trailing figures, conjunctions and lowercase
   common nouns ("N.Korean troop").
3. relabel: the gazetteer turns places tagged PRODUCT/ORG/PERSON into PLACE (with care
   for names that are also people) and demonyms tagged as places into NORP. Then
   untagged repeats of names tagged elsewhere in the document, and untagged known
   places and demonyms, are added; layout decides a few labels: a city or state before
   a score and the names of a results row are teams (ORG), a name with a country in
   brackets in a list is a person, and the parts of a dateline are places.
4. resolve: canonical names: aliases ("US" -> "United States"), surnames to the full
   name in the same document ("Rutte" -> "Mark Rutte"), acronyms to their long form.
5. group: one label per name (majority of its mentions), entities in order of first
   mention, each with its mentions in order.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from spacy.tokens import Doc, Token

from streams.core.gazetteer import Gazetteer, load_gazetteer
from streams.models import Entity, EntityLabel, Mention

LABELS: dict[str, EntityLabel] = {
    "PERSON": "PERSON",
    "ORG": "ORG",
    "NORP": "NORP",
    "EVENT": "EVENT",
    "PRODUCT": "PRODUCT",
    "WORK_OF_ART": "WORK_OF_ART",
    "LAW": "LAW",
    "LANGUAGE": "LANGUAGE",
    "DATE": "DATE",
    "TIME": "TIME",
    "MONEY": "MONEY",
    "QUANTITY": "QUANTITY",
    "PERCENT": "PERCENT",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
}
"""spaCy label -> published label; labels missing here (CARDINAL, ORDINAL) are dropped."""

NAME_LABELS: frozenset[str] = frozenset(
    {"PERSON", "ORG", "PLACE", "NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
"""Labels of names: they must hold an upper-case letter and their mentions share a label."""

_PROPER = frozenset({"PERSON", "ORG", "PLACE", "NORP"})
"""Labels whose names never start or end with a lowercase common word."""

_NO_ARTICLE = NAME_LABELS - {"WORK_OF_ART"}
"""Labels whose names drop a leading "the" ("The Godfather" keeps it)."""

_PARTICLES = frozenset(
    {"von", "van", "der", "den", "de", "da", "di", "del", "della", "dos", "das", "du", "al",
     "el", "bin", "ibn", "ben", "ter", "ten", "la", "le", "zu"}
)  # fmt: skip
"""Lowercase words that belong inside personal names ("Ursula von der Leyen", "al-Assad")."""

_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "president",
     "sen", "senator", "rep", "representative", "gov", "governor", "gen", "general", "lt",
     "col", "colonel", "capt", "captain", "sgt", "maj", "major", "adm", "admiral", "judge",
     "justice", "chancellor", "minister", "premier", "secretary", "ambassador", "pope",
     "rev", "mayor", "chairman", "chairwoman", "commissioner", "prime", "deputy", "vice",
     "spokesman", "spokeswoman", "spokesperson"}
)  # fmt: skip
"""Honorifics and offices that precede a name but are not part of it."""

_LOCATIVE = frozenset(
    {"in", "at", "from", "to", "near", "into", "outside", "inside", "around", "across",
     "toward", "towards", "via", "through", "throughout", "within", "out"}
)  # fmt: skip
"""Words that, just before a city name, show that a place is meant."""

_CORPORATE = frozenset(
    {"inc", "corp", "corporation", "co", "company", "ltd", "plc", "llc", "group", "holdings",
     "ag", "sa", "nv", "se", "gmbh", "limited"}
)  # fmt: skip
"""Trailing words an organisation drops in later mentions ("Acme Corp" -> "Acme")."""

_SPLIT_LABELS = frozenset({"PERSON", "ORG", "PLACE"})
"""Labels whose names hold no free-standing number, dash or bracket (see `_is_break`)."""

_BREAK_PUNCT = frozenset({"-", "–", "—", "(", ")", "[", "]", ":", ";", "|", "/"})

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
_MONTHS = frozenset(
    {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
     "january", "february", "march", "april", "june", "july", "august", "september", "october",
     "november", "december"}
)  # fmt: skip
"""Month names and abbreviations (without the dot) that open a dateline's date."""
_WEEKDAYS = frozenset(
    {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
)

_ACRONYM_SKIP = frozenset({"of", "the", "for", "and", "on", "in", "de", "du", "des", "la", "&"})
_POSSESSIVES = frozenset({"'s", "’s", "'", "’", "'S", "’S"})
_EDGE_PUNCT = "\"'“”‘’«»()[]{}<>-–—,;:!?*•·/\\|"
_GLUED_POSSESSIVE = re.compile(r"(?<=\w)['’][sS]?$")
_SPACES = re.compile(r"\s+")
_MIN_PLACE_POPULATION = 100_000
"""A city at least this big wins over a PRODUCT/WORK_OF_ART/EVENT tag without context."""


@dataclass(frozen=True)
class _Span:
    """A candidate mention: token range, character range and label while being refined."""

    start: int
    end: int
    label: EntityLabel
    start_char: int = 0
    end_char: int = 0
    text: str = ""
    name: str = ""


def extract_entities(doc: Doc) -> list[Entity]:
    """Distinct entities of a document with every mention of each.

    Args:
        doc (Doc): a parsed article body (NER, tagger and parser have run).

    Returns:
        list[Entity]: sorted by first mention; every mention satisfies
        ``doc.text[m.start:m.end] == m.text``.
    """
    gazetteer = load_gazetteer()
    spans = [s for raw in _absorb_particles(doc, _raw_spans(doc)) for s in _clean(doc, raw)]
    person_tokens = _person_tokens(spans)
    spans = [_relabel(doc, s, gazetteer, person_tokens) for s in spans]
    words = [t.text for t in doc]
    spans += _untagged_names(doc, words, spans, gazetteer, person_tokens)
    spans = [_team(doc, s, gazetteer) for s in spans]
    spans = _results_rows(doc, words, spans, gazetteer)
    spans = [_listed_person(words, s, gazetteer) for s in spans]
    spans = _datelines(doc, words, spans)
    spans = _resolve(doc, spans, gazetteer)
    return _group(spans)


# --------------------------------------------------------------------------- 1. spans


def _raw_spans(doc: Doc) -> list[_Span]:
    """doc.ents with published labels; CARDINAL and ORDINAL are left out."""
    return [
        _Span(ent.start, ent.end, LABELS[ent.label_]) for ent in doc.ents if ent.label_ in LABELS
    ]


def _absorb_particles(doc: Doc, spans: list[_Span]) -> list[_Span]:
    """Extend a PERSON over name particles and the capitalised surname after them.

    The small model often stops at "Ursula von der" and tags "Leyen" as a place; the
    surname joins the person and any span it belonged to is dropped.
    """
    out: list[_Span] = []
    consumed_to = -1
    for span in spans:
        if span.start < consumed_to:
            continue
        if span.label == "PERSON":
            j = span.end
            while j < len(doc) and doc[j].lower_ in _PARTICLES and doc[j].is_lower:
                j += 1
            ends_in_particle = doc[span.end - 1].lower_ in _PARTICLES
            if (j > span.end or ends_in_particle) and j < len(doc) and _is_capitalised(doc[j]):
                span = replace(span, end=j + 1)
                consumed_to = span.end
        out.append(span)
    return out


def _is_capitalised(token: Token) -> bool:
    """A word starting with an upper-case letter ("Leyen", "McDonald")."""
    return bool(token.text) and token.text[0].isupper() and token.is_alpha


# --------------------------------------------------------------------------- 2. clean


def _clean(doc: Doc, span: _Span) -> Iterable[_Span]:
    """Split a span at line breaks and trim each piece; yields the usable pieces."""
    start = span.start
    breaks = _SPLIT_LABELS if span.label in _SPLIT_LABELS else ()
    for i in range(span.start, span.end + 1):
        if (
            i == span.end
            or (doc[i].is_space and "\n" in doc[i].text)
            or (breaks and _is_break(doc, i))
        ):
            piece = _trim(doc, span, start, i)
            if piece is not None:
                yield piece
            start = i + 1


def _is_break(doc: Doc, i: int) -> bool:
    """A free-standing score, dash or bracket: two names side by side, never one name.

    "Pohang 3 Ulsan 2", "Romania - Cosmin Contra" and "Scott Draper ( Australia" are
    tables and lists run together; a token glued to a neighbour ("Young-hoon") never splits.
    """
    token = doc[i]
    if (not token.whitespace_ and i + 1 < len(doc)) or (i > 0 and not doc[i - 1].whitespace_):
        return False
    text = token.text
    return text in _BREAK_PUNCT or any(ch.isdigit() for ch in text)


def _is_number(text: str) -> bool:
    """Digits and punctuation only ("69", "4-43", "1996-08-30")."""
    return any(ch.isdigit() for ch in text) and not any(ch.isalpha() for ch in text)


def _trim(doc: Doc, span: _Span, start: int, end: int) -> _Span | None:
    """Trim tokens from both edges, then fix characters; None when nothing is left."""
    label = span.label
    while start < end and _drop_leading(doc, start, end, label):
        start += 1
    while end > start and _drop_trailing(doc[end - 1], label, glued=_glued(doc, end - 2)):
        end -= 1
    if start >= end:
        return None
    start_char, end_char = doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text)
    text = doc[start:end].text
    possessive = _GLUED_POSSESSIVE.search(text)
    if possessive:
        end_char -= len(possessive.group())
        text = text[: possessive.start()]
    stripped = text.rstrip(_EDGE_PUNCT + " ")
    end_char -= len(text) - len(stripped)
    text = stripped.lstrip(_EDGE_PUNCT + " ")
    start_char += len(stripped) - len(text)
    if not _acceptable(text, label):
        return None
    return replace(span, start=start, end=end, start_char=start_char, end_char=end_char, text=text)


def _drop_leading(doc: Doc, i: int, end: int, label: str) -> bool:
    """Whether the span's first token is not part of the name."""
    token = doc[i]
    if token.is_space or (token.is_punct and token.text not in "$€£¥"):
        return True
    lower = token.lower_
    if lower == "the" and label in _NO_ARTICLE:
        return True
    if label == "PERSON" and lower.rstrip(".") in _TITLES and i + 1 < end:
        return True
    if _glued(doc, i):
        return False
    return label in _PROPER and token.is_lower and lower not in _PARTICLES


def _glued(doc: Doc, i: int) -> bool:
    """Whether token `i` and the next one form one word ("Young-hoon", "al-Assad")."""
    return 0 <= i < len(doc) - 1 and not doc[i].whitespace_


def _drop_trailing(token: Token, label: str, *, glued: bool = False) -> bool:
    """Whether the span's last token is not part of the name.

    A token `glued` to the one before it ends a hyphenated word and stays.
    """
    if token.is_space or token.text in _POSSESSIVES:
        return True
    if token.is_punct and token.text != "%":
        return True
    if label in _SPLIT_LABELS and _is_number(token.text):
        return True
    if glued:
        return False
    if token.pos_ in ("CCONJ", "DET", "ADP") and token.is_lower:
        return True
    if label == "PERSON" and token.lower_ in _PARTICLES:
        return True
    return label in _PROPER and token.is_lower and token.lower_ not in _PARTICLES


def _acceptable(text: str, label: str) -> bool:
    """Names need an upper-case letter (or digit); other labels need some content."""
    if not text or "\n" in text:
        return False
    if label in NAME_LABELS:
        return any(ch.isupper() or ch.isdigit() for ch in text) and any(ch.isalpha() for ch in text)
    return any(ch.isalnum() for ch in text)


# --------------------------------------------------------------------------- 3. relabel


def _person_tokens(spans: Sequence[_Span]) -> frozenset[str]:
    """Words of multi-word PERSON names, so "Washington" in "George Washington" stays a person."""
    words: set[str] = set()
    for span in spans:
        if span.label == "PERSON" and " " in span.text:
            words.update(span.text.split())
    return frozenset(words)


def _relabel(doc: Doc, span: _Span, gazetteer: Gazetteer, person_tokens: frozenset[str]) -> _Span:
    """Correct the label of places and demonyms the model mislabels."""
    text, label = span.text, span.label
    if label in ("NORP", "LANGUAGE", "DATE", "TIME", "MONEY", "QUANTITY", "PERCENT", "LAW"):
        if label == "NORP" and gazetteer.place_kind(text) == "country":
            return replace(span, label="PLACE")
        return span
    if gazetteer.is_demonym(text):
        return replace(span, label="NORP")
    if label == "PLACE":
        return span
    kind = gazetteer.place_kind(text)
    if kind is None or (label == "PERSON" and text in person_tokens):
        return span
    if kind == "country":
        return replace(span, label="PLACE")
    locative = span.start > 0 and doc[span.start - 1].lower_ in _LOCATIVE
    if label in ("ORG", "PERSON"):
        return replace(span, label="PLACE") if locative else span
    if locative or gazetteer.city_population(text) >= _MIN_PLACE_POPULATION:
        return replace(span, label="PLACE")
    return span


def _untagged_names(
    doc: Doc,
    words: Sequence[str],
    spans: Sequence[_Span],
    gazetteer: Gazetteer,
    person_tokens: frozenset[str],
) -> list[_Span]:
    """Names the model left untagged: repeats of a name it tagged elsewhere in the
    document (longest match first, with that name's label) and known places and demonyms.
    """
    covered = bytearray(len(words))
    known: dict[str, dict[tuple[str, ...], EntityLabel]] = defaultdict(dict)
    for span in spans:
        covered[span.start : span.end] = b"\x01" * (span.end - span.start)
        if span.label in NAME_LABELS:
            name = tuple(w for w in words[span.start : span.end] if not w.isspace())
            known[name[0]].setdefault(name, span.label)
    found: list[_Span] = []
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        if covered[i] or not word[:1].isupper() or not word.isalpha():
            i += 1
            continue
        match = _known_at(words, i, known.get(word), covered)
        if match is None and word not in person_tokens:
            match = _place_at(doc, words, i, gazetteer)
        if match is None:
            i += 1
            continue
        end, label = match
        start_char = doc[i].idx
        end_char = doc[end - 1].idx + len(words[end - 1])
        found.append(_Span(i, end, label, start_char, end_char, doc[i:end].text))
        i = end
    return found


def _starts_name(words: Sequence[str], i: int) -> bool:
    """Whether token `i` exists and is a capitalised word (so a name may go on there)."""
    return i < len(words) and words[i][:1].isupper() and words[i].isalpha()


def _known_at(
    words: Sequence[str],
    i: int,
    names: dict[tuple[str, ...], EntityLabel] | None,
    covered: bytearray,
) -> tuple[int, EntityLabel] | None:
    """The longest name tagged elsewhere that starts at token `i` and is free here."""
    if not names:
        return None
    best: tuple[int, EntityLabel] | None = None
    for name, label in names.items():
        end = i + len(name)
        if end > len(words) or (best and end <= best[0]) or any(covered[i:end]):
            continue
        if tuple(words[i:end]) == name and not _starts_name(words, end):
            best = (end, label)
    return best


def _place_at(
    doc: Doc, words: Sequence[str], i: int, gazetteer: Gazetteer
) -> tuple[int, EntityLabel] | None:
    """A known place (one to three capitalised words) or demonym starting at token `i`."""
    token = doc[i]
    proper = token.pos_ == "PROPN" or token.is_upper
    for size in (3, 2, 1):
        end = i + size
        if end > len(words) or not all(w[:1].isupper() for w in words[i + 1 : end]):
            continue
        if _starts_name(words, end):
            continue
        text = doc[i:end].text
        if gazetteer.is_demonym(text):
            return end, "NORP"
        kind = gazetteer.place_kind(text)
        if kind is None or not proper:
            continue
        if kind == "country" or (end < len(words) and _is_score(words[end])):
            return end, "PLACE"
        # a city: big, or after "in"/"from"/..., since small towns share names with people
        big = gazetteer.city_population(text) >= _MIN_PLACE_POPULATION
        locative = i > 0 and words[i - 1].lower() in _LOCATIVE
        if (big and (token.is_upper or not token.is_sent_start)) or locative:
            return end, "PLACE"
    return None


def _is_score(text: str) -> bool:
    """ "3", "108", "4-2", "296-7": a result or score, not a date ("1996-08-30") or amount."""
    head, dash, tail = text.partition("-")
    return (
        0 < len(head) <= 3
        and head.isdigit()
        and (not dash or (0 < len(tail) <= 3 and tail.isdigit()))
    )


def _team(doc: Doc, span: _Span, gazetteer: Gazetteer) -> _Span:
    """A city or state followed by a score is its sports team ("Atlanta 5 Pittsburgh 1").

    Countries keep their label: national sides are named as places.
    """
    if span.label not in ("PLACE", "ORG", "PERSON") or span.end >= len(doc):
        return span
    if (
        not _is_score(doc[span.end].text)
        or doc[span.end - 1].idx + len(doc[span.end - 1]) == doc[span.end].idx
    ):
        return span
    if gazetteer.place_kind(span.text) is None or gazetteer.is_country(span.text):
        return span
    return replace(span, label="ORG")


def _results_rows(
    doc: Doc, words: Sequence[str], spans: list[_Span], gazetteer: Gazetteer
) -> list[_Span]:
    """Names in a results or standings row are teams ("Arlen 2 Bramby 1", "Arlen 4 2 1 1").

    A row is a line of one or two capitalised names, each followed by a score and then
    only figures. Its names become ORG, except countries (national sides are places) and
    people the model found (a golfer's "Ann Lee 70 68").
    """
    by_start = {s.start: k for k, s in enumerate(spans)}
    covered = bytearray(len(words))
    for span in spans:
        covered[span.start : span.end] = b"\x01" * (span.end - span.start)
    out = list(spans)
    start = 0
    for i in range(len(words) + 1):
        if i < len(words) and "\n" not in words[i]:
            continue
        for a, b in _row_names(words, start, i):
            k = by_start.get(a)
            text = doc[a:b].text
            label: EntityLabel = "PLACE" if gazetteer.is_country(text) else "ORG"
            if k is not None and spans[k].end == b:
                if spans[k].label in ("ORG", "PLACE") or (
                    spans[k].label == "PERSON" and b - a == 1
                ):
                    out[k] = replace(spans[k], label=label)
            elif not any(covered[a:b]):
                start_char = doc[a].idx
                out.append(_Span(a, b, label, start_char, start_char + len(text), text))
        start = i + 1
    return out


def _row_names(words: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """Token ranges of the names of a results row in words[start:end]; [] for other lines."""
    names: list[tuple[int, int]] = []
    i = start
    while i < end and words[i].isspace():
        i += 1
    while i < end:
        a = i
        while i < end and words[i][:1].isupper() and words[i].isalpha():
            i += 1
        if i in (a, end) or i - a > 3 or not _is_score(words[i]):
            return []
        names.append((a, i))
        while i < end and not any(ch.isalpha() for ch in words[i]):
            i += 1
        if len(names) > 2:
            return []
    return names


def _listed_person(words: Sequence[str], span: _Span, gazetteer: Gazetteer) -> _Span:
    """ "Ann Voss ( Norway ) 20.90": a two- or three-word name with a country in brackets
    after it, and no score after that, is an athlete listed in results, not an ORG.
    """
    if span.label != "ORG" or not 2 <= len(names := span.text.split()) <= 3:
        return span
    if not all(w[:1].isupper() and w.replace("-", "").isalpha() for w in names):
        return span
    if names[-1].lower().rstrip(".") in _CORPORATE:
        return span
    i = span.end
    if i >= len(words) or words[i] != "(":
        return span
    close = next((j for j in range(i + 1, min(i + 5, len(words))) if words[j] == ")"), None)
    if close is None or not gazetteer.is_country(" ".join(words[i + 1 : close])):
        return span
    if close + 1 < len(words) and _is_score(words[close + 1]):
        return span
    return replace(span, label="PERSON")


def _datelines(doc: Doc, words: Sequence[str], spans: list[_Span]) -> list[_Span]:
    """A dateline's places: "KYIV , Ukraine 2024-10-28" or "OSLO, Oct 28 (Reuters) -".

    A line (or paragraph) that opens with capitalised words, optionally split by commas,
    and then a date: each comma-separated part is a place, whatever the model said.
    """
    out = list(spans)
    start = 0
    for i in range(len(words) + 1):
        if i < len(words) and "\n" not in words[i]:
            continue
        parts = _dateline_parts(words, start, i)
        if parts:
            out = [s for s in out if not any(a < s.end and s.start < b for a, b in parts)]
            for a, b in parts:
                text = doc[a:b].text
                start_char = doc[a].idx
                out.append(_Span(a, b, "PLACE", start_char, start_char + len(text), text))
        start = i + 1
    return out


def _dateline_parts(words: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """Token ranges of the places of a dateline in words[start:end]; [] for other lines."""
    parts: list[tuple[int, int]] = []
    i = start
    a = i
    while i < end and i - start <= 8:
        word = words[i]
        after = words[i + 1] if i + 1 < end else ""
        iso = _ISO_DATE.match(word) or (len(word) == 4 and word.isdigit() and after == "-")
        if iso or (parts and word.lower().rstrip(".") in _MONTHS and after.isdigit()):
            if a < i:
                parts.append((a, i))
            if len(parts) > 3 or any(words[p].lower() in _WEEKDAYS for p, _ in parts):
                return []
            return parts
        if word == ",":
            if a == i:
                return []
            parts.append((a, i))
            a = i + 1
        elif not (word[:1].isupper() or word in ("-", "'", ".") or (i > a and word[:1] == "-")):
            return []
        i += 1
    return []


# --------------------------------------------------------------------------- 4. resolve


def _resolve(doc: Doc, spans: list[_Span], gazetteer: Gazetteer) -> list[_Span]:
    """Give every span its canonical name; adds surname mentions the model missed."""
    spans = [replace(s, name=_base_name(s, gazetteer)) for s in spans]
    full_names = sorted({s.name for s in spans if s.label == "PERSON" and " " in s.name})
    spans = [_resolve_person(s, full_names, gazetteer) for s in spans]
    spans = _resolve_short_forms(spans)
    spans += _untagged_surnames(doc, spans, full_names, gazetteer)
    return spans


def _base_name(span: _Span, gazetteer: Gazetteer) -> str:
    """The mention's own canonical form: spaces normalised, place aliases applied."""
    name = _SPACES.sub(" ", span.text)
    if span.label == "PLACE":
        return gazetteer.canonical_place(name)
    return name


def _person_match(words: Sequence[str], full_names: Sequence[str]) -> str | None:
    """The unique full name ending in `words`, else (one word) the unique one starting with it."""
    n = len(words)
    tail = [f for f in full_names if len(f.split()) > n and f.split()[-n:] == list(words)]
    if len(tail) == 1:
        return tail[0]
    if tail or n != 1:
        return None
    head = [f for f in full_names if f.split()[0] == words[0]]
    return head[0] if len(head) == 1 else None


def _resolve_person(span: _Span, full_names: Sequence[str], gazetteer: Gazetteer) -> _Span:
    """A surname (or a name the model mislabelled) -> the full name found in the document.

    A name in capitals ("KOWALSKI" in a headline) is matched as written in a sentence.
    """
    words = (span.name.title() if span.name.isupper() else span.name).split()
    if span.label == "PERSON":
        match = _person_match(words, full_names)
        return replace(span, name=match) if match else span
    if span.label in ("ORG", "PLACE", "PRODUCT", "WORK_OF_ART", "EVENT"):
        if gazetteer.place_kind(span.text) is not None:
            return span
        match = _person_match(words, full_names)
        if match:
            return replace(span, name=match, label="PERSON")
    return span


def _initials(name: str) -> str:
    """ "European Union" -> "EU"; function words are skipped."""
    words = [w for w in name.replace("-", " ").split() if w.lower() not in _ACRONYM_SKIP]
    return "".join(w[0] for w in words if w[0].isupper()) if len(words) > 1 else ""


def _resolve_short_forms(spans: list[_Span]) -> list[_Span]:
    """Acronyms ("EU") and ORG names without their corporate suffix -> the long form."""
    longs = {(s.name, s.label) for s in spans if s.label in ("ORG", "PLACE") and " " in s.name}
    by_initials: dict[str, set[tuple[str, EntityLabel]]] = defaultdict(set)
    by_stem: dict[str, set[tuple[str, EntityLabel]]] = defaultdict(set)
    for name, label in longs:
        by_initials[_initials(name)].add((name, label))
        words = name.split()
        if label == "ORG" and words[-1].lower().rstrip(".") in _CORPORATE:
            by_stem[" ".join(words[:-1])].add((name, label))
    out: list[_Span] = []
    for span in spans:
        if span.label in ("ORG", "PLACE"):
            key = span.name.replace(".", "")
            found: set[tuple[str, EntityLabel]] = set()
            if 2 <= len(key) <= 6 and key.isupper() and key.isalpha():
                found = by_initials.get(key, set())
            elif span.label == "ORG":
                found = by_stem.get(span.name, set())
            if len(found) == 1:
                long_name, long_label = next(iter(found))
                span = replace(span, name=long_name, label=long_label)
        out.append(span)
    return out


def _untagged_surnames(
    doc: Doc, spans: Sequence[_Span], full_names: Sequence[str], gazetteer: Gazetteer
) -> list[_Span]:
    """Surnames of known people that the model left untagged ("Zelensky's chief")."""
    surnames: dict[str, str | None] = {}
    for full in full_names:
        last = full.split()[-1]
        surnames[last] = None if last in surnames else full
    surnames = {k: v for k, v in surnames.items() if v and len(k) > 2}
    if not surnames:
        return []
    covered = bytearray(len(doc))
    for span in spans:
        covered[span.start : span.end] = b"\x01" * (span.end - span.start)
    found: list[_Span] = []
    for token in doc:
        person = surnames.get(token.text)
        if person is None or covered[token.i] or token.pos_ != "PROPN":
            continue
        if gazetteer.place_kind(token.text) is not None:
            continue
        start_char = token.idx
        end_char = start_char + len(token.text)
        found.append(
            _Span(token.i, token.i + 1, "PERSON", start_char, end_char, token.text, person)
        )
    return found


# --------------------------------------------------------------------------- 5. group


def _group(spans: Sequence[_Span]) -> list[Entity]:
    """One entity per canonical name; names share the label most of their mentions carry."""
    ordered = sorted(spans, key=lambda s: (s.start_char, s.end_char))
    votes: dict[str, Counter[EntityLabel]] = defaultdict(Counter)
    for span in ordered:
        if span.label in NAME_LABELS:
            votes[span.name][span.label] += 1
    grouped: dict[tuple[str, EntityLabel], dict[tuple[int, int], Mention]] = {}
    for span in ordered:
        label = span.label
        if label in NAME_LABELS:
            label = votes[span.name].most_common(1)[0][0]
        mentions = grouped.setdefault((span.name, label), {})
        mentions[(span.start_char, span.end_char)] = Mention(
            start=span.start_char, end=span.end_char, text=span.text
        )
    return [
        Entity(name=name, label=label, mentions=list(mentions.values()))
        for (name, label), mentions in grouped.items()
    ]
