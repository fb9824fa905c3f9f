"""The `newswatch` command: thin argument parsing over the pipeline, store and topic functions.

Exit status: 0 success (also "nothing new" and "another ingest is running"), 1 a runtime failure
(database, I/O; the message is on stderr), 2 a bad config or bad arguments.
Only the standard library is imported at module level, so `newswatch --help` answers at once and the cron
path never imports textual.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

# Standard library only at import time (the session imports the rest when a command needs it).
from newswatch.session import Session

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2

_EPILOG = """\
commands without a subcommand open the interactive interface.

exit status: 0 ok (including nothing new, or another ingest already running), 1 runtime failure
(message on stderr), 2 bad config or arguments.

config lookup: --config, $NEWSWATCH_CONFIG, the user config dir, then the bundled config.toml.
database: --db, $NEWSWATCH_DB, `database` in the config, then the user data dir.

cron example (fetch every 15 minutes, mail only new alerts):
  */15 * * * *  newswatch ingest --quiet --alerts
"""


class CliError(Exception):
    def __init__(self, message: str, status: int = EXIT_FAILURE):
        super().__init__(message)
        self.status = status


# --- argument parsing ---------------------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before or after the subcommand; SUPPRESS keeps a subcommand from erasing the top-level value.
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--config", metavar="FILE", default=default, help="config file (default: see below)")
    parser.add_argument(
        "--db",
        metavar="FILE",
        default=default,
        help="SQLite database file, or postgresql://user@host/dbname for a team store",
    )
    parser.add_argument(
        "--utc",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="show times in UTC (default: the local time zone, TZ respected; or `[ui] utc = true`)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="A terminal news monitor: ingest feeds and article files, tag topics, group stories, alert.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from newswatch import __version__

    parser.add_argument("--version", action="version", version=f"newswatch {__version__}")
    _global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _global_options(sub, top=False)
        return sub

    ingest = command("ingest", "one pass over all sources, then a one-line summary")
    ingest.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors (for cron)")
    ingest.add_argument(
        "--force",
        action="store_true",
        help="fetch every source now, even one whose `interval` or ttl/max-age says wait",
    )
    ingest.add_argument(
        "--alerts",
        action="store_true",
        help="then print new alerts, as `newswatch alerts` (alone on stdout; the summary goes to stderr)",
    )
    ingest.add_argument("--json", action="store_true", help="JSON output (summary and alerts)")

    watch = command("watch", "poll each source at its interval until interrupted")
    watch.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    watch.add_argument("--alerts", action="store_true", help="print new alerts after each pass")
    watch.add_argument("--json", action="store_true", help="JSON output")
    watch.add_argument(
        "--tick",
        type=_tick_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how often to look for due feeds and new files in watched folders (default 10)",
    )

    sources = command("sources", "list sources with their last fetch and article counts")
    sources.add_argument("--json", action="store_true")
    source_commands = sources.add_subparsers(dest="sources_command", metavar="ACTION")
    add = source_commands.add_parser("add", help="add a feed URL")
    _global_options(add, top=False)
    add.add_argument("url")
    add.add_argument("--name", help="a name for the source (default: the URL's host)")
    add.add_argument("--interval", help='poll interval for `watch`, e.g. "15m"')
    remove = source_commands.add_parser("remove", help="remove a source added with `sources add` or OPML")
    _global_options(remove, top=False)
    remove.add_argument("name")

    opml = command("opml", "import or export feeds as OPML")
    opml_commands = opml.add_subparsers(dest="opml_command", metavar="ACTION", required=True)
    opml_import = opml_commands.add_parser("import", help="add every feed in an OPML file")
    _global_options(opml_import, top=False)
    opml_import.add_argument("file")
    opml_export = opml_commands.add_parser("export", help="print all feed sources as OPML")
    _global_options(opml_export, top=False)

    articles = command("articles", "list articles, newest first")
    articles.add_argument(
        "query", nargs="?", help="a query in the search language (see docs/query-language.md)"
    )
    _listing_options(articles)

    search = command("search", "search articles with the query language")
    search.add_argument("query")
    _listing_options(search)

    topics = command("topics", "topics with article, story and unread counts")
    topics.add_argument("--json", action="store_true")
    topic_commands = topics.add_subparsers(dest="topics_command", metavar="ACTION")
    test = topic_commands.add_parser("test", help="what a query would match among stored articles")
    _global_options(test, top=False)
    test.add_argument("query")
    test.add_argument("--since", help='only articles since a date or age, e.g. "7d" or 2024-11-01')
    test.add_argument("--limit", type=_positive_int, default=10)
    test.add_argument("--json", action="store_true")

    alerts = command("alerts", "print new matches on alerting topics, once each")
    _alert_options(alerts)

    stories = command("stories", "list stories: one event, many outlets")
    stories.add_argument("query", nargs="?")
    stories.add_argument("--topic", metavar="NAME")
    stories.add_argument("--source", metavar="NAME")
    stories.add_argument("--since", metavar="DATE", help="stories reported since a date or age")
    stories.add_argument("--until", metavar="DATE", help="stories first reported before a date")
    stories.add_argument("--limit", type=_positive_int, default=50)
    stories.add_argument("--sort", choices=["newest", "outlets"], default="newest")
    stories.add_argument("--outlets", action="store_true", help="list each story's outlets under it")
    stories.add_argument("--unread", action="store_true", help="only stories with an unread article")
    stories.add_argument("--starred", action="store_true", help="only stories with a starred article")
    stories.add_argument("--json", action="store_true")

    read = command("read", "mark articles (or, with --story, whole stories) read")
    read.add_argument(
        "ids", nargs="+", type=_positive_int, metavar="ID", help="article ids (see articles --json)"
    )
    read.add_argument(
        "--story", action="store_true", help="the ids are story ids: mark every article in them"
    )
    read.add_argument("--undo", action="store_true", help="mark unread instead")

    star = command("star", "star articles (or, with --story, a story through its lead)")
    star.add_argument("ids", nargs="+", type=_positive_int, metavar="ID")
    star.add_argument("--story", action="store_true", help="the ids are story ids")
    star.add_argument("--undo", action="store_true", help="remove the star instead")
    digest = command("digest", "the period's stories per topic, most widely reported first")
    digest.add_argument(
        "--topic",
        metavar="NAME",
        action="append",
        help="a topic to report on (repeat for several; default: [digest] topics, else every topic)",
    )
    digest.add_argument(
        "--since", metavar="AGE", help='an age ("24h", "7d") or a date (default: [digest] period)'
    )
    digest.add_argument("--until", metavar="DATE", help="only stories first reported before a date")
    digest.add_argument(
        "--format",
        choices=["text", "markdown", "html", "json"],
        help="output format (default: [digest] format)",
    )
    digest.add_argument("--limit", type=_positive_int, help="stories per topic (default: [digest] limit)")

    command("regroup", "rebuild all stories from scratch (same result as incremental ingest)")

    migrate = command("migrate", "copy an SQLite store into a PostgreSQL one (resumable; counts verified)")
    migrate.add_argument("--from", dest="source", metavar="FILE", required=True, help="the SQLite database")
    migrate.add_argument(
        "--to", dest="target", metavar="URL", required=True, help="postgresql://user@host/db"
    )
    migrate.add_argument("--quiet", action="store_true", help="no progress display")
    return parser


def _listing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="NAME", help="only this source")
    parser.add_argument("--topic", metavar="NAME", help="only articles tagged with this topic")
    parser.add_argument("--since", metavar="DATE", help='a date (2024-11-01) or an age ("7d", "12h")')
    parser.add_argument("--limit", type=_positive_int, default=50)
    parser.add_argument("--unread", action="store_true", help="only unread articles")
    parser.add_argument("--starred", action="store_true", help="only starred articles")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def _alert_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--since", metavar="DATE", help="only stories seen since a date or age")
    parser.add_argument("--topic", metavar="NAME", help="only this topic")
    parser.add_argument("--dry-run", action="store_true", help="print without remembering")
    parser.add_argument("--mark-read", action="store_true", help="also mark the alerted articles read")


# Larger limits are typos; SQLite's integers end at 2**63 and Python's ints do not.
_MAX_LIMIT = 1_000_000_000


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text[:40]!r}") from None
    if not 0 < value <= _MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to {_MAX_LIMIT:,}, got {text[:40]!r}")
    return value


def _tick_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text[:40]!r}") from None
    # nan compares false with everything: without isfinite it passed "> 0" checks and busy-looped.
    if not (math.isfinite(value) and 0 < value <= 86400):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds from more than 0 to 86400, got {text[:40]!r}"
        )
    return value


def parse_since(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """'7d' / '12h' (an age) or '2024-11-01' / an ISO datetime -> a UTC datetime."""
    if not text:
        return None
    from newswatch.config import parse_when

    try:
        return parse_when(text, now=now)
    except ValueError as error:
        raise CliError(f"--since: {error}", EXIT_CONFIG) from None


# --- shared context -------------------------------------------------------------------------------------


class Context(Session):
    """The session, plus what only the command line says: times as printed, a bad query as exit status 2."""

    def when(self, value: str | None, origin: str | None) -> str:
        """A stored time as the user reads it: local (or --utc), a day as a date, a stand-in marked '~'."""
        from newswatch.timefmt import format_when

        return format_when(value, origin, utc=self.config.utc)

    def compile(self, query: str) -> Any:
        from topics.query import QueryError, compile_query

        try:
            return compile_query(query, self.config.terms)
        except QueryError as error:
            raise CliError(f"query: {error}", EXIT_CONFIG) from None


def _context(args: argparse.Namespace) -> Context:
    from newswatch.config import default_db_path, load_config, resolve_config_path, resolve_db_path

    config = load_config(resolve_config_path(getattr(args, "config", None)))
    if getattr(args, "utc", False):
        config.utc = True
    try:
        db_path = resolve_db_path(getattr(args, "db", None), config)
    except ValueError as error:
        raise CliError(f"--db / $NEWSWATCH_DB: {error}", EXIT_CONFIG) from None
    # Only the default data dir is created; a database the user named goes in a folder that exists, so a
    # typo in --db is reported instead of silently growing a new tree (and an empty database) somewhere.
    # The folder is looked at first: the default path costs an import of platformdirs.
    if isinstance(db_path, Path) and not db_path.parent.exists() and db_path != default_db_path():
        raise CliError(
            f"database folder {db_path.parent} does not exist (from --db, $NEWSWATCH_DB or the config)",
            EXIT_CONFIG,
        )
    return Context(config, db_path)


# --- output ---------------------------------------------------------------------------------------------


def emit_json(obj: dict[str, Any], file: Any = None) -> None:
    # ensure_ascii keeps every control or bidi character escaped, so JSON output is terminal-safe too.
    (file or sys.stdout).write(json.dumps(obj, ensure_ascii=True, default=str) + "\n")


def emit_error(text: str) -> None:
    """One line on stderr, prefixed and terminal-safe like everything the CLI prints."""
    from feeds.sanitize import terminal_safe

    print(f"newswatch: {terminal_safe(text)}", file=sys.stderr)


def emit_line(text: str) -> None:
    from feeds.sanitize import terminal_safe

    sys.stdout.write(terminal_safe(text) + "\n")


class _Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        # Its own cursor codes (\r, erase line) must reach the terminal; the label is cleaned below.
        self.stream = _unfiltered(sys.stderr)

    def __call__(self, done: int, total: int, name: str) -> None:
        if not self.enabled:
            return
        from feeds.sanitize import clean_line

        width = 24
        filled = int(width * done / max(total, 1))
        label = clean_line(name, max_chars=40)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}\x1b[K")
        if done >= total:
            self.stream.write("\r\x1b[K")
        self.stream.flush()


# --- commands -------------------------------------------------------------------------------------------


def _one_pass(ctx: Context, options: Any, on_busy: Any = None) -> Any:
    """One locked pass; None if another ingest holds the lock, which `on_busy(message)` is told (by
    default: a note on stderr)."""
    from store.lock import IngestBusy

    try:
        return ctx.ingest_pass(options)
    except IngestBusy as busy:
        if on_busy is None:
            print(f"newswatch: {busy}", file=sys.stderr)
        else:
            on_busy(str(busy))
        return None


def _print_summary(summary: Any, *, quiet: bool, as_json: bool, to_stderr: bool = False) -> None:
    """The pass's summary; `to_stderr` when alerts follow, so stdout carries the alerts alone."""
    from feeds.sanitize import terminal_safe

    for outcome in summary.failed:
        print(f"newswatch: {terminal_safe(outcome.name)}: {terminal_safe(outcome.error)}", file=sys.stderr)
    if quiet:
        return
    for outcome in summary.outcomes:
        for warning in outcome.warnings[:20]:
            print(f"newswatch: {terminal_safe(outcome.name)}: {terminal_safe(warning)}", file=sys.stderr)
    if as_json:
        emit_json(
            {
                "new": summary.new,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "failed_sources": [{"source": o.name, "error": o.error} for o in summary.failed],
                "not_due": [o.name for o in summary.skipped],
                "retagged_topics": summary.retagged_topics,
            },
            file=sys.stderr if to_stderr else sys.stdout,
        )
    else:
        print(summary.line(), file=sys.stderr if to_stderr else sys.stdout)


