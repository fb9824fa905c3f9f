"""Every story-grouping figure in one run: quality through the real ingest path, baselines, speed, scale.

    python -m bench.stories              # ~10 min: everything below except the 1M point
    python -m bench.stories --million    # adds placement cost at 300k and 1M stored (~75 min more, ~7 GB temp)

Runs, in order, each as its own process so their memory figures don't mix:
1. `bench.stories_ingest_eval`: ECB+ and UCI through `newswatch ingest` (.jsonl sources), BCubed
   P/R/F1 at story (and ECB+ topic) level, and whether `newswatch regroup` gives identical placements;
2. `bench.stories_eval --sweep`: the seeds (file order and all 120 arrival orders), the same corpora
   placed directly with ECB+ shuffled three ways, the two baselines in the same run, the threshold
   sensitivity, and throughput/memory over 101,000 synthetic articles with the in-memory state;
3. `bench.stories_ceiling`: the grouper's own similarity clustered in batch at the oracle's best
   threshold, the most any threshold on it can give (and the time rule's share on UCI);
4. `bench.stories_scale`: the cost of placing one article at 10k and 100k (and 300k, 1M) stored
   articles over the real SQLite grouping state, batch by batch as ingest places them.
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
    ap.add_argument("--million", action="store_true", help="also time placement at 300k and 1M stored")
    args = ap.parse_args(argv)
    sizes = ["10000", "100000", *(["300000", "1000000"] if args.million else [])]
    statuses = [
        _run("Quality through the real ingest path", "bench.stories_ingest_eval"),
        _run("Seeds, baselines, sensitivity, in-memory throughput", "bench.stories_eval", "--sweep"),
        _run("Ceiling: the same similarity in batch, oracle threshold", "bench.stories_ceiling"),
        _run("Placement cost as the SQLite grouping state grows", "bench.stories_scale", "--sizes", *sizes),
    ]
    return max(statuses)


if __name__ == "__main__":
    sys.exit(main())
