"""Every story-engine figure in one run: the issue's table through the real CLI, quality, sensitivity, cost.

    python -m bench.stories              # ~20 min: everything below except the million-article runs
    python -m bench.stories --million    # adds a 1,000,000-article ingest and placement cost at 1M stored

Runs, in order, each as its own process so their memory figures don't mix:
1. `bench.story_engine`: cold and warm ingest of 300 and 1,000 generated feeds against newsboat in the same
   run, two cold ingests compared for identical partitions, 100,000 articles from one .jsonl end to end
   (articles/s, peak RSS), grouping state on disk per article, ECB+ (file order and three shuffles) and
   UCI (timestamps jittered ±12 h, and raw) through `newswatch ingest`;
2. `bench.engine_quality --sweep`: the engine alone on the seeds (all 120 arrival orders, one seed per
   chunk), ECB+ and UCI, and each main setting moved one at a time;
3. `bench.engine_speed`: features and placement cost per article, and placement cost as 10k, 100k (and
   1M) articles are stored.
The eval data is read in place from ../shared/eval; what is absent is skipped with a note.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(title: str, module: str, *args: str) -> int:
    print(f"\n## {title}\n\n$ python -m {module} {' '.join(args)}\n", flush=True)
    started = time.perf_counter()
    status = subprocess.run([sys.executable, "-m", module, *args], cwd=REPO).returncode
    print(f"\n({module}: exit {status}, {time.perf_counter() - started:.0f} s)", flush=True)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--million", action="store_true", help="also the 1,000,000-article runs")
    args = ap.parse_args(argv)
    sizes = "10000,100000" + (",1000000" if args.million else "")
    statuses = [
        _run(
            "The issue's table through the CLI",
            "bench.story_engine",
            *(["--million"] if args.million else []),
        ),
        _run("Quality and sensitivity, engine alone", "bench.engine_quality", "--sweep"),
        _run("Cost per article", "bench.engine_speed", "--scale", sizes),
    ]
    return max(statuses)


if __name__ == "__main__":
    sys.exit(main())