def cmd_ingest(ctx: Context, args: argparse.Namespace) -> int:
    # A cron ingest honours each source's `interval` (a feed set to "6h" is not fetched every 15 minutes).
    options = ctx.ingest_options(
        progress=_Progress(not args.quiet), force=args.force, honour_intervals=not args.force
    )
    summary = _one_pass(ctx, options)
    if summary is None:
        return EXIT_OK
    _print_summary(summary, quiet=args.quiet, as_json=args.json, to_stderr=args.alerts)
    if args.alerts:
        return _print_alerts(ctx, as_json=args.json)
    return EXIT_OK


def cmd_watch(ctx: Context, args: argparse.Namespace) -> int:
    from newswatch.watch import watch_loop

    options = ctx.ingest_options(only_due=True)

    def after_pass(summary: Any) -> None:
        if summary is not None and (summary.new or summary.updated or summary.failed):
            _print_summary(summary, quiet=args.quiet, as_json=args.json, to_stderr=args.alerts)
        if args.alerts:
            _print_alerts(ctx, as_json=args.json)
        sys.stdout.flush()

    busy_said = False

    def on_busy(message: str) -> None:
        # Once per episode: a long manual ingest beside a 10 s tick would otherwise print every tick.
        nonlocal busy_said
        if not busy_said:
            print(f"newswatch: {message}; watch waits for it", file=sys.stderr)
            busy_said = True

    def one_pass() -> Any:
        nonlocal busy_said
        summary = _one_pass(ctx, options, on_busy)
        if summary is not None:
            busy_said = False
        return summary

    watch_loop(one_pass, after_pass, tick=args.tick)
    return EXIT_OK


