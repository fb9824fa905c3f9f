"""The interface's connections to the database, for use from worker threads only.

Four connections, each behind its own lock so that no connection is used by two threads at once:
`snapshot` runs the list queries (long on a big database, and interruptible: a new keystroke aborts the
query of the previous one), `read`/`write` serve pages, details, the change poll and the user's own
writes (read, starred), and `side` computes the sidebar counts, which take seconds at a million
articles and must not hold up a page; one more answers only the change poll. Nothing here imports textual.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from store.db import (
    Database,
    data_version,
    describe_db_error,
    open_db,
    pushes_changes,
    wait_for_change,
    write_batch,
)

T = TypeVar("T")

# How long a user's change (read, starred) keeps trying while an ingest holds the write lock, before the
# user is told it was not saved. An ingest commits about every second, so this is only reached when the
# database stays locked by something else.
WRITE_PATIENCE_SECONDS = 300.0
# Each attempt waits this long for the lock; then the connection's lock is let go, so that a user's change
# never sits on a busy timeout of 30 s.
_WRITE_ATTEMPT_MS = 1000


class QueryFailed(RuntimeError):
    """A list query SQLite could not run; str() is one line naming the reason (and the file, if it is the
    database's fault rather than the query's)."""


class WriteFailed(RuntimeError):
    """A user's change could not be saved; str() is one line naming the database and the reason."""


def _file_identity(path: Path | str) -> tuple[int, int] | None:
    if isinstance(path, str) and "://" in path:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _query_failure(path: Path, error: sqlite3.Error) -> str:
    text = " ".join(str(error).split())
    if text.startswith("fts5:"):
        return f"search failed: {text}"
    return f"search failed: {describe_db_error(path, error)}"


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class Interrupted(Exception):
    """A snapshot query was aborted because a newer one replaced it."""


class InterfaceConnections:
    def __init__(self, db_path: Path | str) -> None:
        self.path = db_path
        self._snapshot_db = open_db(db_path)
        # Which file we opened: deleted or replaced, it is no longer the database anyone else sees.
        self._identity = _file_identity(db_path)
        self._snapshot_lock = threading.Lock()
        self._rows_db = open_db(db_path)
        self._rows_lock = threading.Lock()
        self._side_db = open_db(db_path)
        self._side_lock = threading.Lock()
        # PRAGMA data_version is per connection: one connection used only for it keeps the numbers
        # comparable, and is never queued behind a long query.
        self._poll_db = open_db(db_path)
        self._poll_lock = threading.Lock()
        # The user's own writes, on a connection of their own with a short busy timeout: retried in
        # `write`, never queued behind a page read or holding one up.
        self._write_db = open_db(db_path)
        self._write_db.conn.execute(f"PRAGMA busy_timeout = {_WRITE_ATTEMPT_MS}")
        self._write_lock = threading.Lock()
        self.write_patience = WRITE_PATIENCE_SECONDS
        self._listen_db: Database | None = None
        self._listener: threading.Thread | None = None
        self._on_change: Callable[[], None] = lambda: None
        self._closing = threading.Event()

    def interrupt_snapshot(self) -> None:
        """Abort the snapshot query in flight, if any (safe to call from any thread)."""
        self._snapshot_db.conn.interrupt()

    def snapshot(self, query: Callable[[Database], T]) -> T:
        with self._snapshot_lock:
            try:
                return query(self._snapshot_db)
            except sqlite3.OperationalError as error:
                if "interrupted" in str(error):
                    raise Interrupted from error
                raise QueryFailed(_query_failure(self.path, error)) from error
            except sqlite3.DatabaseError as error:
                raise QueryFailed(_query_failure(self.path, error)) from error

    def read(self, query: Callable[[Database], T]) -> T:
        with self._rows_lock:
            return query(self._rows_db)

    def file_problem(self) -> str | None:
        """One line if the database file was deleted or replaced since it was opened, else None.

        SQLite keeps writing to a deleted file through its open descriptors, where nothing will ever read
        it again: the interface must say so rather than look fine."""
        if self._identity is None:
            return None  # not a file: a database server keeps its own
        now = _file_identity(self.path)
        if now is None:
            return f"{self.path}: the database file was deleted while open; changes are not saved. Restart newswatch."
        if now != self._identity:
            return f"{self.path}: the database file was replaced while open; restart newswatch to see it."
        return None

    def change_counter(self) -> int:
        """A number that changes whenever any other connection (ingest, watch, our writes) commits."""
        with self._poll_lock:
            return data_version(self._poll_db)

    @property
    def pushes_changes(self) -> bool:
        """Does the database say when another connection commits (a server store), so that
        `wait_for_change` can replace polling `change_counter`?"""
        return pushes_changes(self._poll_db)

    def subscribe(self, on_change: Callable[[], None]) -> None:
        """Call `on_change` whenever another connection commits, from a thread of its own that waits for the
        database to say so (on a connection of its own); until `close`. Only where `pushes_changes`."""
        self._on_change = on_change
        if self._listener is not None:
            return
        self._listen_db = open_db(self.path)
        wait_for_change(self._listen_db, 0)  # starts listening before the caller's snapshot is taken

        def listen() -> None:
            while not self._closing.is_set():
                try:
                    changed = wait_for_change(self._listen_db, 0.5)
                except Exception:
                    return  # closed under the wait (the app is ending), or the server went away
                if changed and not self._closing.is_set():
                    self._on_change()

        self._listener = threading.Thread(target=listen, name="newswatch-changes", daemon=True)
        self._listener.start()

    def side(self, query: Callable[[Database], T]) -> T:
        with self._side_lock:
            return query(self._side_db)

    def write(self, change: Callable[[Database], T], *, on_wait: Callable[[], None] | None = None) -> T:
        """Run `change` in one write transaction, retrying while another process holds the write lock.

        `on_wait` is called once, when the first attempt found the database locked. Raises WriteFailed
        if the lock is still held after `write_patience` seconds, or at once if the database refuses the
        write (read-only, deleted, corrupt): the change is never dropped without a word.
        """
        if problem := self.file_problem():
            raise WriteFailed(problem)
        deadline = time.monotonic() + self.write_patience
        told = False
        while True:
            try:
                with self._write_lock, write_batch(self._write_db):
                    return change(self._write_db)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise WriteFailed(describe_db_error(self.path, error)) from error
                if time.monotonic() >= deadline:
                    raise WriteFailed(
                        f"{self.path}: the database stayed locked by another process for "
                        f"{self.write_patience:.0f}s"
                    ) from error
                if not told and on_wait is not None:
                    told = True
                    on_wait()
                time.sleep(0.05)
            except sqlite3.DatabaseError as error:
                raise WriteFailed(describe_db_error(self.path, error)) from error

    def close(self) -> None:
        self._closing.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
        pairs = (
            (self._snapshot_lock, self._snapshot_db),
            (self._rows_lock, self._rows_db),
            (self._side_lock, self._side_db),
            (self._poll_lock, self._poll_db),
            (self._write_lock, self._write_db),
        )
        for lock, db in pairs:
            with lock:
                db.conn.close()
        if self._listen_db is not None:
            self._listen_db.conn.close()
