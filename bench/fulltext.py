"""Full text of 2,000 summary-only feed items fetched from local servers with realistic article pages.

    python -m bench.fulltext [--outlets 20] [--items 100] [--weight-kb 60] [--loopback]

Each outlet is its own HTTP server (tests/feedserver.py) on its own loopback address (127.0.0.2, .3, …: a
host of its own for the per-host politeness), run in a child process so that serving shares no GIL with
ingest. Each serves one feed of `--items` summaries (~120 characters, so `fulltext = "auto"` wants every
page) and the pages they link to: the article between navigation, ads, related links, comments, a
newsletter box and a footer, in three layouts, with `--weight-kb` of inline scripts, styles and menu
(tests/article_pages.py). One `newswatch` ingest pass (in this process, the real pipeline) stores the
feeds, fetches every page within `[fulltext] max_pages = outlets x items`, extracts in the worker
processes and places the stories.

Politeness is the default a real host gets: 4 connections per host, request starts 0.2 s apart
(`host_gap = 0.2`; loopback hosts get no gap by default, `--loopback` measures that instead).

Prints: pages/s of the full-text step (fetch + extraction + storing, re-tagging), the whole pass, peak
RSS of the ingest process and of it plus its workers, and extraction quality on the pages served: the
share of article paragraphs kept and the share of boilerplate lines left in the bodies.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from testkit.article_pages import BOILERPLATE, article_page, paragraphs, rss_with_links

HTML = "text/html; charset=utf-8"


def _host(outlet: int) -> str:
    return f"127.0.0.{outlet + 2}"


def _serve(
    outlets: int, items: int, weight_kb: int, ready: multiprocessing.Queue, stop: multiprocessing.Event
) -> None:  # type: ignore[type-arg]
    import feedserver

    servers = []
    for outlet in range(outlets):
        server = feedserver.FeedServer()
        # FeedServer binds 127.0.0.1; each outlet gets an address of its own.
        server._httpd = feedserver._Server((_host(outlet), 0), feedserver._Handler)
        server._httpd.feed_server = server
        threading.Thread(target=server._httpd.serve_forever, args=(0.05,), daemon=True).start()
        port = server._httpd.server_address[1]
        base = f"http://{_host(outlet)}:{port}"
        entries = []
        for n in range(items):
            seed = outlet * items + n
            headline = f"Outlet {outlet} report {n}: council agrees budget"
            server.feed(
                f"/news/{n}.html",
                article_page(headline, paragraphs(seed), layout=seed, weight_kb=weight_kb),
                content_type=HTML,
            )
            summary = f"Report {seed} in brief: the council agreed a budget after long talks with the unions."
            entries.append((f"o{outlet}-{n}", headline, f"{base}/news/{n}.html", summary))
        server.feed("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        server.feed("/feed.xml", rss_with_links(f"Outlet {outlet}", entries))
        servers.append(server)
        ready.put((outlet, f"{base}/feed.xml"))
    stop.wait()
    for server in servers:
        server.stop()


class _RssPeak:
    """Peak RSS of this process, and of it plus its children (the worker pool), sampled every 50 ms."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.own = 0
        self.total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _children(self) -> list[int]:
        me = os.getpid()
        out = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) not in self.exclude:
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == me:
                        out.append(int(entry.name))
                except (OSError, ValueError, IndexError):
                    pass
        return out

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            own = self._rss(os.getpid())
            self.own = max(self.own, own)
            self.total = max(self.total, own + sum(self._rss(pid) for pid in self._children()))

    def __enter__(self) -> _RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--weight-kb", type=int, default=60, help="scripts, styles and menu per page (KiB)")
    parser.add_argument("--loopback", action="store_true", help="no spacing between requests to one host")
    args = parser.parse_args()
    pages = args.outlets * args.items

    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop = multiprocessing.Event()
    server = multiprocessing.Process(
        target=_serve, args=(args.outlets, args.items, args.weight_kb, ready, stop), daemon=True
    )
    server.start()
    feeds = dict(ready.get(timeout=300) for _ in range(args.outlets))
    work = Path(tempfile.mkdtemp(prefix="nw-fulltext-"))
    config = work / "bench.toml"
    config.write_text(
        "".join(f'[[sources]]\nname = "Outlet {n}"\nurl = "{url}"\n\n' for n, url in sorted(feeds.items()))
        + ("" if args.loopback else "[fetch]\nhost_gap = 0.2\n")
        + f"[fulltext]\nmax_pages = {pages}\nmax_seconds = 3600\n"
        + '[topics.Budget]\nquery = "council AND budget"\n[topics.Strike]\nquery = "strike OR union*"\n'
    )
    try:
        import newswatch.fulltext_pass as fulltext_pass
        from newswatch.config import load_config
        from newswatch.session import Session

        step: dict[str, float] = {}
        real = fulltext_pass.run_fulltext

        def timed(*a, **k):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return real(*a, **k)
            finally:
                step["seconds"] = time.perf_counter() - started

        fulltext_pass.run_fulltext = timed
        loaded = load_config(config)
        db_path = work / "bench.db"
        session = Session(loaded, db_path)
        options = session.ingest_options()
        with _RssPeak(exclude={server.pid or 0}) as rss:
            started = time.perf_counter()
            summary = session.ingest_pass(options)
            wall = time.perf_counter() - started
        session.close()
    finally:
        stop.set()
        server.join(timeout=10)

    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT a.guid, a.body FROM articles a WHERE a.summary IS NOT NULL ORDER BY a.guid"
        ).fetchall()
        failures = conn.execute(
            "SELECT last_error, count(*) FROM article_fulltext WHERE state != 'done' GROUP BY 1"
        ).fetchall()
        placed = conn.execute("SELECT count(*) FROM articles WHERE story_id IS NOT NULL").fetchone()[0]
    kept = served = left = 0
    for guid, body in rows:
        outlet, n = (int(part) for part in guid[1:].split("-"))
        expected = paragraphs(outlet * args.items + n)
        served += len(expected)
        kept += sum(1 for paragraph in expected if paragraph in body)
        left += sum(1 for line in BOILERPLATE if line in body)
    step_seconds = step.get("seconds", float("nan"))
    politeness = "loopback defaults (no spacing)" if args.loopback else "4 per host, 0.2 s apart"
    print(
        f"full text: {pages} summary-only items over {args.outlets} hosts, pages ~{args.weight_kb} KiB, {politeness}"
    )
    print(f"  ingest summary: {summary.line()}")
    print(f"  full-text step: {step_seconds:.1f} s -> {len(rows) / step_seconds:.1f} articles/s")
    print(f"  whole pass (feeds, pages, placement): {wall:.1f} s; {placed} articles placed")
    print(
        f"  peak RSS: ingest process {rss.own / 2**20:.0f} MiB, with its workers {rss.total / 2**20:.0f} MiB"
    )
    print(f"  extraction: {kept}/{served} article paragraphs kept ({kept / max(served, 1):.1%}); "
          f"boilerplate lines left {left}/{len(rows) * len(BOILERPLATE)} ({left / max(len(rows) * len(BOILERPLATE), 1):.2%})")  # fmt: skip
    if failures:
        print("  not fetched:", "; ".join(f"{count} x {error}" for error, count in failures))


if __name__ == "__main__":
    main()
