"""Speed and pairwise separation of the bundled static embedding (stories/embedding.py).

    python -m bench.embedding_speed                  # load time, texts/s on one core, ECB+ and UCI AUCs
    python -m bench.embedding_speed --table PATH     # the same for another table built by
                                                     # tools/build_static_embedding.py --out PATH
    python -m bench.embedding_speed --no-subwords    # skip out-of-vocabulary words instead of splitting

Speed: headline + 600 characters of lead (what stories/features.py embeds), one process, BLAS limited
to one thread; "cold" is the first pass with an empty per-word cache, "warm" the passes after it.

Separation: ROC AUC of the embedding cosine, for
- ECB+: same gold cluster vs different cluster, over every pair of documents inside one ECB+ topic;
- UCI headlines: same STORY vs different STORY, a seeded random sample of pairs of each kind.
0.5 is chance, 1.0 perfect ordering. The eval data is read from ../shared/eval (or $NEWSWATCH_EVAL);
what is absent is skipped with the reason printed.
"""

from __future__ import annotations

import os

# One core: numpy's BLAS must not spread the small matrix products over threads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from stories import embedding  # noqa: E402
from testkit.story_eval import ECB_PATH, UCI_PATH, load_ecbplus, load_uci  # noqa: E402

LEAD_CHARS = 600
UCI_PAIRS = 20_000  # of each kind


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive pair scores above a random negative one (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # Average ranks over ties.
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty_like(ranks)
    r[order] = ranks
    pos = labels.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if not n_pos or not n_neg:
        return float("nan")
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _matrix(model: embedding._Model, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of unit vectors (float32) and whether each text got one."""
    vecs = [model.embed(t) for t in texts]
    dims = model.vectors.shape[1]
    out = np.zeros((len(texts), dims), dtype=np.float32)
    ok = np.zeros(len(texts), dtype=bool)
    for i, v in enumerate(vecs):
        if len(v):
            out[i] = v
            ok[i] = True
    return out, ok


def ecb_auc(model: embedding._Model) -> str:
    if not ECB_PATH.is_file():
        return f"ECB+ skipped: {ECB_PATH} not found"
    docs = load_ecbplus()
    texts = [f"{a.title}\n{a.body[:LEAD_CHARS]}" for a, _, _ in docs]
    m, _ = _matrix(model, texts)
    by_topic: dict[object, list[int]] = defaultdict(list)
    for i, (_, _, topic) in enumerate(docs):
        by_topic[topic].append(i)
    scores, labels = [], []
    for members in by_topic.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                scores.append(float(m[i] @ m[j]))
                labels.append(docs[i][1] == docs[j][1])
    auc = roc_auc(np.array(scores), np.array(labels))
    return f"ECB+ within-topic pairs: {len(scores)} ({sum(labels)} same cluster), AUC {auc:.3f}"


def uci_auc(model: embedding._Model, seed: int = 7) -> str:
    if not UCI_PATH.is_file():
        return f"UCI skipped: {UCI_PATH} not found"
    rows = load_uci()
    m, _ = _matrix(model, [a.title for a, _ in rows])
    stories = [s for _, s in rows]
    by_story: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(stories):
        by_story[s].append(i)
    rng = random.Random(seed)
    multi = [v for v in by_story.values() if len(v) > 1]
    weights = [len(v) * (len(v) - 1) for v in multi]  # uniform over same-story pairs
    pos = []
    for members in rng.choices(multi, weights=weights, k=UCI_PAIRS):
        i, j = rng.sample(members, 2)
        pos.append(float(m[i] @ m[j]))
    neg = []
    n = len(rows)
    while len(neg) < UCI_PAIRS:
        i, j = rng.randrange(n), rng.randrange(n)
        if stories[i] != stories[j]:
            neg.append(float(m[i] @ m[j]))
    auc = roc_auc(np.array(pos + neg), np.array([True] * len(pos) + [False] * len(neg)))
    return f"UCI headline pairs: {len(pos)} same story + {len(neg)} different (seed {seed}), AUC {auc:.3f}"


def speed_texts() -> list[str]:
    """Headline + 600-char leads: ECB+ articles when present, else the bundled seed articles."""
    if ECB_PATH.is_file():
        return [f"{a.title}\n{a.body[:LEAD_CHARS]}" for a, _, _ in load_ecbplus()]
    from testkit.story_eval import load_seeds

    return [f"{a.title}\n{a.body[:LEAD_CHARS]}" for a in load_seeds()]


def speed(model: embedding._Model, texts: list[str], seconds: float = 3.0) -> tuple[float, float]:
    """(cold, warm) texts per CPU-second."""
    model.cache.clear()
    t0 = time.process_time()
    for t in texts:
        model.embed(t)
    cold = len(texts) / max(time.process_time() - t0, 1e-9)
    done = 0
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        for t in texts:
            model.embed(t)
        done += len(texts)
    warm = done / (time.process_time() - t0)
    return cold, warm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", type=Path, default=embedding.DATA_PATH)
    ap.add_argument("--no-subwords", action="store_true", help="skip out-of-vocabulary words")
    ap.add_argument("--seconds", type=float, default=3.0, help="how long to time the warm passes")
    args = ap.parse_args(argv)

    if not args.table.is_file():
        print(f"skipped: no table at {args.table} (run tools/build_static_embedding.py)")
        return 0
    t0 = time.perf_counter()
    model = embedding._Model(args.table, subwords=not args.no_subwords)
    load = time.perf_counter() - t0
    rows, dims = model.vectors.shape
    print(
        f"table {args.table}: {args.table.stat().st_size / 1e6:.1f} MB, {rows} rows x {dims}, loaded in {load * 1000:.0f} ms"
    )
    texts = speed_texts()
    chars = sum(map(len, texts)) / len(texts)
    cold, warm = speed(model, texts, args.seconds)
    print(
        f"speed ({len(texts)} texts, mean {chars:.0f} chars): cold cache {cold:,.0f} texts/s, warm {warm:,.0f} texts/s per core"
    )
    print(ecb_auc(model))
    print(uci_auc(model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
