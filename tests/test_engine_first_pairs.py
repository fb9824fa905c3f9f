"""The agglomeration weighs a chunk's linked pairs all at once for its first queue, and one cluster against
its neighbours after each merge: the two must give every pair the same value, bit for bit, or a story
would depend on which way its pairs were weighed."""

from __future__ import annotations

import numpy as np

from stories.engine import StoryEngine, _Node, _NodeTable

DIMS = 256  # as the bundled embedding: long enough for the order of a sum to show


def _random_nodes(rng: np.random.Generator, count: int) -> list[_Node]:
    nodes = []
    for i in range(count):
        size = int(rng.integers(0, 160))
        terms = rng.choice(3000, size, replace=False).astype(np.int64)
        weights = (rng.random(size) + 0.01).astype(np.float16).astype(np.float32)
        embedding = rng.standard_normal(DIMS).astype(np.float16) if i % 5 else np.zeros(0, np.float16)
        dated = i % 4 != 0
        first = 1_700_000_000.0 + float(rng.integers(0, 5 * 86400)) if dated else None
        members = int(rng.integers(1, 6))
        nodes.append(
            _Node(
                terms=terms,
                weights=weights,
                embedding=embedding,
                n=members,
                first=first,
                last=first + float(rng.integers(0, 86400)) if first is not None else None,
                months=int(rng.choice([0, 1, 2, 3])),
                weekdays=int(rng.choice([0, 1, 4, 5])),
                story_ids=[i] if i % 3 == 0 else [],
                article_ids=[] if i % 6 == 0 else [10_000 + i],
                long_n=int(rng.integers(0, members + 1)),
            )
        )
    return nodes


def test_the_first_queue_weighs_each_pair_as_one_cluster_against_its_neighbours_does() -> None:
    rng = np.random.default_rng(5)
    engine = StoryEngine()
    nodes = _random_nodes(rng, 300)
    table = _NodeTable(64, DIMS)
    for node in nodes:
        table.add(node)
    pairs = {(int(a), int(b)) for a, b in rng.integers(0, len(nodes), (3000, 2)) if a < b}
    lo = np.array(sorted(pairs), np.int64)[:, 0]
    hi = np.array(sorted(pairs), np.int64)[:, 1]
    # A low bar, so that many pairs clear it and the comparison covers them.
    engine.settings = type(engine.settings)(story_threshold=-1.0)

    batched = {(a, b): margin for margin, a, b, _, _ in engine._first_pairs(table, lo, hi)}

    one_at_a_time = {}
    for a in range(len(nodes)):
        others = hi[lo == a]
        if not len(others):
            continue
        settled = table.story[a] & ~table.touched[a] & table.story[others] & ~table.touched[others]
        bars = engine._bars(table, a, others)
        keep = ~settled & ~np.isnan(bars)
        if not keep.any():
            continue
        sims = engine._similarities(table, a, others[keep])
        for b, bar, sim in zip(others[keep].tolist(), bars[keep].tolist(), sims.tolist(), strict=True):
            if sim >= bar:
                one_at_a_time[(a, b)] = bar - sim
    assert len(one_at_a_time) > 500
    assert batched == one_at_a_time
    assert not engine._scratch.any()
