"""How far a better embedding could take quality: the engine with the sentence model itself as its embedding.

    python -m bench.embedding_ceiling --teacher-python /tmp/embed-venv/bin/python [--set story_threshold=0.1 ...]

The bundled table is distilled from all-MiniLM-L6-v2 (tools/build_static_embedding.py). Here every eval
text gets the sentence model's own embedding instead (mean pooling over its tokens, unit length, as
sentence-transformers does), computed by the build tool's venv (torch, transformers, the weights package:
see that tool's docstring; none of it is a dependency of newswatch), and ECB+ (file order) and UCI
(jittered ±12 h) are scored both ways with the same settings. No static table distilled from that model
can be expected to beat the model itself, so its scores bound what a better distillation could bring.
The texts are the ones the engine embeds: a headline, or a headline and its body's first
EMBED_LEAD_CHARS characters. Reads ../shared/eval in place; says so and exits when it is absent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.engine_quality import Corpora, setting_overrides
from stories.engine import EngineSettings, PlaceInput
from stories.features import EMBED_LEAD_CHARS
from stories.tokens import normalize
from testkit.story_eval import ECB_PATH, UCI_PATH, bcubed, load_uci, run

REPO = Path(__file__).resolve().parents[1]

# Runs under the teacher's interpreter: reads {key: text} JSON, writes the keys and their vectors (.npz).
_ENCODE = """
import json, sys
import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer
from tools.build_static_embedding import EXPECTED_SHA256, find_model_dir, sha256
model_dir = find_model_dir()
if sha256(model_dir / "model.safetensors") != EXPECTED_SHA256:
    raise SystemExit(f"{model_dir}: not the weights the bundled table was made from")
texts = json.load(open(sys.argv[1], encoding="utf-8"))
keys = list(texts)
tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
out = np.empty((len(keys), model.config.hidden_size), np.float32)
with torch.inference_mode():
    for start in range(0, len(keys), 64):
        batch = tok([texts[k] for k in keys[start : start + 64]], padding=True, truncation=True,
                    max_length=256, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        out[start : start + len(pooled)] = torch.nn.functional.normalize(pooled, dim=1).numpy()
np.savez(sys.argv[2], keys=np.array(keys), vectors=out)
"""


def _embed_text(title: str, body: str) -> str:
    return f"{normalize(title)}\n{normalize(body)[:EMBED_LEAD_CHARS]}" if body else normalize(title)


def _teacher_vectors(teacher_python: str, texts: dict[str, str]) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as work:
        source, target = Path(work) / "texts.json", Path(work) / "vectors.npz"
        source.write_text(json.dumps(texts), encoding="utf-8")
        env = {
            "PYTHONPATH": str(REPO),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PATH": "/usr/bin:/bin",
        }
        subprocess.run([teacher_python, "-c", _ENCODE, str(source), str(target)], check=True, env=env)
        with np.load(target) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))


def _with_embeddings(
    inputs: Sequence[PlaceInput], vectors: dict[str, np.ndarray], prefix: str
) -> list[PlaceInput]:
    return [
        replace(
            p, features=replace(p.features, embedding=vectors[f"{prefix}{p.article_id}"].astype(np.float16))
        )
        for p in inputs
    ]


def _f1(inputs: Sequence[PlaceInput], gold: dict[int, object], settings: EngineSettings) -> float:
    story = run(inputs, settings, 2000)
    ids = [p.article_id for p in inputs]
    return bcubed([story[i] for i in ids], [gold[i] for i in ids])[2]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--teacher-python", required=True, help="python of a venv with torch, transformers, weights"
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        help="settings to score, e.g. story_threshold=0.1,embedding_weight=0.4 (repeatable; shipped first)",
    )
    args = ap.parse_args(argv)
    if not (ECB_PATH.exists() and UCI_PATH.exists()):
        print(f"eval data absent ({ECB_PATH}, {UCI_PATH}): nothing to measure")
        return 0
    variants = [("shipped", EngineSettings())]
    for item in args.set:
        try:
            variants.append((item, replace(EngineSettings(), **setting_overrides(item.split(",")))))
        except ValueError as error:
            ap.error(str(error))

    corpora = Corpora()  # ECB+ in file order and UCI jittered, as bench.engine_quality scores them
    (_, ecb_inputs, ecb_gold), (_, uci_inputs, uci_gold) = corpora.sets
    texts = {f"u{a.article_id}": _embed_text(a.title, a.body) for a, _ in load_uci()}
    texts |= {f"e{a.article_id}": _embed_text(a.title, a.body) for a, _, _ in corpora.ecb}
    print(f"encoding {len(texts):,} texts with the sentence model...", file=sys.stderr, flush=True)
    vectors = _teacher_vectors(args.teacher_python, texts)
    embeddings = {
        "bundled table": (uci_inputs, ecb_inputs),
        "sentence model": (
            _with_embeddings(uci_inputs, vectors, "u"),
            _with_embeddings(ecb_inputs, vectors, "e"),
        ),
    }
    print("| settings | embedding | UCI ±12 h | ECB+ |\n|---|---|---|---|")
    for label, settings in variants:
        for name, (u, e) in embeddings.items():
            print(
                f"| {label} | {name} | {_f1(u, uci_gold, settings):.4f} | {_f1(e, ecb_gold, settings):.4f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