def cmd_sources(ctx: Context, args: argparse.Namespace) -> int:
    from store.db import utc_now, write_batch
    from store.sources import SourceError, SourceSpec, add_source, remove_source, source_overview

    db = ctx.db
    if args.sources_command == "add":
        from newswatch.config import parse_duration

        url = args.url
        if not url.lower().startswith(("http://", "https://")):
            raise CliError(f"sources add: expected an http(s) feed URL, got {url!r}", EXIT_CONFIG)
        interval = None
        if args.interval:
            try:
                interval = parse_duration(args.interval)
            except ValueError as error:
                raise CliError(f"--interval: {error}", EXIT_CONFIG) from None
        name = args.name or _name_from_url(url)
        try:
            with write_batch(db):
                add_source(db, SourceSpec(name, "url", url, interval, origin="cli"), now=utc_now())
        except SourceError as error:
            raise CliError(f"sources add: {error}", EXIT_CONFIG) from None
        print(f"added source {name!r}: {url}")
        return EXIT_OK
    if args.sources_command == "remove":
        if args.name.casefold() in {spec.name.casefold() for spec in ctx.config.sources}:
            raise CliError(
                f"sources remove: source {args.name!r} is defined in {ctx.config.path}: remove it there",
                EXIT_CONFIG,
            )
        try:
            with write_batch(db):
                removed = remove_source(db, args.name)
        except SourceError as error:
            raise CliError(f"sources remove: {error}", EXIT_CONFIG) from None
        print(f"removed source {args.name!r} and its {removed} articles")
        return EXIT_OK
    # A listing only reads: configured sources not stored yet (or changed) are shown as the config says, and
    # the next ingest stores them.
    rows = _sources_as_configured(source_overview(db), ctx.config.sources)
    for row in rows:
        if args.json:
            emit_json(row)
            continue
        status = "never fetched"
        if row["last_error"]:
            status = f"FAILED {ctx.when(row['last_error_at'], None)}: {row['last_error']}"
        elif row["last_success_at"]:
            status = f"ok {ctx.when(row['last_success_at'], None)}"
        inactive = "" if row["active"] else " (inactive: not in config)"
        emit_line(f"{row['name']}{inactive}  {row['articles']} articles ({row['unread']} unread)  {status}")
        emit_line(f"    {row['location']}")
    return EXIT_OK


