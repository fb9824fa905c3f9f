"""One ingest pass: sources -> feeds/ (read, fetch, parse) -> store/ -> topic tags -> stories.

Writes go in commit groups of about `COMMIT_GROUP_SECONDS` of work (store.db.CommitGroups): several small
feeds share a transaction, a large path source is split into several. Articles are written together with
their topic tags and their pending-placement row in one unit of work, so a reader (the TUI) never sees an
article without its topics, and a kill loses at most the group in flight. A path source's file fingerprints and status go
with its last unit: a source cut short is read again next pass and the upsert adds only what is missing.
Feeds are parsed and tagged, and a file's lines read and tagged, in worker processes (newswatch.workers); stories are
placed once, at the end, where the story features are computed (newswatch.placement).
"""

from __future__ import annotations

import glob
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from feeds.limits import FetchLimits
from feeds.paths import local_guid, source_root
from feeds.records import ArticleRecord, ParseResult
from newswatch.workers import WorkerPool, parse_and_tag
from store import sources as source_store
from store.articles import (
    FEATURES_AT_PLACEMENT,
    UpsertResult,
    existing_articles,
    features_pending,
    upsert_articles,
)
from store.backends import backend_of
from store.db import CommitGroups, Database, exclusive, from_db_time, utc_now, write_batch
from store.schema import index_texts
from store.sources import FileFingerprint, SourceSpec
from topics.tagging import Topic, add_found_tags, sync_and_retag, tag_articles, tag_texts, topic_terms

# Below this many feeds to parse, a process pool costs more to start than it saves.
_POOL_THRESHOLD = 8
# About this much work (seconds) per write transaction: few enough commits to amortise them, short enough
# that the TUI's own writes (read, starred) never wait long for the lock. Tests make it tiny.
COMMIT_GROUP_SECONDS = 1.0
# Records per unit of work of a path source: one tagging task, one upsert.
PATH_CHUNK = 256
# A slice of a path source with fewer new records than this is tagged by the writer, not a worker.
_INLINE_TAGS = 64
# Slices of a path source whose tags may be in the workers while one is written.
_SLICES_AHEAD = 2 * (os.cpu_count() or 2)
# Bytes of fetched feed bodies a pass holds before it stores them (feeds.fetch.BodyBacklog): the fetcher
# starts no request while they are over (or over the body cap, when that is higher).
BACKLOG_BYTES = 64 * 1024 * 1024
# A .jsonl file larger than this is parsed in the workers.
_JSONL_POOL_BYTES = 256 * 1024
# Backoff after repeated failures: 1, 2, 4 … intervals, capped.
_MAX_BACKOFF = timedelta(hours=6)


@dataclass(slots=True)
class SourceOutcome:
    name: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: bool = False  # not due yet (interval, Retry-After, backoff)


@dataclass(slots=True)
class IngestSummary:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    retagged_topics: list[str] = field(default_factory=list)
    fulltext: Any = None  # newswatch.fulltext_pass.FulltextSummary when pages were due

    @property
    def new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def updated(self) -> int:
        return sum(o.updated for o in self.outcomes)

    @property
    def unchanged(self) -> int:
        return sum(o.unchanged for o in self.outcomes)

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.error]

    @property
    def skipped(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.skipped]

    def line(self) -> str:
        parts = [f"{self.new:,} new", f"{self.updated:,} updated", f"{self.unchanged:,} unchanged"]
        failed = len(self.failed)
        parts.append(f"{failed} failed source{'s' if failed != 1 else ''}")
        if self.skipped:
            parts.append(f"{len(self.skipped)} not due")
        if self.fulltext is not None and (pages := self.fulltext.phrase()):
            parts.append(pages)
        return ", ".join(parts)


@dataclass(slots=True)
class IngestOptions:
    topics: Sequence[Topic] = ()
    source_outlets: dict[str, str] = field(default_factory=dict)
    force: bool = False  # fetch feeds even when not due (Retry-After and backoff still apply)
    only_due: bool = False  # `watch`: honour each source's interval
    # `ingest` (cron): honour an interval the user set (`interval = "6h"`); sources without one are always due.
    honour_intervals: bool = False
    default_interval: int = 30 * 60
    fetch_limits: FetchLimits = field(default_factory=FetchLimits)
    progress: Callable[[int, int, str], None] | None = None
    # Called once at the end of a run that stored new articles (or found features of a killed run waiting);
    # places every article with an `article_features` row, in its own transactions.
    place_stories: Callable[[Database], None] | None = None
    # Full text of summary-only feed items (newswatch.fulltext_pass.FulltextOptions); None: never fetched.
    fulltext: Any = None


