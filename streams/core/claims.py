"""Claims of an article body: direct quotes, quoted fragments, reported speech, statistics.

Quote marks are found on the characters of each paragraph (the tokenizer and
sentence splitter disagree with quote marks too often to be trusted), and the
dependency parse is used for what it is good at: the subject of a speech verb, the
clause a verb reports, and the verb a quoted fragment hangs from. One draft is
returned per occurrence; the caller merges repeated statements by their normalised text.

A partial quote is reported with what the speaker is said to have said around it: the
reported clause that holds the fragment ('said the plan was "unworkable"') or the verb's
argument ('called the plan "a disaster"'), marks kept, as news attribution conventions
read it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from spacy.tokens import Doc, Span, Token

from streams.core.attribution import Attributor, is_speech_verb
from streams.core.cues import (
    CLAIM_NOUNS,
    CLAUSE_CUES,
    ENTITY_SPEAKER_TYPES,
    ESTIMATE_NOUNS,
    ESTIMATE_VERBS,
    MAX_ATTRIBUTION_GAP_WORDS,
    MAX_CROSSHEAD_WORDS,
    MIN_PARTIAL_WORDS,
    MIN_TITLE_WORDS,
    NAMING_VERBS,
    QUOTE_PAIRS,
    SOURCE_MARKERS,
    WEAK_FRAGMENT_POS,
)
from streams.core.quantities import extract_quantities
from streams.models import ClaimKind, Entity, Mention, Quantity, Speaker

PARAGRAPH_BREAK: Final[str] = "\n\n"
_CLOSERS: Final[frozenset[str]] = frozenset(QUOTE_PAIRS.values())
_MARK_RE: Final[re.Pattern[str]] = re.compile(
    "|".join(re.escape(m) for m in sorted(set(QUOTE_PAIRS) | _CLOSERS, key=lambda m: -len(m)))
)
_CROSSHEAD_RE: Final[re.Pattern[str]] = re.compile(r"\A\s*[-–—•*=]+\s.*\s[-–—•*=]+\s*\Z")
_SENTENCE_END: Final[str] = ".!?:…" + "".join(_CLOSERS) + "'’)"
_FULL_PREFIX_END: Final[str] = ".!?:," + "".join(_CLOSERS)
_FULL_TRAIL: Final[str] = ",;: \n\t-–—"
_PARTIAL_TRAIL: Final[str] = ".,;: \n\t-–—"
_MIN_CLAUSE_WORDS: Final[int] = 3
_STATISTIC_CUE: Final[str] = "according to"
_GAP_ENDS: Final[str] = ",.:;"
_ARGUMENT_DEPS: Final[frozenset[str]] = frozenset(
    {"dobj", "dative", "oprd", "ccomp", "attr", "acomp"}
)
_MAX_FRAGMENT_EXTENT: Final[int] = 60
_MAX_FRAGMENT_TAIL: Final[int] = 6
_TAIL_BREAKS: Final[frozenset[str]] = frozenset(",;(-–—―")
_DASH_CREDIT_RE: Final[re.Pattern[str]] = re.compile(r"\s*[―—–-]{1,2}\s*")
_NAME_RE: Final[re.Pattern[str]] = re.compile(r"(?:[A-Z][\w.'’-]*\s?){1,5}")
_SOURCE_RANK: Final[dict[str, int]] = {"ORG": 0, "PERSON": 1, "PLACE": 2}
_FINITE_TAGS: Final[frozenset[str]] = frozenset({"VBD", "VBZ", "VBP"})
_APPOSITION_GAP_RE: Final[re.Pattern[str]] = re.compile(r"\s*,[^,]+(?:,[^,]+)?,\s*(?:\w+ly\s+)?")


@dataclass(frozen=True)
class ClaimDraft:
    """One occurrence of a claim in a body. Each mention is a slice of `doc.text`; `text` is
    the mentions' texts joined by a space (a quote interrupted by its attribution, "'A,' she
    said. 'B.'", or a clause around a parenthetical "she said", has two)."""

    kind: ClaimKind
    text: str
    speaker: Speaker | None
    cue: str | None
    quantities: tuple[Quantity, ...]
    mentions: tuple[Mention, ...]


@dataclass(frozen=True)
class _Quote:
    """A quoted stretch: marks at `open`/`close` (None: runs to the paragraph end)."""

    open: int
    close: int | None
    start: int
    end: int
    paragraph: int
    full: bool
    close_end: int | None = None

    @property
    def region_end(self) -> int:
        return self.close_end if self.close_end is not None else self.end


