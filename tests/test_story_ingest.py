"""Stories through the real ingest path: the seeds, incremental equals regroup, the SQLite-backed index."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import run_cli

from store import grouping_state
from store.db import open_db, write_batch
from store.grouping_state import SqliteGroupingState
from stories.grouper import GroupInput, StoryGrouper
from stories.state import InMemoryState


def _placements(db_path: Path) -> dict[str, tuple[int, int | None]]:
    with sqlite3.connect(db_path) as conn:
        return {
            guid: (story, duplicate)
            for guid, story, duplicate in conn.execute("SELECT guid, story_id, duplicate_of FROM articles")
        }


def test_seeds_form_two_stories(db_path: Path) -> None:
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
    # Article lines carry their story and copy marks.
    lines = run_cli("--db", str(db_path), "articles", "--json").json_lines()
    assert all("story" in line and "duplicate_of" in line for line in lines)


def test_alerts_are_one_per_story_and_topic(db_path: Path) -> None:
    alerts = run_cli("--db", str(db_path), "ingest", "--quiet", "--alerts", "--json").json_lines()
    pairs = sorted((a["topic"], a["size"]) for a in alerts)
    assert pairs == [("DPRK troops", 1), ("DPRK troops", 4), ("Russia sanctions", 1)]


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


def test_incremental_ingest_equals_regroup(tmp_path: Path, db_path: Path) -> None:
    corpus = tmp_path / "in"
    corpus.mkdir()
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "Lines"\npath = "in/*.jsonl"\n')
    base = ("--config", str(config), "--db", str(db_path))
    # Three runs, each adding a file: placement happens incrementally against the stored index.
    for part in range(3):
        _write_corpus(corpus / f"part{part}.jsonl", 60, seed=part)
        assert run_cli(*base, "ingest", "--quiet").status == 0
    incremental = _placements(db_path)
    assert len(set(story for story, _ in incremental.values())) < len(incremental)  # something grouped
    regrouped = run_cli(*base, "regroup")
    assert regrouped.status == 0 and "180 articles" in regrouped.stdout
    assert _placements(db_path) == incremental


def _mixed_inputs() -> list[GroupInput]:
    rng = random.Random(3)
    vocabulary = [f"w{n}" for n in range(300)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    inputs = []
    for n in range(1, 241):
        base_words = rng.sample(vocabulary, 40)
        if n > 10 and rng.random() < 0.3:  # a rewrite or copy of an earlier article
            base_words = inputs[rng.randrange(len(inputs))].body.split()[:40]
            base_words[rng.randrange(40)] = rng.choice(vocabulary)
        inputs.append(
            GroupInput(
                article_id=n,
                title=" ".join(base_words[:6]),
                body=" ".join(base_words),
                outlet=f"o{n % 7}",
                published=start + timedelta(hours=n * rng.randint(1, 6)),
                date_certain=rng.random() < 0.8,
            )
        )
    return inputs


def test_sqlite_state_places_exactly_like_the_in_memory_state(db_path: Path) -> None:
    inputs = _mixed_inputs()
    memory = StoryGrouper(state=InMemoryState())
    expected = [memory.place(item) for item in inputs]

    db = open_db(db_path)
    got = []
    for start_index in range(0, len(inputs), 37):  # odd batch sizes: state must survive flushes
        with write_batch(db):
            state = SqliteGroupingState(db)
            grouper = StoryGrouper(state=state)
            got.extend(grouper.place(item) for item in inputs[start_index : start_index + 37])
            state.flush()
    assert got == expected
    assert len({p.story_id for p in expected}) < len(expected)
    assert any(p.merged for p in expected)  # merge pointers survive flushes too


def test_warm_state_across_batches_survives_cache_eviction(db_path: Path, monkeypatch) -> None:
    # One state kept across a run's batches (as StoryPlacer does) with a cache far smaller than the
    # run: evictions happen mid-lookup and must never lose a record the lookup already counted on.
    monkeypatch.setattr(grouping_state, "_CACHE_LIMITS", dict.fromkeys(grouping_state._CACHE_LIMITS, 20))
    inputs = _mixed_inputs()
    memory = StoryGrouper(state=InMemoryState())
    expected = [memory.place(item) for item in inputs]

    db = open_db(db_path)
    state = SqliteGroupingState(db)
    got = []
    for start_index in range(0, len(inputs), 50):
        with write_batch(db):
            state.begin()
            grouper = StoryGrouper(state=state)
            got.extend(grouper.place(item) for item in inputs[start_index : start_index + 50])
            state.flush()
    assert got == expected


def test_a_merge_moves_the_absorbed_storys_members_and_alerts(tmp_path: Path, db_path: Path) -> None:
    from test_stories import QUAKE_BOTH, QUAKE_DAMAGE, QUAKE_FACTS

    corpus = tmp_path / "in"
    corpus.mkdir()
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sources]]\nname = "Lines"\npath = "in/*.jsonl"\n\n[topics.Manokwari]\nquery = "Manokwari"\nalert = true\n'
    )
    base = ("--config", str(config), "--db", str(db_path))

    def write(name: str, articles: list[tuple[str, str]]) -> None:
        lines = [
            json.dumps(
                {
                    "title": title,
                    "body": body,
                    "url": f"https://example.org/{name}/{n}",
                    "source": name,
                    "published": "2024-11-05T12:00:00+00:00",
                }
            )
            for n, (title, body) in enumerate(articles)
        ]
        (corpus / f"{name}.jsonl").write_text("\n".join(lines) + "\n")

    write("a", [("Quake strikes West Papua", QUAKE_FACTS), ("Manokwari residents flee homes", QUAKE_DAMAGE)])
    first = run_cli(*base, "ingest", "--quiet", "--alerts", "--json").json_lines()
    assert [(a["topic"], a["size"]) for a in first] == [("Manokwari", 1)]
    assert len(run_cli(*base, "stories", "--json").json_lines()) == 2

    write("b", [("Quake in West Papua damages hotels in Manokwari", QUAKE_BOTH)])
    # The bridging report merges the two stories; the Manokwari alert already printed for the absorbed one
    # now belongs to the merged story, so nothing is printed again.
    assert run_cli(*base, "ingest", "--quiet", "--alerts", "--json").json_lines() == []
    [story] = run_cli(*base, "stories", "--json").json_lines()
    assert story["size"] == 3 and story["id"] == min(story["article_ids"])
    incremental = _placements(db_path)
    assert len({s for s, _ in incremental.values()}) == 1
    assert run_cli(*base, "regroup").status == 0
    assert _placements(db_path) == incremental
