"""Fault injection: one ingest against a local server that serves 100 healthy feeds and every kind of fault.

    python -m bench.fault_suite [--healthy 100] [--items 10] [--no-each]

The feeds come from testkit/feedserver.py (a real HTTP server on 127.0.0.1); `newswatch ingest` runs in a
child process, through the real CLI, with tight limits (2 s reads, 3 s per feed, 2 MiB bodies, a 30 s run
deadline). We print, for each fault kind, what the program did (the source's recorded error, or what it
stored), then the combined run's wall time and peak RSS. Unless --no-each, each fault is also ingested alone,
to show its own wall time and peak RSS (RSS is the larger of the ingest process and its parse workers).

tests/test_faults.py runs the same suite and asserts on it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from testkit.feedserver import FeedServer, Response, make_rss

REPO = Path(__file__).resolve().parents[1]

# Tight limits so that the slow faults cost seconds, not minutes.
FETCH_SETTINGS = {"timeout": 2, "deadline": 3, "max_body_mb": 2, "run_deadline": 30}
RUN_DEADLINE = FETCH_SETTINGS["run_deadline"]
BIG = 1 << 30  # what the huge body and the gzip bomb would grow to, unchecked: 1 GiB

XXE_DTD_PATH = "/evil.dtd"


@dataclass(frozen=True)
class Fault:
    kind: str
    path: str
    # The recorded error must contain this; None: the feed must be stored (possibly with warnings).
    expect_error: str | None
    setup: Callable[[FeedServer, str], None]


def _rss(title: str, item_title: str, body: str = "text", guid: str = "g1") -> str:
    return (
        f'<rss version="2.0"><channel><title>{title}</title><item><title>{item_title}</title>'
        f"<guid>{guid}</guid><description>{body}</description></item></channel></rss>"
    )


def _billion_laughs() -> bytes:
    levels = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        + "\n".join(levels)
        + "\n]>\n"
        + _rss("Laughs &lol9;", "Laughs item &lol9;", "Body &lol9; &lol;", "laughs-1")
    ).encode()


def _xxe(server: FeedServer) -> bytes:
    # A local file, and an external DTD on our own server: neither may be read or fetched.
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        '  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n'
        f'  <!ENTITY % remote SYSTEM "{server.url(XXE_DTD_PATH)}"> %remote;\n]>\n'
        + _rss("XXE", "Leak &xxe;", "secret: &xxe;", "xxe-1")
    ).encode()


def _redirect_loop(server: FeedServer, path: str) -> None:
    server.redirect(path, server.url(path + "/b"), code=302)
    server.redirect(path + "/b", server.url(path), code=302)


def _redirect_chain(server: FeedServer, path: str) -> None:
    for hop in range(10):
        server.redirect(f"{path}/{hop}" if hop else path, server.url(f"{path}/{hop + 1}"), code=302)


def _retry_after(server: FeedServer, path: str) -> None:
    server.status(path, 429, headers={"Retry-After": "120"})


def _empty(server: FeedServer, path: str) -> None:
    server.feed(path, b"")


FAULTS: tuple[Fault, ...] = (
    Fault("HTTP 500", "/fault/500", "HTTP 500", lambda s, p: s.status(p, 500, body=b"<h1>oops</h1>")),
    Fault("HTTP 404", "/fault/404", "HTTP 404", lambda s, p: s.status(p, 404, body=b"gone")),
    Fault("429 + Retry-After", "/fault/429", "HTTP 429", _retry_after),
    Fault("hang (no response)", "/fault/hang", "timed out", lambda s, p: s.slow(p, delay=120)),
    Fault("slow drip", "/fault/drip", "timed out after 3s", lambda s, p: s.drip(p, size=5000, interval=0.2)),
    Fault("huge body", "/fault/huge", "body exceeds 2 MiB limit", lambda s, p: s.huge(p, BIG)),
    Fault("gzip bomb", "/fault/bomb", "body exceeds 2 MiB limit", lambda s, p: s.gzip_bomb(p, BIG)),
    Fault("redirect loop", "/fault/loop", "redirect loop at", _redirect_loop),
    Fault("redirect chain (10)", "/fault/chain", "too many redirects", _redirect_chain),
    Fault(
        "malformed XML",
        "/fault/malformed",
        "malformed XML",
        lambda s, p: s.feed(p, b'<?xml version="1.0"?><rss version="2.0"><channel><<<>>>'),
    ),
    Fault(
        "wrong charset (latin-1 sent as utf-8)",
        "/fault/charset",
        None,
        lambda s, p: s.feed(p, _rss("Charset", "Café crème", "naïve été", "cs-1").encode("latin-1")),
    ),
    Fault(
        "HTML page",
        "/fault/html",
        "not a feed (got an HTML page)",
        lambda s, p: s.feed(
            p,
            b"<!doctype html><html><head><title>Home</title></head><body><p>hi</p></body></html>",
            content_type="text/html; charset=utf-8",
        ),
    ),
    Fault("empty 200", "/fault/empty", "empty response", _empty),
    Fault(
        "JSON instead of XML",
        "/fault/json",
        "not a feed (got JSON",
        lambda s, p: s.feed(
            p, b'{"version": "https://jsonfeed.org/version/1"}', content_type="application/json"
        ),
    ),
    Fault("billion laughs", "/fault/laughs", None, lambda s, p: s.feed(p, _billion_laughs())),
    Fault("XXE", "/fault/xxe", None, lambda s, p: s.feed(p, _xxe(s))),
)
REFUSED = Fault("connection refused", "", "connection refused", lambda s, p: None)
REFUSED_URL = "http://127.0.0.1:9/feed.xml"  # the discard port: nothing listens there


def install(
    server: FeedServer, *, healthy: int = 100, items: int = 10, faults: Sequence[Fault] = FAULTS
) -> dict[str, str]:
    """Routes on `server`; returns source name -> URL. Healthy feeds are named "ok-N", faults by kind."""
    sources: dict[str, str] = {}
    for n in range(healthy):
        path = f"/ok/{n}.xml"
        server.feed(path, make_rss(f"Healthy {n}", items, feed_id=f"ok{n}"), etag=f'"ok{n}"')
        sources[f"ok-{n}"] = server.url(path)
    server.route(XXE_DTD_PATH, lambda _r: Response(200, {}, b'<!ENTITY xxe "from the remote DTD">'))
    for fault in faults:
        if fault is REFUSED:
            sources[fault.kind] = REFUSED_URL
            continue
        fault.setup(server, fault.path)
        sources[fault.kind] = server.url(fault.path)
    return sources


def write_config(path: Path, sources: dict[str, str], fetch: dict[str, float] | None = None) -> Path:
    settings = FETCH_SETTINGS if fetch is None else fetch
    # Feed faults only: no article pages (the eval corpus's items link to real outlets, never to be asked).
    text = "".join(
        f"[[sources]]\nname = {json.dumps(n)}\nurl = {json.dumps(u)}\nfulltext = false\n\n"
        for n, u in sources.items()
    )
    text += "[fetch]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())
    path.write_text(text, encoding="utf-8")
    return path


# Runs the real CLI in a child and reports its peak RSS and that of its own children (the parse pool),
# which `resource` gives exactly once they have been waited for.
_MEASURED = """
import json, resource, sys
from newswatch.cli import main
status = main(sys.argv[2:])
sys.stdout.flush()
usage = {"self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
         "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}
with open(sys.argv[1], "w") as handle:
    json.dump(usage, handle)
sys.exit(status)
"""


@dataclass
class IngestRun:
    status: int
    stdout: str
    stderr: str
    wall: float
    peak_rss_kib: int  # max(ingest process, largest parse worker)

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_kib / 1024


def run_ingest(
    config: Path, db: Path, *extra: str, timeout: float = 120.0, env: dict[str, str] | None = None
) -> IngestRun:
    """`newswatch --config CONFIG --db DB ingest EXTRA…` in a child process, timed and measured."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as usage_file:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURED, usage_file.name, "--config", str(config), "--db", str(db),
             "ingest", *extra],
            capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
        )  # fmt: skip
        wall = time.monotonic() - started
        text = usage_file.read()
    usage = json.loads(text) if text else {"self": 0, "children": 0}
    return IngestRun(done.returncode, done.stdout, done.stderr, wall, max(usage["self"], usage["children"]))


