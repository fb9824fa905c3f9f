"""Topics on the seeds, re-tagging only what changed, and alerts printed once for cron; on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import connect_store, run_cli


@pytest.fixture
def db_path(store_target: str) -> str:
    """Every test here runs on an SQLite file and on a PostgreSQL database."""
    return store_target


def _topics_by_seed(db_path: Path) -> dict[str, list[str]]:
    rows = run_cli("--db", str(db_path), "articles", "--json").json_lines()
    return {Path(row["url"]).name[:3]: row["topics"] for row in rows}


def test_seed_tags(db_path: Path) -> None:
    run_cli("--db", str(db_path), "ingest", "--quiet")
    tags = _topics_by_seed(db_path)
    assert all("DPRK troops" in topics for topics in tags.values()), tags
    assert [seed for seed, topics in sorted(tags.items()) if "Russia sanctions" in topics] == ["004"]


def test_every_tag_keeps_its_matched_terms(db_path: Path) -> None:
    run_cli("--db", str(db_path), "ingest", "--quiet")
    with connect_store(db_path) as conn:
        rows = conn.execute("SELECT matched_terms FROM article_topics").fetchall()
    assert len(rows) == 6
    for (terms,) in rows:
        assert json.loads(terms), "a tag without the terms that made it"


def test_ingest_alerts_prints_seed_alerts_once(db_path: Path) -> None:
    first = run_cli("--db", str(db_path), "ingest", "--quiet", "--alerts")
    assert first.status == 0, first.stderr
    lines = first.stdout.splitlines()
    # One line per story, naming every topic it newly matches: story B is both topics' in one line.
    assert len(lines) == 2
    assert sum("[DPRK troops, Russia sanctions]" in line for line in lines) == 1
    assert sum("[DPRK troops]" in line for line in lines) == 1
    second = run_cli("--db", str(db_path), "ingest", "--quiet", "--alerts")
    assert (second.status, second.stdout, second.stderr) == (0, "", "")


def test_alerts_json_fields_and_dry_run(db_path: Path) -> None:
    run_cli("--db", str(db_path), "ingest", "--quiet")
    dry = run_cli("--db", str(db_path), "alerts", "--json", "--dry-run").json_lines()
    assert dry
    for alert in dry:
        assert {
            "topic",
            "title",
            "source",
            "url",
            "published",
            "matched_terms",
            "story_id",
            "article_ids",
        } <= set(alert)
        assert alert["matched_terms"]
    # --dry-run remembered nothing; a real run prints the same, then nothing.
    real = run_cli("--db", str(db_path), "alerts", "--json").json_lines()
    assert real == dry
    assert run_cli("--db", str(db_path), "alerts").stdout == ""


def test_alert_topic_filter_and_unknown_topic(db_path: Path) -> None:
    run_cli("--db", str(db_path), "ingest", "--quiet")
    only = run_cli("--db", str(db_path), "alerts", "--json", "--topic", "russia sanctions").json_lines()
    assert [a["topic"] for a in only] == ["Russia sanctions"]
    unknown = run_cli("--db", str(db_path), "alerts", "--topic", "Nope")
    assert unknown.status == 2 and "no topic named 'Nope'" in unknown.stderr


def test_changed_topic_is_retagged_alone(seed_config: Path, db_path: Path) -> None:
    base = ("--config", str(seed_config), "--db", str(db_path))
    run_cli(*base, "ingest", "--quiet")
    with connect_store(db_path) as conn:
        before = dict(conn.execute("SELECT name, tagged_at FROM topics"))
    text = seed_config.read_text().replace(
        "(Russia OR Russian OR Moscow OR Kremlin) AND sanction*", "Moscow AND title:Pyongyang"
    )
    seed_config.write_text(text)
    result = run_cli(*base, "ingest", "--json")
    assert json.loads(result.stdout)["retagged_topics"] == ["Russia sanctions"]
    with connect_store(db_path) as conn:
        after = dict(conn.execute("SELECT name, tagged_at FROM topics"))
    assert after["DPRK troops"] == before["DPRK troops"]
    tags = _topics_by_seed(db_path)
    assert [seed for seed, topics in sorted(tags.items()) if "Russia sanctions" in topics] == ["004"]


def test_topics_listing_and_topics_test(db_path: Path) -> None:
    run_cli("--db", str(db_path), "ingest", "--quiet")
    listing = run_cli("--db", str(db_path), "topics", "--json").json_lines()
    by_name = {row["name"]: row for row in listing}
    assert by_name["DPRK troops"]["articles"] == 5 and by_name["Russia sanctions"]["articles"] == 1
    assert by_name["DPRK troops"]["unread"] == 5
    tried = run_cli("--db", str(db_path), "topics", "test", "Kursk AND Pentagon*")
    assert tried.status == 0
    assert tried.stdout.startswith("would match 1 articles")
    assert "matched: Kursk, Pentagon*" in tried.stdout
    bad = run_cli("--db", str(db_path), "topics", "test", "Kursk AND (")
    assert bad.status == 2 and bad.stderr.startswith("newswatch: query: ") and bad.stderr.count("\n") == 1


def test_search_uses_the_query_language(db_path: Path) -> None:
    run_cli("--db", str(db_path), "ingest", "--quiet")
    rows = run_cli("--db", str(db_path), "search", "sanctions", "--json").json_lines()
    assert [Path(r["url"]).name[:3] for r in rows] == ["004"]
    scoped = run_cli("--db", str(db_path), "search", 'title:"grave concern"', "--json").json_lines()
    assert [Path(r["url"]).name[:3] for r in scoped] == ["001"]
    by_topic = run_cli("--db", str(db_path), "articles", "--topic", "Russia sanctions", "--json").json_lines()
    assert [r["topics"] for r in by_topic] == [["DPRK troops", "Russia sanctions"]]


def test_escape_sequences_never_reach_the_terminal(tmp_path: Path, db_path: Path) -> None:
    clear_screen = "\x1b[2J"
    clipboard = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
    (tmp_path / "evil.jsonl").write_text(
        json.dumps(
            {
                "title": f"Pyongyang troops {clear_screen}deploy{clipboard} now",
                "body": "North Korean troops deployed",
                "url": "https://example.org/evil",
                "published": "2024-11-05T00:00:00Z",
            }
        )
        + "\n"
    )
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sources]]\nname = "Evil"\npath = "evil.jsonl"\n'
        '[topics.T]\nquery = "Pyongyang AND troop*"\nalert = true\n'
    )
    base = ("--config", str(config), "--db", str(db_path))
    run_cli(*base, "ingest", "--quiet")
    # Also plant raw escapes behind ingest's back: output must be safe on its own.
    with connect_store(db_path) as conn:
        conn.execute("UPDATE stories SET title = title || ?", [clear_screen + clipboard + "\x9b2J"])
    printed = run_cli(*base, "alerts", "--dry-run")
    assert "Pyongyang troops" in printed.stdout
    assert "\x1b" not in printed.stdout and "\x07" not in printed.stdout and "\x9b" not in printed.stdout
    as_json = run_cli(*base, "alerts", "--json")
    assert "\x1b" not in as_json.stdout
    assert "\x1b" in as_json.json_lines()[0]["title"]  # escaped by the encoder, data kept for scripts


def test_database_failure_exits_1_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    result = run_cli("--db", str(blocker / "news.db"), "ingest")
    assert result.status == 1
    assert result.stderr.startswith("newswatch: ") and result.stderr.count("\n") == 1


def test_a_growing_story_alerts_again_only_at_configured_sizes(tmp_path: Path, db_path: Path) -> None:
    import shutil

    from tests.conftest import SEEDS

    inbox = tmp_path / "seeds"
    inbox.mkdir()
    config = tmp_path / "c.toml"
    config.write_text(
        '[[sources]]\nname = "S"\npath = "seeds/*.txt"\n[alerts]\nrealert_sizes = [3]\n'
        '[terms]\ndprk = ["DPRK", "North Korea*", "North Korean*", "Pyongyang", "KPA"]\n'
        '[topics."DPRK troops"]\nquery = "@dprk AND (troop* OR soldier* OR deploy*)"\nalert = true\n'
    )
    base = ("--config", str(config), "--db", str(db_path))

    def add_and_alert(*names: str) -> list[dict]:
        for name in names:
            shutil.copy(next(SEEDS.glob(f"{name}_*.txt")), inbox)
        return run_cli(*base, "ingest", "--quiet", "--alerts", "--json").json_lines()

    first = add_and_alert("001")
    assert [(a["size"], a["realert"]) for a in first] == [(1, False)]
    assert add_and_alert("002") == []  # the story grew to 2: no threshold crossed
    grown = add_and_alert("000")
    assert [(a["size"], a["realert"]) for a in grown] == [(3, True)]
    assert add_and_alert("003") == []  # 4: past the last threshold
