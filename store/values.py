"""How values meet SQL: times as sortable ISO 8601 UTC text, and id lists cut to fit in one statement.

A leaf module (it imports nothing from store/), so every store module can use it without importing
`store.db`, which imports the schema and its migrations: that chain made an import loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")

# Ids per `IN (?, ?, …)`: SQLite's default limit on host parameters is 32766 since 3.32 (999 before);
# stay well below it.
CHUNK = 500


def chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_db_time(value: datetime | None) -> str | None:
    """Times are stored as ISO 8601 UTC text ('2024-11-05T00:00:00+00:00'), which sorts correctly."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
