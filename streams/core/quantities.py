"""Numbers stated in a claim: value, unit and hedge, as written.

Regex-only on purpose: claim texts are short, and numbers follow a few fixed
conventions (thousands separators, currency signs, scale words, units) that a
tokenizer would only split apart. Years and calendar dates are not quantities.
"""

from __future__ import annotations

import re
from typing import Final

from streams.core.cues import APPROX_QUALIFIERS, CURRENCY_SYMBOLS, MONTHS, SCALE_WORDS, UNIT_WORDS
from streams.models import Quantity


def _alternation(words: list[str]) -> str:
    """Regex alternation, longest first so "as many as" beats "as"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_UNIT_CANON: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(rf"(?:{src})\Z", re.IGNORECASE), canon) for src, canon in UNIT_WORDS
)

_UNIT_ALT: Final[str] = "|".join(src.replace(" ", r"\s") for src, _ in UNIT_WORDS)

_QUANTITY_RE: Final[re.Pattern[str]] = re.compile(
    rf"""
    (?<![\w.,:\-/])                                      # not glued to a word, code or decimal
    (?:(?P<approx>{_alternation(list(APPROX_QUALIFIERS))})\s+)?
    (?P<currency>{_alternation(list(CURRENCY_SYMBOLS))})?
    (?P<number>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)
    (?:\s?(?P<scale>{_alternation([w for w in SCALE_WORDS if len(w) > 2])})\b
       |(?P<abbr>{_alternation([w for w in SCALE_WORDS if len(w) <= 2])})\b)?
    (?:\s?(?P<unit>{_UNIT_ALT})(?![\w]))?
    (?![\w]|[.,]\d)
    """,
    re.IGNORECASE | re.VERBOSE,
)

_MONTH_ALT: Final[str] = _alternation(list(MONTHS))
_MONTH_BEFORE: Final[re.Pattern[str]] = re.compile(rf"\b(?:{_MONTH_ALT})\.?\s+\Z", re.IGNORECASE)
_MONTH_AFTER: Final[re.Pattern[str]] = re.compile(rf"\A\s+(?:{_MONTH_ALT})\b", re.IGNORECASE)
_YEAR: Final[re.Pattern[str]] = re.compile(r"(?:1[89]|20)\d\d\Z")
_TIME_CONTEXT: Final[re.Pattern[str]] = re.compile(r"\A(?::\d|\s?[ap]\.?m\b)", re.IGNORECASE)


def _is_date_or_year(text: str, match: re.Match[str]) -> bool:
    """Years ("2022", "in 1995") and day numbers next to a month ("Oct 28") are dates."""
    start, end = match.span("number")
    before, after = text[:start], text[end:]
    if _MONTH_BEFORE.search(before) or _MONTH_AFTER.match(after) or _TIME_CONTEXT.match(after):
        return True
    bare = not (match.group("approx") or match.group("currency") or match.group("unit"))
    scaled = match.group("scale") or match.group("abbr")
    return bare and not scaled and bool(_YEAR.match(match.group("number")))


def _canonical_unit(match: re.Match[str]) -> str | None:
    """Currency sign wins; otherwise the canonical name of the written unit."""
    currency = match.group("currency")
    if currency:
        return CURRENCY_SYMBOLS.get(currency.upper(), CURRENCY_SYMBOLS.get(currency, currency))
    unit = match.group("unit")
    if not unit:
        return None
    folded = " ".join(unit.split())
    for pattern, canon in _UNIT_CANON:
        if pattern.match(folded):
            return canon
    return folded.lower()


def _value(match: re.Match[str]) -> float:
    """The number as a float, scaled by "million"/"bn" and friends."""
    value = float(match.group("number").replace(",", ""))
    scale = match.group("scale") or match.group("abbr")
    if scale:
        value *= SCALE_WORDS[scale.lower()]
    return value


def extract_quantities(text: str) -> tuple[Quantity, ...]:
    """Find the numbers stated in `text`, in order.

    Args:
        text (str): a claim's text.

    Returns:
        tuple[Quantity, ...]: one per number, with `text` as written (hedge and unit included).
    """
    found: list[Quantity] = []
    for match in _QUANTITY_RE.finditer(text):
        if _is_date_or_year(text, match):
            continue
        approx = match.group("approx")
        found.append(
            Quantity(
                value=_value(match),
                unit=_canonical_unit(match),
                approx=approx.lower() if approx else None,
                text=match.group(0),
            )
        )
    return tuple(found)
