"""Topic digests: the period's stories per topic as plain data (`build`), and one renderer per format."""

from __future__ import annotations

from typing import Any

from newswatch.config import DIGEST_FORMATS as FORMATS


def render(digest: Any, form: str, *, utc: bool = False) -> str:
    """The digest in one of FORMATS (json: one object on one line, ASCII only)."""
    if form == "text":
        from digest.text import render_text

        return render_text(digest, utc=utc)
    if form == "markdown":
        from digest.markdown import render_markdown

        return render_markdown(digest, utc=utc)
    if form == "html":
        from digest.html import render_html

        return render_html(digest, utc=utc)
    if form == "json":
        import json

        from digest.data import digest_json

        return json.dumps(digest_json(digest, utc=utc), ensure_ascii=True) + "\n"
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {form!r}")
