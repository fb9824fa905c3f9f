"""Opening the database: one SQLite file, WAL, a busy timeout, foreign keys, migrated on open."""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from store.backends import backend_of, is_postgres_url
from store.errors import StoreError as StoreError  # re-exported: callers catch store.db.StoreError
from store.schema import SCHEMA_VERSION, migrate

# Re-exported: callers outside store/ read times through store.db.
from store.values import from_db_time as from_db_time
from store.values import to_db_time as to_db_time
from store.values import utc_now as utc_now

T = TypeVar("T")

# Long enough to ride out another process's batch commit; short enough that a stuck writer is reported.
BUSY_TIMEOUT_SECONDS = 30.0


class Database:
    """An open database: its sqlite3 connection (`conn`), and `execute` and `query` as sqlite-utils has them.

    That is all store/ asks of sqlite-utils' Database, and importing sqlite-utils costs more CPU than all
    the SQL of a cron pass whose feeds answer 304 (it brings numpy, dateutil, click and pluggy: ~60-130 ms).
    Anything else asked of this object (sqlite-utils' table API, `db.table_names()`, for tests and one-off
    tools) goes to a sqlite_utils.Database made on the same connection on first use.
    """

    # SQLite's operations are the default (store.backends.backend_of); a server store's handle names its own.
    backend: Any = None

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._sqlite_utils: Any = None

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> sqlite3.Cursor:
        # The connection is in autocommit mode (open_db): no implicit transaction for sqlite-utils to settle.
        return self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)

    def query(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The rows of `sql` as dicts by column name (the statement runs now, rows are read as iterated)."""
        cursor = self.execute(sql, params if params is not None else ())
        if cursor.description is None:
            raise ValueError("query() is for SQL that returns rows: use execute()")
        keys = [column[0] for column in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # ours, or a dunder looked up by copy/pickle: never sqlite-utils'
            raise AttributeError(name)
        if self._sqlite_utils is None:
            import sqlite_utils

            self._sqlite_utils = sqlite_utils.Database(self.conn)
        return getattr(self._sqlite_utils, name)


def open_db(path: str | Path, *, readonly: bool = False) -> Database:
    """Open (creating and migrating if needed) the database at `path`.

    The connection runs in autocommit mode: every batch is an explicit transaction (`write_batch`), so a
    reader never sees half of one and sqlite3's implicit transactions never hold a write lock by surprise.
    A `postgresql://` URL opens the team store on a server instead (`store.backends`).
    """
    if is_postgres_url(path):
        from store.backends.postgres import open_postgres

        return open_postgres(str(path), readonly=readonly)  # type: ignore[return-value]
    db_path = Path(path).expanduser()
    try:
        if readonly:
            conn = sqlite3.connect(
                f"file:{db_path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False
            )
        else:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        conn.isolation_level = None
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        # The per-batch tagging index (store.topic_tags.BatchIndex) is a temp table: keep it off the disk.
        conn.execute("PRAGMA temp_store = MEMORY")
        # What sqlite_utils.Database(conn) did when it wrapped every connection; the schema's triggers were
        # written and tested with it on.
        conn.execute("PRAGMA recursive_triggers = ON")
        # Before anything is written (the journal mode included): a newer newswatch's file stays as it is.
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"{db_path}: database schema version {version} is newer than this newswatch understands "
                f"({SCHEMA_VERSION}); nothing was changed (use a newer newswatch)"
            )
        if not readonly:
            _use_wal(conn)
            # WAL + NORMAL is durable across application crashes (kill -9); only an OS crash can lose the
            # last commits, never corrupt the file.
            conn.execute("PRAGMA synchronous = NORMAL")
            # When the WAL restarts, its file is cut back to this size; else it keeps its largest one.
            conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
        db = Database(conn)
        if not readonly:
            migrate(db)
        return db
    except sqlite3.DatabaseError as error:
        raise StoreError(describe_db_error(db_path, error)) from error
    except OSError as error:
        raise StoreError(f"{db_path}: cannot open database: {error.strerror or error}") from error


# How often the WAL is checkpointed beside a pass (`checkpoints_beside`): about what SQLite's own automatic
# checkpoint does at a cold pass's write rate (one every 1,000 pages, ~4 MB). When that falls behind the
# writer, WAL_LIMIT_BYTES bounds the WAL.
_CHECKPOINT_SECONDS = 0.25
_AUTO_CHECKPOINT_PAGES = 1000  # SQLite's default
# The WAL a pass lets grow before its writer checkpoints itself. The thread alone fell behind a writer that
# kept writing: a million-article .jsonl left a 12 GB WAL beside a 4.5 GB database (and the file keeps its
# largest size while any connection, the interface's, stays open).
WAL_LIMIT_BYTES = 64 << 20


@contextlib.contextmanager
def checkpoints_beside(db: Database) -> Iterator[None]:
    """While the caller writes, checkpoint the WAL on a thread and connection of their own.

    SQLite checkpoints in the commit that fills the WAL past 1,000 pages: the writer itself copies the pages
    into the database file, and a pass that stores thousands of articles spent ~15% of its writer's time so.
    A passive checkpoint needs no write lock and SQLite lets go of the GIL, so on a thread it runs beside the
    writer. Only when the thread falls behind, past `WAL_LIMIT_BYTES`, does the writer checkpoint in its
    commit again (and the WAL restarts, its file cut back to that size). Readers (the interface) are never
    blocked by it, as before; the last connection to close still checkpoints what is left. A server store
    checkpoints itself: nothing to do there."""
    path = None
    if db.backend is None:
        row = db.conn.execute("PRAGMA database_list").fetchone()
        path = row[2] if row else None
    if not path:
        yield
        return
    stop = threading.Event()

    def run() -> None:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        conn.isolation_level = None
        try:
            while not stop.wait(_CHECKPOINT_SECONDS):
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    page_size = db.conn.execute("PRAGMA page_size").fetchone()[0]
    db.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_LIMIT_BYTES // page_size}")
    thread = threading.Thread(target=run, name="newswatch-checkpoints", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        db.conn.execute(f"PRAGMA wal_autocheckpoint = {_AUTO_CHECKPOINT_PAGES}")


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL unless the file already is (it stays WAL once set).

    Changing the journal mode needs an exclusive lock, and SQLite answers "database is locked" at once
    instead of calling the busy handler: two processes opening a new database together (the TUI and the
    first cron ingest) failed that way. So wait here, as the busy timeout would.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def describe_db_error(path: str | Path, error: BaseException) -> str:
    """One line for the user, naming the file and what it means."""
    text = str(error)
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        hint = _why_unwritable(Path(path)) or "the database file (or its folder) is read-only"
        hint += "; nothing already stored was lost"
    elif "unable to open" in lowered and (why := _why_unwritable(Path(path))):
        # WAL needs its -shm/-wal files beside the database, even to read.
        hint = f"cannot open: {why}"
    elif "disk is full" in lowered or "database or disk is full" in lowered:
        hint = "the disk is full; nothing already stored was lost"
    elif "not a database" in lowered or "malformed" in lowered:
        hint = "the file is not a valid newswatch database"
    elif "unable to open" in lowered:
        hint = "cannot open the file (missing folder or no permission)"
    elif "locked" in lowered or "busy" in lowered:
        hint = f"the database stayed locked by another process for {BUSY_TIMEOUT_SECONDS:.0f}s"
    else:
        hint = text
    return f"{path}: {hint}"


def _why_unwritable(path: Path) -> str | None:
    """What the filesystem says stops writes to the database, or None if it looks writable."""
    folder = path.expanduser().parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "the database is on a read-only filesystem"
    except OSError:
        return None
    # access() also reports immutable files (chattr +i), which even root cannot write.
    if path.exists() and not os.access(path, os.W_OK):
        return "the database file is read-only"
    if not os.access(folder, os.W_OK):
        return "the database folder is read-only"
    return None


@contextlib.contextmanager
def write_batch(db: Database) -> Iterator[Database]:
    """One all-or-nothing write transaction, taking the write lock up front.

    BEGIN IMMEDIATE rather than sqlite-utils' deferred BEGIN: a deferred transaction that reads and then
    writes can fail with SQLITE_BUSY (not wait) if the TUI committed a read-flag change in between.
    """
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


@contextlib.contextmanager
def read_snapshot(db: Database) -> Iterator[Database]:
    """Several reads that see one committed state, without taking the write lock (a deferred BEGIN that
    only reads never asks for it): what a read-only command uses instead of `write_batch`."""
    conn = db.conn
    conn.execute("BEGIN")
    try:
        yield db
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


class CommitGroups:
    """Write transactions bounded in time, for a long writer (ingest) that must not starve other writers.

    Work is done in small units (`with groups.unit():`, e.g. one feed or ~256 records); a unit opens a
    transaction if none is open, and the transaction commits after the first unit that ends `seconds` or more
    after it began. Units are never split, so whatever must be seen together (articles and their topic tags)
    belongs in one unit. `wait_time()` says how long a caller may idle with the transaction open (0 when none
    is): waiting for more work beyond that should `commit()` first, so the write lock is never held long for
    nothing. On an exception the transaction in flight rolls back; everything committed before stays.
    """

    def __init__(self, db: Database, seconds: float):
        self.db = db
        self.seconds = seconds
        self.started: float | None = None
        self.commits = 0

    @contextlib.contextmanager
    def unit(self) -> Iterator[Database]:
        if self.started is None:
            self.db.conn.execute("BEGIN IMMEDIATE")
            self.started = time.monotonic()
        try:
            yield self.db
        except BaseException:
            self.rollback()
            raise
        if time.monotonic() - self.started >= self.seconds:
            self.commit()

    @property
    def open(self) -> bool:
        return self.started is not None

    def wait_time(self) -> float:
        """Seconds left in the open group (0 when none is open)."""
        if self.started is None:
            return 0.0
        return max(self.seconds - (time.monotonic() - self.started), 0.0)

    def next_from(self, items: queue.Queue[T]) -> T:
        """The next item of `items`; the open group is committed first if none arrives within its time."""
        if self.open:
            try:
                return items.get(timeout=self.wait_time())
            except queue.Empty:
                self.commit()
        return items.get()

    def commit(self) -> None:
        if self.started is not None:
            self.started = None
            self.db.conn.execute("COMMIT")
            self.commits += 1

    def rollback(self) -> None:
        self.started = None
        if self.db.conn.in_transaction:
            self.db.conn.execute("ROLLBACK")


def exclusive(db: Database, name: str) -> None:
    """Inside a write transaction: no other process runs a transaction that asked for `name` until this one
    ends. What several ingest processes at once must do one at a time (syncing the config, printing alerts);
    on SQLite, where a write transaction already excludes every other writer, it costs nothing."""
    backend_of(db).exclusive(db, name)


def pushes_changes(db: Database) -> bool:
    """Can a reader wait for changes (`wait_for_change`) instead of polling `data_version`?"""
    return backend_of(db).pushes_changes


def wait_for_change(db: Database, timeout: float) -> bool:
    """Block until another connection commits a change (True) or `timeout` passes; only where
    `pushes_changes` (a server store: LISTEN/NOTIFY)."""
    return backend_of(db).wait_for_change(db, timeout)


def data_version(db: Database) -> int:
    """Changes whenever another connection commits: a cheap 'is there anything new?' poll for the TUI."""
    return backend_of(db).data_version(db)
