"""The reader: one article as readable text, its topics with the matching terms highlighted, and the other
outlets of its story one key (1-9) away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from feeds.sanitize import safe_url, strip_controls
from newswatch.timefmt import format_when, origin_phrase
from store import articles as article_store
from store import browsing
from store import fulltext as fulltext_store
from topics.query import CompiledQuery, QueryError, compile_query
from tui.text import plain

if TYPE_CHECKING:
    from tui.app import NewswatchApp

TOPIC_HIGHLIGHT = "bold $warning-muted"
SEARCH_HIGHLIGHT = "bold reverse $accent"


@dataclass
class ArticleLoaded(Message):
    article: dict[str, Any] | None
    members: list[dict[str, Any]]
    topic_queries: dict[str, str]
    # The feed's own text when the body is the article page's (None: the body is the feed's text), and
    # the page's fetch state (None: this article's page is not wanted).
    summary: str | None = None
    page: dict[str, Any] | None = None


class ReaderScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,backspace", "back", "Back"),
        Binding("o", "open_browser", "Browser"),
        Binding("r", "toggle_read", "Read/unread"),
        Binding("s", "toggle_star", "Star"),
        Binding("f", "toggle_text", "Full text/summary"),
        Binding("j,down", "scroll_down", "Scroll down", show=False),
        Binding("k,up", "scroll_up", "Scroll up", show=False),
        Binding("space,pagedown", "page_down", "Page down", show=False),
        Binding("b,pageup", "page_up", "Page up", show=False),
        Binding("g,home", "top", "Top", show=False),
        Binding("G,end", "bottom", "Bottom", show=False),
        *(
            Binding(str(n), f"other_outlet({n})", f"Open also-reported #{n}", show=False)
            for n in range(1, 10)
        ),
    ]

    def __init__(self, article_id: int, search: CompiledQuery | None = None) -> None:
        super().__init__()
        self.article_id = article_id
        self.search = search
        self.article: dict[str, Any] | None = None
        self.others: list[dict[str, Any]] = []
        self.summary: str | None = None
        self.page: dict[str, Any] | None = None
        self.topic_queries: dict[str, str] = {}
        self.show_summary = False  # the feed's summary instead of the page's full text

    @property
    def newswatch(self) -> NewswatchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="reader"):
            yield Static(id="reader-headline")
            yield Static(id="reader-meta")
            yield Static(id="reader-topics")
            yield Static(id="reader-text-kind")
            yield Static(id="reader-body")
            yield Static(id="reader-also")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reader-headline", Static).update(Content.styled("loading…", "$text-muted"))
        self.load(mark_read=True)

    @work(thread=True, exclusive=True, group="reader", exit_on_error=False)
    def load(self, mark_read: bool = False) -> None:
        connections = self.newswatch.open_connections()
        if mark_read:
            whole_story = self.newswatch.config.mark_story_read
            self.newswatch.save_user_change(
                lambda db: browsing.mark_opened(db, self.article_id, whole_story=whole_story),
                "opened article marked read",
            )
        article = connections.read(lambda db: article_store.get_article(db, self.article_id))
        members: list[dict[str, Any]] = []
        topic_queries: dict[str, str] = {}
        summary, page = None, None
        if article is not None:
            summary = connections.read(lambda db: fulltext_store.article_summary(db, self.article_id))
            page = connections.read(lambda db: fulltext_store.fulltext_status(db, self.article_id))
            story_id = article["story_id"]
            if story_id is not None:
                members = connections.read(lambda db: browsing.story_member_rows(db, story_id))
            stored = connections.read(browsing.topic_queries)
            topic_queries = {name: stored[name] for name in article["topic_matches"] if name in stored}
        self.post_message(ArticleLoaded(article, members, topic_queries, summary, page))

    def on_article_loaded(self, message: ArticleLoaded) -> None:
        self.article = message.article
        if self.article is None:
            self.query_one("#reader-headline", Static).update(Content("This article is no longer stored."))
            return
        article = self.article
        self.others = [m for m in message.members if m["id"] != article["id"]]
        self.query_one("#reader-headline", Static).update(Content.styled(plain(article["title"]), "bold"))
        url = safe_url(article["url"])
        meta = Content.assemble(
            (plain(article["outlet"] or article["source"]), "bold $accent"),
            "  ·  ",
            (
                format_when(article["sort_time"], article["date_origin"], utc=self.newswatch.config.utc),
                "$text-muted",
            ),
            (f" ({origin_phrase(article['date_origin'])})", "$text-muted italic"),
            "  ·  ",
            (plain(url) if url else "(no http link)", "underline" if url else "$text-muted"),
            ("   ★ starred" if article["starred"] else "", "$warning"),
            ("" if article["read"] else "   ● unread", "$accent"),
        )
        self.query_one("#reader-meta", Static).update(meta)
        topic_lines = []
        for name, terms in article["topic_matches"].items():
            topic_lines.append(
                Content.assemble(
                    (f" {plain(name)} ", "reverse $secondary"),
                    ("  matched: ", "$text-muted"),
                    (", ".join(plain(term) for term in terms), TOPIC_HIGHLIGHT),
                )
            )
        topics = self.query_one("#reader-topics", Static)
        topics.update(Content("\n").join(topic_lines) if topic_lines else Content(""))
        topics.display = bool(topic_lines)
        self.summary, self.page, self.topic_queries = message.summary, message.page, message.topic_queries
        self._show_text()
        self._show_also()

    def _show_text(self) -> None:
        """The body, or the feed's summary, with a line saying which it is and how to see the other."""
        assert self.article is not None
        shown = self.article
        if self.summary is not None and self.show_summary:
            shown = {**self.article, "body": self.summary}
        kind = self.query_one("#reader-text-kind", Static)
        kind.update(_text_kind(self.article, self.summary, self.page, self.show_summary))
        self.query_one("#reader-body", Static).update(self._body(shown, self.topic_queries))

    def _body(self, article: dict[str, Any], topic_queries: dict[str, str]) -> Content:
        body = strip_controls(article["body"] or "")
        spans: list[tuple[int, int, str]] = []
        for name, query_text in topic_queries.items():
            # Compiled once, with the config; a topic stored by another config is compiled here.
            compiled = self.newswatch.session.topic_query(name, query_text)
            if compiled is None:
                try:
                    compiled = compile_query(query_text, self.newswatch.config.terms)
                except QueryError:
                    continue  # a topic stored by a newer config; its tags still show above
            spans.extend(
                (start, end, TOPIC_HIGHLIGHT) for start, end in compiled.highlight_spans(body, "body")
            )
        if self.search is not None:
            spans.extend(
                (start, end, SEARCH_HIGHLIGHT) for start, end in self.search.highlight_spans(body, "body")
            )
        content = Content(body) if body else Content.styled("(no text)", "$text-muted")
        for start, end, style in sorted(spans):
            content = content.stylize(style, start, end)
        return content

    def _show_also(self) -> None:
        also = self.query_one("#reader-also", Static)
        if not self.others:
            also.update(Content.styled("Only this outlet reported this story.", "$text-muted"))
            return
        lines = [Content.styled(f"Also reported by ({len(self.others)}):", "bold")]
        for number, member in enumerate(self.others, start=1):
            key = f"[{number}]" if number <= 9 else "   "
            lines.append(
                Content.assemble(
                    (f" {key} ", "bold $accent"),
                    (plain(member["outlet"] or member["source"]), "bold"),
                    "  ",
                    plain(member["title"]),
                    (
                        "  "
                        + format_when(
                            member["sort_time"], member["date_origin"], utc=self.newswatch.config.utc
                        ),
                        "$text-muted",
                    ),
                    ("  copy" if member["duplicate_of"] is not None else "", "italic $warning"),
                )
            )
        also.update(Content("\n").join(lines))

    # --- actions ----------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_other_outlet(self, number: int) -> None:
        if 1 <= number <= len(self.others):
            self.app.switch_screen(ReaderScreen(self.others[number - 1]["id"], self.search))

    def action_open_browser(self) -> None:
        url = safe_url(self.article["url"]) if self.article else None
        if url is None:
            self.notify("This article has no http(s) link to open.", severity="warning", markup=False)
            return
        self.newswatch.open_link(url)

    def action_toggle_text(self) -> None:
        if self.article is None:
            return
        if self.summary is None:
            self.notify("Only the feed's text is stored for this article.", markup=False)
            return
        self.show_summary = not self.show_summary
        self._show_text()

    def action_toggle_read(self) -> None:
        if self.article is not None:
            self._set_flag("read", not self.article["read"])

    def action_toggle_star(self) -> None:
        if self.article is not None:
            self._set_flag("starred", not self.article["starred"])

    @work(thread=True, group="reader-write", exit_on_error=False)
    def _set_flag(self, flag: str, value: bool) -> None:
        if flag == "read":
            self.newswatch.save_user_change(
                lambda db: article_store.set_read(db, [self.article_id], value),
                f"article marked {'read' if value else 'unread'}",
            )
        else:
            self.newswatch.save_user_change(
                lambda db: article_store.set_starred(db, self.article_id, value),
                f"article {'starred' if value else 'unstarred'}",
            )
        self.app.call_from_thread(self.load)

    def _body_scroll(self) -> VerticalScroll:
        return self.query_one("#reader", VerticalScroll)

    def action_scroll_down(self) -> None:
        self._body_scroll().scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self._body_scroll().scroll_up(animate=False)

    def action_page_down(self) -> None:
        self._body_scroll().scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self._body_scroll().scroll_page_up(animate=False)

    def action_top(self) -> None:
        self._body_scroll().scroll_home(animate=False)

    def action_bottom(self) -> None:
        self._body_scroll().scroll_end(animate=False)


def _text_kind(
    article: dict[str, Any], summary: str | None, page: dict[str, Any] | None, shown: bool
) -> Content:
    """One line: full text or the feed's summary, and what `f` shows instead (or why there is no page)."""
    muted = "$text-muted"
    if summary is not None:
        if shown:
            return Content.assemble(("Feed summary", "bold"), ("  ·  f: the full text from the page", muted))
        return Content.assemble(
            ("Full text", "bold"), (" from the article page", muted), ("  ·  f: the feed's summary", muted)
        )
    if page is None:
        return Content.assemble(("Text as received", "bold"), (" from the source (no page fetched)", muted))
    if page["state"] == "failed":
        why = f" (the page could not be read: {plain(page['last_error'])})"
    elif page["last_error"]:
        why = f" (full text not fetched yet; last try: {plain(page['last_error'])})"
    else:
        why = " (full text not fetched yet)"
    return Content.assemble(("Feed summary", "bold"), (why, muted))
