"""`D`: the digest of the current filter (its topic, or the digest's topics; its period, or the digest's),
as `newswatch digest` would print it, in a scrollable screen. Built in a thread worker; feed text is only
ever wrapped in Content, never parsed as markup."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from digest.build import Digest, build_digest
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
from newswatch.config import duration_words
from store.browsing import StoryQuery

if TYPE_CHECKING:
    from tui.app import NewswatchApp


@dataclass
class DigestLoaded(Message):
    digest: Digest


def digest_content(digest: Digest, *, utc: bool) -> Content:
    """The same lines as the text digest, styled."""
    lines: list[Content] = [Content.styled(title_line(digest, utc=utc), "bold")]
    if digest.filters:
        lines.append(Content.styled(filter_words(digest), "$text-muted"))
    for section in digest.sections:
        lines += [Content(""), Content.styled(section_heading(section), "bold $accent")]
        for number, story in enumerate(section.stories, start=1):
            lines.append(Content.assemble((f"{number}. ", "bold"), (one_line(story.headline), "bold")))
            lines.append(Content.styled(f"   {outlets_words(story)}", "$text-secondary"))
            lines.append(Content.styled(f"   {dates_words(story, utc=utc)}", "$text-muted"))
            if story.extract:
                lines.append(Content(f"   {one_line(story.extract)}"))
            if story.url:
                lines.append(Content.styled(f"   {story.url}", "underline $text-muted"))
            if story.other_topics:
                lines.append(Content.styled(f"   {also_words(story)}", "italic $text-muted"))
        lines.extend(Content.styled(f"({note})", "$text-muted") for note in section_notes(section))
    if not digest.sections:
        lines += [Content(""), Content("No topics to report on: add topics to the config file.")]
    if has_stand_in(digest):
        lines += [Content(""), Content.styled(STAND_IN_NOTE, "$text-muted")]
    return Content("\n").join(lines)


class DigestScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,D", "back", "Back"),
        Binding("j,down", "scroll_down", "Scroll down", show=False),
        Binding("k,up", "scroll_up", "Scroll up", show=False),
        Binding("space,pagedown", "page_down", "Page down", show=False),
        Binding("b,pageup", "page_up", "Page up", show=False),
    ]

    def __init__(self, query: StoryQuery, *, search_text: str = "") -> None:
        super().__init__()
        self.story_query = query
        self.search_text = search_text
        self.digest: Digest | None = None

    @property
    def newswatch(self) -> NewswatchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="digest"):
            yield Static(Content.styled("building the digest…", "$text-muted"), id="digest-body")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def _filters(self) -> list[str]:
        query = self.story_query
        words = []
        if self.search_text:
            words.append(f"search {self.search_text}")
        if query.source:
            words.append(f"source {query.source}")
        if query.unread_only:
            words.append("unread only")
        if query.starred_only:
            words.append("starred only")
        return words

    @work(thread=True, exclusive=True, group="digest", exit_on_error=False)
    def load(self) -> None:
        config = self.newswatch.config
        query = self.story_query
        topics = (
            [query.topic]
            if query.topic
            else (config.digest_topics or [topic.name for topic in config.topics])
        )
        now = datetime.now(UTC)
        since = query.since or now - timedelta(seconds=config.digest_period)
        period = "" if query.since else duration_words(config.digest_period)
        digest = self.newswatch.open_connections().read(
            lambda db: build_digest(
                db,
                topics,
                since=since,
                until=query.until,
                limit=config.digest_limit,
                now=now,
                period=period,
                base=replace(query, topic=None),
                filters=self._filters(),
            )
        )
        self.post_message(DigestLoaded(digest))

    def on_digest_loaded(self, message: DigestLoaded) -> None:
        self.digest = message.digest
        body = digest_content(message.digest, utc=self.newswatch.config.utc)
        self.query_one("#digest-body", Static).update(body)

    def action_back(self) -> None:
        self.dismiss()

    def _scroll(self) -> VerticalScroll:
        return self.query_one("#digest", VerticalScroll)

    def action_scroll_down(self) -> None:
        self._scroll().scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self._scroll().scroll_up(animate=False)

    def action_page_down(self) -> None:
        self._scroll().scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self._scroll().scroll_page_up(animate=False)