def _sources_as_configured(stored: list[dict[str, Any]], specs: Sequence[Any]) -> list[dict[str, Any]]:
    """The stored sources as the next ingest will see them: what the config adds, moves or drops."""
    by_name = {spec.name: spec for spec in specs}
    rows: list[dict[str, Any]] = []
    for row in stored:
        spec = by_name.pop(row["name"], None)
        if spec is not None:
            row = {**row, "kind": spec.kind, "location": spec.location, "active": 1}
        elif row["origin"] == "config":
            row = {**row, "active": 0}
        rows.append(row)
    for spec in by_name.values():
        rows.append(
            {
                "id": None,
                "name": spec.name,
                "kind": spec.kind,
                "location": spec.location,
                "origin": spec.origin,
                "active": 1,
                "interval_seconds": spec.interval_seconds,
                "last_attempt_at": None,
                "last_success_at": None,
                "last_error": None,
                "last_error_at": None,
                "consecutive_failures": 0,
                "next_fetch_after": None,
                "articles": 0,
                "unread": 0,
            }
        )
    return sorted(rows, key=lambda row: row["name"].casefold())


def _name_from_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.hostname or url) + (parts.path.rstrip("/") if parts.path not in ("", "/") else "")


def cmd_opml(ctx: Context, args: argparse.Namespace) -> int:
    from feeds.opml import OpmlError, read_opml_outlines, write_opml
    from store.db import utc_now, write_batch
    from store.sources import SourceSpec, add_sources, source_overview

    if args.opml_command == "export":
        feeds = [(row["name"], row["location"]) for row in source_overview(ctx.db) if row["kind"] == "url"]
        sys.stdout.write(write_opml(feeds))
        return EXIT_OK
    try:
        outlines = read_opml_outlines(Path(args.file))
    except OpmlError as error:
        raise CliError(str(error), EXIT_CONFIG) from None
    specs = [SourceSpec(name, "url", url, None, origin="opml") for name, url in outlines.feeds]
    with write_batch(ctx.db):
        added, present = add_sources(ctx.db, specs, now=utc_now())
    for name, target, why in outlines.skipped:
        emit_error(f"{args.file}: skipped outline {name or '(no name)'!r} ({target}): {why}")
    asked = {spec.location: spec.name for spec in specs}
    renamed = sum(1 for spec in added if asked[spec.location] != spec.name)
    notes = [f"{len(present)} already present"]
    if outlines.skipped:
        notes.append(f"{len(outlines.skipped)} outlines skipped")
    if renamed:
        notes.append(f"{renamed} renamed to keep names unique")
    print(f"imported {len(added)} feeds from {args.file} ({', '.join(notes)})")
    return EXIT_OK


