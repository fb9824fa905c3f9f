"""The store's errors, in a module of their own so that `store.db`, `store.lock` and the backends they open
can raise them without importing each other."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A database problem worth one clear line to the user (unwritable file, full disk, corrupt file)."""


class IngestBusy(RuntimeError):
    """Another ingest holds the lock."""
