"""A seeded synthetic newswatch database for scale benchmarks (the TUI at 100k and 1M articles).

    python -m testkit.synth_db /tmp/nw-1m.db --articles 1000000          # ~2-3 minutes on 2 cores
    python -m testkit.synth_db /tmp/nw-100k.db --articles 100000 --seed 7

The schema comes from `store.db.open_db`, so the file is a real newswatch database. Rows go in through
big transactions with the FTS triggers dropped; the FTS index is rebuilt once at the end and the triggers
are restored from their own stored SQL. Articles are grouped into stories of 1-6 members (some members
exact copies of the lead), three topics are tagged, a few sources carry a failed last fetch, and older
articles are mostly read. Bodies are short (60-140 words): the point is row count, not text volume.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store.db import open_db, to_db_time

# Topic name -> (query as in the bundled config, subject words that make an article match it).
TOPICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "DPRK troops": ("@dprk AND (troop* OR soldier* OR deploy*)", ("DPRK", "troops")),
    "Russia sanctions": ("(Russia OR Russian OR Moscow OR Kremlin) AND sanction*", ("Russia", "sanctions")),
    "Energy prices": ("energy AND price*", ("energy", "prices")),
}

_SUBJECTS = [
    ("DPRK", "troops", "Pyongyang", "deployment"),
    ("Russia", "sanctions", "Moscow", "Kremlin"),
    ("energy", "prices", "gas", "electricity"),
    ("election", "vote", "parliament", "coalition"),
    ("climate", "emissions", "summit", "warming"),
    ("markets", "stocks", "investors", "shares"),
    ("health", "hospital", "vaccine", "doctors"),
    ("football", "league", "match", "coach"),
    ("technology", "software", "chips", "startup"),
    ("weather", "storm", "flooding", "rain"),
    ("trade", "tariffs", "exports", "customs"),
    ("court", "judge", "ruling", "appeal"),
]

_COMMON = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "with",
    "as",
    "was",
    "by",
    "at",
    "from",
    "it",
    "an",
    "be",
    "this",
    "are",
    "has",
    "have",
    "said",
    "will",
    "their",
    "which",
    "after",
    "about",
    "more",
    "over",
    "new",
    "year",
    "government",
    "officials",
    "week",
    "report",
    "minister",
    "country",
    "people",
    "state",
    "two",
    "first",
    "last",
    "also",
    "would",
    "could",
    "other",
    "into",
    "than",
    "since",
    "while",
    "under",
    "during",
    "between",
    "against",
]


def _vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    syllables = [
        "ka",
        "lo",
        "mi",
        "ne",
        "ru",
        "sa",
        "te",
        "vo",
        "da",
        "gri",
        "por",
        "len",
        "tam",
        "bes",
        "fio",
        "que",
        "zan",
        "ul",
        "or",
        "an",
        "el",
        "in",
    ]
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def build(path: Path, articles: int, seed: int, sources: int = 300) -> dict[str, float]:
    started = time.perf_counter()
    rng = random.Random(seed)
    if path.exists():
        raise SystemExit(f"{path} exists; remove it first")
    db = open_db(path)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    triggers = [
        row[0]
        for row in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'articles'"
        )
    ]
    trigger_names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'articles'"
        )
    ]
    now = datetime.now(UTC).replace(microsecond=0)
    vocab = _vocabulary(rng)
    conn.execute("BEGIN")
    for name in trigger_names:
        conn.execute(f'DROP TRIGGER "{name}"')
    outlets = [f"Outlet {index:03d}" for index in range(sources)]
    for index, outlet in enumerate(outlets, start=1):
        failed = index % 37 == 0
        conn.execute(
            """INSERT INTO sources (id, name, kind, location, origin, created_at, last_attempt_at, last_success_at,
                   last_error, last_error_at, consecutive_failures)
               VALUES (?, ?, 'url', ?, 'config', ?, ?, ?, ?, ?, ?)""",
            [
                index,
                outlet,
                f"https://feeds.example.org/{index}.xml",
                to_db_time(now - timedelta(days=400)),
                to_db_time(now),
                to_db_time(now - timedelta(days=2 if failed else 0)),
                "HTTP 503 Service Unavailable" if failed else None,
                to_db_time(now) if failed else None,
                3 if failed else 0,
            ],
        )
    topic_ids: dict[str, int] = {}
    for topic_id, (name, (query, _words)) in enumerate(TOPICS.items(), start=1):
        query_hash = hashlib.sha256(query.encode()).hexdigest()[:16]
        conn.execute(
            "INSERT INTO topics (id, name, query, query_hash, alert, tagged_at) VALUES (?, ?, ?, ?, 1, ?)",
            [topic_id, name, query, query_hash, to_db_time(now)],
        )
        topic_ids[name] = topic_id

    span_seconds = 365 * 86400
    # Times ascend with ids, as a real ingest would write them; the newest is a few minutes ago.
    offsets = sorted(rng.random() ** 0.7 for _ in range(articles))
    subject_weights = [1 / (rank + 1) for rank in range(len(_SUBJECTS))]
    article_rows: list[tuple] = []
    tag_rows: list[tuple] = []
    story_rows: list[tuple] = []
    article_id = 0
    batch = 50_000

    def flush() -> None:
        conn.executemany(
            """INSERT INTO articles (id, source_id, guid, title, body, url, author, outlet, published, updated,
                   date_origin, sort_time, content_hash, body_chars, first_seen, changed_at, read, starred,
                   story_id, duplicate_of)
               VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, NULL, 'feed', ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            article_rows,
        )
        conn.executemany(
            "INSERT INTO article_topics (article_id, topic_id, matched_terms) VALUES (?, ?, ?)", tag_rows
        )
        conn.executemany(
            """INSERT INTO stories (id, lead_article_id, title, size, outlets, first_seen, last_seen)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            story_rows,
        )
        article_rows.clear()
        tag_rows.clear()
        story_rows.clear()

    while article_id < articles:
        size = min(rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 6)), articles - article_id)
        subject = rng.choices(_SUBJECTS, weights=subject_weights)[0]
        headline_words = [*rng.sample(subject, 2), *rng.choices(vocab, k=rng.randint(4, 9))]
        rng.shuffle(headline_words)
        lead_title = " ".join(headline_words).capitalize()
        story_id = article_id + 1
        member_outlets = rng.sample(range(sources), size)
        members = []
        for member in range(size):
            article_id += 1
            when = now - timedelta(seconds=int((1 - offsets[article_id - 1]) * span_seconds) + 60)
            when_text = to_db_time(when)
            copy = member > 0 and rng.random() < 0.3
            title = lead_title if member == 0 or copy else lead_title + " " + rng.choice(vocab)
            words = rng.choices(_COMMON, k=40) + rng.choices(vocab, k=rng.randint(20, 100)) + list(subject)
            rng.shuffle(words)
            body = " ".join(words).capitalize() + "."
            age_days = (now - when).days
            read = int(age_days > 3 and rng.random() < 0.8)
            starred = int(rng.random() < 0.004)
            source_id = member_outlets[member] + 1
            article_rows.append(
                (
                    article_id,
                    source_id,
                    f"synth-{article_id}",
                    title,
                    body,
                    f"https://news.example.org/{source_id}/{article_id}",
                    outlets[source_id - 1],
                    when_text,
                    when_text,
                    hashlib.blake2b(body.encode(), digest_size=8).hexdigest(),
                    len(body),
                    when_text,
                    when_text,
                    read,
                    starred,
                    story_id,
                    story_id if copy else None,
                )
            )
            members.append((when_text, len({member_outlets[i] for i in range(member + 1)})))
            for name, (_query, topic_words) in TOPICS.items():
                if set(topic_words) <= set(subject):
                    tag_rows.append((article_id, topic_ids[name], json.dumps(list(topic_words))))
        story_rows.append((story_id, story_id, lead_title, size, size, members[0][0], members[-1][0]))
        if len(article_rows) >= batch:
            flush()
    flush()
    conn.execute("COMMIT")
    inserted = time.perf_counter()
    conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    conn.execute("BEGIN")
    for sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finished = time.perf_counter()
    db.conn.close()
    return {"insert_s": inserted - started, "fts_s": finished - inserted, "total_s": finished - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sources", type=int, default=300)
    args = parser.parse_args(argv)
    timings = build(args.path, args.articles, args.seed, args.sources)
    size_mb = args.path.stat().st_size / 1e6
    print(
        f"{args.path}: {args.articles} articles in {timings['total_s']:.1f}s "
        f"(rows {timings['insert_s']:.1f}s, FTS {timings['fts_s']:.1f}s), {size_mb:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
