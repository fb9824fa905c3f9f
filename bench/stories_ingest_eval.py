"""Story grouping measured through the real ingest path: eval corpora as .jsonl sources, `newswatch ingest`.

    python -m bench.stories_ingest_eval

For ECB+ and the UCI News Aggregator sample (read in place from ../shared/eval/stories), every article is
written to a .jsonl file in a temporary folder, a config points a path source at it, and the real CLI
ingests it into a fresh database (parsing, FTS, tagging and incremental story placement in batches). The
placements are then read back from the database and scored with BCubed against the gold labels, at story
level and (ECB+) topic level; `newswatch regroup` is run and must give identical placements.
Skips with a note when the eval data is absent.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from testkit.cli import newswatch_command
from testkit.story_eval import ECB_PATH, UCI_PATH, bcubed, load_ecbplus, load_uci

REPO = Path(__file__).resolve().parents[1]


def _ingest(work: Path, name: str, lines: list[dict]) -> tuple[dict[str, int], float, dict[str, int]]:
    """Ingest `lines` through the CLI; returns guid -> story id, seconds, and guid -> story after regroup."""
    folder = work / name
    folder.mkdir()
    (folder / f"{name}.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    config = folder / "config.toml"
    config.write_text(f'[[sources]]\nname = "{name}"\npath = "{name}.jsonl"\n')
    db = folder / "eval.db"
    command = newswatch_command(config, db)
    started = time.perf_counter()
    subprocess.run([*command, "ingest", "--quiet"], check=True, cwd=REPO)
    seconds = time.perf_counter() - started

    def placements() -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            return dict(conn.execute("SELECT guid, story_id FROM articles"))

    incremental = placements()
    subprocess.run([*command, "regroup"], check=True, cwd=REPO, capture_output=True)
    return incremental, seconds, placements()


def main() -> None:
    if not ECB_PATH.exists() or not UCI_PATH.exists():
        print(f"eval data not found ({ECB_PATH.parent.parent}): nothing to measure")
        return
    work = Path(tempfile.mkdtemp(prefix="nw-eval-"))
    print(f"{'corpus':28} {'articles':>8} {'P':>6} {'R':>6} {'F1':>6} {'ingest s':>9}  regroup equal")

    ecb = load_ecbplus()
    lines = [
        # No `published`: these articles carry no usable date, so ingest stands in the file time (uncertain).
        {
            "guid": str(article.article_id),
            "title": article.title,
            "body": article.body,
            "source": article.outlet,
        }
        for article, _, _ in ecb
    ]
    placed, seconds, regrouped = _ingest(work, "ecbplus", lines)
    predicted = [placed[str(article.article_id)] for article, _, _ in ecb]
    for label, gold in (
        ("ECB+ stories (cluster_id)", [c for _, c, _ in ecb]),
        ("ECB+ topics", [t for _, _, t in ecb]),
    ):
        p, r, f = bcubed(predicted, gold)
        print(f"{label:28} {len(ecb):8} {p:6.3f} {r:6.3f} {f:6.3f} {seconds:9.1f}  {placed == regrouped}")

    uci = load_uci()
    lines = [
        {
            "guid": str(article.article_id),
            "title": article.title,
            "body": "",
            "source": article.outlet,
            "published": int(article.published.timestamp() * 1000),
        }
        for article, _ in uci
    ]
    placed, seconds, regrouped = _ingest(work, "uci", lines)
    predicted = [placed[str(article.article_id)] for article, _ in uci]
    p, r, f = bcubed(predicted, [story for _, story in uci])
    print(
        f"{'UCI headlines (STORY)':28} {len(uci):8} {p:6.3f} {r:6.3f} {f:6.3f} {seconds:9.1f}  {placed == regrouped}"
    )


if __name__ == "__main__":
    main()
