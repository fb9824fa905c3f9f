"""The sources table: what to read, the HTTP validators, and how the last attempt went."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.values import to_db_time

if TYPE_CHECKING:
    from store.db import Database


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source as configured: a local path/glob or a feed URL."""

    name: str
    kind: str  # "path" | "url"
    location: str
    interval_seconds: int | None = None
    origin: str = "config"


class SourceError(ValueError):
    pass


def sync_sources(db: Database, specs: Iterable[SourceSpec], *, now: datetime) -> None:
    """Make the table agree with the config: add new sources, update changed ones, deactivate dropped ones.

    Sources added from the command line or an OPML import are kept; a config source that disappears is
    deactivated, not deleted, so its articles stay.
    """
    specs = list(specs)
    names = [spec.name for spec in specs]
    conn = db.conn
    for spec in specs:
        row = conn.execute(
            "SELECT id, kind, location, interval_seconds, origin, active FROM sources WHERE name = ?",
            [spec.name],
        ).fetchone()
        if row is None:
            conn.execute(
                """INSERT INTO sources (name, kind, location, interval_seconds, origin, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [spec.name, spec.kind, spec.location, spec.interval_seconds, spec.origin, to_db_time(now)],
            )
        elif row[1:] != (spec.kind, spec.location, spec.interval_seconds, spec.origin, 1):
            # Only when something differs: `watch` syncs every pass, and a write wakes every open TUI.
            moved = (row[1], row[2]) != (spec.kind, spec.location)
            conn.execute(
                f"""UPDATE sources SET kind = ?, location = ?, interval_seconds = ?, active = 1,
                        origin = CASE WHEN origin = 'config' OR ? = 'config' THEN ? ELSE origin END
                        {", etag = NULL, last_modified = NULL" if moved else ""}
                    WHERE id = ?""",
                [spec.kind, spec.location, spec.interval_seconds, spec.origin, spec.origin, row[0]],
            )
    marks = ",".join("?" * len(names))
    conn.execute(
        f"UPDATE sources SET active = 0 WHERE active = 1 AND origin = 'config' AND name NOT IN ({marks})"
        if names
        else "UPDATE sources SET active = 0 WHERE active = 1 AND origin = 'config'",
        names,
    )


def active_sources(db: Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM sources WHERE active = 1 ORDER BY name COLLATE NOCASE"))


class SourceClaims:
    """The sources one ingest pass reads, claimed in batches so that several processes (on a server store)
    never read the same source at once; on SQLite the one ingest gets every active source in one batch.

    `next_batch()` releases the previous batch (call it after committing that batch's writes) and claims
    more; `release()` lets the last ones go. A killed process releases its claims with its connection."""

    BATCH = 32

    def __init__(self, db: Database) -> None:
        from store.backends import backend_of

        self.db = db
        self.round_start = backend_of(db).claim_round(db)
        self.after = 0
        self.held: list[int] = []

    def next_batch(self) -> list[dict[str, Any]]:
        self.release()
        from store.backends import backend_of

        rows = backend_of(self.db).claim_sources(
            self.db, after=self.after, round_start=self.round_start, limit=self.BATCH
        )
        self.held = [row["id"] for row in rows]
        if rows:
            self.after = max(self.held)
        return rows

    def release(self) -> None:
        from store.backends import backend_of

        held, self.held = self.held, []
        backend_of(self.db).release_sources(self.db, held)


def add_source(db: Database, spec: SourceSpec, *, now: datetime) -> int:
    existing = db.execute(
        "SELECT name FROM sources WHERE name = ? COLLATE NOCASE OR (kind = ? AND location = ?)",
        [spec.name, spec.kind, spec.location],
    ).fetchone()
    if existing:
        raise SourceError(f"a source named {existing[0]!r} already reads {spec.location}")
    cursor = db.conn.execute(
        """INSERT INTO sources (name, kind, location, interval_seconds, origin, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [spec.name, spec.kind, spec.location, spec.interval_seconds, spec.origin, to_db_time(now)],
    )
    return int(cursor.lastrowid or 0)


def source_reading(db: Database, kind: str, location: str, *, besides: int) -> str | None:
    """The name of a source other than `besides` that reads `location`, if any."""
    row = db.execute(
        "SELECT name FROM sources WHERE kind = ? AND location = ? AND id != ? ORDER BY id LIMIT 1",
        [kind, location, besides],
    ).fetchone()
    return row[0] if row else None


def add_sources(
    db: Database, specs: Iterable[SourceSpec], *, now: datetime
) -> tuple[list[SourceSpec], list[SourceSpec]]:
    """Add many sources at once (an OPML import); returns (added, already present).

    A spec whose location a source already reads is already present. A new location whose name another
    source has (names are unique ignoring case) is added as "name (2)", "name (3)"…: two feeds are never one
    because their names differ only in case. The existing names and locations are read once, so an import is
    linear in its size (a `COLLATE NOCASE` lookup per feed cannot use the name index: 50k feeds took minutes).
    """
    names: set[str] = set()
    locations: set[tuple[str, str]] = set()
    for name, kind, location in db.conn.execute("SELECT name, kind, location FROM sources"):
        names.add(name.casefold())
        locations.add((kind, location))
    added: list[SourceSpec] = []
    present: list[SourceSpec] = []
    rows = []
    for spec in specs:
        if (spec.kind, spec.location) in locations:
            present.append(spec)
            continue
        name, n = spec.name, 2
        while name.casefold() in names:
            name = f"{spec.name} ({n})"
            n += 1
        spec = replace(spec, name=name)
        names.add(name.casefold())
        locations.add((spec.kind, spec.location))
        added.append(spec)
        rows.append(
            [spec.name, spec.kind, spec.location, spec.interval_seconds, spec.origin, to_db_time(now)]
        )
    db.conn.executemany(
        """INSERT INTO sources (name, kind, location, interval_seconds, origin, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        rows,
    )
    return added, present


def remove_source(db: Database, name: str) -> int:
    """Delete a source added from the command line or OPML, with its articles; returns how many went."""
    row = db.execute("SELECT id, origin, name FROM sources WHERE name = ? COLLATE NOCASE", [name]).fetchone()
    if row is None:
        raise SourceError(f"no source named {name!r}")
    if row[1] == "config":
        raise SourceError(f"source {row[2]!r} is defined in the config file: remove it there")
    count = int(db.execute("SELECT count(*) FROM articles WHERE source_id = ?", [row[0]]).fetchone()[0])
    stories = [
        story_id
        for (story_id,) in db.execute(
            "SELECT DISTINCT story_id FROM articles WHERE source_id = ? AND story_id IS NOT NULL", [row[0]]
        )
    ]
    # The grouper forgets them too: left in its window they were found as the originals of later copies (on
    # SQLite, which reuses ids, an article became a copy of itself), and their vectors stay summed in their
    # stories. So its placements lose them and the next placement regroups from what remains (a regroup
    # replays the recorded chunks, so the stories are those the remaining articles would have formed).
    for table in ("grouping_articles", "article_features"):
        db.conn.execute(
            f"DELETE FROM {table} WHERE article_id IN (SELECT id FROM articles WHERE source_id = ?)", [row[0]]
        )
    db.conn.execute(
        "INSERT INTO grouping_meta (key, value) VALUES ('rebuild', 1)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    # Its articles first, while the source still names them: the search index is told exactly what it
    # indexed (the source's name included, see store.schema.fts_outlet).
    db.conn.execute("DELETE FROM articles WHERE source_id = ?", [row[0]])
    db.conn.execute("DELETE FROM sources WHERE id = ?", [row[0]])
    from store.story_rows import refresh_stories

    # Stories left without members go; the others get their lead, size and dates from what remains.
    refresh_stories(db, stories)
    return count


def article_count(db: Database, source_id: int) -> int:
    return int(db.execute("SELECT count(*) FROM articles WHERE source_id = ?", [source_id]).fetchone()[0])


def source_overview(db: Database) -> list[dict[str, Any]]:
    """Every source with its article counts and the outcome of its last fetch."""
    return list(
        db.query(
            """SELECT s.id, s.name, s.kind, s.location, s.origin, s.active, s.interval_seconds,
                      s.last_attempt_at, s.last_success_at, s.last_error, s.last_error_at,
                      s.consecutive_failures, s.next_fetch_after,
                      (SELECT count(*) FROM articles a WHERE a.source_id = s.id) AS articles,
                      (SELECT count(*) FROM articles a WHERE a.source_id = s.id AND a.read = 0) AS unread
               FROM sources s ORDER BY s.name COLLATE NOCASE"""
        )
    )


def record_success(
    db: Database,
    source_id: int,
    *,
    now: datetime,
    etag: str | None = None,
    last_modified: str | None = None,
    new_location: str | None = None,
    next_fetch_after: datetime | None = None,
    poll_hint_seconds: int | None = None,
) -> None:
    """A successful fetch; `poll_hint_seconds` (the feed's <ttl> / max-age) is kept until a fetch says
    otherwise, since a 304 repeats neither."""
    db.conn.execute(
        """UPDATE sources SET last_attempt_at = ?, last_success_at = ?, last_error = NULL,
               consecutive_failures = 0, etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),
               location = COALESCE(?, location), next_fetch_after = ?,
               poll_hint_seconds = COALESCE(?, poll_hint_seconds)
           WHERE id = ?""",
        [
            to_db_time(now),
            to_db_time(now),
            etag,
            last_modified,
            new_location,
            to_db_time(next_fetch_after),
            poll_hint_seconds,
            source_id,
        ],
    )


def record_failure(
    db: Database,
    source_id: int,
    reason: str,
    *,
    now: datetime,
    next_fetch_after: datetime | None = None,
) -> None:
    db.conn.execute(
        """UPDATE sources SET last_attempt_at = ?, last_error = ?, last_error_at = ?,
               consecutive_failures = consecutive_failures + 1, next_fetch_after = ?
           WHERE id = ?""",
        [to_db_time(now), reason, to_db_time(now), to_db_time(next_fetch_after), source_id],
    )


@dataclass(frozen=True, slots=True)
class FileFingerprint:
    path: str
    mtime_ns: int
    size: int
    articles: int = 0


def known_files(db: Database, source_id: int) -> dict[str, FileFingerprint]:
    """The files this source read last time, by path."""
    return {
        row[0]: FileFingerprint(*row)
        for row in db.execute(
            "SELECT path, mtime_ns, size, articles FROM source_files WHERE source_id = ?", [source_id]
        )
    }


def remember_files(db: Database, source_id: int, files: Iterable[FileFingerprint]) -> None:
    db.conn.executemany(
        """INSERT INTO source_files (source_id, path, mtime_ns, size, articles) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (source_id, path) DO UPDATE SET mtime_ns = excluded.mtime_ns, size = excluded.size,
               articles = excluded.articles""",
        [(source_id, f.path, f.mtime_ns, f.size, f.articles) for f in files],
    )
