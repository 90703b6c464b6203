"""Render realistic news pages for tests, built at test time from scraped page text.

`seed_page` carves the seed's scraped text into the parts a news site prints (site
header, section, title, byline, dateline, body, embedded story, related links, teasers,
headline lists, footer) and `render_page` lays them out as a typical news page with
navigation, sidebar and footer around an <article>. No page text is stored in the repo.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_AGENCY_DATELINE = re.compile(
    r"^[A-Z][\w .,'-]{1,60} \((?:AFP|AP|Reuters|UPI)\) \w{3} \d{1,2}, \d{4}"
)
_EMBEDDED_LEAD = re.compile(
    r"^(?P<dateline>[A-Z][\w .,'-]{1,60} \((?:AFP|AP|Reuters|UPI)\) "
    r"\w{3} \d{1,2}, \d{4}) - (?P<text>.+)$"
)


@dataclass(frozen=True)
class EmbeddedStory:
    """A second wire story printed inside the page's article."""

    title: str
    dateline: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Teaser:
    """A "related content" teaser: section, headline, dateline and a snippet."""

    section: str
    title: str
    dateline: str
    snippet: str


@dataclass(frozen=True)
class NewsPage:
    """The printable parts of one news page."""

    site: str
    section: str
    title: str
    byline: str
    dateline: str
    paragraphs: tuple[str, ...]
    embedded: tuple[EmbeddedStory, ...] = ()
    related_links: tuple[str, ...] = ()
    subscribe: str = "Subscribe Free To Our Daily Newsletters"
    related_intro: str = ""
    teasers: tuple[Teaser, ...] = ()
    headline_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    footer: str = ""
    nav: tuple[str, ...] = field(default=("Home", "News", "Science", "Defense", "About Us"))


def _blocks(lines: list[str]) -> list[list[str]]:
    """Split lines into runs separated by blank lines."""
    runs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            runs[-1].append(line.strip())
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def seed_page(seed_text: str) -> NewsPage:
    """Carve the seed's scraped text into the parts of a `NewsPage`."""
    lines = seed_text.splitlines()
    site, section, title = lines[0].strip(), lines[1].strip(), lines[2].strip()
    byline = next(line for line in lines[3:6] if line.lower().startswith("by "))
    dateline = next(line for line in lines[3:7] if _AGENCY_DATELINE.match(line))
    start = lines.index(dateline) + 1
    end = lines.index("Related Links")
    story_runs = _blocks(lines[start:end])
    paragraphs: list[str] = []
    embedded: list[EmbeddedStory] = []
    current: list[str] = paragraphs
    for run in story_runs:
        match = _EMBEDDED_LEAD.match(run[-1]) if len(run) == 2 else None
        if match:
            body = [match.group("text")]
            embedded.append(EmbeddedStory(run[0], match.group("dateline"), ()))
            current = body
            embedded[-1] = EmbeddedStory(run[0], match.group("dateline"), ())
            embedded_body = body
            continue
        current.append(" ".join(run))
    if embedded:
        embedded[-1] = EmbeddedStory(
            embedded[-1].title, embedded[-1].dateline, tuple(embedded_body)
        )

    tail = lines[end:]
    tail_runs = _blocks(tail)
    related_links = tuple(tail_runs[0][1:])
    related_at = next(i for i, line in enumerate(tail) if line.strip() == "RELATED CONTENT")
    rel = [line.strip() for line in tail[related_at + 1 :] if line.strip()]
    intro = rel[0]
    teasers = (Teaser(section=rel[1], title=rel[2], dateline=rel[3], snippet=rel[4]),)
    groups: list[tuple[str, list[str]]] = []
    for line in rel[5:]:
        if line.startswith("Subscribe") or line.startswith("The content herein"):
            break
        if line == section:
            groups.append((line, []))
        elif groups:
            groups[-1][1].append(line)
    footer = next(line.strip() for line in reversed(lines) if line.strip())
    return NewsPage(
        site=site,
        section=section,
        title=title,
        byline=byline,
        dateline=dateline,
        paragraphs=tuple(paragraphs),
        embedded=tuple(embedded),
        related_links=related_links,
        related_intro=intro,
        teasers=teasers,
        headline_groups=tuple((name, tuple(items)) for name, items in groups if items),
        footer=footer,
    )


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _link(text: str, href: str = "#") -> str:
    return f'<a href="{_e(href)}">{_e(text)}</a>'


def _embedded_html(story: EmbeddedStory, style: str) -> str:
    """An embedded story: its headline as <h2>, or bold with a <br> before the dateline."""
    first, *rest = story.paragraphs
    lead = f"{_e(story.dateline)} - {_e(first)}"
    if style == "h2":
        out = [f"<h2>{_e(story.title)}</h2>", f"<p>{lead}</p>"]
    else:
        out = [f"<p><b>{_e(story.title)}</b><br>{lead}</p>"]
    out.extend(f"<p>{_e(p)}</p>" for p in rest)
    return "\n".join(out)


def render_page(page: NewsPage, *, embedded_style: str = "bold-br") -> str:
    """Lay `page` out as a typical news site page (nav, sidebar, article, footer)."""
    nav = "".join(f"<li>{_link(item)}</li>" for item in page.nav)
    sidebar = "\n".join(
        f'<div class="headlines"><h3>{_e(name)}</h3><ul>'
        + "".join(f"<li>{_link(item)}</li>" for item in items)
        + "</ul></div>"
        for name, items in page.headline_groups
    )
    body = "\n".join(f"<p>{_e(p)}</p>" for p in page.paragraphs)
    embedded = "\n".join(_embedded_html(story, embedded_style) for story in page.embedded)
    links = "".join(f"<li>{_link(link)}</li>" for link in page.related_links)
    teasers = "\n".join(
        f'<div class="teaser"><div class="kicker">{_e(t.section)}</div>'
        f'<h3>{_link(t.title)}</h3><div class="dateline">{_e(t.dateline)}</div>'
        f"<p>{_e(t.snippet)}</p></div>"
        for t in page.teasers
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_e(page.title)}</title>
<meta property="og:site_name" content="{_e(page.site)}">
<meta property="og:title" content="{_e(page.title)}">
<meta property="article:section" content="{_e(page.section)}">
<script>window.dataLayer = window.dataLayer || []; function gtag(){{}}</script>
<style>body {{ font-family: sans-serif; }}</style>
</head>
<body>
<div id="cookie-banner">We use cookies to improve your experience. <a href="#">Accept</a></div>
<header class="site-header"><div class="logo">{_link(page.site, "/")}</div>
<nav class="menu"><ul>{nav}</ul></nav></header>
<div class="container">
<aside class="sidebar">
<h3>Subscribe</h3><p>{_e(page.subscribe)}</p>
{sidebar}
</aside>
<main>
<div class="section-label">{_link(page.section)}</div>
<article class="story">
<h1>{_e(page.title)}</h1>
<div class="byline">{_e(page.byline)}</div>
<div class="dateline">{_e(page.dateline)}</div>
<div class="story-body">
{body}
{embedded}
</div>
<div class="related-links"><h4>Related Links</h4><ul>{links}</ul></div>
<div class="share"><p>{_e(page.subscribe)}</p>{_link("Tweet")}</div>
</article>
<section class="related-content"><h3>RELATED CONTENT</h3><p>{_e(page.related_intro)}</p>
{teasers}
</section>
</main>
</div>
<footer><p>{_e(page.subscribe)}</p><p class="copyright">{_e(page.footer)}</p></footer>
</body>
</html>
"""
