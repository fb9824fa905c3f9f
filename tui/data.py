"""The interface's connections to the database, for use from worker threads only.

Four connections, each behind its own lock so that no connection is used by two threads at once:
`snapshot` runs the list queries (long on a big database, and interruptible: a new keystroke aborts the
query of the previous one), `read`/`write` serve pages, details, the change poll and the user's own
writes (read, starred), and `side` computes the sidebar counts, which take seconds at a million
articles and must not hold up a page; one more answers only the change poll. Nothing here imports textual.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from store.db import data_version, open_db, write_batch

T = TypeVar("T")


class Interrupted(Exception):
    """A snapshot query was aborted because a newer one replaced it."""


class Library:
    def __init__(self, db_path: Path) -> None:
        self.path = db_path
        self._snapshot_db = open_db(db_path)
        self._snapshot_lock = threading.Lock()
        self._rows_db = open_db(db_path)
        self._rows_lock = threading.Lock()
        self._side_db = open_db(db_path)
        self._side_lock = threading.Lock()
        # PRAGMA data_version is per connection: one connection used only for it keeps the numbers
        # comparable, and is never queued behind a long query.
        self._poll_db = open_db(db_path)
        self._poll_lock = threading.Lock()

    def interrupt_snapshot(self) -> None:
        """Abort the snapshot query in flight, if any (safe to call from any thread)."""
        self._snapshot_db.conn.interrupt()

    def snapshot(self, query: Callable[[sqlite_utils.Database], T]) -> T:
        with self._snapshot_lock:
            try:
                return query(self._snapshot_db)
            except sqlite3.OperationalError as error:
                if "interrupted" in str(error):
                    raise Interrupted from error
                raise

    def read(self, query: Callable[[sqlite_utils.Database], T]) -> T:
        with self._rows_lock:
            return query(self._rows_db)

    def change_counter(self) -> int:
        """A number that changes whenever any other connection (ingest, watch, our writes) commits."""
        with self._poll_lock:
            return data_version(self._poll_db)

    def side(self, query: Callable[[sqlite_utils.Database], T]) -> T:
        with self._side_lock:
            return query(self._side_db)

    def write(self, change: Callable[[sqlite_utils.Database], T]) -> T:
        with self._rows_lock, write_batch(self._rows_db):
            return change(self._rows_db)

    def close(self) -> None:
        pairs = (
            (self._snapshot_lock, self._snapshot_db),
            (self._rows_lock, self._rows_db),
            (self._side_lock, self._side_db),
            (self._poll_lock, self._poll_db),
        )
        for lock, db in pairs:
            with lock:
                db.conn.close()
