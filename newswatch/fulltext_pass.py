"""The full-text step of an ingest pass (issue 15): fetch the pages of summary-only feed items, extract
their main text in the worker processes, and store it as the body, re-tagged and placed (again).

Where it sits in a pass: feeds are stored first (an item's feed text is its body until its page comes,
so a feed's items are stored whatever happens to their pages); then this step fetches the due pages,
newest article first, within a per-pass budget of pages and seconds; then stories are placed. An article
whose page arrives in the pass that stored it is placed once, with its full text. An article already
placed (its page came in a later pass: the budget, a retry) is taken out of its story and placed again
with the next chunk (`store.fulltext.withdraw_from_story`, README "Full text").

Politeness and limits are `feeds.fetch`'s (the `[fetch]` settings: per-host concurrency and spacing,
size and time caps, redirects, Retry-After), robots.txt is read once per host per pass, and every page
failure is one line on its article, tried again later with backoff. Nothing here imports trafilatura:
the workers do, and only when there is a page to extract.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from feeds.limits import FetchLimits
from store import fulltext as fulltext_store
from store.db import CommitGroups, Database

# The reason given to a page not asked for because its host answered 429/503 earlier in the pass.
_HELD = "not fetched:"


@dataclass(slots=True)
class FulltextOptions:
    threshold: int = 600  # "auto": fetch when the feed's text is shorter than this
    max_pages: int = 200  # pages per pass
    max_seconds: float = 60.0  # seconds of page fetching per pass
    source_modes: dict[str, str | bool] = field(default_factory=dict)  # source name -> "auto" | True | False
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)  # `[fetch]`; pages change a few

    def mode(self, source: str) -> str | bool:
        return self.source_modes.get(source, "auto")


@dataclass(slots=True)
class FulltextSummary:
    fetched: int = 0  # pages whose text became the body
    failed: int = 0  # pages tried and failed (tried again later, with backoff)
    waiting: int = 0  # due pages left for a later pass (budget)
    replaced: int = 0  # articles taken out of their story to be placed again

    def phrase(self) -> str:
        """For the ingest summary line; empty when no page was due."""
        if not (self.fetched or self.failed or self.waiting):
            return ""
        parts = [f"{self.fetched} page{'s' if self.fetched != 1 else ''} fetched"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.waiting:
            parts.append(f"{self.waiting} left for later")
        return ", ".join(parts)


def queue_new_articles(
    db: Database, options: FulltextOptions, source: str, article_ids: Sequence[int]
) -> int:
    """Queue the pages of a feed's new articles that want one (inside the unit that stored them)."""
    from feeds.fulltext import fetchable_page, wants_full_text

    mode = options.mode(source)
    if mode is False or not article_ids:
        return 0
    wanted = [
        article_id
        for article_id, url, chars in fulltext_store.page_candidates(db, article_ids)
        if fetchable_page(url) and wants_full_text(mode, chars, threshold=options.threshold)
    ]
    fulltext_store.queue_pages(db, wanted)
    return len(wanted)


def extract_with_features(
    body: bytes, url: str, content_type: str | None, title: str
) -> tuple[Any, bytes | None]:
    """The worker task: a page's main text, and the story features of (title, text) when there is text."""
    from feeds.fulltext import extract_main_text
    from newswatch.workers import feature_blobs

    page = extract_main_text(body, url, content_type)
    if not page.text:
        return page, None
    # The page repeats the headline above the article; the title is stored (and weighed) already.
    first, _, rest = page.text.partition("\n")
    if rest and " ".join(first.split()).casefold() == " ".join(title.split()).casefold():
        page.text = rest.lstrip("\n")
    return page, feature_blobs([(title, page.text)])[0]


@dataclass(slots=True)
class _Fetched:
    wanted: fulltext_store.PageWanted
    error: str | None = None
    retry_after: float | None = None
    deadline: bool = False  # the pass's time ran out, or its host asked us to wait: not an attempt
    task: Future[tuple[Any, bytes | None]] | tuple[Any, bytes | None] | None = None


