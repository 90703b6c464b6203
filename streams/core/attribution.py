"""Who said it: map the subject of a speech verb to a canonical speaker.

News copy names a speaker once in full ("NATO chief Mark Rutte") and then refers to
them by surname, pronoun ("he added") or role ("the Ukrainian leader"). This module
builds, once per document, the facts needed to undo that: which entity sits at each
offset, every person's titles, and which people were recently the subject of a
sentence (the antecedent a reader picks for "he" or "the leader").
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

from streams.core.cues import (
    ENTITY_SPEAKER_TYPES,
    GENDERED_NOUNS,
    GENDERED_PRONOUNS,
    GENERIC_ROLES,
    HONORIFIC_GENDERS,
    PERSON_PRONOUNS,
    PRONOUN_TYPES,
    ROLE_ABBREVIATIONS,
    ROLE_NOUNS,
    SPEECH_VERBS,
)
from streams.models import Entity, Speaker

_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj"})
_MAIN_DEPS = frozenset({"ROOT", "conj", "parataxis"})
_PARTICIPLE_DEPS = frozenset({"advcl", "xcomp", "acl", "conj", "pcomp"})
_TITLE_STOP_DEPS = frozenset({"det", "punct", "advmod", "relcl", "acl", "appos", "cc", "conj"})
_LABEL_RANK = {"PERSON": 0, "ORG": 1, "PLACE": 2, "NORP": 3}
_MAX_TITLE_TOKENS = 8
_NOMINAL_POS = frozenset({"NOUN", "PROPN", "PRON"})
_SURNAME_LABELS = frozenset({"PERSON", "ORG"})
_MIN_STEM = 4


@dataclass(frozen=True)
class EntityRef:
    """One mention of a canonical entity, by character offsets into the body."""

    name: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class _Antecedent:
    """A person who was the subject of a sentence at `offset` (outside quotes)."""

    offset: int
    name: str


def _stem_match(a: str, b: str) -> bool:
    """ "Ukrainian" ~ "Ukraine", "Korean" ~ "Korea": shared stem, endings may differ."""
    a, b = a.lower().removesuffix("'s"), b.lower().removesuffix("'s")
    if a == b:
        return True
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= _MIN_STEM and common >= min(len(a), len(b)) - 2


def _appositive_words(noun: Token) -> list[Token]:
    """Role words of an appositive: "a former minister who ..." -> "former minister"."""
    skipped: set[int] = set()
    for child in noun.children:
        if child.dep_ in {"relcl", "acl", "appos", "punct", "cc", "conj"} or (
            child.dep_ == "det" and child.i < noun.i
        ):
            skipped.update(t.i for t in child.subtree)
    words: list[Token] = []
    for token in noun.subtree:
        if token.i in skipped:
            if words:
                break
            continue
        words.append(token)
    return words


def _is_speech(token: Token) -> bool:
    """Speech verb lemma, not glued into a compound adjective ("so-called")."""
    if token.pos_ not in {"VERB", "AUX"} or token.lemma_.lower() not in SPEECH_VERBS:
        return False
    doc = token.doc
    return not (token.i > 0 and doc[token.i - 1].text == "-" and not doc[token.i - 1].whitespace_)


def _role_word(word: str) -> str:
    """A title word in full: "Gov." -> "governor"."""
    lower = word.lower()
    return ROLE_ABBREVIATIONS.get(lower.rstrip("."), lower)


def _is_role(token: Token) -> bool:
    return token.lemma_.lower() in ROLE_NOUNS or _role_word(token.text) in ROLE_NOUNS


class Attributor:
    """Resolves speakers within one document.

    Args:
        doc (Doc): the parsed body.
        entities (Sequence[Entity]): canonical entities of the body.
        in_quote (Callable[[int], bool]): whether a character offset lies inside quote marks.
    """

    def __init__(
        self, doc: Doc, entities: Sequence[Entity], in_quote: Callable[[int], bool]
    ) -> None:
        self._doc = doc
        self._text = doc.text  # Doc.text joins every token on each access
        self._in_quote = in_quote
        refs = [EntityRef(e.name, e.label, m.start, m.end) for e in entities for m in e.mentions]
        refs.sort(key=lambda r: (r.start, r.end))
        self._refs = self._resolve_surnames(refs)
        self._starts = [r.start for r in refs]
        self._titles: dict[str, list[tuple[int, str]]] = {}
        self._antecedents: list[_Antecedent] = []
        self._collect_person_facts()
        self._antecedent_offsets = [a.offset for a in self._antecedents]
        self._genders: dict[str, str] = {}
        self._collect_genders()

    def _resolve_surnames(self, refs: list[EntityRef]) -> list[EntityRef]:
        """A surname written alone ("Hale said") is the person named in full earlier,
        outside quotes ("Jo Hale"), even where the recogniser took it for an organisation.
        When relatives share the surname it is the one named in full most often (the
        others go by first name); on a tie it stays unresolved."""
        named: dict[str, Counter[str]] = {}
        resolved: list[EntityRef] = []
        for ref in refs:
            surface = self._text[ref.start : ref.end].removesuffix("'s").removesuffix("’s")
            if ref.label in _SURNAME_LABELS and ref.name == surface and surface.isalpha():
                ranked = named.get(surface, Counter()).most_common(2)
                if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
                    ref = EntityRef(ranked[0][0], "PERSON", ref.start, ref.end)
            resolved.append(ref)
            words = ref.name.split()
            if (
                ref.label == "PERSON"
                and len(words) > 1
                and words[-1].isalpha()
                and not self._in_quote(ref.start)
            ):
                named.setdefault(words[-1], Counter())[ref.name] += 1
        return resolved

    # ------------------------------------------------------------------ lookups

    def refs_in(self, start: int, end: int) -> list[EntityRef]:
        """Entity mentions overlapping [start, end), in text order."""
        hi = bisect.bisect_left(self._starts, end)
        return [r for r in self._refs[:hi] if r.end > start]

    def _ref_at_token(self, token: Token) -> EntityRef | None:
        hits = self.refs_in(token.idx, token.idx + len(token.text))
        hits.sort(key=lambda r: _LABEL_RANK.get(r.label, 9))
        return hits[0] if hits else None

    def title_of(self, name: str) -> str | None:
        """The first title seen anywhere in the article for `name`."""
        titles = self._titles.get(name)
        return min(titles)[1] if titles else None

    # ------------------------------------------------------------------ facts

    def _person_spans(self) -> list[tuple[EntityRef, Span]]:
        """Every person mention with its token span (mentions no token covers are skipped)."""
        found: list[tuple[EntityRef, Span]] = []
        for ref in self._refs:
            if ref.label != "PERSON":
                continue
            span = self._doc.char_span(ref.start, ref.end, alignment_mode="expand")
            if span is not None and len(span) > 0:
                found.append((ref, span))
        return found

    def _collect_person_facts(self) -> None:
        """Titles of every person mention and the people who were sentence subjects."""
        seen_heads: set[int] = set()
        for ref, span in self._person_spans():
            head = span.root
            if head.i in seen_heads:
                continue
            seen_heads.add(head.i)
            for offset, title in self._titles_around(span):
                self._titles.setdefault(ref.name, []).append((offset, title))
            if not self._in_quote(ref.start) and self._is_subject_like(head, span):
                self._antecedents.append(_Antecedent(ref.start, ref.name))
        for token in self._doc:
            if token.dep_ in _SUBJECT_DEPS and token.pos_ == "NOUN" and _is_role(token):
                if self._in_quote(token.idx):
                    continue
                name = self._resolve_description(token)
                if name:
                    self._antecedents.append(_Antecedent(token.idx, name))
        self._antecedents.sort(key=lambda a: a.offset)

    def _is_subject_like(self, head: Token, span: Span) -> bool:
        """Subject of a clause, or a name opening its sentence (parsers often miss those)."""
        if head.dep_ == "ROOT" or (head.dep_ in _SUBJECT_DEPS and head.head.dep_ in _MAIN_DEPS):
            return True
        first = span.sent[0]
        while first.is_space or first.is_punct:
            if first.i + 1 >= len(self._doc):
                break
            first = self._doc[first.i + 1]
        return first.i == span.start

    def _titles_around(self, span: Span) -> list[tuple[int, str]]:
        """Role pre-modifiers ("NATO chief Mark Rutte") and appositives ("Rutte, a former ...")."""
        found: list[tuple[int, str]] = []
        head = span.root
        left = [t for t in self._doc[head.left_edge.i : span.start] if t.i >= span.sent.start]
        # keep the contiguous run just before the name, stopping at punctuation
        run: list[Token] = []
        for token in reversed(left[-_MAX_TITLE_TOKENS:]):
            if token.dep_ in _TITLE_STOP_DEPS and token.tag_ != "POS":
                break
            run.insert(0, token)
        if run and any(_is_role(t) for t in run):
            start, end = run[0].idx, run[-1].idx + len(run[-1].text)
            found.append((start, self._text[start:end]))
        for child in head.children:
            if child.dep_ == "appos" and child.i > head.i and _is_role(child):
                words = _appositive_words(child)
                if words:
                    start, end = words[0].idx, words[-1].idx + len(words[-1].text)
                    found.append((start, self._text[start:end]))
        return found

    # ------------------------------------------------------------------ resolution

    def _recent_person(self, offset: int, gender: str | None = None) -> str | None:
        """The last person who was a sentence subject before `offset`, skipping people
        known to be of the other gender than the pronoun's."""
        i = bisect.bisect_left(self._antecedent_offsets, offset)
        for antecedent in reversed(self._antecedents[:i]):
            known = self._genders.get(antecedent.name)
            if gender is None or known is None or known == gender:
                return antecedent.name
        return None

    def subject_person_between(self, start: int, end: int) -> str | None:
        """The last person who was a main-clause subject in [start, end), if any."""
        i = bisect.bisect_left(self._antecedent_offsets, end)
        if i and self._antecedents[i - 1].offset >= start:
            return self._antecedents[i - 1].name
        return None

    def _collect_genders(self) -> None:
        """Each person's gender where the article shows it: an honorific before the name,
        a gendered title, or the pronouns of sentences naming that person alone."""
        votes: dict[str, Counter[str]] = {}
        named: dict[int, set[str]] = {}  # sentence start -> people named outside quotes
        first_named: dict[int, int] = {}  # sentence start -> token of its first name
        for ref, span in self._person_spans():
            if not self._in_quote(ref.start):
                named.setdefault(span.sent.start, set()).add(ref.name)
                first_named.setdefault(span.sent.start, span.start)
            tally = votes.setdefault(ref.name, Counter())
            for child in span.root.children:  # "Jo Hale, the mayor's daughter"
                if child.dep_ == "appos" and child.lower_ in GENDERED_NOUNS:
                    tally[GENDERED_NOUNS[child.lower_]] += 3
            before = self._doc[span.start - 1].lower_.rstrip(".") if span.start else ""
            if before in HONORIFIC_GENDERS:
                tally[HONORIFIC_GENDERS[before]] += 3
        for name, titles in self._titles.items():
            tally = votes.setdefault(name, Counter())
            for _, title in titles:
                for word in title.lower().split():
                    if word in GENDERED_NOUNS:
                        tally[GENDERED_NOUNS[word]] += 3
        for sent_start, names in named.items():
            if len(names) != 1:
                continue
            tally = votes.setdefault(next(iter(names)), Counter())
            for token in self._doc[sent_start].sent:
                gender = GENDERED_PRONOUNS.get(token.lower_)
                after = token.i > first_named[sent_start]  # not "he" before the name
                if gender is not None and after and not self._in_quote(token.idx):
                    tally[gender] += 1
        for name, tally in votes.items():
            ranked = tally.most_common(2)
            if ranked and (len(ranked) == 1 or ranked[0][1] > 2 * ranked[1][1]):
                self._genders[name] = ranked[0][0]

    def _resolve_description(self, noun: Token) -> str | None:
        """ "the Ukrainian leader" -> the most recent person whose titles fit."""
        modifiers = [
            c.text for c in noun.children if c.dep_ in {"amod", "compound", "poss", "nmod"}
        ]
        role = noun.lemma_.lower()
        candidates: list[tuple[int, str]] = []
        for ref in self.refs_in(0, noun.idx):
            if ref.label == "PERSON" and not self._in_quote(ref.start):
                candidates.append((ref.start, ref.name))
        for _, name in sorted(candidates, reverse=True):
            titles = [t for _, t in self._titles.get(name, [])]
            words = [_role_word(w) for t in titles for w in t.replace("'s", " ").split()]
            role_fits = role in GENERIC_ROLES or any(_stem_match(role, w) for w in words)
            if not titles or not role_fits:
                continue
            if all(any(_stem_match(m, w) for w in words) for m in modifiers):
                return name
        return None

    def subject_of(self, verb: Token) -> Token | None:
        """The grammatical speaker of a speech verb.

        A conjunct shares its head's subject ("X arrived and said"); a participle
        ("..., adding ...") borrows the subject of the speech verb it hangs from, or of
        the main clause ("X spoke on Tuesday, arguing ..."), not of the nearest verb,
        which is usually inside the reported clause. Words inside quote marks are never
        the subject (the parser sometimes hangs a quoted noun on "said").
        """
        subject = self._walk_to_subject(verb)
        return subject if subject is not None else self._adjacent_name(verb)

    def _walk_to_subject(self, verb: Token) -> Token | None:
        current = verb
        previous: Token | None = None
        participle = verb.dep_ in _PARTICIPLE_DEPS and verb.tag_ in {"VBG", "VBN"}
        for _ in range(6):
            subject = next(
                (
                    c
                    for c in current.children
                    if c.dep_ in _SUBJECT_DEPS and not self._in_quote(c.idx)
                ),
                None,
            )
            if subject is not None and (
                current is verb
                or current.dep_ == "conj"
                or (previous is not None and previous.dep_ == "conj" and verb.dep_ == "conj")
                or _is_speech(current)
                or (participle and current.dep_ == "ROOT")
            ):
                return subject
            head = current.head
            if current.dep_ == "acl" and (
                head.pos_ in {"PROPN", "PRON"} or (head.pos_ == "NOUN" and _is_role(head))
            ):
                return head
            if head.i == current.i:
                return None
            previous, current = current, head
        return None

    def _adjacent_name(self, verb: Token) -> Token | None:
        """A name written right before or after the verb ("..., police chief Jo Hale said")
        when the parser hung it elsewhere."""
        doc = self._doc
        for i in (verb.i - 1, verb.i + 1):
            if 0 <= i < len(doc) and doc[i].pos_ == "PROPN" and not self._in_quote(doc[i].idx):
                ref = self._ref_at_token(doc[i])
                if ref is not None and ref.label == "PERSON":
                    return doc[i]
        return None

    def speaker(self, subject: Token) -> Speaker:
        """Speaker for a subject token: entity, pronoun, role description or group."""
        lower = subject.lower_
        if subject.pos_ == "PRON" or lower in PRONOUN_TYPES:
            if lower in PERSON_PRONOUNS:
                name = self._recent_person(subject.idx, GENDERED_PRONOUNS.get(lower))
                if name:
                    return Speaker(name=name, title=self.title_of(name), type="person")
            return Speaker(name=None, type=PRONOUN_TYPES.get(lower, "unknown"))
        if any(c.dep_ == "conj" and c.pos_ in _NOMINAL_POS for c in subject.children):
            return Speaker(name=self._phrase(subject), type="group")
        ref = self._ref_at_token(subject)
        if ref is not None:
            kind = ENTITY_SPEAKER_TYPES.get(ref.label, "unknown")
            title = self.title_of(ref.name) if kind == "person" else None
            return Speaker(name=ref.name, title=title, type=kind)
        if _is_role(subject) and subject.tag_ in {"NN", "NNP"}:
            name = self._resolve_description(subject)
            if name:
                return Speaker(name=name, title=self.title_of(name), type="person")
            return Speaker(name=None, title=self._phrase(subject), type="person")
        if subject.pos_ in {"NOUN", "PROPN"}:
            return Speaker(name=self._phrase(subject), type="group")
        return Speaker(name=self._phrase(subject), type="unknown")

    def _phrase(self, subject: Token) -> str:
        """The subject's noun phrase without relative clauses, appositives, prepositions
        other than its own "of" ("groups of protesters") or a leading 'the'."""
        drop = {"relcl", "acl", "appos", "prep"}
        tokens = [subject]
        stack = list(subject.children)
        while stack:
            child = stack.pop()
            partitive = child.head.i == subject.i and child.lower_ == "of"
            if (child.dep_ in drop and not partitive) or (
                child.dep_ == "punct" and child.i > subject.i
            ):
                continue
            tokens.append(child)
            stack.extend(child.children)
        tokens.sort(key=lambda t: t.i)
        while tokens and (tokens[0].dep_ in {"det", "punct"}):
            tokens.pop(0)
        while tokens and tokens[-1].is_punct:
            tokens.pop()
        if not tokens:
            return subject.text
        start, end = tokens[0].idx, tokens[-1].idx + len(tokens[-1].text)
        return self._text[start:end]


def is_speech_verb(token: Token) -> bool:
    """A verb (not a noun like "call") whose lemma introduces speech."""
    return _is_speech(token)


__all__ = ["Attributor", "EntityRef", "is_speech_verb"]