def sync_config(
    db: Database, specs: Sequence[SourceSpec], topics: Sequence[Topic], *, now: datetime
) -> list[str]:
    """Bring sources and topics in the database in line with the config; returns re-tagged topic names."""
    with write_batch(db):
        # Several ingest processes may start together on a server store: one syncs, the others then find
        # nothing to change.
        exclusive(db, "config")
        source_store.sync_sources(db, specs, now=now)
        return sync_and_retag(db, topics, now=now)


def run_ingest(db: Database, options: IngestOptions, *, now: datetime | None = None) -> IngestSummary:
    """One pass over every active source. The caller holds the ingest lock and has synced the config.

    Sources are claimed in batches (`store.sources.SourceClaims`): on a server store several ingest processes
    share the sources, each reading those no other holds; on SQLite the one ingest claims them all at once."""
    now = now or utc_now()
    run_started = time.monotonic()
    summary = IngestSummary()
    total = len(source_store.active_sources(db))
    done = 0

    def report(name: str) -> None:
        nonlocal done
        done += 1
        if options.progress:
            options.progress(done, total, name)

    groups = CommitGroups(db, COMMIT_GROUP_SECONDS)
    pool = WorkerPool()
    claims = source_store.SourceClaims(db)
    try:
        # A batch's writes are committed before its claims are let go, so the next holder sees them.
        while rows := claims.next_batch():
            feed_rows = []
            for row in rows:
                if row["kind"] == "path":
                    outcome = _ingest_path_source(db, groups, pool, row, options, now=now)
                    summary.outcomes.append(outcome)
                    report(row["name"])
                elif _is_due(row, options, now):
                    feed_rows.append(row)
                else:
                    summary.outcomes.append(SourceOutcome(row["name"], skipped=True))
                    report(row["name"])
            if feed_rows:
                _ingest_feeds(
                    db,
                    groups,
                    pool,
                    feed_rows,
                    options,
                    summary,
                    now=now,
                    report=report,
                    run_started=run_started,
                )
            groups.commit()
        if options.fulltext is not None:
            # Before placement: a page fetched now is placed once, with its text (newswatch.fulltext_pass).
            from newswatch.fulltext_pass import run_fulltext

            summary.fulltext = run_fulltext(db, groups, pool, options.fulltext, options.topics, now=now)
            groups.commit()
    except BaseException:
        groups.rollback()
        raise
    finally:
        claims.release()
        pool.shutdown()
    if options.place_stories is not None and (summary.new or features_pending(db)):
        options.place_stories(db)
        if options.fulltext is not None:
            from newswatch.fulltext_pass import settle_replacements

            settle_replacements(db)
    return summary


def _is_due(row: dict[str, Any], options: IngestOptions, now: datetime) -> bool:
    not_before = from_db_time(row["next_fetch_after"])
    if not_before and now < not_before and (row["consecutive_failures"] or not options.force):
        return False
    if (options.only_due or (options.honour_intervals and row["interval_seconds"])) and row[
        "last_attempt_at"
    ]:
        interval = timedelta(seconds=row["interval_seconds"] or options.default_interval)
        last = from_db_time(row["last_attempt_at"])
        return last is None or now - last >= interval
    return True


# --- local files -------------------------------------------------------------------------------------


