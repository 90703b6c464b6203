"""Word tables for claim extraction, kept as data so rules never grow into if-chains.

Everything here is a general convention of news English (speech verbs, role nouns,
hedges on numbers, unit spellings); nothing names a particular story or person.
"""

from __future__ import annotations

from typing import Final, Literal

SpeakerType = Literal["person", "organization", "place", "group", "unknown"]

SPEECH_VERBS: Final[frozenset[str]] = frozenset(
    {
        "accuse",
        "acknowledge",
        "add",
        "admit",
        "agree",
        "allege",
        "announce",
        "argue",
        "ask",
        "assert",
        "assure",
        "believe",
        "blast",
        "boast",
        "brag",
        "brand",
        "call",
        "caution",
        "chant",
        "characterise",
        "characterize",
        "charge",
        "chime",
        "cite",
        "claim",
        "comment",
        "complain",
        "concede",
        "conclude",
        "concur",
        "condemn",
        "confirm",
        "contend",
        "counter",
        "criticise",
        "criticize",
        "declare",
        "decry",
        "demand",
        "deny",
        "deride",
        "describe",
        "dismiss",
        "dub",
        "echo",
        "emphasise",
        "emphasize",
        "estimate",
        "exclaim",
        "explain",
        "grumble",
        "hail",
        "indicate",
        "insist",
        "interject",
        "joke",
        "label",
        "lambast",
        "lambaste",
        "lament",
        "maintain",
        "marvel",
        "mention",
        "mock",
        "muse",
        "note",
        "observe",
        "opine",
        "plead",
        "pledge",
        "point",
        "posit",
        "pound",
        "praise",
        "predict",
        "proclaim",
        "promise",
        "question",
        "quip",
        "rail",
        "recall",
        "recount",
        "reiterate",
        "remark",
        "reply",
        "report",
        "respond",
        "retort",
        "reveal",
        "ridicule",
        "say",
        "scoff",
        "scream",
        "shout",
        "slam",
        "snap",
        "speculate",
        "state",
        "stress",
        "suggest",
        "surmise",
        "tell",
        "term",
        "testify",
        "tout",
        "tweet",
        "urge",
        "vow",
        "warn",
        "whisper",
        "wonder",
        "write",
        "yell",
    }
)
"""Lemmas of verbs that introduce speech (direct, partial or reported)."""

CLAUSE_CUES: Final[frozenset[str]] = SPEECH_VERBS - frozenset(
    {
        "call",
        "describe",
        "slam",
        "decry",
        "condemn",
        "criticise",
        "criticize",
        "hail",
        "dismiss",
        "accuse",
        "urge",
        "promise",
        "pledge",
        "vow",
        "respond",
        "reply",
        "comment",
        "recall",
        "chant",
        "marvel",
        "rail",
        "question",
        "echo",
        "snap",
        "blast",
        "cite",
        "mock",
        "label",
        "brand",
        "dub",
        "term",
        "characterize",
        "characterise",
        "praise",
        "lambaste",
        "lambast",
        "ridicule",
        "tout",
        "deride",
        "pound",
    }
)
"""Speech verbs whose clausal complement is a reported statement ("X said that ...")."""

ROLE_NOUNS: Final[frozenset[str]] = frozenset(
    {
        "adviser",
        "advisor",
        "ambassador",
        "analyst",
        "boss",
        "chair",
        "chairman",
        "chairwoman",
        "chancellor",
        "chief",
        "commander",
        "commissioner",
        "correspondent",
        "deputy",
        "diplomat",
        "director",
        "envoy",
        "executive",
        "expert",
        "general",
        "governor",
        "head",
        "king",
        "leader",
        "lawmaker",
        "mayor",
        "minister",
        "official",
        "officer",
        "premier",
        "president",
        "prosecutor",
        "queen",
        "representative",
        "secretary",
        "senator",
        "source",
        "speaker",
        "spokesman",
        "spokesperson",
        "spokeswoman",
        "staff",
        "negotiator",
        "ceo",
        "founder",
        "economist",
        "scientist",
        "researcher",
        "professor",
    }
)
"""Nouns that make a pre-modifier or description a role ("NATO chief", "the leader")."""

ROLE_ABBREVIATIONS: Final[dict[str, str]] = {
    "gov": "governor",
    "sen": "senator",
    "rep": "representative",
    "gen": "general",
    "sec": "secretary",
    "amb": "ambassador",
    "atty": "attorney",
    "cmdr": "commander",
    "supt": "superintendent",
}
"""Abbreviated titles before a name ("Gov. Jo Hale") and the role noun each stands for."""

GENERIC_ROLES: Final[frozenset[str]] = frozenset({"leader", "official", "head", "chief"})
"""Role nouns a later description may use for any specific role ("the Ukrainian leader")."""

PRONOUN_TYPES: Final[dict[str, SpeakerType]] = {
    "he": "person",
    "she": "person",
    "they": "group",
    "it": "unknown",
    "we": "group",
    "i": "person",
}
"""Subject pronouns and the speaker type they stand for."""

PERSON_PRONOUNS: Final[frozenset[str]] = frozenset({"he", "she"})
"""Pronouns resolved to the most salient person."""

ENTITY_SPEAKER_TYPES: Final[dict[str, SpeakerType]] = {
    "PERSON": "person",
    "ORG": "organization",
    "PLACE": "place",
    "NORP": "group",
}
"""Entity label -> speaker type."""

SOURCE_MARKERS: Final[tuple[tuple[str, str], ...]] = (("according", "to"),)
"""Two-word phrases that name the source of a statement without a speech verb."""

ESTIMATE_VERBS: Final[frozenset[str]] = frozenset({"put", "place", "peg", "estimate", "set"})
"""Verbs of "<source> put the number of X at N": a sourced figure without a speech verb."""

