"""The team store on PostgreSQL: concurrent cold ingest, and the interface over a large server store.

    python -m bench.team_store [--feeds 1000] [--items 50] [--workers 1,2,4] [--tui-articles 1000000]
    python -m bench.team_store --url postgresql://user@host/postgres ...   # a server of your own

In one run, over the same local feeds (bench/ingest_vs_newsboat.py's realistic RSS, served by a child
process):
  - cold ingest into a fresh SQLite file with one process;
  - cold ingest into a fresh PostgreSQL database with 1, 2 and 4 `newswatch ingest` processes started at
    once (each claims the sources no other holds), timed until the last exits, and checked to have stored
    every item exactly once;
  - the interface over `--tui-articles` articles on PostgreSQL (testkit.synth_db builds an SQLite store,
    `newswatch migrate` copies it to the server): first paint, search keystroke -> list (median), peak
    RSS, measured by bench.tui_scale in a process of its own. Targets as on SQLite: < 1 s, < 100 ms, < 300 MB.
Without --url a throwaway PostgreSQL cluster is started from Debian's postgresql package (testkit/pgcluster.py)
and removed afterwards. Compare ratios within one run: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.ingest_vs_newsboat import _serve
from testkit.cli import newswatch_command

REPO = Path(__file__).resolve().parents[1]


def _database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of `admin_url`; its URL."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def _count(target: str) -> int:
    from store.db import open_db

    db = open_db(target)
    try:
        return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    finally:
        db.conn.close()


def _ingest(config: Path, target: str, workers: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [*newswatch_command(config, target), "ingest", "--quiet"],  # type: ignore[arg-type]
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for process in processes:
        _out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"ingest failed ({process.returncode}): {err.strip()[:300]}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--workers", default="1,2,4", help="concurrent ingest processes on PostgreSQL")
    parser.add_argument("--concurrency", type=int, default=32, help="feeds in flight per process")
    parser.add_argument("--tui-articles", type=int, default=1_000_000, help="0 skips the interface part")
    parser.add_argument("--url", help="an existing server (a database that may CREATE DATABASE)")
    args = parser.parse_args(argv)

    cluster = None
    if args.url:
        admin = args.url
    else:
        from testkit.pgcluster import start_cluster

        cluster = start_cluster()
        admin = cluster.url()
    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(args.feeds, args.items, ready, stop), daemon=True)
    server.start()
    port = ready.get(timeout=300)
    work = Path(tempfile.mkdtemp(prefix="nw-team-"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        config = work / "bench.toml"
        config.write_text(
            "".join(
                f'[[sources]]\nname = "Feed {n}"\nurl = "http://127.0.0.1:{port}/f/{n}.xml"\n\n'
                for n in range(args.feeds)
            )
            + f"[fetch]\nconcurrency = {args.concurrency}\nper_host = {args.concurrency}\n"
            + '[terms]\ndprk = ["DPRK", "North Korea*", "Pyongyang"]\n'
            + '[topics.Events]\nquery = "report* AND event*"\n[topics.DPRK]\nquery = "@dprk AND troop*"\n'
        )
        expected = args.feeds * args.items
        rows: list[tuple[str, float, int]] = []
        sqlite_file = str(work / "nw.db")
        rows.append(("SQLite, 1 process", _ingest(config, sqlite_file, 1, env), _count(sqlite_file)))
        for workers in [int(w) for w in args.workers.split(",")]:
            url = _database(admin, f"nw_bench_{uuid.uuid4().hex[:8]}")
            rows.append((f"PostgreSQL, {workers} processes", _ingest(config, url, workers, env), _count(url)))
        print(
            f"cold ingest: {args.feeds} feeds x {args.items} items from a local server ({os.cpu_count()} cores)"
        )
        print(f"{'store':28} {'seconds':>8} {'items/s':>8} {'stored':>8}")
        for name, seconds, stored in rows:
            flag = "" if stored == expected else f"  (expected {expected})"
            print(f"{name:28} {seconds:8.2f} {stored / seconds:8.0f} {stored:8d}{flag}")

        if args.tui_articles:
            synth = work / "synth.db"
            subprocess.run(
                [sys.executable, "-m", "testkit.synth_db", str(synth), "--articles", str(args.tui_articles)],
                check=True,
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
            )
            url = _database(admin, f"nw_tui_{uuid.uuid4().hex[:8]}")
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "newswatch.cli",
                    "migrate",
                    "--from",
                    str(synth),
                    "--to",
                    url,
                    "--quiet",
                ],
                check=True,
                env=env,
                cwd=REPO,
            )
            print(
                f"\ninterface over {args.tui_articles} articles on PostgreSQL (copied in {time.perf_counter() - started:.0f} s)"
            )
            subprocess.run([sys.executable, "-m", "bench.tui_scale", url], check=True, env=env, cwd=REPO)
            print("targets: first paint < 1 s, search keystroke -> list < 100 ms median, RSS < 300 MB")
    finally:
        stop.set()
        server.join(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
        if cluster is not None:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
