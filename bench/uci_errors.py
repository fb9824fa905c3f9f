"""Where the engine and UCI's gold stories disagree (timestamps jittered as in the issue's measure).

    python -m bench.uci_errors [--top 6]

Prints the largest gold stories with the clusters they were split into, and the predicted clusters that mix
the most gold stories, with example headlines: what the remaining recall and precision loss looks like.
Reads ../shared/eval in place; says so and exits when it is absent.
"""

from __future__ import annotations

import argparse
import collections
import sys
from collections.abc import Sequence

from stories.engine import EngineSettings
from testkit.story_eval import UCI_PATH, canonical, jittered, load_uci, run, to_inputs


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", type=int, default=6)
    args = ap.parse_args(argv)
    if not UCI_PATH.exists():
        print(f"UCI eval data absent at {UCI_PATH}: nothing to show")
        return 0
    uci = load_uci()
    arts = jittered([a for a, _ in uci])
    inputs = canonical(to_inputs(arts), {a.article_id: f"{a.article_id:09d}" for a in arts})
    gold = {a.article_id: c for a, c in uci}
    title = {a.article_id: a.title for a in arts}
    story = run(inputs, EngineSettings(), 2000)
    by_gold: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    by_pred: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for aid, g in gold.items():
        by_gold[g][story[aid]] += 1
        by_pred[story[aid]][g] += 1

    def examples(g: str, sid: int) -> list[str]:
        return [title[a] for a in gold if gold[a] == g and story[a] == sid][:2]

    print("Largest gold stories, and the clusters they were split into (recall):")
    for g, parts in sorted(by_gold.items(), key=lambda kv: -sum(kv[1].values()))[: args.top]:
        print(f"  {sum(parts.values())} articles in {len(parts)} clusters: {parts.most_common(4)}")
        for sid, _ in parts.most_common(2):
            print(f"      cluster {sid}: {examples(g, sid)}")
    print("\nClusters mixing the most gold stories (precision):")
    mixed = sorted(by_pred.items(), key=lambda kv: -(sum(kv[1].values()) - kv[1].most_common(1)[0][1]))
    for sid, golds in mixed[: args.top]:
        print(f"  cluster {sid}: {sum(golds.values())} articles from {len(golds)} gold stories")
        for g, _ in golds.most_common(3):
            print(f"      {examples(g, sid)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