@dataclass(frozen=True)
class _Paragraph:
    index: int
    start: int
    end: int
    crosshead: bool


def _paragraphs(text: str) -> list[_Paragraph]:
    """Paragraph spans of the body, flagging crosshead-like lines."""
    found: list[_Paragraph] = []
    pos = 0
    for i, part in enumerate(text.split(PARAGRAPH_BREAK)):
        stripped = part.strip()
        short = len(stripped.split()) <= MAX_CROSSHEAD_WORDS
        crosshead = bool(_CROSSHEAD_RE.match(part)) or (
            short and bool(stripped) and stripped[-1] not in _SENTENCE_END
        )
        found.append(_Paragraph(i, pos, pos + len(part), crosshead))
        pos += len(part) + len(PARAGRAPH_BREAK)
    return found


def _trim(text: str, start: int, end: int, trail: str) -> tuple[int, int]:
    """Shrink [start, end) past surrounding whitespace and the given trailing characters."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1] in trail:
        end -= 1
    return start, end


def _find_quotes(text: str, para: _Paragraph) -> list[_Quote]:
    """Pair quote marks inside one paragraph; an unclosed quote runs to the paragraph end.

    A two-character mark ('' in some wire copy) only pairs with its own kind, so an
    apostrophe pair inside a curly quote does not end it.
    """
    quotes: list[_Quote] = []
    opened: re.Match[str] | None = None
    for match in _MARK_RE.finditer(text, para.start, para.end):
        mark = match.group()
        if opened is None:
            if mark in QUOTE_PAIRS:
                opened = match
            continue
        wide = len(mark) > 1 or len(opened.group()) > 1
        if wide and mark != QUOTE_PAIRS[opened.group()]:
            continue
        if mark in _CLOSERS:
            quotes.append(_make_quote(text, para, opened, match))
            opened = None
        elif mark in QUOTE_PAIRS:
            opened = match
    if opened is not None:
        quotes.append(_make_quote(text, para, opened, None))
    return [q for q in quotes if q.end > q.start]


def _make_quote(
    text: str, para: _Paragraph, opener: re.Match[str], closer: re.Match[str] | None
) -> _Quote:
    """Classify as full (sentence-initial, capitalised) or a partial fragment."""
    opened, inner_start = opener.start(), opener.end()
    inner_end = closer.start() if closer is not None else para.end
    prefix = text[para.start : opened].rstrip()
    content = text[inner_start:inner_end].lstrip()
    capital = bool(content) and (content[0].isupper() or content[0].isdigit())
    full = capital and (not prefix or prefix[-1] in _FULL_PREFIX_END)
    start, end = _trim(text, inner_start, inner_end, _FULL_TRAIL if full else _PARTIAL_TRAIL)
    if closer is None:
        return _Quote(opened, None, start, end, para.index, full)
    return _Quote(opened, closer.start(), start, end, para.index, full, closer.end())


class _QuoteMask:
    """Answers "is this offset inside quote marks?" by bisection over quote regions."""

    def __init__(self, quotes: Sequence[_Quote]) -> None:
        self._regions = sorted((q.open, q.region_end) for q in quotes)
        self._starts = [s for s, _ in self._regions]

    def __call__(self, offset: int) -> bool:
        i = bisect.bisect_right(self._starts, offset)
        return bool(i) and offset < self._regions[i - 1][1]


def _mention(text: str, start: int, end: int) -> tuple[Mention, ...]:
    return (Mention(start=start, end=end, text=text[start:end]),)


def _fragment_head(span: Span) -> Token:
    """The token of a fragment whose syntactic head lies outside it."""
    for token in span:
        if token.head.i < span.start or token.head.i >= span.end or token.head.i == token.i:
            return token
    return span.root


def _nearest_cue(tokens: Sequence[Token], start: int, end: int) -> Token | None:
    """The speech verb closest to the character range [start, end)."""
    best: tuple[int, Token] | None = None
    for token in tokens:
        distance = token.idx - end if token.idx >= end else start - token.idx
        if best is None or distance < best[0]:
            best = (distance, token)
    return best[1] if best else None


def _is_title(span: Span) -> bool:
    """Whether a quoted fragment reads as a title ("Face the Nation"): every longer word
    capitalised."""
    words = [t.text for t in span if t.is_alpha]
    long_words = [w for w in words if len(w) > 3]
    return (
        len(words) >= MIN_TITLE_WORDS
        and bool(long_words)
        and all(w[0].isupper() for w in long_words)
    )


def _is_that(token: Token) -> bool:
    return token.dep_ == "mark" and token.lower_ == "that"


def _stranded_subject(ccomp: Token) -> list[Token]:
    """'warned North Korea could ...': a subject-less clause whose subject the parser
    attached to the speech verb as its object, right before the clause."""
    if any(c.dep_ in {"nsubj", "nsubjpass", "expl", "mark"} for c in ccomp.children):
        return []
    cue = ccomp.head
    for child in cue.children:
        if child.dep_ == "dobj" and cue.i < child.i and child.right_edge.i + 1 == ccomp.left_edge.i:
            return list(child.subtree)
    return []


def _clause_bounds(ccomp: Token, in_quote: Callable[[int], bool]) -> tuple[int, int] | None:
    """Token range of a reported clause, cut before nested speech ("..., adding ...") but
    not before speech quoted inside it."""
    cut: set[int] = set()
    doc = ccomp.doc
    for token in ccomp.subtree:
        if token.i == ccomp.i or in_quote(token.idx):
            continue
        speech = (  # "..., adding ...": speech of its own, unless "... but that it would add"
            token.dep_ in {"advcl", "conj"}
            and is_speech_verb(token)
            and not any(_is_that(c) for c in token.children)
        )
        aside = (  # "..., implicitly putting ...": the writer's gloss after a comma
            token.dep_ == "advcl"
            and token.tag_ == "VBG"
            and token.left_edge.i > 0
            and doc[token.left_edge.i - 1].text == ","
        )
        gloss = (  # "..., which forced her to ...": the writer's relative clause at the end
            token.dep_ == "relcl"
            and token.i > ccomp.i
            and token.left_edge.i > 0
            and doc[token.left_edge.i - 1].text == ","
        )
        if speech or aside or gloss:
            cut.update(t.i for t in token.subtree)
    kept_set = {t.i for t in ccomp.subtree if t.i not in cut}
    kept_set.update(t.i for t in _stranded_subject(ccomp))
    lo = hi = ccomp.i
    while lo - 1 in kept_set:
        lo -= 1
    while hi + 1 in kept_set:
        hi += 1
    while lo <= hi and (doc[lo].is_punct or doc[lo].is_space or _is_that(doc[lo])):
        lo += 1
    hi = _continued_clause(ccomp.head, hi)
    while hi >= lo and (doc[hi].is_punct or doc[hi].is_space or doc[hi].dep_ in {"cc", "mark"}):
        if doc[hi].text in _CLOSERS:
            break
        hi -= 1
    return (lo, hi + 1) if hi >= lo else None


def _has_subject(verb: Token) -> bool:
    return any(c.dep_ in {"nsubj", "nsubjpass", "expl"} for c in verb.children)


def _continued_clause(cue: Token, hi: int) -> int:
    """Where a reported clause ends when the speech verb reports a second one right after
    it ('said A and B was ...', 'said A but "nobody ..."'), which the parser hangs from
    the verb rather than from the first clause. A comma ends the report."""
    doc = cue.doc
    for child in cue.children:
        if child.i <= hi:
            continue
        if child.dep_ not in {"ccomp", "conj"} or child.pos_ not in {"VERB", "AUX"}:
            continue
        between = doc[hi + 1 : child.left_edge.i]
        joins = all(t.dep_ == "cc" or t.text in QUOTE_PAIRS or t.text in _CLOSERS for t in between)
        clause = child.dep_ == "ccomp" or _has_subject(child)  # a 2nd ccomp lost its subject
        if joins and clause and not is_speech_verb(child):
            return child.right_edge.i
        break
    return hi


def _parenthetical_bounds(cue: Token) -> tuple[int, int] | None:
    """ "The plan, she said, would fail": the clause a parenthetical speech verb
    interrupts, without the words before its subject ("During the talks, ...")."""
    if cue.dep_ != "parataxis" or cue.head.pos_ not in {"VERB", "AUX"}:
        return None
    head = cue.head
    subject = next((c for c in head.children if c.dep_ in {"nsubj", "nsubjpass", "expl"}), None)
    lo = subject.left_edge.i if subject is not None and subject.i < cue.i else cue.right_edge.i + 1
    hi = head.right_edge.i
    doc = cue.doc
    while lo <= hi and (doc[lo].is_punct or doc[lo].is_space):
        lo += 1
    while hi >= lo and (doc[hi].is_punct or doc[hi].is_space) and doc[hi].text not in _CLOSERS:
        hi -= 1
    return (lo, hi + 1) if hi > lo else None


class _Extractor:
    """One document's paragraphs, quotes and attributor while its drafts are built."""

    def __init__(self, doc: Doc, entities: Sequence[Entity]) -> None:
        self.doc = doc
        self.text = doc.text
        self.paragraphs = _paragraphs(self.text)
        self.quotes = [
            q for p in self.paragraphs if not p.crosshead for q in _find_quotes(self.text, p)
        ]
        self.in_quote = _QuoteMask(self.quotes)
        self.attributor = Attributor(doc, entities, self.in_quote)
        self.cues = [t for t in doc if is_speech_verb(t) and not self.in_quote(t.idx)]
        self.cue_starts = [t.idx for t in self.cues]
        self.groups = {
            p.index: self._group_quotes(p, [q for q in self.quotes if q.paragraph == p.index])
            for p in self.paragraphs
        }
        self.joined = {q for groups in self.groups.values() for g in groups if g[0].full for q in g}
        self.clauses = self._reported_clauses()

    # -------------------------------------------------------------- helpers

    def _draft(
        self, kind: ClaimKind, start: int, end: int, speaker: Speaker | None, cue: str | None
    ) -> ClaimDraft:
        return self._draft_parts(kind, [(start, end)], speaker, cue)

    def _draft_parts(
        self,
        kind: ClaimKind,
        parts: Sequence[tuple[int, int]],
        speaker: Speaker | None,
        cue: str | None,
    ) -> ClaimDraft:
        """A claim over one or more spans (a quote interrupted by its attribution)."""
        mentions = tuple(m for start, end in parts for m in _mention(self.text, start, end))
        text = " ".join(m.text for m in mentions)
        return ClaimDraft(
            kind=kind,
            text=text,
            speaker=speaker,
            cue=cue,
            quantities=extract_quantities(text),
            mentions=mentions,
        )

    def _cues_between(self, start: int, end: int) -> list[Token]:
        lo = bisect.bisect_left(self.cue_starts, start)
        hi = bisect.bisect_left(self.cue_starts, end)
        return self.cues[lo:hi]

    def _speaker_of(self, cue: Token) -> Speaker | None:
        subject = self.attributor.subject_of(cue)
        if subject is None or self.in_quote(subject.idx):
            return self._apposed_speaker(cue)
        return self.attributor.speaker(subject)

    def _apposed_speaker(self, cue: Token) -> Speaker | None:
        """'"...," Flynn, a campaign adviser, said' or 'Jo Hale, head of X, told ...': a
        named speaker before a finite speech verb, apart from it only by an apposition
        between commas, which the parser often takes for the subject's own attachment."""
        if cue.tag_ not in _FINITE_TAGS:
            return None
        sent = cue.sent
        refs = self.attributor.refs_in(sent.start_char, cue.idx)
        for ref in reversed(refs):
            if ref.label not in ENTITY_SPEAKER_TYPES or self.in_quote(ref.start):
                continue
            gap = self.text[ref.end : cue.idx]
            apposition = _APPOSITION_GAP_RE.fullmatch(gap)
            if apposition is None or len(gap.split()) > MAX_ATTRIBUTION_GAP_WORDS:
                continue
            kind = ENTITY_SPEAKER_TYPES[ref.label]
            title = self.attributor.title_of(ref.name) if kind == "person" else None
            return Speaker(name=ref.name, title=title, type=kind)
        return None

    def _span(self, start: int, end: int) -> Span | None:
        return self.doc.char_span(start, end, alignment_mode="expand")

    def _has_verb(self, group: Sequence[_Quote]) -> bool:
        """Whether any part of a quote holds a verb (a statement, not a name or title)."""
        for quote in group:
            span = self._span(quote.start, quote.end)
            if span is not None and any(t.pos_ in {"VERB", "AUX"} for t in span):
                return True
        return False

    def _is_title_group(self, group: Sequence[_Quote]) -> bool:
        """A quote that is only a title ("Make Your Kid a Millionaire"), quoted by nobody."""
        spans = [self._span(q.start, q.end) for q in group]
        return all(span is not None and _is_title(span) for span in spans)

    def _qualifies(self, quote: _Quote) -> bool:
        """A fragment is a claim of its own unless it is a word or two or an adverbial."""
        span = self._span(quote.start, quote.end)
        if span is None:
            return False
        words = [t for t in span if not (t.is_punct or t.is_space)]
        if len(words) < MIN_PARTIAL_WORDS or _is_title(span):
            return False
        return _fragment_head(span).pos_ not in WEAK_FRAGMENT_POS

    def _naming_cue(self, quote: _Quote) -> Token | None:
        """The naming verb a quoted word or phrase is put on something with ('called the
        plan "reckless"', 'described him as "unfit"'), whatever the fragment's length."""
        span = self._span(quote.start, quote.end)
        if span is None or _is_title(span):
            return None
        head = _fragment_head(span)
        if head.pos_ in WEAK_FRAGMENT_POS:
            return None
        verb = next((a for a in head.ancestors if a.pos_ in {"VERB", "AUX"}), None)
        if verb is None or self.in_quote(verb.idx) or verb.lemma_.lower() not in NAMING_VERBS:
            return None
        return verb if is_speech_verb(verb) else None

    # -------------------------------------------------------------- quotes

    def quote_drafts(self) -> list[ClaimDraft]:
        """Full quotes (joined across their attribution, with continuation paragraphs) and
        qualifying fragments that no reported clause carries."""
        drafts: list[ClaimDraft] = []
        previous: tuple[Speaker | None, str | None] | None = None
        for para in self.paragraphs:
            quotes = [q for q in self.quotes if q.paragraph == para.index]
            if not quotes:
                previous = None
                continue
            outside = self._cues_between(para.start, para.end)
            groups = self.groups[para.index]
            joined = {q for group in groups if group[0].full for q in group}
            attribution: tuple[Speaker | None, str | None] | None = None
            extents: set[tuple[int, int]] = set()
            used: set[int] = set()
            for group in groups:
                if not group[0].full or self._is_title_group(group):
                    continue
                pool = [c for c in outside if c.i not in used] or outside  # one verb, one quote
                cue = _nearest_cue(pool, group[0].open, group[-1].region_end)
                if cue is not None:
                    used.add(cue.i)
                cue = cue if cue is not None else self._colon_lead(para)
                credit = self._dash_credit(para, group[-1]) if cue is None else None
                lead = self._inline_lead(group[0]) if cue is None and credit is None else None
                if cue is not None:
                    attribution = (self._speaker_of(cue), cue.text)
                elif lead is not None:
                    attribution = (lead, None)
                elif credit is not None:
                    attribution = (credit, None)
                elif previous is not None and not self._has_prose(para, quotes):
                    attribution = (previous[0], None)
                elif not self._has_prose(para, quotes):
                    attribution = (self._lead_in_person(para), None)
                else:
                    attribution = (None, None)
                    if not self._has_verb(group):
                        continue  # no cue and no clause: a title, nickname or scare quote
                parts = [(q.start, q.end) for q in group]
                drafts.append(self._draft_parts("quote", parts, *attribution))
            for quote in quotes:
                if quote in joined or self._in_clause(quote):
                    continue
                naming = self._naming_cue(quote)
                if naming is None and not self._qualifies(quote):
                    continue
                cue = naming if naming is not None else self._fragment_cue(quote, outside)
                speaker = self._speaker_of(cue) if cue is not None else None
                if cue is None or speaker is None:
                    continue  # scare quotes: nobody is quoted
                start, end = self._fragment_extent(quote, cue)
                if (
                    naming is not None
                    and not self._qualifies(quote)
                    and end - start <= len(self.text[quote.open : quote.region_end])
                ):
                    continue  # a lone word with nothing it names
                if (start, end) in extents:
                    continue  # two fragments of one argument
                extents.add((start, end))
                drafts.append(self._draft("partial_quote", start, end, speaker, cue.text))
            previous = attribution if joined else None
        return drafts

    def _group_quotes(self, para: _Paragraph, quotes: Sequence[_Quote]) -> list[list[_Quote]]:
        """Quotes of a paragraph, a full quote joined with the parts that follow its
        attribution ("'A,' she said. 'B.'" is one statement)."""
        ordered = sorted(quotes, key=lambda q: q.open)
        groups: list[list[_Quote]] = []
        for i, quote in enumerate(ordered):
            after = ordered[i + 1].open if i + 1 < len(ordered) else para.end
            if groups and groups[-1][0].full and self._continues(groups[-1][-1], quote, after):
                groups[-1].append(quote)
            else:
                groups.append([quote])
        return groups

    def _continues(self, prev: _Quote, quote: _Quote, after: int) -> bool:
        """Whether `quote` resumes `prev` across a short gap holding its speech verb."""
        if prev.close is None:
            return False
        gap = self.text[prev.region_end : quote.open].strip()
        if not gap or gap[-1] not in _GAP_ENDS or len(gap.split()) > MAX_ATTRIBUTION_GAP_WORDS:
            return False
        if not quote.full and gap[-1] != ",":
            return False
        if len(self._cues_between(prev.region_end, quote.open)) != 1:
            return False
        return not self._cues_between(quote.region_end, after)

    def _lead_in_person(self, para: _Paragraph) -> Speaker | None:
        """A bare quote paragraph after a paragraph about a person quotes that person."""
        if para.index == 0:
            return None
        lead = self.paragraphs[para.index - 1]
        name = self.attributor.subject_person_between(lead.start, lead.end)
        if name is None:
            return None
        return Speaker(name=name, title=self.attributor.title_of(name), type="person")

    def _colon_lead(self, para: _Paragraph) -> Token | None:
        """The speech verb of a previous paragraph that ends with a colon ("He said:")."""
        if para.index == 0:
            return None
        lead = self.paragraphs[para.index - 1]
        if not self.text[lead.start : lead.end].rstrip().endswith(":"):
            return None
        cues = self._cues_between(lead.start, lead.end)
        return cues[-1] if cues else None

    def _inline_lead(self, quote: _Quote) -> Speaker | None:
        """The named subject of a clause that introduces the quote with a colon
        ("Jo Hale continued: '...'"), whatever its verb."""
        before = self.text[: quote.open].rstrip()
        if not before.endswith(":"):
            return None
        span = self._span(len(before) - 1, len(before))
        if span is None or len(span) == 0:
            return None
        verb = span[0].head
        if verb.pos_ not in {"VERB", "AUX"} or self.in_quote(verb.idx):
            return None
        subject = self.attributor.subject_of(verb)
        if subject is None or self.in_quote(subject.idx):
            return None
        speaker = self.attributor.speaker(subject)
        return speaker if speaker.name is not None and speaker.type == "person" else None

    def _dash_credit(self, para: _Paragraph, last: _Quote) -> Speaker | None:
        """A quote credited after a dash: '"...." - Jane Doe'."""
        match = _DASH_CREDIT_RE.match(self.text, last.region_end, para.end)
        if match is None:
            return None
        at = match.end()
        for ref in self.attributor.refs_in(at, para.end):
            if ref.start == at and ref.label in ENTITY_SPEAKER_TYPES:
                return Speaker(name=ref.name, type=ENTITY_SPEAKER_TYPES[ref.label])
        words = _NAME_RE.match(self.text, at, para.end)
        return Speaker(name=words.group().strip(), type="person") if words else None

    def _fragment_extent(self, quote: _Quote, cue: Token) -> tuple[int, int]:
        """The argument of the speech verb that holds a fragment ('called the plan "a
        disaster"', 'criticized the law as "unfair"'): what the speaker is reported to say."""
        span = self._span(quote.start, quote.end)
        if span is None:
            return quote.start, quote.end
        node = _fragment_head(span)
        while node.head.i != node.i and node.head.i != cue.i:
            node = node.head
        if node.head.i != cue.i or node.i < cue.i:
            return quote.start, quote.end
        args = [c for c in cue.children if cue.i < c.i <= node.i and c.dep_ in _ARGUMENT_DEPS]
        first = min([node, *args], key=lambda t: t.i).left_edge
        while _is_that(first) or first.is_punct or first.tag_ == "TO":
            first = first.nbor(1)
        last = node.right_edge
        if last.i - first.i > _MAX_FRAGMENT_EXTENT:
            return quote.start, quote.end
        last_end = last.idx + len(last.text)
        if first.idx >= quote.open and last_end <= quote.region_end:
            return quote.start, quote.end
        start = min(first.idx, quote.open)  # wider than the fragment: keep whole marks
        end = max(last_end, quote.region_end)
        quoted_end = quote.region_end
        for other in self.quotes:
            if start <= other.open < end:
                end = max(end, other.region_end)
                quoted_end = max(quoted_end, other.region_end)
        tail = self.text[quoted_end:end]
        if tail.lstrip()[:1] in _TAIL_BREAKS or len(tail.split()) > _MAX_FRAGMENT_TAIL:
            end = quoted_end  # an aside or circumstance after the quoted words
        return _trim(self.text, start, end, _PARTIAL_TRAIL)

    def _in_clause(self, quote: _Quote) -> bool:
        """Whether a reported clause overlaps the fragment (and so carries it)."""
        return any(quote.start < end and start < quote.end for _, start, end in self.clauses)

    def _has_prose(self, para: _Paragraph, quotes: Sequence[_Quote]) -> bool:
        """Whether a paragraph holds words outside its quotes."""
        pos, rest = para.start, []
        for quote in sorted(quotes, key=lambda q: q.open):
            rest.append(self.text[pos : quote.open])
            pos = quote.region_end
        rest.append(self.text[pos : para.end])
        return any(ch.isalnum() for chunk in rest for ch in chunk)

    def _fragment_cue(self, quote: _Quote, outside: Sequence[Token]) -> Token | None:
        """The speech verb a fragment hangs from, else the nearest one in its sentence."""
        span = self._span(quote.start, quote.end)
        if span is None:
            return None
        head = _fragment_head(span)
        for ancestor in head.ancestors:
            if is_speech_verb(ancestor) and not self.in_quote(ancestor.idx):
                return ancestor
        sent = head.sent
        same = [t for t in outside if sent.start <= t.i < sent.end]
        return _nearest_cue(same, quote.open, quote.region_end)

    # -------------------------------------------------------------- reported

    def _reported_clauses(self) -> list[tuple[Token, int, int]]:
        """Outermost clauses reported by a speech verb (or a claim noun) that hold no full
        quote."""
        candidates: list[tuple[Token, int, int]] = []
        for cue in [*self.cues, *self._claim_nouns()]:
            if cue.pos_ != "NOUN" and cue.lemma_.lower() not in CLAUSE_CUES:
                continue
            if self._in_crosshead(cue.idx):
                continue
            deps = {"ccomp", "acl"} if cue.pos_ == "NOUN" else {"ccomp"}
            ccomp = next((c for c in cue.children if c.dep_ in deps), None)
            bounds = (
                _clause_bounds(ccomp, self.in_quote)
                if ccomp is not None
                else _parenthetical_bounds(cue)
            )
            if bounds is None:
                continue
            span = self.doc[bounds[0] : bounds[1]]
            if sum(1 for t in span if not t.is_punct) < _MIN_CLAUSE_WORDS:
                continue
            candidates.append((cue, span.start_char, span.end_char))
        clauses: list[tuple[Token, int, int]] = []
        for cue, start, end in candidates:
            if any(s <= cue.idx < e for other, s, e in candidates if other is not cue):
                continue
            if any(q.open < end and start < q.region_end for q in self.joined):
                continue  # a full quote (with the parts joined to it) is claimed already
            for q in self.quotes:  # a fragment the clause cuts keeps both its marks
                if q.full or q.region_end <= start or end <= q.open:
                    continue
                if (start <= q.open) != (q.region_end <= end) or q.start < start or end < q.end:
                    start, end = min(start, q.open), max(end, q.region_end)
            clauses.append((cue, start, end))
        return clauses

    def _claim_nouns(self) -> list[Token]:
        """ "Trump's claim that ...": a claim noun with a possessor and a that-clause."""
        found = []
        for token in self.doc:
            if (
                token.pos_ != "NOUN"
                or token.lemma_.lower() not in CLAIM_NOUNS
                or self.in_quote(token.idx)
                or not any(c.dep_ == "poss" for c in token.children)
            ):
                continue
            clause = next((c for c in token.children if c.dep_ in {"acl", "ccomp"}), None)
            if clause is not None and any(_is_that(c) for c in clause.children):
                found.append(token)
        return found

    def _clause_speaker(self, cue: Token) -> Speaker | None:
        """Who a reported clause is credited to: a speech verb's subject or a claim noun's
        possessor."""
        if cue.pos_ == "NOUN":
            owner = next((c for c in cue.children if c.dep_ == "poss"), None)
            return self.attributor.speaker(owner) if owner is not None else None
        return self._speaker_of(cue)

    def reported_drafts(self) -> list[ClaimDraft]:
        """Clauses reported by a speech verb ("X said (that) ..."), outermost only; one that
        quotes words of the speaker is a partial quote."""
        drafts: list[ClaimDraft] = []
        for cue, start, end in self.clauses:
            parts = [(start, end)]
            if cue.dep_ == "parataxis" and start < cue.idx < end:  # "X, she said, Y"
                left = cue.left_edge.idx
                right = cue.right_edge.idx + len(cue.right_edge.text)
                parts = [
                    _trim(self.text, a, b, _FULL_TRAIL) for a, b in ((start, left), (right, end))
                ]
                parts = [(a, b) for a, b in parts if b > a]
            partial = any(
                q.start < end and start < q.end and self._qualifies(q)
                for q in self.quotes
                if not q.full
            )
            kind: ClaimKind = "partial_quote" if partial else "reported"
            drafts.append(self._draft_parts(kind, parts, self._clause_speaker(cue), cue.text))
        return drafts

    def _in_crosshead(self, offset: int) -> bool:
        starts = [p.start for p in self.paragraphs]
        para = self.paragraphs[bisect.bisect_right(starts, offset) - 1]
        return para.crosshead

    # -------------------------------------------------------------- statistics

    def statistic_drafts(self, taken: Sequence[ClaimDraft]) -> list[ClaimDraft]:
        """Statements credited with "according to" a source, not a speech verb: a
        statistic when they hold a number, else reported speech of a known source."""
        drafts: list[ClaimDraft] = []
        for token in self.doc:
            if not self._is_source_marker(token):
                continue
            sent = token.sent
            if any(sent.start_char <= d.mentions[0].start < sent.end_char for d in taken):
                continue
            left = self.doc[sent.start : token.left_edge.i]
            right = self.doc[token.right_edge.i + 1 : sent.end]
            body = left if len(left.text) >= len(right.text) else right
            if not body.text.strip():
                continue
            start, end = _trim(self.text, body.start_char, body.end_char, _PARTIAL_TRAIL)
            source = self._source(token)
            if extract_quantities(self.text[start:end]):
                drafts.append(self._draft("statistic", start, end, source, _STATISTIC_CUE))
                continue
            source = source if source is not None else self._source_phrase(token)
            if source is not None and len(body) >= _MIN_CLAUSE_WORDS:
                drafts.append(self._draft("reported", start, end, source, _STATISTIC_CUE))
        return drafts

    def _source_phrase(self, marker: Token) -> Speaker | None:
        """An unnamed "according to" source ("according to officials") as a group."""
        objects = [t for c in marker.children for t in c.children if t.dep_ == "pobj"]
        objects += [c for c in marker.children if c.dep_ == "pobj"]
        if not objects or objects[0].pos_ not in {"NOUN", "PROPN"}:
            return None
        return self.attributor.speaker(objects[0])

    def estimate_drafts(self, taken: Sequence[ClaimDraft]) -> list[ClaimDraft]:
        """Figures a source puts on something: "<source> put the number of X at N"."""
        drafts: list[ClaimDraft] = []
        for verb in self.doc:
            if (
                verb.pos_ != "VERB"
                or verb.lemma_.lower() not in ESTIMATE_VERBS
                or self.in_quote(verb.idx)
                or self._in_crosshead(verb.idx)
            ):
                continue
            objects = [c for c in verb.children if c.dep_ == "dobj"]
            at = [c for c in verb.children if c.dep_ == "prep" and c.lower_ == "at"]
            if not objects or not at or objects[0].lemma_.lower() not in ESTIMATE_NOUNS:
                continue
            sent = verb.sent
            if any(sent.start_char <= d.mentions[0].start < sent.end_char for d in taken):
                continue
            start = objects[0].left_edge.idx
            last = at[0].right_edge
            start, end = _trim(self.text, start, last.idx + len(last.text), _PARTIAL_TRAIL)
            if not extract_quantities(self.text[start:end]):
                continue
            drafts.append(self._draft("statistic", start, end, self._speaker_of(verb), verb.text))
        return drafts

    def _is_source_marker(self, token: Token) -> bool:
        nxt = token.nbor(1) if token.i + 1 < len(self.doc) else None
        pair = (token.lower_, nxt.lower_ if nxt is not None else "")
        return (
            pair in SOURCE_MARKERS
            and not self.in_quote(token.idx)
            and not self._in_crosshead(token.idx)
        )

    def _source(self, marker: Token) -> Speaker | None:
        """The named source of an "according to" phrase: organisation first, the last named."""
        start = marker.idx
        end = marker.right_edge.idx + len(marker.right_edge.text)
        refs = [r for r in self.attributor.refs_in(start, end) if r.label in _SOURCE_RANK]
        if not refs:
            return None
        best = min(refs, key=lambda r: (_SOURCE_RANK[r.label], -r.start))
        title = self.attributor.title_of(best.name) if best.label == "PERSON" else None
        return Speaker(name=best.name, title=title, type=ENTITY_SPEAKER_TYPES[best.label])


def extract_claims(doc: Doc, entities: Sequence[Entity]) -> list[ClaimDraft]:
    """Find every claim occurrence in a parsed body.

    Args:
        doc (Doc): the body parsed by `load_nlp` (sentences never cross paragraphs).
        entities (Sequence[Entity]): canonical entities of the same body (offsets into doc.text).

    Returns:
        list[ClaimDraft]: one draft per occurrence, in text order; repeated statements are
            not merged here.
    """
    extractor = _Extractor(doc, entities)
    drafts = extractor.quote_drafts() + extractor.reported_drafts()
    drafts += extractor.statistic_drafts(drafts)
    drafts += extractor.estimate_drafts(drafts)
    drafts.sort(key=lambda d: (d.mentions[0].start, d.mentions[0].end))
    return drafts


__all__ = ["ClaimDraft", "extract_claims"]
