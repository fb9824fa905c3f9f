"""One ingest at a time: an advisory lock file beside the database.

flock() is released by the kernel when the process dies, even on kill -9, so a crashed run never leaves a
stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from store.backends import backend_of, is_postgres_url
from store.errors import IngestBusy as IngestBusy  # re-exported: callers catch store.lock.IngestBusy


def lock_path_for(db_path: str | Path) -> Path:
    path = Path(db_path)
    return path.with_name(path.name + ".ingest.lock")


@contextlib.contextmanager
def ingest_lock(db_path: str | Path, *, wait: bool = False, exclusive: bool = False) -> Iterator[None]:
    """Hold the ingest lock for the block; raise IngestBusy if another process has it (unless `wait`).

    For a PostgreSQL store the lock is on the server (an advisory lock), for every machine; ingests share
    it and claim sources one by one, and only `exclusive` (a regroup) keeps the others out. On SQLite every
    holder is exclusive."""
    if is_postgres_url(db_path):
        from store.backends.postgres import ingest_lock as server_lock

        with server_lock(str(db_path), wait=wait, exclusive=exclusive):
            yield
        return
    path = lock_path_for(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise IngestBusy(f"another ingest is running (pid {holder}); skipped") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def placement_lock(db: Any) -> Any:
    """A context manager: one story placer at a time for this store (on SQLite the ingest lock is already)."""
    return backend_of(db).placement_lock(db)
