"""Stories through the real ingest path: the seeds, alerts, incremental equals regroup, merges in the store,
canonical order whatever the arrival order, and the first placement after the v2 -> v3 migration."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feeds.records import ArticleRecord
from newswatch.placement import place_pending
from store import grouping_state
from store.articles import FEATURES_AT_PLACEMENT, upsert_articles
from store.db import open_db, write_batch
from store.schema import MIGRATIONS
from store.sources import SourceSpec, add_source
from stories.features import extract_features
from tests.conftest import connect_store, run_cli
from tests.story_helpers import QUAKE_BOTH, QUAKE_DAMAGE, QUAKE_FACTS

NOW = datetime(2024, 12, 1, tzinfo=UTC)


def _placements(db_path: Path | str) -> dict[str, tuple[int, int | None]]:
    with connect_store(db_path) as conn:
        return {
            guid: (story, duplicate)
            for guid, story, duplicate in conn.execute("SELECT guid, story_id, duplicate_of FROM articles")
        }


def test_seeds_form_two_stories(store_target: str) -> None:
    db_path = store_target
    run_cli("--db", str(db_path), "ingest", "--quiet")
    stories = run_cli("--db", str(db_path), "stories", "--json").json_lines()
    assert len(stories) == 2
    by_size = sorted(stories, key=lambda s: s["size"])
    articles = {
        a["id"]: Path(a["url"]).name[:3]
        for a in run_cli("--db", str(db_path), "articles", "--json").json_lines()
    }
    assert sorted(articles[i] for i in by_size[1]["article_ids"]) == ["000", "001", "002", "003"]
    assert [articles[i] for i in by_size[0]["article_ids"]] == ["004"]
    assert by_size[0]["topics"] == ["DPRK troops", "Russia sanctions"]
    for story in stories:
        assert {"id", "title", "size", "sources", "article_ids", "topics", "first_seen", "last_seen"} <= set(
            story
        )
    # Article lines carry their story and copy marks; every feature row was consumed by the placement.
    lines = run_cli("--db", str(db_path), "articles", "--json").json_lines()
    assert all("story" in line and "duplicate_of" in line for line in lines)
    with connect_store(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM article_features").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM grouping_articles").fetchone() == (5,)


def test_alerts_are_one_per_story_and_topic(store_target: str) -> None:
    db_path = store_target
    alerts = run_cli("--db", str(db_path), "ingest", "--quiet", "--alerts", "--json").json_lines()
    # One alert per story, naming every topic it newly matches.
    pairs = sorted((tuple(a["topics"]), a["size"]) for a in alerts)
    assert pairs == [(("DPRK troops",), 4), (("DPRK troops", "Russia sanctions"), 1)]
    # A second pass adds nothing and prints nothing.
    assert run_cli("--db", str(db_path), "ingest", "--quiet", "--alerts", "--json").json_lines() == []


def _write_corpus(path: Path, count: int, seed: int) -> None:
    """`count` articles about 24 events; urls (the guids) are unique per file."""
    rng = random.Random(seed)
    subjects = ["troops", "sanctions", "election", "storm", "markets", "vaccine", "tariffs", "court"]
    start = datetime(2024, 11, 1, tzinfo=UTC)
    lines = []
    for n in range(count):
        subject = subjects[n % len(subjects)]
        event = n % 24
        when = start + timedelta(days=event * 3, hours=rng.randint(0, 20))
        words = " ".join(
            rng.choice(["the", "a", "officials", "said", "report", subject, f"place{event}"])
            for _ in range(60)
        )
        lines.append(
            json.dumps(
                {
                    "title": f"{subject.title()} news from place{event} number {event}",
                    "body": f"Event {event} about {subject} in place{event}. {words}",
                    "url": f"https://example.org/{path.stem}/{n}",
                    "source": f"Outlet {n % 5}",
                    "published": when.isoformat(),
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")


def test_incremental_ingest_equals_regroup(tmp_path: Path, store_target: str) -> None:
    db_path = store_target
    corpus = tmp_path / "in"
    corpus.mkdir()
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "Lines"\npath = "in/*.jsonl"\n')
    base = ("--config", str(config), "--db", str(db_path))
    # Three runs, each adding a file: placement happens incrementally against the stored state.
    for part in range(3):
        _write_corpus(corpus / f"part{part}.jsonl", 60, seed=part)
        assert run_cli(*base, "ingest", "--quiet").status == 0
    incremental = _placements(db_path)
    assert len(set(story for story, _ in incremental.values())) < len(incremental)  # something grouped
    with connect_store(db_path) as conn:
        assert conn.execute("SELECT count(DISTINCT chunk) FROM grouping_articles").fetchone() == (3,)
        stories_before = conn.execute("SELECT * FROM stories ORDER BY id").fetchall()
    regrouped = run_cli(*base, "regroup")
    assert regrouped.status == 0 and "180 articles" in regrouped.stdout
    assert _placements(db_path) == incremental
    with connect_store(db_path) as conn:
        assert conn.execute("SELECT * FROM stories ORDER BY id").fetchall() == stories_before


def test_a_merge_moves_the_absorbed_storys_members_and_alerts(tmp_path: Path, store_target: str) -> None:
    db_path = store_target
    corpus = tmp_path / "in"
    corpus.mkdir()
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sources]]\nname = "Lines"\npath = "in/*.jsonl"\n\n[topics.Manokwari]\nquery = "Manokwari"\nalert = true\n'
    )
    base = ("--config", str(config), "--db", str(db_path))

    def write(name: str, articles: list[tuple[str, str, str]]) -> None:
        lines = [
            json.dumps(
                {
                    "title": title,
                    "body": body,
                    "url": f"https://example.org/{name}/{n}",
                    "source": name,
                    "published": published,
                }
            )
            for n, (title, body, published) in enumerate(articles)
        ]
        (corpus / f"{name}.jsonl").write_text("\n".join(lines) + "\n")

    write(
        "a",
        [
            ("Quake strikes West Papua", QUAKE_FACTS, "2024-11-05T12:00:00+00:00"),
            ("Manokwari residents flee homes", QUAKE_DAMAGE, "2024-11-05T13:00:00+00:00"),
        ],
    )
    first = run_cli(*base, "ingest", "--quiet", "--alerts", "--json").json_lines()
    assert [(a["topic"], a["size"]) for a in first] == [("Manokwari", 1)]
    before = run_cli(*base, "stories", "--json").json_lines()
    assert len(before) == 2
    absorbed = max(s["id"] for s in before)

    write("b", [("Quake in West Papua damages hotels in Manokwari", QUAKE_BOTH, "2024-11-05T14:00:00+00:00")])
    # The bridging report merges the two stories; the Manokwari alert already printed for the absorbed one
    # now belongs to the merged story, so nothing is printed again.
    assert run_cli(*base, "ingest", "--quiet", "--alerts", "--json").json_lines() == []
    [story] = run_cli(*base, "stories", "--json").json_lines()
    assert story["size"] == 3 and story["id"] == min(story["article_ids"])
    with connect_store(db_path) as conn:
        assert conn.execute("SELECT story_id FROM alerts").fetchall() == [(story["id"],)]
        assert conn.execute("SELECT count(*) FROM stories WHERE id = ?", [absorbed]).fetchone() == (0,)
        assert conn.execute(
            "SELECT merged_into FROM grouping_stories WHERE story_id = ?", [absorbed]
        ).fetchall() == [(story["id"],)]
    incremental = _placements(db_path)
    assert len({s for s, _ in incremental.values()}) == 1
    assert run_cli(*base, "regroup").status == 0
    assert _placements(db_path) == incremental


# ----------------------------------------------------------------------------- canonical order


def _records(prefix: str, seed: int) -> list[ArticleRecord]:
    """Reports of a few events from one outlet, some at the very same minute as another outlet's."""
    rng = random.Random(seed)
    events = [
        ("Quake strikes West Papua", QUAKE_FACTS),
        ("Manokwari residents flee homes", QUAKE_DAMAGE),
        ("Quake in West Papua damages hotels in Manokwari", QUAKE_BOTH),
    ]
    out = []
    for n in range(12):
        title, body = events[n % 3]
        words = body.split()
        for i in rng.sample(range(len(words)), rng.randint(0, 8)):
            words[i] = rng.choice(["reportedly", "local", "officials", "overnight", "witnesses"])
        out.append(
            ArticleRecord(
                guid=f"{prefix}-{n}",
                title=title,
                body=" ".join(words),
                outlet=prefix,
                url=f"https://example.org/{prefix}/{n}",
                published=datetime(2024, 11, 5, 12, tzinfo=UTC) + timedelta(minutes=30 * (n // 2)),
            )
        )
    return out


def _features_now(records: Sequence[ArticleRecord]) -> list[bytes]:
    return [extract_features(r.title, r.body).to_bytes() for r in records]


def _ingest(
    db_path: Path,
    batches: list[tuple[str, list[ArticleRecord]]],
    features: Callable[[Sequence[ArticleRecord]], list[bytes]] = _features_now,
) -> dict[str, tuple[str, str | None]]:
    """Store each (source, records) batch as ingest does (articles + features rows), place once; returns
    guid -> (guid of the story's id article, guid of the canonical copy)."""
    db = open_db(db_path)
    try:
        ids = {}
        for source, records in batches:
            with write_batch(db):
                row = db.execute("SELECT id FROM sources WHERE name = ?", [source]).fetchone()
                source_id = (
                    row[0]
                    if row
                    else add_source(db, SourceSpec(source, "path", f"/nonexistent/{source}"), now=NOW)
                )
                result = upsert_articles(
                    db,
                    source_id,
                    records,
                    now=NOW,
                    features=features,
                )
                ids[source] = result.new_ids
        place_pending(db)
        guid = dict(db.execute("SELECT id, guid FROM articles").fetchall())
        return {
            guid[a]: (guid[s], guid.get(d))
            for a, s, d in db.execute("SELECT id, story_id, duplicate_of FROM articles").fetchall()
        }
    finally:
        db.conn.close()


def test_arrival_order_does_not_change_the_stories(tmp_path: Path) -> None:
    a, b = _records("Alpha", 1), _records("Beta", 2)
    first = _ingest(tmp_path / "one.db", [("Alpha", a), ("Beta", b)])
    second = _ingest(tmp_path / "two.db", [("Beta", b[::-1]), ("Alpha", a[::-1])])
    assert first == second
    stories = {story for story, _ in first.values()}
    assert 1 <= len(stories) < len(first)


def test_features_left_for_placement_place_like_features_stored_with_the_article(tmp_path: Path) -> None:
    # Feed items are stored with FEATURES_AT_PLACEMENT and placement computes their features from the stored
    # text: in worker processes for a large chunk (25 x 12 = 300 articles here), inline for a small one.
    many = [(f"Outlet{n}", _records(f"Outlet{n}", n)) for n in range(25)]
    few = many[:2]
    for batches, name in ((many, "many"), (few, "few")):
        stored = _ingest(tmp_path / f"{name}-stored.db", batches)
        later = _ingest(tmp_path / f"{name}-later.db", batches, lambda rs: [FEATURES_AT_PLACEMENT] * len(rs))
        assert later == stored
        assert 1 <= len({story for story, _ in later.values()}) < len(later)
        with sqlite3.connect(tmp_path / f"{name}-later.db") as conn:
            assert conn.execute("SELECT count(*) FROM article_features").fetchone() == (0,)


def test_features_stored_in_two_passes_place_like_one(tmp_path: Path) -> None:
    a, b = _records("Alpha", 1), _records("Beta", 2)
    both = _ingest(tmp_path / "one.db", [("Alpha", a), ("Beta", b)])
    # A second database places Alpha first, then Beta in a later run: the placements may only differ where
    # a later chunk is placed against what is already there, so check what the engine promises: every
    # placed article has a story, copies point at an article of their story, features are consumed.
    db_path = tmp_path / "two.db"
    _ingest(db_path, [("Alpha", a)])
    later = _ingest(db_path, [("Beta", b)])
    assert set(later) == set(both)
    for story, duplicate_of in later.values():
        assert story in later
        if duplicate_of is not None:
            assert later[duplicate_of][0] == story
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM article_features").fetchone() == (0,)
        assert conn.execute("SELECT count(DISTINCT chunk) FROM grouping_articles").fetchone() == (2,)


# ------------------------------------------------------------------------------------- migration


def test_a_database_migrated_from_v2_regroups_every_article_on_first_placement(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.isolation_level = None
    db_v2 = _Shim(conn)
    for migration in MIGRATIONS[:2]:
        migration(db_v2)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO sources (id, name, kind, location, created_at) VALUES (1, 'Old', 'path', '/x', '2024-11-01')"
    )
    rows = [
        (1, "Quake strikes West Papua", QUAKE_FACTS, "2024-11-05T12:00:00+00:00"),
        (2, "Manokwari residents flee homes", QUAKE_DAMAGE, "2024-11-05T13:00:00+00:00"),
        (3, "Quake in West Papua damages hotels in Manokwari", QUAKE_BOTH, "2024-11-05T14:00:00+00:00"),
        (4, "Quake strikes West Papua", QUAKE_FACTS, "2024-11-05T15:00:00+00:00"),
    ]
    for n, title, body, when in rows:
        # Placed by the old grouper: every article its own story, none a copy (the new engine disagrees).
        conn.execute(
            """INSERT INTO articles (id, source_id, guid, title, body, published, date_origin, sort_time,
                   content_hash, body_chars, first_seen, changed_at, story_id)
               VALUES (?, 1, ?, ?, ?, ?, 'feed', ?, ?, ?, ?, ?, ?)""",
            [n, f"g{n}", title, body, when, when, f"h{n}", len(body), when, when, n],
        )
    conn.execute("INSERT INTO grouping_articles (article_id, record) VALUES (1, '{}')")
    conn.close()

    db = open_db(db_path)  # migrates to the current schema
    try:
        assert grouping_state.read_meta(db)["rebuild"] == 1
        assert db.execute("SELECT count(*) FROM article_features").fetchone() == (0,)
        assert place_pending(db) == 4
        placed = db.execute("SELECT id, story_id, duplicate_of FROM articles ORDER BY id").fetchall()
        assert grouping_state.read_meta(db)["rebuild"] == 0
        assert db.execute("SELECT count(*) FROM grouping_articles").fetchone() == (4,)
    finally:
        db.conn.close()
    assert placed == [(1, 1, None), (2, 1, None), (3, 1, None), (4, 1, 1)]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT id, size FROM stories").fetchall() == [(1, 4)]


class _Shim:
    """Just enough of sqlite_utils.Database for the migrations: `.conn`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


# ----------------------------------------------------------------------------- second thoughts


def test_seeds_arriving_one_per_pass_in_the_hardest_order_end_as_two_stories(
    tmp_path: Path, db_path: Path
) -> None:
    # 001 and 004 (two undated DPRK reports) arrive first and meet; when 000 arrives, their story is
    # reopened and 001 moves to the story of the 5 November statement. The store follows every move.
    folder = tmp_path / "in"
    folder.mkdir()
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sources]]\nname = "Seeds"\npath = "in"\n\n[topics."DPRK troops"]\n'
        'query = "(DPRK OR Pyongyang OR \\"North Korea*\\") AND troop*"\nalert = true\n'
    )
    base = ("--config", str(config), "--db", str(db_path))
    seeds = {path.name[:3]: path for path in (Path(__file__).resolve().parents[1] / "seeds").glob("*.txt")}
    printed: list[dict] = []
    for name in ("001", "004", "000", "002", "003"):
        (folder / seeds[name].name).write_bytes(seeds[name].read_bytes())
        run = run_cli(*base, "ingest", "--quiet", "--alerts", "--json")
        assert run.status == 0, run.stderr
        printed += run.json_lines()
    with sqlite3.connect(db_path) as conn:
        story_of = {
            Path(url).name[:3]: story for url, story in conn.execute("SELECT url, story_id FROM articles")
        }
        assert conn.execute("SELECT count(*) FROM grouping_articles WHERE story_id IS NULL").fetchone() == (
            0,
        )
    assert story_of["000"] == story_of["001"] == story_of["002"] == story_of["003"] != story_of["004"]
    # No headline was printed twice, and each story's row agrees with its members.
    assert len({line["article_id"] for line in printed}) == len(printed)
    stories = {s["id"]: s for s in run_cli(*base, "stories", "--json").json_lines()}
    assert sorted(len(s["article_ids"]) for s in stories.values()) == [1, 4]
    for story in stories.values():
        assert all(story_of[name] == story["id"] for name in story_of if story_of[name] == story["id"])
    incremental = _placements(db_path)
    assert run_cli(*base, "regroup").status == 0
    assert _placements(db_path) == incremental
