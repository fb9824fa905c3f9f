"""How fast topic queries compile and run, on a seeded synthetic corpus.

    .venv/bin/python -m bench.query_speed [--rows 100000] [--words 120] [--porter]

Builds an in-memory articles table with an FTS5 index created exactly as the query language expects
(``topics.terms.FTS5_TOKENIZE``), then times compile_query and, for each topic, a count of all matches and
the newest page of 50 (ordered by rowid, which is what the TUI asks for). ``--porter`` adds the same
corpus indexed with porter to compare the two tokenizers on speed and on what the topics match.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time

from topics.query import compile_query
from topics.terms import FTS5_TOKENIZE

TERM_LISTS = {"dprk": ["DPRK", "North Korea*", "North Korean*", "Pyongyang", "KPA"]}
TOPICS = [
    "@dprk AND (troop* OR soldier* OR deploy*)",
    "(Russia OR Russian OR Moscow OR Kremlin) AND sanction*",
    '"grave concern" -title:sport',
    "title:sanctions OR source:reuters",
    "troop",
    "the",  # the worst case: a word in nearly every article
    "co*",  # a short, very common prefix
]
TOPIC_WORDS = [
    "DPRK",
    "North",
    "Korea",
    "Korean",
    "Koreans",
    "Pyongyang",
    "KPA",
    "troop",
    "troops",
    "soldier",
    "soldiers",
    "deploy",
    "deployed",
    "deployment",
    "Russia",
    "Russian",
    "Moscow",
    "Kremlin",
    "sanction",
    "sanctions",
    "sanctioned",
    "grave",
    "concern",
    "concerns",
    "sport",
]
OUTLETS = ["Reuters", "AP", "Anadolu Agency", "RTT News", "New Europe", "Korea Herald"]


def corpus(rows: int, words: int, seed: int = 1) -> list[tuple[int, str, str, str]]:
    rng = random.Random(seed)
    filler = [
        "".join(rng.choice("abcdefghijklmnoprstuvwy") for _ in range(rng.randint(2, 9))) for _ in range(20000)
    ]
    common = ["the", "of", "and", "to", "in", "a", "said", "on", "for", "with", "con", "cor", "com"]
    weights = [1.0 / (i + 1) for i in range(len(filler))]

    def text(n: int) -> str:
        out = rng.choices(filler, weights=weights, k=n)
        for i in range(0, n, 4):
            out[i] = rng.choice(common)
        for _ in range(rng.randint(0, 3)):
            out[rng.randrange(n)] = rng.choice(TOPIC_WORDS)
        return " ".join(out)

    return [(i + 1, text(10), text(words), rng.choice(OUTLETS)) for i in range(rows)]


def build(rows: list[tuple[int, str, str, str]], tokenize: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE articles(id INTEGER PRIMARY KEY, title TEXT, body TEXT, outlet TEXT)")
    conn.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, outlet, content='articles', "
        f"content_rowid='id', tokenize='{tokenize}')"
    )
    conn.executemany("INSERT INTO articles VALUES (?, ?, ?, ?)", rows)
    start = time.perf_counter()
    conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
    conn.commit()
    print(f"  indexed {len(rows):,} rows with {tokenize!r} in {time.perf_counter() - start:.1f} s")
    return conn


def timed(conn: sqlite3.Connection, sql: str, arg: str, repeat: int = 3) -> tuple[float, list]:
    times, result = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        result = conn.execute(sql, (arg,)).fetchall()
        times.append(time.perf_counter() - start)
    return min(times), result


def run_topics(conn: sqlite3.Connection, fts_of: dict[str, str]) -> dict[str, int]:
    counts = {}
    for topic in TOPICS:
        fts = fts_of[topic]
        t_count, rows = timed(conn, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", fts)
        t_page, _ = timed(
            conn,
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT 50",
            fts,
        )
        counts[topic] = rows[0][0]
        print(
            f"  {topic:58} {rows[0][0]:>7,} hits  count {t_count * 1e3:7.1f} ms  page {t_page * 1e3:6.1f} ms"
        )
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=120, help="words per article body")
    parser.add_argument("--porter", action="store_true", help="also index with porter and compare")
    args = parser.parse_args()

    n = 2000
    for topic in TOPICS[:2]:
        start = time.perf_counter()
        for _ in range(n):
            compile_query(topic, TERM_LISTS)
        print(f"compile {topic!r}: {(time.perf_counter() - start) / n * 1e6:.0f} µs")

    rows = corpus(args.rows, args.words)
    print(f"corpus: {len(rows):,} articles, {args.words} words each")
    print(f"tokenize={FTS5_TOKENIZE!r} (the recommended index):")
    conn = build(rows, FTS5_TOKENIZE)
    ours = run_topics(conn, {t: compile_query(t, TERM_LISTS).fts for t in TOPICS})
    conn.close()
    if args.porter:
        # Porter stems the query side itself, so bare words are passed without our inflection expansion.
        print("tokenize='porter unicode61 remove_diacritics 2' (for comparison):")
        conn = build(rows, "porter unicode61 remove_diacritics 2")
        porter_fts = {t: compile_query(t, TERM_LISTS).fts for t in TOPICS}
        theirs = run_topics(conn, porter_fts)
        conn.close()
        diff = {t: (ours[t], theirs[t]) for t in TOPICS if ours[t] != theirs[t]}
        print(f"  hit counts that differ (ours, porter): {diff or 'none'}")


if __name__ == "__main__":
    main()
