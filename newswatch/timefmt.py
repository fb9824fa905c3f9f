"""Times as an analyst reads them: local time (or UTC on request), dates shown as dates, stand-ins marked.

Stored times are ISO 8601 UTC text. Shared by the CLI, the alert line and the interface, so every place
that shows a date says the same thing about it. Nothing here imports textual.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from feeds.records import (
    DATE_FROM_FEED,
    DATE_FROM_FETCH,
    DATE_FROM_MENTION,
    DATE_FROM_MTIME,
    DATE_FROM_RECORD,
    DATE_FROM_TEXT,
    DATE_FROM_TEXT_NO_YEAR,
    UNCERTAIN_DATE_ORIGINS,
)

# Put before a stand-in date (the file's time, the time first fetched): not when the article was published.
STAND_IN_MARK = "~"

_ORIGIN_PHRASES = {
    DATE_FROM_FEED: "date from the feed",
    DATE_FROM_TEXT: "date from the article's date line",
    DATE_FROM_TEXT_NO_YEAR: "day from the article's date line, year inferred",
    DATE_FROM_MENTION: "no date line: the latest date the text mentions",
    DATE_FROM_RECORD: "date from the record",
    DATE_FROM_MTIME: "no date in the file: its modification time stands in",
    DATE_FROM_FETCH: "no date in the feed entry: the time it was first fetched stands in",
}


def is_stand_in(origin: str | None) -> bool:
    return origin in UNCERTAIN_DATE_ORIGINS


def origin_phrase(origin: str | None) -> str:
    """Where a date came from, for the reader's metadata line."""
    return _ORIGIN_PHRASES.get(origin or "", "date of unknown origin")


def parse_stored(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def is_date_only(when: datetime, origin: str | None) -> bool:
    """A value that is a day, not a moment: midnight UTC exactly, as dates without a time are stored.

    Shown in local time it would read "00:00" (or the evening before, west of Greenwich)."""
    return not is_stand_in(origin) and when.astimezone(UTC).timetz() == time(0, tzinfo=UTC)


def to_display(when: datetime, *, utc: bool = False) -> datetime:
    """In the user's time zone (TZ respected), or UTC."""
    return when.astimezone(UTC) if utc else when.astimezone()


def format_when(
    value: str | None,
    origin: str | None = DATE_FROM_FEED,
    *,
    utc: bool = False,
    now: datetime | None = None,
    short: bool = False,
) -> str:
    """'2024-11-05 14:05', a day as '2024-11-05', a stand-in as '~2024-12-01 10:02'.

    `short` drops the year in the current year ('11-05 14:05', '11-05') and the time in other years."""
    when = parse_stored(value)
    if when is None:
        return ""
    mark = STAND_IN_MARK if is_stand_in(origin) else ""
    if is_date_only(when, origin):
        day = when.astimezone(UTC)
        if short and day.year == (now or datetime.now(UTC)).year:
            return f"{mark}{day:%m-%d}"
        return f"{mark}{day:%Y-%m-%d}"
    shown = to_display(when, utc=utc)
    if short:
        this_year = to_display(now or datetime.now(UTC), utc=utc).year
        return f"{mark}{shown:%m-%d %H:%M}" if shown.year == this_year else f"{mark}{shown:%Y-%m-%d}"
    return f"{mark}{shown:%Y-%m-%d %H:%M}"


def format_span(
    first: str | None,
    last: str | None,
    first_origin: str | None = DATE_FROM_FEED,
    last_origin: str | None = DATE_FROM_FEED,
    *,
    utc: bool = False,
    now: datetime | None = None,
    short: bool = False,
) -> str:
    """A story's first report, and '→ last' when its reports span more than one day ('11-05 → 11-07')."""
    start = format_when(first, first_origin, utc=utc, now=now, short=short)
    first_day, last_day = _day(first, first_origin, utc), _day(last, last_origin, utc)
    if not start or last_day is None or first_day is None or last_day <= first_day:
        return start
    end = format_when(last, last_origin, utc=utc, now=now, short=True)
    return f"{start} → {end.split(' ')[0] if ' ' in end else end}"


def _day(value: str | None, origin: str | None, utc: bool) -> object:
    when = parse_stored(value)
    if when is None:
        return None
    return when.astimezone(UTC).date() if is_date_only(when, origin) else to_display(when, utc=utc).date()
