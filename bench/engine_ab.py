"""Story-engine A/B: two versions of stories/engine.py placing the same articles, in alternating processes.

    python -m bench.engine_ab [--articles 100000] [--pairs 2] BEFORE [AFTER]

BEFORE and AFTER are git revisions (their stories/engine.py is loaded) or paths to an engine.py; AFTER
defaults to the working tree's. Both run against this tree's other modules. On a shared machine whose speed
swings by a quarter between runs, single runs cannot measure a change of a few percent: runs of each
version alternate, pair after pair (the order flipped each pair), and both see the same articles
(bench._genfeeds, in one month as the 100k .jsonl bench has them, features computed once and saved). Each
run is a fresh process: a second engine in one process ran ~20% slower than the first, whichever it was.
Per run: CPU seconds, those of the first and last tenth of the chunks (the window filling), and a hash of
the final partition, which says whether the versions group alike.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from bench.engine_speed import _inputs
from newswatch.placement import CHUNK, SETTINGS
from stories.engine import PlaceInput
from stories.features import ArticleFeatures

REPO = Path(__file__).resolve().parent.parent


def _engine_file(version: str, label: str, scratch: Path) -> Path:
    """`version` if it is a file, else its stories/engine.py from git, written into `scratch`."""
    path = Path(version)
    if path.is_file():
        return path
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{version}:stories/engine.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = scratch / f"engine_{label}.py"
    path.write_text(source, encoding="utf-8")
    return path


def _engine_module(path: str) -> ModuleType:
    name = "engine_ab_run"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"engine_ab: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _run(module: ModuleType, inputs: list) -> tuple[float, float, float, str]:
    engine = module.StoryEngine(SETTINGS)
    chunks = [inputs[start : start + CHUNK] for start in range(0, len(inputs), CHUNK)]
    times = []
    for chunk in chunks:
        started = time.process_time()
        engine.place(chunk)
        times.append(time.process_time() - started)
    tenth = max(1, len(times) // 10)
    partition = sorted((aid, engine.story_of(a.story_id)) for aid, a in engine._articles.items())
    digest = hashlib.sha1(repr(partition).encode()).hexdigest()[:10]
    return sum(times), sum(times[:tenth]), sum(times[-tenth:]), digest


def _run_saved(engine_path: str, inputs_path: str) -> None:
    """One run, in this process: the engine at `engine_path` over the saved inputs; prints its figures."""
    with open(inputs_path, "rb") as handle:
        saved = pickle.load(handle)
    inputs = [
        PlaceInput(aid, published, certain, ArticleFeatures.from_bytes(blob))
        for aid, published, certain, blob in saved
    ]
    module = _engine_module(engine_path)
    print(json.dumps(_run(module, inputs)))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", nargs="?", help="git revision or path of the engine.py to compare against")
    ap.add_argument("after", nargs="?", default=str(REPO / "stories" / "engine.py"))
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--run", nargs=2, metavar=("ENGINE", "INPUTS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.run:
        _run_saved(*args.run)
        return 0
    if args.before is None:
        ap.error("the revision or engine.py to compare against is required")

    with tempfile.TemporaryDirectory() as scratch:
        engines = {
            label: str(_engine_file(version, label, Path(scratch)))
            for label, version in (("before", args.before), ("after", args.after))
        }
        inputs, _ = _inputs(args.articles)
        inputs_path = Path(scratch) / "inputs.pickle"
        with open(inputs_path, "wb") as handle:
            saved = [(p.article_id, p.published, p.date_certain, p.features.to_bytes()) for p in inputs]
            pickle.dump(saved, handle, protocol=pickle.HIGHEST_PROTOCOL)
        del inputs, saved
        print(
            f"{args.articles:,} articles in chunks of {CHUNK}; before = {args.before}, after = {args.after}"
        )
        print(
            "\n| pair | version | CPU s | first tenth | last tenth | partition |\n|---|---|---|---|---|---|"
        )
        ratios = []
        for pair in range(1, args.pairs + 1):
            order = ["before", "after"] if pair % 2 else ["after", "before"]
            totals = {}
            for label in order:
                done = subprocess.run(
                    [sys.executable, "-m", "bench.engine_ab", "--run", engines[label], str(inputs_path)],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=REPO,
                )
                total, first, last, digest = json.loads(done.stdout.strip().splitlines()[-1])
                totals[label] = total
                print(f"| {pair} | {label} | {total:.2f} | {first:.2f} | {last:.2f} | {digest} |", flush=True)
            ratios.append(totals["after"] / totals["before"])
    print("\nafter / before, by pair: " + ", ".join(f"{r:.2f}" for r in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
