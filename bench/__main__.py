"""`python -m bench` (and `make bench`): list the benchmarks, each with the first line of its docstring.

Every benchmark is its own module, run as `python -m bench.<name>`; each prints its figures.
"""

from __future__ import annotations

import ast
from pathlib import Path


def main() -> None:
    here = Path(__file__).parent
    print("benchmarks (run one with: .venv/bin/python -m bench.<name> [--help]):")
    for path in sorted(here.glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        print(f"  {path.stem:22} {doc.splitlines()[0] if doc else ''}")


if __name__ == "__main__":
    main()
