"""The digest as plain text: for cron mail and a terminal. One field a line, no colour, no escapes."""

from __future__ import annotations

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


def render_text(digest: Digest, *, utc: bool = False) -> str:
    lines = [title_line(digest, utc=utc)]
    if digest.filters:
        lines.append(filter_words(digest))
    for section in digest.sections:
        heading = section_heading(section)
        lines += ["", heading, "=" * min(len(heading), 78)]
        for number, story in enumerate(section.stories, start=1):
            lines.append(f"{number}. {one_line(story.headline)}")
            lines.append(f"   {outlets_words(story)}")
            lines.append(f"   {dates_words(story, utc=utc)}")
            if story.extract:
                lines.append(f"   {one_line(story.extract)}")
            if story.url:
                lines.append(f"   {story.url}")
            if story.other_topics:
                lines.append(f"   {also_words(story)}")
        for note in section_notes(section):
            lines.append(f"({note})")
    if not digest.sections:
        lines += ["", "No topics to report on."]
    if has_stand_in(digest):
        lines += ["", STAND_IN_NOTE]
    return "\n".join(lines) + "\n"
