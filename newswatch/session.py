"""One session of newswatch: the config, its database, its compiled topics, one locked ingest pass.

The CLI opens one per command and hands it to the interface (`newswatch` with no subcommand); the
interface's "fetch now" opens its own for each pass, on its worker thread. Nothing here imports the CLI or
textual, so both can use it and neither imports the other. Another ingest holding the lock is an expected
outcome of `refresh`, returned rather than printed, because the caller owns the screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.backends import is_postgres_url

if TYPE_CHECKING:
    from newswatch.config import Config
    from newswatch.fulltext_pass import FulltextOptions
    from newswatch.pipeline import IngestOptions, IngestSummary
    from store.db import Database
    from topics.query import CompiledQuery
    from topics.tagging import Topic


@dataclass(slots=True)
class RefreshOutcome:
    summary: IngestSummary | None = None  # when the pass ran
    busy: str | None = None  # why it did not run: another ingest holds the lock


class Session:
    """The config and what is built from it, each built once and on first use (the database is opened,
    and the topics compiled, only by the commands that need them: `--help` and an idle cron stay fast)."""

    def __init__(self, config: Config, db_path: Path | str) -> None:
        self.config = config
        # A file, or a server URL kept as text (Path() would fold its "//": store.backends).
        self.db_path: Path | str = db_path if is_postgres_url(db_path) else Path(db_path)
        self._db: Database | None = None
        self._topics: list[Topic] | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            from store.db import open_db

            self._db = open_db(self.db_path)
        return self._db

    @property
    def topics(self) -> list[Topic]:
        """The config's topics, with the queries the config's validation compiled (not compiled again)."""
        if self._topics is None:
            from topics.query import compile_query
            from topics.tagging import Topic

            queries = self.config.topic_queries
            # A Config built by hand (not by load_config) has no compiled queries yet: compile them here.
            self._topics = [
                Topic(
                    topic.name,
                    queries.get(topic.name) or compile_query(topic.query, self.config.terms),
                    topic.alert,
                )
                for topic in self.config.topics
            ]
        return self._topics

    def topic_query(self, name: str, text: str) -> CompiledQuery | None:
        """The compiled query of the topic stored as `name` with `text`, if the config still defines it so."""
        compiled = self.config.topic_queries.get(name)
        return compiled if compiled is not None and compiled.text == text else None

    def ingest_options(
        self,
        *,
        progress: Callable[[int, int, str], None] | None = None,
        force: bool = False,
        only_due: bool = False,
        honour_intervals: bool = False,
    ) -> IngestOptions:
        """The options of a pass (`ingest`, `watch`, the interface's R); the only place the stages are wired."""
        from newswatch.config import DEFAULT_INTERVAL_SECONDS
        from newswatch.pipeline import IngestOptions

        return IngestOptions(
            topics=self.topics,
            source_outlets=self.config.source_outlets,
            force=force,
            only_due=only_due,
            honour_intervals=honour_intervals,
            default_interval=DEFAULT_INTERVAL_SECONDS,
            fetch_limits=self.config.fetch,
            progress=progress,
            place_stories=_place_stories,
            fulltext=self._fulltext_options(),
        )

    def _fulltext_options(self) -> FulltextOptions:
        from newswatch.fulltext_pass import FulltextOptions

        settings = self.config.fulltext
        return FulltextOptions(
            threshold=settings.threshold,
            max_pages=settings.max_pages,
            max_seconds=settings.max_seconds,
            source_modes=dict(self.config.source_fulltext),
            fetch_limits=self.config.fetch,  # its run deadline replaced by max_seconds
        )

    def ingest_pass(self, options: IngestOptions) -> IngestSummary:
        """Take the ingest lock, sync the config and run one pass; raises store.lock.IngestBusy if it is held."""
        from newswatch.pipeline import run_ingest, sync_config
        from store.db import checkpoints_beside, utc_now
        from store.lock import ingest_lock

        with ingest_lock(self.db_path):
            now = utc_now()
            retagged = sync_config(self.db, self.config.sources, self.topics, now=now)
            with checkpoints_beside(self.db):
                summary = run_ingest(self.db, options, now=now)
            summary.retagged_topics = retagged
            return summary

    def refresh(self, *, progress: Callable[[int, int, str], None] | None = None) -> RefreshOutcome:
        """One full pass, another ingest's lock reported rather than raised (the interface's R)."""
        from store.lock import IngestBusy

        try:
            return RefreshOutcome(summary=self.ingest_pass(self.ingest_options(progress=progress)))
        except IngestBusy as busy:
            return RefreshOutcome(busy=str(busy))

    def close(self) -> None:
        if self._db is not None:
            self._db.conn.close()
            self._db = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _place_stories(db: Any) -> None:
    """Story placement, imported only when a pass has something to place (not on an idle cron run)."""
    from newswatch.placement import place_pending

    place_pending(db)
