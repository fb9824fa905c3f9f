"""Topic tagging at scale: 50 topics over 100,000 stored articles, one changed topic, and the idle cron run.

    python -m bench.tagging [--articles 100000] [--topics 50] [--batch 500]

Measures, in one run over a seeded synthetic database (testkit/synth_db.py):
  batch tagging:  every article tagged against 50 topics, batch by batch as ingest does it (articles/s);
  full re-tag:    all 50 topics over every stored article at once, as when topics are first configured;
  one topic:      re-tagging a single changed topic over every article (what editing one query costs);
  idle cron:      wall time of `newswatch ingest --quiet --alerts` when nothing is new (a subprocess).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
from pathlib import Path

from store.db import open_db, utc_now, write_batch
from testkit.cli import newswatch_command
from testkit.synth_db import build
from topics.tagging import compile_topics, sync_and_retag, tag_articles

REPO = Path(__file__).resolve().parents[1]
TERM_LISTS = {"dprk": ["DPRK", "North Korea*", "North Korean*", "Pyongyang", "KPA"]}


def topic_queries(count: int, seed: int = 11) -> list[tuple[str, str, bool]]:
    """Realistic shapes: term lists, prefixes, phrases, OR groups, NOT, title scopes."""
    rng = random.Random(seed)
    words = [
        "troops",
        "sanctions",
        "energy",
        "prices",
        "election",
        "vote",
        "climate",
        "markets",
        "health",
        "football",
        "technology",
        "weather",
        "trade",
        "court",
        "Russia",
        "Moscow",
        "gas",
        "storm",
        "tariffs",
        "judge",
        "vaccine",
        "chips",
        "coalition",
        "emissions",
        "investors",
        "league",
    ]
    shapes = [
        "{a} AND {b}*",
        "({a} OR {b} OR {c}) AND {d}*",
        '"{a} {b}" OR title:{c}',
        "@dprk AND ({a}* OR {b}*)",
        "{a} AND NOT {b}",
        "title:({a} OR {b}) AND {c}*",
    ]
    topics = []
    for n in range(count):
        a, b, c, d = rng.sample(words, 4)
        topics.append((f"Topic {n:02d}", rng.choice(shapes).format(a=a, b=b, c=c, d=d), n % 3 == 0))
    return topics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--topics", type=int, default=50)
    parser.add_argument("--batch", type=int, default=500, help="articles per ingest batch")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nw-tag-"))
    db_path = work / "tag.db"
    started = time.perf_counter()
    build(db_path, args.articles, seed=5)
    print(f"built {args.articles} synthetic articles in {time.perf_counter() - started:.1f}s")
    db = open_db(db_path)
    db.conn.execute("DELETE FROM article_topics")
    db.conn.execute("DELETE FROM topics")
    topics = compile_topics(topic_queries(args.topics), TERM_LISTS)
    ids = [row[0] for row in db.execute("SELECT id FROM articles ORDER BY id")]

    # Register the topics without tagging, then tag batch by batch as ingest does.
    from store import topic_tags

    with write_batch(db):
        topic_tags.sync_topics(db, [(t.name, t.query.text, t.query_hash, t.alert) for t in topics])
    started = time.perf_counter()
    for start in range(0, len(ids), args.batch):
        with write_batch(db):
            tag_articles(db, topics, ids[start : start + args.batch])
    batch_seconds = time.perf_counter() - started
    tags = db.execute("SELECT count(*) FROM article_topics").fetchone()[0]

    with write_batch(db):
        db.conn.execute("DELETE FROM article_topics")
        db.conn.execute("DELETE FROM topics")
    started = time.perf_counter()
    with write_batch(db):
        sync_and_retag(db, topics, now=utc_now())
    full_seconds = time.perf_counter() - started
    assert db.execute("SELECT count(*) FROM article_topics").fetchone()[0] == tags, (
        "batch and full tags differ"
    )

    changed = list(topics)
    changed[7] = compile_topics([(topics[7].name, "energy AND (price* OR cost*)", True)], TERM_LISTS)[0]
    started = time.perf_counter()
    with write_batch(db):
        retagged = sync_and_retag(db, changed, now=utc_now())
    one_seconds = time.perf_counter() - started
    assert retagged == [topics[7].name]
    db.conn.close()

    # The cron case: a config with the 50 topics and a path source whose files have not changed.
    (work / "in").mkdir()
    (work / "in" / "one.txt").write_text("A headline\n\nNothing new here.\n")
    config = work / "cron.toml"
    config.write_text(
        '[[sources]]\nname = "Local"\npath = "in/*.txt"\n\n[terms]\ndprk = ["DPRK", "North Korea*", "Pyongyang"]\n'
        + "".join(
            f"[topics.{json.dumps(t.name)}]\nquery = {json.dumps(t.query.text)}\nalert = {str(t.alert).lower()}\n"
            for t in changed
        )
    )
    command = newswatch_command(config, db_path, "ingest", "--quiet", "--alerts")
    subprocess.run(command, capture_output=True, cwd=REPO, check=True)  # first run: the file, the alerts
    subprocess.run(command, capture_output=True, cwd=REPO, check=True)
    idle = []
    for _ in range(5):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
        idle.append(time.perf_counter() - started)
        assert result.stdout == "", result.stdout[:200]
    idle.sort()

    print(f"{args.articles} articles, {args.topics} topics, {tags} tags")
    print(
        f"batch tagging (batches of {args.batch}): {args.articles / batch_seconds:,.0f} articles/s ({batch_seconds:.1f}s)"
    )
    print(
        f"full re-tag of all topics:           {args.articles / full_seconds:,.0f} articles/s ({full_seconds:.1f}s)"
    )
    print(f"re-tag one changed topic:            {one_seconds * 1000:.0f} ms over {args.articles} articles")
    print(
        f"idle `ingest --quiet --alerts`:       median {idle[2]:.2f}s (min {idle[0]:.2f}s, max {idle[-1]:.2f}s)"
    )


if __name__ == "__main__":
    main()
