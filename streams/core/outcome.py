"""What one input event became: a Processed value or a DeadLetter (light module, no NLP)."""

from __future__ import annotations

from dataclasses import dataclass

from streams.models import Article, Claim, ClaimAppearances, DeadLetter


@dataclass(frozen=True)
class Processed:
    """The articles found on an event's page and their claims."""

    articles: tuple[Article, ...]
    claims: tuple[Claim, ...]
    appearances: tuple[ClaimAppearances, ...] = ()
    """Updated claim aggregates, once the stream state has seen the articles (`link`)."""


Outcome = Processed | DeadLetter