def _article_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "source": row["source"],
        "outlet": row["outlet"],
        "url": row["url"],
        "published": row["published"],
        "date_origin": row["date_origin"],
        "body_chars": row["body_chars"],
        "topics": row["topics"],
        "story": row["story_id"],
        "duplicate_of": row["duplicate_of"],
        "read": bool(row["read"]),
        "starred": bool(row["starred"]),
    }


def cmd_articles(ctx: Context, args: argparse.Namespace) -> int:
    from store.articles import ArticleFilter, list_articles

    compiled = ctx.compile(args.query) if args.query else None
    filters = ArticleFilter(
        fts=compiled.fts if compiled else None,
        source=args.source,
        topic=args.topic,
        since=parse_since(args.since),
        unread_only=args.unread,
        starred_only=args.starred,
    )
    _check_names(ctx, topic=args.topic, source=args.source)
    _hint_if_empty(ctx)
    for row in list_articles(ctx.db, filters, limit=args.limit):
        if args.json:
            emit_json(_article_json(row))
        else:
            topics = f"  [{', '.join(row['topics'])}]" if row["topics"] else ""
            emit_line(
                f"{ctx.when(row['sort_time'], row['date_origin'])}  {row['outlet'] or row['source']}: "
                f"{row['title']}{topics}"
            )
    return EXIT_OK


def _hint_if_empty(ctx: Context) -> None:
    """An empty database is a first run, not an empty result: say how to fill it (on stderr: stdout stays
    the listing, empty, for scripts)."""
    from store.browsing import library_size

    _sources, has_articles = library_size(ctx.db)
    if not has_articles:
        where = (
            f"the sources in {ctx.config.path}"
            if ctx.config.sources
            else f"no sources yet: add some to {ctx.config.path}"
        )
        print(
            f"newswatch: no articles stored yet ({where}); fetch them with `newswatch ingest`",
            file=sys.stderr,
        )


def _check_names(ctx: Context, *, topic: str | None = None, source: str | None = None) -> None:
    """An unknown --topic or --source is a typo to report, not an empty result."""
    if topic and topic.casefold() not in {t.name.casefold() for t in ctx.config.topics}:
        known = ", ".join(t.name for t in ctx.config.topics) or "none configured"
        raise CliError(f"--topic: no topic named {topic!r} (known: {known})", EXIT_CONFIG)
    if source:
        from store.sources import source_overview

        names = {row["name"].casefold() for row in source_overview(ctx.db)}
        if source.casefold() not in names:
            raise CliError(f"--source: no source named {source!r}", EXIT_CONFIG)