def run_fulltext(
    db: Database,
    groups: CommitGroups,
    pool: Any,
    options: FulltextOptions,
    topics: Sequence[Any],
    *,
    now: datetime,
) -> FulltextSummary:
    """Fetch and store this pass's due pages (the caller commits `groups`)."""
    summary = FulltextSummary()
    wanted, due = fulltext_store.due_pages(db, now=now, limit=options.max_pages)
    summary.waiting = max(due - len(wanted), 0)
    if not wanted:
        return summary
    from feeds.fetch import FetchRequest, FetchResult, fetch_all
    from feeds.fulltext import PAGE_ACCEPT, PAGE_MAX_BYTES, RobotsCache

    started = time.monotonic()
    limits = dataclasses.replace(
        options.fetch_limits,
        accept=PAGE_ACCEPT,
        run_deadline=options.max_seconds,
        max_body_bytes=min(options.fetch_limits.max_body_bytes, PAGE_MAX_BYTES),
    )
    robots = RobotsCache(limits)
    robots.load([w.url for w in wanted])
    limits = dataclasses.replace(
        limits, run_deadline=max(options.max_seconds - (time.monotonic() - started), 0.0)
    )
    by_url: dict[str, list[fulltext_store.PageWanted]] = {}
    finished: queue.Queue[_Fetched | None] = queue.Queue()
    for item in wanted:
        if robots.allowed(item.url):
            by_url.setdefault(item.url, []).append(item)
        else:
            finished.put(_Fetched(item, error="disallowed by robots.txt"))
    try:
        executor = pool.get()
    except Exception:  # no process pool here: extract in the fetch thread, still not the writer's
        executor = None
    # Hosts that answered 429 or 503 in this pass -> the Retry-After they gave (None: none): their other
    # pages are not asked for again in this pass, and wait as long in the next ones.
    throttled: dict[str, float | None] = {}

    def hold(host: str) -> str | None:
        return f"{_HELD} {host} asked to wait" if host in throttled else None

    def on_result(result: FetchResult) -> None:
        if result.status in (429, 503):
            import httpx

            host = httpx.URL(result.final_url).host
            throttled[host] = max(throttled.get(host) or 0.0, result.retry_after_seconds or 0.0) or None
        held = bool(result.error and result.error.startswith(_HELD))
        for item in by_url[result.url]:
            fetched = _Fetched(
                item, result.error, result.retry_after_seconds, result.run_deadline_reached or held
            )
            if result.error is None and result.body is None:
                fetched.error = "no body"
            elif result.error is None:
                args = (result.body, result.final_url, result.content_type, item.title)
                try:
                    fetched.task = executor.submit(extract_with_features, *args) if executor else None
                except Exception:
                    fetched.task = None
                if fetched.task is None:
                    fetched.task = extract_with_features(*args)
            finished.put(fetched)
        result.body = None  # the worker has its copy

    def fetch_pages() -> None:
        try:
            fetch_all([FetchRequest(url) for url in by_url], limits, on_result=on_result, hold=hold)
        finally:
            finished.put(None)

    fetcher = threading.Thread(target=fetch_pages, name="fetch-pages", daemon=True)
    fetcher.start()
    writer = _Writer(db, topics, now=now)
    while (fetched := groups.next_from(finished)) is not None:
        page, blob = None, None
        if isinstance(fetched.task, Future):
            try:
                page, blob = fetched.task.result()
            except Exception as error:  # a crashed worker: this page failed, the others go on
                fetched.error = f"extraction failed: {type(error).__name__}"
        elif fetched.task is not None:
            page, blob = fetched.task
        if page is not None and not page.text:
            fetched.error = page.error or "no article text on the page"
        with groups.unit():
            if fetched.deadline:
                summary.waiting += 1
            elif fetched.error is not None or page is None:
                fulltext_store.record_page_failure(
                    db,
                    fetched.wanted.article_id,
                    fetched.error or "no article text on the page",
                    now=now,
                    retry_after_seconds=fetched.retry_after,
                )
                summary.failed += 1
            elif writer.store(fetched.wanted, page.text, blob):
                summary.fetched += 1
    fetcher.join()
    for host, retry_after in sorted(throttled.items()):
        wait = timedelta(seconds=retry_after) if retry_after else fulltext_store.FIRST_BACKOFF
        with groups.unit():
            fulltext_store.postpone_host(db, host, until=now + min(wait, fulltext_store.MAX_BACKOFF))
    summary.replaced = writer.replaced
    return summary


class _Writer:
    """Stores a page's text as its article's body, re-tags the article and gets it placed (again)."""

    def __init__(self, db: Database, topics: Sequence[Any], *, now: datetime) -> None:
        self.db = db
        self.topics = topics
        self.now = now
        self.replaced = 0
        self._engine: Any = None

    def store(self, wanted: fulltext_store.PageWanted, text: str, blob: bytes | None) -> bool:
        from topics.tagging import tag_articles

        db = self.db
        if not fulltext_store.store_page_text(db, wanted.article_id, text, now=self.now):
            return False
        tag_articles(db, self.topics, [wanted.article_id], replace=True)
        if blob is None:
            from newswatch.workers import feature_blobs

            blob = feature_blobs([(wanted.title, text)])[0]
        if fulltext_store.is_waiting_for_placement(db, wanted.article_id):
            fulltext_store.replace_features(db, [(wanted.article_id, blob)])
            return True
        settings, engine = self._placer()
        taken_out = fulltext_store.withdraw_from_story(db, wanted.article_id, settings, engine)
        if taken_out:
            rows = [(wanted.article_id, blob)]
            others = [aid for aid in taken_out if aid != wanted.article_id]
            if others:
                from newswatch.workers import feature_blobs

                texts = [fulltext_store.article_text(db, aid) or ("", "") for aid in others]
                rows += list(zip(others, feature_blobs(texts), strict=True))
            fulltext_store.replace_features(db, rows)
            self.replaced += len(taken_out)
        return True

    def _placer(self) -> tuple[Any, Any]:
        if self._engine is None:
            from newswatch.placement import SETTINGS
            from stories.engine import StoryEngine

            self._engine = (SETTINGS, StoryEngine(SETTINGS))
        return self._engine


def settle_replacements(db: Database) -> None:
    """After placement: stories holding re-placed articles take the alerts of the stories they left."""
    from store.db import write_batch

    if fulltext_store.replacements_waiting(db):
        with write_batch(db):
            fulltext_store.share_alerts_of_replaced(db)
