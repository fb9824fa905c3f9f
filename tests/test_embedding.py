"""The bundled static embedding (stories/embedding.py with stories/data/static_embedding.npz)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from stories import embedding
from stories.embedding import embed_text

pytestmark = pytest.mark.skipif(
    not embedding.DATA_PATH.is_file(), reason="stories/data/static_embedding.npz is not installed"
)

QUAKE = (
    "Magnitude 7.1 earthquake strikes off Chile, dozens killed\nA powerful quake shook the coast on Monday."
)


def cos(a: str, b: str) -> float:
    return float(embed_text(a).astype(np.float32) @ embed_text(b).astype(np.float32))


def test_unit_length_float16() -> None:
    v = embed_text(QUAKE)
    assert v.dtype == np.float16
    assert v.ndim == 1 and v.shape[0] >= 64
    assert abs(float(np.linalg.norm(v.astype(np.float32))) - 1.0) < 2e-3


def test_deterministic_across_calls_and_processes() -> None:
    first = embed_text(QUAKE)
    assert np.array_equal(first, embed_text(QUAKE))
    code = (
        "import sys; from stories.embedding import embed_text; "
        f"sys.stdout.buffer.write(embed_text({QUAKE!r}).tobytes())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert out == first.tobytes()


def test_paraphrase_scores_above_unrelated() -> None:
    a = "Earthquake kills dozens in Chile"
    para = "Strong quake hits Chilean coast, many dead"
    unrelated = "Apple unveils a new iPhone at its September event"
    assert cos(a, para) > cos(a, unrelated) + 0.2
    fed = "Federal Reserve raises interest rates by a quarter point"
    assert cos(fed, "Fed hikes rates 25 basis points to fight inflation") > cos(fed, para)


def test_case_accents_and_typography_do_not_matter() -> None:
    assert np.array_equal(embed_text("PELÉ SCORES"), embed_text("pele scores"))
    assert np.array_equal(embed_text("Russia’s army"), embed_text("Russia's army"))


def test_out_of_vocabulary_words_still_count() -> None:
    # "ketsoyan" is not in the table; its WordPiece pieces are, so the text is not empty and differs
    # from the text without it.
    assert len(embed_text("Ketsoyan")) > 0
    assert not np.array_equal(embed_text("rep Ketsoyan said"), embed_text("rep said"))


@pytest.mark.parametrize("text", ["", "   \n ", "... !!! --", "\x00\x01"])
def test_text_without_words_gives_empty_vector(text: str) -> None:
    v = embed_text(text)
    assert v.dtype == np.float16 and v.shape == (0,)


def test_missing_table_gives_empty_vector(tmp_path) -> None:
    code = (
        "import sys; from pathlib import Path; from stories import embedding; "
        f"embedding.DATA_PATH = Path({str(tmp_path / 'absent.npz')!r}); "
        "v = embedding.embed_text('Earthquake in Chile'); "
        "print(v.dtype, v.shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True).stdout
    assert out.split() == ["float16", "(0,)"]


def test_import_loads_nothing() -> None:
    code = (
        "import stories.embedding as e; "
        "assert e._model is None and not e._missing; "
        "e.embed_text('x y'); assert e._model is not None; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True).stdout
    assert out.strip() == "ok"