def cmd_topics(ctx: Context, args: argparse.Namespace) -> int:
    from store.topic_tags import topic_overview

    if args.topics_command == "test":
        return _topic_test(ctx, args)
    # A listing only reads. A topic that is new or changed in the config has no tags yet: the next ingest
    # tags the stored articles, and until then the listing says so rather than writing.
    stored = {row["name"]: row for row in topic_overview(ctx.db)}
    for topic in sorted(ctx.topics, key=lambda topic: topic.name.casefold()):
        row = stored.get(topic.name)
        tagged = row is not None and row["query_hash"] == topic.query_hash
        if args.json:
            emit_json(
                {
                    "name": topic.name,
                    "query": topic.query.text,
                    "alert": bool(topic.alert),
                    "tagged": tagged,
                    "articles": row["articles"] if tagged else 0,
                    "stories": row["stories"] if tagged else 0,
                    "unread": row["unread"] if tagged else 0,
                    "last_match": row["last_match"] if tagged else None,
                }
            )
            continue
        alert = " (alerts)" if topic.alert else ""
        if tagged:
            emit_line(
                f"{topic.name}{alert}: {row['articles']} articles, {row['stories']} stories, "
                f"{row['unread']} unread, last match {ctx.when(row['last_match'], None) or 'never'}"
            )
        else:
            emit_line(f"{topic.name}{alert}: not tagged yet (the next ingest tags the stored articles)")
        emit_line(f"    {topic.query.text}")
    return EXIT_OK


def _topic_test(ctx: Context, args: argparse.Namespace) -> int:
    from store.articles import ArticleFilter, count_matching, get_article, list_articles

    compiled = ctx.compile(args.query)
    filters = ArticleFilter(fts=compiled.fts, since=parse_since(args.since))
    total, stories = count_matching(ctx.db, filters)
    rows = list_articles(ctx.db, filters, limit=args.limit)
    window = f" since {args.since}" if args.since else ""
    if not args.json:
        emit_line(f"would match {total} articles in {stories} stories{window}")
    for row in rows:
        article = get_article(ctx.db, row["id"]) or {}
        # As the index holds it (store.schema.fts_outlet): `source:` matches the source's name too.
        outlet, source = article.get("outlet", ""), article.get("source", "")
        terms = compiled.matched_terms(
            article.get("title", ""),
            article.get("body", ""),
            outlet if source == outlet else f"{outlet} {source}",
        )
        if args.json:
            emit_json({**_article_json(row), "matched_terms": terms})
        else:
            emit_line(f"  {ctx.when(row['sort_time'], row['date_origin'])}  {row['outlet']}: {row['title']}")
            emit_line(f"      matched: {', '.join(terms)}")
    return EXIT_OK


def cmd_alerts(ctx: Context, args: argparse.Namespace) -> int:
    return _print_alerts(
        ctx,
        as_json=args.json,
        since=parse_since(args.since),
        topic=args.topic,
        dry_run=args.dry_run,
        mark_read=args.mark_read,
    )


def _print_alerts(
    ctx: Context,
    *,
    as_json: bool,
    since: datetime | None = None,
    topic: str | None = None,
    dry_run: bool = False,
    mark_read: bool = False,
) -> int:
    from topics.alerts import collect_alerts, format_alert_line

    _check_names(ctx, topic=topic)
    for alert in collect_alerts(
        ctx.db,
        since=since,
        topic=topic,
        remember=not dry_run,
        mark_read=mark_read,
        realert_sizes=ctx.config.realert_sizes,
    ):
        if as_json:
            emit_json(alert.as_json())
        else:
            emit_line(format_alert_line(alert, utc=ctx.config.utc))
    return EXIT_OK


def cmd_stories(ctx: Context, args: argparse.Namespace) -> int:
    from newswatch.timefmt import format_span, is_stand_in
    from store.story_rows import list_stories

    compiled = ctx.compile(args.query) if args.query else None
    _check_names(ctx, topic=args.topic, source=args.source)
    # Arguments first: a bad one is the one line said, not after a hint.
    since, until = parse_since(args.since), parse_since(args.until)
    _hint_if_empty(ctx)
    for story in list_stories(
        ctx.db,
        fts=compiled.fts if compiled else None,
        topic=args.topic,
        source=args.source,
        since=since,
        until=until,
        unread_only=args.unread,
        starred_only=args.starred,
        limit=args.limit,
        order=args.sort,
    ):
        if args.json:
            emit_json(
                {
                    "id": story["id"],
                    "title": story["title"],
                    "size": story["size"],
                    "outlets": story["outlets"],
                    "sources": story["sources"],
                    "article_ids": story["article_ids"],
                    "lead_article_id": story["lead_article_id"],
                    "topics": story["topics"],
                    "first_seen": story["first_seen"],
                    "last_seen": story["last_seen"],
                    "first_seen_is_stand_in": is_stand_in(story["first_origin"]),
                }
            )
        else:
            topics = f"  [{', '.join(story['topics'])}]" if story["topics"] else ""
            span = format_span(
                story["first_seen"],
                story["last_seen"],
                story["first_origin"],
                story["last_origin"],
                utc=ctx.config.utc,
            )
            emit_line(
                f"{span}  {story['title']}  ({story['size']} articles, {story['outlets']} outlets){topics}"
            )
            if args.outlets:
                emit_line(f"    {', '.join(story['sources'])}")
    return EXIT_OK


