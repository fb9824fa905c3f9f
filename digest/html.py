"""The digest as one self-contained HTML page: for an email or a wiki, opened in any browser.

No external assets (styles inline, no scripts, no images, no fonts), and a Content-Security-Policy that
forbids loading or running anything, so even a mistake in escaping could not fetch or execute. Every feed
string is escaped with `html.escape` after control and invisible characters are removed; feed text gets
`dir="auto"`, so a right-to-left headline reads right to left without reordering its neighbours. Links are
http(s) only and open without a referrer.
"""

from __future__ import annotations

from html import escape

from digest.build import Digest, DigestStory
from digest.words import (
    STAND_IN_NOTE,
    also_words,
    dates_words,
    filter_words,
    has_stand_in,
    one_line,
    outlets_words,
    section_heading,
    section_notes,
    title_line,
)

_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_STYLE = """
:root { color-scheme: light dark; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 46rem;
       margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.35rem; margin-bottom: .25rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; padding-bottom: .2rem; border-bottom: 2px solid #3b6ea5; color: #234; }
ol { padding-left: 1.4rem; }
li { margin: 0 0 1.1rem; }
.headline { font-weight: 600; font-size: 1.05rem; }
.headline a { color: #1a4f8b; text-decoration: none; }
.headline a:hover { text-decoration: underline; }
.meta { color: #5f6368; font-size: .88rem; }
.extract { margin: .3rem 0; }
.also { color: #5f6368; font-size: .88rem; font-style: italic; }
.note, .filters { color: #5f6368; font-size: .9rem; }
@media (prefers-color-scheme: dark) {
  body { color: #e6e6e6; background: #161616; }
  h2 { color: #cfe0f5; border-color: #6d9fd6; }
  .headline a { color: #8ab4f8; }
  .meta, .also, .note, .filters { color: #a0a4a8; }
}
"""


def _text(value: str | None) -> str:
    return escape(one_line(value), quote=True)


def _story(story: DigestStory, *, utc: bool) -> list[str]:
    headline = _text(story.headline)
    if story.url:
        headline = (
            f'<a href="{escape(story.url, quote=True)}" rel="noopener noreferrer nofollow">{headline}</a>'
        )
    parts = [
        "<li>",
        f'<div class="headline" dir="auto">{headline}</div>',
        f'<div class="meta">{_text(outlets_words(story))}<br>{_text(dates_words(story, utc=utc))}</div>',
    ]
    if story.extract:
        parts.append(f'<p class="extract" dir="auto">{_text(story.extract)}</p>')
    if story.other_topics:
        parts.append(f'<div class="also">{_text(also_words(story))}</div>')
    parts.append("</li>")
    return parts


def render_html(digest: Digest, *, utc: bool = False) -> str:
    title = _text(title_line(digest, utc=utc))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
    ]
    if digest.filters:
        out.append(f'<p class="filters">{_text(filter_words(digest))}</p>')
    for section in digest.sections:
        out.append(f'<h2 dir="auto">{_text(section_heading(section))}</h2>')
        if section.stories:
            out.append("<ol>")
            for story in section.stories:
                out.extend(_story(story, utc=utc))
            out.append("</ol>")
        for note in section_notes(section):
            out.append(f'<p class="note">{_text(note)}</p>')
    if has_stand_in(digest):
        out.append(f'<p class="note">{_text(STAND_IN_NOTE)}</p>')
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
