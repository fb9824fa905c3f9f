"""Dates found in article text and in structured records, as timezone-aware UTC datetimes.

Two jobs, kept strict on purpose:
- `match_date_line` recognises a line that *is* a date (a dateline under a headline), not a line that merely
  mentions one: "5 November, 2024" or "Published: Nov. 5, 2024 10:30 GMT" qualify, a sentence of prose with a
  date inside does not. A date without a year ("Dec. 16") is recognised as a date line but yields no datetime,
  because guessing the year is wrong for any archive older than a few months.
- `parse_timestamp` reads the `published` value of a .jsonl record: ISO 8601, RFC 2822, or epoch seconds or
  milliseconds as a number or a numeric string.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

# Years outside this window are far more likely a misread number than a real publication date.
MIN_YEAR = 1900
MAX_YEAR = 2200

# A date line is short; anything longer is a sentence that happens to contain a date.
MAX_DATE_LINE_CHARS = 80

# Epoch values at or above this are milliseconds: 1e11 seconds is the year 5138, 1e11 ms is March 1973.
_MILLISECONDS_FROM = 100_000_000_000

# Month names and their English abbreviations, lowercased -> 1-12 (also read by stories.tokens).
MONTH_NUMBERS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# Longest names first so "September" is not read as "Sep" followed by junk.
_MONTH = "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True))
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_MON = rf"(?P<month>{_MONTH})\.?"

_ISO = re.compile(
    r"(?<![\d-])(?P<year>\d{4})[-/.](?P<month>[01]?\d)[-/.](?P<day>[0-3]?\d)"
    r"(?:[T ](?P<hour>[0-2]\d):(?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d)(?:[.,]\d+)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-][01]\d:?[0-5]\d)?)?(?![\d])",
    re.IGNORECASE,
)
_DAY_MONTH_YEAR = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MON}(?:,?\s+{_YEAR})?\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MON}\s+{_DAY}(?:,?\s+{_YEAR})?\b", re.IGNORECASE)

# What may surround the date on a date line: labels, weekdays, a time of day, a zone, separators.
_ALLOWED_AROUND_DATE = re.compile(
    r"""
    \b[ap]\.m\.
    | \b(?:date[ds]?|published|posted|updated|last|modified|created|first|on|at|am|pm
       |mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?
       |utc|gmt|[a-z]st|[a-z]dt|et|pt|ct|mt|cet|cest|eet|eest|msk|kst|jst|ist|bst|hrs?)\b
    | \b[0-2]?\d[:.][0-5]\d(?::[0-5]\d)?\b
    | [+-][01]\d:?[0-5]\d
    """,
    re.IGNORECASE | re.VERBOSE,
)
_WORD = re.compile(r"[^\W\d_]{2,}|\d+")


@dataclass(frozen=True, slots=True)
class DateLine:
    """A line recognised as a date line; `when` is None when the line has no year (or no valid date).

    A line without a year ("Dec. 16 –") keeps its `month` and `day`, so the caller can place it in the year
    its context gives (`resolve_yearless`)."""

    when: datetime | None
    matched: str
    month: int | None = None
    day: int | None = None


def _utc_midnight(year: int, month: int, day: int) -> datetime | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def _iso_zone(tz: str | None) -> timezone:
    if not tz or tz.upper() in {"Z", "UTC", "GMT"}:
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _from_iso_match(m: re.Match[str]) -> datetime | None:
    day = _utc_midnight(int(m["year"]), int(m["month"]), int(m["day"]))
    if day is None or m["hour"] is None:
        return day
    try:
        local = datetime(
            day.year,
            day.month,
            day.day,
            int(m["hour"]),
            int(m["minute"]),
            int(m["second"] or 0),
            tzinfo=_iso_zone(m["tz"]),
        )
    except ValueError:
        return None
    return local.astimezone(UTC)


def _find_date(line: str) -> tuple[re.Match[str], datetime | None] | None:
    """The first date-shaped span in `line` and its value (None when it has no year or is impossible)."""
    m = _ISO.search(line)
    if m:
        return m, _from_iso_match(m)
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        m = pattern.search(line)
        if m:
            day = int(m["day"])
            if not 1 <= day <= 31:
                continue
            if m["year"] is None:
                return m, None
            return m, _utc_midnight(int(m["year"]), MONTH_NUMBERS[m["month"].lower()], day)
    return None


def match_date_line(line: str) -> DateLine | None:
    """Recognise a line that is only a date (plus labels, a weekday, a time); None for anything else."""
    text = line.strip()
    if not text or len(text) > MAX_DATE_LINE_CHARS:
        return None
    found = _find_date(text)
    if found is None:
        return None
    m, when = found
    rest = text[: m.start()] + " " + text[m.end() :]
    rest = _ALLOWED_AROUND_DATE.sub(" ", rest)
    if _WORD.search(rest):
        return None
    month = day = None
    if when is None and "month" in m.re.groupindex and m["year"] is None:
        month, day = MONTH_NUMBERS[m["month"].lower()], int(m["day"])
    return DateLine(when=when, matched=m.group(0), month=month, day=day)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b", re.IGNORECASE)
# A stated date may be a day ahead of the file's clock (time zones, a file saved at midnight).
_SLACK = timedelta(days=1)
# How far back a yearless date may be placed when its weekday has to match.
_WEEKDAY_YEARS = 12


def first_weekday(text: str) -> int | None:
    """The first weekday named in `text` (0 = Monday), e.g. "condemned this Monday"; None if none is."""
    m = _WEEKDAY.search(text)
    return WEEKDAYS.index(m[1].lower()) if m else None


def resolve_yearless(
    month: int, day: int, reference: datetime, *, weekday: int | None = None
) -> datetime | None:
    """A date without a year, placed at its nearest past occurrence before `reference` (the file or fetch time).

    When the text names the weekday of that date ("Dec. 16 - ... condemned this Monday"), the nearest past
    year in which the date falls on that weekday wins: a file copied or re-fetched a year later still gets
    the year of the event. Without a weekday, or when none of the last few years fits it, the nearest past
    occurrence stands. None for an impossible date (31 April)."""
    limit = reference.astimezone(UTC) + _SLACK
    candidates = []
    for year in range(limit.year, limit.year - _WEEKDAY_YEARS - 1, -1):
        when = _utc_midnight(year, month, day)
        if when is not None and when <= limit:
            candidates.append(when)
    if not candidates:
        return None
    if weekday is not None:
        for when in candidates:
            if when.weekday() == weekday:
                return when
    return candidates[0]


# Dates with a year written out in prose: "November 6, 2024", "6 November 2024", "2024-11-06".
_PROSE_DATES = (
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MON},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_MON}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),
)
# Only the opening of a long text: a date deep in an archive page's footer says little about the article.
_PROSE_CHARS = 20_000


def mentioned_date(text: str, reference: datetime) -> datetime | None:
    """The latest full date (day, month and year) written in `text` that is not after `reference`.

    For a file with no date line: an article is written on or after the events it reports, so the latest
    date it mentions is the best estimate of when it was published ("The text of the statement was released
    on November 6, 2024" dates the article 6 November 2024). Dates after the file's time are plans or typos."""
    limit = reference.astimezone(UTC) + _SLACK
    best: datetime | None = None
    head = text[:_PROSE_CHARS]
    for pattern in _PROSE_DATES:
        for m in pattern.finditer(head):
            when = _utc_midnight(int(m["year"]), MONTH_NUMBERS[m["month"].lower()], int(m["day"]))
            if when is not None and when <= limit and (best is None or when > best):
                best = when
    for m in _ISO.finditer(head):
        when = _from_iso_match(m)
        if when is not None and when <= limit and (best is None or when > best):
            best = when
    return best


def parse_timestamp(value: object) -> datetime | None:
    """A `published` value as an aware UTC datetime, or None when it cannot be read as a date.

    Accepts ISO 8601 (naive means UTC), RFC 2822, and epoch seconds or milliseconds as int, float or a
    numeric string. Booleans, NaN, infinities and out-of-range values are rejected, not guessed at.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 100:
        return None
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    return _from_iso_string(text) or _from_rfc2822(text)


def _from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number):
        return None
    seconds = number / 1000 if abs(number) >= _MILLISECONDS_FROM else number
    try:
        when = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when if MIN_YEAR <= when.year <= MAX_YEAR else None


def _from_iso_string(text: str) -> datetime | None:
    candidate = text[:-1] + "+00:00" if text[-1:] in {"Z", "z"} else text
    try:
        when = datetime.fromisoformat(candidate)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return _utc_midnight(day.year, day.month, day.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when if MIN_YEAR <= when.year <= MAX_YEAR else None


def _from_rfc2822(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when if MIN_YEAR <= when.year <= MAX_YEAR else None