def _mark(ctx: Context, args: argparse.Namespace, change: str) -> int:
    """`read` / `star`: every id must exist (a typo is an error, not a silent no-op)."""
    from store.articles import set_read, set_starred
    from store.browsing import existing_ids, set_stories_read, set_stories_starred
    from store.db import write_batch

    known = existing_ids(ctx.db, args.ids, stories=args.story)
    missing = [str(i) for i in args.ids if i not in known]
    if missing:
        kind = "story" if args.story else "article"
        raise CliError(f"{args.command}: no {kind} with id {', '.join(missing)}", EXIT_CONFIG)
    value = not args.undo
    with write_batch(ctx.db):
        if change == "read" and args.story:
            set_stories_read(ctx.db, args.ids, value)
        elif change == "read":
            set_read(ctx.db, args.ids, value)
        elif args.story:
            set_stories_starred(ctx.db, args.ids, value)
        else:
            for article_id in args.ids:
                set_starred(ctx.db, article_id, value)
    return EXIT_OK


def cmd_read(ctx: Context, args: argparse.Namespace) -> int:
    return _mark(ctx, args, "read")


def cmd_star(ctx: Context, args: argparse.Namespace) -> int:
    return _mark(ctx, args, "star")


def cmd_digest(ctx: Context, args: argparse.Namespace) -> int:
    from digest import render
    from digest.build import build_digest
    from newswatch.config import duration_words
    from store.db import utc_now

    config = ctx.config
    if args.topic:
        known = {topic.name.casefold(): topic.name for topic in config.topics}
        topics: list[str] = []
        for name in args.topic:
            _check_names(ctx, topic=name)
            if known[name.casefold()] not in topics:
                topics.append(known[name.casefold()])
    else:
        topics = config.digest_topics or [topic.name for topic in config.topics]
    if not topics:
        raise CliError(f"digest: no topics configured in {config.path}", EXIT_CONFIG)
    now = utc_now()
    period = args.since or duration_words(config.digest_period)
    since = parse_since(period, now=now)
    until = parse_since(args.until, now=now) if args.until else None
    # A digest only reads (as `topics` does): a topic new or changed in the config is tagged by the next
    # ingest, and until then the digest says so rather than writing.
    from store.topic_tags import stored_query_hashes

    stored = stored_query_hashes(ctx.db)
    hashes = {topic.name: topic.query_hash for topic in ctx.topics}
    for name in topics:
        if stored.get(name) != hashes.get(name):
            emit_error(f"digest: topic {name!r} is not tagged yet (the next ingest tags the stored articles)")
    result = build_digest(
        ctx.db,
        topics,
        since=since,
        until=until,
        limit=args.limit or config.digest_limit,
        now=now,
        period=period,
    )
    form = args.format or config.digest_format
    text = render(result, form, utc=config.utc)
    if form == "text":
        from feeds.sanitize import terminal_safe

        text = terminal_safe(text)
    sys.stdout.write(text)
    return EXIT_OK


def cmd_regroup(ctx: Context, args: argparse.Namespace) -> int:
    from newswatch.placement import regroup_all
    from store.lock import IngestBusy, ingest_lock

    try:
        # Exclusive: no ingest stores articles while every story is rebuilt (on a server store ingests
        # otherwise share the lock).
        with ingest_lock(ctx.db_path, exclusive=True):
            count = regroup_all(ctx.db)
    except IngestBusy as busy:
        raise CliError(str(busy)) from None
    print(f"regrouped {count} articles")
    return EXIT_OK


def cmd_tui(ctx: Context, args: argparse.Namespace) -> int:
    from tui.app import run_app

    # The interface draws with escape codes on the real streams; every feed string in it is drawn as
    # literal text (tui.text).
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _unfiltered(sys.stdout), _unfiltered(sys.stderr)
    try:
        return run_app(ctx)
    finally:
        sys.stdout, sys.stderr = saved


