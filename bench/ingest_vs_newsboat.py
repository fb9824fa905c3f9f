"""Feed ingest throughput: newswatch against newsboat over the same 1,000 local feeds of 50 items each.

    python -m bench.ingest_vs_newsboat [--feeds 1000] [--items 50] [--threads 1,4,8,16,32]

A local HTTP server (testkit/feedserver.py, run in a child process so it does not share a GIL with either
client) serves every feed with an ETag and Last-Modified. In one run we time:
  cold: `newswatch ingest` into a fresh database, and `newsboat -x reload` into a fresh cache, once per
        reload-threads setting;
  warm: the same command again with nothing changed (both send conditional requests and get 304s).
newswatch does more per item than newsboat (FTS5 indexing, topic tagging, story placement). Compare the
ratios within one run: absolute seconds on a shared machine are noise.
Requires the Debian package `newsboat` (skipped with a note when it is absent).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from testkit.cli import newswatch_command

REPO = Path(__file__).resolve().parents[1]


def realistic_rss(feed: int, items: int, rng: random.Random, vocabulary: list[str]) -> bytes:
    """An RSS 2.0 feed whose items read like news: varied headlines and bodies about many events.

    (testkit/feedserver.make_rss repeats one sentence per item, which no real feed does and which would make
    every item a near-copy of every other: the worst case for story grouping, not the common one.)
    """
    from xml.sax.saxutils import escape

    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {feed}</title>'
        f"<link>https://outlet{feed}.example/</link><description>news</description>"
    ]
    for n in range(items):
        event = rng.randrange(items * 40)  # events shared across outlets now and then, as on real days
        topic = random.Random(event)
        words = [topic.choice(vocabulary) for _ in range(12)] + [rng.choice(vocabulary) for _ in range(70)]
        rng.shuffle(words)
        title = " ".join(words[:9]).capitalize()
        body = (
            "<p>"
            + escape(" ".join(words))
            + ".</p><p>"
            + escape(" ".join(rng.choice(vocabulary) for _ in range(40)))
            + ".</p>"
        )
        parts.append(
            f"<item><title>{escape(title)}</title><link>https://outlet{feed}.example/{n}</link>"
            f"<guid>o{feed}-{n}</guid><pubDate>{1 + n % 28:02d} Nov 2024 {n % 24:02d}:00:00 +0000</pubDate>"
            f"<description>{escape(body)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _serve(feeds: int, items: int, ready: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    from testkit.feedserver import FeedServer

    rng = random.Random(42)
    # A Zipf-like vocabulary: a few very common words, a long tail of rare ones.
    vocabulary = [f"w{n}" for n in range(20000)]
    vocabulary = [vocabulary[int(len(vocabulary) * rng.random() ** 3)] for _ in range(60000)]
    server = FeedServer().start()
    for n in range(feeds):
        body = realistic_rss(n, items, rng, vocabulary)
        server.feed(f"/f/{n}.xml", body, etag=f'"e{n}"', last_modified="Tue, 05 Nov 2024 10:00:00 GMT")
    ready.put(server.port)
    stop.wait()
    server.stop()


def _timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[:3])}… failed ({result.returncode}): {result.stderr.strip()[:300]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--threads", default="1,4,8,16,32", help="newsboat reload-threads values to try")
    parser.add_argument("--concurrency", type=int, default=32, help="newswatch feeds in flight")
    args = parser.parse_args()

    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(args.feeds, args.items, ready, stop), daemon=True)
    server.start()
    port = ready.get(timeout=120)
    urls = [f"http://127.0.0.1:{port}/f/{n}.xml" for n in range(args.feeds)]
    work = Path(tempfile.mkdtemp(prefix="nw-bench-"))
    try:
        # All feeds share one host here, so newswatch's per-host politeness cap is lifted to its overall
        # concurrency, as newsboat has no per-host cap either.
        config = work / "bench.toml"
        config.write_text(
            "".join(
                f'[[sources]]\nname = "Feed {n}"\nurl = "{url}"\nfulltext = false\n\n'
                for n, url in enumerate(urls)
            )
            + f"[fetch]\nconcurrency = {args.concurrency}\nper_host = {args.concurrency}\n"
            + '[terms]\ndprk = ["DPRK", "North Korea*", "Pyongyang"]\n'
            + '[topics.Events]\nquery = "report* AND event*"\n[topics.DPRK]\nquery = "@dprk AND troop*"\n'
        )
        newswatch = newswatch_command(config, work / "nw.db")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        results: dict[str, tuple[float, float]] = {}
        cold = _timed([*newswatch, "ingest", "--quiet"], env)
        warm = _timed([*newswatch, "ingest", "--quiet", "--force"], env)
        results["newswatch"] = (cold, warm)
        import sqlite3

        with sqlite3.connect(work / "nw.db") as conn:
            stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]

        newsboat = shutil.which("newsboat")
        if newsboat is None:
            print("newsboat is not installed (apt-get install newsboat): newswatch figures only")
        else:
            (work / "urls").write_text("\n".join(urls) + "\n")
            for threads in [int(t) for t in args.threads.split(",")]:
                cache = work / f"cache-{threads}.db"
                conf = work / f"newsboat-{threads}.conf"
                conf.write_text(f"reload-threads {threads}\n")
                command = [
                    newsboat,
                    "-x",
                    "reload",
                    "-u",
                    str(work / "urls"),
                    "-c",
                    str(cache),
                    "-C",
                    str(conf),
                ]
                home = {**os.environ, "HOME": str(work)}
                results[f"newsboat reload-threads={threads}"] = (_timed(command, home), _timed(command, home))

        print(
            f"{args.feeds} feeds x {args.items} items from a local server; newswatch stored {stored} articles"
        )
        print(f"{'client':34} {'cold s':>8} {'warm s':>8}")
        for name, (cold_s, warm_s) in results.items():
            print(f"{name:34} {cold_s:8.2f} {warm_s:8.2f}")
        boats = {k: v for k, v in results.items() if k.startswith("newsboat")}
        if boats:
            best_cold = min(boats.items(), key=lambda kv: kv[1][0])
            best_warm = min(boats.items(), key=lambda kv: kv[1][1])
            nw_cold, nw_warm = results["newswatch"]
            print(f"cold: newsboat best ({best_cold[0]}) / newswatch = {best_cold[1][0] / nw_cold:.2f}x")
            print(f"warm: newsboat best ({best_warm[0]}) / newswatch = {best_warm[1][1] / nw_warm:.2f}x")
            print("(a ratio above 1 means newswatch was faster)")
    finally:
        stop.set()
        server.join(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
