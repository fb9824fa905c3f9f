"""Digest of a 100k-article database for 24 h: build and render time (target < 1 s), and the CLI end to end.

    python -m bench.digest_speed                      # builds /tmp/nw-digest-100k.db first if missing
    python -m bench.digest_speed /tmp/nw-100k.db --articles 100000 --runs 5

The database is `testkit.synth_db`'s seeded synthetic store (300 outlets, 3 topics, stories of 1-6 members,
a year of articles, denser toward now). "build" is `digest.build.build_digest` over the three topics for the
last 24 h with the default limit (10 per topic); each format's rendering is timed on its own; "cli" is
`newswatch digest` as a subprocess (interpreter start and imports included), which is what cron runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testkit.synth_db import TOPICS, build

CONFIG = """
[terms]
dprk = ["DPRK", "North Korea*", "North Korean*", "Pyongyang", "KPA"]
""" + "".join(f'\n[topics."{name}"]\nquery = "{query}"\n' for name, (query, _words) in TOPICS.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, nargs="?", default=Path("/tmp/nw-digest-100k.db"))
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.path.exists():
        print(f"building {args.path} ({args.articles:,} articles)…", flush=True)
        build(args.path, args.articles, seed=7)

    from digest import render
    from digest.build import build_digest
    from store.db import open_db

    db = open_db(args.path)
    total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    topics = list(TOPICS)
    builds: list[float] = []
    renders: dict[str, list[float]] = {form: [] for form in ("text", "markdown", "html", "json")}
    digest = None
    for _ in range(args.runs):
        now = datetime.now(UTC)
        started = time.perf_counter()
        digest = build_digest(db, topics, since=now - timedelta(hours=24), limit=10, now=now, period="24h")
        builds.append(time.perf_counter() - started)
        for form in renders:
            started = time.perf_counter()
            render(digest, form)
            renders[form].append(time.perf_counter() - started)
    assert digest is not None
    in_period = db.execute(
        "SELECT count(*) FROM stories WHERE last_seen >= ?",
        [(datetime.now(UTC) - timedelta(hours=24)).isoformat(timespec="seconds")],
    ).fetchone()[0]
    db.conn.close()

    config = args.path.with_suffix(".toml")
    config.write_text(CONFIG, encoding="utf-8")
    cli: list[float] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "newswatch.cli",
                "--config",
                str(config),
                "--db",
                str(args.path),
                "digest",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        cli.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1

    print(f"database: {total:,} articles, {in_period:,} stories seen in the last 24 h")
    print(
        "digest: "
        + ", ".join(f"{s.topic} {len(s.stories)}/{s.matching}" for s in digest.sections)
        + " (listed/matching)"
    )
    print(
        f"build (3 topics, 24 h, limit 10): median {statistics.median(builds) * 1000:.0f} ms, max {max(builds) * 1000:.0f} ms"
    )
    for form, times in renders.items():
        print(f"render {form:8}: median {statistics.median(times) * 1000:.1f} ms")
    print(
        f"cli `newswatch digest` end to end: median {statistics.median(cli) * 1000:.0f} ms, max {max(cli) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
