"""The foundation's promises, end to end through the real CLI, a real SQLite file and the shipped seeds."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from testkit.feedserver import FeedServer, make_rss
from tests.conftest import REPO, SEEDS, run_cli


def _count(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


def test_bundled_config_twice_leaves_exactly_five_articles(db_path: Path) -> None:
    first = run_cli("--db", str(db_path), "ingest")
    assert first.status == 0, first.stderr
    assert first.stdout.strip() == "5 new, 0 updated, 0 unchanged, 0 failed sources"
    second = run_cli("--db", str(db_path), "ingest")
    assert second.status == 0, second.stderr
    assert second.stdout.strip() == "0 new, 0 updated, 5 unchanged, 0 failed sources"
    assert _count(db_path) == 5


def test_articles_json_shows_seed_titles_and_dates(db_path: Path) -> None:
    run_cli("--db", str(db_path), "ingest", "--quiet")
    result = run_cli("--db", str(db_path), "articles", "--json")
    assert result.status == 0, result.stderr
    rows = {Path(row["url"]).name[:3]: row for row in result.json_lines()}
    assert set(rows) == {"000", "001", "002", "003", "004"}
    for row in rows.values():
        assert {"id", "title", "source", "url", "published", "body_chars"} <= set(row)
    first_lines = {
        path.name[:3]: next(line for line in path.read_text().splitlines() if line.strip())
        .lstrip("# ")
        .strip()
        for path in SEEDS.glob("*.txt")
    }
    for key in ("000", "001", "003", "004"):
        assert rows[key]["title"] == first_lines[key]
    assert rows["002"]["published"].startswith("2024-11-07")
    assert rows["003"]["published"].startswith("2024-11-05")
    # The best date each text gives: 000 mentions "November 6, 2024"; 004's "Dec. 16" is a Monday in 2024.
    assert rows["000"]["published"].startswith("2024-11-06") and rows["000"]["date_origin"] == "mention"
    assert rows["004"]["published"].startswith("2024-12-16") and rows["004"]["date_origin"] == "text-no-year"
    assert rows["001"]["date_origin"] == "mtime"
    # Newest first.
    published = [row["published"] for row in result.json_lines()]
    assert published == sorted(published, reverse=True)


def test_quiet_ingest_prints_nothing(db_path: Path) -> None:
    result = run_cli("--db", str(db_path), "ingest", "--quiet")
    assert (result.status, result.stdout, result.stderr) == (0, "", "")


def test_changed_file_updates_in_place_and_new_file_is_added(seed_config: Path, db_path: Path) -> None:
    base = ("--config", str(seed_config), "--db", str(db_path))
    run_cli(*base, "ingest", "--quiet")
    seeds = seed_config.parent / "seeds"
    target = seeds / "001_c5f6fc63b12b2367.txt"
    target.write_text(target.read_text() + "\nA correction was appended.\n")
    shutil.copy(SEEDS / "003_f964cd8a264d3b20.txt", seeds / "005_copy.txt")
    result = run_cli(*base, "ingest")
    assert result.stdout.strip() == "1 new, 1 updated, 4 unchanged, 0 failed sources"
    assert _count(db_path) == 6


def test_missing_source_files_are_reported_and_the_rest_goes_on(tmp_path: Path, db_path: Path) -> None:
    config = tmp_path / "c.toml"
    shutil.copytree(SEEDS, tmp_path / "seeds")
    config.write_text(
        '[[sources]]\nname = "Gone"\npath = "nothing-here/*.txt"\n\n'
        '[[sources]]\nname = "Samples"\npath = "seeds/*.txt"\n'
    )
    result = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert result.status == 0
    assert "5 new" in result.stdout and "1 failed source" in result.stdout
    assert "Gone: no matching files" in result.stderr
    listing = run_cli("--config", str(config), "--db", str(db_path), "sources")
    assert "FAILED" in listing.stdout and "no matching files" in listing.stdout


def test_jsonl_source_reports_bad_lines_with_numbers(tmp_path: Path, db_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(
        '{"title": "One", "body": "first", "url": "https://example.org/1", "published": 1730764800}\n'
        "not json at all\n"
        '{"title": "Two", "body": "second", "published": "2024-11-06T10:00:00Z"}\n'
    )
    config = tmp_path / "c.toml"
    config.write_text('[[sources]]\nname = "Lines"\npath = "in.jsonl"\n')
    result = run_cli("--config", str(config), "--db", str(db_path), "ingest")
    assert result.stdout.startswith("2 new")
    assert "in.jsonl:2" in result.stderr
    rows = run_cli("--config", str(config), "--db", str(db_path), "articles", "--json").json_lines()
    assert {row["published"][:10] for row in rows} == {"2024-11-05", "2024-11-06"}


def test_second_ingest_while_one_runs_exits_zero_with_a_message(db_path: Path) -> None:
    from store.lock import ingest_lock

    with ingest_lock(db_path):
        result = run_cli("--db", str(db_path), "ingest")
    assert result.status == 0
    assert result.stdout == ""
    assert "another ingest is running" in result.stderr and result.stderr.count("\n") == 1


def test_help_loads_nothing_heavy_and_the_cron_path_never_imports_textual(db_path: Path) -> None:
    # What makes --help slow is importing the stack; assert on that instead of on a noisy clock
    # (bench/startup.py measures the time).
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    help_probe = (
        "import sys\nfrom newswatch.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('textual', 'rich', 'httpx', 'feedparser', 'sqlite_utils', 'trafilatura', 'datasketch')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    help_run = subprocess.run([sys.executable, "-c", help_probe], capture_output=True, text=True, env=env)
    assert help_run.returncode == 0, help_run.stderr
    assert "exit status" in help_run.stdout and "cron example" in help_run.stdout
    assert help_run.stdout.strip().splitlines()[-1] == "[]"
    probe = (
        "import sys; from newswatch.cli import main; "
        f"main(['--db', {str(db_path)!r}, 'ingest', '--quiet', '--alerts']); "
        "bad = [m for m in ('textual', 'rich') if m in sys.modules]; print(bad)"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_the_command_ends_without_a_last_collection_over_everything(tmp_path: Path) -> None:
    # `newswatch` (the console script) and `python -m newswatch.cli` end through cli.run, which freezes what
    # is left so the interpreter's exit does not run the cyclic collector over every object (25-35 ms of a
    # warm ingest); tests call main, which must not (a test process goes on).
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["newswatch"] == "newswatch.cli:run"
    argv = ["--config", str(REPO / "config.toml"), "--db", str(tmp_path / "n.db"), "sources"]
    as_command = f"import runpy, sys; sys.argv = {['newswatch', *argv]!r}; runpy.run_module('newswatch.cli', run_name='__main__')"
    as_function = f"from newswatch.cli import main; main({argv!r})"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for code, frozen in ((as_command, True), (as_function, False)):
        probe = (
            f"import atexit, gc; atexit.register(lambda: print('frozen:', gc.get_freeze_count() > 0)); {code}"
        )
        run = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip().splitlines()[-1] == f"frozen: {frozen}"


def _python(program: str, *, cwd: Path, from_stdin: bool = False) -> str:
    """Run `program` in a new interpreter (with -c, or read from stdin); checks it succeeds, returns its
    stripped stdout."""
    argv, stdin = ([sys.executable, "-"], program) if from_stdin else ([sys.executable, "-c", program], None)
    run = subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=cwd)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_domain_packages_do_not_import_textual() -> None:
    # Every module of the domain packages (stories.*, store.grouping_state, feeds.fetch included), found
    # by walking them so a new module is covered too; the import-linter contracts say the same statically.
    probe = (
        "import importlib, pkgutil, sys\n"
        "import feeds, store, topics, stories, digest\n"
        "names = ['newswatch.browser', 'newswatch.config', 'newswatch.fulltext_pass', 'newswatch.pipeline', 'newswatch.placement',\n"
        "         'newswatch.session', 'newswatch.timefmt', 'newswatch.watch', 'newswatch.workers']\n"
        "for package in (feeds, store, topics, stories, digest):\n"
        "    names += [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + '.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "assert {'stories.engine', 'store.grouping_state', 'feeds.fetch'} <= set(sys.modules)\n"
        "print([m for m in ('textual', 'rich') if m in sys.modules])"
    )
    assert _python(probe, cwd=REPO) == "[]"


def test_worker_pool_starts_under_a_stderr_without_a_file_descriptor(tmp_path: Path) -> None:
    """Under the interface, sys.stderr is Textual's print capture (fileno() -1); the pool's fork server and
    resource tracker must still start (the interface's refresh once failed: "bad value(s) in fds_to_keep")."""
    probe = (
        "import sys\n"
        "class Capture:\n"
        "    def write(self, text): return len(text)\n"
        "    def flush(self): pass\n"
        "    def fileno(self): return -1\n"
        "sys.stderr = Capture()\n"
        "from newswatch.workers import WorkerPool\n"
        "pool = WorkerPool(1)\n"
        "print(pool.get().submit(sum, [1, 2, 3]).result(timeout=60))\n"
        "pool.shutdown()\n"
    )
    assert _python(probe, cwd=tmp_path) == "6"


def test_a_main_program_read_from_stdin_ingests_without_workers(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Workers import the main program again, which one read from stdin cannot be: the pass then parses its
    feeds in its own process rather than report every feed as failed."""
    feeds = 10  # enough for the pass to want its workers
    lines = []
    for n in range(feeds):
        feed_server.feed(f"/f{n}.xml", make_rss(f"Feed {n}", 5, feed_id=f"f{n}"))
        lines.append(f'[[sources]]\nname = "Feed {n}"\nurl = "{feed_server.url(f"/f{n}.xml")}"\n')
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n[fetch]\nhost_gap = 0\n", encoding="utf-8")
    program = (
        "import sys\n"
        f"sys.argv = ['newswatch', '--config', {str(config)!r}, '--db', {str(tmp_path / 'nw.db')!r}, 'ingest']\n"
        "from newswatch.cli import main\n"
        "main()\n"
    )
    out = _python(program, cwd=tmp_path, from_stdin=True)
    assert out.startswith(f"{feeds * 5} new") and "0 failed sources" in out, out
