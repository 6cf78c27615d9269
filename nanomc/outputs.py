"""Output paths, checked before any work starts: a missing or read-only directory, a directory
in the file's place, or an existing file that may not be replaced is one line, not a traceback
after the work is done."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import NanomcError


class OutputError(NanomcError, OSError):
    """An output file that cannot or may not be written."""


def check_output_file(path: str | Path, overwrite: bool = True) -> Path:
    """Check that `path` can be written (and, unless overwrite, does not exist yet); returns it."""
    path = Path(path)
    parent = path.parent
    if not parent.exists():
        raise OutputError(f"cannot write {path}: directory {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is not a directory")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"cannot write {path}: permission denied")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} exists; use --overwrite to replace it")
    return path


def check_output_directory(path: str | Path) -> Path:
    """Check that `path` is a directory or can be made one: OutputError if it or a parent is a file; returns it."""
    path = Path(path)
    blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise OutputError(f"cannot use {path} as the output directory: {blocking} is a file, not a directory")
    return path


def replace_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it, so that `path` is replaced only once the
    text is complete (OSError as raised)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