def expand_path_source(location: str) -> list[Path]:
    """A glob, a folder (its supported files, recursively) or a single file -> sorted files."""
    from feeds.files import SUPPORTED_SUFFIXES

    path = Path(location).expanduser()
    if path.is_dir():
        candidates = [p for p in path.rglob("*") if p.is_file()]
    elif glob.has_magic(location):
        candidates = [Path(p) for p in glob.glob(os.path.expanduser(location), recursive=True)]
    else:
        candidates = [path] if path.exists() else []
    return sorted(p for p in candidates if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def _ingest_path_source(
    db: Database,
    groups: CommitGroups,
    pool: WorkerPool,
    row: dict[str, Any],
    options: IngestOptions,
    *,
    now: datetime,
) -> SourceOutcome:
    # Only passes with a path source read files: a feeds-only pass (cron) never loads the file readers.
    from feeds.files import JsonlReader, read_path

    outcome = SourceOutcome(row["name"])
    files = expand_path_source(row["location"])
    root = source_root(row["location"])
    if not files:
        with groups.unit():
            source_store.record_failure(db, row["id"], f"no matching files for {row['location']}", now=now)
        outcome.error = f"no matching files for {row['location']}"
        return outcome
    known = source_store.known_files(db, row["id"])
    outlet = options.source_outlets.get(row["name"], row["name"])
    fingerprints: list[FileFingerprint] = []
    errors: list[str] = []

    def slices() -> Iterator[list[ArticleRecord]]:
        """The changed files' records, PATH_CHUNK at a time: a .jsonl of a million lines is never all in
        memory at once."""
        for file in files:
            try:
                stat = file.stat()
            except OSError as error:
                errors.append(f"{file}: {error.strerror or error}")
                continue
            previous = known.get(str(file))
            if previous and (previous.mtime_ns, previous.size) == (stat.st_mtime_ns, stat.st_size):
                outcome.unchanged += previous.articles
                continue
            if file.suffix.lower() == ".jsonl":
                reader = JsonlReader(file, default_outlet=outlet)
                # A big file's lines become records in the workers (JSON and cleaning cost ~0.1 ms a line),
                # leaving this process to store; a small one is not worth a task.
                executor = _executor(pool) if stat.st_size > _JSONL_POOL_BYTES else None
                yield from reader.batches(PATH_CHUNK, executor=executor, ahead=_SLICES_AHEAD)
                parsed = ParseResult(warnings=reader.warnings, error=reader.error)
                count = reader.count
            else:
                parsed = read_path(file, default_outlet=outlet, guid=local_guid(file, root))
                count = len(parsed.records)
                for start in range(0, len(parsed.records), PATH_CHUNK):
                    yield parsed.records[start : start + PATH_CHUNK]
            outcome.warnings.extend(parsed.warnings)
            if parsed.error:
                # Not remembered: the file is read again next pass, so its error stays on the source until fixed.
                errors.append(parsed.error)
            else:
                fingerprints.append(FileFingerprint(str(file), stat.st_mtime_ns, stat.st_size, count))

    def finish() -> None:
        source_store.remember_files(db, row["id"], fingerprints)
        if errors:
            reason = errors[0] if len(errors) == 1 else f"{errors[0]} (and {len(errors) - 1} more files)"
            source_store.record_failure(db, row["id"], reason, now=now)
            outcome.error = reason
        else:
            source_store.record_success(db, row["id"], now=now)

    # Tags of the next few slices are found in the workers while this one is written; no more are read
    # ahead than that, so memory does not grow with the source.
    ahead: deque[tuple[list[ArticleRecord], _SliceTags]] = deque()
    stored = 0

    def store_oldest(last: bool) -> None:
        nonlocal stored
        chunk, tags = ahead.popleft()
        tags.wait(groups)
        with groups.unit():
            _store_records(db, row["id"], chunk, options, outcome, now=now, tags=tags)
            if last:
                finish()
        stored += 1

    for chunk in slices():
        ahead.append((chunk, _slice_tags(db, pool, row, chunk, options.topics)))
        if len(ahead) > _SLICES_AHEAD:
            store_oldest(last=False)
    while ahead:
        store_oldest(last=len(ahead) == 1)
    if not stored and (fingerprints or errors or row["last_error"] is not None):
        with groups.unit():
            finish()
    return outcome


def _executor(pool: WorkerPool) -> Executor | None:
    try:
        return pool.get()
    except Exception:  # no process pool on this system: parse here
        return None


def _slice_tags(
    db: Database,
    pool: WorkerPool,
    source: dict[str, Any],
    records: list[ArticleRecord],
    topics: Sequence[Topic],
) -> _SliceTags:
    """The topic tags of a slice's new records, found in a worker (while earlier slices are written) where
    the store allows it and there are enough; otherwise the writer tags them when the slice is stored."""
    if not topics or not backend_of(db).tags_in_workers:
        return _SliceTags()
    known = existing_articles(db, source["id"], [record.guid for record in records])
    new = [record for record in records if record.guid not in known]
    if len(new) < _INLINE_TAGS:
        return _SliceTags()
    try:
        future = pool.submit(
            tag_texts,
            topic_terms(topics),
            index_texts(new, source["name"]),
        )
    except Exception:  # a broken pool: the writer tags them
        return _SliceTags()
    return _SliceTags([record.guid for record in new], future)


def _wait(future: Future[Any], groups: CommitGroups) -> None:
    """Wait for a worker's result, committing the open group first if it would sit idle past its time."""
    if groups.open and not future.done():
        try:
            future.result(timeout=groups.wait_time())
        except TimeoutError:
            groups.commit()
        except Exception:
            pass  # the caller asks for the result again and handles the error


class _SliceTags:
    """The topic tags a worker found for one slice's new records (by guid), when it was asked."""

    def __init__(
        self, guids: Sequence[str] = (), future: Future[dict[str, list[tuple[int, list[str]]]]] | None = None
    ) -> None:
        self.guids = guids
        self.future = future

    @classmethod
    def found(cls, guids: Sequence[str], found: dict[str, list[tuple[int, list[str]]]]) -> _SliceTags:
        """Tags a worker has already found, `guids` naming its texts in order."""
        future: Future[dict[str, list[tuple[int, list[str]]]]] = Future()
        future.set_result(found)
        return cls(guids, future)

    def wait(self, groups: CommitGroups) -> None:
        if self.future is not None:
            _wait(self.future, groups)

    def tags(self, new_ids: dict[str, int]) -> tuple[dict[str, list[tuple[int, list[str]]]], set[int]]:
        """The worker's tags of the new articles (`new_ids`: guid -> article id), by topic name, and the ids
        they cover; an article the worker did not see is not covered (it is tagged by the writer)."""
        if self.future is None:
            return {}, set()
        try:
            found = self.future.result()
        except Exception:  # a crashed worker costs time, not tags
            return {}, set()
        # A guid repeated in a slice: the article holds its last record, so its last text's tags count.
        last = {guid: i for i, guid in enumerate(self.guids)}
        index_id = {i: new_ids[guid] for guid, i in last.items() if guid in new_ids}
        tags = {
            name: [(index_id[i], terms) for i, terms in matches if i in index_id]
            for name, matches in found.items()
        }
        return tags, set(index_id.values())


# --- feeds ---------------------------------------------------------------------------------------------


def _ingest_feeds(
    db: Database,
    groups: CommitGroups,
    pool: WorkerPool,
    rows: list[dict[str, Any]],
    options: IngestOptions,
    summary: IngestSummary,
    *,
    now: datetime,
    report: Callable[[str], None],
    run_started: float,
) -> None:
    """Fetch, parse and store at once: the fetcher runs its event loop in a thread, parsing and story
    features run in the process pool, and this thread writes each feed (one unit of a commit group) as
    soon as it is parsed.

    The run deadline stops fetching (feeds left get "not fetched: run deadline reached"); bodies already
    fetched are still parsed and stored, which the body, entry and field caps keep short."""
    from feeds.fetch import BodyBacklog, FetchRequest, FetchResult, fetch_all

    limits = options.fetch_limits
    if limits.run_deadline is not None:
        # The deadline is for the whole pass: time spent on path sources counts against it.
        left = max(limits.run_deadline - (time.monotonic() - run_started), 0.0)
        limits = replace(limits, run_deadline=left)
    # One fetch per URL. Two sources reading one URL (one moved onto the other by a permanent redirect before
    # that was refused) would share a key: the first keeps the feed, the others are told, never dropped.
    by_url: dict[str, dict[str, Any]] = {}
    same_url: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for row in sorted(rows, key=lambda row: row["id"]):
        first = by_url.setdefault(row["location"], row)
        if first is not row:
            same_url.append((row, first))
    use_pool = pool.started or len(rows) >= _POOL_THRESHOLD
    # A feed never read before has its records tagged in the worker that parses it (as a path source's slices
    # are), not by the writer: building each feed's batch index on the writer's thread cost it about as much as
    # the search index. A feed read before brings mostly items already stored, which a worker cannot tell
    # apart: the writer tags its few new ones.
    worker_topics = topic_terms(options.topics) if options.topics and backend_of(db).tags_in_workers else None
    # A feed's body counts from its fetch until the feed is stored (its parsed records are held as long).
    backlog = BodyBacklog(max(BACKLOG_BYTES, limits.max_body_bytes))
    finished: queue.Queue[tuple[FetchResult, Future[Any] | ParseResult | None, int] | None] = queue.Queue()

    def on_result(result: FetchResult) -> None:
        parsed: Future[Any] | ParseResult | None = None
        size = len(result.body or b"")
        backlog.add(size)
        if result.body is not None and not result.error and not result.not_modified:
            row = by_url[result.url]
            kwargs = {
                "url": result.final_url or result.url,
                "default_outlet": options.source_outlets.get(row["name"], row["name"]),
                "fetched_at": now,
                "response_headers": {"content-type": result.content_type} if result.content_type else None,
            }
            # Imported here, not with the fetcher: a pass whose feeds all answer 304 parses nothing,
            # and one with a pool parses in the workers (feedparser and selectolax are ~40 ms).
            from feeds.parse import parse_feed

            # The pool is made for the first body, not before: a pass of 304s starts no processes (and
            # does not import multiprocessing). Only this thread asks for it until the fetcher is done.
            executor = _executor(pool) if use_pool else None
            if executor is not None and worker_topics is not None and row["last_success_at"] is None:
                parsed = executor.submit(parse_and_tag, result.body, worker_topics, row["name"], **kwargs)
                result.body = None
            elif executor is not None:
                parsed = executor.submit(parse_feed, result.body, **kwargs)
                result.body = None  # the worker has its copy; don't hold thousands of bodies twice
            else:
                parsed = parse_feed(result.body, **kwargs)
        finished.put((result, parsed, size))

    def fetch_everything() -> None:
        try:
            fetch_all(
                [FetchRequest(r["location"], r["etag"], r["last_modified"]) for r in by_url.values()],
                limits,
                on_result=on_result,
                backlog=backlog,
            )
        finally:
            finished.put(None)

    fetcher = threading.Thread(target=fetch_everything, name="fetch", daemon=True)
    fetcher.start()
    stored: set[str] = set()
    try:
        while (item := groups.next_from(finished)) is not None:
            result, pending, size = item
            parsed: ParseResult | None
            tags: _SliceTags | None = None
            if isinstance(pending, Future):
                _wait(pending, groups)
                try:
                    done = pending.result()
                except Exception as error:  # a crashed worker must not stop the other feeds
                    done = ParseResult(error=f"parser failed: {error}")
                if isinstance(done, tuple):  # parse_and_tag's
                    parsed, found = done
                    tags = _SliceTags.found([record.guid for record in parsed.records], found)
                else:
                    parsed = done
            else:
                parsed = pending
            row = by_url[result.url]
            outcome = SourceOutcome(row["name"])
            with groups.unit():
                _store_feed(db, row, result, parsed, options, outcome, now=now, tags=tags)
            backlog.done(size)
            summary.outcomes.append(outcome)
            stored.add(result.url)
            report(row["name"])
    finally:
        backlog.lift()  # a write that failed must not leave the fetcher waiting for room
    fetcher.join()
    for row, first in same_url:
        outcome = SourceOutcome(
            row["name"], error=f"reads the same URL as source {first['name']!r}; remove one"
        )
        with groups.unit():
            source_store.record_failure(db, row["id"], outcome.error, now=now)
        summary.outcomes.append(outcome)
        report(row["name"])
    for url, row in by_url.items():
        if url not in stored:  # the fetcher died before reporting this feed
            outcome = SourceOutcome(row["name"])
            with groups.unit():
                _store_feed(db, row, None, None, options, outcome, now=now)
            summary.outcomes.append(outcome)
            report(row["name"])


def _features_at_placement(records: Sequence[ArticleRecord]) -> list[bytes]:
    """Story features are computed when an article is placed (newswatch.placement), in worker processes
    beside the placer: during the pass the workers parse (and tag a file's lines) and the writer stores, and
    while articles are placed a core would otherwise sit idle."""
    return [FEATURES_AT_PLACEMENT] * len(records)


def _store_feed(
    db: Database,
    row: dict[str, Any],
    result: Any,
    parsed: ParseResult | None,
    options: IngestOptions,
    outcome: SourceOutcome,
    *,
    now: datetime,
    tags: _SliceTags | None = None,
) -> None:
    """One feed's writes; the caller holds a unit of a commit group. `tags`: what a worker found for the
    feed's records (the writer tags the rest)."""
    if result is None:
        outcome.error = "not fetched: the fetcher stopped unexpectedly"
        source_store.record_failure(db, row["id"], outcome.error, now=now)
        return
    if result.error:
        outcome.error = result.error
        # A feed the run deadline never reached is due again next pass: no backoff for it.
        retry = None if result.run_deadline_reached else _retry_time(row, result, options, now)
        source_store.record_failure(db, row["id"], result.error, now=now, next_fetch_after=retry)
        return
    hint = _poll_hint(result, parsed, row)
    next_fetch = now + timedelta(seconds=min(hint, _MAX_BACKOFF.total_seconds())) if hint else None
    if result.not_modified:
        outcome.unchanged += source_store.article_count(db, row["id"])
        source_store.record_success(db, row["id"], now=now, next_fetch_after=next_fetch)
        return
    moved_to = result.permanent_redirect_url
    if moved_to and (other := source_store.source_reading(db, "url", moved_to, besides=row["id"])):
        # Following the move would make two sources of one feed: every article counted twice, and the two
        # rows one key in the next pass. The user decides which to keep.
        outcome.error = f"moved permanently to {moved_to}, which source {other!r} already reads; remove one"
        source_store.record_failure(db, row["id"], outcome.error, now=now)
        return
    assert parsed is not None
    outcome.warnings.extend(parsed.warnings)
    if parsed.error and not parsed.records:
        outcome.error = parsed.error
        source_store.record_failure(db, row["id"], parsed.error, now=now)
        return
    stored = _store_records(db, row["id"], parsed.records, options, outcome, now=now, tags=tags)
    if options.fulltext is not None and stored.new_ids:
        from newswatch.fulltext_pass import queue_new_articles

        queue_new_articles(db, options.fulltext, row["name"], stored.new_ids)
    source_store.record_success(
        db,
        row["id"],
        now=now,
        etag=result.etag,
        last_modified=result.last_modified,
        new_location=result.permanent_redirect_url,
        next_fetch_after=next_fetch,
        poll_hint_seconds=hint,
    )


def _retry_time(row: dict[str, Any], result: Any, options: IngestOptions, now: datetime) -> datetime:
    """Retry-After when the server gave one; otherwise exponential backoff on repeated failures."""
    if result.retry_after_seconds:
        return now + timedelta(seconds=min(result.retry_after_seconds, _MAX_BACKOFF.total_seconds()))
    interval = row["interval_seconds"] or options.default_interval
    failures = int(row["consecutive_failures"] or 0)
    if failures == 0:
        return now  # the first failure is retried on the next pass
    return now + min(timedelta(seconds=interval * (2 ** (failures - 1))), _MAX_BACKOFF)


def _poll_hint(result: Any, parsed: ParseResult | None, row: dict[str, Any]) -> int:
    """A feed's <ttl> and Cache-Control max-age, in seconds: lower bounds on how soon we poll again.

    A 304 has no body (so no <ttl>) and often no Cache-Control: the hint the feed gave last stands."""
    hints = [result.max_age_seconds or 0, (parsed.ttl_seconds if parsed else None) or 0]
    if parsed is None:
        hints.append(row.get("poll_hint_seconds") or 0)
    return int(max(hints))


# --- shared --------------------------------------------------------------------------------------------


def _store_records(
    db: Database,
    source_id: int,
    records: list[ArticleRecord],
    options: IngestOptions,
    outcome: SourceOutcome,
    *,
    now: datetime,
    tags: _SliceTags | None = None,
) -> UpsertResult:
    """Articles, their FTS rows, story features rows (new ones only) and topic tags: one unit of work.
    `tags`: what a worker found for the new records; the writer tags the rest."""
    for record in records:
        record.correct_future_date(now)
    result = upsert_articles(db, source_id, records, now=now, features=_features_at_placement)
    outcome.new += len(result.new_ids)
    outcome.updated += len(result.updated_ids)
    outcome.unchanged += result.unchanged
    untagged = result.new_ids
    if tags is not None and result.new_ids:
        found, covered = tags.tags(dict(zip(result.new_guids, result.new_ids, strict=True)))
        add_found_tags(db, found)
        untagged = [article_id for article_id in result.new_ids if article_id not in covered]
    tag_articles(db, options.topics, untagged)
    tag_articles(db, options.topics, result.updated_ids, replace=True)
    return result
