"""The digest as Markdown (CommonMark), for a wiki or an email.

Feed text is escaped so that it stays text: every character that can open Markdown syntax anywhere in a line
(emphasis, code, links, images, raw HTML, entities, tables, strikethrough) gets a backslash, as CommonMark
allows before any ASCII punctuation, and so does a first character that would start a block (a list, a
quote, a heading). `<script>`, `[x](y)`, `**bold**` and `# heading` come out literally, and raw HTML never
reaches a renderer.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from digest.build import Digest
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

_INLINE = re.compile(r"([\\`*_\[\]<>#!|~&()])")
# At the start of a line: "- ", "+ ", "= ", "> ", "1. ", "1) " would open a block.
_BLOCK_START = re.compile(r"^(\d*)([-+=.)])")


def md_escape(text: str | None) -> str:
    escaped = _INLINE.sub(r"\\\1", one_line(text))
    return _BLOCK_START.sub(r"\1\\\2", escaped)


def md_url(url: str) -> str:
    """A link destination that cannot end early or carry markup: anything but URL-safe characters encoded."""
    return quote(url, safe=":/?#[]@!$&'*+,;=%-._~")


def render_markdown(digest: Digest, *, utc: bool = False) -> str:
    lines = [f"# {md_escape(title_line(digest, utc=utc))}"]
    if digest.filters:
        lines += ["", md_escape(filter_words(digest))]
    for section in digest.sections:
        lines += ["", f"## {md_escape(section_heading(section))}", ""]
        for number, story in enumerate(section.stories, start=1):
            headline = md_escape(story.headline)
            lines.append(
                f"{number}. **[{headline}]({md_url(story.url)})**"
                if story.url
                else f"{number}. **{headline}**"
            )
            lines.append(f"   {md_escape(outlets_words(story))}  ")
            lines.append(f"   {md_escape(dates_words(story, utc=utc))}")
            if story.extract:
                lines += ["", f"   > {md_escape(story.extract)}"]
            if story.other_topics:
                lines += ["", f"   *{md_escape(also_words(story))}*"]
            lines.append("")
        for note in section_notes(section):
            lines.append(f"*{md_escape(note)}*  ")
    if has_stand_in(digest):
        lines += ["", md_escape(STAND_IN_NOTE)]
    return "\n".join(lines).rstrip() + "\n"
