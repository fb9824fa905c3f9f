"""The wording every digest format shares, so text, markdown, HTML and the interface say the same things.

Dates go through `newswatch.timefmt`, as everywhere else: local time (or UTC), a day shown as a date, a
stand-in date marked '~'. Every feed string passes through `one_line` first: no controls, escapes or
invisible characters, one line.
"""

from __future__ import annotations

from datetime import datetime

from digest.build import Digest, DigestSection, DigestStory
from feeds.sanitize import strip_controls
from newswatch.timefmt import STAND_IN_MARK, format_when, is_stand_in

MAX_OUTLET_NAMES = 6
STAND_IN_NOTE = (
    f"{STAND_IN_MARK} marks a stand-in date: the article carried none, so the time it was first fetched "
    "(or its file's time) is shown."
)


def one_line(text: str | None) -> str:
    return " ".join(strip_controls(text or "").split())


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


def title_line(digest: Digest, *, utc: bool) -> str:
    """'newswatch digest, last 24h (2024-11-05 09:00 to 2024-11-06 09:00): 5 stories'."""
    return (
        f"newswatch digest, {period_words(digest, utc=utc)}: {plural(digest.story_count, 'story', 'stories')}"
    )


def period_words(digest: Digest, *, utc: bool) -> str:
    """'last 24h (2024-11-05 09:00 to 2024-11-06 09:00)', or '2024-11-01 00:00 to 2024-11-06 09:00'."""
    since = _moment(digest.since, utc) if digest.since else "the first story"
    until = _moment(digest.until, utc) if digest.until else _moment(digest.generated_at, utc)
    label = one_line(digest.period)
    if label and label[0].isdigit() and label[-1].isalpha():  # an age ("24h", "7d"), not a date
        return f"last {label} ({since} to {until})"
    return f"{since} to {until}"


def filter_words(digest: Digest) -> str:
    return "filtered by " + "; ".join(one_line(f) for f in digest.filters) if digest.filters else ""


def _moment(when: datetime, utc: bool) -> str:
    from store.db import to_db_time

    return format_when(to_db_time(when), utc=utc)


def section_heading(section: DigestSection) -> str:
    if not section.matching:
        return f"{one_line(section.topic)}: no stories in this period"
    if not section.stories:
        return f"{one_line(section.topic)}: no other stories"
    return f"{one_line(section.topic)}: {plural(len(section.stories), 'story', 'stories')}"


def section_notes(section: DigestSection) -> list[str]:
    notes = []
    if section.left_out:
        notes.append(f"{plural(section.left_out, 'more story', 'more stories')} beyond the limit")
    if section.listed_earlier:
        notes.append(f"{plural(section.listed_earlier, 'story', 'stories')} listed under an earlier topic")
    return notes


def outlets_words(story: DigestStory) -> str:
    names = [one_line(name) for name in story.outlets[:MAX_OUTLET_NAMES]]
    more = story.outlet_count - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more > 0 else "")
    return f"{plural(story.outlet_count, 'outlet')} ({listed}), {plural(story.size, 'article')}"


def dates_words(story: DigestStory, *, utc: bool) -> str:
    first = format_when(story.first_seen, story.first_origin, utc=utc)
    last = format_when(story.last_seen, story.last_origin, utc=utc)
    if last == first:
        return f"seen {first}"
    return f"first seen {first}, last seen {last}"


def has_stand_in(digest: Digest) -> bool:
    return any(
        is_stand_in(story.first_origin) or is_stand_in(story.last_origin)
        for section in digest.sections
        for story in section.stories
    )


def also_words(story: DigestStory) -> str:
    return (
        "also in: " + ", ".join(one_line(name) for name in story.other_topics) if story.other_topics else ""
    )