ESTIMATE_NOUNS: Final[frozenset[str]] = frozenset(
    {"number", "toll", "figure", "estimate", "count", "total", "tally", "cost", "size", "death"}
)
"""Objects of an estimate verb that make its "at N" phrase a statistic."""

APPROX_QUALIFIERS: Final[tuple[str, ...]] = (
    "as many as",
    "as much as",
    "as few as",
    "as little as",
    "more than",
    "less than",
    "fewer than",
    "greater than",
    "at least",
    "at most",
    "up to",
    "close to",
    "upwards of",
    "an estimated",
    "some",
    "around",
    "about",
    "nearly",
    "almost",
    "over",
    "under",
    "roughly",
    "approximately",
    "just over",
    "just under",
)
"""Hedges written before a number (longest first where they share words)."""

SCALE_WORDS: Final[dict[str, float]] = {
    "thousand": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
}
"""Scale words after a number ("1.2 billion")."""

CURRENCY_SYMBOLS: Final[dict[str, str]] = {
    "US$": "USD",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
}
"""Currency signs written before a number."""

UNIT_WORDS: Final[tuple[tuple[str, str], ...]] = (
    (r"square[ -]kilomet(?:er|re)s?", "square kilometers"),
    (r"sq\.? ?km", "square kilometers"),
    (r"km2|km²", "square kilometers"),
    (r"square[ -]miles?", "square miles"),
    (r"square[ -]met(?:er|re)s?", "square meters"),
    (r"hectares?", "hectares"),
    (r"acres?", "acres"),
    (r"kilomet(?:er|re)s?|km", "kilometers"),
    (r"met(?:er|re)s?", "meters"),
    (r"miles?", "miles"),
    (r"tonnes?|metric tons?", "tonnes"),
    (r"tons?", "tons"),
    (r"kilo(?:gram|gramme)?s?|kg", "kilograms"),
    (r"barrels?", "barrels"),
    (r"per ?cent|percent|%", "percent"),
    (r"percentage points?", "percentage points"),
    (r"dollars?", "USD"),
    (r"euros?", "EUR"),
    (r"pounds sterling", "GBP"),
    (r"years?", "years"),
    (r"months?", "months"),
    (r"weeks?", "weeks"),
    (r"days?", "days"),
    (r"hours?", "hours"),
)
"""Unit spellings after a number (regex source) -> canonical unit."""

MONTHS: Final[tuple[str, ...]] = (
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
)
"""Month names and abbreviations: a number next to one is a date, not a quantity."""

QUOTE_PAIRS: Final[dict[str, str]] = {
    "\u201c": "\u201d",
    '"': '"',
    "\u00ab": "\u00bb",
    "''": "''",
}
"""Opening quote mark -> closing mark. Single quotes are left out: they double as
apostrophes; two of them ('') are a double quote in some wire copy."""

MIN_PARTIAL_WORDS: Final[int] = 2
"""A quoted fragment shorter than this is part of the clause around it, not a claim."""

NAMING_VERBS: Final[frozenset[str]] = frozenset(
    {
        "brand",
        "call",
        "characterise",
        "characterize",
        "decry",
        "deride",
        "describe",
        "dismiss",
        "dub",
        "hail",
        "label",
        "praise",
        "term",
    }
)
"""Speech verbs that put a quoted word on something ('called the plan "reckless"'): even
a one-word fragment is a claim there, read with the thing it names."""

CLAIM_NOUNS: Final[frozenset[str]] = frozenset(
    {
        "accusation",
        "allegation",
        "argument",
        "assertion",
        "claim",
        "contention",
        "emphasis",
        "insistence",
        "statement",
        "suggestion",
        "warning",
    }
)
"""Nouns whose that-clause reports what their possessor said ("Trump's claim that ...")."""

MIN_TITLE_WORDS: Final[int] = 2
"""A quoted fragment of at least this many words, all capitalised, is a title ("Face the
Nation"), not somebody's words."""

WEAK_FRAGMENT_POS: Final[frozenset[str]] = frozenset({"ADP", "ADV", "PART", "SCONJ", "CCONJ"})
"""A fragment headed by one of these ("for the first time", "soon") is no claim of its own."""

MAX_CROSSHEAD_WORDS: Final[int] = 8
"""A paragraph this short without closing punctuation is a crosshead, not prose."""

MAX_ATTRIBUTION_GAP_WORDS: Final[int] = 40
"""Longest attribution ("she said in an interview on Monday,") a quote resumes after."""

GENDERED_PRONOUNS: Final[dict[str, str]] = {
    "he": "m",
    "him": "m",
    "his": "m",
    "himself": "m",
    "she": "f",
    "her": "f",
    "hers": "f",
    "herself": "f",
}
"""Third-person pronouns that tell a person's grammatical gender."""

HONORIFIC_GENDERS: Final[dict[str, str]] = {"mr": "m", "mrs": "f", "ms": "f", "miss": "f"}
"""Honorifics (without their full stop) written before a name."""

GENDERED_NOUNS: Final[dict[str, str]] = {
    "congressman": "m",
    "congresswoman": "f",
    "chairman": "m",
    "chairwoman": "f",
    "spokesman": "m",
    "spokeswoman": "f",
    "businessman": "m",
    "businesswoman": "f",
    "king": "m",
    "queen": "f",
    "husband": "m",
    "wife": "f",
    "father": "m",
    "mother": "f",
    "son": "m",
    "daughter": "f",
    "brother": "m",
    "sister": "f",
    "actor": "m",
    "actress": "f",
    "man": "m",
    "woman": "f",
}
"""Words of a title that tell the person's gender."""