def source_rows(db: Path) -> dict[str, dict]:
    """Each source's recorded state and article count, read straight from the SQLite file."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            """SELECT s.*, (SELECT count(*) FROM articles a WHERE a.source_id = s.id) AS articles
               FROM sources s"""
        ).fetchall()
        return {row["name"]: dict(row) for row in rows}


def articles_of(db: Path, source: str) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            """SELECT a.guid, a.title, a.body, a.author, a.url FROM articles a JOIN sources s
               ON s.id = a.source_id WHERE s.name = ? ORDER BY a.guid""",
            [source],
        )
        return [dict(row) for row in rows]


def outcome_text(db: Path, name: str) -> str:
    """What happened to one source, for the table."""
    row = source_rows(db)[name]
    if row["last_error"]:
        return f"error: {row['last_error']}"
    stored = articles_of(db, name)
    titles = "; ".join(repr(a["title"][:60]) for a in stored[:2])
    return f"stored {len(stored)} item{'s' if len(stored) != 1 else ''}: {titles}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--healthy", type=int, default=100)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--no-each", action="store_true", help="skip the one-fault-at-a-time runs")
    args = parser.parse_args()
    faults = (*FAULTS, REFUSED)
    work = Path(tempfile.mkdtemp(prefix="nw-faults-"))
    with FeedServer() as server:
        sources = install(server, healthy=args.healthy, items=args.items, faults=faults)
        config = write_config(work / "all.toml", sources)
        combined = run_ingest(config, work / "all.db")
        rows = source_rows(work / "all.db")
        healthy_ok = sum(
            1 for name, row in rows.items() if name.startswith("ok-") and row["articles"] == args.items
        )
        each: dict[str, IngestRun] = {}
        if not args.no_each:
            for n, fault in enumerate(faults):
                alone = write_config(work / f"f{n}.toml", {fault.kind: sources[fault.kind]})
                each[fault.kind] = run_ingest(alone, work / f"f{n}.db")
        width = max(len(f.kind) for f in faults)
        print(f"{'fault':<{width}}  {'wall s':>6}  {'RSS MiB':>7}  what newswatch did")
        for fault in faults:
            alone_run = each.get(fault.kind)
            timing = (
                f"{alone_run.wall:6.2f}  {alone_run.peak_rss_mib:7.1f}"
                if alone_run
                else f"{'-':>6}  {'-':>7}"
            )
            print(f"{fault.kind:<{width}}  {timing}  {outcome_text(work / 'all.db', fault.kind)}")
        print()
        print(
            f"combined run: {len(sources)} sources ({args.healthy} healthy, {healthy_ok} fully stored), "
            f"exit {combined.status}, {combined.wall:.2f} s wall (run deadline {RUN_DEADLINE} s), "
            f"peak RSS {combined.peak_rss_mib:.1f} MiB"
        )
        print(f"summary line: {combined.stdout.strip()}")
        print(f"XXE external DTD requested: {len(server.requests_for(XXE_DTD_PATH))} times")


if __name__ == "__main__":
    main()
