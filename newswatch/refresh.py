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


def ingest_options(
    config: Any,
    topics: Any,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    force: bool = False,
    only_due: bool = False,
    honour_intervals: bool = False,
) -> Any:
    """IngestOptions from a loaded config and its compiled topics (for the CLI, `watch` and the TUI's R)."""
    from newswatch.config import DEFAULT_INTERVAL_SECONDS
    from newswatch.pipeline import IngestOptions

    # Plain settings: httpx is imported only when a pass actually has feeds to fetch.
    limits = {
        "read_timeout": config.fetch_timeout,
        "deadline": config.fetch_deadline,
        "max_body_bytes": int(config.max_body_mb * 1024 * 1024),
        "concurrency": config.concurrency,
        "per_host": config.per_host,
        "host_gap": config.host_gap,
        "run_deadline": config.run_deadline,
    }
    return IngestOptions(
        topics=topics,
        source_outlets=config.source_outlets,
        force=force,
        only_due=only_due,
        honour_intervals=honour_intervals,
        default_interval=DEFAULT_INTERVAL_SECONDS,
        fetch_settings=limits,
        progress=progress,
        place_stories=_place_stories,
        fulltext=_fulltext_options(config, limits),
    )


def _fulltext_options(config: Any, limits: dict[str, Any]) -> Any:
    from newswatch.fulltext_pass import FulltextOptions

    settings = config.fulltext
    return FulltextOptions(
        threshold=settings.threshold,
        max_pages=settings.max_pages,
        max_seconds=settings.max_seconds,
        source_modes=dict(config.source_fulltext),
        fetch_settings={key: value for key, value in limits.items() if key != "run_deadline"},
    )


def _place_stories(db: Any) -> None:
    """Story placement, imported only when a pass has something to place (not on an idle cron run)."""
    from newswatch.storying import place_pending

    place_pending(db)


def locked_pass(db: Any, db_path: Path, config: Any, topics: Any, options: Any) -> Any:
    """Take the ingest lock, sync the config and run one pass; raises store.lock.IngestBusy if it is held."""
    from newswatch.pipeline import run_ingest, sync_config
    from store.db import utc_now
    from store.lock import ingest_lock

    with ingest_lock(db_path):
        now = utc_now()
        retagged = sync_config(db, config.sources, topics, now=now)
        summary = run_ingest(db, options, now=now)
        summary.retagged_topics = retagged
        return summary


def refresh_once(
    config: Any, db_path: Path, *, progress: Callable[[int, int, str], None] | None = None
) -> RefreshOutcome:
    """Run one full ingest pass with its own database connection (safe to call from a worker thread)."""
    from newswatch.cli import Context
    from store.lock import IngestBusy

    context = Context(config, db_path)
    try:
        options = ingest_options(config, context.topics, progress=progress)
        return RefreshOutcome(summary=locked_pass(context.db, db_path, config, context.topics, options))
    except IngestBusy as busy:
        return RefreshOutcome(busy=str(busy))
    finally:
        if context._db is not None:
            context._db.conn.close()
