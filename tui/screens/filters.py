"""`f`: the filters that have no key of their own (date range, topic, source) and the toggles, in one form."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, Switch

from newswatch.config import parse_when
from store.browsing import StoryQuery


def _date_text(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


class FilterScreen(ModalScreen[dict[str, Any] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, query: StoryQuery, *, topics: list[str], sources: list[str]) -> None:
        super().__init__()
        self.story_query = query
        self.topics = topics
        self.sources = sources

    def compose(self) -> ComposeResult:
        query = self.story_query
        with Vertical(id="filters"):
            yield Label("Filters", classes="dialog-title")
            with Horizontal(classes="filter-row"):
                yield Label("Topic", classes="filter-label")
                yield Select(
                    [(Content(name), name) for name in self.topics],
                    value=query.topic or Select.NULL,
                    id="filter-topic",
                    prompt="any topic",
                )
            with Horizontal(classes="filter-row"):
                yield Label("Source", classes="filter-label")
                yield Select(
                    [(Content(name), name) for name in self.sources],
                    value=query.source or Select.NULL,
                    id="filter-source",
                    prompt="any source",
                )
            with Horizontal(classes="filter-row"):
                yield Label("Since", classes="filter-label")
                yield Input(_date_text(query.since), placeholder="2024-11-01 or 7d", id="filter-since")
            with Horizontal(classes="filter-row"):
                yield Label("Until", classes="filter-label")
                yield Input(_date_text(query.until), placeholder="2024-12-01 (exclusive)", id="filter-until")
            with Horizontal(classes="filter-row"):
                yield Label("Unread only", classes="filter-label")
                yield Switch(query.unread_only, id="filter-unread")
            with Horizontal(classes="filter-row"):
                yield Label("Starred only", classes="filter-label")
                yield Switch(query.starred_only, id="filter-starred")
            with Horizontal(classes="filter-row"):
                yield Label("Sort", classes="filter-label")
                yield Select(
                    [("newest first", "newest"), ("most outlets first", "outlets")],
                    value=query.order,
                    allow_blank=False,
                    id="filter-order",
                )
            yield Static(id="filter-error")
            with Horizontal(id="filter-buttons"):
                yield Button("Apply", variant="primary", id="filter-apply")
                yield Button("Cancel", id="filter-cancel")

    @on(Button.Pressed, "#filter-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#filter-apply")
    @on(Input.Submitted)
    def apply(self) -> None:
        try:
            since = parse_when(self.query_one("#filter-since", Input).value)
            until = parse_when(self.query_one("#filter-until", Input).value)
        except ValueError as error:
            self.query_one("#filter-error", Static).update(Content.styled(str(error), "bold $error"))
            return
        topic = self.query_one("#filter-topic", Select).value
        source = self.query_one("#filter-source", Select).value
        self.dismiss(
            {
                "topic": topic if isinstance(topic, str) else None,
                "source": source if isinstance(source, str) else None,
                "since": since,
                "until": until,
                "unread_only": self.query_one("#filter-unread", Switch).value,
                "starred_only": self.query_one("#filter-starred", Switch).value,
                "order": self.query_one("#filter-order", Select).value,
            }
        )
