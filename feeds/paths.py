"""Where a local (path) source starts, and what a file in it is called: its identity across passes.

A file's guid is its path relative to the source's root, so `2023/index.md` and `2024/index.md` in one
folder are two articles. For a flat folder or a `dir/*.txt` glob the relative path is the file name, which
is what guids were before, so existing articles keep their ids.
"""

from __future__ import annotations

import glob
from pathlib import Path, PurePath


def source_root(location: str) -> Path:
    """The folder a path source's files are named relative to: the folder itself, the part of a glob before
    its first wildcard, or a single file's folder."""
    path = Path(location).expanduser()
    if glob.has_magic(location):
        fixed: list[str] = []
        for part in path.parts:
            if glob.has_magic(part):
                break
            fixed.append(part)
        return Path(*fixed) if fixed else Path(".")
    if path.is_dir():
        return path
    return path.parent


def local_guid(file: str | PurePath, root: str | PurePath) -> str:
    """`file`'s path relative to `root`, with forward slashes; its name if it is not under `root`."""
    file_path = PurePath(file)
    try:
        return file_path.relative_to(root).as_posix()
    except ValueError:
        return file_path.name