def cmd_migrate(ctx: Context, args: argparse.Namespace) -> int:
    from store.backends import is_postgres_url

    if not is_postgres_url(args.target):
        raise CliError(f"migrate: --to must be a postgresql:// URL, got {args.target!r}", EXIT_CONFIG)
    source = Path(args.source).expanduser()
    if not source.is_file():
        raise CliError(f"migrate: --from {source}: no such database file", EXIT_CONFIG)
    from store.backends.postgres import redact
    from store.backends.sqlite_to_postgres import migrate_store

    progress = _Progress(not args.quiet)
    counts = migrate_store(
        source, args.target, progress=lambda table, done, total: progress(done, total, table)
    )
    shown = ", ".join(
        f"{counts[t]} {t}" for t in ("sources", "article_rows", "stories", "alerts", "user_state")
    )
    print(f"copied {source} to {redact(args.target)}: {shown}; every table's count matches")
    return EXIT_OK


_COMMANDS = {
    "ingest": cmd_ingest,
    "watch": cmd_watch,
    "sources": cmd_sources,
    "opml": cmd_opml,
    "articles": cmd_articles,
    "search": cmd_articles,
    "topics": cmd_topics,
    "alerts": cmd_alerts,
    "stories": cmd_stories,
    "regroup": cmd_regroup,
    "migrate": cmd_migrate,
    "read": cmd_read,
    "star": cmd_star,
    "digest": cmd_digest,
    None: cmd_tui,
}


class _TerminalSafeStream(io.TextIOBase):
    """stdout or stderr with every write passed through `feeds.sanitize.terminal_safe`.

    Error messages carry text from outside (an SQLite error quoting stored feed text, a topic name from the
    config, a file name): filtering each message at its print was missed on some paths, so the filter sits
    on the stream itself and no line the CLI prints can bypass it. Only the progress bar writes its own
    control codes, to `unfiltered`.
    """

    def __init__(self, stream: Any) -> None:
        self.unfiltered = stream

    def write(self, text: str) -> int:
        from feeds.sanitize import terminal_safe

        self.unfiltered.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        self.unfiltered.flush()

    def fileno(self) -> int:
        return self.unfiltered.fileno()

    def isatty(self) -> bool:
        return self.unfiltered.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.unfiltered, "encoding", "utf-8")


@contextlib.contextmanager
def _terminal_safe_output() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _TerminalSafeStream(saved[0]), _TerminalSafeStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _unfiltered(stream: Any) -> Any:
    return getattr(stream, "unfiltered", stream)


def main(argv: Sequence[str] | None = None) -> int:
    with _terminal_safe_output():
        return _main(argv)


def run() -> int:
    """The `newswatch` command itself (the console script, `python -m newswatch.cli`): `main` on the
    process's arguments, for a process that ends when it returns. (Tests call `main`.)"""
    status = main()
    # The process ends now. On the way out the interpreter clears every module and runs the cyclic garbage
    # collector over all that is left (~40,000 objects after an ingest: asyncio, httpx, sqlite3, ours): 25-35 ms
    # of CPU, a tenth of a warm pass, to free memory the OS takes back anyway. Frozen objects are skipped.
    # Nothing is left for the collector to close: the database and the output streams are closed or
    # flushed explicitly, before this and at exit.
    gc.freeze()
    return status


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    ctx: Context | None = None
    try:
        ctx = _context(args)
        status = _COMMANDS[args.command](ctx, args)
    except CliError as error:
        print(f"newswatch: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `newswatch articles | head`: the reader left; not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:
        from newswatch.config import ConfigError
        from store.db import StoreError, describe_db_error

        if isinstance(error, ConfigError):
            for problem in error.problems:
                print(f"newswatch: {problem}", file=sys.stderr)
            return EXIT_CONFIG
        if isinstance(error, StoreError):
            print(f"newswatch: {error}", file=sys.stderr)
            return EXIT_FAILURE
        if isinstance(error, OSError):
            where = f"{error.filename}: " if error.filename else ""
            print(f"newswatch: {where}{error.strerror or error}", file=sys.stderr)
            return EXIT_FAILURE
        import sqlite3

        if isinstance(error, sqlite3.DatabaseError):
            db_path = getattr(args, "db", None) or "database"
            print(f"newswatch: {describe_db_error(db_path, error)}", file=sys.stderr)
            return EXIT_FAILURE
        raise
    finally:
        if ctx is not None:
            ctx.close()
    return status


if __name__ == "__main__":
    sys.exit(run())
