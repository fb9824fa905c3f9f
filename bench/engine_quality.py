"""Story-engine quality placed directly (no ingest): seeds in all 120 arrival orders, ECB+, UCI raw and jittered.

    python -m bench.engine_quality [--chunk 2000] [--set story_threshold=0.1 ...] [--sweep]

Articles are placed the way ingest places them: in canonical order (time, then source and guid) in chunks
of `--chunk`; each seed arrival order places one seed per run (five chunks of one), the hardest case.
The eval data is read in place from ../shared/eval; what is absent is skipped with a note.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import fields, replace

from stories.engine import EngineSettings, PlaceInput
from testkit.story_eval import (
    ECB_PATH,
    UCI_PATH,
    EvalArticle,
    bcubed,
    canonical,
    jittered,
    load_ecbplus,
    load_uci,
    run,
    seeds_failing,
    small_database,
    to_inputs,
)

# One setting moved at a time around the shipped ones (those marked * were chosen on ECB+/UCI, the rest
# were set by reasoning and left alone).
SWEEP: list[tuple[str, tuple[float | int, ...]]] = [
    ("story_threshold", (0.08, 0.10, 0.12, 0.14, 0.16)),  # *
    ("uncertain_margin", (0.06, 0.08, 0.10, 0.12, 0.14)),  # *
    ("embedding_weight", (0.0, 0.2, 0.3, 0.4)),  # *
    ("long_embedding_weight", (0.0, 0.1, 0.2)),  # *
    ("time_margin", (0.0, 0.25, 0.5, 1.0)),
    ("weekday_margin", (0.0, 0.1, 0.2)),
    ("reopen_members", (0, 4, 8, 16)),
    ("max_candidates", (16, 32, 64)),
    ("background_articles", (0, 300, 1000, 3000)),  # *
]


class Corpora:
    """ECB+ (file order) and UCI (timestamps jittered) as canonical engine inputs, features computed once."""

    def __init__(self) -> None:
        self.sets: list[tuple[str, list[PlaceInput], dict[int, object]]] = []
        self.ecb: list[tuple[EvalArticle, str, int]] = []
        if ECB_PATH.exists():
            ecb = load_ecbplus()
            keys = {a.article_id: str(a.article_id) for a, _, _ in ecb}
            inputs = canonical(to_inputs([a for a, _, _ in ecb]), keys)
            self.sets.append(("ECB+", inputs, {a.article_id: c for a, c, _ in ecb}))
            self.ecb = ecb
        if UCI_PATH.exists():
            uci = load_uci()
            arts = jittered([a for a, _ in uci])
            keys = {a.article_id: f"{a.article_id:09d}" for a in arts}
            self.sets.append(
                ("UCI ±12 h", canonical(to_inputs(arts), keys), {a.article_id: c for a, c in uci})
            )

    def scores(self, settings: EngineSettings, chunk: int) -> list[float]:
        out = []
        for _, inputs, gold in self.sets:
            story = run(inputs, settings, chunk)
            ids = [p.article_id for p in inputs]
            out.append(bcubed([story[i] for i in ids], [gold[i] for i in ids])[2])
        if self.ecb:
            out.append(small_database(self.ecb, self.sets[0][1], settings)[2])
        return out


def sweep(chunk: int) -> None:
    corpora = Corpora()
    names = [name for name, _, _ in corpora.sets] + (["ECB+ small database"] if corpora.ecb else [])
    shipped = EngineSettings()
    print(f"\n| setting | value | {' | '.join(names)} | seeds failing |\n|---|---|{'---|' * len(names)}---|")
    for name, values in SWEEP:
        for value in values:
            settings = replace(shipped, **{name: value})
            mark = " (shipped)" if getattr(shipped, name) == value else ""
            f1 = " | ".join(f"{x:.3f}" for x in corpora.scores(settings, chunk))
            print(f"| {name} | {value}{mark} | {f1} | {seeds_failing(settings)} |", flush=True)
    for size in (1, 50, 500, 2000):
        f1 = " | ".join(f"{x:.3f}" for x in corpora.scores(shipped, size)[:2])
        print(f"| chunk (articles placed together) | {size} | {f1} | | |", flush=True)


def setting_overrides(items: Sequence[str]) -> dict[str, float | int]:
    """`name=value` items (a value with a dot is a float) as EngineSettings overrides; ValueError names an
    unknown setting."""
    names = {f.name for f in fields(EngineSettings)}
    overrides: dict[str, float | int] = {}
    for item in items:
        name, value = item.split("=", 1)
        if name not in names:
            raise ValueError(f"unknown setting {name}")
        overrides[name] = float(value) if "." in value else int(value)
    return overrides


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--set", action="append", default=[], help="setting=value, e.g. story_threshold=0.1")
    ap.add_argument("--no-seeds", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="also move each main setting, one at a time")
    args = ap.parse_args(argv)
    try:
        overrides = setting_overrides(args.set)
    except ValueError as error:
        ap.error(str(error))
    settings = replace(EngineSettings(), **overrides)
    print(f"settings: {overrides or 'shipped'}; chunk {args.chunk}")
    if not args.no_seeds:
        print(f"seeds: {seeds_failing(settings)} of 120 arrival orders grouped otherwise", flush=True)
    if ECB_PATH.exists():
        ecb = load_ecbplus()
        inputs = to_inputs([a for a, _, _ in ecb])
        keys = {a.article_id: str(a.article_id) for a, _, _ in ecb}
        started = time.perf_counter()
        story = run(canonical(inputs, keys), settings, args.chunk)
        took = time.perf_counter() - started
        gold = {a.article_id: c for a, c, _ in ecb}
        ids = [a.article_id for a, _, _ in ecb]
        p, r, f = bcubed([story[i] for i in ids], [gold[i] for i in ids])
        print(
            f"ECB+   P {p:.3f} R {r:.3f} F1 {f:.3f}   ({len(ids) / took:.0f} articles/s placing)", flush=True
        )
        p, r, f = small_database(ecb, inputs, settings)
        print(f"ECB+ small database (each topic alone, fresh engine; mean) P {p:.3f} R {r:.3f} F1 {f:.3f}")
    else:
        print(f"ECB+ skipped: {ECB_PATH} absent")
    if UCI_PATH.exists():
        uci = load_uci()
        for label, arts in (("raw", [a for a, _ in uci]), ("jittered ±12 h", jittered([a for a, _ in uci]))):
            inputs = to_inputs(arts)
            keys = {a.article_id: f"{a.article_id:09d}" for a in arts}
            story = run(canonical(inputs, keys), settings, args.chunk)
            gold = {a.article_id: c for a, c in uci}
            ids = [a.article_id for a in arts]
            p, r, f = bcubed([story[i] for i in ids], [gold[i] for i in ids])
            print(f"UCI {label:14} P {p:.3f} R {r:.3f} F1 {f:.3f}", flush=True)
    else:
        print(f"UCI skipped: {UCI_PATH} absent")
    if args.sweep:
        sweep(args.chunk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
