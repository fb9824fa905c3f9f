"""One ingest pass on demand, for callers that are not the command line (the TUI's "fetch now").

The same steps as `newswatch ingest`: sync the config, take the ingest lock, run the pipeline. Another
ingest holding the lock is an expected outcome, returned rather than printed, because the caller owns
the screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class RefreshOutcome:
    summary: Any = None  # newswatch.pipeline.IngestSummary when the pass ran
    busy: str | None = None  # why it did not run: another ingest holds the lock


def refresh_once(
    config: Any, db_path: Path, *, progress: Callable[[int, int, str], None] | None = None
) -> RefreshOutcome:
    """Run one full ingest pass with its own database connection (safe to call from a worker thread)."""
    from newswatch.cli import Context, _ingest_options
    from newswatch.pipeline import run_ingest, sync_config
    from store.db import utc_now
    from store.lock import IngestBusy, ingest_lock

    context = Context(config, db_path)
    try:
        options = _ingest_options(context, progress=progress)
        with ingest_lock(db_path):
            now = utc_now()
            retagged = sync_config(context.db, config.sources, context.topics, now=now)
            summary = run_ingest(context.db, options, now=now)
            summary.retagged_topics = retagged
            return RefreshOutcome(summary=summary)
    except IngestBusy as busy:
        return RefreshOutcome(busy=str(busy))
    finally:
        if context._db is not None:
            context._db.conn.close()
