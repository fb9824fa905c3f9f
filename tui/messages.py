"""Messages that travel up from widgets to the screen that owns the data."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class OpenArticle(Message):
    """Show this article in the reader (from the list, or "also reported by" in the reader)."""

    article_id: int
    story_id: int | None = None


@dataclass
class FilterPicked(Message):
    """A sidebar entry was chosen: `kind` is "topic" or "source"; `name` None means all."""

    kind: str
    name: str | None
